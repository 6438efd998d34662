package store

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Effective statuses, as proposal_effective_status returns them.
const (
	StatusActive    = "active"
	StatusApproved  = "approved"
	StatusReady     = "ready"
	StatusExecuted  = "executed"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
	StatusStale     = "stale"
	StatusRejected  = "rejected"
)

// storedStatuses lists the account statuses a proposal can have while its
// effective status is the key: filtering on them first lets an index do the
// work before the function runs.
var storedStatuses = map[string][]string{
	StatusActive:    {StatusActive},
	StatusApproved:  {StatusApproved},
	StatusReady:     {StatusApproved},
	StatusExecuted:  {StatusExecuted},
	StatusCancelled: {StatusCancelled},
	StatusExpired:   {StatusActive, StatusApproved, StatusExpired},
	StatusStale:     {StatusActive, StatusApproved},
	StatusRejected:  {StatusRejected},
}

const proposalColumns = `p.address, p.governance, p.index, p.kind, p.program, p.buffer, p.buffer_hash,
	p.buffer_elf_len, p.extend_bytes_needed, p.config_change, p.migration, p.metadata_uri, p.metadata_uri_bytes, p.build_hash,
	p.proposer, p.status, proposal_effective_status(p, g, c.at), p.approvals, p.threshold, p.cancel_votes,
	p.member_set_seqno, p.eta, p.created_at, p.created_slot, p.created_signature, p.approved_at,
	p.approved_slot, p.executed_at, p.executed_slot, p.executed_signature, p.executor, p.closed_at,
	p.closed_signature, p.updated_at, p.updated_slot,
	CASE WHEN p.kind = 'rollback' THEN g.rollback_threshold ELSE g.threshold END,
	p.eta + make_interval(secs => g.grace_period_seconds)`

// proposalFrom joins what proposal_effective_status needs. A proposal
// whose governance row is missing keeps its account status.
const proposalFrom = ` FROM proposal p LEFT JOIN governance g ON g.address = p.governance
	CROSS JOIN (SELECT ` + chainClock + ` AS at) c`

func scanProposal(row pgx.Row) (*Proposal, error) {
	var p Proposal
	var configChange, migration, uriBytes []byte
	err := row.Scan(&p.Address, &p.GovernanceAddress, &p.Index, &p.Kind, &p.ProgramID, &p.Buffer, &p.BufferHash,
		&p.BufferElfLength, &p.ExtendBytesNeeded, &configChange, &migration, &p.MetadataURI, &uriBytes, &p.BuildHash,
		&p.Proposer, &p.StoredStatus, &p.EffectiveStatus, &p.ApprovalCount, &p.Threshold, &p.CancelVotes,
		&p.MemberSetSeqno, &p.Eta, &p.CreatedAt, &p.CreatedSlot, &p.CreatedSignature, &p.ApprovedAt,
		&p.ApprovedSlot, &p.ExecutedAt, &p.ExecutedSlot, &p.ExecutedSignature, &p.Executor, &p.ClosedAt,
		&p.ClosedSignature, &p.UpdatedAt, &p.UpdatedSlot, &p.GovernanceThreshold, &p.WindowEnd)
	p.ConfigChange, p.MigrationSpec = configChange, migration
	// The exact bytes, when the indexer had to escape them in metadata_uri:
	// a GraphQL string carries NULs (as \u0000) but not invalid UTF-8,
	// which keeps the escaped form (\xNN, with \ written \\).
	if uriBytes != nil && utf8.Valid(uriBytes) {
		p.MetadataURI = string(uriBytes)
	}
	return &p, err
}

// ProposalFilter selects proposals; every set field must match.
type ProposalFilter struct {
	Governance *string
	Program    *string
	Proposer   *string
	// Statuses are effective statuses (StatusActive...); any matches.
	Statuses []string
	// Kinds are upgrade, rollback, config_change, migration; any matches.
	Kinds         []string
	CreatedAfter  *time.Time // inclusive
	CreatedBefore *time.Time // exclusive
	// AwaitingApprovalBy selects the open proposals (active or stale) of
	// the governances this key is a member of that it has not approved
	// under the governance's current member set.
	AwaitingApprovalBy *string
}

func (f ProposalFilter) apply(w *where) {
	if f.Governance != nil {
		w.add("p.governance = %s", *f.Governance)
	}
	if f.Program != nil {
		w.add("p.program = %s", *f.Program)
	}
	if f.Proposer != nil {
		w.add("p.proposer = %s", *f.Proposer)
	}
	if len(f.Kinds) > 0 {
		w.add("p.kind = ANY(%s)", f.Kinds)
	}
	if f.CreatedAfter != nil {
		w.add("p.created_at >= %s", *f.CreatedAfter)
	}
	if f.CreatedBefore != nil {
		w.add("p.created_at < %s", *f.CreatedBefore)
	}
	if f.AwaitingApprovalBy != nil {
		m := w.arg(*f.AwaitingApprovalBy)
		w.conds = append(w.conds,
			"p.status IN ('active', 'approved')",
			"p.governance IN (SELECT governance FROM governance_member WHERE member = "+m+")",
			"proposal_effective_status(p, g, c.at) IN ('active', 'stale')",
			"NOT EXISTS (SELECT 1 FROM approval a WHERE a.proposal = p.address AND a.member = "+m+
				" AND a.revoked_at IS NULL AND a.member_set_seqno = g.member_set_seqno)")
	}
	if len(f.Statuses) > 0 {
		var stored []string
		for _, s := range f.Statuses {
			for _, st := range storedStatuses[s] {
				if !slices.Contains(stored, st) {
					stored = append(stored, st)
				}
			}
		}
		w.add("p.status = ANY(%s)", stored)
		w.add("proposal_effective_status(p, g, c.at) = ANY(%s)", f.Statuses)
	}
}

