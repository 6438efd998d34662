package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// GraphQL serves nothing until the database holds the RPC's cluster: not
// before the indexer recorded it, and not after the node restarted as a new
// cluster (make dev restarting the localnet) until the indexer reset.
func TestServesOnlyTheRPCsCluster(t *testing.T) {
	t.Parallel()
	const program = "UpgradeMgr111111111111111111111111111111111"
	url := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := rpctest.New(program)
	t.Cleanup(srv.Close)
	genesis := "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	m := NewMain()
	m.Logger = slog.New(slog.DiscardHandler)
	m.Config = graph.DefaultServerConfig()
	m.Config.Addr, m.Config.DatabaseURL = addr, url
	m.Config.RPCURL = srv.URL()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})

	query := func() (int, string) {
		resp, err := http.Post("http://"+addr+"/graphql", "application/json",
			strings.NewReader(`{"query":"{ indexerStatus { lastSeq } }"}`))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out struct {
			Errors []struct {
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(body, &out)
		code := ""
		if len(out.Errors) > 0 {
			code, _ = out.Errors[0].Extensions["code"].(string)
		}
		return resp.StatusCode, code
	}
	waitFor := func(what string, wantStatus int, wantCode string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			status, code := query()
			if status == wantStatus && code == wantCode {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: got %d %q, want %d %q", what, status, code, wantStatus, wantCode)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	waitFor("before the indexer recorded a cluster", http.StatusServiceUnavailable, graph.CodeClusterMismatch)
	if err := store.SetClusterGenesis(t.Context(), pool, program, genesis); err != nil {
		t.Fatal(err)
	}
	waitFor("once the database holds the RPC's cluster", http.StatusOK, "")
	srv.SetGenesis("GH7ome3EiwEr7tu9JuTh2dpYWBJK3z69Xm1ZE3MEE6JC")
	waitFor("after the node restarted as another cluster", http.StatusServiceUnavailable, graph.CodeClusterMismatch)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz = %d while another cluster's data is held, want 503", resp.StatusCode)
	}
}
