package graph_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// metric reads a gauge or counter without labels from base's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	v, ok := scanMetric(resp.Body, name)
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	return v
}

// scanMetric finds a metric without labels in a Prometheus text exposition.
func scanMetric(r io.Reader, name string) (float64, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
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
