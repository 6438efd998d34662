package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// statusBatch is getSignatureStatuses' largest request.
const statusBatch = 256

func (in *Ingester) finalityLoop(ctx context.Context) error {
	return in.tick(ctx, "finality check", in.cfg.FinalityInterval, in.Finalize)
}

// Finalize records the chain tip and clock, then settles the confirmed
// transactions at or below the finalized slot: promoted when they finalized
// in the slot they were applied in, reverted (their events deleted, the
// projections rebuilt) when their slot was abandoned, and re-applied when
// they finalized in another slot.
func (in *Ingester) Finalize(ctx context.Context) error {
	fin, err := in.chain.Slot(ctx, chain.Finalized)
	if err != nil {
		return err
	}
	conf, err := in.chain.Slot(ctx, chain.Confirmed)
	if err != nil {
		return err
	}
	if in.cfg.Commitment == store.Finalized {
		in.observeTip(fin)
	} else {
		in.observeTip(conf)
	}
	in.metrics.finalized(fin)
	tip := store.ChainTip{ConfirmedSlot: conf, FinalizedSlot: fin}
	if _, now, err := in.chain.Clock(ctx, chain.Confirmed); err == nil {
		tip.ChainTime = &now
	} else {
		in.logger.Warn("chain clock unavailable", slog.String("error", err.Error()))
	}
	if err := store.SetChainTip(ctx, in.db, in.cfg.ProgramID, tip); err != nil {
		return err
	}
	if in.cfg.Commitment == store.Finalized {
		return store.SetFinalized(ctx, in.db, in.cfg.ProgramID, fin)
	}
	return in.settle(ctx, fin)
}

// settle promotes or reverts the confirmed transactions up to fin.
func (in *Ingester) settle(ctx context.Context, fin uint64) error {
	watermark := fin
	for {
		refs, err := store.ConfirmedTransactions(ctx, in.db, in.cfg.ProgramID, fin, statusBatch)
		if err != nil {
			return err
		}
		if len(refs) == 0 {
			break
		}
		sigs := make([]string, len(refs))
		for i, r := range refs {
			sigs[i] = r.Signature
		}
		statuses, err := in.chain.SignatureStatuses(ctx, sigs)
		if err != nil {
			return err
		}
		var promote, revert, reapply []string
		undecided := 0
		for i, r := range refs {
			st := statuses.Value[i]
			verdict := verdictUndecided
			switch {
			case st != nil && st.Slot == r.Slot && st.Commitment == string(chain.Finalized):
				verdict = verdictPromote
			case st != nil && st.Slot == r.Slot:
				// The node has not finalized it yet although its slot is.
			case st == nil && statuses.ContextSlot <= r.Slot:
				// A node that has not passed the slot knows nothing of it:
				// absence from it proves nothing.
			default:
				// Unknown to a node past the slot, or landed in another
				// slot: look for positive evidence in the finalized block.
				verdict, err = in.finalizedBlockVerdict(ctx, r)
				if err != nil {
					return err
				}
				if verdict == verdictRevert && st != nil {
					reapply = append(reapply, r.Signature)
				}
			}
			switch verdict {
			case verdictPromote:
				promote = append(promote, r.Signature)
			case verdictRevert:
				revert = append(revert, r.Signature)
			default:
				// Settle it next time, and keep the watermark below it.
				undecided++
				watermark = min(watermark, r.Slot-1)
			}
		}
		if err := store.Promote(ctx, in.db, promote); err != nil {
			return err
		}
		in.metrics.promoted(len(promote))
		if len(revert) > 0 {
			for _, r := range refs {
				if slices.Contains(revert, r.Signature) {
					in.blocks.drop(r.Slot) // the cached order was the abandoned fork's
				}
			}
			res, err := store.Revert(ctx, in.db, in.cfg.ProgramID, revert)
			if err != nil {
				return err
			}
			in.metrics.reverted(res.Transactions)
			in.logger.Warn("reverted transactions whose slot was abandoned",
				slog.Int("transactions", res.Transactions), slog.Int("events", res.Events))
		}
		if len(reapply) > 0 {
			if err := in.applySignatures(ctx, reapply, chain.Finalized); err != nil {
				return err
			}
		}
		if undecided == len(refs) || len(refs) < statusBatch {
			break
		}
	}
	return store.SetFinalized(ctx, in.db, in.cfg.ProgramID, watermark)
}

type verdict int

const (
	verdictUndecided verdict = iota
	verdictPromote
	verdictRevert
)

// finalizedBlockVerdict decides about r, a confirmed transaction whose
// status did not say it finalized in its slot, from the finalized block of
// its slot: holding it, it finalized there (promote); a node that finalized
// past the slot says the slot has no block (skipped) or gives a block
// without it: its fork was abandoned (revert). Anything else (a node that
// has not finalized the slot yet answers -32004) decides nothing.
func (in *Ingester) finalizedBlockVerdict(ctx context.Context, r store.TxRef) (verdict, error) {
	sigs, err := in.chain.BlockSignatures(ctx, r.Slot, chain.Finalized)
	switch {
	case errors.Is(err, chain.ErrSlotSkipped):
		return verdictRevert, nil
	case errors.Is(err, chain.ErrBlockUnavailable):
		return verdictUndecided, nil
	case err != nil:
		if ctx.Err() != nil {
			return verdictUndecided, ctx.Err()
		}
		in.logger.Warn("finalized block unreadable; the transaction stays confirmed",
			slog.Uint64("slot", r.Slot), slog.String("error", err.Error()))
		return verdictUndecided, nil
	case slices.Contains(sigs, r.Signature):
		return verdictPromote, nil
	}
	return verdictRevert, nil
}

// applySignatures fetches and applies sigs at commitment c, wherever they
// fall in chain order.
func (in *Ingester) applySignatures(ctx context.Context, sigs []string, c chain.Commitment) error {
	list := make([]chain.Signature, len(sigs))
	for i, s := range sigs {
		list[i] = chain.Signature{Signature: s}
	}
	txs, err := in.fetch(ctx, list, nil, c)
	// These come late, into slots that may hold applied transactions: their
	// block order places them, and without it they wait for the next try.
	for i := range txs {
		idx, oerr := in.blockIndex(ctx, txs[i].Slot, txs[i].Signature, c)
		if oerr != nil {
			txs, err = txs[:i], fmt.Errorf("order of slot %d: %w", txs[i].Slot, oerr)
			break
		}
		txs[i].BlockIndex = idx
	}
	if len(txs) > 0 {
		if aerr := in.apply(ctx, txs); aerr != nil {
			return aerr
		}
	}
	if err != nil {
		return fmt.Errorf("apply missed transactions: %w", err)
	}
	return nil
}
