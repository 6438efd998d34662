package graph_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
)

// uiWorld is a governance written straight into the projections with one
// proposal in each state a UI shows differently, and the answers worked
// out by hand from the program's rules (docs/GOVERNANCE.md).
type uiWorld struct {
	gov                    string
	m1, m2, m3             string
	outsider               string
	active, stale, ready   string
	rollback, extend, done string
	readyEta, soonEta      time.Time
	soon                   string
}

const uiGrace = 7 * 24 * time.Hour

func seedUI(t *testing.T, b *bundle) *uiWorld {
	t.Helper()
	w := &uiWorld{gov: graphtest.Key("ui-gov"), m1: graphtest.Key("ui-m1"), m2: graphtest.Key("ui-m2"), m3: graphtest.Key("ui-m3"),
		outsider: graphtest.Key("ui-outsider"),
		active:   graphtest.Key("ui-active"), stale: graphtest.Key("ui-stale"), ready: graphtest.Key("ui-ready"),
		rollback: graphtest.Key("ui-rollback"), extend: graphtest.Key("ui-extend"), done: graphtest.Key("ui-done"),
		soon: graphtest.Key("ui-soon")}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	w.readyEta, w.soonEta = start.Add(50*time.Hour), start.Add(49*time.Hour)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := b.pool.Exec(t.Context(), sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Threshold 2, rollback threshold 3; one config change executed (seqno 1).
	exec(`INSERT INTO governance (address, create_key, threshold, rollback_threshold, timelock_seconds,
			rollback_timelock_seconds, grace_period_seconds, spill, member_set_seqno, created_at, created_slot,
			created_signature, updated_at, updated_slot, last_seq)
		VALUES ($1, $1, 2, 3, 172800, 3600, $2, $1, 1, $3, 1, 'seed', $3, 1, 0)`, w.gov, int64(uiGrace/time.Second), start)
	for i, m := range []string{w.m1, w.m2, w.m3} {
		exec(`INSERT INTO governance_member (governance, member, position) VALUES ($1, $2, $3)`, w.gov, m, i)
	}
	type prop struct {
		address, kind, status string
		approvals, seqno      int
		eta                   *time.Time
		extend                int64
	}
	for i, p := range []prop{
		{w.active, "upgrade", "active", 1, 1, nil, 0},
		{w.stale, "upgrade", "approved", 2, 0, &w.readyEta, 0}, // approved before the config change
		{w.ready, "upgrade", "approved", 2, 1, &w.readyEta, 0},
		{w.soon, "config_change", "approved", 2, 1, &w.soonEta, 0},
		{w.rollback, "rollback", "active", 0, 1, nil, 0},
		{w.extend, "upgrade", "active", 0, 1, nil, 20480},
		{w.done, "upgrade", "executed", 2, 1, &w.readyEta, 20480},
	} {
		at := start.Add(time.Duration(i) * time.Minute)
		var program any = graphtest.Key("ui-program")
		if p.kind == "config_change" {
			program = nil
		}
		exec(`INSERT INTO proposal (address, governance, index, kind, program, extend_bytes_needed, metadata_uri,
				build_hash, proposer, status, approvals, threshold, member_set_seqno, eta, created_at, created_slot,
				created_signature, updated_at, updated_slot, last_seq)
			VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, 2, $11, $12, $13, $3, 'seed', $13, $3, 0)`,
			p.address, w.gov, i, p.kind, program, p.extend, fmt.Sprintf("%064x", i), w.m1, p.status, p.approvals, p.seqno, p.eta, at)
	}
	approve := func(proposal, member string, seqno int, revoked bool) {
		t.Helper()
		var rev any
		if revoked {
			rev = start
		}
		exec(`INSERT INTO approval (proposal, member, member_set_seqno, approved_at, slot, signature, seq, revoked_at)
			VALUES ($1, $2, $3, $4, 1, 'seed', nextval(pg_get_serial_sequence('chain_event', 'seq')), $5)`,
			proposal, member, seqno, start, rev)
	}
	approve(w.active, w.m1, 1, false)
	approve(w.active, w.m3, 1, true) // revoked: m3 is pending again
	approve(w.stale, w.m1, 0, false)
	approve(w.stale, w.m2, 0, false)
	approve(w.ready, w.m1, 1, false)
	approve(w.ready, w.m2, 1, false)
	approve(w.soon, w.m1, 1, false)
	approve(w.soon, w.m2, 1, false)
	// The chain's clock: after both etas, before their windows end.
	// One deployment per database: the tip names the claimed program (claimed here when the
	// seed is the first writer).
	exec(`INSERT INTO deployment (program_id) VALUES ('ui') ON CONFLICT DO NOTHING`)
	exec(`INSERT INTO chain_tip (program_id, confirmed_slot, finalized_slot, chain_time)
		VALUES ((SELECT program_id FROM deployment), 100, 100, $1)`, start.Add(51*time.Hour))
	return w
}

type uiProposal struct {
	Address               string
	Status                string
	ApprovalsNeeded       int
	ApprovalsStale        bool
	PendingApprovers      []struct{ Address string }
	CancelVotes           int
	CancelThreshold       int
	BlockedOnExtend       bool
	Eta                   *string
	ExecutionWindowEndsAt *string
}

func (p uiProposal) pending() []string {
	var out []string
	for _, m := range p.PendingApprovers {
		out = append(out, m.Address)
	}
	return out
}

// A proposal answers what a UI shows without the client working anything
// out: what is left to approve and by whom, what cancels it, whether it
// waits for extend_program, when its window ends, and that a stale
// proposal's approvals no longer count.
func TestProposalAnswersTheUI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := seedUI(t, b)
	get := func(address string) uiProposal {
		t.Helper()
		var data struct{ Proposal uiProposal }
		b.query(t, `query($a: PublicKey!) { proposal(address: $a) {
			address status approvalsNeeded approvalsStale pendingApprovers { address } cancelVotes cancelThreshold
			blockedOnExtend eta executionWindowEndsAt } }`, map[string]any{"a": address}, &data)
		return data.Proposal
	}
	all := []string{w.m1, w.m2, w.m3}
	end := w.readyEta.Add(uiGrace).Format(time.RFC3339Nano)
	for _, c := range []struct {
		name, address  string
		status         string
		needed         int
		stale, blocked bool
		pending        []string
		cancel         int
		windowEnd      *string
	}{
		{"one approval of two, one revoked", w.active, "ACTIVE", 1, false, false, []string{w.m2, w.m3}, 2, nil},
		{"approved under the old member set", w.stale, "STALE", 2, true, false, all, 2, &end},
		{"approved, in its window", w.ready, "READY_TO_EXECUTE", 0, false, false, nil, 2, &end},
		{"a rollback needs the rollback threshold", w.rollback, "ACTIVE", 3, false, false, all, 3, nil},
		{"open, its programdata must grow", w.extend, "ACTIVE", 2, false, true, all, 2, nil},
		{"executed: nothing left", w.done, "EXECUTED", 0, false, false, nil, 2, &end},
	} {
		p := get(c.address)
		if p.Status != c.status || p.ApprovalsNeeded != c.needed || p.ApprovalsStale != c.stale || p.BlockedOnExtend != c.blocked ||
			p.CancelThreshold != c.cancel || !slices.Equal(p.pending(), c.pending) {
			t.Errorf("%s: got %+v (pending %v), want status %s, needed %d, stale %v, blocked %v, cancel threshold %d, pending %v",
				c.name, p, p.pending(), c.status, c.needed, c.stale, c.blocked, c.cancel, c.pending)
		}
		if (p.ExecutionWindowEndsAt == nil) != (c.windowEnd == nil) || (c.windowEnd != nil && *p.ExecutionWindowEndsAt != *c.windowEnd) {
			t.Errorf("%s: executionWindowEndsAt %v, want %v", c.name, p.ExecutionWindowEndsAt, c.windowEnd)
		}
	}
}

