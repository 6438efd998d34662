package store

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// The projections as Go rows, one type per table of migration 00002, and the
// fold that applies events to them. The fold is pure: loading rows before it
// and writing them after it is projections.go's job, so the same code serves
// incremental batches and rebuilds from scratch.

type governanceRow struct {
	Address                 string
	CreateKey               string
	Threshold               int16
	RollbackThreshold       int16
	TimelockSeconds         int64
	RollbackTimelockSeconds int64
	GracePeriodSeconds      int64
	Spill                   string
	MemberSetSeqno          int64
	CreatedAt               time.Time
	CreatedSlot             int64
	CreatedSignature        string
	UpdatedAt               time.Time
	UpdatedSlot             int64
	LastSeq                 int64

	// Members is the member list in the program's order; MembersDirty says
	// it must be rewritten.
	Members      []string
	MembersDirty bool
	dirty        bool
}

type managedProgramRow struct {
	Program             string
	Governance          string
	Address             string
	Programdata         string
	UpgradeAuthority    string
	CurrentHash         string
	LastDeploySlot      int64
	ReleaseCount        int64
	RegisteredBy        string
	RegisteredAt        time.Time
	RegisteredSlot      int64
	RegisteredSignature string
	LastSeq             int64
	dirty               bool
}

type programReleaseRow struct {
	Program       string
	ReleaseNumber int64
	Hash          string
	PreviousHash  *string
	Rollback      bool
	Proposal      *string
	DeploySlot    int64
	DeployedAt    time.Time
	Signature     string
	Seq           int64
}

type proposalRow struct {
	Address           string
	Governance        string
	Index             int64
	Kind              string
	Program           *string
	Buffer            *string
	BufferHash        *string
	BufferElfLen      *int64
	ExtendBytesNeeded int64
	ConfigChange      json.RawMessage // nil is SQL NULL
	Migration         json.RawMessage
	MetadataURI       string
	// MetadataURIBytes are the URI's exact bytes when MetadataURI had to
	// escape them (a NUL, invalid UTF-8); nil when MetadataURI is exact.
	MetadataURIBytes  []byte
	BuildHash         string
	Proposer          string
	Status            string
	Approvals         int16
	Threshold         int16
	CancelVotes       int16
	MemberSetSeqno    int64
	Eta               *time.Time
	CreatedAt         time.Time
	CreatedSlot       int64
	CreatedSignature  string
	ApprovedAt        *time.Time
	ApprovedSlot      *int64
	ExecutedAt        *time.Time
	ExecutedSlot      *int64
	ExecutedSignature *string
	Executor          *string
	ClosedAt          *time.Time
	ClosedSignature   *string
	UpdatedAt         time.Time
	UpdatedSlot       int64
	LastSeq           int64
	dirty             bool
}

type approvalRow struct {
	Proposal         string
	Member           string
	MemberSetSeqno   int64
	ApprovedAt       time.Time
	Slot             int64
	Signature        string
	Seq              int64
	RevokedAt        *time.Time
	RevokedSignature *string
	RevokedSeq       *int64
	dirty            bool
}

type configChangeRow struct {
	Proposal       string
	Governance     string
	Change         json.RawMessage
	MemberSetSeqno int64
	ExecutedAt     time.Time
	Slot           int64
	Signature      string
	Seq            int64
}

type rollbackRow struct {
	Proposal   string
	Program    string
	FromHash   string
	ToHash     string
	ExecutedAt time.Time
	Slot       int64
	Signature  string
	Seq        int64
}

type migrationJobRow struct {
	Address       string
	Governance    string
	Proposal      string
	Program       string
	FromVersion   int16
	ToVersion     int16
	VersionOffset int32
	DataSize      int64
	Discriminator *string
	MigrateIxData string
	TotalAccounts int64
	MigratedCount int64
	BatchCount    int64
	Status        string
	StartedAt     time.Time
	StartedSlot   int64
	CompletedAt   *time.Time
	CompletedSlot *int64
	UpdatedAt     time.Time
	LastSeq       int64
	dirty         bool
}

type memberKey struct{ proposal, member string }

