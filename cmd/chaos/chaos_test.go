package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestShortRun is the short chaos run `make chaos-short` (part of `make test`) runs: every
// part of the system and every fault class twice, on a small workload, a few minutes on two
// cores. It runs only with CHAOS=short, so `go test ./...` does not start a second one.
// CHAOS_SEED repeats a failed run's seed.
func TestShortRun(t *testing.T) {
	if os.Getenv("CHAOS") != "short" {
		t.Skip("set CHAOS=short (make chaos-short) to run the short chaos run")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED: %v", err)
		}
	}
	dir := t.TempDir()
	var out bytes.Buffer
	m := &Main{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Stdout: &out}
	m.Config = Config{
		Seed: seed, Governances: 3, Proposals: 24, MigrateAccounts: 50, Upgrade: true,
		FaultsPerClass: 2, FaultWindow: time.Minute, PollInterval: time.Second, SettleTimeout: 2 * time.Minute,
		ReportPath: filepath.Join(dir, "report.txt"), LogDir: dir,
		// One proposal per governance with NUL or control bytes in its metadata, which the
		// program refuses (MetadataUriNotPrintable): counted as refused_metadata.
		NULMetadata: true,
	}
	rep, err := m.Run(t.Context())
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("chaos run failed with seed %d: %d mismatches (logs in %s)", seed, len(rep.Mismatches), dir)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
