package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// proposalAt reads the proposal an event names, once for all the
// subscriptions that push that event (and once per replayed page, when
// the replay primed it).
func (r *Resolver) proposalAt(ctx context.Context, e *store.Event) (*store.Proposal, error) {
	return loadOne(ctx, r.shared.forSeq(r.Store, e.Seq).Proposal(), e.Proposal)
}

// approvalData holds the fields of ProposalApproved and ApprovalRevoked.
type approvalData struct {
	Governance string `json:"governance"`
	Proposal   string `json:"proposal"`
	Member     string `json:"member"`
	Approvals  int    `json:"approvals"`
	Threshold  int    `json:"threshold"`
	Status     string `json:"status"`
	Eta        int64  `json:"eta"`
	StaleReset bool   `json:"stale_reset"`
}

// approvalEvent turns a ProposalApproved or ApprovalRevoked event into its
// payload.
func approvalEvent(e *store.Event) (*ApprovalEvent, error) {
	var d approvalData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, fmt.Errorf("decode %s event %d: %w", e.Name, e.Seq, err)
	}
	st, err := eventStatus(d.Status)
	if err != nil {
		return nil, err
	}
	a := &ApprovalEvent{
		Cursor:            EventCursor(e.Seq),
		Action:            ApprovalActionApproved,
		ProposalAddress:   d.Proposal,
		GovernanceAddress: d.Governance,
		Member:            d.Member,
		Approvals:         d.Approvals,
		Threshold:         d.Threshold,
		Status:            st,
		StaleReset:        d.StaleReset,
		Signature:         e.Signature,
		Slot:              e.Slot,
		OccurredAt:        e.BlockTime,
	}
	if e.Name == EventApprovalRevoked {
		a.Action = ApprovalActionRevoked
	}
	if d.Eta > 0 {
		eta := time.Unix(d.Eta, 0).UTC()
		a.Eta = &eta
	}
	return a, nil
}

// migrationData holds the fields of the migration events.
type migrationData struct {
	Job        string `json:"job"`
	Migrated   int64  `json:"migrated"`
	Total      int64  `json:"total"`
	BatchIndex *int64 `json:"batch_index"`
	Spec       *struct {
		TotalAccounts int64 `json:"total_accounts"`
	} `json:"spec"`
}

// migrationProgress turns a migration event into its payload.
func migrationProgress(e *store.Event) (*MigrationProgress, error) {
	var d migrationData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, fmt.Errorf("decode %s event %d: %w", e.Name, e.Seq, err)
	}
	if d.Spec != nil {
		d.Total = d.Spec.TotalAccounts
	}
	return &MigrationProgress{
		Cursor:           EventCursor(e.Seq),
		Event:            e,
		MigrationAddress: d.Job,
		Migrated:         d.Migrated,
		Total:            d.Total,
		BatchIndex:       d.BatchIndex,
		Completed:        e.Name == EventMigrationCompleted,
	}, nil
}
