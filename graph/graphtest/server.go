package graphtest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph"
)

// StartServer runs a graph.Server on a free loopback port against
// databaseURL until the test ends, and returns its http:// base URL once it
// is ready. edit, when not nil, adjusts the configuration first.
func StartServer(tb testing.TB, databaseURL string, edit func(*graph.ServerConfig)) string {
	tb.Helper()
	return StartServerLogging(tb, databaseURL, nil, edit)
}

// StartServerLogging is StartServer with the server logging to logger
// (nil: discarded, or the test log at warn level under -v).
func StartServerLogging(tb testing.TB, databaseURL string, logger *slog.Logger, edit func(*graph.ServerConfig)) string {
	tb.Helper()
	cfg := graph.DefaultServerConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = databaseURL
	if edit != nil {
		edit(&cfg)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
	}
	s := graph.NewServer(cfg, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("graph server: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		tb.Fatalf("graph server stopped before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		tb.Fatal("graph server not ready after 30s")
	}
	return "http://" + s.Addr().String()
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}
