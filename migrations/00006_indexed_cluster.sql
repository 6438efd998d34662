-- The cluster a database's event log came from. An indexer pointed at another cluster (a
-- restarted local node, devnet instead of mainnet) would mix two histories: it refuses to,
-- or with -reset-on-new-cluster empties the indexer's tables and starts over.

-- +goose Up
CREATE TABLE indexed_cluster (
    program_id   text        PRIMARY KEY,
    genesis_hash text        NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE indexed_cluster;
