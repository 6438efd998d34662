package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// pageSize is getSignaturesForAddress's largest page.
const pageSize = 1000

// Sync applies every transaction of the program that is newer than the
// checkpoint and not applied yet, oldest first. It stops at the first
// transaction it cannot fetch, having applied the ones before it, so the
// checkpoint never passes an unapplied transaction.
func (in *Ingester) Sync(ctx context.Context) error {
	commitment := in.cfg.Commitment
	tip, err := in.chain.Slot(ctx, commitment)
	if err != nil {
		return err
	}
	in.observeTip(tip)
	cp, err := in.checkpoint(ctx, tip)
	if err != nil {
		return err
	}
	listed, err := in.listSince(ctx, cp, commitment)
	if err != nil {
		return err
	}
	sigs := make([]string, len(listed))
	perSlot := map[uint64]int{}
	for i, s := range listed {
		sigs[i] = s.Signature
		perSlot[s.Slot]++
	}
	applied, err := store.AppliedSignatures(ctx, in.db, sigs)
	if err != nil {
		return err
	}
	var todo []chain.Signature
	for i := len(listed) - 1; i >= 0; i-- { // oldest first
		s := listed[i]
		if applied[s.Signature] {
			in.hints.take(s.Signature)
			in.cache.take(s.Signature) // fetched ahead, but applied by an earlier sync
			continue
		}
		applied[s.Signature] = true // a signature listed twice is applied once
		todo = append(todo, s)
	}
	// Several transactions of the program in one slot: their order in the
	// block decides the order of their events, and batches must follow it.
	// A slot whose order is unknown is not applied, nor anything after it:
	// the sync applies what comes before and stops, and the next one asks
	// again (listing order is not block order).
	slices.SortStableFunc(todo, func(a, b chain.Signature) int { return cmp.Compare(a.Slot, b.Slot) })
	var multi []uint64
	for _, s := range todo {
		if perSlot[s.Slot] > 1 && (len(multi) == 0 || multi[len(multi)-1] != s.Slot) {
			multi = append(multi, s.Slot)
		}
	}
	orders, failed, orderErr := in.readBlocks(ctx, multi, commitment)
	pos := make(map[string]int, len(todo))
	for i, s := range todo {
		pos[s.Signature] = -1
		if perSlot[s.Slot] < 2 {
			continue
		}
		idx, ok := orders[s.Slot][s.Signature]
		var err error
		switch {
		case orderErr != nil && s.Slot >= failed:
			err = orderErr
		case !ok:
			err = fmt.Errorf("block %d does not hold transaction %s", s.Slot, s.Signature)
		}
		if err != nil {
			orderErr = fmt.Errorf("order of slot %d: %w", s.Slot, err)
			cut := i
			for cut > 0 && todo[cut-1].Slot == s.Slot {
				cut--
			}
			todo = todo[:cut]
			break
		}
		pos[s.Signature] = idx
	}
	slices.SortStableFunc(todo, func(a, b chain.Signature) int {
		return cmp.Or(cmp.Compare(a.Slot, b.Slot), cmp.Compare(pos[a.Signature], pos[b.Signature]))
	})
	if err := in.applyChunks(ctx, slices.Collect(slices.Chunk(todo, in.cfg.BatchSize)), pos, commitment); err != nil {
		return err
	}
	if orderErr != nil {
		return orderErr
	}
	gone := in.hints.missed()
	for _, sig := range gone {
		in.cache.take(sig)
	}
	if len(gone) > 0 {
		in.logger.Warn("notified transactions never listed; reconciliation will look for them", slog.Int("count", len(gone)))
	}
	in.syncedSlot.Store(max(in.syncedSlot.Load(), tip))
	in.metrics.synced(tip, in.tipSlot.Load())
	in.lastSync.Store(time.Now().UnixNano())
	in.ready.Store(true)
	return nil
}

// fetched is one chunk's transactions, fetched and decoded.
type fetched struct {
	txs []store.Transaction
	err error
}

