package backoff

import (
	"context"
	"testing"
	"time"
)

func TestNextGrowsWithinBounds(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for i, ceil := range []time.Duration{10, 20, 40, 80, 80, 80} {
		ceil *= time.Millisecond
		d := b.Next()
		if d < ceil/2 || d > ceil {
			t.Errorf("attempt %d: delay %v outside [%v, %v]", i, d, ceil/2, ceil)
		}
	}
	b.Reset()
	if d := b.Next(); d > 10*time.Millisecond {
		t.Errorf("after Reset: %v, want at most Min", d)
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Sleep(ctx, time.Hour); err == nil {
		t.Error("Sleep on a canceled context returned nil")
	}
}

// TestNextJitters: clients that failed together do not retry together.
func TestNextJitters(t *testing.T) {
	t.Parallel()
	seen := map[time.Duration]bool{}
	for range 100 {
		b := Backoff{Min: time.Second, Max: time.Second}
		seen[b.Next()] = true
	}
	if len(seen) < 2 {
		t.Errorf("100 first delays took %d distinct values: no jitter", len(seen))
	}
}
