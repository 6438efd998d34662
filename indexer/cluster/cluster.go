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

	"github.com/jackc/pgx/v5"
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

// Querier is what Check reads with: *pgxpool.Pool, *pgx.Conn and pgx.Tx
// implement it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Check reports whether the database's data came from the cluster whose
// genesis hash is genesis: nil when the recorded cluster of programID (of
// every program when programID is empty) is that one; ErrNotRecorded when
// none is recorded yet (the indexer has not checked the cluster); an error
// wrapping ErrOtherCluster otherwise. Readers (GraphQL, the cranks) serve
// and act only on nil, so that after a local node restarts they never
// show or act on the previous cluster's rows while the indexer resets. It
// lives here, not in indexer/store, so that a reader checks the cluster
// without linking the writer.
func Check(ctx context.Context, db Querier, programID, genesis string) error {
	rows, err := db.Query(ctx, `SELECT DISTINCT genesis_hash FROM indexed_cluster WHERE $1 = '' OR program_id = $1`, programID)
	if err != nil {
		return fmt.Errorf("read indexed cluster: %w", err)
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read indexed cluster: %w", err)
	}
	if len(hashes) == 0 {
		return ErrNotRecorded
	}
	for _, h := range hashes {
		if h != genesis {
			return fmt.Errorf("%w: database genesis %s, RPC genesis %s", ErrOtherCluster, h, genesis)
		}
	}
	return nil
}

// GenesisFunc returns the RPC's genesis hash.
type GenesisFunc func(ctx context.Context) (string, error)

// Guard compares the RPC's cluster with the database's every Interval.
type Guard struct {
	Genesis GenesisFunc
	DB      Querier
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
	err = Check(ctx, g.DB, g.ProgramID, genesis)
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
