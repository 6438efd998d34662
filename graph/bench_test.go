package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// percentiles reports p50, p95 and p99 of d in milliseconds.
func percentiles(b *testing.B, d []time.Duration, prefix string) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		return float64(d[min(int(p*float64(len(d))), len(d)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), prefix+"p50_ms")
	b.ReportMetric(at(0.95), prefix+"p95_ms")
	b.ReportMetric(at(0.99), prefix+"p99_ms")
}

func benchPool(b *testing.B) (string, *pgxpool.Pool) {
	b.Helper()
	url := pgtest.NewDB(b)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return url, pool
}

const benchProposalsQuery = `query($c: String, $p: PublicKey) {
	proposals(first: 20, after: $c, filter: {proposer: $p, status: [ACTIVE, APPROVED, READY_TO_EXECUTE]}) {
		edges { cursor node { address index kind status approvalCount threshold eta createdAt
			governance { address threshold } } }
		pageInfo { hasNextPage endCursor }
	}
}`

// BenchmarkProposalsQuery sends the proposals query over loopback at a
// fixed rate (open loop: a slow response does not slow the sender) to a
// server whose database holds 100,000 proposals, and reports latency
// percentiles. Pages start at cursors spread over the whole list. Run it
// with -benchtime=5000x for ten seconds at 500 requests per second.
func BenchmarkProposalsQuery(b *testing.B) {
	const (
		proposals = 100_000
		rate      = 500 // requests per second
	)
	url, pool := benchPool(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := graphtest.SeedProposals(context.Background(), pool, "bench-", proposals, 1, start); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(context.Background(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	base := graphtest.StartServer(b, url, nil)
	endpoint := base + "/graphql"
	proposer := graphtest.Key("bench-proposer")

	// Cursors at every 1000th proposal.
	var cursors []any
	cursors = append(cursors, nil)
	var c *string
	for len(cursors) < 50 {
		resp, _, err := graphtest.Query(context.Background(), endpoint,
			`query($c: String) { proposals(first: 100, after: $c) { pageInfo { endCursor } } }`, map[string]any{"c": c})
		if err != nil || len(resp.Errors) > 0 {
			b.Fatalf("collect cursors: %v %+v", err, resp)
		}
		var data struct {
			Proposals struct{ PageInfo struct{ EndCursor *string } }
		}
		_ = jsonUnmarshal(resp.Data, &data)
		c = data.Proposals.PageInfo.EndCursor
		cursors = append(cursors, *c)
	}
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 256

	lat := make([]time.Duration, b.N)
	errs := make(chan error, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			vars := map[string]any{"c": cursors[i%len(cursors)]}
			if i%2 == 1 {
				vars["p"] = proposer
			}
			t0 := time.Now()
			resp, status, err := graphtest.Query(context.Background(), endpoint, benchProposalsQuery, vars)
			lat[i] = time.Since(t0)
			if err == nil && (status != 200 || len(resp.Errors) > 0) {
				err = fmt.Errorf("status %d, errors %+v", status, resp.Errors)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	percentiles(b, lat, "")
}

func subscribedCount(b *testing.B, base string) float64 {
	v, err := graphtest.Metric(base, "upgrade_manager_graphql_subscriptions")
	if err != nil {
		b.Fatal(err)
	}
	return v
}
