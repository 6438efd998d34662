package scenario

import (
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"

	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Querier is what the assertions read with: a pool, a connection or a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Keys of the scenario.
const (
	Governance     = "EFXqM9qrdFCLoWKEZAaSCPrdqqgpMoqiYCYxHZBbhnM7"
	ManagedProgram = "BELn9TCk4uWEihwdgoUx8xUfd5ujL9pKrwtJCesiQAev"
	MigrationJob   = "3yPKDe5vejC4TAbCjkBBq6eA3PuiD3rwngwYA69Wy2e4"
	HashV1         = "68d9bbae7023f8f51d32d0f6ff8a7003921c97c99e77921ccd0f51adcf6295db"
	HashV2         = "10c2625f35594bc23489eb59f5d0df7a0382926d3cbd47e237a7c6917a8b6143"
)

// Members is the member list at the end of the scenario, in the program's
// order: the five initial members and the one the config change added.
var Members = []string{
	"AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9",
	"9hSR6S7WPtxmTojgo6GG3k4yDPecgJY292j7xrsUGWBu",
	"GyGKxMyg1p9SsHfm15MkNUu1u9TN2JtTspcdmrtGUdse",
	"EdmxWPmx2WH6WgFfTdu9xfkYf3k1g5wD1zccTVySEEh1",
	"8SFqwqnq4whPhs8icwHA2hQg3hUoN1qrCLK1SBx3WKwe",
	"AKkzLhjhyFtM9j7WAhbaqYpFe49cXeJBg2kzLRC2PnNa",
}

// AssertProjections checks that db holds exactly the projections of the
// whole scenario: the governance after its config change, the program's
// release history with its upgrade and rollback, every proposal with its
// final status and counters, approvals (one revoked), the config change and
// the completed migration job.
func AssertProjections(t testing.TB, db Querier) {
	t.Helper()
	ctx := context.Background()
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}

	gov := rowStrings(t, db, `SELECT address, create_key, threshold, rollback_threshold, timelock_seconds,
		rollback_timelock_seconds, grace_period_seconds, spill, member_set_seqno, created_slot,
		extract(epoch FROM created_at)::bigint, extract(epoch FROM updated_at)::bigint FROM governance`)
	check("governance", gov, [][]string{{Governance, "3wpYnGqceZ8DzN3guiTd9rrYkWTwTHCChBSuo6cvkXTG",
		"3", "2", "172800", "3600", "1209600", "FR5pWwinRBn35GNhg7bsvw8Q13kRept2pm561DwZCQzT", "1", "10",
		"1767225600", "1769130000"}})
	members := rowStrings(t, db, `SELECT member FROM governance_member WHERE governance = $1 ORDER BY position`, Governance)
	check("members", flatten(members), Members)

	prog := rowStrings(t, db, `SELECT program, governance, address, current_hash, last_deploy_slot, release_count,
		registered_slot FROM managed_program`)
	check("managed_program", prog, [][]string{{ManagedProgram, Governance,
		"7aQbiApKEpxWXsnGkUNCTHhEqpGGAJNrhEzfLkRqE2ja", HashV1, "17", "3", "10"}})
	releases := rowStrings(t, db, `SELECT release_number, hash, coalesce(previous_hash, '-'), rollback,
		coalesce(proposal, '-'), deploy_slot FROM program_release WHERE program = $1 ORDER BY release_number`, ManagedProgram)
	check("program releases", releases, [][]string{
		{"1", HashV1, "-", "false", "-", "0"},
		{"2", HashV2, HashV1, "false", "E5YkCJBFTiYQoU2oX7XrniVeX47itURHqYdbEik7haCm", "16"},
		{"3", HashV1, HashV2, "true", "78DTmRVnVoGdDVXUyrq6YacQPm42Vjvygwx9KaGN5PzM", "17"},
	})
	rollback := rowStrings(t, db, `SELECT proposal, program, from_hash, to_hash, slot FROM rollback`)
	check("rollbacks", rollback, [][]string{{"78DTmRVnVoGdDVXUyrq6YacQPm42Vjvygwx9KaGN5PzM", ManagedProgram, HashV2, HashV1, "17"}})

	// index, kind, status, approvals, threshold, cancel votes, member set, extend bytes, executed slot, closed
	proposals := rowStrings(t, db, `SELECT index, kind, status, approvals, threshold, cancel_votes,
		member_set_seqno, extend_bytes_needed, coalesce(executed_slot::text, '-'), closed_at IS NOT NULL,
		coalesce(program, '-') <> '-', buffer IS NOT NULL
		FROM proposal WHERE governance = $1 ORDER BY index`, Governance)
	check("proposals", proposals, [][]string{
		{"0", "upgrade", "executed", "3", "3", "0", "0", "0", "16", "false", "true", "true"},
		{"1", "rollback", "executed", "2", "2", "0", "0", "0", "17", "false", "true", "true"},
		{"2", "upgrade", "cancelled", "0", "3", "0", "0", "0", "-", "true", "true", "true"},
		{"3", "config_change", "cancelled", "1", "3", "3", "0", "0", "-", "true", "false", "false"},
		{"4", "config_change", "expired", "3", "3", "0", "0", "0", "-", "true", "false", "false"},
		{"5", "upgrade", "cancelled", "1", "3", "0", "1", "0", "-", "true", "true", "true"},
		{"6", "config_change", "executed", "3", "3", "0", "0", "0", "18", "false", "false", "false"},
		{"7", "config_change", "rejected", "0", "3", "0", "1", "0", "-", "true", "false", "false"},
		{"8", "config_change", "executed", "3", "3", "0", "1", "0", "18", "false", "true", "false"},
		{"9", "migration", "executed", "3", "3", "0", "1", "0", "18", "false", "true", "false"},
		{"10", "migration", "executed", "3", "3", "0", "1", "0", "18", "false", "true", "false"},
	})
	payloads := rowStrings(t, db, `SELECT index, coalesce(config_change::text, '-'), coalesce(migration->>'total_accounts', '-')
		FROM proposal WHERE config_change IS NOT NULL OR migration IS NOT NULL ORDER BY index`)
	check("proposal payloads", payloads, [][]string{
		{"3", `{"SetTimelock": {"seconds": 7200}}`, "-"},
		{"4", `{"SetGracePeriod": {"seconds": 604800}}`, "-"},
		{"6", `{"AddMember": {"member": "AKkzLhjhyFtM9j7WAhbaqYpFe49cXeJBg2kzLRC2PnNa"}}`, "-"},
		{"7", `{"SetVotingPeriod": {"seconds": 604800}}`, "-"},
		{"8", `{"RevokeRelease": {"hash": "` + HashV2 + `", "program": "` + ManagedProgram + `"}}`, "-"},
		{"9", "-", "210"},
		{"10", "-", "0"},
	})
	// Effective statuses at the chain's last clock: every proposal is closed.
	eff := rowStrings(t, db, `SELECT proposal_effective_status(p, g, to_timestamp(1769130000))
		FROM proposal p JOIN governance g ON g.address = p.governance ORDER BY p.index`)
	check("effective statuses", flatten(eff), []string{"executed", "executed", "cancelled", "cancelled", "expired", "cancelled", "executed", "rejected", "executed", "executed", "executed"})

	approvals := rowStrings(t, db, `SELECT p.index, count(*), count(a.revoked_seq),
		count(*) FILTER (WHERE a.member_set_seqno < g.member_set_seqno)
		FROM approval a JOIN proposal p ON p.address = a.proposal JOIN governance g ON g.address = p.governance
		GROUP BY p.index ORDER BY p.index`)
	check("approvals per proposal (given, revoked, stale)", approvals, [][]string{
		{"0", "4", "1", "4"}, {"1", "2", "0", "2"}, {"3", "1", "0", "1"}, {"4", "3", "0", "3"},
		{"5", "4", "0", "3"}, {"6", "3", "0", "3"}, {"8", "3", "0", "0"}, {"9", "3", "0", "0"}, {"10", "3", "0", "0"},
	})
	revoked := rowStrings(t, db, `SELECT member, revoked_signature FROM approval WHERE revoked_seq IS NOT NULL`)
	check("revoked approval", revoked, [][]string{{"9hSR6S7WPtxmTojgo6GG3k4yDPecgJY292j7xrsUGWBu",
		signatureOf(t, upgrademanager.EventNameApprovalRevoked)}})

	changes := rowStrings(t, db, `SELECT proposal, governance, change::text, member_set_seqno, slot FROM config_change ORDER BY proposal`)
	check("config changes", changes, [][]string{{"Bti4JGhZPGSswvBJuHPjexojgRUb9JWyVEJ37evHaHVH", Governance,
		`{"AddMember": {"member": "AKkzLhjhyFtM9j7WAhbaqYpFe49cXeJBg2kzLRC2PnNa"}}`, "1", "18"},
		{"GDNfDxSAZjLHSFCDdUB2NfDZarC6dD3y4iGmAAJwEz9P", Governance,
			`{"RevokeRelease": {"hash": "` + HashV2 + `", "program": "` + ManagedProgram + `"}}`, "1", "18"}})

	job := rowStrings(t, db, `SELECT address, proposal, program, from_version, to_version, version_offset,
		data_size, coalesce(discriminator, '-'), migrate_ix_data, total_accounts, migrated_count, batch_count,
		status, completed_slot IS NOT NULL FROM migration_job WHERE address = $1`, MigrationJob)
	check("migration job", job, [][]string{{MigrationJob, "D8pNmWiJgercfUoNpkYCLJMzXiSytGQNmDtswiTgBRER",
		"PerpMarket111111111111111111111111111111111", "1", "2", "8", "59", "aabc8fe47a40f7d0",
		"0f843b32c706fb2e", "210", "210", "11", "completed", "true"}})

	assertLifecycle(t, db)

	// A row's last_seq is the highest seq of the events folded into it.
	var maxSeq, lastSeq int64
	if err := db.QueryRow(ctx, `SELECT (SELECT max(seq) FROM chain_event WHERE data->>'job' = $1),
		(SELECT last_seq FROM migration_job WHERE address = $1)`, MigrationJob).Scan(&maxSeq, &lastSeq); err != nil {
		t.Fatal(err)
	}
	if lastSeq != maxSeq {
		t.Errorf("migration_job.last_seq = %d, want the seq of its newest event %d", lastSeq, maxSeq)
	}
}

