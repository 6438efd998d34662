-- One deployment per database. The event log (chain_event) and the projections hold one
-- program's history: chain_event.seq is one sequence over the whole log and readers page it in
-- seq order, which is commit order only while one writer writes (the indexer's writer lock is
-- one per database). Two programs' indexers on one database would interleave seqs, and a reset
-- for one would erase the other's history. So the first indexer that writes claims the database
-- for its program id (the one row of `deployment`), and every per-program row must name the
-- claimed program: the foreign keys below refuse any other, whatever code writes it.

-- +goose Up
CREATE TABLE deployment (
    -- At most one row: the claim.
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    program_id text        NOT NULL UNIQUE,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- A database that already holds rows claims their program. Rows of two programs cannot be
-- untangled (they share one log and one set of projections), so the migration refuses them.
-- +goose StatementBegin
DO $$
DECLARE
    ids text[];
BEGIN
    SELECT array_agg(DISTINCT program_id ORDER BY program_id) INTO ids FROM (
        SELECT program_id FROM ingest_checkpoint
        UNION SELECT program_id FROM ingested_transaction
        UNION SELECT program_id FROM chain_tip
        UNION SELECT program_id FROM indexed_cluster
    ) AS written;
    IF cardinality(ids) > 1 THEN
        RAISE EXCEPTION 'the database holds the data of % programs (%), which share one event log',
            cardinality(ids), array_to_string(ids, ', ')
            USING HINT = 'Index each program into a database of its own: re-index them into new databases, then drop this one.';
    END IF;
    IF cardinality(ids) = 1 THEN
        INSERT INTO deployment (program_id) VALUES (ids[1]);
    END IF;
END
$$;
-- +goose StatementEnd

ALTER TABLE ingest_checkpoint ADD CONSTRAINT ingest_checkpoint_deployment_fkey
    FOREIGN KEY (program_id) REFERENCES deployment (program_id);
ALTER TABLE ingested_transaction ADD CONSTRAINT ingested_transaction_deployment_fkey
    FOREIGN KEY (program_id) REFERENCES deployment (program_id);
ALTER TABLE chain_tip ADD CONSTRAINT chain_tip_deployment_fkey
    FOREIGN KEY (program_id) REFERENCES deployment (program_id);
ALTER TABLE indexed_cluster ADD CONSTRAINT indexed_cluster_deployment_fkey
    FOREIGN KEY (program_id) REFERENCES deployment (program_id);

-- +goose Down
ALTER TABLE indexed_cluster DROP CONSTRAINT indexed_cluster_deployment_fkey;
ALTER TABLE chain_tip DROP CONSTRAINT chain_tip_deployment_fkey;
ALTER TABLE ingested_transaction DROP CONSTRAINT ingested_transaction_deployment_fkey;
ALTER TABLE ingest_checkpoint DROP CONSTRAINT ingest_checkpoint_deployment_fkey;
DROP TABLE deployment;
