package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// projectionTables are the tables Rebuild empties, children first.
var projectionTables = []string{
	"governance_member", "governance", "managed_program", "program_release",
	"proposal", "approval", "config_change", "rollback", "migration_job",
}

// keys are the rows a run of events touches, to load before folding.
type keys struct {
	governances map[string]bool
	programs    map[string]bool
	proposals   map[string]bool
	jobs        map[string]bool
	revocations map[memberKey]bool
}

func keysOf(events []loggedEvent) keys {
	k := keys{
		governances: map[string]bool{}, programs: map[string]bool{},
		proposals: map[string]bool{}, jobs: map[string]bool{}, revocations: map[memberKey]bool{},
	}
	for _, e := range events {
		switch f := e.Fields.(type) {
		case *governanceInitialized:
			k.governances[f.Governance] = true
		case *configChanged:
			k.governances[f.Governance] = true
		case *programRegistered:
			k.programs[f.Program] = true
		case *programUpgraded:
			k.programs[f.Program] = true
		case *proposalCreated:
			k.proposals[f.Proposal] = true
		case *proposalApproved:
			k.proposals[f.Proposal] = true
		case *approvalRevoked:
			k.proposals[f.Proposal] = true
			k.revocations[memberKey{f.Proposal, f.Member}] = true
		case *cancelVoted:
			k.proposals[f.Proposal] = true
		case *proposalCancelled:
			k.proposals[f.Proposal] = true
		case *proposalExpired:
			k.proposals[f.Proposal] = true
		case *programExtended:
			k.proposals[f.Proposal] = true
		case *proposalExecuted:
			k.proposals[f.Proposal] = true
		case *migrationStarted:
			k.jobs[f.Job] = true
		case *migrationBatchProcessed:
			k.jobs[f.Job] = true
		case *migrationCompleted:
			k.jobs[f.Job] = true
		}
	}
	return k
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// projectIncrementally folds events, which are newer than everything
// applied, into the projection rows they touch: it loads those rows (locked),
// folds, and writes back what changed.
func projectIncrementally(ctx context.Context, tx pgx.Tx, events []loggedEvent) (orphans int, err error) {
	if len(events) == 0 {
		return 0, nil
	}
	p, err := loadProjection(ctx, tx, keysOf(events))
	if err != nil {
		return 0, err
	}
	for _, e := range events {
		p.apply(e)
	}
	if err := writeProjection(ctx, tx, p); err != nil {
		return 0, err
	}
	return p.orphans, nil
}

const (
	governanceColumns = `address, create_key, threshold, rollback_threshold, timelock_seconds,
		rollback_timelock_seconds, grace_period_seconds, spill, member_set_seqno, created_at,
		created_slot, created_signature, updated_at, updated_slot, last_seq`
	managedProgramColumns = `program, governance, address, programdata, upgrade_authority,
		current_hash, last_deploy_slot, release_count, registered_by, registered_at,
		registered_slot, registered_signature, last_seq`
	proposalColumns = `address, governance, index, kind, program, buffer, buffer_hash,
		buffer_elf_len, extend_bytes_needed, config_change, migration, metadata_uri, build_hash,
		proposer, status, approvals, threshold, cancel_votes, member_set_seqno, eta, created_at,
		created_slot, created_signature, approved_at, approved_slot, executed_at, executed_slot,
		executed_signature, executor, closed_at, closed_signature, updated_at, updated_slot, last_seq`
	approvalColumns = `proposal, member, member_set_seqno, approved_at, slot, signature, seq,
		revoked_at, revoked_signature, revoked_seq`
	migrationJobColumns = `address, governance, proposal, program, from_version, to_version,
		version_offset, data_size, discriminator, migrate_ix_data, total_accounts, migrated_count,
		batch_count, status, started_at, started_slot, completed_at, completed_slot, updated_at,
		last_seq`
	programReleaseColumns = `program, release_number, hash, previous_hash, rollback, proposal,
		deploy_slot, deployed_at, signature, seq`
	configChangeColumns = `proposal, governance, change, member_set_seqno, executed_at, slot,
		signature, seq`
	rollbackColumns = `proposal, program, from_hash, to_hash, executed_at, slot, signature, seq`
)

func (g *governanceRow) values() []any {
	return []any{g.Address, g.CreateKey, g.Threshold, g.RollbackThreshold, g.TimelockSeconds,
		g.RollbackTimelockSeconds, g.GracePeriodSeconds, g.Spill, g.MemberSetSeqno, g.CreatedAt,
		g.CreatedSlot, g.CreatedSignature, g.UpdatedAt, g.UpdatedSlot, g.LastSeq}
}

func (g *governanceRow) scan(r pgx.Row) error {
	return r.Scan(&g.Address, &g.CreateKey, &g.Threshold, &g.RollbackThreshold, &g.TimelockSeconds,
		&g.RollbackTimelockSeconds, &g.GracePeriodSeconds, &g.Spill, &g.MemberSetSeqno, &g.CreatedAt,
		&g.CreatedSlot, &g.CreatedSignature, &g.UpdatedAt, &g.UpdatedSlot, &g.LastSeq)
}

func (m *managedProgramRow) values() []any {
	return []any{m.Program, m.Governance, m.Address, m.Programdata, m.UpgradeAuthority,
		m.CurrentHash, m.LastDeploySlot, m.ReleaseCount, m.RegisteredBy, m.RegisteredAt,
		m.RegisteredSlot, m.RegisteredSignature, m.LastSeq}
}

func (m *managedProgramRow) scan(r pgx.Row) error {
	return r.Scan(&m.Program, &m.Governance, &m.Address, &m.Programdata, &m.UpgradeAuthority,
		&m.CurrentHash, &m.LastDeploySlot, &m.ReleaseCount, &m.RegisteredBy, &m.RegisteredAt,
		&m.RegisteredSlot, &m.RegisteredSignature, &m.LastSeq)
}

// jsonb passes raw JSON to PostgreSQL as text, NULL when empty.
func jsonb(v []byte) any {
	if v == nil {
		return nil
	}
	return string(v)
}

func (p *proposalRow) values() []any {
	return []any{p.Address, p.Governance, p.Index, p.Kind, p.Program, p.Buffer, p.BufferHash,
		p.BufferElfLen, p.ExtendBytesNeeded, jsonb(p.ConfigChange), jsonb(p.Migration), p.MetadataURI,
		p.BuildHash, p.Proposer, p.Status, p.Approvals, p.Threshold, p.CancelVotes, p.MemberSetSeqno,
		p.Eta, p.CreatedAt, p.CreatedSlot, p.CreatedSignature, p.ApprovedAt, p.ApprovedSlot,
		p.ExecutedAt, p.ExecutedSlot, p.ExecutedSignature, p.Executor, p.ClosedAt,
		p.ClosedSignature, p.UpdatedAt, p.UpdatedSlot, p.LastSeq}
}

func (p *proposalRow) scan(r pgx.Row) error {
	var configChange, migration []byte
	err := r.Scan(&p.Address, &p.Governance, &p.Index, &p.Kind, &p.Program, &p.Buffer, &p.BufferHash,
		&p.BufferElfLen, &p.ExtendBytesNeeded, &configChange, &migration, &p.MetadataURI,
		&p.BuildHash, &p.Proposer, &p.Status, &p.Approvals, &p.Threshold, &p.CancelVotes, &p.MemberSetSeqno,
		&p.Eta, &p.CreatedAt, &p.CreatedSlot, &p.CreatedSignature, &p.ApprovedAt, &p.ApprovedSlot,
		&p.ExecutedAt, &p.ExecutedSlot, &p.ExecutedSignature, &p.Executor, &p.ClosedAt,
		&p.ClosedSignature, &p.UpdatedAt, &p.UpdatedSlot, &p.LastSeq)
	p.ConfigChange, p.Migration = configChange, migration
	return err
}

func (a *approvalRow) values() []any {
	return []any{a.Proposal, a.Member, a.MemberSetSeqno, a.ApprovedAt, a.Slot, a.Signature, a.Seq,
		a.RevokedAt, a.RevokedSignature, a.RevokedSeq}
}

func (a *approvalRow) scan(r pgx.Row) error {
	return r.Scan(&a.Proposal, &a.Member, &a.MemberSetSeqno, &a.ApprovedAt, &a.Slot, &a.Signature, &a.Seq,
		&a.RevokedAt, &a.RevokedSignature, &a.RevokedSeq)
}

func (j *migrationJobRow) values() []any {
	return []any{j.Address, j.Governance, j.Proposal, j.Program, j.FromVersion, j.ToVersion,
		j.VersionOffset, j.DataSize, j.Discriminator, j.MigrateIxData, j.TotalAccounts, j.MigratedCount,
		j.BatchCount, j.Status, j.StartedAt, j.StartedSlot, j.CompletedAt, j.CompletedSlot, j.UpdatedAt,
		j.LastSeq}
}

func (j *migrationJobRow) scan(r pgx.Row) error {
	return r.Scan(&j.Address, &j.Governance, &j.Proposal, &j.Program, &j.FromVersion, &j.ToVersion,
		&j.VersionOffset, &j.DataSize, &j.Discriminator, &j.MigrateIxData, &j.TotalAccounts, &j.MigratedCount,
		&j.BatchCount, &j.Status, &j.StartedAt, &j.StartedSlot, &j.CompletedAt, &j.CompletedSlot, &j.UpdatedAt,
		&j.LastSeq)
}

func (r programReleaseRow) values() []any {
	return []any{r.Program, r.ReleaseNumber, r.Hash, r.PreviousHash, r.Rollback, r.Proposal,
		r.DeploySlot, r.DeployedAt, r.Signature, r.Seq}
}

func (c configChangeRow) values() []any {
	return []any{c.Proposal, c.Governance, jsonb(c.Change), c.MemberSetSeqno, c.ExecutedAt, c.Slot,
		c.Signature, c.Seq}
}

func (r rollbackRow) values() []any {
	return []any{r.Proposal, r.Program, r.FromHash, r.ToHash, r.ExecutedAt, r.Slot, r.Signature, r.Seq}
}

// loadProjection reads, and locks, the rows k names.
func loadProjection(ctx context.Context, tx pgx.Tx, k keys) (*projection, error) {
	p := newProjection()
	if len(k.governances) > 0 {
		addrs := sortedKeys(k.governances)
		err := scanEach(ctx, tx, `SELECT `+governanceColumns+` FROM governance WHERE address = ANY($1)
			ORDER BY address FOR UPDATE`, []any{addrs}, func(r pgx.Rows) error {
			g := new(governanceRow)
			if err := g.scan(r); err != nil {
				return err
			}
			p.governances[g.Address] = g
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load governances: %w", err)
		}
	}
	if len(k.programs) > 0 {
		err := scanEach(ctx, tx, `SELECT `+managedProgramColumns+` FROM managed_program
			WHERE program = ANY($1) ORDER BY program FOR UPDATE`, []any{sortedKeys(k.programs)}, func(r pgx.Rows) error {
			m := new(managedProgramRow)
			if err := m.scan(r); err != nil {
				return err
			}
			p.programs[m.Program] = m
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load managed programs: %w", err)
		}
	}
	if len(k.proposals) > 0 {
		err := scanEach(ctx, tx, `SELECT `+proposalColumns+` FROM proposal
			WHERE address = ANY($1) ORDER BY address FOR UPDATE`, []any{sortedKeys(k.proposals)}, func(r pgx.Rows) error {
			row := new(proposalRow)
			if err := row.scan(r); err != nil {
				return err
			}
			p.proposals[row.Address] = row
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load proposals: %w", err)
		}
	}
	if len(k.jobs) > 0 {
		err := scanEach(ctx, tx, `SELECT `+migrationJobColumns+` FROM migration_job
			WHERE address = ANY($1) ORDER BY address FOR UPDATE`, []any{sortedKeys(k.jobs)}, func(r pgx.Rows) error {
			j := new(migrationJobRow)
			if err := j.scan(r); err != nil {
				return err
			}
			p.jobs[j.Address] = j
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load migration jobs: %w", err)
		}
	}
	if len(k.revocations) > 0 {
		var props, members []string
		for mk := range k.revocations {
			props = append(props, mk.proposal)
			members = append(members, mk.member)
		}
		err := scanEach(ctx, tx, `SELECT `+approvalColumns+` FROM approval
			WHERE revoked_seq IS NULL
			  AND (proposal, member) IN (SELECT * FROM unnest($1::text[], $2::text[]))
			ORDER BY seq FOR UPDATE`, []any{props, members}, func(r pgx.Rows) error {
			a := new(approvalRow)
			if err := a.scan(r); err != nil {
				return err
			}
			key := memberKey{a.Proposal, a.Member}
			p.approvals[key] = append(p.approvals[key], a)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load approvals: %w", err)
		}
	}
	return p, nil
}

func scanEach(ctx context.Context, db DBTX, sql string, args []any, fn func(pgx.Rows) error) error {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Upserts keep a row's newest state: a write carrying an older last_seq than
// the row has changes nothing.
const (
	upsertGovernance = `INSERT INTO governance (` + governanceColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
		ON CONFLICT (address) DO UPDATE SET
			threshold = excluded.threshold, rollback_threshold = excluded.rollback_threshold,
			timelock_seconds = excluded.timelock_seconds,
			rollback_timelock_seconds = excluded.rollback_timelock_seconds,
			grace_period_seconds = excluded.grace_period_seconds, spill = excluded.spill,
			member_set_seqno = excluded.member_set_seqno, updated_at = excluded.updated_at,
			updated_slot = excluded.updated_slot, last_seq = excluded.last_seq
		WHERE governance.last_seq < excluded.last_seq`
	deleteMembers = `DELETE FROM governance_member WHERE governance = $1`
	insertMembers = `INSERT INTO governance_member (governance, member, position)
		SELECT $1, m, (ord - 1)::smallint FROM unnest($2::text[]) WITH ORDINALITY AS t(m, ord)`
	upsertManagedProgram = `INSERT INTO managed_program (` + managedProgramColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
		ON CONFLICT (program) DO UPDATE SET
			current_hash = excluded.current_hash, last_deploy_slot = excluded.last_deploy_slot,
			release_count = excluded.release_count, last_seq = excluded.last_seq
		WHERE managed_program.last_seq < excluded.last_seq`
	upsertProposal = `INSERT INTO proposal (` + proposalColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,
			$24,$25,$26,$27,$28,$29,$30,$31,$32,$33,$34)
		ON CONFLICT (address) DO UPDATE SET
			extend_bytes_needed = excluded.extend_bytes_needed, status = excluded.status,
			approvals = excluded.approvals, threshold = excluded.threshold,
			cancel_votes = excluded.cancel_votes, member_set_seqno = excluded.member_set_seqno,
			eta = excluded.eta, approved_at = excluded.approved_at,
			approved_slot = excluded.approved_slot, executed_at = excluded.executed_at,
			executed_slot = excluded.executed_slot, executed_signature = excluded.executed_signature,
			executor = excluded.executor, closed_at = excluded.closed_at,
			closed_signature = excluded.closed_signature, updated_at = excluded.updated_at,
			updated_slot = excluded.updated_slot, last_seq = excluded.last_seq
		WHERE proposal.last_seq < excluded.last_seq`
	upsertApproval = `INSERT INTO approval (` + approvalColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
		ON CONFLICT (proposal, member, seq) DO UPDATE SET
			revoked_at = excluded.revoked_at, revoked_signature = excluded.revoked_signature,
			revoked_seq = excluded.revoked_seq
		WHERE approval.revoked_seq IS NULL`
	upsertMigrationJob = `INSERT INTO migration_job (` + migrationJobColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)
		ON CONFLICT (address) DO UPDATE SET
			migrated_count = excluded.migrated_count, batch_count = excluded.batch_count,
			status = excluded.status, completed_at = excluded.completed_at,
			completed_slot = excluded.completed_slot, updated_at = excluded.updated_at,
			last_seq = excluded.last_seq
		WHERE migration_job.last_seq < excluded.last_seq`
	insertRelease = `INSERT INTO program_release (` + programReleaseColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING`
	insertConfigChange = `INSERT INTO config_change (` + configChangeColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING`
	insertRollback = `INSERT INTO rollback (` + rollbackColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING`
)

// writeProjection writes the rows the fold changed, in one round trip.
func writeProjection(ctx context.Context, tx pgx.Tx, p *projection) error {
	b := &pgx.Batch{}
	for _, addr := range slices.Sorted(maps.Keys(p.governances)) {
		g := p.governances[addr]
		if g.dirty {
			b.Queue(upsertGovernance, g.values()...)
		}
		if g.MembersDirty {
			b.Queue(deleteMembers, g.Address)
			b.Queue(insertMembers, g.Address, g.Members)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.programs)) {
		if m := p.programs[k]; m.dirty {
			b.Queue(upsertManagedProgram, m.values()...)
		}
	}
	for _, r := range p.releases {
		b.Queue(insertRelease, r.values()...)
	}
	for _, k := range slices.Sorted(maps.Keys(p.proposals)) {
		if r := p.proposals[k]; r.dirty {
			b.Queue(upsertProposal, r.values()...)
		}
	}
	for _, rows := range p.approvals {
		for _, a := range rows {
			if a.dirty {
				b.Queue(upsertApproval, a.values()...)
			}
		}
	}
	for _, c := range p.configChanges {
		b.Queue(insertConfigChange, c.values()...)
	}
	for _, r := range p.rollbacks {
		b.Queue(insertRollback, r.values()...)
	}
	for _, k := range slices.Sorted(maps.Keys(p.jobs)) {
		if j := p.jobs[k]; j.dirty {
			b.Queue(upsertMigrationJob, j.values()...)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write projections: %w", err)
	}
	return nil
}

// copyProjection writes every row of p into emptied tables with COPY, for
// rebuilds.
func copyProjection(ctx context.Context, tx pgx.Tx, p *projection) error {
	var govs, members, progs, props, approvals, jobs, releases, changes, rollbacks [][]any
	for _, addr := range slices.Sorted(maps.Keys(p.governances)) {
		g := p.governances[addr]
		govs = append(govs, g.values())
		for i, m := range g.Members {
			members = append(members, []any{g.Address, m, int16(i)})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.programs)) {
		progs = append(progs, p.programs[k].values())
	}
	for _, k := range slices.Sorted(maps.Keys(p.proposals)) {
		props = append(props, p.proposals[k].values())
	}
	for _, rows := range p.approvals {
		for _, a := range rows {
			approvals = append(approvals, a.values())
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.jobs)) {
		jobs = append(jobs, p.jobs[k].values())
	}
	for _, r := range p.releases {
		releases = append(releases, r.values())
	}
	for _, c := range p.configChanges {
		changes = append(changes, c.values())
	}
	for _, r := range p.rollbacks {
		rollbacks = append(rollbacks, r.values())
	}
	for _, t := range []struct {
		table   string
		columns string
		rows    [][]any
	}{
		{"governance", governanceColumns, govs},
		{"governance_member", "governance, member, position", members},
		{"managed_program", managedProgramColumns, progs},
		{"program_release", programReleaseColumns, releases},
		{"proposal", proposalColumns, props},
		{"approval", approvalColumns, approvals},
		{"config_change", configChangeColumns, changes},
		{"rollback", rollbackColumns, rollbacks},
		{"migration_job", migrationJobColumns, jobs},
	} {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, columnList(t.columns), pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", t.table, err)
		}
	}
	return nil
}

// columnList splits a column list constant into names.
func columnList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}
