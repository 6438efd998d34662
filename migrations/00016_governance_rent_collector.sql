-- Issue 11: the governance's rent collector, which receives the rent of closed proposals and
-- migration jobs. Set by GovernanceInitialized and by every ConfigChanged (both carry it since
-- event schema version 3); NULL: none, each account's rent goes back to whoever paid for it.

-- +goose Up
ALTER TABLE governance ADD COLUMN rent_collector text;
-- seq of the event that last set rent_collector.
ALTER TABLE governance ADD COLUMN rent_collector_seq bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE governance DROP COLUMN rent_collector_seq;
ALTER TABLE governance DROP COLUMN rent_collector;
