package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The account lifecycle projections (migration 00013): closed proposal and job accounts,
// revoked releases, programs handed over by the governance, and each governance's voting
// period and (migration 00016) rent collector. They sit beside the fold's tables: each event writes rows of its own (idempotent on
// its seq) or one guarded column, so the fold and its row loading stay as they are.

// The events the lifecycle projections add to parseEvent.
const (
	evProposalClosed     = "ProposalClosed"
	evMigrationJobClosed = "MigrationJobClosed"
)

type proposalClosed struct {
	Governance    string `json:"governance"`
	Proposal      string `json:"proposal"`
	Status        string `json:"status"`
	Actor         string `json:"actor"`
	RentCollector string `json:"rent_collector"`
	Lamports      int64  `json:"lamports"`
	Timestamp     int64  `json:"timestamp"`
}

type migrationJobClosed struct {
	Governance    string `json:"governance"`
	Job           string `json:"job"`
	Status        string `json:"status"`
	Actor         string `json:"actor"`
	RentCollector string `json:"rent_collector"`
	Lamports      int64  `json:"lamports"`
	Timestamp     int64  `json:"timestamp"`
}

// lifecycleChange is the part of an executed config change the lifecycle projections read.
type lifecycleChange struct {
	Revoke *struct {
		Program string `json:"program"`
		Hash    string `json:"hash"`
	} `json:"RevokeRelease"`
	HandOver *struct {
		Program      string  `json:"program"`
		NewAuthority *string `json:"new_authority"`
	} `json:"SetUpgradeAuthority"`
}

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

func queueLifecycle(b *pgx.Batch, e loggedEvent) {
	switch f := e.Fields.(type) {
	case *governanceInitialized:
		b.Queue(setVotingPeriod, f.Governance, f.VotingPeriodSeconds, e.Seq)
		b.Queue(setRentCollector, f.Governance, f.RentCollector, e.Seq)
	case *configChanged:
		b.Queue(setVotingPeriod, f.Governance, f.VotingPeriodSeconds, e.Seq)
		b.Queue(setRentCollector, f.Governance, f.RentCollector, e.Seq)
		var c lifecycleChange
		if json.Unmarshal(f.Change, &c) != nil {
			return
		}
		at := unixTime(f.Timestamp)
		switch {
		case c.Revoke != nil:
			b.Queue(insertRevocation, c.Revoke.Program, strings.ToLower(c.Revoke.Hash), f.Governance,
				f.Proposal, at, e.Slot, e.Signature, e.Seq)
		case c.HandOver != nil:
			b.Queue(insertHandOver, c.HandOver.Program, f.Governance, c.HandOver.NewAuthority,
				f.Proposal, at, e.Slot, e.Signature, e.Seq)
		}
	case *proposalClosed:
		b.Queue(insertClosure, f.Proposal, "proposal", f.Governance, strings.ToLower(f.Status), f.Actor,
			f.RentCollector, f.Lamports, unixTime(f.Timestamp), e.Slot, e.Signature, e.Seq)
	case *migrationJobClosed:
		b.Queue(insertClosure, f.Job, "migration_job", f.Governance, strings.ToLower(f.Status), f.Actor,
			f.RentCollector, f.Lamports, unixTime(f.Timestamp), e.Slot, e.Signature, e.Seq)
	}
}

// rebuildLifecycle refills the lifecycle projections from the whole log, after rebuild emptied
// them and refilled the fold's tables.
func rebuildLifecycle(ctx context.Context, tx pgx.Tx) error {
	var events []loggedEvent
	err := scanEach(ctx, tx, `SELECT seq, signature, slot, name, data::text FROM chain_event
		WHERE name = ANY($1) `+canonicalOrder,
		[]any{[]string{evGovernanceInitialized, evConfigChanged, evProposalClosed, evMigrationJobClosed}},
		func(r pgx.Rows) error {
			var (
				e    loggedEvent
				data string
			)
			if err := r.Scan(&e.Seq, &e.Signature, &e.Slot, &e.Name, &data); err != nil {
				return err
			}
			f, err := parseEvent(e.Name, []byte(data))
			if err != nil {
				return fmt.Errorf("event seq %d: %w", e.Seq, err)
			}
			e.Fields = f
			events = append(events, e)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read lifecycle events: %w", err)
	}
	return projectLifecycle(ctx, tx, events)
}
