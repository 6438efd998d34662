package store

import (
	"testing"
)

// FuzzFold feeds arbitrary data, under every event name, through what the
// store does with an event's JSON before and after logging it: parsing must
// reject or accept it without panicking, and an accepted event must fold
// into any projection state without panicking.
func FuzzFold(f *testing.F) {
	names := []string{evGovernanceInitialized, evProgramRegistered, evProposalCreated, evProposalApproved,
		evApprovalRevoked, evCancelVoted, evProposalCancelled, evProposalExpired, evProgramExtended,
		evProposalExecuted, evProgramUpgraded, evConfigChanged, evMigrationStarted,
		evMigrationBatchProcessed, evMigrationCompleted}
	f.Add(uint8(2), []byte(`{"proposal":"p","index":1,"kind":"Upgrade","program":"x","buffer":"b","config_change":null}`))
	f.Add(uint8(3), []byte(`{"proposal":"p","member":"m","approvals":3,"status":"Approved","eta":5,"stale_reset":true}`))
	f.Add(uint8(4), []byte(`{"proposal":"p","member":"m","approvals":0,"status":"Active"}`))
	f.Add(uint8(11), []byte(`{"governance":"g","proposal":"p","change":{"AddMember":{"member":"m"}},"members":["a","b"]}`))
	f.Add(uint8(12), []byte(`{"job":"j","spec":{"discriminator":null,"total_accounts":3}}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p := newProjection()
		// Some state to fold into: a governance, a proposal, a job.
		for i, seed := range []struct{ name, data string }{
			{evGovernanceInitialized, `{"governance":"g","members":["m"]}`},
			{evProposalCreated, `{"governance":"g","proposal":"p","kind":"Upgrade"}`},
			{evProposalApproved, `{"proposal":"p","member":"m","approvals":1,"status":"Approved","eta":9}`},
			{evMigrationStarted, `{"governance":"g","proposal":"p","job":"j"}`},
		} {
			fields, err := parseEvent(seed.name, []byte(seed.data))
			if err != nil {
				t.Fatalf("seed %s: %v", seed.name, err)
			}
			p.apply(loggedEvent{Seq: int64(i + 1), Signature: "s", Slot: 1, Name: seed.name, Fields: fields})
		}
		name := names[int(which)%len(names)]
		fields, err := parseEvent(name, data)
		if err != nil {
			return
		}
		p.apply(loggedEvent{Seq: 100, Signature: "t", Slot: 2, Name: name, Fields: fields})
		rowsOf(p, true)
	})
}
