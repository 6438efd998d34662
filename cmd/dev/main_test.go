package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// helperArg makes the test binary act as the command dev runs.
const helperArg = "dev-test-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		os.Exit(helper())
	}
	pgtest.Main(m)
}

// helper exits 3 when DATABASE_URL holds the migrated schema, so the test
// can tell that status came through.
func helper() int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = conn.Close(ctx) }()
	var migrated bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('chain_event') IS NOT NULL`).Scan(&migrated); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !migrated {
		return 2
	}
	return 3
}

func TestRunCommandWithEphemeralCluster(t *testing.T) {
	t.Parallel()
	m := newTestMain(t, Config{Ephemeral: true, Migrate: true, Command: []string{os.Args[0], helperArg}})

	err := m.Run(t.Context())
	var exit exitCodeError
	if !errors.As(err, &exit) || exit.code != 3 {
		t.Fatalf("Run = %v, want exit status 3 from a command that saw the migrated database", err)
	}
	dir := m.cluster.Dir()
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ephemeral cluster directory after Close: err = %v, want not exist", err)
	}
}

func TestRunForegroundPrintsURLAndStatus(t *testing.T) {
	t.Parallel()
	url := pgtest.NewEmptyDB(t)
	m := newTestMain(t, Config{DatabaseURL: url, Migrate: true, GraphQLAddr: "127.0.0.1:0"})
	out := &syncBuffer{}
	m.Stdout = out

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, out, "00001_ingestion.sql", done)
	waitFor(t, out, "GRAPHQL_URL=http://127.0.0.1:", done)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after interrupt = %v, want nil", err)
	}
	got := out.String()
	for _, want := range []string{"DATABASE_URL=" + url, "applied"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q does not contain %q", got, want)
		}
	}
}

func TestRunReusesRunningDevCluster(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	fg := newTestMain(t, Config{PGDir: dir, Migrate: true, GraphQLAddr: "127.0.0.1:0"})
	out := &syncBuffer{}
	fg.Stdout = out
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- fg.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := fg.Close(); err != nil {
			t.Errorf("Close foreground: %v", err)
		}
	})
	waitFor(t, out, "DATABASE_URL=", done)

	m := newTestMain(t, Config{PGDir: dir, Migrate: true, Command: []string{os.Args[0], helperArg}})
	err := m.Run(t.Context())
	var exit exitCodeError
	if !errors.As(err, &exit) || exit.code != 3 {
		t.Fatalf("Run = %v, want exit status 3", err)
	}
	if !m.cluster.Reused() {
		t.Fatal("second dev did not reuse the running cluster")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Closing the second dev must leave the first one's server up.
	conn, err := pgx.Connect(t.Context(), fg.databaseURL)
	if err != nil {
		t.Fatalf("connect after second dev closed: %v", err)
	}
	_ = conn.Close(t.Context())
}

func TestSupervise(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	blocks := component{name: "blocks", run: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	tests := []struct {
		name       string
		components []component
		cancel     bool
		want       string // substring of the error, empty for nil
	}{
		{name: "no components until interrupt", cancel: true},
		{name: "components until interrupt", components: []component{blocks, blocks}, cancel: true},
		{name: "component fails", components: []component{blocks, {name: "indexer", run: func(context.Context) error { return boom }}}, want: "indexer: boom"},
		{name: "component returns early", components: []component{blocks, {name: "crank", run: func(context.Context) error { return nil }}}, want: "crank exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			err := supervise(ctx, tt.components)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("supervise = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("supervise = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseFlagsCommandAfterDashes(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://example/db")
	m := newTestMain(t, Config{})
	if err := m.ParseFlags(t.Context(), []string{"-ephemeral", "-migrate=false", "--", "go", "test", "-race"}); err != nil {
		t.Fatalf("ParseFlags: %v", err)
	}
	c := m.Config
	if c.DatabaseURL != "postgres://example/db" || !c.Ephemeral || c.Migrate || strings.Join(c.Command, " ") != "go test -race" {
		t.Fatalf("Config = %+v", c)
	}
}

func newTestMain(t *testing.T, cfg Config) *Main {
	t.Helper()
	var stderr bytes.Buffer
	m := &Main{
		Config: cfg,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Stdout: &syncBuffer{},
		Stderr: &stderr,
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// waitFor waits until out contains want, failing the test if done reports
// first or it takes too long.
func waitFor(t *testing.T, out *syncBuffer, want string, done <-chan error) {
	t.Helper()
	deadline := time.After(time.Minute)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-done:
			t.Fatalf("Run returned %v before printing %q", err, want)
		case <-deadline:
			t.Fatalf("no %q in output %q", want, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestLocalnetURLs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args    []string
		rpc, ws string
	}{
		{nil, "http://127.0.0.1:8899", "ws://127.0.0.1:8900"},
		{[]string{"--rpc-port", "18899"}, "http://127.0.0.1:18899", "ws://127.0.0.1:18900"},
		{[]string{"--slot-time-ms", "50", "--rpc-port=7000", "--ws-port", "7005"}, "http://127.0.0.1:7000", "ws://127.0.0.1:7005"},
	} {
		rpc, ws := localnetURLs(c.args)
		if rpc != c.rpc || ws != c.ws {
			t.Errorf("localnetURLs(%q) = %s %s, want %s %s", c.args, rpc, ws, c.rpc, c.ws)
		}
	}
}
