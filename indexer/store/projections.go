package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// projectionTables are the tables Rebuild empties, children first.
var projectionTables = []string{
	"governance_member", "governance", "managed_program", "program_release",
	"proposal", "approval", "config_change", "rollback", "migration_job",
	"account_closure", "release_revocation", "program_hand_over", // lifecycle.go
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
		switch f := e.Event.(type) {
		case *um.GovernanceInitialized:
			k.governances[b58(f.Governance)] = true
		case *um.ConfigChanged:
			k.governances[b58(f.Governance)] = true
			switch f.Change.Kind {
			case um.ConfigChangeKindExtendMigration:
				k.jobs[b58(f.Change.ExtendMigration.Job)] = true
			case um.ConfigChangeKindCancelMigration:
				k.jobs[b58(f.Change.CancelMigration.Job)] = true
			}
		case *um.ProgramRegistered:
			k.programs[b58(f.Program)] = true
		case *um.ProgramUpgraded:
			k.programs[b58(f.Program)] = true
		case *um.ProposalCreated:
			k.proposals[b58(f.Proposal)] = true
		case *um.ProposalApproved:
			k.proposals[b58(f.Proposal)] = true
		case *um.ApprovalRevoked:
			k.proposals[b58(f.Proposal)] = true
			k.revocations[memberKey{b58(f.Proposal), b58(f.Member)}] = true
		case *um.RejectVoted:
			k.proposals[b58(f.Proposal)] = true
		case *um.CancelVoted:
			k.proposals[b58(f.Proposal)] = true
		case *um.ProposalCancelled:
			k.proposals[b58(f.Proposal)] = true
			// Its member set decides whether the cancel reset stale approvals.
			k.governances[b58(f.Governance)] = true
		case *um.ProposalExpired:
			k.proposals[b58(f.Proposal)] = true
		case *um.ProgramExtended:
			k.proposals[b58(f.Proposal)] = true
		case *um.ProposalExecuted:
			k.proposals[b58(f.Proposal)] = true
		case *um.MigrationStarted:
			k.jobs[b58(f.Job)] = true
		case *um.MigrationBatchProcessed:
			k.jobs[b58(f.Job)] = true
		case *um.MigrationCompleted:
			k.jobs[b58(f.Job)] = true
		}
	}
	return k
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// projectIncrementally folds events, which are newer than everything
// applied, into the projection rows they touch: it loads those rows (the
// writer lock keeps them unchanged meanwhile), folds, and writes back what
// changed.
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
	if err := projectLifecycle(ctx, tx, events); err != nil {
		return 0, err
	}
	return p.orphans, nil
}

// table describes a projection table for set-based writes: its columns
// with their SQL types (in the order of the row types' values), and what an
// upsert does on conflict.
type table struct {
	name    string
	columns []string
	types   []string
	// onConflict follows ON CONFLICT in the upsert.
	onConflict string
}

// newTable parses def, "name type, name type, ...".
func newTable(name, def, onConflict string) table {
	t := table{name: name, onConflict: onConflict}
	for _, col := range strings.Split(def, ",") {
		f := strings.Fields(col)
		t.columns = append(t.columns, f[0])
		t.types = append(t.types, f[1])
	}
	return t
}

// list returns the column list for SELECT and INSERT.
func (t table) list() string { return strings.Join(t.columns, ", ") }

// upsert returns the statement writing rows given as one array per column.
func (t table) upsert() string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) SELECT * FROM unnest(", t.name, t.list())
	for i, typ := range t.types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d::%s[]", i+1, typ)
	}
	b.WriteString(") ON CONFLICT ")
	b.WriteString(t.onConflict)
	return b.String()
}

