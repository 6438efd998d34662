package ingest

import (
	"context"
	"errors"
	"log/slog"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

func (in *Ingester) reconcileLoop(ctx context.Context) error {
	return in.tick(ctx, "reconciliation", in.cfg.ReconcileInterval, in.Reconcile)
}

// Reconcile compares the program's finalized history, from the last
// reconciliation up to the checkpoint, with what was applied, and applies
// anything missing (in chain order: the projections are rebuilt when a
// missing transaction is older than applied ones). Nothing is missing unless
// a listing skipped a transaction, which the protocol allows a node to do.
func (in *Ingester) Reconcile(ctx context.Context) error {
	if !in.ready.Load() {
		return nil // the first sync is still catching up
	}
	cp, err := store.GetCheckpoint(ctx, in.db, in.cfg.ProgramID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	floor := cp.ReconciledSlot
	if floor == 0 {
		first, err := store.FirstAppliedSlot(ctx, in.db, in.cfg.ProgramID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		floor = first
	}
	var (
		listed []chain.Signature
		before string
	)
	for done := false; !done; {
		page, err := in.chain.Signatures(ctx, in.cfg.ProgramID, before, pageSize, chain.Finalized)
		if err != nil {
			return err
		}
		for _, s := range page {
			if s.Slot < floor {
				done = true
				break
			}
			listed = append(listed, s)
		}
		if len(page) < pageSize {
			done = true
		} else {
			before = page[len(page)-1].Signature
		}
	}
	if len(listed) == 0 {
		return nil
	}
	// Beyond the checkpoint is the sync's part; the reconciled watermark
	// moves only over what was compared.
	var (
		sigs   []string
		newest chain.Signature
	)
	for _, s := range listed {
		if s.Slot > cp.LastSlot {
			continue
		}
		if newest.Signature == "" {
			newest = s
		}
		sigs = append(sigs, s.Signature)
	}
	if len(sigs) == 0 {
		return nil
	}
	applied, err := store.AppliedSignatures(ctx, in.db, sigs)
	if err != nil {
		return err
	}
	var missing []string
	for i := len(sigs) - 1; i >= 0; i-- {
		if !applied[sigs[i]] {
			applied[sigs[i]] = true
			missing = append(missing, sigs[i])
		}
	}
	if len(missing) > 0 {
		in.logger.Warn("reconciliation found transactions the listing had missed", slog.Int("count", len(missing)))
		if err := in.applySignatures(ctx, missing, chain.Finalized); err != nil {
			return err
		}
		in.metrics.reconciled(len(missing))
	}
	return store.SetReconciled(ctx, in.db, in.cfg.ProgramID, newest.Signature, newest.Slot)
}
