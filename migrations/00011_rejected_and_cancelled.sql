-- Issue 11: a governance can cancel a migration job through a CancelMigration config change (and
-- extend one through ExtendMigration, which reopens a completed job); members can reject a
-- proposal, which ends it as 'rejected' once approval has become impossible.

-- +goose Up
ALTER TABLE migration_job DROP CONSTRAINT migration_job_status_check;
ALTER TABLE migration_job ADD CONSTRAINT migration_job_status_check
    CHECK (status IN ('active', 'completed', 'cancelled'));

ALTER TABLE proposal DROP CONSTRAINT proposal_status_check;
ALTER TABLE proposal ADD CONSTRAINT proposal_status_check
    CHECK (status IN ('active', 'approved', 'executed', 'cancelled', 'expired', 'rejected'));

-- A rejected proposal has ended: it is never stale, ready or expired.
CREATE OR REPLACE FUNCTION proposal_effective_status(p proposal, g governance, at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p.status IN ('executed', 'cancelled', 'expired', 'rejected') THEN p.status
        WHEN p.member_set_seqno <> g.member_set_seqno THEN 'stale'
        WHEN p.status = 'approved' AND at >= p.eta + make_interval(secs => g.grace_period_seconds) THEN 'expired'
        WHEN p.status = 'approved' AND at >= p.eta THEN 'ready'
        ELSE p.status
    END
$$;

-- +goose Down
CREATE OR REPLACE FUNCTION proposal_effective_status(p proposal, g governance, at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p.status IN ('executed', 'cancelled', 'expired') THEN p.status
        WHEN p.member_set_seqno <> g.member_set_seqno THEN 'stale'
        WHEN p.status = 'approved' AND at >= p.eta + make_interval(secs => g.grace_period_seconds) THEN 'expired'
        WHEN p.status = 'approved' AND at >= p.eta THEN 'ready'
        ELSE p.status
    END
$$;

UPDATE proposal SET status = 'cancelled' WHERE status = 'rejected';
ALTER TABLE proposal DROP CONSTRAINT proposal_status_check;
ALTER TABLE proposal ADD CONSTRAINT proposal_status_check
    CHECK (status IN ('active', 'approved', 'executed', 'cancelled', 'expired'));

UPDATE migration_job SET status = 'completed' WHERE status = 'cancelled';
ALTER TABLE migration_job DROP CONSTRAINT migration_job_status_check;
ALTER TABLE migration_job ADD CONSTRAINT migration_job_status_check
    CHECK (status IN ('active', 'completed'));
