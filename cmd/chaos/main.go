package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if code := cli.ExitCode(err); code != 0 {
			fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
			os.Exit(code)
		}
		os.Exit(0)
	}
	rep, err := m.Run(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		os.Exit(1)
	}
	if !rep.OK() {
		fmt.Fprintf(os.Stderr, "chaos: FAILED; repeat with -seed %d and the same sizes\n", m.Config.Seed)
		os.Exit(1)
	}
}

// Config is the run's configuration.
type Config struct {
	Seed            uint64
	Governances     int
	Proposals       int
	MigrateAccounts int
	Upgrade         bool
	FaultsPerClass  int
	FaultWindow     time.Duration
	PollInterval    time.Duration
	SettleTimeout   time.Duration
	ReportPath      string
	LogDir          string
	// NULMetadata sends, on each config governance, one proposal whose metadata URI holds NUL or
	// other control bytes (or invalid UTF-8): the program refuses it (MetadataUriNotPrintable)
	// and the run counts the refusal as expected.
	NULMetadata bool
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Governances < 1:
		return errors.New("-governances must be at least 1")
	case c.Proposals < c.Governances:
		return errors.New("-proposals must be at least -governances")
	case c.FaultsPerClass < 0:
		return errors.New("-faults-per-class must not be negative")
	case c.FaultWindow <= 0:
		return errors.New("-fault-window must be positive")
	}
	return nil
}

// Main is the chaos program; tests set Config and call Run.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer
}

// NewMain returns a Main logging to stderr.
func NewMain() *Main {
	return &Main{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), Stdout: os.Stdout}
}

// ParseFlags fills m.Config from args.
func (m *Main) ParseFlags(args []string) error {
	fs := cli.NewFlagSet("chaos", os.Stderr)
	c := &m.Config
	fs.Uint64Var(&c.Seed, "seed", uint64(time.Now().UnixNano()), "seed of the fault schedule and the workload's choices")
	fs.IntVar(&c.Governances, "governances", 8, "governances running config-change proposals")
	fs.IntVar(&c.Proposals, "proposals", 1000, "config-change proposals across those governances")
	fs.IntVar(&c.MigrateAccounts, "migrate-accounts", 2000, "accounts the migration rewrites; 0 skips it")
	fs.BoolVar(&c.Upgrade, "upgrade", true, "upgrade the localnet's target program and roll it back")
	fs.IntVar(&c.FaultsPerClass, "faults-per-class", 5, "faults injected of each class")
	fs.DurationVar(&c.FaultWindow, "fault-window", 10*time.Minute, "span over which the faults are spread")
	fs.DurationVar(&c.PollInterval, "poll-interval", time.Second, "poll interval of the indexers and cranks")
	fs.DurationVar(&c.SettleTimeout, "settle-timeout", 3*time.Minute, "how long the read model may take to converge after the last fault")
	fs.StringVar(&c.ReportPath, "report", "chaos-report.txt", "write the report to `file`")
	fs.StringVar(&c.LogDir, "log-dir", "", "`directory` for the processes' logs (default: a new temporary directory)")
	fs.BoolVar(&c.NULMetadata, "nul-metadata", true, "send one proposal per governance with NUL or control bytes in its metadata, which the program must refuse")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return c.Validate()
}