// signatureOf returns the signature of the scenario's transaction that emitted the event name:
// signatures change whenever the vectors are written again (each takes a fresh blockhash).
func signatureOf(t testing.TB, name string) string {
	t.Helper()
	f, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range f.Transactions {
		for _, e := range tx.Expected {
			if e.Name == name {
				return tx.Signature
			}
		}
	}
	t.Fatalf("the scenario emits no %s", name)
	return ""
}

// rowStrings runs sql and returns every row with its columns as text.
func rowStrings(t testing.TB, db Querier, sql string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// ProjectionTables are the tables of migration 00002.
var ProjectionTables = []string{
	"governance", "governance_member", "managed_program", "program_release", "proposal",
	"approval", "config_change", "rollback", "migration_job",
	"account_closure", "release_revocation", "program_hand_over", // 00013
}

// DumpProjections returns every row of every projection table as JSON,
// sorted. withoutSeqs leaves out the columns that hold chain_event seqs, to
// compare databases whose logs were filled in different orders.
func DumpProjections(t testing.TB, db Querier, withoutSeqs bool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	drop := ""
	if withoutSeqs {
		drop = " - 'last_seq' - 'seq' - 'revoked_seq' - 'voting_period_seq' - 'rent_collector_seq'"
	}
	for _, table := range ProjectionTables {
		rows := rowStrings(t, db, `SELECT (to_jsonb(x)`+drop+`)::text FROM `+table+` x`)
		list := flatten(rows)
		slices.Sort(list)
		out[table] = list
	}
	return out
}

// EqualDumps reports whether two dumps hold the same rows.
func EqualDumps(a, b map[string][]string) bool {
	for _, table := range ProjectionTables {
		if !slices.Equal(a[table], b[table]) {
			return false
		}
	}
	return true
}

// DiffDumps describes the rows in which two dumps differ.
func DiffDumps(got, want map[string][]string) string {
	var sb strings.Builder
	for _, table := range ProjectionTables {
		for _, r := range got[table] {
			if !slices.Contains(want[table], r) {
				fmt.Fprintf(&sb, "%s: unexpected %s\n", table, r)
			}
		}
		for _, r := range want[table] {
			if !slices.Contains(got[table], r) {
				fmt.Fprintf(&sb, "%s: missing %s\n", table, r)
			}
		}
	}
	return sb.String()
}
