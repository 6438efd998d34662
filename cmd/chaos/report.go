package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/faultproxy"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/procsup"
)

// Report is what a run found.
type Report struct {
	Seed     uint64
	Config   Config
	Schedule []ScheduledFault

	WorkloadTook, FaultsTook, SettledAfter time.Duration

	Injected     map[FaultClass]int
	InjectErrors []string

	WorkloadSent, WorkloadFailed int64
	Outcome                      map[string]int
	Transactions, Events         int
	EventsByName                 map[string]int

	Mismatches         []string
	RevertedDeliveries int

	// Lag is from a transaction's confirmation (as the workload saw it) to its events'
	// rows in the database; Latency to a subscriber's receipt of the event.
	LagFault, LagCalm         []time.Duration
	LatencyFault, LatencyCalm []time.Duration

	ProxyStats faultproxy.Stats
	Processes  map[string]procsup.Stats
	Resumes    map[string]int
}

// OK reports whether the run found nothing wrong.
func (r *Report) OK() bool { return len(r.Mismatches) == 0 }

// measure collects the lag and latency samples, split by whether a fault was active
// when the transaction was confirmed.
func (r *Report) measure(ctx context.Context, env *Env, wl *Workload, subs []*Subscriber, in *Injector) error {
	confirmed := wl.ConfirmedAt()
	rows, err := env.DB.Query(ctx, `SELECT signature, min(inserted_at) FROM chain_event GROUP BY signature`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var sig string
		var at time.Time
		if err := rows.Scan(&sig, &at); err != nil {
			rows.Close()
			return err
		}
		if c, ok := confirmed[sig]; ok {
			if in.DuringFault(c) {
				r.LagFault = append(r.LagFault, at.Sub(c))
			} else {
				r.LagCalm = append(r.LagCalm, at.Sub(c))
			}
		}
	}
	rows.Close()
	r.Resumes = map[string]int{}
	for _, s := range subs {
		r.Resumes[s.Name] = s.Resumes()
		first := map[string]bool{}
		for _, e := range s.Seen() {
			c, ok := confirmed[e.Sig]
			if !ok || first[e.Sig] {
				continue
			}
			first[e.Sig] = true
			if in.DuringFault(c) {
				r.LatencyFault = append(r.LatencyFault, e.At.Sub(c))
			} else {
				r.LatencyCalm = append(r.LatencyCalm, e.At.Sub(c))
			}
		}
	}
	return rows.Err()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func dist(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %v  p99 %v  max %v  (%d samples)",
		percentile(ds, 0.5).Round(time.Millisecond), percentile(ds, 0.99).Round(time.Millisecond),
		percentile(ds, 1).Round(time.Millisecond), len(ds))
}

// String formats the report.
func (r *Report) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	p("chaos report: %s\n", verdict)
	p("seed %d; proposals %d over %d governances; migration of %d accounts; upgrade+rollback %v; %d faults per class over %v\n",
		r.Seed, r.Config.Proposals, r.Config.Governances, r.Config.MigrateAccounts, r.Config.Upgrade, r.Config.FaultsPerClass, r.Config.FaultWindow)
	p("workload %v, faults %v, converged %v after the start\n", r.WorkloadTook.Round(time.Second), r.FaultsTook.Round(time.Second), r.SettledAfter.Round(time.Second))
	p("\nfaults injected:\n")
	for _, f := range AllFaults {
		p("  %-18s %d\n", f, r.Injected[f])
	}
	for _, e := range r.InjectErrors {
		p("  not injected: %s\n", e)
	}
	var faulted []string
	for k, v := range r.ProxyStats.Faulted {
		faulted = append(faulted, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(faulted)
	p("  requests or frames the proxy changed: %s\n", strings.Join(faulted, ", "))
	p("\nprocesses (starts / kills / crashes):\n")
	var names []string
	for n := range r.Processes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := r.Processes[n]
		p("  %-18s %d / %d / %d\n", n, s.Starts, s.Kills, s.Crashes)
		for _, e := range s.CrashErrors {
			p("    crash: %s\n", e)
		}
	}
	p("\nworkload: %d transactions sent, %d failed or abandoned to forks\n", r.WorkloadSent, r.WorkloadFailed)
	var outs []string
	for k, v := range r.Outcome {
		outs = append(outs, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(outs)
	p("  proposals: %s\n", strings.Join(outs, ", "))
	p("chain: %d successful program transactions, %d events\n", r.Transactions, r.Events)
	var evs []string
	for k, v := range r.EventsByName {
		evs = append(evs, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(evs)
	p("  %s\n", strings.Join(evs, ", "))
	var total int64
	for _, v := range r.ProxyStats.Methods {
		total += v
	}
	if r.Transactions > 0 {
		p("indexer RPC requests (through the proxy): %d, %.1f per program transaction\n", total, float64(total)/float64(r.Transactions))
	}
	p("\nindexer lag (confirmation to row):\n  during faults %s\n  otherwise     %s\n", dist(r.LagFault), dist(r.LagCalm))
	p("notification latency (confirmation to subscriber):\n  during faults %s\n  otherwise     %s\n", dist(r.LatencyFault), dist(r.LatencyCalm))
	var res []string
	for k, v := range r.Resumes {
		res = append(res, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(res)
	p("subscriber resumes: %s; deliveries of reverted events: %d\n", strings.Join(res, ", "), r.RevertedDeliveries)
	p("\nmismatches: %d\n", len(r.Mismatches))
	for i, m := range r.Mismatches {
		if i == 50 {
			p("  ... and %d more\n", len(r.Mismatches)-50)
			break
		}
		p("  %s\n", m)
	}
	return b.String()
}
