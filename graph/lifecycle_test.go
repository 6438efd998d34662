package graph_test

import (
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
)

// The scenario closes proposals 8 and 10 and proposal 10's job and revokes release v2: the rows
// stay, marked closed or revoked; nothing was handed over.
func TestScenarioLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.applyAll(t)
	var data struct {
		Governance struct {
			VotingPeriodSeconds string
			RentCollector       *string
			Programs            []struct {
				Controlled bool
				HandOver   *struct{ NewAuthority *string }
				Releases   []struct {
					Number     string
					Hash       string
					RevokedAt  *string
					Revocation *struct {
						Proposal struct{ Index string }
					}
				}
			}
			Proposals struct {
				Nodes []struct {
					Index          string
					Status         string
					VotingEndsAt   *string
					AccountClosure *struct {
						Status        string
						RentCollector string
						Lamports      string
					}
					Migration *struct {
						AccountClosure *struct{ Status string }
					}
				}
			}
		}
	}
	b.query(t, `query($g: PublicKey!) { governance(address: $g) { votingPeriodSeconds rentCollector
		programs { controlled handOver { newAuthority } releases { number hash revokedAt revocation { proposal { index } } } }
		proposals(first: 20) { nodes { index status votingEndsAt
			accountClosure { status rentCollector lamports } migration { accountClosure { status } } } } } }`,
		map[string]any{"g": scenario.Governance}, &data)
	g := data.Governance
	if g.VotingPeriodSeconds != "1209600" {
		t.Errorf("votingPeriodSeconds = %s", g.VotingPeriodSeconds)
	}
	// The scenario's governance has no rent collector (GovernanceInitialized and every
	// ConfigChanged carry rent_collector: null): each closed account's rent went to its payer.
	if g.RentCollector != nil {
		t.Errorf("rentCollector = %s, want null", *g.RentCollector)
	}
	if len(g.Programs) != 1 || !g.Programs[0].Controlled || g.Programs[0].HandOver != nil {
		t.Fatalf("programs = %+v, want one, still controlled", g.Programs)
	}
	for _, r := range g.Programs[0].Releases {
		revoked := r.Hash == scenario.HashV2
		if (r.RevokedAt != nil) != revoked || (r.Revocation != nil) != revoked {
			t.Errorf("release %s (%s): revokedAt %v, want revoked %v", r.Number, r.Hash, r.RevokedAt, revoked)
		}
		if revoked && r.Revocation.Proposal.Index != "8" {
			t.Errorf("release %s revoked by proposal %s, want 8", r.Number, r.Revocation.Proposal.Index)
		}
	}
	closed := map[string]string{"8": scenario.Members[0], "10": scenario.Members[1]}
	seen := 0
	for _, p := range g.Proposals.Nodes {
		seen++
		if p.VotingEndsAt == nil {
			t.Errorf("proposal %s: no votingEndsAt", p.Index)
		}
		want, isClosed := closed[p.Index]
		switch {
		case !isClosed && p.AccountClosure != nil:
			t.Errorf("proposal %s: closed %+v, want open", p.Index, p.AccountClosure)
		case isClosed && (p.AccountClosure == nil || p.AccountClosure.Status != "EXECUTED" ||
			p.AccountClosure.RentCollector != want || p.AccountClosure.Lamports == "0"):
			t.Errorf("proposal %s: closure %+v, want executed, rent to %s", p.Index, p.AccountClosure, want)
		case isClosed && p.Status != "EXECUTED":
			t.Errorf("proposal %s: status %s after closing, want EXECUTED", p.Index, p.Status)
		}
		if p.Migration != nil {
			jobClosed := p.Migration.AccountClosure != nil
			if jobClosed != (p.Index == "10") || (jobClosed && p.Migration.AccountClosure.Status != "COMPLETED") {
				t.Errorf("proposal %s's job: closure %+v", p.Index, p.Migration.AccountClosure)
			}
		}
	}
	if seen != 11 {
		t.Errorf("%d proposals, want 11", seen)
	}
}
