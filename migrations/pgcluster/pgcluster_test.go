package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgcluster"
)

func TestStartStop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	c := start(t, pgcluster.Config{Dir: t.TempDir()})
	if c.Reused() {
		t.Fatal("fresh cluster reported as reused")
	}
	requireQuery(t, c.URL())

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("postmaster.pid after Stop: err = %v, want not exist", err)
	}
	if conn, err := connect(ctx, c.URL()); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("server still accepts connections after Stop")
	}
}

func TestStartReusesRunningServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()

	first := start(t, pgcluster.Config{Dir: dir})
	second := start(t, pgcluster.Config{Dir: dir})
	if !second.Reused() {
		t.Fatal("second Start on a running cluster did not reuse it")
	}
	if second.URL() != first.URL() {
		t.Fatalf("reused URL = %s, want %s", second.URL(), first.URL())
	}
	if err := second.Stop(ctx); err != nil {
		t.Fatalf("Stop reused: %v", err)
	}
	// Stopping the reused handle must leave the server to its starter.
	requireQuery(t, first.URL())
}

func TestStartRestartsStoppedClusterOnSamePort(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()

	first := start(t, pgcluster.Config{Dir: dir})
	if err := first.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	second := start(t, pgcluster.Config{Dir: dir})
	if second.Reused() {
		t.Fatal("restart of a stopped cluster reported as reused")
	}
	if second.Port() != first.Port() {
		t.Errorf("restart port = %d, want previous port %d", second.Port(), first.Port())
	}
	requireQuery(t, second.URL())
}

func TestStartIgnoresStalePidFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()

	first := start(t, pgcluster.Config{Dir: dir})
	if err := first.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// A crash leaves postmaster.pid behind, and after a container restart
	// its pid may belong to an unrelated live process.
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	t.Cleanup(func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
	})
	pidFile := strconv.Itoa(sleep.Process.Pid) + "\n" + filepath.Join(dir, "data") + "\n1700000000\n" +
		strconv.Itoa(first.Port()) + "\n/tmp\n127.0.0.1\n  1234  5678\nready   \n"
	if err := os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte(pidFile), 0o600); err != nil {
		t.Fatalf("write stale pid file: %v", err)
	}

	second := start(t, pgcluster.Config{Dir: dir})
	if second.Reused() {
		t.Fatal("stale pid file taken for a running server")
	}
	requireQuery(t, second.URL())
}

func TestStartTempRemovesDirOnStop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	c, err := pgcluster.StartTemp(ctx, pgcluster.Config{Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatalf("StartTemp: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	requireQuery(t, c.URL())

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary cluster directory after Stop: err = %v, want not exist", err)
	}
}

func TestStartTempReapsOrphans(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	orphan, err := pgcluster.StartTemp(ctx, pgcluster.Config{Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatalf("StartTemp: %v", err)
	}
	t.Cleanup(func() { _ = orphan.Stop(context.Background()) })
	// Hand the cluster to a process that has exited, as if its owner had
	// been killed before stopping it.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatalf("run true: %v", err)
	}
	ownerPath := filepath.Join(orphan.Dir(), "owner")
	if err := os.WriteFile(ownerPath, []byte(strconv.Itoa(gone.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatalf("rewrite owner: %v", err)
	}

	c, err := pgcluster.StartTemp(ctx, pgcluster.Config{Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatalf("StartTemp: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })

	if _, err := os.Stat(orphan.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("orphaned cluster directory: err = %v, want not exist", err)
	}
	if conn, err := connect(ctx, orphan.URL()); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("orphaned server still accepts connections")
	}
}

func TestStartTempRejectsDir(t *testing.T) {
	t.Parallel()
	if _, err := pgcluster.StartTemp(t.Context(), pgcluster.Config{Dir: t.TempDir()}); err == nil {
		t.Fatal("StartTemp with Dir: err = nil, want error")
	}
}

func start(t *testing.T, cfg pgcluster.Config) *pgcluster.Cluster {
	t.Helper()
	cfg.Logger = testkit.Logger(t)
	c, err := pgcluster.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func requireQuery(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	conn, err := connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, url)
}

func TestRestartImmediateCutsConnectionsAndKeepsData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := start(t, pgcluster.Config{Dir: t.TempDir()})
	conn, err := connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The cluster runs with synchronous_commit=off, under which an immediate restart may
	// lose the newest commits; a session that wants its commit kept asks for it.
	if _, err := conn.Exec(ctx, `SET synchronous_commit = on; CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartImmediate(ctx); err != nil {
		t.Fatalf("RestartImmediate: %v", err)
	}
	if _, err := conn.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("a connection survived an immediate restart")
	}
	again, err := connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect after restart on the same port: %v", err)
	}
	defer again.Close(ctx)
	var v int
	if err := again.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 7 {
		t.Fatalf("committed row after crash recovery: %d, %v", v, err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartImmediate(ctx); err == nil {
		t.Fatal("restarting a stopped cluster succeeded")
	}
}