// "Awaiting my approval": open proposals of the member's governances that
// it has not approved under the current member set.
func TestAwaitingApprovalBy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := seedUI(t, b)
	awaiting := func(member string) []string {
		t.Helper()
		var data struct {
			Proposals struct {
				TotalCount int
				Nodes      []struct{ Address string }
			}
		}
		b.query(t, `query($m: PublicKey!) { proposals(first: 50, filter: {awaitingApprovalBy: $m}, orderBy: {direction: ASC}) {
			totalCount nodes { address } } }`, map[string]any{"m": member}, &data)
		var out []string
		for _, n := range data.Proposals.Nodes {
			out = append(out, n.Address)
		}
		if data.Proposals.TotalCount != len(out) {
			t.Errorf("awaiting %s: totalCount %d, %d nodes", member, data.Proposals.TotalCount, len(out))
		}
		return out
	}
	// m1 approved the active one; its approval of the stale one no longer counts.
	if got, want := awaiting(w.m1), []string{w.stale, w.rollback, w.extend}; !slices.Equal(got, want) {
		t.Errorf("awaiting m1 = %v, want %v", got, want)
	}
	// m3's approval of the active one was revoked.
	if got, want := awaiting(w.m3), []string{w.active, w.stale, w.rollback, w.extend}; !slices.Equal(got, want) {
		t.Errorf("awaiting m3 = %v, want %v", got, want)
	}
	if got := awaiting(w.outsider); len(got) != 0 {
		t.Errorf("awaiting a non-member = %v, want none", got)
	}
}

