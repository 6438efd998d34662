-- chain_event_position_idx (00003) only served "the newest position in the log", which
-- chain_event_slot_idx answers as well (the newest slot's few rows, sorted); every event paid for
-- maintaining it.

-- +goose Up
DROP INDEX chain_event_position_idx;

-- +goose Down
CREATE INDEX chain_event_position_idx
    ON chain_event (slot, block_index, instruction_index, inner_index, ordinal);
