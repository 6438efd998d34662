package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

const migrationColumns = `address, governance, proposal, program, from_version, to_version, version_offset,
	data_size, discriminator, migrate_ix_data, total_accounts, migrated_count, batch_count, status,
	started_at, started_slot, completed_at, completed_slot, updated_at`

func scanMigration(row pgx.Row) (*Migration, error) {
	var m Migration
	err := row.Scan(&m.Address, &m.GovernanceAddress, &m.ProposalAddress, &m.ProgramID, &m.FromVersion,
		&m.ToVersion, &m.VersionOffset, &m.DataSize, &m.Discriminator, &m.MigrateInstructionData,
		&m.TotalAccounts, &m.MigratedCount, &m.BatchCount, &m.Status, &m.StartedAt, &m.StartedSlot,
		&m.CompletedAt, &m.CompletedSlot, &m.UpdatedAt)
	return &m, err
}

// MigrationFilter selects migration jobs; every set field must match.
type MigrationFilter struct {
	Governance *string
	Program    *string
	// Status is active or completed.
	Status *string
}

func (f MigrationFilter) apply(w *where) {
	if f.Governance != nil {
		w.add("governance = %s", *f.Governance)
	}
	if f.Program != nil {
		w.add("program = %s", *f.Program)
	}
	if f.Status != nil {
		w.add("status = %s", *f.Status)
	}
}

// MigrationKey is the position of a job in the list: newest start first,
// then address.
type MigrationKey struct {
	StartedAt time.Time
	Address   string
}

// ListMigrations returns a page of the jobs that match f, newest first, and
// whether more lie beyond it.
func (s *Store) ListMigrations(ctx context.Context, f MigrationFilter, p Page[MigrationKey]) ([]*Migration, bool, error) {
	var w where
	f.apply(&w)
	dir := keyset(&w, "(started_at, address)", true, p, func(k *MigrationKey) []any {
		return []any{k.StartedAt, k.Address}
	})
	rows, err := collect(ctx, s.db, "migrations", scanMigration,
		`SELECT `+migrationColumns+` FROM migration_job`+w.sql()+orderBy(dir, "started_at", "address")+
			` LIMIT `+w.arg(p.Limit+1), w.args...)
	if err != nil {
		return nil, false, err
	}
	rows, more := page(rows, p.Limit, p.Backward)
	return rows, more, nil
}

// CountMigrations returns how many jobs match f.
func (s *Store) CountMigrations(ctx context.Context, f MigrationFilter) (int, error) {
	var w where
	f.apply(&w)
	return s.count(ctx, "migrations", `SELECT count(*) FROM migration_job`+w.sql(), w.args...)
}

// MigrationsByAddress returns the jobs at addresses, by address.
func (s *Store) MigrationsByAddress(ctx context.Context, addresses []string) (map[string]*Migration, error) {
	rows, err := collect(ctx, s.db, "migrations", scanMigration,
		`SELECT `+migrationColumns+` FROM migration_job WHERE address = ANY($1)`, addresses)
	return byKey(rows, func(m *Migration) string { return m.Address }), err
}

// MigrationsByProposal returns the jobs created by proposals, by proposal
// address.
func (s *Store) MigrationsByProposal(ctx context.Context, proposals []string) (map[string]*Migration, error) {
	rows, err := collect(ctx, s.db, "migrations", scanMigration,
		`SELECT `+migrationColumns+` FROM migration_job WHERE proposal = ANY($1)`, proposals)
	return byKey(rows, func(m *Migration) string { return m.ProposalAddress }), err
}
