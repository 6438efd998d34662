package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// TxRef names an applied transaction.
type TxRef struct {
	Signature string
	Slot      uint64
}

// ConfirmedTransactions returns up to limit transactions of programID still
// at confirmed commitment with slot at most maxSlot, oldest first.
func ConfirmedTransactions(ctx context.Context, db DBTX, programID string, maxSlot uint64, limit int) ([]TxRef, error) {
	rows, err := db.Query(ctx, `SELECT signature, slot FROM ingested_transaction
		WHERE program_id = $1 AND commitment = 'confirmed' AND slot <= $2
		ORDER BY slot, block_index LIMIT $3`, programID, int64(maxSlot), limit)
	if err != nil {
		return nil, fmt.Errorf("list confirmed transactions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TxRef, error) {
		var (
			t    TxRef
			slot int64
		)
		err := r.Scan(&t.Signature, &slot)
		t.Slot = uint64(slot)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list confirmed transactions: %w", err)
	}
	return out, nil
}

// Promote marks sigs, and their events, finalized.
func Promote(ctx context.Context, db DBTX, sigs []string) error {
	if len(sigs) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE ingested_transaction SET commitment = 'finalized'
			WHERE signature = ANY($1) AND commitment = 'confirmed'`, sigs); err != nil {
			return fmt.Errorf("promote transactions: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE chain_event SET commitment = 'finalized'
			WHERE signature = ANY($1) AND commitment = 'confirmed'`, sigs); err != nil {
			return fmt.Errorf("promote events: %w", err)
		}
		return nil
	})
}

// SetFinalized moves programID's finalized watermark to slot, never
// backwards.
func SetFinalized(ctx context.Context, db DBTX, programID string, slot uint64) error {
	_, err := db.Exec(ctx, `UPDATE ingest_checkpoint SET finalized_slot = $2, updated_at = now()
		WHERE program_id = $1 AND finalized_slot < $2`, programID, int64(slot))
	if err != nil {
		return fmt.Errorf("set finalized watermark: %w", err)
	}
	return nil
}

// Reverted reports what Revert did.
type Reverted struct {
	// Transactions and Events count what was deleted.
	Transactions int
	Events       int
	// Notification is the payload sent on NotifyChannel.
	Notification Notification
}

