package graph_test

import (
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is what most tests need: a database, a server on it and the
// scenario to fill it with.
type bundle struct {
	url      string // the database
	pool     *pgxpool.Pool
	base     string // the server's http:// base URL
	scenario *graphtest.Scenario
}

func setup(t *testing.T) *bundle {
	t.Helper()
	sc, err := graphtest.LoadScenario()
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &bundle{url: url, pool: pool, base: graphtest.StartServer(t, url, nil), scenario: sc}
}

// applyAll applies the whole scenario, one batch per transaction as the
// indexer would while following the chain.
func (b *bundle) applyAll(t *testing.T) {
	t.Helper()
	for _, tx := range b.scenario.Txs {
		if err := b.scenario.Apply(t.Context(), b.pool, tx); err != nil {
			t.Fatal(err)
		}
	}
}

// query runs q and decodes its data into out, failing on any error.
func (b *bundle) query(t *testing.T, q string, vars map[string]any, out any) {
	t.Helper()
	resp, status, err := graphtest.Query(t.Context(), b.base+"/graphql", q, vars)
	if err != nil {
		t.Fatal(err)
	}
	if status != 200 || len(resp.Errors) > 0 {
		t.Fatalf("query failed: status %d, errors %+v", status, resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		t.Fatalf("decode data %s: %v", resp.Data, err)
	}
}

func TestScenarioQueries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	events := graphtest.Events(b.scenario.Txs)

	// What the scenario says happened, to compare the read model with.
	var governance string
	created := map[string]string{} // proposal -> kind
	final := map[string]string{}   // proposal -> terminal status
	for _, e := range events {
		p, _ := e.Data["proposal"].(string)
		switch e.Name {
		case "GovernanceInitialized":
			governance = e.Data["governance"].(string)
		case "ProposalCreated":
			created[p] = e.Data["kind"].(string)
		case "ProposalExecuted":
			final[p] = "EXECUTED"
		case "ProposalCancelled":
			final[p] = "CANCELLED"
		case "ProposalExpired":
			final[p] = "EXPIRED"
		case "RejectVoted":
			if e.Data["status"] == "Rejected" {
				final[p] = "REJECTED"
			}
		}
	}

	var data struct {
		Governance struct {
			Address        string
			Threshold      int
			MemberSetSeqno string
			Members        []struct {
				Address  string
				Position int
			}
			Programs []struct {
				ProgramID   string
				CurrentHash string
				Releases    []struct {
					Number   string
					Hash     string
					Rollback bool
					Proposal *struct{ Address string }
				}
			}
			Proposals struct {
				TotalCount int
				Nodes      []struct {
					Address       string
					Kind          string
					Status        string
					AccountStatus string
					ApprovalCount int
					Threshold     int
					Approvals     []struct {
						Member    string
						Signature string
						Proposal  struct{ Address string }
					}
					Execution *struct {
						Signature string
						Executor  string
					}
					Migration *struct {
						Status        string
						Progress      float64
						TotalAccounts string
						MigratedCount string
					}
					ConfigChangeResult *struct{ MemberSetSeqno string }
				}
			}
		}
		IndexerStatus struct {
			LastSeq      string
			LastSlot     string
			ChainClockAt string
		}
		Events struct {
			TotalCount int
		}
	}
	b.query(t, `query($g: PublicKey!) {
		governance(address: $g) {
			address threshold memberSetSeqno
			members { address position }
			programs { programId currentHash releases { number hash rollback proposal { address } } }
			proposals(first: 100) {
				totalCount
				nodes {
					address kind status accountStatus approvalCount threshold
					approvals { member signature proposal { address } }
					execution { signature executor }
					migration { status progress totalAccounts migratedCount }
					configChangeResult { memberSetSeqno }
				}
			}
		}
		indexerStatus { lastSeq lastSlot chainClockAt }
		events { totalCount }
	}`, map[string]any{"g": governance}, &data)

	g := data.Governance
	if g.Address != governance || g.Threshold != 3 {
		t.Errorf("governance = %s threshold %d, want %s threshold 3", g.Address, g.Threshold, governance)
	}
	// The scenario's config change added a sixth member.
	if len(g.Members) != 6 || g.MemberSetSeqno != "1" {
		t.Errorf("members = %d, seqno %s; want 6 members at seqno 1", len(g.Members), g.MemberSetSeqno)
	}
	if g.Proposals.TotalCount != len(created) || len(g.Proposals.Nodes) != len(created) {
		t.Fatalf("proposals: totalCount %d, %d nodes; the scenario created %d",
			g.Proposals.TotalCount, len(g.Proposals.Nodes), len(created))
	}
	kinds := map[string]string{"Upgrade": "UPGRADE", "Rollback": "ROLLBACK", "ConfigChange": "CONFIG_CHANGE", "Migration": "MIGRATION"}
	statuses := map[string]int{}
	for _, p := range g.Proposals.Nodes {
		statuses[p.Status]++
		if want := kinds[created[p.Address]]; p.Kind != want {
			t.Errorf("proposal %s kind %s, want %s", p.Address, p.Kind, want)
		}
		if want, ok := final[p.Address]; ok && p.Status != want {
			t.Errorf("proposal %s status %s, want %s", p.Address, p.Status, want)
		}
		if p.Status == "EXECUTED" && (p.Execution == nil || p.Execution.Signature == "") {
			t.Errorf("executed proposal %s has no execution", p.Address)
		}
		for _, a := range p.Approvals {
			if a.Proposal.Address != p.Address || a.Signature == "" {
				t.Errorf("approval %+v of proposal %s", a, p.Address)
			}
		}
		if p.Kind == "MIGRATION" && p.Status == "EXECUTED" {
			m := p.Migration
			if m == nil || m.Status != "COMPLETED" || m.Progress != 1 || m.MigratedCount != m.TotalAccounts {
				t.Errorf("migration of %s = %+v, want completed", p.Address, m)
			}
		}
		if p.Kind == "CONFIG_CHANGE" && p.Status == "EXECUTED" && (p.ConfigChangeResult == nil || p.ConfigChangeResult.MemberSetSeqno != "1") {
			t.Errorf("config change result of %s = %+v", p.Address, p.ConfigChangeResult)
		}
	}
	t.Logf("statuses at the chain's clock: %v", statuses)
	// Proposals left open when the config change executed were approved
	// under the old member set: the program refuses to execute them.
	for _, p := range g.Proposals.Nodes {
		if _, closed := final[p.Address]; !closed && p.Status != "STALE" && p.Status != "ACTIVE" {
			t.Errorf("open proposal %s is %s (account %s)", p.Address, p.Status, p.AccountStatus)
		}
	}

	if len(g.Programs) != 1 {
		t.Fatalf("programs = %d, want 1", len(g.Programs))
	}
	rel := g.Programs[0].Releases
	if len(rel) < 3 || rel[0].Hash != g.Programs[0].CurrentHash || !rel[0].Rollback || rel[len(rel)-1].Proposal != nil {
		t.Errorf("releases = %+v; want newest first, a rollback on top, the registration last", rel)
	}

	var nEvents int
	for _, tx := range b.scenario.Txs {
		nEvents += len(tx.Events)
	}
	if data.Events.TotalCount != nEvents {
		t.Errorf("events totalCount = %d, want %d", data.Events.TotalCount, nEvents)
	}
	if data.IndexerStatus.LastSeq == "" || data.IndexerStatus.ChainClockAt == "" {
		t.Errorf("indexerStatus = %+v", data.IndexerStatus)
	}
}

func TestNotFoundIsNull(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var data struct {
		Governance *struct{ Address string }
		Proposal   *struct{ Address string }
		Program    *struct{ ProgramID string }
	}
	key := "11111111111111111111111111111111"
	b.query(t, `query($k: PublicKey!) { governance(address: $k) { address } proposal(address: $k) { address } program(program: $k) { programId } }`,
		map[string]any{"k": key}, &data)
	if data.Governance != nil || data.Proposal != nil || data.Program != nil {
		t.Errorf("unknown keys resolved to %+v", data)
	}
}
