package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

const programColumns = `program, address, governance, programdata, upgrade_authority, current_hash,
	last_deploy_slot, release_count, registered_by, registered_at, registered_slot, registered_signature`

func scanProgram(row pgx.Row) (*ManagedProgram, error) {
	var p ManagedProgram
	err := row.Scan(&p.Program, &p.Address, &p.GovernanceAddress, &p.ProgramData, &p.UpgradeAuthority,
		&p.CurrentHash, &p.LastDeploySlot, &p.ReleaseCount, &p.RegisteredBy, &p.RegisteredAt,
		&p.RegisteredSlot, &p.RegisteredSignature)
	return &p, err
}

// ProgramsByID returns the managed programs with the given program ids, by
// program id.
func (s *Store) ProgramsByID(ctx context.Context, programs []string) (map[string]*ManagedProgram, error) {
	rows, err := collect(ctx, s.db, "managed programs", scanProgram,
		`SELECT `+programColumns+` FROM managed_program WHERE program = ANY($1)`, programs)
	return byKey(rows, func(p *ManagedProgram) string { return p.Program }), err
}

// ProgramsByGovernance returns each governance's managed programs ordered by
// program id, by governance address.
func (s *Store) ProgramsByGovernance(ctx context.Context, governances []string) (map[string][]*ManagedProgram, error) {
	rows, err := collect(ctx, s.db, "managed programs", scanProgram,
		`SELECT `+programColumns+` FROM managed_program WHERE governance = ANY($1) ORDER BY program`, governances)
	return groupBy(rows, func(p *ManagedProgram) string { return p.GovernanceAddress }), err
}

// ListPrograms returns a page of managed programs ordered by program id,
// of one governance unless governance is nil, and whether more lie beyond.
func (s *Store) ListPrograms(ctx context.Context, governance *string, p Page[string]) ([]*ManagedProgram, bool, error) {
	var w where
	if governance != nil {
		w.add("governance = %s", *governance)
	}
	dir := keyset(&w, "program", false, p, func(k *string) []any { return []any{*k} })
	rows, err := collect(ctx, s.db, "managed programs", scanProgram,
		`SELECT `+programColumns+` FROM managed_program`+w.sql()+orderBy(dir, "program")+` LIMIT `+w.arg(p.Limit+1),
		w.args...)
	if err != nil {
		return nil, false, err
	}
	rows, more := page(rows, p.Limit, p.Backward)
	return rows, more, nil
}

// CountPrograms returns the number of managed programs, of one governance
// unless governance is nil.
func (s *Store) CountPrograms(ctx context.Context, governance *string) (int, error) {
	var w where
	if governance != nil {
		w.add("governance = %s", *governance)
	}
	return s.count(ctx, "managed programs", `SELECT count(*) FROM managed_program`+w.sql(), w.args...)
}

const releaseColumns = `r.program, r.release_number, r.hash, r.previous_hash, r.rollback, r.proposal,
	r.deploy_slot, r.deployed_at, r.signature`

func scanRelease(row pgx.Row) (*Release, error) {
	var r Release
	err := row.Scan(&r.Program, &r.Number, &r.Hash, &r.PreviousHash, &r.Rollback, &r.ProposalAddress,
		&r.DeploySlot, &r.DeployedAt, &r.Signature)
	return &r, err
}

// ReleasesByProgram returns each program's releases, newest first, at most
// limit per program, by program id.
func (s *Store) ReleasesByProgram(ctx context.Context, programs []string, limit int) (map[string][]*Release, error) {
	rows, err := collect(ctx, s.db, "releases", scanRelease, `SELECT `+releaseColumns+`
		FROM unnest($1::text[]) AS k(program)
		CROSS JOIN LATERAL (
			SELECT * FROM program_release WHERE program = k.program
			ORDER BY release_number DESC LIMIT $2
		) r`, programs, limit)
	return groupBy(rows, func(r *Release) string { return r.Program }), err
}

// Release returns release number of program; nil when there is none.
func (s *Store) Release(ctx context.Context, program string, number int64) (*Release, error) {
	rows, err := collect(ctx, s.db, "releases", scanRelease, `SELECT `+releaseColumns+`
		FROM program_release r WHERE r.program = $1 AND r.release_number = $2`, program, number)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}
