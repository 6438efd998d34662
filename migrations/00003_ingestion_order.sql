-- What the indexer needs beyond 00001 to be gap-free and exactly-once across commitments:
-- every transaction it applied (with or without events), the transaction's position in its
-- block so the event log has one canonical order, the reconciliation watermark, and the
-- chain's tip and clock for queries that derive proposal states.

-- +goose Up

-- Position of the event's transaction in its block (getBlock order); -1 when the block could
-- not be read, in which case seq orders the transactions of that slot. Replay and rebuilds
-- apply events in (slot, block_index, instruction_index, inner_index, ordinal) order, which is
-- the chain's order even when a missed transaction is found after newer ones.
ALTER TABLE chain_event ADD COLUMN block_index integer NOT NULL DEFAULT -1 CHECK (block_index >= -1);
CREATE INDEX chain_event_position_idx
    ON chain_event (slot, block_index, instruction_index, inner_index, ordinal);

-- Every transaction the indexer applied, including failed ones and ones without events: the
-- record that makes re-delivery a no-op, and what commitment promotion and reverts work on.
CREATE TABLE ingested_transaction (
    signature   text        PRIMARY KEY,
    program_id  text        NOT NULL,
    slot        bigint      NOT NULL CHECK (slot >= 0),
    block_index integer     NOT NULL DEFAULT -1 CHECK (block_index >= -1),
    block_time  timestamptz,
    failed      boolean     NOT NULL,
    event_count integer     NOT NULL CHECK (event_count >= 0),
    commitment  text        NOT NULL CHECK (commitment IN ('confirmed', 'finalized')),
    inserted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingested_transaction_position_idx ON ingested_transaction (program_id, slot, block_index);
CREATE INDEX ingested_transaction_confirmed_idx ON ingested_transaction (program_id, slot)
    WHERE commitment = 'confirmed';

CREATE INDEX dead_letter_signature_idx ON dead_letter (signature);

-- The newest finalized signature the periodic reconciliation has compared with the chain.
ALTER TABLE ingest_checkpoint
    ADD COLUMN reconciled_signature text,
    ADD COLUMN reconciled_slot      bigint NOT NULL DEFAULT 0 CHECK (reconciled_slot >= 0);

-- The chain as the indexer last saw it: slots per commitment and the Clock sysvar's
-- unix_timestamp, which is the `at` of proposal_effective_status (a localnet's clock can be
-- far from wall time).
CREATE TABLE chain_tip (
    program_id     text        PRIMARY KEY,
    confirmed_slot bigint      NOT NULL CHECK (confirmed_slot >= 0),
    finalized_slot bigint      NOT NULL CHECK (finalized_slot >= 0),
    chain_time     timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE chain_tip;
ALTER TABLE ingest_checkpoint DROP COLUMN reconciled_slot, DROP COLUMN reconciled_signature;
DROP INDEX dead_letter_signature_idx;
DROP TABLE ingested_transaction;
DROP INDEX chain_event_position_idx;
ALTER TABLE chain_event DROP COLUMN block_index;