// Proposals ordered by eta: only those with one, paged both ways, and a
// cursor of the creation order is refused.
func TestProposalsOrderedByEta(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := seedUI(t, b)
	type page struct {
		Proposals struct {
			TotalCount int
			Edges      []struct {
				Cursor string
				Node   struct{ Address string }
			}
			PageInfo struct{ HasNextPage, HasPreviousPage bool }
		}
	}
	list := func(q string, vars map[string]any) ([]string, []string, page) {
		t.Helper()
		var p page
		b.query(t, q, vars, &p)
		var addrs, cursors []string
		for _, e := range p.Proposals.Edges {
			addrs = append(addrs, e.Node.Address)
			cursors = append(cursors, e.Cursor)
		}
		return addrs, cursors, p
	}
	const q = `query($d: OrderDirection!, $f: Int, $a: String, $l: Int, $b: String) {
		proposals(first: $f, after: $a, last: $l, before: $b, filter: {governance: "%s"}, orderBy: {field: ETA, direction: $d}) {
			totalCount edges { cursor node { address } } pageInfo { hasNextPage hasPreviousPage } } }`
	query := fmt.Sprintf(q, w.gov)
	// soon (eta 49 h) first; stale, ready and done share the 50 h eta, by address.
	same := []string{w.stale, w.ready, w.done}
	slices.Sort(same)
	want := append([]string{w.soon}, same...)
	got, cursors, p := list(query, map[string]any{"d": "ASC", "f": 10})
	if !slices.Equal(got, want) || p.Proposals.TotalCount != len(want) {
		t.Fatalf("by eta ascending: %v (totalCount %d), want %v", got, p.Proposals.TotalCount, want)
	}
	desc, _, _ := list(query, map[string]any{"d": "DESC", "f": 10})
	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	if !slices.Equal(desc, reversed) {
		t.Errorf("by eta descending: %v, want %v", desc, reversed)
	}
	next, _, p := list(query, map[string]any{"d": "ASC", "f": 2, "a": cursors[1]})
	if !slices.Equal(next, want[2:]) || p.Proposals.PageInfo.HasNextPage {
		t.Errorf("after the second: %v %+v, want %v", next, p.Proposals.PageInfo, want[2:])
	}
	prev, _, p := list(query, map[string]any{"d": "ASC", "l": 2, "b": cursors[3]})
	if !slices.Equal(prev, want[1:3]) || !p.Proposals.PageInfo.HasPreviousPage {
		t.Errorf("last 2 before the fourth: %v %+v, want %v", prev, p.Proposals.PageInfo, want[1:3])
	}

	// A creation-order cursor does not page the eta order.
	var created page
	b.query(t, `{ proposals(first: 1) { edges { cursor node { address } } } }`, nil, &created)
	resp, _, err := graphtest.Query(t.Context(), b.base+"/graphql", query, map[string]any{"d": "ASC", "f": 1, "a": created.Proposals.Edges[0].Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) == 0 || resp.Errors[0].Code() != "BAD_USER_INPUT" {
		t.Errorf("creation cursor on the eta order: %+v, want BAD_USER_INPUT", resp.Errors)
	}
}

// A misspelled event name is a validation error (HTTP 422), not an empty
// log; so is one passed in a variable, and on a subscription.
func TestEventNamesAreValidated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	for _, c := range []struct {
		name, query string
		vars        map[string]any
	}{
		{"inline", `{ events(filter: {names: [ProposalAprooved]}) { totalCount } }`, nil},
		{"a string", `{ events(filter: {names: ["ProposalApproved"]}) { totalCount } }`, nil},
		{"in a variable", `query($n: [EventName!]) { events(filter: {names: $n}) { totalCount } }`, map[string]any{"n": []string{"ProposalAprooved"}}},
		{"subscription", `subscription { events(names: [proposalapproved]) { seq } }`, nil},
	} {
		resp, status, err := graphtest.Query(t.Context(), b.base+"/graphql", c.query, c.vars)
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusUnprocessableEntity || len(resp.Errors) == 0 || resp.Errors[0].Code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("%s: status %d, errors %+v; want 422 GRAPHQL_VALIDATION_FAILED", c.name, status, resp.Errors)
		}
	}
	// Spelled right, the names filter and the enums in the answer.
	var data struct {
		Events struct {
			TotalCount int
			Nodes      []struct{ Name, Commitment string }
		}
	}
	b.query(t, `query($n: [EventName!]) { events(first: 100, filter: {names: $n}) { totalCount nodes { name commitment } } }`,
		map[string]any{"n": []string{"ProposalApproved"}}, &data)
	want := 0
	for _, e := range graphtest.Events(b.scenario.Txs) {
		if e.Name == "ProposalApproved" {
			want++
		}
	}
	if data.Events.TotalCount != want || want == 0 {
		t.Fatalf("ProposalApproved events: %d, want %d", data.Events.TotalCount, want)
	}
	for _, n := range data.Events.Nodes {
		if n.Name != "ProposalApproved" || n.Commitment != "CONFIRMED" {
			t.Errorf("event %+v, want ProposalApproved CONFIRMED", n)
		}
	}
}

