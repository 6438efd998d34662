package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// Many subscribers of an event with a nested selection cost the database
// a few reads per event, not a few per subscriber per event. The count is
// PostgreSQL's own (pg_stat_database.xact_commit of the test database),
// read after every connection to it has closed and flushed its counters.
func TestSubscribersShareDatabaseReads(t *testing.T) {
	t.Parallel()
	sc, err := graphtest.LoadScenario()
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDB(t)
	before := xactCommits(t, url)

	cfg := graph.DefaultServerConfig()
	cfg.Addr, cfg.DatabaseURL = "127.0.0.1:0", url
	s := graph.NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var runErr error
	shutdown := sync.OnceFunc(func() { stop(); runErr = <-done })
	defer shutdown()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	base := "http://" + s.Addr().String()

	const conns, perConn = 4, 10
	const sub = `subscription { approvals { cursor proposal { address status governance { address threshold } approvals { member } } } }`
	var sockets []*graphtest.WS
	for i := range conns {
		proto := []string{graphtest.TransportWS, graphtest.LegacyWS}[i%2]
		ws := dial(t, base, proto)
		for j := range perConn {
			if err := ws.Subscribe(t.Context(), fmt.Sprint(j), sub, nil); err != nil {
				t.Fatal(err)
			}
		}
		sockets = append(sockets, ws)
	}
	waitMetric(t, base, "upgrade_manager_graphql_subscriptions", conns*perConn)

	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range sc.Txs {
		if err := sc.Apply(t.Context(), pool, tx); err != nil {
			t.Fatal(err)
		}
	}
	pool.Close()
	var approvals int
	for _, e := range graphtest.Events(sc.Txs) {
		if e.Name == "ProposalApproved" || e.Name == "ApprovalRevoked" {
			approvals++
		}
	}
	for _, ws := range sockets {
		for range approvals * perConn {
			var a struct {
				Proposal struct{ Address string }
			}
			nextAny(t, ws, &a)
			if a.Proposal.Address == "" {
				t.Fatal("payload without its proposal")
			}
		}
	}
	shutdown()
	if runErr != nil {
		t.Fatal(runErr)
	}
	commits := xactCommits(t, url) - before

	// Startup and subscribing: a few dozen. The writes: one transaction per applied batch. Reads: the listener
	// one or two per batch, the shared loaders three per approval event.
	// One read per subscriber per event would be 40 per event.
	budget := int64(50 + 4*len(sc.Txs) + 10*approvals)
	t.Logf("%d transactions for %d batches and %d approval events to %d subscribers (budget %d)",
		commits, len(sc.Txs), approvals, conns*perConn, budget)
	if commits > budget {
		t.Errorf("%d database transactions, more than %d: reads are made per subscriber", commits, budget)
	}
}

// nextAny reads the next payload of any operation on ws into the field of
// its data.
func nextAny(t *testing.T, ws *graphtest.WS, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, resp, err := ws.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) > 0 {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	var data map[string]json.RawMessage
	if err := jsonUnmarshal(resp.Data, &data); err != nil {
		t.Fatal(err)
	}
	for _, v := range data {
		if err := jsonUnmarshal(v, out); err != nil {
			t.Fatal(err)
		}
	}
}

// xactCommits returns the database's committed transactions once no other
// session is connected to it (a session flushes its counters as it ends).
func xactCommits(t *testing.T, url string) int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var others int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others); err != nil {
			t.Fatal(err)
		}
		if others == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := conn.Exec(t.Context(), `SELECT pg_stat_clear_snapshot()`); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := conn.QueryRow(t.Context(), `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