// ProposalOrder is an order of proposals.
type ProposalOrder int

const (
	// OrderCreated orders by creation time, then address.
	OrderCreated ProposalOrder = iota
	// OrderEta orders by eta, then address, and leaves out proposals
	// without an eta.
	OrderEta
)

// ProposalKey is the position of a proposal in an order: its creation
// time or eta, then its address.
type ProposalKey struct {
	At      time.Time
	Address string
}

// Key returns p's position in order o; false when o leaves p out.
func (p *Proposal) Key(o ProposalOrder) (ProposalKey, bool) {
	if o == OrderEta {
		if p.Eta == nil {
			return ProposalKey{}, false
		}
		return ProposalKey{At: *p.Eta, Address: p.Address}, true
	}
	return ProposalKey{At: p.CreatedAt, Address: p.Address}, true
}

// ListProposals returns a page of the proposals that match f in order o
// (descending when desc), and whether more lie beyond the page.
func (s *Store) ListProposals(ctx context.Context, f ProposalFilter, o ProposalOrder, desc bool, p Page[ProposalKey]) ([]*Proposal, bool, error) {
	var w where
	f.apply(&w)
	col := "p.created_at"
	if o == OrderEta {
		col = "p.eta"
		w.conds = append(w.conds, "p.eta IS NOT NULL")
	}
	dir := keyset(&w, "("+col+", p.address)", desc, p, func(k *ProposalKey) []any {
		return []any{k.At, k.Address}
	})
	rows, err := collect(ctx, s.db, "proposals", scanProposal,
		`SELECT `+proposalColumns+proposalFrom+w.sql()+orderBy(dir, col, "p.address")+
			` LIMIT `+w.arg(p.Limit+1), w.args...)
	if err != nil {
		return nil, false, err
	}
	rows, more := page(rows, p.Limit, p.Backward)
	return rows, more, nil
}

// CountProposals returns how many proposals match f and are in order o.
func (s *Store) CountProposals(ctx context.Context, f ProposalFilter, o ProposalOrder) (int, error) {
	var w where
	f.apply(&w)
	if o == OrderEta {
		w.conds = append(w.conds, "p.eta IS NOT NULL")
	}
	return s.count(ctx, "proposals", `SELECT count(*)`+proposalFrom+w.sql(), w.args...)
}

// ProposalsByAddress returns the proposals at addresses, by address.
func (s *Store) ProposalsByAddress(ctx context.Context, addresses []string) (map[string]*Proposal, error) {
	rows, err := collect(ctx, s.db, "proposals", scanProposal,
		`SELECT `+proposalColumns+proposalFrom+` WHERE p.address = ANY($1)`, addresses)
	return byKey(rows, func(p *Proposal) string { return p.Address }), err
}

const approvalColumns = `proposal, member, member_set_seqno, approved_at, slot, signature, seq, revoked_at, revoked_signature`

func scanApproval(row pgx.Row) (*Approval, error) {
	var a Approval
	err := row.Scan(&a.ProposalAddress, &a.Member, &a.MemberSetSeqno, &a.ApprovedAt, &a.Slot, &a.Signature,
		&a.Seq, &a.RevokedAt, &a.RevokedSignature)
	return &a, err
}

// ApprovalBySeq returns the approval given by the event with seq; nil when
// there is none.
func (s *Store) ApprovalBySeq(ctx context.Context, seq int64) (*Approval, error) {
	rows, err := collect(ctx, s.db, "approvals", scanApproval, `SELECT `+approvalColumns+` FROM approval WHERE seq = $1`, seq)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// ApprovalsByProposal returns each proposal's approvals, revoked ones
// included, in the order they were given, by proposal address.
func (s *Store) ApprovalsByProposal(ctx context.Context, proposals []string) (map[string][]*Approval, error) {
	rows, err := collect(ctx, s.db, "approvals", scanApproval,
		`SELECT `+approvalColumns+` FROM approval WHERE proposal = ANY($1) ORDER BY proposal, seq`, proposals)
	return groupBy(rows, func(a *Approval) string { return a.ProposalAddress }), err
}

// ConfigChangesByProposal returns the executed config changes of
// proposals, by proposal address.
func (s *Store) ConfigChangesByProposal(ctx context.Context, proposals []string) (map[string]*ConfigChange, error) {
	rows, err := collect(ctx, s.db, "config changes", func(row pgx.Row) (*ConfigChange, error) {
		var c ConfigChange
		var change []byte
		err := row.Scan(&c.ProposalAddress, &c.GovernanceAddress, &change, &c.MemberSetSeqno, &c.ExecutedAt,
			&c.Slot, &c.Signature)
		c.Change = change
		return &c, err
	}, `SELECT proposal, governance, change, member_set_seqno, executed_at, slot, signature
		FROM config_change WHERE proposal = ANY($1)`, proposals)
	return byKey(rows, func(c *ConfigChange) string { return c.ProposalAddress }), err
}

// RollbacksByProposal returns the executed rollbacks of proposals, by
// proposal address.
func (s *Store) RollbacksByProposal(ctx context.Context, proposals []string) (map[string]*Rollback, error) {
	rows, err := collect(ctx, s.db, "rollbacks", func(row pgx.Row) (*Rollback, error) {
		var r Rollback
		err := row.Scan(&r.ProposalAddress, &r.ProgramID, &r.FromHash, &r.ToHash, &r.ExecutedAt, &r.Slot, &r.Signature)
		return &r, err
	}, `SELECT proposal, program, from_hash, to_hash, executed_at, slot, signature
		FROM rollback WHERE proposal = ANY($1)`, proposals)
	return byKey(rows, func(r *Rollback) string { return r.ProposalAddress }), err
}
