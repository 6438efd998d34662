// Package cluster keeps the readers of the indexer's database (GraphQL, the
// cranks) from serving or acting on another cluster's data: a Guard
// compares the RPC's genesis hash with the cluster the database was filled
// from, and says no until they match.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrUnchecked is Guard.Check's answer before the first comparison
// succeeded, or while the indexer has not recorded the database's cluster.
var ErrUnchecked = errors.New("the database's cluster is not checked against the RPC yet")

// ErrOtherCluster is Guard.Check's and Check's answer while the database
// holds another cluster's data than the RPC serves.
var ErrOtherCluster = errors.New("the database holds another cluster's data")

// ErrNotRecorded is Check's answer before the indexer recorded the
// database's cluster.
var ErrNotRecorded = errors.New("the indexer has not recorded the database's cluster yet")

// Compare reports whether the database's data came from the cluster whose
// genesis hash is genesis, given recorded, the genesis hash the indexer
// recorded for the database ("" when none yet): nil when they are the same;
// ErrNotRecorded before the indexer recorded one; an error wrapping
// ErrOtherCluster otherwise. Readers (GraphQL, the cranks) serve and act
// only on nil, so that after a local node restarts they never show or act
// on the previous cluster's rows while the indexer resets. The readers read
// recorded through the read model (graph/store) and the writer through
// indexer/store: this package holds no SQL.
func Compare(recorded, genesis string) error {
	switch recorded {
	case "":
		return ErrNotRecorded
	case genesis:
		return nil
	}
	return fmt.Errorf("%w: database genesis %s, RPC genesis %s", ErrOtherCluster, recorded, genesis)
}

// RecordedFunc returns the genesis hash the indexer recorded for the
// database, "" when none yet.
type RecordedFunc func(ctx context.Context) (string, error)

// GenesisFunc returns the RPC's genesis hash.
type GenesisFunc func(ctx context.Context) (string, error)

// Guard compares the RPC's cluster with the database's every Interval.
type Guard struct {
	Genesis  GenesisFunc
	Recorded RecordedFunc
	// Interval between comparisons; zero means 2s.
	Interval time.Duration
	Logger   *slog.Logger

	mu      sync.Mutex
	verdict error
	checked bool
}

// Check returns the last verdict: nil while the database holds the RPC's
// cluster's data, ErrUnchecked before that is known, an error wrapping
// ErrOtherCluster while it holds another's. It does no I/O.
func (g *Guard) Check(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.checked {
		return ErrUnchecked
	}
	return g.verdict
}

// Refresh compares once. An RPC or database failure keeps the last
// verdict (the cluster did not change because the node is unreachable) and
// is returned.
func (g *Guard) Refresh(ctx context.Context) error {
	genesis, err := g.Genesis(ctx)
	if err != nil {
		return fmt.Errorf("read the RPC's genesis hash: %w", err)
	}
	recorded, err := g.Recorded(ctx)
	if err != nil {
		return fmt.Errorf("read the database's cluster: %w", err)
	}
	err = Compare(recorded, genesis)
	switch {
	case errors.Is(err, ErrNotRecorded):
		err = ErrUnchecked
	case err != nil && !errors.Is(err, ErrOtherCluster):
		return err
	}
	g.mu.Lock()
	changed := !g.checked || (g.verdict == nil) != (err == nil)
	g.verdict, g.checked = err, true
	g.mu.Unlock()
	if changed && g.Logger != nil {
		if err != nil {
			g.Logger.Warn("not serving: the database does not hold the RPC's cluster (yet); the indexer resets or records it",
				slog.String("reason", err.Error()))
		} else {
			g.Logger.Info("the database holds the RPC's cluster", slog.String("genesis", genesis))
		}
	}
	return nil
}

// Run refreshes every Interval until ctx ends, then returns nil.
func (g *Guard) Run(ctx context.Context) error {
	interval := g.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, max(interval, 5*time.Second))
		err := g.Refresh(rctx)
		cancel()
		if err != nil && ctx.Err() == nil && g.Logger != nil {
			g.Logger.Debug("cluster check failed; keeping the last verdict", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
