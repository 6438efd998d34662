package graph_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestUserErrorsHaveCodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	deep := "{ proposals(first: 1) { nodes { governance { proposals(first: 1) { nodes { governance { proposals(first: 1) { nodes { governance { proposals(first: 1) { nodes { address } } } } } } } } } } } }"
	tests := []struct {
		name, query string
		vars        map[string]any
		code, msg   string
	}{
		{"public key not base58", `{ governance(address: "0OIl") { address } }`, nil, "BAD_USER_INPUT", "not valid base58"},
		{"public key wrong length", `{ governance(address: "abc") { address } }`, nil, "BAD_USER_INPUT", "want 32"},
		{"public key in a variable", `query($a: PublicKey!) { proposal(address: $a) { address } }`, map[string]any{"a": "xyz!"}, "BAD_USER_INPUT", "PublicKey"},
		{"signature wrong length", `{ events(filter: {signature: "11111111111111111111111111111111"}) { totalCount } }`, nil, "BAD_USER_INPUT", "want 64"},
		{"u64 negative", `{ events(filter: {fromSlot: "-1"}) { totalCount } }`, nil, "BAD_USER_INPUT", "U64"},
		{"timestamp", `{ proposals(filter: {createdAfter: "yesterday"}) { totalCount } }`, nil, "BAD_USER_INPUT", "RFC 3339"},
		{"malformed cursor", `{ proposals(after: "%%%") { totalCount } }`, nil, "BAD_USER_INPUT", "after: malformed cursor"},
		{"cursor of another list", `{ proposals(after: "ZXY6MTI") { totalCount } }`, nil, "BAD_USER_INPUT", "another list"},
		{"event cursor garbage", `{ events(before: "ZXY6eA") { totalCount } }`, nil, "BAD_USER_INPUT", "before: malformed cursor"},
		{"page too large", `{ proposals(first: 101) { totalCount } }`, nil, "BAD_USER_INPUT", "first must be between 0 and 100"},
		{"negative last", `{ events(last: -1) { totalCount } }`, nil, "BAD_USER_INPUT", "last must be"},
		{"first and last", `{ events(first: 1, last: 1) { totalCount } }`, nil, "BAD_USER_INPUT", "not both"},
		{"time range reversed", `{ proposals(filter: {createdAfter: "2026-02-01T00:00:00Z", createdBefore: "2026-01-01T00:00:00Z"}) { totalCount } }`, nil, "BAD_USER_INPUT", "createdAfter"},
		{"slot range reversed", `{ events(filter: {fromSlot: "10", toSlot: "9"}) { totalCount } }`, nil, "BAD_USER_INPUT", "fromSlot"},
		{"too deep", deep, nil, "QUERY_TOO_COMPLEX", "deeper than the limit"},
		{"too complex", `{ a: proposals(first: 100) { nodes { approvals { proposal { approvals { member } } } } } }`, nil, "QUERY_TOO_COMPLEX", "complexity"},
		{"unknown field", `{ proposals { nope } }`, nil, "GRAPHQL_VALIDATION_FAILED", "nope"},
		{"syntax", `{ proposals {`, nil, "GRAPHQL_PARSE_FAILED", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, _, err := graphtest.Query(t.Context(), b.base+"/graphql", tt.query, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Errors) != 1 {
				t.Fatalf("errors = %+v, want one", resp.Errors)
			}
			e := resp.Errors[0]
			if e.Code() != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error = %q (%s), want code %s and a message with %q", e.Message, e.Code(), tt.code, tt.msg)
			}
		})
	}
}

func TestBodyOverTheLimitIsRejected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"query": "{ indexerStatus { lastSeq } }", "x": "` + strings.Repeat("a", 1<<20) + `"}`
	resp, status, err := graphtest.Post(t.Context(), b.base+"/graphql", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if status != 413 || len(resp.Errors) != 1 || resp.Errors[0].Code() != "BAD_USER_INPUT" {
		t.Fatalf("status %d, errors %+v; want 413 with BAD_USER_INPUT", status, resp.Errors)
	}
}

// A failure inside the server reaches the client as "internal error" and
// nothing of its cause; the cause is logged.
func TestInternalErrorsAreHidden(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(t.Context(), pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	pool.Close() // every query now fails
	var logs strings.Builder
	reg := prometheus.NewRegistry()
	h := graph.NewHandler(graph.HandlerConfig{
		Resolver: &graph.Resolver{
			Store: store.New(pool), Broker: fanout.NewBroker(nil), Logger: slog.New(slog.DiscardHandler),
			MaxPageSize: 100, DefaultPageSize: 20, SubscriberBuffer: 16,
		},
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Limits:   graph.DefaultLimits,
		Registry: reg,
		Gatherer: reg,
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, _, err := graphtest.Query(context.Background(), srv.URL+"/graphql", `{ proposals { totalCount } }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Errors) != 1 || resp.Errors[0].Message != "internal error" || resp.Errors[0].Code() != "INTERNAL_SERVER_ERROR" {
		t.Fatalf("errors = %+v, want one internal error", resp.Errors)
	}
	if !strings.Contains(logs.String(), "closed pool") {
		t.Errorf("the cause was not logged: %q", logs.String())
	}
}
