package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// canonicalOrder is the log's order: the chain's. Within a slot whose block
// could not be read (block_index -1) transactions keep the order they were
// applied in.
const canonicalOrder = `ORDER BY slot, block_index,
	min(seq) OVER (PARTITION BY signature), instruction_index, inner_index, ordinal`

// Rebuilt reports what Rebuild did.
type Rebuilt struct {
	// Events is the number of events folded.
	Events int
	// Orphans counts events about rows that do not exist (see Applied).
	Orphans int
	// Notification is the payload sent on NotifyChannel.
	Notification Notification
}

// Rebuild empties every projection table and folds the whole event log into
// them in canonical order, in one transaction that notifies once. What it
// builds equals what incremental batches built from the same log.
func Rebuild(ctx context.Context, db DBTX, programID string) (Rebuilt, error) {
	var out Rebuilt
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := lockWriter(ctx, tx, programID); err != nil {
			return fmt.Errorf("lock writer: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM chain_event`).Scan(&out.Events); err != nil {
			return fmt.Errorf("count events: %w", err)
		}
		var err error
		if out.Orphans, err = rebuild(ctx, tx); err != nil {
			return err
		}
		var slot int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(slot), 0) FROM chain_event`).Scan(&slot); err != nil {
			return fmt.Errorf("read newest slot: %w", err)
		}
		out.Notification, err = sendNotification(ctx, tx, Notification{Slot: uint64(slot), Rebuilt: true, Reason: RebuildReplay})
		return err
	})
	if err != nil {
		return Rebuilt{}, fmt.Errorf("rebuild projections: %w", err)
	}
	return out, nil
}

// rebuild empties the projections and folds the log into them.
func rebuild(ctx context.Context, tx pgx.Tx) (orphans int, err error) {
	if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(projectionTables, ", ")); err != nil {
		return 0, fmt.Errorf("truncate projections: %w", err)
	}
	p := newProjection()
	// The log is folded from the bytes the program emitted, decoded as the
	// ingester decoded them, not from the JSON rendering.
	err = scanEach(ctx, tx, `SELECT seq, signature, slot, name, raw FROM chain_event `+canonicalOrder,
		nil, func(r pgx.Rows) error {
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
			p.apply(e)
			return nil
		})
	if err != nil {
		return 0, fmt.Errorf("fold event log: %w", err)
	}
	if err := copyProjection(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := rebuildLifecycle(ctx, tx); err != nil {
		return 0, err
	}
	return p.orphans, nil
}