// projection is the projected state the fold works on: the rows a batch
// touches (loaded beforehand) or, for a rebuild, everything.
type projection struct {
	governances map[string]*governanceRow
	programs    map[string]*managedProgramRow
	proposals   map[string]*proposalRow
	jobs        map[string]*migrationJobRow
	// approvals holds, per proposal and member, the approval rows not yet
	// revoked that were loaded, plus every row the fold creates or revokes.
	approvals map[memberKey][]*approvalRow
	// Insert-only tables: rows the fold created.
	releases      []programReleaseRow
	configChanges []configChangeRow
	rollbacks     []rollbackRow

	// orphans counts events about rows the projection does not know,
	// which happens when indexing started after they were created.
	orphans int

	// names are the base58 forms of the keys folded so far: a run of
	// events names the same governances, proposals and members again and
	// again, and each form is one allocation.
	names map[solana.PublicKey]string
}

// b58 is k in base58, encoded once per projection.
func (p *projection) b58(k solana.PublicKey) string {
	if s, ok := p.names[k]; ok {
		return s
	}
	if p.names == nil {
		p.names = map[solana.PublicKey]string{}
	}
	s := b58(k)
	p.names[k] = s
	return s
}

func newProjection() *projection {
	return &projection{
		governances: map[string]*governanceRow{},
		programs:    map[string]*managedProgramRow{},
		proposals:   map[string]*proposalRow{},
		jobs:        map[string]*migrationJobRow{},
		approvals:   map[memberKey][]*approvalRow{},
	}
}

// loggedEvent is an event of the log with where it came from.
type loggedEvent struct {
	Seq       int64
	Signature string
	Slot      int64
	Name      string
	// Event is the event decoded; its fields are the fold's input.
	Event um.Event
}

// systemProgram is the all-zero pubkey, which the program uses for "none".
const systemProgram = "11111111111111111111111111111111"

// noneIfDefault maps the program's "none" pubkey to NULL.
func noneIfDefault(key string) *string {
	if key == "" || key == systemProgram {
		return nil
	}
	return &key
}

// kindName maps the IDL's ProposalKind variant to proposal.kind.
func kindName(variant string) string {
	switch variant {
	case "ConfigChange":
		return "config_change"
	default:
		return strings.ToLower(variant)
	}
}

// etaTime maps the program's eta (0 when there is none) to a time.
func etaTime(eta int64) *time.Time {
	if eta == 0 {
		return nil
	}
	t := unixTime(eta)
	return &t
}

