package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer"
	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestParseFlags(t *testing.T) {
	// Not parallel: it sets environment variables.
	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    func(Config) bool
		wantErr string
	}{
		{
			name: "defaults derive the websocket url",
			env:  map[string]string{"DATABASE_URL": "postgres://db"},
			want: func(c Config) bool {
				s := c.Service
				return c.Command == "run" && s.RPCURL == "http://127.0.0.1:8899" && s.WSURL == "ws://127.0.0.1:8900" &&
					s.ProgramID == "UpgradeMgr111111111111111111111111111111111" && s.Commitment == "confirmed" &&
					s.Start == "earliest" && s.MetricsAddr == "127.0.0.1:9102"
			},
		},
		{
			name: "environment fallbacks",
			env: map[string]string{"DATABASE_URL": "postgres://db", "SOLANA_RPC_URL": "https://api.devnet.solana.com",
				"INDEXER_COMMITMENT": "finalized", "INDEXER_START": "latest", "INDEXER_BATCH_SIZE": "7", "INDEXER_RPC_RATE": "9.5"},
			want: func(c Config) bool {
				s := c.Service
				return s.WSURL == "wss://api.devnet.solana.com" && s.Commitment == "finalized" && s.Start == "latest" && s.BatchSize == 7 &&
					s.RPCRate == 9.5
			},
		},
		{
			name: "flags win over the environment",
			env:  map[string]string{"DATABASE_URL": "postgres://env", "SOLANA_WS_URL": "ws://env:1"},
			args: []string{"run", "-database-url", "postgres://flag", "-ws-url", "ws://flag:2", "-start", "123", "-rpc-rate", "10"},
			want: func(c Config) bool {
				s := c.Service
				return s.DatabaseURL == "postgres://flag" && s.WSURL == "ws://flag:2" && s.Start == "123" && s.RPCRate == 10
			},
		},
		{
			name: "replay",
			env:  map[string]string{"DATABASE_URL": "postgres://db"},
			args: []string{"replay"},
			want: func(c Config) bool { return c.Command == "replay" },
		},
		{
			name: "migrate with flags after",
			args: []string{"migrate", "status", "-database-url", "postgres://x"},
			want: func(c Config) bool { return c.Command == "migrate" && c.MigrateCommand == "status" },
		},
		{
			name: "an empty variable counts as unset",
			env:  map[string]string{"DATABASE_URL": "postgres://db", "INDEXER_COMMITMENT": "", "SOLANA_RPC_URL": ""},
			want: func(c Config) bool {
				return c.Service.Commitment == "confirmed" && c.Service.RPCURL == "http://127.0.0.1:8899"
			},
		},
		{name: "a bad number in the environment is refused", env: map[string]string{"DATABASE_URL": "x", "INDEXER_BATCH_SIZE": "seven"}, wantErr: "batch-size: environment variable INDEXER_BATCH_SIZE"},
		{name: "a bad rate in the environment is refused", env: map[string]string{"DATABASE_URL": "x", "INDEXER_RPC_RATE": "fast"}, wantErr: "rpc-rate: environment variable INDEXER_RPC_RATE"},
		{name: "missing database", args: []string{}, wantErr: "-database-url"},
		{name: "bad commitment", env: map[string]string{"DATABASE_URL": "x"}, args: []string{"-commitment", "processed"}, wantErr: "-commitment"},
		{name: "bad start", env: map[string]string{"DATABASE_URL": "x"}, args: []string{"-start", "soon"}, wantErr: "-start"},
		{name: "bad program", env: map[string]string{"DATABASE_URL": "x"}, args: []string{"-program-id", "nope"}, wantErr: "-program-id"},
		{name: "bad rpc url", env: map[string]string{"DATABASE_URL": "x"}, args: []string{"-rpc-url", "ftp://x"}, wantErr: "-rpc-url"},
		{name: "negative rpc rate", env: map[string]string{"DATABASE_URL": "x"}, args: []string{"-rpc-rate", "-1"}, wantErr: "-rpc-rate"},
		{name: "unknown command", env: map[string]string{"DATABASE_URL": "x"}, args: []string{"serve"}, wantErr: "unknown command"},
		{name: "migrate sideways", args: []string{"migrate", "sideways", "-database-url", "x"}, wantErr: "migrate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"DATABASE_URL", "SOLANA_RPC_URL", "SOLANA_WS_URL", "INDEXER_COMMITMENT", "INDEXER_START", "INDEXER_BATCH_SIZE", "INDEXER_RPC_RATE"} {
				t.Setenv(k, c.env[k]) // restored after the test
				if _, ok := c.env[k]; !ok {
					os.Unsetenv(k)
				}
			}
			m := NewMain()
			m.Stderr = io.Discard
			err := m.ParseFlags(t.Context(), c.args)
			switch {
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("ParseFlags(%q) = %v, want an error about %s", c.args, err, c.wantErr)
			case c.wantErr == "" && err != nil:
				t.Errorf("ParseFlags(%q) = %v", c.args, err)
			case c.wantErr == "" && !c.want(m.Config):
				t.Errorf("ParseFlags(%q) = %+v", c.args, m.Config)
			}
		})
	}
}

