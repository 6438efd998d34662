package graph_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestOriginsForCORSAndWebsockets(t *testing.T) {
	t.Parallel()
	base := graphtest.StartServer(t, pgtest.NewDB(t), func(c *graph.ServerConfig) {
		c.AllowedOrigins = []string{"https://app.example"}
	})
	preflight := func(origin string) string {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, base+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	if got := preflight("https://app.example"); got != "https://app.example" {
		t.Errorf("allowed origin: Access-Control-Allow-Origin = %q", got)
	}
	if got := preflight("https://evil.example"); got != "" {
		t.Errorf("other origin: Access-Control-Allow-Origin = %q, want none", got)
	}

	dialFrom := func(origin string) error {
		conn, _, err := websocket.Dial(t.Context(), graphtest.WSURL(base), &websocket.DialOptions{
			Subprotocols: []string{graphtest.TransportWS},
			HTTPHeader:   http.Header{"Origin": {origin}},
		})
		if err == nil {
			_ = conn.CloseNow()
		}
		return err
	}
	if err := dialFrom("https://app.example"); err != nil {
		t.Errorf("websocket from the allowed origin: %v", err)
	}
	if err := dialFrom("https://evil.example"); err == nil {
		t.Error("websocket from another origin was accepted")
	}
}

func TestQueryOverGET(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.apply(t, 0, 2)
	resp, err := http.Get(b.base + "/graphql?query=" + url.QueryEscape(`{ programs { totalCount } }`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"totalCount":1`) {
		t.Errorf("GET: %d %s", resp.StatusCode, body)
	}
}

// A subscriber that falls further behind than its buffer is sent a
// SLOW_CONSUMER error and its subscription ends; the connection and the
// server stay up.
func TestSlowConsumerGetsAnError(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDB(t)
	base := graphtest.StartServer(t, url, func(c *graph.ServerConfig) { c.SubscriberBuffer = 1 })
	ws := dial(t, base, graphtest.TransportWS)
	if err := ws.Subscribe(t.Context(), "s", `subscription { events { seq } }`, nil); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, base, "upgrade_manager_graphql_subscriptions", 1)

	// One batch of 2,000 events is published in one go: far more than a
	// one-event buffer holds while the first is being written out.
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(t.Context(), `INSERT INTO chain_event
			(signature, instruction_index, inner_index, ordinal, slot, name, data, raw, commitment)
		SELECT 'sig' || i, 0, -1, 0, i, 'E', '{}', '', 'confirmed' FROM generate_series(1, 2000) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `SELECT pg_notify($1, '{}')`, fanout.Channel); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for received := 0; ; received++ {
		_, resp, err := ws.Next(ctx)
		if err != nil {
			t.Fatalf("after %d events: %v; want a SLOW_CONSUMER error", received, err)
		}
		if len(resp.Errors) > 0 {
			if resp.Errors[0].Code() != "SLOW_CONSUMER" {
				t.Fatalf("error %+v, want SLOW_CONSUMER", resp.Errors)
			}
			if received >= 2000 {
				t.Fatalf("received all %d events before the error", received)
			}
			break
		}
	}
	// Its execution stopped with it (it was the group's only member).
	waitMetricIs(t, base, "upgrade_manager_graphql_subscribers", 0)
	waitMetricIs(t, base, "upgrade_manager_graphql_subscriptions", 0)
	// The connection still serves: a new subscription works.
	if err := ws.Subscribe(t.Context(), "t", `subscription { events { seq } }`, nil); err != nil {
		t.Fatal(err)
	}
}
