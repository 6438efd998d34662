package fanout

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the fan-out's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	subscribers   prometheus.Gauge
	publishedEvts prometheus.Counter
	droppedSubs   prometheus.Counter
	notifications prometheus.Counter
	reconnects    prometheus.Counter
	connected     prometheus.Gauge
}

// NewMetrics registers the fan-out's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "upgrade_manager_graphql_subscribers",
			Help: "Open subscriptions on this process's broker.",
		}),
		publishedEvts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upgrade_manager_graphql_events_published_total",
			Help: "Events read from the log and fanned out.",
		}),
		droppedSubs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upgrade_manager_graphql_subscribers_dropped_total",
			Help: "Subscriptions ended because their buffer was full.",
		}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upgrade_manager_graphql_notifications_total",
			Help: "Notifications received on upgrade_manager_events.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upgrade_manager_graphql_listener_reconnects_total",
			Help: "Times the listener lost its connection and connected again.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "upgrade_manager_graphql_listener_connected",
			Help: "1 while the listener's connection is up.",
		}),
	}
	reg.MustRegister(m.subscribers, m.publishedEvts, m.droppedSubs, m.notifications, m.reconnects, m.connected)
	return m
}

func (m *Metrics) subscribed(delta int) {
	if m != nil {
		m.subscribers.Add(float64(delta))
	}
}

func (m *Metrics) published(n int) {
	if m != nil {
		m.publishedEvts.Add(float64(n))
	}
}

func (m *Metrics) dropped() {
	if m != nil {
		m.droppedSubs.Inc()
	}
}

func (m *Metrics) notified() {
	if m != nil {
		m.notifications.Inc()
	}
}

func (m *Metrics) reconnected() {
	if m != nil {
		m.reconnects.Inc()
	}
}

func (m *Metrics) setConnected(up bool) {
	if m != nil {
		v := 0.0
		if up {
			v = 1
		}
		m.connected.Set(v)
	}
}
