package main

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestConsoleHandlerPrefixesComponent(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var mu sync.Mutex
	log := slog.New(newConsoleHandler(&out, &mu, slog.LevelInfo)).With(slog.String(componentKey, "indexer"), slog.Int("n", 1))
	log.Debug("hidden")
	log.Info("synced", slog.String("slot", "7 8"))
	log.Warn("lagging")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^\d\d:\d\d:\d\d indexer +synced  n=1 slot="7 8"$`),
		regexp.MustCompile(`^\d\d:\d\d:\d\d indexer +WARN lagging  n=1$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("console:\n%s\nwant %d lines", out.String(), len(want))
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d = %q, want %v", i, lines[i], re)
		}
	}
}

func TestLineWriterKeepsWhatMatters(t *testing.T) {
	t.Parallel()
	var file, console bytes.Buffer
	var mu sync.Mutex
	w := &lineWriter{file: &file, consoleMu: &mu, console: &console, component: "localnet", keep: atLeast(slog.LevelWarn)}
	input := "[2026-11-27T14:00:00Z DEBUG solana_runtime::bank] noise\n" +
		"[2026-11-27T14:00:00Z WARN solana_runtime] mind this\nno level at all\ntime=2026-11-27T14:00:00Z level=ERROR msg=boom\npartial"
	// Split writes across line boundaries, as a pipe does.
	for _, chunk := range []string{input[:30], input[30:75], input[75:]} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if file.String() != input {
		t.Errorf("file = %q, want everything", file.String())
	}
	got := console.String()
	for _, want := range []string{"localnet       [2026-11-27T14:00:00Z WARN solana_runtime] mind this", "no level at all", "localnet       level=ERROR msg=boom", "partial"} {
		if !strings.Contains(got, want) {
			t.Errorf("console %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "noise") {
		t.Errorf("console %q shows a debug line", got)
	}
}