// jsonOrNil returns nil for an absent or JSON null value.
func jsonOrNil(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

func ptr[T any](v T) *T { return &v }

// apply folds one event into p. Events must come in canonical order.
func (p *projection) apply(e loggedEvent) {
	switch f := e.Event.(type) {
	case *um.GovernanceInitialized:
		p.applyGovernanceInitialized(f, e)
	case *um.ConfigChanged:
		p.applyConfigChanged(f, e)
	case *um.ProgramRegistered:
		p.applyProgramRegistered(f, e)
	case *um.ProgramUpgraded:
		p.applyProgramUpgraded(f, e)
	case *um.ProposalCreated:
		p.applyProposalCreated(f, e)
	case *um.ProposalApproved:
		p.applyProposalApproved(f, e)
	case *um.ApprovalRevoked:
		p.applyApprovalRevoked(f, e)
	case *um.CancelVoted:
		p.applyCancelVoted(f, e)
	case *um.RejectVoted:
		p.applyRejectVoted(f, e)
	case *um.ProposalCancelled:
		p.applyProposalCancelled(f, e)
	case *um.ProposalExpired:
		p.applyProposalExpired(f, e)
	case *um.ProgramExtended:
		p.applyProgramExtended(f, e)
	case *um.ProposalExecuted:
		p.applyProposalExecuted(f, e)
	case *um.MigrationStarted:
		p.applyMigrationStarted(f, e)
	case *um.MigrationBatchProcessed:
		p.applyMigrationBatchProcessed(f, e)
	case *um.MigrationCompleted:
		p.applyMigrationCompleted(f, e)
	}
}

// applyGovernanceInitialized creates the governance row with its members.
func (p *projection) applyGovernanceInitialized(f *um.GovernanceInitialized, e loggedEvent) {
	at := unixTime(f.Timestamp)
	p.governances[p.b58(f.Governance)] = &governanceRow{
		Address:                 p.b58(f.Governance),
		CreateKey:               p.b58(f.CreateKey),
		Threshold:               int16(f.Threshold),
		RollbackThreshold:       int16(f.RollbackThreshold),
		TimelockSeconds:         int64(f.TimelockSeconds),
		RollbackTimelockSeconds: int64(f.RollbackTimelockSeconds),
		GracePeriodSeconds:      int64(f.GracePeriodSeconds),
		Spill:                   p.b58(f.Spill),
		MemberSetSeqno:          int64(f.MemberSetSeqno),
		CreatedAt:               at,
		CreatedSlot:             e.Slot,
		CreatedSignature:        e.Signature,
		UpdatedAt:               at,
		UpdatedSlot:             e.Slot,
		LastSeq:                 e.Seq,
		Members:                 b58s(f.Members),
		MembersDirty:            true,
		dirty:                   true,
	}
}

// applyConfigChanged records an executed config change and applies it to the governance (and to a migration job it changes).
func (p *projection) applyConfigChanged(f *um.ConfigChanged, e loggedEvent) {
	at := unixTime(f.Timestamp)
	p.configChanges = append(p.configChanges, configChangeRow{
		Proposal:       p.b58(f.Proposal),
		Governance:     p.b58(f.Governance),
		Change:         jsonOf(&f.Change),
		MemberSetSeqno: int64(f.MemberSetSeqno),
		ExecutedAt:     at,
		Slot:           e.Slot,
		Signature:      e.Signature,
		Seq:            e.Seq,
	})
	p.applyJobChange(&f.Change, unixTime(f.Timestamp), e)
	g := p.governances[p.b58(f.Governance)]
	if g == nil {
		p.orphans++
		return
	}
	g.Threshold = int16(f.Threshold)
	g.RollbackThreshold = int16(f.RollbackThreshold)
	g.TimelockSeconds = int64(f.TimelockSeconds)
	g.RollbackTimelockSeconds = int64(f.RollbackTimelockSeconds)
	g.GracePeriodSeconds = int64(f.GracePeriodSeconds)
	g.Spill = p.b58(f.Spill)
	g.MemberSetSeqno = int64(f.MemberSetSeqno)
	g.Members = b58s(f.Members)
	g.MembersDirty = true
	g.touch(at, e)
}

// applyProgramRegistered creates the managed program with its first release.
func (p *projection) applyProgramRegistered(f *um.ProgramRegistered, e loggedEvent) {
	at := unixTime(f.Timestamp)
	p.programs[p.b58(f.Program)] = &managedProgramRow{
		Program:             p.b58(f.Program),
		Governance:          p.b58(f.Governance),
		Address:             p.b58(f.ManagedProgram),
		Programdata:         p.b58(f.Programdata),
		UpgradeAuthority:    p.b58(f.UpgradeAuthority),
		CurrentHash:         hexOf(f.DeployedHash[:]),
		LastDeploySlot:      int64(f.LastDeploySlot),
		ReleaseCount:        1,
		RegisteredBy:        p.b58(f.Actor),
		RegisteredAt:        at,
		RegisteredSlot:      e.Slot,
		RegisteredSignature: e.Signature,
		LastSeq:             e.Seq,
		dirty:               true,
	}
	p.releases = append(p.releases, programReleaseRow{
		Program:       p.b58(f.Program),
		ReleaseNumber: 1,
		Hash:          hexOf(f.DeployedHash[:]),
		DeploySlot:    int64(f.LastDeploySlot),
		DeployedAt:    at,
		Signature:     e.Signature,
		Seq:           e.Seq,
	})
}

// applyProgramUpgraded records a release (and a rollback) and moves the managed program to it.
func (p *projection) applyProgramUpgraded(f *um.ProgramUpgraded, e loggedEvent) {
	at := unixTime(f.Timestamp)
	p.releases = append(p.releases, programReleaseRow{
		Program:       p.b58(f.Program),
		ReleaseNumber: int64(f.ReleaseCount),
		Hash:          hexOf(f.NewHash[:]),
		PreviousHash:  ptr(hexOf(f.PreviousHash[:])),
		Rollback:      f.Rollback,
		Proposal:      ptr(p.b58(f.Proposal)),
		DeploySlot:    int64(f.DeploySlot),
		DeployedAt:    at,
		Signature:     e.Signature,
		Seq:           e.Seq,
	})
	if f.Rollback {
		p.rollbacks = append(p.rollbacks, rollbackRow{
			Proposal:   p.b58(f.Proposal),
			Program:    p.b58(f.Program),
			FromHash:   hexOf(f.PreviousHash[:]),
			ToHash:     hexOf(f.NewHash[:]),
			ExecutedAt: at,
			Slot:       e.Slot,
			Signature:  e.Signature,
			Seq:        e.Seq,
		})
	}
	m := p.programs[p.b58(f.Program)]
	if m == nil {
		p.orphans++
		return
	}
	m.CurrentHash = hexOf(f.NewHash[:])
	m.LastDeploySlot = int64(f.DeploySlot)
	m.ReleaseCount = int64(f.ReleaseCount)
	m.LastSeq = max(m.LastSeq, e.Seq)
	m.dirty = true
}

// applyProposalCreated creates the proposal row.
func (p *projection) applyProposalCreated(f *um.ProposalCreated, e loggedEvent) {
	at := unixTime(f.Timestamp)
	row := &proposalRow{
		Address:           p.b58(f.Proposal),
		Governance:        p.b58(f.Governance),
		Index:             int64(f.Index),
		Kind:              kindName(f.Kind.String()),
		Program:           noneIfDefault(p.b58(f.Program)),
		Buffer:            noneIfDefault(p.b58(f.Buffer)),
		ExtendBytesNeeded: int64(f.ExtendBytesNeeded),
		ConfigChange:      jsonOrNil(jsonOf(f.ConfigChange)),
		Migration:         jsonOrNil(jsonOf(f.Migration)),
		MetadataURI:       DisplayText(storableText(f.MetadataURI)),
		MetadataURIBytes:  exactBytes(storableText(f.MetadataURI)),
		BuildHash:         hexOf(f.BuildHash[:]),
		Proposer:          p.b58(f.Proposer),
		Status:            "active",
		Threshold:         int16(f.Threshold),
		MemberSetSeqno:    int64(f.MemberSetSeqno),
		CreatedAt:         at,
		CreatedSlot:       e.Slot,
		CreatedSignature:  e.Signature,
		UpdatedAt:         at,
		UpdatedSlot:       e.Slot,
		LastSeq:           e.Seq,
		dirty:             true,
	}
	if row.Buffer != nil {
		row.BufferHash = ptr(hexOf(f.BufferHash[:]))
		row.BufferElfLen = ptr(int64(f.BufferElfLen))
	}
	p.proposals[p.b58(f.Proposal)] = row
}

// applyProposalApproved records an approval and the proposal's new vote counts.
func (p *projection) applyProposalApproved(f *um.ProposalApproved, e loggedEvent) {
	at := unixTime(f.Timestamp)
	p.approvals[memberKey{p.b58(f.Proposal), p.b58(f.Member)}] = append(p.approvals[memberKey{p.b58(f.Proposal), p.b58(f.Member)}], &approvalRow{
		Proposal:       p.b58(f.Proposal),
		Member:         p.b58(f.Member),
		MemberSetSeqno: int64(f.MemberSetSeqno),
		ApprovedAt:     at,
		Slot:           e.Slot,
		Signature:      e.Signature,
		Seq:            e.Seq,
		dirty:          true,
	})
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	if f.StaleReset {
		// The program dropped the approvals and cancel votes given
		// under the older member set before counting this one.
		r.CancelVotes = 0
		r.ApprovedAt, r.ApprovedSlot = nil, nil
	}
	r.setVotes(int16(f.Approvals), int16(f.Threshold), f.Status.String(), f.Eta, int64(f.MemberSetSeqno), at, e)
}

// applyApprovalRevoked marks the member's newest approval revoked and records the new vote counts.
func (p *projection) applyApprovalRevoked(f *um.ApprovalRevoked, e loggedEvent) {
	at := unixTime(f.Timestamp)
	rows := p.approvals[memberKey{p.b58(f.Proposal), p.b58(f.Member)}]
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].RevokedSeq == nil {
			rows[i].RevokedAt = &at
			rows[i].RevokedSignature = ptr(e.Signature)
			rows[i].RevokedSeq = ptr(e.Seq)
			rows[i].dirty = true
			break
		}
	}
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	r.setVotes(int16(f.Approvals), int16(f.Threshold), f.Status.String(), f.Eta, int64(f.MemberSetSeqno), at, e)
}

