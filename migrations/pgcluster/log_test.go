package pgcluster_test

import (
	"log/slog"
	"testing"
)

// testLogger sends a cluster's progress to the test log, where it shows up
// only for failing tests or with -v.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
