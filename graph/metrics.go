package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the GraphQL server's Prometheus metrics.
type Metrics struct {
	duration      *prometheus.HistogramVec
	responses     *prometheus.CounterVec
	subscriptions prometheus.Gauge
}

// NewMetrics registers the server's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "upgrade_manager_graphql_response_duration_seconds",
			Help:    "Time to produce one response: a query's, or one subscription event's.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_graphql_responses_total",
			Help: "Responses sent, by operation type and whether they carried errors.",
		}, []string{"operation", "outcome"}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "upgrade_manager_graphql_subscriptions",
			Help: "Open subscriptions of clients. Equal ones share one execution: upgrade_manager_graphql_subscribers counts those.",
		}),
	}
	reg.MustRegister(m.duration, m.responses, m.subscriptions)
	return m
}

// observeWebsockets registers gauges of l's open websockets and their
// operations.
func (m *Metrics) observeWebsockets(reg prometheus.Registerer, l *wsLimiter) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "upgrade_manager_graphql_websocket_connections",
			Help: "Open websocket connections (bounded by -ws-conns, and -ws-conns-per-addr per client address).",
		}, func() float64 {
			l.mu.Lock()
			defer l.mu.Unlock()
			return float64(l.conns)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "upgrade_manager_graphql_websocket_operations",
			Help: "Operations running on websocket connections: subscriptions, and queries sent over a websocket (bounded by -ws-subs).",
		}, func() float64 { return float64(l.ops.Load()) }),
	)
}

// metricsExtension observes every response. Subscriptions make one
// response per subscriber per event, so the label lookups are done once.
type metricsExtension struct {
	m       *Metrics
	byOp    map[string]opMetrics
	unknown opMetrics
}

type opMetrics struct {
	duration  prometheus.Observer
	ok, error prometheus.Counter
}

func newMetricsExtension(m *Metrics) metricsExtension {
	forOp := func(op string) opMetrics {
		return opMetrics{
			duration: m.duration.WithLabelValues(op),
			ok:       m.responses.WithLabelValues(op, "ok"),
			error:    m.responses.WithLabelValues(op, "error"),
		}
	}
	e := metricsExtension{m: m, byOp: map[string]opMetrics{}, unknown: forOp("unknown")}
	for _, op := range []string{"query", "mutation", "subscription"} {
		e.byOp[op] = forOp(op)
	}
	return e
}

var (
	_ graphql.HandlerExtension    = metricsExtension{}
	_ graphql.ResponseInterceptor = metricsExtension{}
)

func (metricsExtension) ExtensionName() string                   { return "Metrics" }
func (metricsExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (e metricsExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	m := e.unknown
	if graphql.HasOperationContext(ctx) {
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil {
			if om, ok := e.byOp[string(oc.Operation.Operation)]; ok {
				m = om
			}
		}
	}
	m.duration.Observe(time.Since(start).Seconds())
	if len(resp.Errors) > 0 {
		m.error.Inc()
	} else {
		m.ok.Inc()
	}
	return resp
}