// applyCancelVoted records a cancel vote.
func (p *projection) applyCancelVoted(f *um.CancelVoted, e loggedEvent) {
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	if int64(f.MemberSetSeqno) != r.MemberSetSeqno {
		// The vote reset approvals given under an older member set.
		r.Approvals = 0
		r.Status = "active"
		r.Eta, r.ApprovedAt, r.ApprovedSlot = nil, nil, nil
		r.MemberSetSeqno = int64(f.MemberSetSeqno)
	}
	r.CancelVotes = int16(f.CancelVotes)
	r.touch(unixTime(f.Timestamp), e)
}

// applyRejectVoted records a reject vote, and the rejection when it decided.
func (p *projection) applyRejectVoted(f *um.RejectVoted, e loggedEvent) {
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	at := unixTime(f.Timestamp)
	if int64(f.MemberSetSeqno) != r.MemberSetSeqno {
		// The vote reset approvals given under an older member set.
		r.Approvals = 0
		r.Status = "active"
		r.Eta, r.ApprovedAt, r.ApprovedSlot = nil, nil, nil
		r.MemberSetSeqno = int64(f.MemberSetSeqno)
	}
	if f.Status == um.ProposalStatusRejected {
		r.Status = "rejected"
		r.ClosedAt = &at
		r.ClosedSignature = ptr(e.Signature)
	}
	r.touch(at, e)
}

