package chain

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the RPC and websocket metrics. A nil *Metrics records nothing.
type Metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	errors     *prometheus.CounterVec
	reconnects prometheus.Counter
	notices    prometheus.Counter
}

// NewMetrics registers the chain metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_indexer_rpc_requests_total",
			Help: "JSON-RPC requests sent, by method, retries included.",
		}, []string{"method"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "upgrade_manager_indexer_rpc_request_duration_seconds",
			Help:    "Time from sending a JSON-RPC request to its answer (or failure), by method; waits for rate limits excluded.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_indexer_rpc_errors_total",
			Help: "JSON-RPC requests that failed, by method and kind (rate_limited, transport, node, final).",
		}, []string{"method", "kind"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upgrade_manager_indexer_websocket_reconnects_total",
			Help: "Times the log subscription's websocket was lost and connected again.",
		}),
		notices: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upgrade_manager_indexer_log_notifications_total",
			Help: "logsSubscribe notifications received.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.errors, m.reconnects, m.notices)
	return m
}

func (m *Metrics) request(method string) {
	if m != nil {
		m.requests.WithLabelValues(method).Inc()
	}
}

func (m *Metrics) observe(method string, d time.Duration) {
	if m != nil {
		m.latency.WithLabelValues(method).Observe(d.Seconds())
	}
}

func (m *Metrics) failure(method string, kind errorKind) {
	if m != nil {
		m.errors.WithLabelValues(method, string(kind)).Inc()
	}
}

func (m *Metrics) reconnect() {
	if m != nil {
		m.reconnects.Inc()
	}
}

func (m *Metrics) notice() {
	if m != nil {
		m.notices.Inc()
	}
}
