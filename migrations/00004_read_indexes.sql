-- Indexes the GraphQL read model needs.

-- +goose Up
-- The chain's clock (max(block_time)) that derived proposal statuses are computed at is read on
-- every proposals query: with this index it is one probe instead of a scan of the log.
CREATE INDEX chain_event_block_time_idx ON chain_event (block_time);

-- Migration jobs are listed newest first.
CREATE INDEX migration_job_started_idx ON migration_job (started_at, address);

-- +goose Down
DROP INDEX migration_job_started_idx;
DROP INDEX chain_event_block_time_idx;
