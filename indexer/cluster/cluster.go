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

	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// ErrUnchecked is Guard.Check's answer before the first comparison
// succeeded, or while the indexer has not recorded the database's cluster.
var ErrUnchecked = errors.New("the database's cluster is not checked against the RPC yet")

// ErrOtherCluster is Guard.Check's answer while the database holds another
// cluster's data than the RPC serves.
var ErrOtherCluster = store.ErrOtherCluster

// GenesisFunc returns the RPC's genesis hash.
type GenesisFunc func(ctx context.Context) (string, error)

// Guard compares the RPC's cluster with the database's every Interval.
type Guard struct {
	Genesis GenesisFunc
	DB      store.DBTX
	// ProgramID limits the comparison to one program's data; empty
	// compares every program's.
	ProgramID string
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
	err = store.CheckCluster(ctx, g.DB, g.ProgramID, genesis)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = ErrUnchecked
	case err != nil && !errors.Is(err, store.ErrOtherCluster):
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