// applyProposalCancelled closes the proposal as cancelled.
func (p *projection) applyProposalCancelled(f *um.ProposalCancelled, e loggedEvent) {
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	at := unixTime(f.Timestamp)
	if g := p.governances[p.b58(f.Governance)]; g != nil && g.MemberSetSeqno != r.MemberSetSeqno {
		// Like every vote, the cancel first dropped approvals given under an
		// older member set (the program's reset_if_stale); the event does not
		// say so when the proposer cancels alone, the governance does.
		r.Approvals = 0
		r.Eta, r.ApprovedAt, r.ApprovedSlot = nil, nil, nil
		r.MemberSetSeqno = g.MemberSetSeqno
	}
	r.Status = "cancelled"
	r.CancelVotes = int16(f.CancelVotes)
	r.ClosedAt = &at
	r.ClosedSignature = ptr(e.Signature)
	r.touch(at, e)
}

// applyProposalExpired closes the proposal as expired.
func (p *projection) applyProposalExpired(f *um.ProposalExpired, e loggedEvent) {
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	at := unixTime(f.Timestamp)
	r.Status = "expired"
	r.ClosedAt = &at
	r.ClosedSignature = ptr(e.Signature)
	r.touch(at, e)
}

// applyProgramExtended records how many bytes the program still has to grow.
func (p *projection) applyProgramExtended(f *um.ProgramExtended, e loggedEvent) {
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	r.ExtendBytesNeeded = int64(f.RemainingBytes)
	r.touch(unixTime(f.Timestamp), e)
}

// applyProposalExecuted closes the proposal as executed.
func (p *projection) applyProposalExecuted(f *um.ProposalExecuted, e loggedEvent) {
	r := p.proposal(p.b58(f.Proposal))
	if r == nil {
		return
	}
	at := unixTime(f.Timestamp)
	r.Status = "executed"
	r.Eta = etaTime(f.Eta)
	r.ExecutedAt = &at
	r.ExecutedSlot = ptr(e.Slot)
	r.ExecutedSignature = ptr(e.Signature)
	r.Executor = ptr(p.b58(f.Executor))
	r.touch(at, e)
}

