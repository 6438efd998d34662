package scenario

import (
	"fmt"
	"testing"
)

// assertLifecycle checks the projections of migration 00013 after the whole scenario: the
// governance's voting period, the closed job and proposals (their rows kept, marked closed),
// and the release revoked by proposal 8.
func assertLifecycle(t testing.TB, db Querier) {
	t.Helper()
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	vp := rowStrings(t, db, `SELECT voting_period_seconds FROM governance`)
	check("voting period", vp, [][]string{{"1209600"}})

	// Proposals 8 (the executed revocation) and 10 (an empty migration) and 10's job were closed.
	closeSig := signatureOf(t, "ProposalClosed")
	closed := rowStrings(t, db, `SELECT p.index, c.kind, c.status, c.rent_collector, c.lamports > 0,
		c.signature = $1, c.slot > 0, p.status
		FROM account_closure c JOIN proposal p ON p.address = c.address ORDER BY p.index`, closeSig)
	check("closed proposals", closed, [][]string{
		{"8", "proposal", "executed", Members[0], "true", "true", "true", "executed"},
		{"10", "proposal", "executed", Members[1], "true", "true", "true", "executed"},
	})
	job := rowStrings(t, db, `SELECT p.index, c.kind, c.status, c.signature = $1, j.status, j.total_accounts
		FROM account_closure c JOIN migration_job j ON j.address = c.address
		JOIN proposal p ON p.address = j.proposal`, signatureOf(t, "MigrationJobClosed"))
	check("closed jobs", job, [][]string{{"10", "migration_job", "completed", "true", "completed", "0"}})

	revoked := rowStrings(t, db, `SELECT program, hash, proposal FROM release_revocation`)
	check("revoked releases", revoked, [][]string{{ManagedProgram, HashV2, "GDNfDxSAZjLHSFCDdUB2NfDZarC6dD3y4iGmAAJwEz9P"}})
	handed := rowStrings(t, db, `SELECT count(*) FROM program_hand_over`)
	check("hand-overs", handed, [][]string{{"0"}})
}
