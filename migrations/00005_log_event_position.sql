-- An event read from a "Program data:" log line whose top-level instruction the log does not
-- reveal has instruction_index -1 in the decoder's positions (its ordinal, numbered per
-- transaction, keeps the key unique). 00001 rejected it, which would stop ingestion at such a
-- transaction; upgrade_manager's own events always travel as emit_cpi! inner instructions.

-- +goose Up
ALTER TABLE chain_event DROP CONSTRAINT chain_event_instruction_index_check;
ALTER TABLE chain_event ADD CONSTRAINT chain_event_instruction_index_check CHECK (instruction_index >= -1);
COMMENT ON COLUMN chain_event.instruction_index IS
    'top-level instruction that emitted the event; -1 for a log event whose instruction the log does not reveal';

-- +goose Down
DELETE FROM chain_event WHERE instruction_index < 0;
ALTER TABLE chain_event DROP CONSTRAINT chain_event_instruction_index_check;
ALTER TABLE chain_event ADD CONSTRAINT chain_event_instruction_index_check CHECK (instruction_index >= 0);
