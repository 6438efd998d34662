-- Projections of the event log: the read model that GraphQL and the cranks query.
-- Every row can be rebuilt from chain_event (`indexer replay`). Each projection row records the
-- seq of the newest event applied to it (last_seq): an update carrying an older seq is ignored,
-- so re-applying or reordering events never moves state backwards.

-- +goose Up
CREATE TABLE governance (
    address                   text        PRIMARY KEY,
    create_key                text        NOT NULL,
    threshold                 smallint    NOT NULL,
    rollback_threshold        smallint    NOT NULL,
    timelock_seconds          bigint      NOT NULL,
    rollback_timelock_seconds bigint      NOT NULL,
    grace_period_seconds      bigint      NOT NULL,
    spill                     text        NOT NULL,
    member_set_seqno          bigint      NOT NULL,
    created_at                timestamptz NOT NULL,
    created_slot              bigint      NOT NULL,
    created_signature         text        NOT NULL,
    updated_at                timestamptz NOT NULL,
    updated_slot              bigint      NOT NULL,
    last_seq                  bigint      NOT NULL
);

-- The current member list, in the program's order (approval bitmaps index into it).
CREATE TABLE governance_member (
    governance text     NOT NULL REFERENCES governance (address) ON DELETE CASCADE,
    member     text     NOT NULL,
    position   smallint NOT NULL,
    PRIMARY KEY (governance, member)
);

CREATE TABLE managed_program (
    program               text        PRIMARY KEY,
    governance            text        NOT NULL,
    address               text        NOT NULL UNIQUE, -- the ManagedProgram PDA
    programdata           text        NOT NULL,
    upgrade_authority     text        NOT NULL,
    current_hash          text        NOT NULL,        -- hex sha256
    last_deploy_slot      bigint      NOT NULL,
    release_count         bigint      NOT NULL,
    registered_by         text        NOT NULL,
    registered_at         timestamptz NOT NULL,
    registered_slot       bigint      NOT NULL,
    registered_signature  text        NOT NULL,
    last_seq              bigint      NOT NULL
);
CREATE INDEX managed_program_governance_idx ON managed_program (governance);

-- Every deployment: registration (release_count 1) and each executed upgrade or rollback.
CREATE TABLE program_release (
    program        text        NOT NULL,
    release_number bigint      NOT NULL,              -- the program's release_count after it
    hash           text        NOT NULL,
    previous_hash  text,
    rollback       boolean     NOT NULL DEFAULT false,
    proposal       text,                              -- NULL for the registration
    deploy_slot    bigint      NOT NULL,
    deployed_at    timestamptz NOT NULL,
    signature      text        NOT NULL,
    seq            bigint      NOT NULL,
    PRIMARY KEY (program, release_number)
);

CREATE TABLE proposal (
    address              text        PRIMARY KEY,
    governance           text        NOT NULL,
    index                bigint      NOT NULL,
    kind                 text        NOT NULL CHECK (kind IN ('upgrade', 'rollback', 'config_change', 'migration')),
    program              text,                        -- NULL for config changes
    buffer               text,                        -- NULL when there is none
    buffer_hash          text,
    buffer_elf_len       bigint,
    extend_bytes_needed  bigint      NOT NULL DEFAULT 0,
    config_change        jsonb,
    migration            jsonb,
    metadata_uri         text        NOT NULL,
    build_hash           text        NOT NULL,
    proposer             text        NOT NULL,
    -- Stored status as the program's account has it; ready/expired/stale are derived (see
    -- proposal_effective_status) because no transaction marks them.
    status               text        NOT NULL CHECK (status IN ('active', 'approved', 'executed', 'cancelled', 'expired')),
    approvals            smallint    NOT NULL DEFAULT 0,
    threshold            smallint    NOT NULL,
    cancel_votes         smallint    NOT NULL DEFAULT 0,
    member_set_seqno     bigint      NOT NULL,
    eta                  timestamptz,
    created_at           timestamptz NOT NULL,
    created_slot         bigint      NOT NULL,
    created_signature    text        NOT NULL,
    approved_at          timestamptz,
    approved_slot        bigint,
    executed_at          timestamptz,
    executed_slot        bigint,
    executed_signature   text,
    executor             text,
    closed_at            timestamptz,                 -- cancelled or expired
    closed_signature     text,
    updated_at           timestamptz NOT NULL,
    updated_slot         bigint      NOT NULL,
    last_seq             bigint      NOT NULL,
    UNIQUE (governance, index)
);
CREATE INDEX proposal_status_idx ON proposal (status, created_at, address);
CREATE INDEX proposal_program_idx ON proposal (program, created_at, address);
CREATE INDEX proposal_proposer_idx ON proposal (proposer, created_at, address);
CREATE INDEX proposal_created_idx ON proposal (created_at, address);

