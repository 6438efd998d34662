package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
)

// proposalUpdated filtered on EXECUTED pushes exactly the proposals the
// scenario executes, as they are once executed.
func TestProposalUpdatedFiltersOnStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var executed []string
	for _, e := range graphtest.Events(b.scenario.Txs) {
		if e.Name == "ProposalExecuted" {
			executed = append(executed, e.Data["proposal"].(string))
		}
	}
	ws := dial(t, b.base, graphtest.TransportWS)
	if err := ws.Subscribe(t.Context(), "p", `subscription {
		proposalUpdated(status: [EXECUTED]) { cursor event { name } proposal { address status execution { signature } } }
	}`, nil); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, b)
	b.applyAll(t)

	// ProposalExecuted comes first for each, then the kind's own event
	// (ProgramUpgraded, ConfigChanged, MigrationStarted, ...) that also
	// names the proposal.
	var got []string
	for len(got) < len(executed) {
		var u struct {
			Event    struct{ Name string }
			Proposal struct {
				Address, Status string
				Execution       *struct{ Signature string }
			}
		}
		next(t, ws, "p", &u)
		if u.Proposal.Status != "EXECUTED" || u.Proposal.Execution == nil {
			t.Fatalf("update %+v is not of an executed proposal", u)
		}
		if u.Event.Name == "ProposalExecuted" {
			got = append(got, u.Proposal.Address)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(executed) {
		t.Errorf("executed proposals pushed %v, want %v", got, executed)
	}
}

// migrationProgress follows the scenario's migration from start to
// completion, batch by batch.
func TestMigrationProgress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ws := dial(t, b.base, graphtest.LegacyWS)
	if err := ws.Subscribe(t.Context(), "m", `subscription {
		migrationProgress { event { name } migrationAddress migrated total batchIndex completed migration { status totalAccounts } }
	}`, nil); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, b)
	b.applyAll(t)

	type progress struct {
		Event            struct{ Name string }
		MigrationAddress string
		Migrated, Total  string
		BatchIndex       *string
		Completed        bool
		Migration        struct{ Status, TotalAccounts string }
	}
	var batches []string
	var last progress
	for !last.Completed {
		var p progress
		next(t, ws, "m", &p)
		if p.MigrationAddress != scenario.MigrationJob {
			continue // the scenario's second migration, which has nothing to migrate
		}
		if p.Total != p.Migration.TotalAccounts {
			t.Errorf("event total %s, job total %s", p.Total, p.Migration.TotalAccounts)
		}
		if p.BatchIndex != nil {
			batches = append(batches, *p.BatchIndex)
		}
		if len(batches) == 0 && p.Event.Name != "MigrationStarted" {
			t.Errorf("first progress is %s, want MigrationStarted", p.Event.Name)
		}
		last = p
	}
	if last.Event.Name != "MigrationCompleted" || last.Migrated != last.Total || last.Migration.Status != "COMPLETED" {
		t.Errorf("last progress %+v, want a completed migration", last)
	}
	want := make([]string, len(batches))
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	if len(batches) == 0 || !slices.Equal(batches, want) {
		t.Errorf("batch indexes %v, want 0..n in order", batches)
	}
}

func TestEventsFiltersAndBackwardPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	sig := b.scenario.Txs[15].Signature // ProposalExecuted + ProgramUpgraded
	var data struct {
		BySig struct {
			Nodes []struct {
				Name     string
				Position struct{ Signature string }
			}
		}
		Approved struct{ TotalCount int }
		Slots    struct{ Nodes []struct{ Slot string } }
		Last     struct {
			Nodes    []struct{ Seq string }
			PageInfo struct{ HasPreviousPage, HasNextPage bool }
		}
	}
	b.query(t, `query($s: Signature!) {
		bySig: events(filter: {signature: $s}) { nodes { name position { signature } } }
		approved: events(filter: {names: [ProposalApproved]}) { totalCount }
		slots: events(first: 100, filter: {fromSlot: "11", toSlot: "12"}) { nodes { slot } }
		last: events(last: 3) { nodes { seq } pageInfo { hasPreviousPage hasNextPage } }
	}`, map[string]any{"s": sig}, &data)
	if len(data.BySig.Nodes) != 2 || data.BySig.Nodes[0].Name != "ProposalExecuted" || data.BySig.Nodes[1].Name != "ProgramUpgraded" {
		t.Errorf("events of %s: %+v", sig, data.BySig.Nodes)
	}
	var approvals int
	for _, e := range graphtest.Events(b.scenario.Txs) {
		if e.Name == "ProposalApproved" {
			approvals++
		}
	}
	if data.Approved.TotalCount != approvals {
		t.Errorf("ProposalApproved count %d, want %d", data.Approved.TotalCount, approvals)
	}
	for _, n := range data.Slots.Nodes {
		if n.Slot != "11" && n.Slot != "12" {
			t.Errorf("slot %s outside 11..12", n.Slot)
		}
	}
	if len(data.Slots.Nodes) != 2 {
		t.Errorf("events in slots 11..12: %d, want 2", len(data.Slots.Nodes))
	}
	l := data.Last
	if len(l.Nodes) != 3 || !l.PageInfo.HasPreviousPage || l.PageInfo.HasNextPage ||
		mustAtoi(t, l.Nodes[0].Seq) >= mustAtoi(t, l.Nodes[2].Seq) {
		t.Errorf("last 3 events: %+v, want the newest three in seq order", l)
	}
}
