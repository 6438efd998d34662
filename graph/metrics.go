package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the GraphQL server's Prometheus metrics.
type Metrics struct {
	duration  *prometheus.HistogramVec
	responses *prometheus.CounterVec
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
	}
	reg.MustRegister(m.duration, m.responses)
	return m
}

// metricsExtension observes every response.
type metricsExtension struct{ m *Metrics }

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
	op := "unknown"
	if graphql.HasOperationContext(ctx) {
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil {
			op = string(oc.Operation.Operation)
		}
	}
	outcome := "ok"
	if len(resp.Errors) > 0 {
		outcome = "error"
	}
	e.m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	e.m.responses.WithLabelValues(op, outcome).Inc()
	return resp
}