// The audit log filtered by proposal, governance or program: each is
// exactly the events that name it, in log order.
func TestEventTimelines(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	events := graphtest.Events(b.scenario.Txs)
	for _, key := range []string{"proposal", "governance", "program"} {
		counts := map[string]int{}
		for _, e := range events {
			if v, ok := e.Data[key].(string); ok {
				counts[v]++
			}
		}
		if len(counts) == 0 {
			t.Fatalf("the scenario has no event naming a %s", key)
		}
		for value, n := range counts {
			var data struct {
				Events struct {
					TotalCount int
					Nodes      []struct {
						Seq  string
						Data map[string]any
					}
				}
			}
			b.query(t, fmt.Sprintf(`query($v: PublicKey!) { events(first: 100, filter: {%s: $v}) { totalCount nodes { seq data } } }`, key),
				map[string]any{"v": value}, &data)
			if data.Events.TotalCount != n || len(data.Events.Nodes) != min(n, 100) {
				t.Errorf("%s %s: %d events (%d nodes), want %d", key, value, data.Events.TotalCount, len(data.Events.Nodes), n)
			}
			last := ""
			for _, e := range data.Events.Nodes {
				if e.Data[key] != value {
					t.Errorf("%s %s: event %s names %v", key, value, e.Seq, e.Data[key])
				}
				if last != "" && len(e.Seq) <= len(last) && e.Seq <= last {
					t.Errorf("%s %s: seq %s after %s", key, value, e.Seq, last)
				}
				last = e.Seq
			}
		}
	}
}