// Revert removes transactions that never finalized (their slot was
// abandoned) with their events and dead letters, rebuilds the projections
// from what remains of the log, and moves programID's checkpoint back to the
// newest transaction still applied (removing it when none is), all in one
// transaction that notifies once.
func Revert(ctx context.Context, db DBTX, programID string, sigs []string) (Reverted, error) {
	var out Reverted
	if len(sigs) == 0 {
		return out, nil
	}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := lockWriter(ctx, tx, programID); err != nil {
			return fmt.Errorf("lock writer: %w", err)
		}
		// What the removed events were about, for the notification: a
		// listener refetches those rows, which change without a new seq.
		n := Notification{Rebuilt: true, Reason: RebuildRevert, Signatures: slices.Sorted(slices.Values(sigs))}
		subj := newSubjects()
		rows, err := tx.Query(ctx, `DELETE FROM chain_event WHERE signature = ANY($1) RETURNING seq, raw`, sigs)
		if err != nil {
			return fmt.Errorf("delete events: %w", err)
		}
		var jobs []string
		for rows.Next() {
			var (
				seq int64
				raw []byte
			)
			if err := rows.Scan(&seq, &raw); err != nil {
				rows.Close()
				return fmt.Errorf("delete events: %w", err)
			}
			n.RemovedSeqs = append(n.RemovedSeqs, seq)
			if f, err := um.DecodeEvent(raw); err == nil {
				subj.add(f)
				if j := jobOf(f); j != "" {
					jobs = append(jobs, j)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("delete events: %w", err)
		}
		out.Events = len(n.RemovedSeqs)
		slices.Sort(n.RemovedSeqs)
		if len(jobs) > 0 {
			// Migration batches name their job only: their proposal and
			// governance are the job's.
			rows, err := tx.Query(ctx, `SELECT proposal, governance FROM migration_job WHERE address = ANY($1)`, jobs)
			if err != nil {
				return fmt.Errorf("read reverted jobs: %w", err)
			}
			for rows.Next() {
				var p, g string
				if err := rows.Scan(&p, &g); err != nil {
					rows.Close()
					return fmt.Errorf("read reverted jobs: %w", err)
				}
				subj.proposals[p], subj.governances[g] = true, true
			}
			rows.Close()
		}
		subj.fill(&n)
		if _, err := tx.Exec(ctx, `DELETE FROM dead_letter WHERE signature = ANY($1)`, sigs); err != nil {
			return fmt.Errorf("delete dead letters: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM ingested_transaction WHERE signature = ANY($1) AND program_id = $2`, sigs, programID)
		if err != nil {
			return fmt.Errorf("delete transactions: %w", err)
		}
		out.Transactions = int(tag.RowsAffected())
		if _, err := rebuild(ctx, tx); err != nil {
			return err
		}
		var (
			sig  string
			slot int64
		)
		err = tx.QueryRow(ctx, `SELECT signature, slot FROM ingested_transaction WHERE program_id = $1
			ORDER BY slot DESC, block_index DESC, inserted_at DESC LIMIT 1`, programID).Scan(&sig, &slot)
		switch {
		case err == pgx.ErrNoRows:
			if _, err := tx.Exec(ctx, `DELETE FROM ingest_checkpoint WHERE program_id = $1`, programID); err != nil {
				return fmt.Errorf("remove checkpoint: %w", err)
			}
		case err != nil:
			return fmt.Errorf("find newest applied transaction: %w", err)
		default:
			if _, err := tx.Exec(ctx, `UPDATE ingest_checkpoint SET last_signature = $2, last_slot = $3, updated_at = now()
				WHERE program_id = $1`, programID, sig, slot); err != nil {
				return fmt.Errorf("move checkpoint back: %w", err)
			}
		}
		var maxSlot int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(slot), 0) FROM chain_event`).Scan(&maxSlot); err != nil {
			return fmt.Errorf("read newest slot: %w", err)
		}
		n.Slot = uint64(maxSlot)
		out.Notification, err = sendNotification(ctx, tx, n)
		return err
	})
	if err != nil {
		return Reverted{}, fmt.Errorf("revert transactions: %w", err)
	}
	return out, nil
}

// ChainTip is the chain as the indexer last saw it.
type ChainTip struct {
	ConfirmedSlot uint64
	FinalizedSlot uint64
	// ChainTime is the Clock sysvar's unix_timestamp at ConfirmedSlot, the
	// time the program compares etas with; nil when unknown.
	ChainTime *time.Time
}

// SetChainTip records tip for programID.
func SetChainTip(ctx context.Context, db DBTX, programID string, tip ChainTip) error {
	if err := Claim(ctx, db, programID); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `INSERT INTO chain_tip (program_id, confirmed_slot, finalized_slot, chain_time, updated_at)
		VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (program_id) DO UPDATE SET
			confirmed_slot = greatest(chain_tip.confirmed_slot, excluded.confirmed_slot),
			finalized_slot = greatest(chain_tip.finalized_slot, excluded.finalized_slot),
			chain_time = coalesce(excluded.chain_time, chain_tip.chain_time),
			updated_at = now()`,
		programID, int64(tip.ConfirmedSlot), int64(tip.FinalizedSlot), tip.ChainTime)
	if err != nil {
		return fmt.Errorf("record chain tip: %w", err)
	}
	return nil
}

// jobOf returns the migration job an event names without naming its
// proposal.
func jobOf(f um.Event) string {
	switch f := f.(type) {
	case *um.MigrationBatchProcessed:
		return b58(f.Job)
	case *um.MigrationCompleted:
		return b58(f.Job)
	}
	return ""
}
