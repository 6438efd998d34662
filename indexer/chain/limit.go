package chain

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
)

// maxRetryAfter caps a Retry-After the client follows: a node asking for
// longer is asked again after this.
const maxRetryAfter = 5 * time.Minute

// limiter is the one gate every HTTP request of a client passes, whichever
// worker sends it: a pause a rate limit imposed (Retry-After, or the
// client's own backoff when the node gives none) and, with a rate, a pace of
// at most rate requests per second (no bursts).
type limiter struct {
	mu         sync.Mutex
	pauseUntil time.Time
	interval   time.Duration // between requests; 0: no pace
	next       time.Time     // the earliest time of the next request
}

func newLimiter(ratePerSecond float64) *limiter {
	l := &limiter{}
	if ratePerSecond > 0 {
		l.interval = time.Duration(float64(time.Second) / ratePerSecond)
	}
	return l
}

// wait blocks until a request may go out, and books its place.
func (l *limiter) wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := time.Now()
		at := now
		if l.pauseUntil.After(at) {
			at = l.pauseUntil
		}
		if l.interval > 0 && l.next.After(at) {
			at = l.next
		}
		if !at.After(now) {
			if l.interval > 0 {
				l.next = now.Add(l.interval)
			}
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		// Sleep, then look again: a pause may have been set meanwhile.
		if err := backoff.Sleep(ctx, at.Sub(now)); err != nil {
			return err
		}
	}
}

// pauseFor makes every request wait d from now, unless a longer pause is
// already set: pauses from concurrent workers overlap, they never add up.
func (l *limiter) pauseFor(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.pauseUntil) {
		l.pauseUntil = until
	}
}

// paused reports whether a pause is in force.
func (l *limiter) paused() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pauseUntil.After(time.Now())
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

// limitedTransport turns a Retry-After on 429 or 503 into a client-wide
// pause (Client.call waits on the limiter before each request, on the
// caller's context rather than the request's timeout).
type limitedTransport struct {
	base    http.RoundTripper
	limiter *limiter
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			t.limiter.pauseFor(d)
		}
	}
	return resp, err
}