// testMain returns a Main configured for a fresh database and srv.
func testMain(t *testing.T, dbURL string, srv *rpctest.Server, program string) *Main {
	m := NewMain()
	m.Stdout, m.Stderr = &bytes.Buffer{}, io.Discard
	m.Logger = slog.New(slog.DiscardHandler)
	m.Config = Config{Command: "run", LogLevel: "info", Service: indexer.Config{
		RPCURL: srv.URL(), WSURL: srv.WSURL(), DatabaseURL: dbURL, ProgramID: program,
		Commitment: "confirmed", Start: "earliest", MetricsAddr: "127.0.0.1:0",
		Concurrency: 4, BatchSize: 16, PollInterval: time.Hour, FinalityInterval: 50 * time.Millisecond,
		ReconcileInterval: time.Hour, RPCTimeout: 10 * time.Second,
	}}
	if err := m.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunFollowsTheChainAndServesMetrics(t *testing.T) {
	t.Parallel()
	f, err := scenario.Load()
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.NewDB(t)
	srv := rpctest.New(f.ProgramID)
	t.Cleanup(srv.Close)
	m := testMain(t, dbURL, srv, f.ProgramID)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { _ = m.Close() })
	select {
	case <-m.Ready():
	case err := <-done:
		t.Fatalf("Run ended before serving: %v", err)
	}
	base := "http://" + m.Addr().String()
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}

	for _, v := range f.Transactions {
		srv.Publish(rpctest.Tx{Signature: v.Signature, Slot: v.Slot, BlockIndex: v.BlockIndex, Failed: v.Failed, Result: v.Result})
	}
	srv.FinalizeAll()
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	last := f.Transactions[len(f.Transactions)-1].Signature
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var finalized int
		_ = pool.QueryRow(t.Context(), `SELECT count(*) FROM ingested_transaction WHERE commitment = 'finalized'`).Scan(&finalized)
		cp, err := store.GetCheckpoint(t.Context(), pool, f.ProgramID)
		if err == nil && cp.LastSignature == last && finalized == len(f.Transactions) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the scenario to be applied and finalized")
		}
		time.Sleep(20 * time.Millisecond)
	}
	scenario.AssertProjections(t, pool)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s", code, body)
	}
	_, metrics := get(t, base+"/metrics")
	truncated := 0 // the migration batches' logs overflow
	for _, v := range f.Transactions {
		if strings.Contains(string(v.Result), "Log truncated") {
			truncated++
		}
	}
	for _, name := range []string{
		"upgrade_manager_indexer_last_applied_slot 18",
		`upgrade_manager_indexer_events_applied_total{name="ProposalCreated"} 11`,
		"upgrade_manager_indexer_chain_tip_slot",
		"upgrade_manager_indexer_lag_slots",
		`upgrade_manager_indexer_rpc_requests_total{method="getSignaturesForAddress"}`,
		"upgrade_manager_indexer_batch_commit_seconds_bucket",
		"upgrade_manager_indexer_websocket_reconnects_total 0",
		"upgrade_manager_indexer_backfilled_signatures_total",
		fmt.Sprintf("upgrade_manager_indexer_truncated_transactions_total %d", truncated),
		// Promoted, or written finalized at once when the listing already
		// said so (the count depends on when the sync listed them; all 80
		// are finalized, checked above).
		"upgrade_manager_indexer_promoted_transactions_total",
		`upgrade_manager_indexer_rpc_request_duration_seconds_bucket{method="getTransaction"`,
		"upgrade_manager_indexer_refused_transactions_total 0",
	} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	// No signature or pubkey ever labels a metric.
	if base58 := regexp.MustCompile(`="[1-9A-HJ-NP-Za-km-z]{32,88}"`); base58.MatchString(metrics) {
		t.Errorf("/metrics has a base58 label value: %s", base58.FindString(metrics))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}

	// indexer replay rebuilds the same projections.
	live := scenario.DumpProjections(t, pool, false)
	r := testMain(t, dbURL, srv, f.ProgramID)
	r.Config.Command = "replay"
	if err := r.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if out := r.Stdout.(*bytes.Buffer).String(); !strings.Contains(out, "rebuilt projections from 84 events") {
		t.Errorf("replay printed %q", out)
	}
	if replayed := scenario.DumpProjections(t, pool, false); !scenario.EqualDumps(live, replayed) {
		t.Errorf("replay differs from live:\n%s", scenario.DiffDumps(replayed, live))
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewEmptyDB(t)
	run := func(cmd string) string {
		m := NewMain()
		out := &bytes.Buffer{}
		m.Stdout, m.Stderr = out, io.Discard
		if err := m.ParseFlags(t.Context(), []string{"migrate", cmd, "-database-url", dbURL}); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(t.Context()); err != nil {
			t.Fatalf("migrate %s: %v", cmd, err)
		}
		return out.String()
	}
	if out := run("status"); !strings.Contains(out, "pending") {
		t.Errorf("status on an empty database = %q", out)
	}
	run("up")
	if out := run("status"); strings.Contains(out, "pending") || !strings.Contains(out, "00003_ingestion_order.sql") {
		t.Errorf("status after up = %q", out)
	}
	if out := run("up"); !strings.Contains(out, "no migrations to apply") {
		t.Errorf("second up = %q", out)
	}
	run("down")
	if out := run("status"); !strings.Contains(out, "pending") {
		t.Errorf("status after down = %q", out)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
