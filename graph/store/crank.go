package store

import (
	"context"

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
