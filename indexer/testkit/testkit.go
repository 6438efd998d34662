package testkit

import (
	"log/slog"
	"os"
	"testing"
	"time"
)

// DefaultWithin is how long Eventually waits when given zero: long enough
// for a loaded CI machine, since the deadline only ends a hung test and
// tests never assert timings.
const DefaultWithin = 2 * time.Minute

// Eventually polls cond until it holds, and fails the test with what when
// within passes first (DefaultWithin when within is zero).
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if within <= 0 {
		within = DefaultWithin
	}
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Logger returns a logger writing to the test's output at debug level, so a
// failing test shows what the code under test said and a passing one stays
// quiet (go test prints a test's output only on failure or with -v).
// TEST_LOG=off discards everything, for benchmarks that log a lot.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("TEST_LOG") == "off" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