// Config changes and migration specs are typed objects, read from what the
// indexer decoded.
func TestTypedConfigChangesAndMigrationSpecs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	wantChange := map[string]map[string]any{}
	wantSpec := map[string]map[string]any{}
	for _, e := range graphtest.Events(b.scenario.Txs) {
		if e.Name != "ProposalCreated" {
			continue
		}
		p := e.Data["proposal"].(string)
		if c, ok := e.Data["config_change"].(map[string]any); ok {
			wantChange[p] = c
		}
		if s, ok := e.Data["migration"].(map[string]any); ok {
			wantSpec[p] = s
		}
	}
	if len(wantChange) == 0 || len(wantSpec) == 0 {
		t.Fatal("the scenario has no config change or no migration")
	}
	var data struct {
		Proposals struct {
			Nodes []struct {
				Address      string
				ConfigChange *struct {
					Kind, Member, Seconds, ProgramID, Hash *string
					Program                                *struct{ ProgramID string }
				}
				MigrationSpec *struct {
					FromVersion, ToVersion int
					TotalAccounts          string
					Discriminator          *string
					RequiredHash           string
				}
				ConfigChangeResult *struct {
					Change struct{ Kind string }
				}
			}
		}
	}
	b.query(t, `{ proposals(first: 100) { nodes { address
		configChange { kind member seconds programId hash program { programId } }
		migrationSpec { fromVersion toVersion totalAccounts discriminator requiredHash }
		configChangeResult { change { kind } } } } }`, nil, &data)
	kinds := map[string]string{"SetTimelock": "SET_TIMELOCK", "SetGracePeriod": "SET_GRACE_PERIOD", "AddMember": "ADD_MEMBER",
		"SetVotingPeriod": "SET_VOTING_PERIOD", "RevokeRelease": "REVOKE_RELEASE"}
	seen := 0
	for _, p := range data.Proposals.Nodes {
		if c, ok := wantChange[p.Address]; ok {
			seen++
			got := p.ConfigChange
			if got == nil {
				t.Errorf("%s: no configChange, want %v", p.Address, c)
				continue
			}
			for variant, raw := range c {
				f := raw.(map[string]any)
				if kinds[variant] == "" || deref(got.Kind) != kinds[variant] {
					t.Errorf("%s: kind %v, want %s (%s)", p.Address, deref(got.Kind), kinds[variant], variant)
				}
				check := func(field string, v *string) {
					if w, ok := f[field]; ok && fmt.Sprint(w) != deref(v) {
						t.Errorf("%s %s: %s = %q, want %v", p.Address, variant, field, deref(v), w)
					}
				}
				check("member", got.Member)
				check("seconds", got.Seconds)
				check("program", got.ProgramID)
				check("hash", got.Hash)
			}
			// The object beside the id: the scenario's program is managed.
			if got.ProgramID != nil && (got.Program == nil || got.Program.ProgramID != *got.ProgramID) {
				t.Errorf("%s: program %+v, want the managed program %s", p.Address, got.Program, *got.ProgramID)
			}
			if p.ConfigChangeResult != nil && p.ConfigChangeResult.Change.Kind != deref(got.Kind) {
				t.Errorf("%s: executed change %s, proposed %s", p.Address, p.ConfigChangeResult.Change.Kind, deref(got.Kind))
			}
		} else if p.ConfigChange != nil {
			t.Errorf("%s: configChange %+v on a proposal without one", p.Address, p.ConfigChange)
		}
		if s, ok := wantSpec[p.Address]; ok {
			seen++
			got := p.MigrationSpec
			if got == nil || float64(got.FromVersion) != s["from_version"] || float64(got.ToVersion) != s["to_version"] ||
				got.TotalAccounts != fmt.Sprint(s["total_accounts"]) || got.RequiredHash != s["required_hash"] ||
				deref(got.Discriminator) != s["discriminator"] {
				t.Errorf("%s: migrationSpec %+v, want %v", p.Address, got, s)
			}
		}
	}
	if seen != len(wantChange)+len(wantSpec) {
		t.Errorf("checked %d proposals, want %d", seen, len(wantChange)+len(wantSpec))
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Every node type has a global id that node(id:) resolves to the same
// object; an unknown id is null, a malformed one BAD_USER_INPUT.
func TestNodeByGlobalID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	var ids struct {
		Governances struct {
			Nodes []struct{ ID, Address string }
		}
		Programs struct {
			Nodes []struct {
				ID, ProgramID string
				Releases      []struct{ ID, Number string }
			}
		}
		Proposals struct {
			Nodes []struct {
				ID, Address string
				Approvals   []struct{ ID, Signature string }
			}
		}
		Migrations struct {
			Nodes []struct{ ID, Address string }
		}
		Events struct{ Nodes []struct{ ID, Seq string } }
	}
	b.query(t, `{ governances(first: 1) { nodes { id address } }
		programs(first: 1) { nodes { id programId releases(first: 1) { id number } } }
		proposals(first: 100) { nodes { id address approvals { id signature } } } migrations(first: 1) { nodes { id address } }
		events(last: 1) { nodes { id seq } } }`, nil, &ids)
	if len(ids.Governances.Nodes) == 0 || len(ids.Programs.Nodes) == 0 || len(ids.Programs.Nodes[0].Releases) == 0 ||
		len(ids.Proposals.Nodes) == 0 || len(ids.Migrations.Nodes) == 0 || len(ids.Events.Nodes) == 0 {
		t.Fatalf("the scenario lacks a node type: %+v", ids)
	}
	var approvalID, approvalSig string
	for _, p := range ids.Proposals.Nodes {
		if len(p.Approvals) > 0 {
			approvalID, approvalSig = p.Approvals[0].ID, p.Approvals[0].Signature
			break
		}
	}
	if approvalID == "" {
		t.Fatal("the scenario has no approval")
	}
	for _, c := range []struct{ typ, id, key string }{
		{"Governance", ids.Governances.Nodes[0].ID, ids.Governances.Nodes[0].Address},
		{"ManagedProgram", ids.Programs.Nodes[0].ID, ids.Programs.Nodes[0].ProgramID},
		{"Proposal", ids.Proposals.Nodes[0].ID, ids.Proposals.Nodes[0].Address},
		{"Migration", ids.Migrations.Nodes[0].ID, ids.Migrations.Nodes[0].Address},
		{"Event", ids.Events.Nodes[0].ID, ids.Events.Nodes[0].Seq},
		{"Release", ids.Programs.Nodes[0].Releases[0].ID, ids.Programs.Nodes[0].Releases[0].Number},
		{"Approval", approvalID, approvalSig},
	} {
		var data struct {
			Node map[string]any
		}
		b.query(t, `query($id: ID!) { node(id: $id) { __typename id
			... on Governance { address } ... on ManagedProgram { programId } ... on Proposal { address }
			... on Migration { address } ... on Event { seq } ... on Release { number } ... on Approval { signature } } }`,
			map[string]any{"id": c.id}, &data)
		var key any
		for _, f := range []string{"address", "programId", "seq", "number", "signature"} {
			if key == nil {
				key = data.Node[f]
			}
		}
		if data.Node["__typename"] != c.typ || data.Node["id"] != c.id || key != c.key {
			t.Errorf("node(%s) = %v, want the %s %s", c.id, data.Node, c.typ, c.key)
		}
	}
	// Unknown objects of a known type are null.
	var none struct{ A, B map[string]any }
	b.query(t, `query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }`, map[string]any{
		"a": rewrap(t, ids.Proposals.Nodes[0].ID, graphtest.Key("nobody")),
		"b": rewrap(t, ids.Events.Nodes[0].ID, "999999"),
	}, &none)
	if none.A != nil || none.B != nil {
		t.Errorf("unknown nodes = %+v, want null", none)
	}
	for _, bad := range []string{"", "%%%", "bm9wZQ", rewrap(t, ids.Events.Nodes[0].ID, "x"), "VW5rbm93bjp4",
		rewrap(t, ids.Programs.Nodes[0].Releases[0].ID, "x:y"), rewrap(t, approvalID, "-1")} {
		resp, _, err := graphtest.Query(t.Context(), b.base+"/graphql", `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": bad})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Errors) == 0 || resp.Errors[0].Code() != "BAD_USER_INPUT" {
			t.Errorf("node(%q): %+v, want BAD_USER_INPUT", bad, resp.Errors)
		}
	}
}

// rewrap returns the global id of the same type as id with another key.
func rewrap(t *testing.T, id, key string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatalf("decode id %s: %v", id, err)
	}
	typ, _, _ := strings.Cut(string(raw), ":")
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + key))
}

// The cluster the history comes from: null before the indexer recorded
// it, then its genesis hash and name.
func TestCluster(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var data struct {
		Cluster *struct{ GenesisHash, Name string }
	}
	b.query(t, `{ cluster { genesisHash name } }`, nil, &data)
	if data.Cluster != nil {
		t.Fatalf("cluster before the indexer recorded one: %+v", data.Cluster)
	}
	for _, c := range []struct{ genesis, name string }{
		{"EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG", "devnet"},
		{graphtest.Key("a local node"), "custom"},
	} {
		if _, err := b.pool.Exec(t.Context(), `INSERT INTO deployment (program_id) VALUES ('p') ON CONFLICT DO NOTHING`); err != nil {
			t.Fatal(err)
		}
		if _, err := b.pool.Exec(t.Context(), `INSERT INTO indexed_cluster (program_id, genesis_hash) VALUES ((SELECT program_id FROM deployment), $1)
			ON CONFLICT (program_id) DO UPDATE SET genesis_hash = excluded.genesis_hash, first_seen = now()`, c.genesis); err != nil {
			t.Fatal(err)
		}
		b.query(t, `{ cluster { genesisHash name } }`, nil, &data)
		if data.Cluster == nil || data.Cluster.GenesisHash != c.genesis || data.Cluster.Name != c.name {
			t.Errorf("cluster = %+v, want %s %s", data.Cluster, c.genesis, c.name)
		}
	}
}

// governances, programs and migrations page backward with last/before as
// every list does.
func TestLastBeforeOnEveryList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	for i := range 3 {
		if _, err := graphtest.SeedProposals(t.Context(), b.pool, fmt.Sprintf("lb%d-", i), 1, 1, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, err := b.pool.Exec(t.Context(), `INSERT INTO managed_program (program, governance, address, programdata,
				upgrade_authority, current_hash, last_deploy_slot, release_count, registered_by, registered_at,
				registered_slot, registered_signature, last_seq) VALUES ($1, 'g', $1, $1, $1, $2, 1, 1, $1, $3, 1, 's', 0)`,
			graphtest.Key(fmt.Sprintf("lb-program%d", i)), fmt.Sprintf("%064x", i), start); err != nil {
			t.Fatal(err)
		}
		if _, err := b.pool.Exec(t.Context(), `INSERT INTO migration_job (address, governance, proposal, program, from_version,
				to_version, version_offset, data_size, migrate_ix_data, total_accounts, status, started_at, started_slot,
				updated_at, last_seq) VALUES ($1, 'g', $1, 'p', 1, 2, 0, 0, '', 1, 'active', $2, 1, $2, 0)`,
			graphtest.Key(fmt.Sprintf("lb-job%d", i)), start.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for _, list := range []struct{ field, key, args string }{
		{"governances", "address", ""},
		{"programs", "programId", ""},
		{"migrations", "address", ""},
	} {
		page := func(args string) ([]string, []string, map[string]bool) {
			t.Helper()
			var data map[string]struct {
				Edges []struct {
					Cursor string
					Node   map[string]string
				}
				PageInfo map[string]bool
			}
			b.query(t, fmt.Sprintf(`{ %s(%s) { edges { cursor node { %s } } pageInfo { hasNextPage hasPreviousPage } } }`,
				list.field, args, list.key), nil, &data)
			var keys, cursors []string
			for _, e := range data[list.field].Edges {
				keys = append(keys, e.Node[list.key])
				cursors = append(cursors, e.Cursor)
			}
			return keys, cursors, data[list.field].PageInfo
		}
		all, cursors, _ := page("first: 100")
		if len(all) < 4 {
			t.Fatalf("%s: %d rows, want at least 4", list.field, len(all))
		}
		n := len(all)
		last, _, info := page("last: 2")
		if !slices.Equal(last, all[n-2:]) || !info["hasPreviousPage"] {
			t.Errorf("%s(last: 2) = %v %v, want %v and a previous page", list.field, last, info, all[n-2:])
		}
		before, _, info := page(fmt.Sprintf("last: 2, before: %q", cursors[n-1]))
		if !slices.Equal(before, all[n-3:n-1]) || !info["hasNextPage"] {
			t.Errorf("%s(last: 2, before: the last) = %v %v, want %v", list.field, before, info, all[n-3:n-1])
		}
		after, _, _ := page(fmt.Sprintf("first: 1, after: %q", cursors[0]))
		if !slices.Equal(after, all[1:2]) {
			t.Errorf("%s(first: 1, after: the first) = %v, want %v", list.field, after, all[1:2])
		}
	}
}

// The approval subscription's governance is an object, beside its address.
func TestApprovalEventGovernanceObject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	ws, err := graphtest.DialWS(t.Context(), graphtest.WSURL(b.base), graphtest.TransportWS)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// From the start of the log: the replay sends the scenario's approvals.
	first := graph.EventCursor(0)
	if err := ws.Subscribe(t.Context(), "a", `subscription($c: String) { approvals(after: $c) {
		governanceAddress governance { address threshold } occurredAt } }`, map[string]any{"c": first}); err != nil {
		t.Fatal(err)
	}
	_, resp, err := ws.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Approvals struct {
			GovernanceAddress string
			Governance        struct {
				Address   string
				Threshold int
			}
			OccurredAt *string
		}
	}
	if len(resp.Errors) > 0 {
		t.Fatalf("errors %+v", resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		t.Fatal(err)
	}
	a := data.Approvals
	if a.GovernanceAddress == "" || a.Governance.Address != a.GovernanceAddress || a.Governance.Threshold == 0 || a.OccurredAt == nil {
		t.Errorf("approval event %+v", a)
	}
}