// applyChunks fetches and applies chunks in order, fetching the next chunk
// while the current one is written. It stops at the first chunk that could
// not be fetched whole, after applying what was fetched of it.
func (in *Ingester) applyChunks(ctx context.Context, chunks [][]chain.Signature, pos map[string]int, c chain.Commitment) error {
	if len(chunks) == 0 {
		return nil
	}
	start := func(chunk []chain.Signature) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			txs, err := in.fetch(ctx, chunk, pos, c)
			ch <- fetched{txs, err}
		}()
		return ch
	}
	next := start(chunks[0])
	for i := range chunks {
		f := <-next
		next = nil
		if f.err == nil && i+1 < len(chunks) {
			next = start(chunks[i+1])
		}
		err := in.applyFetched(ctx, f.txs)
		if err == nil {
			err = f.err
		}
		if err != nil {
			if next != nil {
				// Let the fetch in flight end, and keep what it got.
				for _, t := range (<-next).txs {
					in.cache.put(t.Signature, t.Raw)
				}
			}
			return err
		}
	}
	return nil
}

// applyFetched applies txs, counting those no notification announced.
func (in *Ingester) applyFetched(ctx context.Context, txs []store.Transaction) error {
	if len(txs) == 0 {
		return nil
	}
	notified := 0
	for _, t := range txs {
		if in.hints.take(t.Signature) {
			notified++
		}
	}
	if err := in.apply(ctx, txs); err != nil {
		return err
	}
	in.metrics.backfilled(len(txs) - notified)
	return nil
}

// checkpoint returns the program's checkpoint, creating it from the start
// mode on the first run.
func (in *Ingester) checkpoint(ctx context.Context, tip uint64) (store.Checkpoint, error) {
	cp, err := store.GetCheckpoint(ctx, in.db, in.cfg.ProgramID)
	if !errors.Is(err, store.ErrNotFound) {
		return cp, err
	}
	var start uint64
	switch in.cfg.Start {
	case StartEarliest:
		return cp, nil // slot 0: the whole history
	case StartLatest:
		start = tip
	default:
		start, _ = strconv.ParseUint(in.cfg.Start, 10, 64) // validated
	}
	if err := store.InitCheckpoint(ctx, in.db, in.cfg.ProgramID, start); err != nil {
		return cp, err
	}
	return store.GetCheckpoint(ctx, in.db, in.cfg.ProgramID)
}

// listSince lists the program's signatures newest first, down to the
// checkpoint's slot included. It pages by slot, not with until = the
// checkpoint's signature: the order of one slot's signatures is not
// reliable, so a transaction of the checkpoint's slot could sit after it in
// the listing; those already applied are filtered out afterwards.
func (in *Ingester) listSince(ctx context.Context, cp store.Checkpoint, c chain.Commitment) ([]chain.Signature, error) {
	var out []chain.Signature
	before := ""
	for {
		page, err := in.chain.Signatures(ctx, in.cfg.ProgramID, before, pageSize, c)
		if err != nil {
			return nil, err
		}
		for _, s := range page {
			if s.Slot < cp.LastSlot {
				return out, nil
			}
			out = append(out, s)
		}
		if len(page) < pageSize {
			return out, nil
		}
		before = page[len(page)-1].Signature
	}
}

