-- Issue 14, a schema that answers a UI in one query:
-- * the audit log filtered by the proposal, governance or program an event names (a proposal's
--   timeline) walks these in seq order instead of the whole log;
-- * proposals ordered by eta (what executes next) page on (eta, address);
-- * "awaiting my approval" finds a member's governances by member.

-- +goose Up
CREATE INDEX chain_event_proposal_key_idx ON chain_event ((data->>'proposal'), seq);
CREATE INDEX chain_event_governance_key_idx ON chain_event ((data->>'governance'), seq);
CREATE INDEX chain_event_program_key_idx ON chain_event ((data->>'program'), seq);
CREATE INDEX proposal_eta_idx ON proposal (eta, address) WHERE eta IS NOT NULL;
CREATE INDEX governance_member_member_idx ON governance_member (member);

-- +goose Down
DROP INDEX governance_member_member_idx;
DROP INDEX proposal_eta_idx;
DROP INDEX chain_event_program_key_idx;
DROP INDEX chain_event_governance_key_idx;
DROP INDEX chain_event_proposal_key_idx;
