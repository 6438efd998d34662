-- Ingestion: the append-only log of decoded program events, the indexer's
-- resume point per program, and the transactions it could not decode.

-- +goose Up
CREATE TABLE chain_event (
    -- The event's position on chain is its identity, so re-ingesting a
    -- transaction (backfill overlap, reconnect, commitment upgrade) is an
    -- idempotent upsert.
    signature         text        NOT NULL,
    instruction_index integer     NOT NULL CHECK (instruction_index >= 0),
    inner_index       integer     NOT NULL CHECK (inner_index >= -1),
    ordinal           integer     NOT NULL CHECK (ordinal >= 0),
    -- Global insertion order: cursors page by seq, never by slot, because
    -- events of one slot can arrive in more than one batch.
    seq               bigserial   NOT NULL UNIQUE,
    slot              bigint      NOT NULL CHECK (slot >= 0),
    block_time        timestamptz,
    name              text        NOT NULL,
    data              jsonb       NOT NULL,
    raw               bytea       NOT NULL,
    commitment        text        NOT NULL CHECK (commitment IN ('confirmed', 'finalized')),
    inserted_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (signature, instruction_index, inner_index, ordinal)
);

COMMENT ON COLUMN chain_event.inner_index IS
    'index of the inner (CPI) instruction that carried the event; -1 for the top-level instruction';
COMMENT ON COLUMN chain_event.ordinal IS
    'position of the event among the events of its instruction';

CREATE INDEX chain_event_slot_idx ON chain_event (slot);
CREATE INDEX chain_event_name_seq_idx ON chain_event (name, seq);

CREATE TABLE ingest_checkpoint (
    program_id     text        PRIMARY KEY,
    last_signature text        NOT NULL,
    last_slot      bigint      NOT NULL CHECK (last_slot >= 0),
    finalized_slot bigint      NOT NULL DEFAULT 0 CHECK (finalized_slot >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letter (
    id                bigserial   PRIMARY KEY,
    signature         text        NOT NULL,
    slot              bigint      NOT NULL,
    -- NULL when the whole transaction, not one instruction, was rejected.
    instruction_index integer,
    inner_index       integer,
    reason            text        NOT NULL,
    raw               bytea,
    received_at       timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE dead_letter;
DROP TABLE ingest_checkpoint;
DROP TABLE chain_event;