// Run runs the whole chaos run and returns its report (written and printed).
func (m *Main) Run(ctx context.Context) (*Report, error) {
	c := m.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.LogDir == "" {
		dir, err := os.MkdirTemp("", "chaos-")
		if err != nil {
			return nil, err
		}
		c.LogDir = dir
	}
	log := m.Logger
	log.Info("chaos run", slog.Uint64("seed", c.Seed), slog.Int("proposals", c.Proposals), slog.Int("migrate_accounts", c.MigrateAccounts),
		slog.Int("faults_per_class", c.FaultsPerClass), slog.String("logs", c.LogDir))
	fmt.Fprintf(m.Stdout, "chaos: seed %d (repeat with -seed %d)\n", c.Seed, c.Seed)

	if !c.NULMetadata {
		refusedMetadata = nil
	}
	wl := NewWorkload(WorkloadConfig{Seed: c.Seed, Governances: c.Governances, Proposals: c.Proposals,
		MigrateAccounts: c.MigrateAccounts, Upgrade: c.Upgrade}, log.With(slog.String("part", "workload")))
	env, err := StartEnv(ctx, EnvConfig{Fund: wl.FundKeys(), PollInterval: c.PollInterval, LogDir: c.LogDir, Logger: log})
	if err != nil {
		return nil, err
	}
	closed := false
	var leftovers []string
	closeEnv := func() {
		if !closed {
			closed = true
			leftovers = env.Close()
		}
	}
	defer closeEnv()

	var gate sync.RWMutex
	wl.Attach(env, &gate)
	subCtx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	var subs []*Subscriber
	var subWG sync.WaitGroup
	for i, url := range env.GraphQL {
		for _, proto := range []string{protoTransportWS, protoLegacyWS} {
			s := NewSubscriber(fmt.Sprintf("graphql-%d/%s", i+1, proto), url, proto)
			subs = append(subs, s)
			subWG.Add(1)
			go func() { defer subWG.Done(); s.Run(subCtx) }()
		}
	}

	schedule := Schedule(c.Seed, c.FaultWindow, c.FaultsPerClass, AllFaults)
	in := NewInjector(env, subs, &gate, log.With(slog.String("part", "faults")))
	began := time.Now()
	injCtx, stopInj := context.WithCancel(ctx)
	defer stopInj()
	injDone := make(chan struct{})
	go func() { defer close(injDone); in.Run(injCtx, began, schedule) }()

	workErr := wl.Run(ctx)
	workDone := time.Since(began)
	log.Info("workload done", slog.Duration("took", workDone.Round(time.Second)), slog.Any("error", workErr))
	<-injDone
	faultsDone := time.Since(began)
	env.Proxy.Clear()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	// Converge: the finalized chain read back, compared until it matches or time runs out.
	ck := &Checker{rpc: newRawRPC(env.Node.RPCURL), db: env.DB, Slack: 5*c.PollInterval + 5*time.Second, Planted: wl.Planted()}
	var (
		snap       *Snapshot
		mismatches []string
		reverted   int
	)
	deadline := time.Now().Add(c.SettleTimeout)
	for {
		// Let the cranks and indexers finish what the last faults interrupted.
		time.Sleep(3 * time.Second)
		snap, err = ck.ReadChain(ctx)
		if err == nil {
			mismatches, err = ck.Check(ctx, snap)
		}
		if err == nil {
			var sb []string
			sb, reverted, err = ck.CheckSubscribers(ctx, subs)
			mismatches = append(mismatches, sb...)
		}
		if err != nil {
			mismatches = []string{"check: " + err.Error()}
		}
		if len(mismatches) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		log.Info("read model not converged yet", slog.Int("mismatches", len(mismatches)), slog.String("first", mismatches[0]))
	}
	settled := time.Since(began)
	stopSubs()
	subWG.Wait()

	rep := &Report{
		Seed: c.Seed, Config: c, Schedule: schedule,
		WorkloadTook: workDone, FaultsTook: faultsDone, SettledAfter: settled,
		Mismatches: mismatches, RevertedDeliveries: reverted,
		WorkloadSent: wl.sent.Load(), WorkloadFailed: wl.failed.Load(), Outcome: wl.Outcome,
		ProxyStats: env.Proxy.Stats(), Processes: env.Sup.Stats(),
	}
	if workErr != nil {
		rep.Mismatches = append(rep.Mismatches, "workload: "+workErr.Error())
	}
	rep.Injected, rep.InjectErrors = in.Injected()
	for _, f := range AllFaults {
		if rep.Injected[f] < c.FaultsPerClass {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("fault %s injected %d times, want %d", f, rep.Injected[f], c.FaultsPerClass))
		}
	}
	if snap != nil {
		rep.Transactions, rep.Events = snap.Transactions, len(snap.Events)
		for _, e := range snap.Events {
			rep.EventsByName = incr(rep.EventsByName, e.Name)
		}
	}
	if err := rep.measure(ctx, env, wl, subs, in); err != nil {
		rep.Mismatches = append(rep.Mismatches, "measure: "+err.Error())
	}
	closeEnv()
	if len(leftovers) > 0 {
		rep.Mismatches = append(rep.Mismatches, "processes left running: "+strings.Join(leftovers, ", "))
	}
	sort.Strings(rep.Mismatches)
	text := rep.String()
	fmt.Fprint(m.Stdout, text)
	if c.ReportPath != "" {
		if err := os.WriteFile(c.ReportPath, []byte(text), 0o644); err != nil {
			return rep, fmt.Errorf("write report: %w", err)
		}
	}
	return rep, nil
}

func incr(m map[string]int, k string) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k]++
	return m
}
