package graph_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Expensive requests that keep every query connection busy: they end at
// their deadline with TIMEOUT, logged once per request, and meanwhile
// /healthz and a cheap query still answer.
func TestExpensiveRequestsEndAtTheirDeadline(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := graphtest.SeedProposals(t.Context(), pool, "hog", 200000, 1000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	base := graphtest.StartServerLogging(t, url, logger, func(c *graph.ServerConfig) {
		c.MaxConns = 2
		c.RequestTimeout = 1500 * time.Millisecond
		c.StatementTimeout = time.Minute // the request's deadline must stop the statements by itself
		c.Limits.ScanCost = 10
	})
	// Each hog: 20 counts of a filter that evaluates
	// proposal_effective_status over 200,000 rows.
	hog := aliased(20, `proposals(first: 0, filter: {status: [ACTIVE, STALE]}) { totalCount }`)
	const hogs = 4 // twice the pool
	var wg sync.WaitGroup
	done := make(chan struct{})
	results := make(chan *graphtest.Response, hogs)
	for range hogs {
		wg.Go(func() {
			resp, _, err := graphtest.Query(context.Background(), base+"/graphql", hog, nil)
			if err != nil {
				t.Error(err)
				return
			}
			results <- resp
		})
	}
	go func() { wg.Wait(); close(done) }()

	// While the hogs hold the pool (both its connections run their
	// statements), /healthz answers from its own connection.
	testkit.Eventually(t, 0, "the hogs to hold both query connections", func() bool {
		select {
		case <-done:
			return true // reported below
		default:
		}
		var busy int
		err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
			AND query LIKE '%proposal_effective_status%'`).Scan(&busy)
		return err == nil && busy >= 2
	})
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-done:
		t.Log("the hogs finished before /healthz was asked; the check below proves less")
	default:
	}
	if resp.StatusCode != 200 {
		t.Errorf("/healthz while the pool is busy: %d", resp.StatusCode)
	}

	<-done
	close(results)
	for r := range results {
		if len(r.Errors) == 0 {
			t.Fatal("a hog request succeeded; it should have run out of time")
		}
		for _, e := range r.Errors {
			if e.Code() != "TIMEOUT" {
				t.Fatalf("hog error %q (%s), want TIMEOUT", e.Message, e.Code())
			}
		}
	}
	// One line per request, not one per failed field.
	if n := strings.Count(logs.String(), "stopped at its deadline"); n != hogs {
		t.Errorf("%d deadline log lines for %d requests:\n%s", n, hogs, logs)
	}
	if strings.Contains(logs.String(), "internal error") {
		t.Errorf("timeouts logged as internal errors:\n%s", logs)
	}
	// And the server serves again.
	ok, _, err := graphtest.Query(t.Context(), base+"/graphql", `{ indexerStatus { lastSeq } }`, nil)
	if err != nil || len(ok.Errors) > 0 {
		t.Fatalf("after the hogs: %v %+v", err, ok)
	}
}

// A client trickling a request body is cut off at the read timeout
// instead of holding a connection forever.
func TestSlowBodyIsTimedOut(t *testing.T) {
	t.Parallel()
	base := graphtest.StartServer(t, pgtest.NewDB(t), func(c *graph.ServerConfig) { c.ReadTimeout = time.Second })
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"query":"{ indexerStatus { lastSeq } }"}`
	if _, err := io.WriteString(conn, "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// One byte every 100 ms would take 100 s for the whole body.
	for i := range 600 {
		if _, err := conn.Write([]byte{body[i%len(body)]}); err != nil {
			return // the server closed the connection: cut off
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := conn.Read(make([]byte, 512)); n > 0 || (err != nil && !isTimeout(err)) {
			return // answered (an error status) or closed
		}
	}
	t.Fatal("the server kept reading a trickling body for 60 s")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// GraphiQL and introspection can be turned off.
func TestGraphiQLAndIntrospectionSwitches(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDB(t)
	for _, on := range []bool{true, false} {
		base := graphtest.StartServer(t, url, func(c *graph.ServerConfig) { c.GraphiQL, c.Introspection = on, on })
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == 200) != on {
			t.Errorf("graphiql %v: GET / = %d", on, resp.StatusCode)
		}
		r, _, err := graphtest.Query(t.Context(), base+"/graphql", `{ __schema { queryType { name } } }`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (len(r.Errors) == 0) != on {
			t.Errorf("introspection %v: errors %+v", on, r.Errors)
		}
	}
}

// The server's total limits hold across addresses: a second connection
// over -ws-conns is refused, a subscription over -ws-subs gets an error.
func TestTotalWebsocketLimits(t *testing.T) {
	t.Parallel()
	base := graphtest.StartServer(t, pgtest.NewDB(t), func(c *graph.ServerConfig) {
		c.WS.Conns, c.WS.Ops = 1, 2
	})
	ws := dial(t, base, graphtest.TransportWS)
	c := rawWS(t, base, graphtest.TransportWS)
	if code, reason := closeCode(t, c); code != 1013 || !strings.Contains(reason, "server at its limit") {
		t.Errorf("second connection: close %d %q, want 1013", code, reason)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := ws.Subscribe(t.Context(), id, `subscription { events { seq } }`, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	id, resp, err := ws.Next(ctx)
	if err != nil || id != "c" || len(resp.Errors) != 1 || resp.Errors[0].Code() != "TOO_MANY_SUBSCRIPTIONS" {
		t.Fatalf("third subscription: %s %+v %v, want TOO_MANY_SUBSCRIPTIONS", id, resp, err)
	}
}
