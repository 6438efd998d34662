package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DueProposal is an approved proposal of the current member set, as the cranks read it: a
// candidate for execution once the chain's clock passes its eta. Keys are base58; Program and
// Buffer are empty when the proposal has none.
type DueProposal struct {
	Address    string
	Kind       string
	Governance string
	Program    string
	Buffer     string
	// Spill is the governance's spill account, which receives a buffer's lamports back.
	Spill string
}

// ApprovedProposals returns the approved proposals whose governance's member set has not changed
// since, earliest eta first. The read model may lag the chain: the caller checks each one on
// chain before acting.
func (s *Store) ApprovedProposals(ctx context.Context) ([]*DueProposal, error) {
	return collect(ctx, s.db, "approved proposals", func(row pgx.Row) (*DueProposal, error) {
		var p DueProposal
		err := row.Scan(&p.Address, &p.Kind, &p.Governance, &p.Program, &p.Buffer, &p.Spill)
		return &p, err
	}, `
		SELECT p.address, p.kind, p.governance, coalesce(p.program, ''), coalesce(p.buffer, ''), g.spill
		FROM proposal p JOIN governance g ON g.address = p.governance
		WHERE p.status = 'approved' AND p.member_set_seqno = g.member_set_seqno
		ORDER BY p.eta, p.address`)
}

// ActiveMigrationJobs returns the addresses of the migration jobs the read model has as active,
// oldest start first.
func (s *Store) ActiveMigrationJobs(ctx context.Context) ([]string, error) {
	rows, err := collect(ctx, s.db, "active migration jobs", func(row pgx.Row) (*string, error) {
		var a string
		err := row.Scan(&a)
		return &a, err
	}, `SELECT address FROM migration_job WHERE status = 'active' ORDER BY started_at, address`)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out, nil
}

// ClosableAccount is an ended proposal or a completed or cancelled migration job whose account
// the read model has not seen closed: a candidate for the close crank. Keys are base58.
type ClosableAccount struct {
	// Kind is "proposal" or "migration_job", as account_closure records it.
	Kind    string
	Address string
	// Proposal is the proposal the account belongs to: Address itself for a proposal, the
	// migration proposal for a job.
	Proposal string
	Status   string
}

// ClosableAccounts returns the executed, cancelled, rejected or expired proposals and the
// completed or cancelled migration jobs that account_closure does not hold and that were last
// updated (ended, by the chain's clock) at or before endedBefore: jobs first, then
// proposals, oldest first (a job is closed by its proposal's address, which stays valid after
// the proposal's account is gone). The read model may lag the chain: the caller checks each on
// chain before acting.
func (s *Store) ClosableAccounts(ctx context.Context, endedBefore time.Time) ([]*ClosableAccount, error) {
	return collect(ctx, s.db, "closable accounts", func(row pgx.Row) (*ClosableAccount, error) {
		var a ClosableAccount
		err := row.Scan(&a.Kind, &a.Address, &a.Proposal, &a.Status)
		return &a, err
	}, `
		SELECT kind, address, proposal, status FROM (
			SELECT 'migration_job' AS kind, j.address, j.proposal, j.status, 0 AS pass, j.updated_at AS at
			FROM migration_job j
			WHERE j.status IN ('completed', 'cancelled') AND j.updated_at <= $1
			  AND NOT EXISTS (SELECT 1 FROM account_closure c WHERE c.address = j.address)
			UNION ALL
			SELECT 'proposal', p.address, p.address, p.status, 1, p.updated_at
			FROM proposal p
			WHERE p.status IN ('executed', 'cancelled', 'rejected', 'expired') AND p.updated_at <= $1
			  AND NOT EXISTS (SELECT 1 FROM account_closure c WHERE c.address = p.address)
		) t
		ORDER BY pass, at, address`, endedBefore)
}
