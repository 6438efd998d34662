-- What the indexer needs to survive any input (issue 12):
-- * a metadata_uri holding a NUL or invalid UTF-8 (the program checks its length only) cannot be
--   text; metadata_uri keeps a readable escaped form and metadata_uri_bytes the exact bytes;
-- * a transaction whose rows PostgreSQL refuses for a data reason (SQLSTATE class 22, 23, 54) is
--   recorded, not retried forever: its dead letter holds the getTransaction result and the
--   error, the transaction is marked so the checkpoint can pass it, and `indexer replay` tries
--   it again after a fix.

-- +goose Up
ALTER TABLE proposal ADD COLUMN metadata_uri_bytes bytea;
COMMENT ON COLUMN proposal.metadata_uri_bytes IS
    'the exact bytes of metadata_uri when they hold a NUL or invalid UTF-8 (metadata_uri then shows them escaped as \xNN, with \ written \\); NULL when metadata_uri is exact';

-- decode: what the decoder rejected (raw = the event or instruction bytes);
-- database: a transaction PostgreSQL refused (raw = the getTransaction result as JSON).
ALTER TABLE dead_letter ADD COLUMN kind text NOT NULL DEFAULT 'decode' CHECK (kind IN ('decode', 'database'));
ALTER TABLE dead_letter ADD COLUMN sqlstate text;
ALTER TABLE dead_letter ADD COLUMN attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1);
CREATE INDEX dead_letter_database_idx ON dead_letter (signature) WHERE kind = 'database';

-- Set on a transaction whose rows were refused: it counts as seen (the checkpoint passes it,
-- re-delivery skips it) but none of its events are in the log until a replay applies it.
ALTER TABLE ingested_transaction ADD COLUMN refused boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE ingested_transaction DROP COLUMN refused;
DROP INDEX dead_letter_database_idx;
ALTER TABLE dead_letter DROP COLUMN attempts;
ALTER TABLE dead_letter DROP COLUMN sqlstate;
ALTER TABLE dead_letter DROP COLUMN kind;
ALTER TABLE proposal DROP COLUMN metadata_uri_bytes;