// Upserts keep a row's newest state: a write carrying an older last_seq than
// the row has changes nothing.
var (
	governanceTable = newTable("governance", `address text, create_key text, threshold smallint,
		rollback_threshold smallint, timelock_seconds bigint, rollback_timelock_seconds bigint,
		grace_period_seconds bigint, spill text, member_set_seqno bigint, created_at timestamptz,
		created_slot bigint, created_signature text, updated_at timestamptz, updated_slot bigint,
		last_seq bigint`, `(address) DO UPDATE SET
			threshold = excluded.threshold, rollback_threshold = excluded.rollback_threshold,
			timelock_seconds = excluded.timelock_seconds,
			rollback_timelock_seconds = excluded.rollback_timelock_seconds,
			grace_period_seconds = excluded.grace_period_seconds, spill = excluded.spill,
			member_set_seqno = excluded.member_set_seqno, updated_at = excluded.updated_at,
			updated_slot = excluded.updated_slot, last_seq = excluded.last_seq
		WHERE governance.last_seq < excluded.last_seq`)
	memberTable         = newTable("governance_member", `governance text, member text, position smallint`, `DO NOTHING`)
	managedProgramTable = newTable("managed_program", `program text, governance text, address text,
		programdata text, upgrade_authority text, current_hash text, last_deploy_slot bigint,
		release_count bigint, registered_by text, registered_at timestamptz, registered_slot bigint,
		registered_signature text, last_seq bigint`, `(program) DO UPDATE SET
			current_hash = excluded.current_hash, last_deploy_slot = excluded.last_deploy_slot,
			release_count = excluded.release_count, last_seq = excluded.last_seq
		WHERE managed_program.last_seq < excluded.last_seq`)
	proposalTable = newTable("proposal", `address text, governance text, index bigint, kind text,
		program text, buffer text, buffer_hash text, buffer_elf_len bigint, extend_bytes_needed bigint,
		config_change jsonb, migration jsonb, metadata_uri text, metadata_uri_bytes bytea,
		build_hash text, proposer text, status text, approvals smallint, threshold smallint, cancel_votes smallint,
		member_set_seqno bigint, eta timestamptz, created_at timestamptz, created_slot bigint,
		created_signature text, approved_at timestamptz, approved_slot bigint, executed_at timestamptz,
		executed_slot bigint, executed_signature text, executor text, closed_at timestamptz,
		closed_signature text, updated_at timestamptz, updated_slot bigint, last_seq bigint`,
		`(address) DO UPDATE SET
			extend_bytes_needed = excluded.extend_bytes_needed, status = excluded.status,
			approvals = excluded.approvals, threshold = excluded.threshold,
			cancel_votes = excluded.cancel_votes, member_set_seqno = excluded.member_set_seqno,
			eta = excluded.eta, approved_at = excluded.approved_at,
			approved_slot = excluded.approved_slot, executed_at = excluded.executed_at,
			executed_slot = excluded.executed_slot, executed_signature = excluded.executed_signature,
			executor = excluded.executor, closed_at = excluded.closed_at,
			closed_signature = excluded.closed_signature, updated_at = excluded.updated_at,
			updated_slot = excluded.updated_slot, last_seq = excluded.last_seq
		WHERE proposal.last_seq < excluded.last_seq`)
	approvalTable = newTable("approval", `proposal text, member text, member_set_seqno bigint,
		approved_at timestamptz, slot bigint, signature text, seq bigint, revoked_at timestamptz,
		revoked_signature text, revoked_seq bigint`, `(proposal, member, seq) DO UPDATE SET
			revoked_at = excluded.revoked_at, revoked_signature = excluded.revoked_signature,
			revoked_seq = excluded.revoked_seq
		WHERE approval.revoked_seq IS NULL`)
	migrationJobTable = newTable("migration_job", `address text, governance text, proposal text,
		program text, from_version smallint, to_version smallint, version_offset integer,
		data_size bigint, discriminator text, migrate_ix_data text, total_accounts bigint,
		migrated_count bigint, batch_count bigint, status text, started_at timestamptz,
		started_slot bigint, completed_at timestamptz, completed_slot bigint, updated_at timestamptz,
		last_seq bigint`, `(address) DO UPDATE SET
			total_accounts = excluded.total_accounts,
			migrated_count = excluded.migrated_count, batch_count = excluded.batch_count,
			status = excluded.status, completed_at = excluded.completed_at,
			completed_slot = excluded.completed_slot, updated_at = excluded.updated_at,
			last_seq = excluded.last_seq
		WHERE migration_job.last_seq < excluded.last_seq`)
	programReleaseTable = newTable("program_release", `program text, release_number bigint, hash text,
		previous_hash text, rollback boolean, proposal text, deploy_slot bigint,
		deployed_at timestamptz, signature text, seq bigint`, `DO NOTHING`)
	configChangeTable = newTable("config_change", `proposal text, governance text, change jsonb,
		member_set_seqno bigint, executed_at timestamptz, slot bigint, signature text, seq bigint`, `DO NOTHING`)
	rollbackTable = newTable("rollback", `proposal text, program text, from_hash text, to_hash text,
		executed_at timestamptz, slot bigint, signature text, seq bigint`, `DO NOTHING`)
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
		p.MetadataURIBytes, p.BuildHash, p.Proposer, p.Status, p.Approvals, p.Threshold, p.CancelVotes, p.MemberSetSeqno,
		p.Eta, p.CreatedAt, p.CreatedSlot, p.CreatedSignature, p.ApprovedAt, p.ApprovedSlot,
		p.ExecutedAt, p.ExecutedSlot, p.ExecutedSignature, p.Executor, p.ClosedAt,
		p.ClosedSignature, p.UpdatedAt, p.UpdatedSlot, p.LastSeq}
}

