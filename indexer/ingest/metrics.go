package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// Metrics are the ingestion metrics. A nil *Metrics records nothing.
type Metrics struct {
	lastApplied  prometheus.Gauge
	tipSlot      prometheus.Gauge
	finalSlot    prometheus.Gauge
	lag          prometheus.Gauge
	events       *prometheus.CounterVec
	transactions prometheus.Counter
	decodeErrors *prometheus.CounterVec
	deadLetters  prometheus.Counter
	truncatedTxs prometheus.Counter
	backfill     prometheus.Counter
	reconcile    prometheus.Counter
	promote      prometheus.Counter
	revert       prometheus.Counter
	rebuilds     prometheus.Counter
	commit       prometheus.Histogram
	dbErrors     prometheus.Counter
	syncErrors   prometheus.Counter
	refusedTxs   prometheus.Counter
}

// NewMetrics registers the ingestion metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns = "upgrade_manager_indexer_"
	m := &Metrics{
		lastApplied: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "last_applied_slot",
			Help: "Slot of the newest transaction applied."}),
		tipSlot: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "chain_tip_slot",
			Help: "Newest slot at the ingestion commitment that the RPC node reported."}),
		finalSlot: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "finalized_slot",
			Help: "Newest finalized slot that the RPC node reported."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: ns + "lag_slots",
			Help: "Slots between the chain tip and the slot up to which everything is applied."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "events_applied_total",
			Help: "Program events written to the event log, by event name."}, []string{"name"}),
		transactions: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "transactions_applied_total",
			Help: "Transactions applied (each once), failed ones and ones without events included."}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ns + "decode_errors_total",
			Help: "Instructions or transactions the decoder rejected, by reason."}, []string{"reason"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "dead_letters_total",
			Help: "Rows written to dead_letter."}),
		truncatedTxs: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "truncated_transactions_total",
			Help: "Transactions whose logs were truncated (events are read from inner instructions, which are not)."}),
		backfill: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "backfilled_signatures_total",
			Help: "Transactions applied that no log notification had announced (missed while disconnected, or before start)."}),
		reconcile: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "reconciled_transactions_total",
			Help: "Finalized transactions that reconciliation found unapplied and applied."}),
		promote: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "promoted_transactions_total",
			Help: "Transactions promoted from confirmed to finalized."}),
		revert: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "reverted_transactions_total",
			Help: "Confirmed transactions reverted because their slot never finalized."}),
		rebuilds: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "projection_rebuilds_total",
			Help: "Batches that rebuilt the projections because they held a transaction older than applied ones."}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ns + "batch_commit_seconds",
			Help:    "Time to write and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		dbErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "database_errors_total",
			Help: "Batch writes that failed and were retried."}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "sync_errors_total",
			Help: "Syncs that stopped early and were retried."}),
		refusedTxs: prometheus.NewCounter(prometheus.CounterOpts{Name: ns + "refused_transactions_total",
			Help: "Transactions whose rows PostgreSQL refused for a data reason, recorded as dead letters (indexer replay retries them)."}),
	}
	reg.MustRegister(m.lastApplied, m.tipSlot, m.finalSlot, m.lag, m.events, m.transactions,
		m.decodeErrors, m.deadLetters, m.truncatedTxs, m.backfill, m.reconcile, m.promote, m.revert,
		m.rebuilds, m.commit, m.dbErrors, m.syncErrors, m.refusedTxs)
	return m
}

func (m *Metrics) applied(a store.Applied, took time.Duration, lastApplied uint64) {
	if m == nil {
		return
	}
	m.commit.Observe(took.Seconds())
	for name, n := range a.Events {
		m.events.WithLabelValues(name).Add(float64(n))
	}
	m.transactions.Add(float64(a.Transactions))
	m.deadLetters.Add(float64(a.DeadLetters))
	if a.Rebuilt {
		m.rebuilds.Inc()
	}
	m.lastApplied.Set(float64(lastApplied))
}

func (m *Metrics) tip(tip, synced uint64) {
	if m == nil {
		return
	}
	m.tipSlot.Set(float64(tip))
	if synced > 0 && tip >= synced {
		m.lag.Set(float64(tip - synced))
	}
}

func (m *Metrics) synced(synced, tip uint64) {
	if m != nil && tip >= synced {
		m.lag.Set(float64(tip - synced))
	}
}

func (m *Metrics) finalized(slot uint64) {
	if m != nil {
		m.finalSlot.Set(float64(slot))
	}
}

func (m *Metrics) decodeError(reason string) {
	if m != nil {
		m.decodeErrors.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) truncated() {
	if m != nil {
		m.truncatedTxs.Inc()
	}
}

func (m *Metrics) backfilled(n int) {
	if m != nil && n > 0 {
		m.backfill.Add(float64(n))
	}
}

func (m *Metrics) reconciled(n int) {
	if m != nil {
		m.reconcile.Add(float64(n))
	}
}

func (m *Metrics) promoted(n int) {
	if m != nil {
		m.promote.Add(float64(n))
	}
}

func (m *Metrics) reverted(n int) {
	if m != nil {
		m.revert.Add(float64(n))
	}
}

func (m *Metrics) dbError() {
	if m != nil {
		m.dbErrors.Inc()
	}
}

func (m *Metrics) syncError() {
	if m != nil {
		m.syncErrors.Inc()
	}
}

func (m *Metrics) refused(a store.Applied) {
	if m != nil {
		m.refusedTxs.Add(float64(a.Transactions))
		m.deadLetters.Add(float64(a.DeadLetters))
	}
}
