package chain

import (
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 0.5 ", 500 * time.Millisecond, true},
		{"Fri, 02 Jan 2026 03:04:08 GMT", 3 * time.Second, true},
		{"Fri, 02 Jan 2026 03:04:00 GMT", 0, true}, // in the past: go now
		{"86400", maxRetryAfter, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	} {
		got, ok := retryAfter(c.h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", c.h, got, ok, c.want, c.ok)
		}
	}
}

// Pauses from concurrent workers overlap; they never add up.
func TestPausesOverlap(t *testing.T) {
	t.Parallel()
	l := newLimiter(0)
	for range 8 {
		l.pauseFor(time.Second)
	}
	if latest := time.Now().Add(time.Second); l.pauseUntil.After(latest) {
		t.Errorf("eight 1 s pauses pause until %v after now, want at most 1 s", time.Until(l.pauseUntil))
	}
}
