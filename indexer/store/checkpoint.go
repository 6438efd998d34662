package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Checkpoint is where the indexer of one program stands.
type Checkpoint struct {
	ProgramID string
	// LastSignature and LastSlot name the newest transaction applied, in
	// chain order. Every transaction of the program up to it is applied,
	// except ones the listing missed, which reconciliation finds.
	LastSignature string
	LastSlot      uint64
	// FinalizedSlot is the finalized watermark: every applied transaction at
	// or below it is finalized (or was reverted).
	FinalizedSlot uint64
	// ReconciledSignature and ReconciledSlot name the newest finalized
	// transaction reconciliation compared with the chain; empty before the
	// first reconciliation.
	ReconciledSignature string
	ReconciledSlot      uint64
}

// GetCheckpoint returns the checkpoint of programID, or ErrNotFound before
// the first batch.
func GetCheckpoint(ctx context.Context, db DBTX, programID string) (Checkpoint, error) {
	c := Checkpoint{ProgramID: programID}
	var (
		last, fin, rec int64
		recSig         *string
	)
	err := db.QueryRow(ctx, `SELECT last_signature, last_slot, finalized_slot, reconciled_signature, reconciled_slot
		FROM ingest_checkpoint WHERE program_id = $1`, programID).Scan(&c.LastSignature, &last, &fin, &recSig, &rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("read checkpoint: %w", err)
	}
	c.LastSlot, c.FinalizedSlot, c.ReconciledSlot = uint64(last), uint64(fin), uint64(rec)
	if recSig != nil {
		c.ReconciledSignature = *recSig
	}
	return c, nil
}

// advanceCheckpoint moves the checkpoint to sig unless it already names a
// newer slot.
func advanceCheckpoint(ctx context.Context, db DBTX, programID, sig string, slot uint64) error {
	_, err := db.Exec(ctx, `INSERT INTO ingest_checkpoint (program_id, last_signature, last_slot)
		VALUES ($1, $2, $3)
		ON CONFLICT (program_id) DO UPDATE SET
			last_signature = excluded.last_signature, last_slot = excluded.last_slot, updated_at = now()
		WHERE ingest_checkpoint.last_slot <= excluded.last_slot`, programID, sig, int64(slot))
	if err != nil {
		return fmt.Errorf("advance checkpoint: %w", err)
	}
	return nil
}

// SetReconciled records that every finalized transaction of programID up to
// sig (in slot) has been compared with the chain. It never moves backwards.
func SetReconciled(ctx context.Context, db DBTX, programID, sig string, slot uint64) error {
	if err := Claim(ctx, db, programID); err != nil {
		return err
	}
	tag, err := db.Exec(ctx, `UPDATE ingest_checkpoint
		SET reconciled_signature = $2, reconciled_slot = $3, updated_at = now()
		WHERE program_id = $1 AND reconciled_slot <= $3`, programID, sig, int64(slot))
	if err != nil {
		return fmt.Errorf("record reconciliation: %w", err)
	}
	if tag.RowsAffected() == 0 {
		// No checkpoint yet (nothing applied), or a newer reconciliation.
		_, err = db.Exec(ctx, `INSERT INTO ingest_checkpoint
			(program_id, last_signature, last_slot, reconciled_signature, reconciled_slot)
			VALUES ($1, '', 0, $2, $3) ON CONFLICT (program_id) DO NOTHING`, programID, sig, int64(slot))
		if err != nil {
			return fmt.Errorf("record reconciliation: %w", err)
		}
	}
	return nil
}

// AppliedSignatures returns which of sigs have been applied.
func AppliedSignatures(ctx context.Context, db DBTX, sigs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(sigs))
	if len(sigs) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT signature FROM ingested_transaction WHERE signature = ANY($1)`, sigs)
	if err != nil {
		return nil, fmt.Errorf("look up applied transactions: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up applied transactions: %w", err)
	}
	for _, s := range found {
		out[s] = true
	}
	return out, nil
}

// InitCheckpoint creates programID's checkpoint at slot, naming no
// transaction, unless it exists: indexing then starts with the transactions
// of slot and later ones instead of the program's whole history.
func InitCheckpoint(ctx context.Context, db DBTX, programID string, slot uint64) error {
	if err := Claim(ctx, db, programID); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `INSERT INTO ingest_checkpoint (program_id, last_signature, last_slot)
		VALUES ($1, '', $2) ON CONFLICT (program_id) DO NOTHING`, programID, int64(slot))
	if err != nil {
		return fmt.Errorf("create checkpoint: %w", err)
	}
	return nil
}

// FirstAppliedSlot returns the slot of programID's oldest applied
// transaction, or ErrNotFound when none is.
func FirstAppliedSlot(ctx context.Context, db DBTX, programID string) (uint64, error) {
	var slot *int64
	if err := db.QueryRow(ctx, `SELECT min(slot) FROM ingested_transaction WHERE program_id = $1`, programID).Scan(&slot); err != nil {
		return 0, fmt.Errorf("read first applied slot: %w", err)
	}
	if slot == nil {
		return 0, ErrNotFound
	}
	return uint64(*slot), nil
}
