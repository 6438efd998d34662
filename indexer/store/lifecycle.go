package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// The account lifecycle projections (migration 00013): closed proposal and job accounts,
// revoked releases, programs handed over by the governance, and each governance's voting
// period and (migration 00016) rent collector. They sit beside the fold's tables: each event
// writes rows of its own (idempotent on its seq) or one guarded column, so the fold and its row loading stay as they are.

// projectLifecycle writes the lifecycle rows of events, in log order, after the fold wrote its
// rows (so a governance initialized in the same batch exists).
func projectLifecycle(ctx context.Context, tx pgx.Tx, events []loggedEvent) error {
	b := &pgx.Batch{}
	for _, e := range events {
		queueLifecycle(b, e)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write lifecycle projections: %w", err)
	}
	return nil
}

const (
	setVotingPeriod = `UPDATE governance SET voting_period_seconds = $2, voting_period_seq = $3
		WHERE address = $1 AND voting_period_seq < $3`
	// The rent collector after the event; NULL: none.
	setRentCollector = `UPDATE governance SET rent_collector = $2, rent_collector_seq = $3
		WHERE address = $1 AND rent_collector_seq < $3`
	insertClosure = `INSERT INTO account_closure (address, kind, governance, status, actor,
		rent_collector, lamports, closed_at, slot, signature, seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (address) DO NOTHING`
	insertRevocation = `INSERT INTO release_revocation (program, hash, governance, proposal,
		revoked_at, slot, signature, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT DO NOTHING`
	insertHandOver = `INSERT INTO program_hand_over (program, governance, new_authority, proposal,
		handed_over_at, slot, signature, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (program) DO NOTHING`
)

// optB58 is *k in base58, nil for none.
func optB58(k *solana.PublicKey) *string {
	if k == nil {
		return nil
	}
	return ptr(b58(*k))
}

func queueLifecycle(b *pgx.Batch, e loggedEvent) {
	switch f := e.Event.(type) {
	case *um.GovernanceInitialized:
		b.Queue(setVotingPeriod, b58(f.Governance), f.VotingPeriodSeconds, e.Seq)
		b.Queue(setRentCollector, b58(f.Governance), optB58(f.RentCollector), e.Seq)
	case *um.ConfigChanged:
		b.Queue(setVotingPeriod, b58(f.Governance), f.VotingPeriodSeconds, e.Seq)
		b.Queue(setRentCollector, b58(f.Governance), optB58(f.RentCollector), e.Seq)
		at := unixTime(f.Timestamp)
		switch c := &f.Change; c.Kind {
		case um.ConfigChangeKindRevokeRelease:
			b.Queue(insertRevocation, b58(c.RevokeRelease.Program), hexOf(c.RevokeRelease.Hash[:]), b58(f.Governance),
				b58(f.Proposal), at, e.Slot, e.Signature, e.Seq)
		case um.ConfigChangeKindSetUpgradeAuthority:
			var newAuthority *string
			if k := c.SetUpgradeAuthority.NewAuthority; k != nil {
				newAuthority = ptr(b58(*k))
			}
			b.Queue(insertHandOver, b58(c.SetUpgradeAuthority.Program), b58(f.Governance), newAuthority,
				b58(f.Proposal), at, e.Slot, e.Signature, e.Seq)
		}
	case *um.ProposalClosed:
		b.Queue(insertClosure, b58(f.Proposal), "proposal", b58(f.Governance), strings.ToLower(f.Status.String()), b58(f.Actor),
			b58(f.RentCollector), int64(f.Lamports), unixTime(f.Timestamp), e.Slot, e.Signature, e.Seq)
	case *um.MigrationJobClosed:
		b.Queue(insertClosure, b58(f.Job), "migration_job", b58(f.Governance), strings.ToLower(f.Status.String()), b58(f.Actor),
			b58(f.RentCollector), int64(f.Lamports), unixTime(f.Timestamp), e.Slot, e.Signature, e.Seq)
	}
}

// rebuildLifecycle refills the lifecycle projections from the whole log, after rebuild emptied
// them and refilled the fold's tables.
func rebuildLifecycle(ctx context.Context, tx pgx.Tx) error {
	var events []loggedEvent
	err := scanEach(ctx, tx, `SELECT seq, signature, slot, name, raw FROM chain_event
		WHERE name = ANY($1) `+canonicalOrder,
		[]any{[]string{um.EventNameGovernanceInitialized, um.EventNameConfigChanged, um.EventNameProposalClosed,
			um.EventNameMigrationJobClosed}},
		func(r pgx.Rows) error {
			var (
				e   loggedEvent
				raw []byte
			)
			if err := r.Scan(&e.Seq, &e.Signature, &e.Slot, &e.Name, &raw); err != nil {
				return err
			}
			f, err := um.DecodeEvent(raw)
			if err != nil {
				return fmt.Errorf("event seq %d: %w", e.Seq, err)
			}
			e.Event = f
			events = append(events, e)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read lifecycle events: %w", err)
	}
	return projectLifecycle(ctx, tx, events)
}
