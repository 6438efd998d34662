package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// status and show read the GraphQL read model, fed by the real indexer, by default.
func TestStatusAndShowFromGraphQL(t *testing.T) {
	w := newWorld(t)
	dbURL := pgtest.NewDB(t)
	cfg := indexer.DefaultConfig()
	cfg.RPCURL, cfg.WSURL, cfg.DatabaseURL, cfg.MetricsAddr = w.node.RPCURL, w.node.WSURL, dbURL, ""
	cfg.PollInterval, cfg.FinalityInterval = 500*time.Millisecond, 500*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- indexer.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	gql := graphtest.StartServer(t, dbURL, func(c *graph.ServerConfig) { c.RPCURL = w.node.RPCURL }) + "/graphql"

	out := w.ok("propose", "config", "--governance", w.gov, "--add-member", newKey(t).PublicKey().String(), "--keypair", w.members[0])
	proposal := out["proposal"].(string)
	w.ok("approve", proposal, "--keypair", w.members[0])
	w.ok("approve", proposal, "--keypair", w.members[1])
	w.ok("revoke", proposal, "--keypair", w.members[1])

	// The read model catches up within moments; status then agrees with the chain.
	var row map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, code, _ := w.umctl("status", "--governance", w.gov, "--graphql", gql)
		if code == exitOK && st["source"] == "graphql "+gql && len(st["proposals"].([]any)) == 1 {
			row = proposalRowOf(t, st, proposal)
			if row["approvals"].(float64) == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GraphQL status never showed one approval: %v", row)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if row["status"] != "active" || row["kind"] != "config_change" || len(row["missing"].([]any)) != 2 {
		t.Fatalf("GraphQL status row = %v", row)
	}
	show := w.ok("show", proposal, "--graphql", gql)
	var events []string
	for _, e := range show["history"].([]any) {
		events = append(events, e.(map[string]any)["event"].(string))
	}
	if got := strings.Join(events, ","); got != "created,approved,approved,revoked" {
		t.Fatalf("GraphQL history = %s", got)
	}
}
