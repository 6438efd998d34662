package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// Chain is the RPC the ingester reads; *chain.Client implements it.
type Chain interface {
	Signatures(ctx context.Context, address, before string, limit int, c chain.Commitment) ([]chain.Signature, error)
	Transaction(ctx context.Context, sig string, c chain.Commitment) (json.RawMessage, error)
	BlockSignatures(ctx context.Context, slot uint64, c chain.Commitment) ([]string, error)
	SignatureStatuses(ctx context.Context, sigs []string) (chain.Statuses, error)
	Slot(ctx context.Context, c chain.Commitment) (uint64, error)
	Clock(ctx context.Context, c chain.Commitment) (uint64, time.Time, error)
	GenesisHash(ctx context.Context) (string, error)
}

// Logs is the log subscription that triggers ingestion; *chain.Subscriber
// implements it.
type Logs interface {
	Run(ctx context.Context, onSubscribed func(), onLog func(chain.Log)) error
}

// Decoder turns a getTransaction result (json encoding) into the program's
// events. An error rejects the whole transaction: it is recorded as a dead
// letter with the error's reason, and ingestion goes on.
type Decoder interface {
	Decode(result json.RawMessage) (Decoded, error)
}

// Decoded is what a Decoder found in one transaction.
type Decoded struct {
	// Header is where and when the transaction landed and whether it
	// failed, as the result says; nil when the result is not even JSON
	// with a header (Decode then returns an error, and the transaction
	// cannot be filed).
	Header *decode.Header
	// Events in emission order.
	Events []store.Event
	// DeadLetters are the instructions that looked like events of the
	// program but could not be decoded; Reason is a short machine-readable
	// reason (it labels the decode errors metric).
	DeadLetters []store.DeadLetter
	// Truncated says the transaction's logs were truncated (events travel
	// in inner instructions, which are not, so nothing is lost).
	Truncated bool
}

// Start modes for a program indexed for the first time.
const (
	// StartEarliest indexes the program's whole history.
	StartEarliest = "earliest"
	// StartLatest indexes from the chain's tip when first started.
	StartLatest = "latest"
)

// Config configures an Ingester.
type Config struct {
	// ProgramID is the program whose transactions are indexed.
	ProgramID string
	// Commitment transactions are read at: confirmed (rows later promoted
	// to finalized, or reverted) or finalized.
	Commitment store.Commitment
	// Start applies when the database has no checkpoint for the program:
	// StartEarliest, StartLatest, or a slot number to start at.
	Start string
	// Concurrency bounds concurrent getTransaction calls.
	Concurrency int
	// BatchSize is the most transactions one database transaction applies.
	BatchSize int
	// PollInterval is how often to look for new transactions when no
	// notification comes, which bounds the delay of anything the
	// subscription misses.
	PollInterval time.Duration
	// FinalityInterval is how often to read the chain tip and promote or
	// revert confirmed transactions.
	FinalityInterval time.Duration
	// ReconcileInterval is how often to compare finalized history with what
	// was applied.
	ReconcileInterval time.Duration
	// MinBackoff and MaxBackoff bound retry delays after failures.
	MinBackoff, MaxBackoff time.Duration
	// ResetOnNewCluster empties the program's data when the RPC serves
	// another cluster (genesis hash) than the one the database was filled
	// from, as when a local node restarts; otherwise Run refuses to start.
	ResetOnNewCluster bool
}

func (c *Config) setDefaults() {
	if c.Commitment == "" {
		c.Commitment = store.Confirmed
	}
	if c.Start == "" {
		c.Start = StartEarliest
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 15 * time.Second
	}
	if c.FinalityInterval <= 0 {
		c.FinalityInterval = 5 * time.Second
	}
	if c.ReconcileInterval <= 0 {
		c.ReconcileInterval = time.Minute
	}
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	if c.ProgramID == "" {
		return errors.New("program id is empty")
	}
	switch c.Commitment {
	case "", store.Confirmed, store.Finalized:
	default:
		return fmt.Errorf("commitment %q: want confirmed or finalized", c.Commitment)
	}
	switch c.Start {
	case "", StartEarliest, StartLatest:
	default:
		if _, err := strconv.ParseUint(c.Start, 10, 64); err != nil {
			return fmt.Errorf("start %q: want earliest, latest or a slot number", c.Start)
		}
	}
	return nil
}

// Ingester keeps the database true to the chain for one program: it applies
// every transaction of the program exactly once, in chain order, and never
// moves its checkpoint past a transaction it has not applied.
//
// The log subscription only triggers work. Each sync lists the program's
// signatures newer than the checkpoint (getSignaturesForAddress, paging
// back), fetches those not applied (getTransaction, bounded concurrency),
// orders them by slot and block position and applies them oldest first in
// batches. So a notification lost, duplicated or reordered changes nothing,
// and a reconnect is followed by a sync that backfills the gap.
type Ingester struct {
	cfg     Config
	db      store.DBTX
	chain   Chain
	logs    Logs
	decoder Decoder
	metrics *Metrics
	logger  *slog.Logger

	trigger       chan struct{}
	prefetchQueue chan string
	hints         hints
	cache         txCache
	blocks        blockCache

	ready      atomic.Bool
	lastSync   atomic.Int64 // unix nanoseconds of the last successful sync
	syncedSlot atomic.Uint64
	tipSlot    atomic.Uint64
	// appliedSlot is the newest slot of a transaction applied by this process.
	appliedSlot atomic.Uint64
}

