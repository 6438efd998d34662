package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

const governanceColumns = `address, create_key, threshold, rollback_threshold, timelock_seconds,
	rollback_timelock_seconds, grace_period_seconds, spill, member_set_seqno, created_at,
	created_slot, created_signature, updated_at, updated_slot`

func scanGovernance(row pgx.Row) (*Governance, error) {
	var g Governance
	err := row.Scan(&g.Address, &g.CreateKey, &g.Threshold, &g.RollbackThreshold, &g.TimelockSeconds,
		&g.RollbackTimelockSeconds, &g.GracePeriodSeconds, &g.Spill, &g.MemberSetSeqno, &g.CreatedAt,
		&g.CreatedSlot, &g.CreatedSignature, &g.UpdatedAt, &g.UpdatedSlot)
	return &g, err
}

// GovernancesByAddress returns the governances at addresses, by address.
func (s *Store) GovernancesByAddress(ctx context.Context, addresses []string) (map[string]*Governance, error) {
	rows, err := collect(ctx, s.db, "governances", scanGovernance,
		`SELECT `+governanceColumns+` FROM governance WHERE address = ANY($1)`, addresses)
	return byKey(rows, func(g *Governance) string { return g.Address }), err
}

// ListGovernances returns a page of governances ordered by address, and
// whether more lie beyond it.
func (s *Store) ListGovernances(ctx context.Context, p Page[string]) ([]*Governance, bool, error) {
	var w where
	dir := keyset(&w, "address", false, p, func(k *string) []any { return []any{*k} })
	rows, err := collect(ctx, s.db, "governances", scanGovernance,
		`SELECT `+governanceColumns+` FROM governance`+w.sql()+orderBy(dir, "address")+` LIMIT `+w.arg(p.Limit+1),
		w.args...)
	if err != nil {
		return nil, false, err
	}
	rows, more := page(rows, p.Limit, p.Backward)
	return rows, more, nil
}

// CountGovernances returns the number of governances.
func (s *Store) CountGovernances(ctx context.Context) (int, error) {
	return s.count(ctx, "governances", `SELECT count(*) FROM governance`)
}

// MembersByGovernance returns the members of each governance in position
// order, by governance address.
func (s *Store) MembersByGovernance(ctx context.Context, governances []string) (map[string][]*Member, error) {
	rows, err := collect(ctx, s.db, "members", func(row pgx.Row) (*Member, error) {
		var m Member
		err := row.Scan(&m.Governance, &m.Address, &m.Position)
		return &m, err
	}, `SELECT governance, member, position FROM governance_member
		WHERE governance = ANY($1) ORDER BY governance, position`, governances)
	return groupBy(rows, func(m *Member) string { return m.Governance }), err
}