// fetch gets and decodes the transactions of sigs (oldest first) with
// bounded concurrency, giving each its position in its block from pos (-1
// when absent: the only transaction of the program in its slot). It returns
// the longest prefix it could fetch, and an error when that is not all of
// them.
func (in *Ingester) fetch(ctx context.Context, sigs []chain.Signature, pos map[string]int, c chain.Commitment) ([]store.Transaction, error) {
	raws := make([]json.RawMessage, len(sigs))
	errs := make([]error, len(sigs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(in.cfg.Concurrency)
	for i, s := range sigs {
		g.Go(func() error {
			raws[i], errs[i] = in.transaction(gctx, s.Signature, c)
			return nil
		})
	}
	_ = g.Wait()

	out := make([]store.Transaction, 0, len(sigs))
	// What was fetched after a failure is kept for the next sync, which
	// then fetches only what is missing.
	keep := func(from int) {
		for j := from; j < len(sigs); j++ {
			if errs[j] == nil && raws[j] != nil {
				in.cache.put(sigs[j].Signature, raws[j])
			}
		}
	}
	for i, s := range sigs {
		if errs[i] != nil {
			keep(i + 1)
			return out, errs[i]
		}
		t, err := in.decode(s.Signature, raws[i], c)
		if err != nil {
			keep(i + 1)
			return out, err
		}
		if s.Slot != 0 && t.Slot != s.Slot {
			// Listed in one slot, fetched from another: the fork changed
			// between the two reads. The next sync lists it again.
			keep(i + 1)
			return out, fmt.Errorf("transaction %s listed in slot %d, fetched in slot %d", s.Signature, s.Slot, t.Slot)
		}
		if i, ok := pos[t.Signature]; ok {
			t.BlockIndex = i
		}
		if s.Finalized {
			// The listing already says so (and the transaction is in the
			// slot it listed): no promotion needed later.
			t.Commitment = store.Finalized
		}
		out = append(out, t)
	}
	return out, nil
}

// notFoundRetries bounds how often a listed transaction that getTransaction
// does not find (a node behind the one that listed it) is asked for again
// within one sync.
const notFoundRetries = 5

// transaction returns the getTransaction result of sig.
func (in *Ingester) transaction(ctx context.Context, sig string, c chain.Commitment) (json.RawMessage, error) {
	if raw, ok := in.cache.take(sig); ok {
		return raw, nil
	}
	b := backoff.Backoff{Min: in.cfg.MinBackoff, Max: in.cfg.MaxBackoff}
	for attempt := 0; ; attempt++ {
		raw, err := in.chain.Transaction(ctx, sig, c)
		if !errors.Is(err, chain.ErrNotFound) || attempt >= notFoundRetries {
			if err != nil {
				return nil, fmt.Errorf("listed transaction %s: %w", sig, err)
			}
			return raw, nil
		}
		if err := backoff.Sleep(ctx, b.Next()); err != nil {
			return nil, err
		}
	}
}

// decode turns a getTransaction result into a store transaction. A result
// that the decoder rejects as a whole becomes a dead letter.
func (in *Ingester) decode(sig string, raw json.RawMessage, c chain.Commitment) (store.Transaction, error) {
	return decodeTransaction(in.decoder, in.metrics, sig, raw, c)
}

func decodeTransaction(dec Decoder, m *Metrics, sig string, raw json.RawMessage, c chain.Commitment) (store.Transaction, error) {
	// The decoder reads the result once, header included.
	d, err := dec.Decode(raw)
	if d.Header == nil {
		if err == nil {
			err = errors.New("the decoder returned no header")
		}
		return store.Transaction{}, fmt.Errorf("transaction %s: malformed getTransaction result: %w", sig, err)
	}
	t := store.Transaction{
		Signature:  sig,
		Slot:       d.Header.Slot,
		BlockTime:  d.Header.Time(),
		BlockIndex: -1,
		Commitment: c,
		Failed:     d.Header.Failed,
		Raw:        raw,
	}
	if err != nil {
		reason := reasonOf(err)
		m.decodeError(reason)
		t.DeadLetters = []store.DeadLetter{{Reason: reason + ": " + err.Error(), Raw: raw}}
		return t, nil
	}
	if d.Truncated {
		m.truncated()
	}
	for _, l := range d.DeadLetters {
		// A dead letter's reason starts with its label: "short: ...".
		label, _, _ := strings.Cut(l.Reason, ":")
		m.decodeError(label)
	}
	t.Events, t.DeadLetters = d.Events, d.DeadLetters
	return t, nil
}

// Reasoner is an error that names its reason, as the decoder's errors do.
type Reasoner interface {
	Reason() string
}

// reasonOf returns err's machine-readable reason, for metrics labels.
func reasonOf(err error) string {
	var r Reasoner
	if errors.As(err, &r) {
		return r.Reason()
	}
	return malformedTransaction
}

// readBlocks returns the block order of slots (ascending), from the block
// cache or read with bounded concurrency (and cached). On failure it also
// returns the lowest slot that could not be read and its error; the orders
// of the slots before it are returned.
func (in *Ingester) readBlocks(ctx context.Context, slots []uint64, c chain.Commitment) (map[uint64]map[string]int, uint64, error) {
	orders := make([]map[string]int, len(slots))
	errs := make([]error, len(slots))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(in.cfg.Concurrency)
	for i, slot := range slots {
		if o, ok := in.blocks.get(slot); ok {
			orders[i] = o
			continue
		}
		g.Go(func() error {
			sigs, err := in.chain.BlockSignatures(gctx, slot, c)
			if err != nil {
				errs[i] = err
				return nil
			}
			order := make(map[string]int, len(sigs))
			for j, s := range sigs {
				order[s] = j
			}
			in.blocks.put(slot, order)
			orders[i] = order
			return nil
		})
	}
	_ = g.Wait()
	out := make(map[uint64]map[string]int, len(slots))
	for i, slot := range slots {
		if errs[i] != nil {
			return out, slot, errs[i]
		}
		out[slot] = orders[i]
	}
	return out, 0, nil
}

// blockIndex returns the position of sig in the block at slot. It fails
// when the block cannot be read (chain.ErrBlockUnavailable after bounded
// retries, chain.ErrSlotSkipped) or does not hold sig: then the slot's
// order is unknown, and the caller must not apply its transactions. Only
// blocks read whole are cached.
func (in *Ingester) blockIndex(ctx context.Context, slot uint64, sig string, c chain.Commitment) (int, error) {
	order, ok := in.blocks.get(slot)
	if !ok {
		sigs, err := in.chain.BlockSignatures(ctx, slot, c)
		if err != nil {
			return -1, err
		}
		order = make(map[string]int, len(sigs))
		for i, s := range sigs {
			order[s] = i
		}
		in.blocks.put(slot, order)
	}
	if i, ok := order[sig]; ok {
		return i, nil
	}
	return -1, fmt.Errorf("block %d does not hold transaction %s", slot, sig)
}

// applyTimeout bounds one batch's database transaction, which runs to its
// end even when ctx ends so that a batch in flight commits.
const applyTimeout = time.Minute

// apply writes txs in one batch, retrying database failures (a restarting
// PostgreSQL) with backoff until it commits or ctx ends. When the database
// refuses the batch's data (store.IsDataError), the transactions are
// written one by one and each one refused again is recorded as a refused
// transaction (a dead letter with its getTransaction result), so that one
// transaction can never stall the indexer.
func (in *Ingester) apply(ctx context.Context, txs []store.Transaction) error {
	b := backoff.Backoff{Min: in.cfg.MinBackoff, Max: in.cfg.MaxBackoff}
	for {
		start := time.Now()
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), applyTimeout)
		res, err := store.ApplyBatch(actx, in.db, in.cfg.ProgramID, txs)
		cancel()
		if err == nil {
			in.observeApplied(txs)
			in.metrics.applied(res, time.Since(start), in.appliedSlot.Load())
			return nil
		}
		in.metrics.dbError()
		if store.IsDataError(err) {
			if len(txs) == 1 {
				return in.refuse(ctx, txs[0], err)
			}
			for _, t := range txs {
				if err := in.apply(ctx, []store.Transaction{t}); err != nil {
					return err
				}
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := b.Next()
		if n := b.Attempts(); n == 1 || n%10 == 0 {
			in.logger.Warn("database write failed; retrying the batch", slog.Int("transactions", len(txs)),
				slog.Int("attempt", n), slog.Duration("retry_in", d), slog.String("error", err.Error()))
		}
		if err := backoff.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// refuse records t, whose rows the database refused with cause, as a
// refused transaction, retrying outages like apply.
func (in *Ingester) refuse(ctx context.Context, t store.Transaction, cause error) error {
	in.logger.Error("the database refused a transaction's rows; it is recorded as a dead letter and skipped: fix the cause, then run `indexer replay` to apply it",
		slog.String("signature", t.Signature), slog.Uint64("slot", t.Slot), slog.String("error", cause.Error()))
	b := backoff.Backoff{Min: in.cfg.MinBackoff, Max: in.cfg.MaxBackoff}
	for {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), applyTimeout)
		res, err := store.RefuseTransaction(actx, in.db, in.cfg.ProgramID, t, cause)
		cancel()
		if err == nil {
			in.observeApplied([]store.Transaction{t})
			in.metrics.refused(res)
			return nil
		}
		in.metrics.dbError()
		if store.IsDataError(err) || ctx.Err() != nil {
			return fmt.Errorf("record refused transaction: %w", err)
		}
		if err := backoff.Sleep(ctx, b.Next()); err != nil {
			return err
		}
	}
}

func (in *Ingester) observeApplied(txs []store.Transaction) {
	for _, t := range txs {
		if t.Slot > in.appliedSlot.Load() {
			in.appliedSlot.Store(t.Slot)
		}
	}
}

func (in *Ingester) observeTip(slot uint64) {
	if slot > in.tipSlot.Load() {
		in.tipSlot.Store(slot)
	}
	in.metrics.tip(in.tipSlot.Load(), in.syncedSlot.Load())
}
