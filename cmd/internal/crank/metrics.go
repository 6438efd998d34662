package crank

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the crank's Prometheus series; labels never carry keys or signatures.
type Metrics struct {
	attempts         *prometheus.CounterVec
	successes        *prometheus.CounterVec
	racesLost        *prometheus.CounterVec
	errors           *prometheus.CounterVec
	payerBalance     prometheus.Gauge
	lamportsSpent    *prometheus.CounterVec
	accountsLeft     prometheus.Gauge
	accountsMigrated prometheus.Counter
	rentReclaimed    *prometheus.CounterVec
}

// NewMetrics registers the crank's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_crank_attempts_total",
			Help: "Transactions the crank tried to land, by crank kind and action.",
		}, []string{"kind", "action"}),
		successes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_crank_successes_total",
			Help: "Transactions the crank landed, by crank kind and action.",
		}, []string{"kind", "action"}),
		racesLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_crank_races_lost_total",
			Help: "Actions another crank (or anyone) performed first.",
		}, []string{"kind", "action"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_crank_errors_total",
			Help: "Failures by crank kind and error kind (rpc, simulation, confirmation, database, chain_state).",
		}, []string{"kind", "error"}),
		payerBalance: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "upgrade_manager_crank_fee_payer_balance_lamports",
			Help: "The fee payer's balance at the last check.",
		}),
		lamportsSpent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upgrade_manager_crank_lamports_spent_total",
			Help: "Lamports the fee payer spent on landed transactions (fees and rent).",
		}, []string{"kind"}),
		accountsLeft: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "upgrade_manager_crank_accounts_left_to_migrate",
			Help: "Accounts still at their old version across active migration jobs, at the last scan.",
		}),
		accountsMigrated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upgrade_manager_crank_accounts_migrated_total",
			Help: "Accounts this crank migrated.",
		}),
	}
	m.rentReclaimed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "upgrade_manager_crank_rent_reclaimed_lamports_total",
		Help: "Rent of the ended accounts this crank closed, sent to the governance's rent collector (or the payer), by account (proposal, migration_job).",
	}, []string{"account"})
	reg.MustRegister(m.attempts, m.successes, m.racesLost, m.errors, m.payerBalance, m.lamportsSpent, m.accountsLeft, m.accountsMigrated, m.rentReclaimed)
	return m
}
