package chain_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// Retry-After, in seconds or as an HTTP date, holds every worker of the
// client: no request reaches the node inside the window it asked for.
// Before, the client retried after its own backoff.
func TestRetryAfterHoldsEveryWorker(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		value func() string
	}{
		{"seconds", func() string { return "1" }},
		{"http date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv, _, _ := setup(t)
			reg := prometheus.NewRegistry()
			client := chain.NewClient(chain.ClientConfig{URL: srv.URL(), MinBackoff: time.Millisecond,
				MaxBackoff: 10 * time.Millisecond, Metrics: chain.NewMetrics(reg)})
			t.Cleanup(func() { _ = client.Close() })
			srv.Inject(rpctest.Fault{Method: "getSlot", HTTPStatus: http.StatusTooManyRequests, RetryAfter: c.value(), Times: 1})
			var wg sync.WaitGroup
			slot := func() {
				if _, err := client.Slot(t.Context(), chain.Confirmed); err != nil {
					t.Error(err)
				}
			}
			wg.Go(slot)
			// The other workers start once the client has read the 429.
			testkit.Eventually(t, 0, "the client to read the 429", func() bool { return rateLimited(t, reg) > 0 })
			for range 3 {
				wg.Go(slot)
			}
			wg.Wait()
			log := srv.Log()
			if len(log) != 5 || log[0].Status != http.StatusTooManyRequests {
				t.Fatalf("requests = %+v, want a 429 then four answers", log)
			}
			for _, q := range log[1:] {
				if d := q.At.Sub(log[0].At); d < time.Second {
					t.Errorf("%s arrived %v after a 429 that asked for at least 1 s", q.Method, d)
				}
			}
		})
	}
}

func rateLimited(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "upgrade_manager_indexer_rpc_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == "rate_limited" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// -rpc-rate caps the client: over many concurrent callers, no second holds
// more requests than the rate (one more is allowed for a request booked on
// time and delayed on its way).
func TestRateCapsEveryWorker(t *testing.T) {
	t.Parallel()
	srv, _, f := setup(t)
	const rate = 20
	client := chain.NewClient(chain.ClientConfig{URL: srv.URL(), RatePerSecond: rate, MinBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond, Metrics: chain.NewMetrics(prometheus.NewRegistry())})
	t.Cleanup(func() { _ = client.Close() })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 6 {
				if _, err := client.Signatures(t.Context(), f.ProgramID, "", 5, chain.Confirmed); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	log := srv.Log()
	if len(log) != 48 {
		t.Fatalf("%d requests, want 48", len(log))
	}
	most := 0
	for i := range log {
		n := 0
		for _, q := range log[i:] {
			if q.At.Sub(log[i].At) < time.Second {
				n++
			}
		}
		most = max(most, n)
	}
	if most > rate+1 {
		t.Errorf("%d requests within one second, want at most %d", most, rate+1)
	}
}