-- One row per approval given; revoking or a member-set change ends it (revoked_at / stale).
CREATE TABLE approval (
    proposal         text        NOT NULL,
    member           text        NOT NULL,
    member_set_seqno bigint      NOT NULL,
    approved_at      timestamptz NOT NULL,
    slot             bigint      NOT NULL,
    signature        text        NOT NULL,
    seq              bigint      NOT NULL,            -- chain_event.seq of the approval
    revoked_at       timestamptz,
    revoked_signature text,
    revoked_seq      bigint,
    PRIMARY KEY (proposal, member, seq)
);
CREATE INDEX approval_seq_idx ON approval (seq);

CREATE TABLE config_change (
    proposal         text        PRIMARY KEY,
    governance       text        NOT NULL,
    change           jsonb       NOT NULL,
    member_set_seqno bigint      NOT NULL,            -- after the change
    executed_at      timestamptz NOT NULL,
    slot             bigint      NOT NULL,
    signature        text        NOT NULL,
    seq              bigint      NOT NULL
);

CREATE TABLE rollback (
    proposal     text        PRIMARY KEY,
    program      text        NOT NULL,
    from_hash    text        NOT NULL,
    to_hash      text        NOT NULL,
    executed_at  timestamptz NOT NULL,
    slot         bigint      NOT NULL,
    signature    text        NOT NULL,
    seq          bigint      NOT NULL
);

CREATE TABLE migration_job (
    address          text        PRIMARY KEY,
    governance       text        NOT NULL,
    proposal         text        NOT NULL UNIQUE,
    program          text        NOT NULL,
    from_version     smallint    NOT NULL,
    to_version       smallint    NOT NULL,
    version_offset   integer     NOT NULL,
    data_size        bigint      NOT NULL,
    discriminator    text,                            -- hex, NULL when not filtered
    migrate_ix_data  text        NOT NULL,            -- hex
    total_accounts   bigint      NOT NULL,
    migrated_count   bigint      NOT NULL DEFAULT 0,
    batch_count      bigint      NOT NULL DEFAULT 0,
    status           text        NOT NULL CHECK (status IN ('active', 'completed')),
    started_at       timestamptz NOT NULL,
    started_slot     bigint      NOT NULL,
    completed_at     timestamptz,
    completed_slot   bigint,
    updated_at       timestamptz NOT NULL,
    last_seq         bigint      NOT NULL
);
CREATE INDEX migration_job_status_idx ON migration_job (status, started_at);

-- The status a proposal effectively has at time `at` (the chain's clock), with exactly the
-- program's predicates: execute needs eta <= now < eta + grace and an unchanged member set.
CREATE FUNCTION proposal_effective_status(p proposal, g governance, at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p.status IN ('executed', 'cancelled', 'expired') THEN p.status
        WHEN p.member_set_seqno <> g.member_set_seqno THEN 'stale'
        WHEN p.status = 'approved' AND at >= p.eta + make_interval(secs => g.grace_period_seconds) THEN 'expired'
        WHEN p.status = 'approved' AND at >= p.eta THEN 'ready'
        ELSE p.status
    END
$$;

-- +goose Down
DROP FUNCTION proposal_effective_status(proposal, governance, timestamptz);
DROP TABLE migration_job;
DROP TABLE rollback;
DROP TABLE config_change;
DROP TABLE approval;
DROP TABLE proposal;
DROP TABLE program_release;
DROP TABLE managed_program;
DROP TABLE governance_member;
DROP TABLE governance;
