-- A governance can cancel a migration job through a CancelMigration config change (issue 11),
-- and extend one through ExtendMigration, which reopens a completed job.

-- +goose Up
ALTER TABLE migration_job DROP CONSTRAINT migration_job_status_check;
ALTER TABLE migration_job ADD CONSTRAINT migration_job_status_check
    CHECK (status IN ('active', 'completed', 'cancelled'));

-- +goose Down
UPDATE migration_job SET status = 'completed' WHERE status = 'cancelled';
ALTER TABLE migration_job DROP CONSTRAINT migration_job_status_check;
ALTER TABLE migration_job ADD CONSTRAINT migration_job_status_check
    CHECK (status IN ('active', 'completed'));
