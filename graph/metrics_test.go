package graph_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// metric reads a gauge or counter without labels from base's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	v, err := graphtest.Metric(base, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// waitMetric waits until metric name on base reaches at least want.
func waitMetric(t *testing.T, base, name string, want float64) {
	t.Helper()
	testkit.Eventually(t, 0, fmt.Sprintf("%s to reach %v", name, want), func() bool { return metric(t, base, name) >= want })
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, err := http.Get(b.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
	if v := metric(t, b.base, "upgrade_manager_graphql_listener_connected"); v != 1 {
		t.Errorf("listener_connected = %v, want 1", v)
	}
	resp, err = http.Get(b.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GraphiQL page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