// New returns an ingester. logs may be nil: the ingester then polls.
func New(cfg Config, db store.DBTX, c Chain, logs Logs, d Decoder, m *Metrics, logger *slog.Logger) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Ingester{
		cfg: cfg, db: db, chain: c, logs: logs, decoder: d, metrics: m, logger: logger,
		trigger:       make(chan struct{}, 1),
		prefetchQueue: make(chan string, 1024),
		hints:         hints{m: map[string]*hint{}},
		cache:         txCache{m: map[string]json.RawMessage{}},
		blocks:        blockCache{m: map[uint64]map[string]int{}},
	}, nil
}

// ErrOtherCluster is returned by Run when the database holds data of
// another cluster than the RPC serves.
var ErrOtherCluster = errors.New("the database was filled from another cluster")

// Run ingests until ctx ends, then returns nil. A batch being written when
// ctx ends is committed or rolled back whole. It returns ErrOtherCluster
// when the RPC serves another cluster than the database was filled from
// (unless Config.ResetOnNewCluster), and an error wrapping
// store.ErrOtherDeployment when another program's indexer claimed the
// database.
func (in *Ingester) Run(ctx context.Context) error {
	if err := in.checkCluster(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if in.logs != nil {
		g.Go(func() error { return in.logs.Run(gctx, in.kick, in.onLog) })
	}
	g.Go(func() error { return in.prefetchLoop(gctx) })
	g.Go(func() error { return in.syncLoop(gctx) })
	g.Go(func() error { return in.finalityLoop(gctx) })
	g.Go(func() error { return in.reconcileLoop(gctx) })
	g.Go(func() error { return in.clusterLoop(gctx) })
	err := g.Wait()
	// A sync that was in flight when another loop failed (the cluster
	// changed) may have marked the ingester ready after that loop said it
	// was not: an ingester that stopped is not ready.
	in.ready.Store(false)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// clusterLoop compares the RPC's genesis hash with the database's every
// finality interval: a node that restarted as another cluster under a
// running indexer makes it not ready at once, and Run return
// ErrOtherCluster (a restart resets with Config.ResetOnNewCluster, or
// refuses), so nothing of the new cluster is mixed into the old one's log.
func (in *Ingester) clusterLoop(ctx context.Context) error {
	t := time.NewTicker(in.cfg.FinalityInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		genesis, err := in.chain.GenesisHash(ctx)
		if err != nil {
			continue // the node is unreachable: the other loops say so
		}
		stored, err := store.ClusterGenesis(ctx, in.db, in.cfg.ProgramID)
		if err != nil || stored == genesis {
			continue
		}
		in.ready.Store(false)
		in.logger.Error("the RPC now serves another cluster; stopping: restart the indexer (with -reset-on-new-cluster to index the new cluster from scratch)",
			slog.String("database_genesis", stored), slog.String("rpc_genesis", genesis))
		return fmt.Errorf("%w: database genesis %s, RPC genesis %s", ErrOtherCluster, stored, genesis)
	}
}

// checkCluster compares the RPC's genesis hash with the database's,
// recording it the first time, and waits out database failures.
func (in *Ingester) checkCluster(ctx context.Context) error {
	genesis, err := in.chain.GenesisHash(ctx)
	if err != nil {
		return err
	}
	b := backoff.Backoff{Min: in.cfg.MinBackoff, Max: in.cfg.MaxBackoff}
	for {
		err := in.matchCluster(ctx, genesis)
		if err == nil || errors.Is(err, ErrOtherCluster) || errors.Is(err, store.ErrOtherDeployment) {
			return err
		}
		in.logger.Warn("database unavailable; retrying", slog.String("error", err.Error()))
		if err := backoff.Sleep(ctx, b.Next()); err != nil {
			return err
		}
	}
}

// matchCluster claims the database for the program (refusing another
// program's database before anything else, -reset-on-new-cluster or not),
// then compares the clusters.
func (in *Ingester) matchCluster(ctx context.Context, genesis string) error {
	if err := store.Claim(ctx, in.db, in.cfg.ProgramID); err != nil {
		return err
	}
	stored, err := store.ClusterGenesis(ctx, in.db, in.cfg.ProgramID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.SetClusterGenesis(ctx, in.db, in.cfg.ProgramID, genesis)
	case err != nil:
		return err
	case stored == genesis:
		return nil
	case !in.cfg.ResetOnNewCluster:
		return fmt.Errorf("%w: database genesis %s, RPC genesis %s", ErrOtherCluster, stored, genesis)
	}
	in.logger.Warn("the RPC serves a new cluster; emptying the indexer's tables",
		slog.String("old_genesis", stored), slog.String("new_genesis", genesis))
	if err := store.Reset(ctx, in.db, in.cfg.ProgramID); err != nil {
		return err
	}
	return store.SetClusterGenesis(ctx, in.db, in.cfg.ProgramID, genesis)
}

// Ready reports whether the ingester has caught up with the chain once and
// its last sync succeeded within a few poll intervals.
func (in *Ingester) Ready() bool {
	if !in.ready.Load() {
		return false
	}
	last := time.Unix(0, in.lastSync.Load())
	return time.Since(last) < 4*in.cfg.PollInterval+time.Minute
}

// kick asks the sync loop for a sync; kicks while one is pending coalesce.
func (in *Ingester) kick() {
	select {
	case in.trigger <- struct{}{}:
	default:
	}
}

// onLog handles a notification: remember the signature, fetch the
// transaction ahead of the sync, and ask for a sync.
func (in *Ingester) onLog(l chain.Log) {
	if in.hints.add(l.Signature) {
		select {
		case in.prefetchQueue <- l.Signature:
		default: // the sync will fetch it
		}
	}
	in.kick()
}

func (in *Ingester) syncLoop(ctx context.Context) error {
	b := backoff.Backoff{Min: in.cfg.MinBackoff, Max: in.cfg.MaxBackoff}
	poll := time.NewTimer(0) // sync at once on start
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-in.trigger:
		case <-poll.C:
		}
		err := in.Sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, store.ErrOtherDeployment) {
			return err // another program's indexer claimed the database: retrying cannot help
		}
		next := in.cfg.PollInterval
		if err != nil {
			in.metrics.syncError()
			next = b.Next()
			in.logger.Warn("sync failed; retrying", slog.String("error", err.Error()), slog.Duration("retry_in", next))
		} else {
			b.Reset()
			if in.hints.pending() {
				// A notified transaction was not listed yet (a node behind
				// its peers): look again soon.
				next = min(next, time.Second)
			}
		}
		poll.Reset(next)
	}
}

