package ingest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// The indexer against a free-tier RPC: 429s with Retry-After while it
// fetches, and a quota of 50 requests/s. No request reaches the node inside
// a window it asked for, no second holds more than the quota, and the whole
// history lands.
func TestRetryAfterAndRateCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const rate = 50
	b.rate = rate
	b.srv.Inject(rpctest.Fault{Method: "getTransaction", HTTPStatus: http.StatusTooManyRequests, RetryAfter: "1", Times: 3})
	b.start(b.newIngester(true))
	testkit.Eventually(t, 0, "subscribed", func() bool { return b.srv.Subscribers() == 1 })
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	b.assertComplete()

	log := b.srv.Log()
	limited, most := 0, 0
	for i, r := range log {
		n := 0
		for _, q := range log[i:] {
			if q.At.Sub(r.At) < time.Second {
				n++
			}
		}
		most = max(most, n)
		if r.Status != http.StatusTooManyRequests {
			continue
		}
		limited++
		for _, q := range log[i+1:] {
			// Requests already on their way when the 429 was read may
			// arrive just after it; none may be sent inside the window.
			if d := q.At.Sub(r.At); d > 200*time.Millisecond && d < time.Second {
				t.Errorf("%s arrived %v after a 429 that asked for 1 s", q.Method, d)
			}
		}
	}
	if limited != 3 {
		t.Errorf("%d requests answered 429, want 3", limited)
	}
	// One more than the rate: a request booked on time may be delayed on
	// its way by the scheduler.
	if most > rate+1 {
		t.Errorf("%d requests within one second, want at most %d", most, rate+1)
	}
}
