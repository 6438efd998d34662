package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/faultproxy"
)

// Injector carries out a schedule of faults against an environment.
type Injector struct {
	env         *Env
	subscribers []*Subscriber
	gate        *sync.RWMutex // taken for writing around a fork
	raw         *rawRPC
	log         *slog.Logger

	mu       sync.Mutex
	injected map[FaultClass]int
	errors   []string
	// windows are the spans during which a fault was active, for the latency split.
	windows []window
}

type window struct{ from, to time.Time }

// NewInjector returns an Injector for env.
func NewInjector(env *Env, subs []*Subscriber, gate *sync.RWMutex, log *slog.Logger) *Injector {
	return &Injector{env: env, subscribers: subs, gate: gate, raw: newRawRPC(env.Node.RPCURL), log: log, injected: map[FaultClass]int{}}
}

// Run injects each scheduled fault at its time (from start) until the schedule ends or ctx does.
func (in *Injector) Run(ctx context.Context, start time.Time, schedule []ScheduledFault) {
	for _, f := range schedule {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(f.At))):
		}
		began := time.Now()
		d, err := in.inject(ctx, f)
		in.mu.Lock()
		if err != nil {
			in.errors = append(in.errors, fmt.Sprintf("%s: %v", f, err))
			in.log.Warn("fault not injected", slog.String("fault", string(f.Class)), slog.Any("error", err))
		} else {
			in.injected[f.Class]++
			// A fault's effects outlast it: count the few seconds after it as faulty too.
			in.windows = append(in.windows, window{began, time.Now().Add(d + 3*time.Second)})
			in.log.Info("fault injected", slog.String("fault", string(f.Class)), slog.Duration("at", f.At.Round(100*time.Millisecond)))
		}
		in.mu.Unlock()
	}
}

// inject carries out one fault and returns how long it stays active after it returns.
func (in *Injector) inject(ctx context.Context, f ScheduledFault) (time.Duration, error) {
	pick := f.Pick
	// Windows of 1 to 3 s: long enough to hit several requests, short enough for the
	// clients' retries to get through afterwards.
	win := time.Second + time.Duration(pick%2000)*time.Millisecond
	set := func(pf faultproxy.Fault) (time.Duration, error) {
		in.env.Proxy.Set(pf, win)
		return win, nil
	}
	switch f.Class {
	case FaultWSDevDisconnect:
		_, err := in.raw.call(ctx, "dev_disconnectWebsockets")
		return 0, err
	case FaultProxyDrop:
		in.env.Proxy.DropConnections()
		return 0, nil
	case FaultKillIndexer:
		return 0, in.env.Sup.Kill(in.env.Indexers[pick%uint64(len(in.env.Indexers))])
	case FaultKillCrank:
		return 0, in.env.Sup.Kill(in.env.Cranks[pick%uint64(len(in.env.Cranks))])
	case FaultKillGraphQL:
		return 0, in.env.Sup.Kill(fmt.Sprintf("graphql-%d", 1+pick%2))
	case FaultPGRestart:
		return 0, in.env.Cluster.RestartImmediate(ctx)
	case FaultHTTP429:
		return set(faultproxy.HTTP429)
	case FaultHTTP500:
		return set(faultproxy.HTTP500)
	case FaultHTTP503:
		return set(faultproxy.HTTP503)
	case FaultSlow:
		return set(faultproxy.Slow)
	case FaultRPC32004:
		return set(faultproxy.BlockNotAvailable)
	case FaultRPC32005:
		return set(faultproxy.NodeUnhealthy)
	case FaultWSDuplicate:
		return set(faultproxy.DuplicateNotifications)
	case FaultWSDelay:
		return set(faultproxy.DelayNotifications)
	case FaultFork:
		// Abandon 2 to 5 unfinalized slots, confirmed ones among them; the workload
		// pauses between transactions meanwhile so none is half sent.
		in.gate.Lock()
		defer in.gate.Unlock()
		_, err := in.raw.call(ctx, "dev_rollback", 2+pick%4)
		return 0, err
	case FaultSubscriberCut:
		if len(in.subscribers) == 0 {
			return 0, fmt.Errorf("no subscribers")
		}
		in.subscribers[pick%uint64(len(in.subscribers))].Cut()
		return 0, nil
	}
	return 0, fmt.Errorf("unknown fault class %q", f.Class)
}

// Injected returns the faults injected per class and the ones that failed.
func (in *Injector) Injected() (map[FaultClass]int, []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := map[FaultClass]int{}
	for k, v := range in.injected {
		out[k] = v
	}
	return out, append([]string(nil), in.errors...)
}

// DuringFault reports whether t fell in a fault's window.
func (in *Injector) DuringFault(t time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, w := range in.windows {
		if !t.Before(w.from) && t.Before(w.to) {
			return true
		}
	}
	return false
}
