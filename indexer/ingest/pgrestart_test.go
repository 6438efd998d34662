package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/migrations"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgcluster"
)

// TestPostgresRestartMidRunLosesNothing stops the indexer's PostgreSQL (a
// cluster of its own, not the shared test server) while transactions keep
// landing: the indexer waits, and once the server is back it resumes and
// applies everything once.
func TestPostgresRestartMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	cluster, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stopCluster := func(c *pgcluster.Cluster) {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	}
	current := cluster
	t.Cleanup(func() { stopCluster(current) })
	if _, err := migrations.Up(ctx, cluster.URL()); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	f, err := scenario.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, f, pool)
	b.start(b.newIngester(true))
	testkit.Eventually(t, 0, "subscribed", func() bool { return b.srv.Subscribers() == 1 })
	b.publish(0, 3)
	b.waitApplied(3)

	stopCluster(cluster)
	b.publish(3, 6)
	testkit.Eventually(t, 0, "the indexer meets the stopped database", func() bool {
		return b.metric("upgrade_manager_indexer_sync_errors_total")+b.metric("upgrade_manager_indexer_database_errors_total") > 0
	})

	restarted, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Port: cluster.Port()})
	if err != nil {
		t.Fatal(err)
	}
	current = restarted
	b.publish(6, len(b.slots))
	b.waitApplied(len(b.slots))
	b.assertComplete()
}
