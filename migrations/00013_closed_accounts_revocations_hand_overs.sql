-- Issue 11, the read model follows the program's account lifecycle:
-- * ended proposals and migration jobs whose accounts were closed (ProposalClosed,
--   MigrationJobClosed) keep their rows; account_closure records when, by whom and where the
--   rent went;
-- * releases taken out of the rollback history by an executed RevokeRelease config change
--   (release_revocation; a release is revoked by a revocation of its hash in a later slot);
-- * programs whose upgrade authority an executed SetUpgradeAuthority handed over or dropped
--   (program_hand_over): the manager no longer controls them;
-- * the governance's voting period, so that an active proposal past it shows as expired, as
--   the program refuses votes on it.

-- +goose Up
ALTER TABLE governance ADD COLUMN voting_period_seconds bigint NOT NULL DEFAULT 0;
-- seq of the event that last set voting_period_seconds.
ALTER TABLE governance ADD COLUMN voting_period_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE account_closure (
    address        text        PRIMARY KEY,          -- the proposal or job account
    kind           text        NOT NULL CHECK (kind IN ('proposal', 'migration_job')),
    governance     text        NOT NULL,
    status         text        NOT NULL,             -- the status it ended in
    actor          text        NOT NULL,
    rent_collector text        NOT NULL,
    lamports       bigint      NOT NULL,
    closed_at      timestamptz NOT NULL,
    slot           bigint      NOT NULL,
    signature      text        NOT NULL,
    seq            bigint      NOT NULL
);

CREATE TABLE release_revocation (
    program    text        NOT NULL,
    hash       text        NOT NULL,
    governance text        NOT NULL,
    proposal   text        NOT NULL,
    revoked_at timestamptz NOT NULL,
    slot       bigint      NOT NULL,
    signature  text        NOT NULL,
    seq        bigint      NOT NULL,
    PRIMARY KEY (program, seq)
);

CREATE TABLE program_hand_over (
    program        text        PRIMARY KEY,
    governance     text        NOT NULL,
    new_authority  text,                             -- NULL: made immutable
    proposal       text        NOT NULL,
    handed_over_at timestamptz NOT NULL,
    slot           bigint      NOT NULL,
    signature      text        NOT NULL,
    seq            bigint      NOT NULL
);

-- An active proposal past its governance's voting period is expired in effect: the program
-- refuses votes on it and anyone may `expire` it. The same holds for approvals made stale by a
-- member-set change (the next vote resets the proposal to active). A voting period of 0
-- (governances created before it existed) means none.
CREATE OR REPLACE FUNCTION proposal_effective_status(p proposal, g governance, at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p.status IN ('executed', 'cancelled', 'expired', 'rejected') THEN p.status
        WHEN (p.status = 'active' OR p.member_set_seqno <> g.member_set_seqno)
            AND g.voting_period_seconds > 0
            AND at >= p.created_at + make_interval(secs => g.voting_period_seconds) THEN 'expired'
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
        WHEN p.status IN ('executed', 'cancelled', 'expired', 'rejected') THEN p.status
        WHEN p.member_set_seqno <> g.member_set_seqno THEN 'stale'
        WHEN p.status = 'approved' AND at >= p.eta + make_interval(secs => g.grace_period_seconds) THEN 'expired'
        WHEN p.status = 'approved' AND at >= p.eta THEN 'ready'
        ELSE p.status
    END
$$;
DROP TABLE program_hand_over;
DROP TABLE release_revocation;
DROP TABLE account_closure;
ALTER TABLE governance DROP COLUMN voting_period_seq;
ALTER TABLE governance DROP COLUMN voting_period_seconds;