// applyMigrationStarted creates the migration job row.
func (p *projection) applyMigrationStarted(f *um.MigrationStarted, e loggedEvent) {
	at := unixTime(f.Timestamp)
	p.jobs[p.b58(f.Job)] = &migrationJobRow{
		Address:       p.b58(f.Job),
		Governance:    p.b58(f.Governance),
		Proposal:      p.b58(f.Proposal),
		Program:       p.b58(f.Program),
		FromVersion:   int16(f.Spec.FromVersion),
		ToVersion:     int16(f.Spec.ToVersion),
		VersionOffset: int32(f.Spec.VersionOffset),
		DataSize:      int64(f.Spec.DataSize),
		Discriminator: hexOrNil(f.Spec.Discriminator),
		MigrateIxData: hexOf(f.Spec.MigrateIxData),
		TotalAccounts: int64(f.Spec.TotalAccounts),
		Status:        "active",
		StartedAt:     at,
		StartedSlot:   e.Slot,
		UpdatedAt:     at,
		LastSeq:       e.Seq,
		dirty:         true,
	}
}

// applyMigrationBatchProcessed records a migration batch's progress.
func (p *projection) applyMigrationBatchProcessed(f *um.MigrationBatchProcessed, e loggedEvent) {
	j := p.job(p.b58(f.Job))
	if j == nil {
		return
	}
	j.MigratedCount = int64(f.Migrated)
	j.BatchCount = max(j.BatchCount, int64(f.BatchIndex)+1)
	j.touch(unixTime(f.Timestamp), e)
}

// applyMigrationCompleted closes the migration job as completed.
func (p *projection) applyMigrationCompleted(f *um.MigrationCompleted, e loggedEvent) {
	j := p.job(p.b58(f.Job))
	if j == nil {
		return
	}
	at := unixTime(f.Timestamp)
	j.MigratedCount = int64(f.Migrated)
	j.BatchCount = int64(f.Batches)
	j.Status = "completed"
	j.CompletedAt = &at
	j.CompletedSlot = ptr(e.Slot)
	j.touch(at, e)
}

// applyJobChange folds an executed ExtendMigration (the total grows and a completed job is active
// again) or CancelMigration into the job's row; other changes leave jobs alone.
func (p *projection) applyJobChange(c *um.ConfigChange, at time.Time, e loggedEvent) {
	switch c.Kind {
	case um.ConfigChangeKindExtendMigration:
		j := p.job(p.b58(c.ExtendMigration.Job))
		if j == nil {
			return
		}
		j.TotalAccounts += int64(c.ExtendMigration.AdditionalAccounts)
		j.Status = "active"
		j.CompletedAt = nil
		j.CompletedSlot = nil
		j.touch(at, e)
	case um.ConfigChangeKindCancelMigration:
		j := p.job(p.b58(c.CancelMigration.Job))
		if j == nil {
			return
		}
		j.Status = "cancelled"
		j.touch(at, e)
	}
}

func (p *projection) proposal(address string) *proposalRow {
	r := p.proposals[address]
	if r == nil {
		p.orphans++
	}
	return r
}

func (p *projection) job(address string) *migrationJobRow {
	j := p.jobs[address]
	if j == nil {
		p.orphans++
	}
	return j
}

// setVotes applies the vote counters an approval or revocation reports.
func (r *proposalRow) setVotes(approvals, threshold int16, status string, eta, seqno int64, at time.Time, e loggedEvent) {
	r.Approvals = approvals
	r.Threshold = threshold
	r.MemberSetSeqno = seqno
	r.Status = strings.ToLower(status)
	r.Eta = etaTime(eta)
	switch {
	case r.Status != "approved":
		r.ApprovedAt, r.ApprovedSlot = nil, nil
	case r.ApprovedAt == nil:
		// The threshold-th approval: later approvals leave the time alone,
		// as the program does.
		r.ApprovedAt = &at
		r.ApprovedSlot = ptr(e.Slot)
	}
	r.touch(at, e)
}

func (r *proposalRow) touch(at time.Time, e loggedEvent) {
	r.UpdatedAt = at
	r.UpdatedSlot = e.Slot
	r.LastSeq = max(r.LastSeq, e.Seq)
	r.dirty = true
}

func (g *governanceRow) touch(at time.Time, e loggedEvent) {
	g.UpdatedAt = at
	g.UpdatedSlot = e.Slot
	g.LastSeq = max(g.LastSeq, e.Seq)
	g.dirty = true
}

func (j *migrationJobRow) touch(at time.Time, e loggedEvent) {
	j.UpdatedAt = at
	j.LastSeq = max(j.LastSeq, e.Seq)
	j.dirty = true
}
