package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/indexer/cluster"
)

// ClusterGenesis returns the genesis hash of the cluster programID's data
// came from, or ErrNotFound before it was recorded.
func ClusterGenesis(ctx context.Context, db DBTX, programID string) (string, error) {
	var h string
	err := db.QueryRow(ctx, `SELECT genesis_hash FROM indexed_cluster WHERE program_id = $1`, programID).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read indexed cluster: %w", err)
	}
	return h, nil
}

// SetClusterGenesis records the genesis hash of programID's cluster,
// claiming the database for programID (see Claim).
func SetClusterGenesis(ctx context.Context, db DBTX, programID, genesisHash string) error {
	if err := Claim(ctx, db, programID); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `INSERT INTO indexed_cluster (program_id, genesis_hash) VALUES ($1, $2)
		ON CONFLICT (program_id) DO UPDATE SET genesis_hash = excluded.genesis_hash, first_seen = now()`,
		programID, genesisHash)
	if err != nil {
		return fmt.Errorf("record indexed cluster: %w", err)
	}
	return nil
}

// Reset empties everything the indexer wrote (the event log, applied
// transactions, dead letters, projections, checkpoint, chain tip, cluster
// and the database's claim) in one transaction that notifies once, so the
// program is indexed again from scratch. It is programID's deployment's
// reset: on a database another program claimed it returns an error
// wrapping ErrOtherDeployment and empties nothing.
func Reset(ctx context.Context, db DBTX, programID string) error {
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := lockWriter(ctx, tx, programID); err != nil {
			return fmt.Errorf("lock writer: %w", err)
		}
		// One deployment per database: its rows are all the rows.
		tables := append([]string{"chain_event", "ingested_transaction", "dead_letter",
			"ingest_checkpoint", "chain_tip", "indexed_cluster", "deployment"}, projectionTables...)
		if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(tables, ", ")); err != nil {
			return fmt.Errorf("empty the indexer's tables: %w", err)
		}
		_, err := sendNotification(ctx, tx, Notification{Rebuilt: true, Reason: RebuildReset})
		return err
	})
	if err != nil {
		return fmt.Errorf("reset indexer data: %w", err)
	}
	return nil
}

// ErrOtherCluster is returned by CheckCluster when the database holds data
// of another cluster than the one asked about.
var ErrOtherCluster = cluster.ErrOtherCluster

// CheckCluster compares programID's recorded cluster with genesis (cluster.Compare), with ErrNotFound when no cluster is
// recorded yet.
func CheckCluster(ctx context.Context, db DBTX, programID, genesis string) error {
	recorded, err := ClusterGenesis(ctx, db, programID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	err = cluster.Compare(recorded, genesis)
	if errors.Is(err, cluster.ErrNotRecorded) {
		return ErrNotFound
	}
	return err
}