func (p *proposalRow) scan(r pgx.Row) error {
	var configChange, migration []byte
	err := r.Scan(&p.Address, &p.Governance, &p.Index, &p.Kind, &p.Program, &p.Buffer, &p.BufferHash,
		&p.BufferElfLen, &p.ExtendBytesNeeded, &configChange, &migration, &p.MetadataURI,
		&p.MetadataURIBytes, &p.BuildHash, &p.Proposer, &p.Status, &p.Approvals, &p.Threshold, &p.CancelVotes, &p.MemberSetSeqno,
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

// loadProjection reads the rows k names.
func loadProjection(ctx context.Context, tx pgx.Tx, k keys) (*projection, error) {
	p := newProjection()
	if len(k.governances) > 0 {
		addrs := sortedKeys(k.governances)
		err := scanEach(ctx, tx, `SELECT `+governanceTable.list()+` FROM governance WHERE address = ANY($1)
			ORDER BY address`, []any{addrs}, func(r pgx.Rows) error {
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
		err := scanEach(ctx, tx, `SELECT `+managedProgramTable.list()+` FROM managed_program
			WHERE program = ANY($1) ORDER BY program`, []any{sortedKeys(k.programs)}, func(r pgx.Rows) error {
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
		err := scanEach(ctx, tx, `SELECT `+proposalTable.list()+` FROM proposal
			WHERE address = ANY($1) ORDER BY address`, []any{sortedKeys(k.proposals)}, func(r pgx.Rows) error {
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
		err := scanEach(ctx, tx, `SELECT `+migrationJobTable.list()+` FROM migration_job
			WHERE address = ANY($1) ORDER BY address`, []any{sortedKeys(k.jobs)}, func(r pgx.Rows) error {
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
		// LATERAL: one primary-key probe per pair, whatever the statistics.
		err := scanEach(ctx, tx, `SELECT a.* FROM unnest($1::text[], $2::text[]) AS k(proposal, member)
			CROSS JOIN LATERAL (SELECT `+approvalTable.list()+` FROM approval
				WHERE proposal = k.proposal AND member = k.member AND revoked_seq IS NULL) a
			ORDER BY a.seq`, []any{props, members}, func(r pgx.Rows) error {
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

// tableRows are the rows to write to one table.
type tableRows struct {
	table table
	rows  [][]any
}

// rowsOf returns p's rows by table, in write order (parents first); all
// rows when all is set (rebuilds), else those the fold changed.
func rowsOf(p *projection, all bool) (tables []tableRows, membersOf []string) {
	var govs, members, progs, props, approvals, jobs, releases, changes, rollbacks [][]any
	for _, addr := range slices.Sorted(maps.Keys(p.governances)) {
		g := p.governances[addr]
		if all || g.dirty {
			govs = append(govs, g.values())
		}
		if all || g.MembersDirty {
			membersOf = append(membersOf, g.Address)
			for i, m := range g.Members {
				members = append(members, []any{g.Address, m, int16(i)})
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.programs)) {
		if m := p.programs[k]; all || m.dirty {
			progs = append(progs, m.values())
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.proposals)) {
		if r := p.proposals[k]; all || r.dirty {
			props = append(props, r.values())
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(p.approvals), func(a, b memberKey) int {
		return cmp.Or(cmp.Compare(a.proposal, b.proposal), cmp.Compare(a.member, b.member))
	}) {
		for _, a := range p.approvals[k] {
			if all || a.dirty {
				approvals = append(approvals, a.values())
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.jobs)) {
		if j := p.jobs[k]; all || j.dirty {
			jobs = append(jobs, j.values())
		}
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
	return []tableRows{
		{governanceTable, govs}, {memberTable, members}, {managedProgramTable, progs},
		{programReleaseTable, releases}, {proposalTable, props}, {approvalTable, approvals},
		{configChangeTable, changes}, {rollbackTable, rollbacks}, {migrationJobTable, jobs},
	}, membersOf
}

// columns transposes rows into one slice per column, for unnest.
func columns(rows [][]any) []any {
	if len(rows) == 0 {
		return nil
	}
	cols := make([]any, len(rows[0]))
	for c := range cols {
		col := make([]any, len(rows))
		for r, row := range rows {
			col[r] = row[c]
		}
		cols[c] = col
	}
	return cols
}

// writeProjection writes the rows the fold changed: one set-based upsert
// per table, all in one round trip.
func writeProjection(ctx context.Context, tx pgx.Tx, p *projection) error {
	tables, membersOf := rowsOf(p, false)
	b := &pgx.Batch{}
	for _, t := range tables {
		if t.table.name == memberTable.name && len(membersOf) > 0 {
			// A member list is replaced whole.
			b.Queue(`DELETE FROM governance_member WHERE governance = ANY($1)`, membersOf)
		}
		if len(t.rows) > 0 {
			b.Queue(t.table.upsert(), columns(t.rows)...)
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
	tables, _ := rowsOf(p, true)
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table.name}, t.table.columns, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", t.table.name, err)
		}
	}
	return nil
}