// tick runs fn every interval until ctx ends; failures are logged and
// retried at the next tick.
func (in *Ingester) tick(ctx context.Context, name string, interval time.Duration, fn func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := fn(ctx)
		if errors.Is(err, store.ErrOtherDeployment) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			in.logger.Warn(name+" failed; retrying at the next tick", slog.String("error", err.Error()))
		}
	}
}

// hint is a signature a notification announced.
type hint struct {
	syncs int // syncs that did not list it yet
}

// hints are the notified signatures not yet seen applied.
type hints struct {
	mu sync.Mutex
	m  map[string]*hint
}

// maxHintSyncs is how many syncs may miss a notified signature before it is
// left to reconciliation.
const maxHintSyncs = 10

func (h *hints) add(sig string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[sig]; ok {
		return false
	}
	h.m[sig] = &hint{}
	return true
}

// take removes sig and reports whether it was notified.
func (h *hints) take(sig string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.m[sig]
	delete(h.m, sig)
	return ok
}

// missed counts a sync that did not list the remaining hints and returns
// those given up on.
func (h *hints) missed() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var gone []string
	for sig, x := range h.m {
		x.syncs++
		if x.syncs >= maxHintSyncs {
			gone = append(gone, sig)
			delete(h.m, sig)
		}
	}
	return gone
}

func (h *hints) pending() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m) > 0
}

// txCache holds transactions fetched ahead of the sync that applies them.
type txCache struct {
	mu sync.Mutex
	m  map[string]json.RawMessage
}

// maxCached bounds the prefetch cache; past it, prefetches are skipped
// (the sync fetches what it needs).
const maxCached = 4096

func (c *txCache) put(sig string, raw json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) < maxCached {
		c.m[sig] = raw
	}
}

func (c *txCache) take(sig string) (json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, ok := c.m[sig]
	delete(c.m, sig)
	return raw, ok
}

// prefetchLoop fetches notified transactions ahead of the sync that
// applies them, with a few workers.
func (in *Ingester) prefetchLoop(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for range max(1, in.cfg.Concurrency/2) {
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case sig := <-in.prefetchQueue:
					raw, err := in.chain.Transaction(ctx, sig, in.cfg.Commitment)
					if err == nil {
						in.cache.put(sig, raw)
					}
				}
			}
		})
	}
	return g.Wait()
}

// blockCache keeps the transaction order of recently read blocks.
type blockCache struct {
	mu sync.Mutex
	m  map[uint64]map[string]int
}

// maxCachedBlocks bounds the block cache. A sync reads the orders it needs
// into a map of its own, so the cache only saves reads across syncs (late
// transactions, reconciliation, the next sync's overlap with the last).
const maxCachedBlocks = 1024

func (b *blockCache) get(slot uint64) (map[string]int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.m[slot]
	return o, ok
}

func (b *blockCache) drop(slot uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, slot)
}

// put caches order; when full, the older half of the slots goes (the
// indexer reads forward, so old slots are the least likely to come back).
func (b *blockCache) put(slot uint64, order map[string]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) >= maxCachedBlocks {
		slots := slices.Sorted(maps.Keys(b.m))
		for _, s := range slots[:len(slots)/2] {
			delete(b.m, s)
		}
	}
	b.m[slot] = order
}
