package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// proposalAt reads the proposal an event names, once for all the
// subscriptions that push that event (and once per replayed page, when
// the replay primed it).
func (r *Resolver) proposalAt(ctx context.Context, e *store.Event) (*store.Proposal, error) {
	return loadOne(ctx, r.shared.forSeq(r.Store, e.Seq).Proposal(), e.Proposal)
}

// decoded is e as the generated event type the store decoded it into.
func decoded(e *store.Event) (upgrademanager.Event, error) {
	if e.Decoded != nil {
		return e.Decoded, nil
	}
	ev, err := upgrademanager.DecodeEvent(e.Raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s event %d: %w", e.Name, e.Seq, err)
	}
	return ev, nil
}

// approvalEvent turns a ProposalApproved or ApprovalRevoked event into its
// payload, from the generated event type.
func approvalEvent(e *store.Event) (*ApprovalEvent, error) {
	ev, err := decoded(e)
	if err != nil {
		return nil, err
	}
	a := &ApprovalEvent{
		Cursor:     EventCursor(e.Seq),
		Signature:  e.Signature,
		Slot:       e.Slot,
		OccurredAt: e.BlockTime,
	}
	var (
		status upgrademanager.ProposalStatus
		eta    int64
	)
	switch ev := ev.(type) {
	case *upgrademanager.ProposalApproved:
		a.Action = ApprovalActionApproved
		a.ProposalAddress, a.GovernanceAddress, a.Member = ev.Proposal.String(), ev.Governance.String(), ev.Member.String()
		a.Approvals, a.Threshold, a.StaleReset = int(ev.Approvals), int(ev.Threshold), ev.StaleReset
		status, eta = ev.Status, ev.Eta
	case *upgrademanager.ApprovalRevoked:
		a.Action = ApprovalActionRevoked
		a.ProposalAddress, a.GovernanceAddress, a.Member = ev.Proposal.String(), ev.Governance.String(), ev.Member.String()
		a.Approvals, a.Threshold = int(ev.Approvals), int(ev.Threshold)
		status, eta = ev.Status, ev.Eta
	default:
		return nil, fmt.Errorf("event %d is a %s, not an approval", e.Seq, ev.EventName())
	}
	if a.Status, err = eventStatus(status.String()); err != nil {
		return nil, err
	}
	if eta > 0 {
		t := time.Unix(eta, 0).UTC()
		a.Eta = &t
	}
	return a, nil
}

// migrationProgress turns a migration event into its payload, from the
// event as the program emitted it.
func migrationProgress(e *store.Event) (*MigrationProgress, error) {
	ev, err := decoded(e)
	if err != nil {
		return nil, err
	}
	p := &MigrationProgress{Cursor: EventCursor(e.Seq), Event: e}
	switch ev := ev.(type) {
	case *upgrademanager.MigrationStarted:
		p.MigrationAddress, p.Total = ev.Job.String(), int64(ev.Spec.TotalAccounts)
	case *upgrademanager.MigrationBatchProcessed:
		batch := int64(ev.BatchIndex)
		p.MigrationAddress, p.Migrated, p.Total, p.BatchIndex = ev.Job.String(), int64(ev.Migrated), int64(ev.Total), &batch
	case *upgrademanager.MigrationCompleted:
		p.MigrationAddress, p.Migrated, p.Total, p.Completed = ev.Job.String(), int64(ev.Migrated), int64(ev.Total), true
	default:
		return nil, fmt.Errorf("event %d is a %s, not a migration event", e.Seq, ev.EventName())
	}
	return p, nil
}
