package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "crank:", err)
		os.Exit(2)
	}
	err := m.Run(ctx)
	m.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "crank:", err)
		os.Exit(1)
	}
}

// Config is the crank's configuration, from flags with environment fallback.
type Config struct {
	Kind         string // "execute" or "migrate"
	RPCURL       string
	DatabaseURL  string
	ProgramID    solana.PublicKey
	KeypairPath  string
	Commitment   rpc.CommitmentType
	CUPrice      uint64
	CULimit      uint32
	PollInterval time.Duration
	Once         bool
	DryRun       bool
	MetricsAddr  string
	MinBalance   uint64
	LockWait     time.Duration
}

// Main is the crank's process: ParseFlags, Run, Close, so tests reuse the real wiring.
type Main struct {
	Config   Config
	Stdout   io.Writer
	Stderr   io.Writer
	Registry *prometheus.Registry
	// MetricsListener, when set, is where Run serves /metrics (tests pass one on port 0).
	MetricsListener net.Listener

	log    *slog.Logger
	db     *pgxpool.Pool
	leader *leader
	srv    *http.Server
}

// NewMain returns a Main writing to the process's standard streams.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Registry: prometheus.NewRegistry()}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// ParseFlags reads the subcommand and flags; errors name the field.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "execute" && args[0] != "migrate") {
		fmt.Fprintln(m.Stderr, "usage: crank execute|migrate [flags]   (crank execute -h for the flags)")
		return errors.New("command missing: want execute or migrate")
	}
	c := &m.Config
	c.Kind = args[0]
	fs := flag.NewFlagSet("crank "+c.Kind, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&c.RPCURL, "rpc-url", env("SOLANA_RPC_URL", "http://127.0.0.1:8899"), "Solana JSON-RPC URL (env SOLANA_RPC_URL)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL read model written by the indexer (env DATABASE_URL)")
	program := fs.String("program-id", env("UPGRADE_MANAGER_PROGRAM_ID", um.ProgramAddress), "upgrade_manager's address (env UPGRADE_MANAGER_PROGRAM_ID)")
	fs.StringVar(&c.KeypairPath, "keypair", env("CRANK_KEYPAIR", defaultKeypairPath()), "fee-payer keypair file, Solana CLI format (env CRANK_KEYPAIR)")
	commitment := fs.String("commitment", env("CRANK_COMMITMENT", "confirmed"), "commitment to read and confirm at: processed, confirmed or finalized (env CRANK_COMMITMENT)")
	fs.Uint64Var(&c.CUPrice, "cu-price", envUint("CRANK_CU_PRICE", 0), "compute-unit price in micro-lamports; 0 sets none (env CRANK_CU_PRICE)")
	cuLimit := fs.Uint64("cu-limit", envUint("CRANK_CU_LIMIT", 0), "compute-unit limit; 0 sets none (env CRANK_CU_LIMIT)")
	fs.DurationVar(&c.PollInterval, "poll-interval", envDuration("CRANK_POLL_INTERVAL", 5*time.Second), "time between scans (env CRANK_POLL_INTERVAL)")
	fs.BoolVar(&c.Once, "once", false, "scan once, act, and exit")
	fs.BoolVar(&c.DryRun, "dry-run", false, "simulate only; send nothing")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("CRANK_METRICS_ADDR", ""), "address to serve /metrics on, e.g. 127.0.0.1:9102; empty serves none (env CRANK_METRICS_ADDR)")
	fs.Uint64Var(&c.MinBalance, "min-balance", envUint("CRANK_MIN_BALANCE", 10_000_000), "lamports below which the fee payer counts as unfunded (env CRANK_MIN_BALANCE)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.DatabaseURL == "" {
		return errors.New("database-url: required (or set DATABASE_URL)")
	}
	if c.RPCURL == "" {
		return errors.New("rpc-url: required (or set SOLANA_RPC_URL)")
	}
	id, err := solana.PublicKeyFromBase58(*program)
	if err != nil {
		return fmt.Errorf("program-id: %w", err)
	}
	c.ProgramID = id
	switch *commitment {
	case "processed", "confirmed", "finalized":
		c.Commitment = rpc.CommitmentType(*commitment)
	default:
		return fmt.Errorf("commitment: %q is not processed, confirmed or finalized", *commitment)
	}
	if *cuLimit > 1_400_000 {
		return fmt.Errorf("cu-limit: %d is above the 1,400,000 a transaction may use", *cuLimit)
	}
	c.CULimit = uint32(*cuLimit)
	if c.PollInterval <= 0 {
		return errors.New("poll-interval: must be positive")
	}
	c.LockWait = c.PollInterval
	return nil
}

func envUint(name string, def uint64) uint64 {
	if v, err := strconv.ParseUint(env(name, ""), 10, 64); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(env(name, "")); err == nil {
		return v
	}
	return def
}

// Run checks the fee payer, the RPC and the database, waits to become the active replica, then
// scans every poll interval (or once) until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	m.log = slog.New(slog.NewTextHandler(m.Stderr, nil)).With("crank", c.Kind)
	payer, err := loadKeypair(c.KeypairPath)
	if err != nil {
		return err
	}
	met := newMetrics(m.Registry)
	if err := m.serveMetrics(); err != nil {
		return err
	}
	client := rpc.New(c.RPCURL)
	if _, err := client.GetVersion(ctx); err != nil {
		return fmt.Errorf("RPC %s is unreachable: %w", c.RPCURL, err)
	}
	s := &sender{rpc: client, payer: payer, commitment: c.Commitment, cuPrice: c.CUPrice, cuLimit: c.CULimit, dryRun: c.DryRun, poll: 200 * time.Millisecond, log: m.log}
	if err := m.checkBalance(ctx, s, met); err != nil {
		return err
	}
	m.db, err = pgxpool.New(ctx, c.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database-url: %w", err)
	}
	if err := m.db.Ping(ctx); err != nil {
		return fmt.Errorf("database is unreachable: %w", err)
	}
	m.leader, err = acquireLeadership(ctx, c.DatabaseURL, c.Kind, c.LockWait, m.log)
	if err != nil {
		return err
	}
	ch := &chain{rpc: client, commitment: c.Commitment, programID: c.ProgramID, build: txbuild.New(c.ProgramID)}
	var tick func(context.Context) (int, error)
	switch c.Kind {
	case "execute":
		e := &executor{db: m.db, chain: ch, send: s, metrics: met, log: m.log, inFlight: map[solana.PublicKey]bool{}}
		tick = e.tick
	case "migrate":
		mg := &migrator{db: m.db, chain: ch, send: s, metrics: met, log: m.log}
		if c.Once && isTerminal(m.Stdout) {
			mg.progress = m.Stdout
		}
		tick = mg.tick
	}
	m.log.Info("running", "rpc", c.RPCURL, "payer", payer.PublicKey(), "program", c.ProgramID, "commitment", c.Commitment, "dry_run", c.DryRun, "once", c.Once)
	clusterState := ""
	// After a failed scan (RPC or database down, cluster not recorded yet)
	// the next waits longer, with jitter, so replicas do not hammer a node
	// that is down in step.
	retry := backoff.Backoff{Min: c.PollInterval, Max: 8 * c.PollInterval}
	for {
		if err := m.leader.Check(ctx); err != nil {
			return err
		}
		// Never act on another cluster's rows: after the local node restarts
		// as a new cluster, the read model holds the old one's until the
		// indexer resets.
		var n int
		err := m.checkCluster(ctx, client)
		if state := fmt.Sprint(err); state != clusterState {
			clusterState = state
			if err != nil {
				m.log.Warn("not acting: the database does not hold the RPC's cluster (yet); waiting for the indexer", "reason", err)
			} else {
				m.log.Info("the database holds the RPC's cluster")
			}
		}
		if err == nil {
			n, err = tick(ctx)
		}
		if err != nil && ctx.Err() == nil {
			m.log.Error("scan", "err", err)
		}
		if n > 0 {
			if err := m.checkBalance(ctx, s, met); err != nil {
				return err
			}
		}
		if c.Once {
			return err
		}
		wait := c.PollInterval
		if err != nil {
			wait = retry.Next()
		} else {
			retry.Reset()
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// checkCluster returns nil when the read model holds the data of the cluster the RPC serves
// (by genesis hash), an error otherwise (also before the indexer recorded its cluster).
func (m *Main) checkCluster(ctx context.Context, client *rpc.Client) error {
	genesis, err := client.GetGenesisHash(ctx)
	if err != nil {
		return fmt.Errorf("RPC %s: get genesis hash: %w", m.Config.RPCURL, err)
	}
	if err := store.CheckCluster(ctx, m.db, m.Config.ProgramID.String(), genesis.String()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errors.New("the indexer has not recorded the database's cluster yet")
		}
		return err
	}
	return nil
}

// checkBalance records the fee payer's balance and fails when it cannot pay.
func (m *Main) checkBalance(ctx context.Context, s *sender, met *metrics) error {
	bal, err := s.rpc.GetBalance(ctx, s.payer.PublicKey(), s.commitment)
	if err != nil {
		return fmt.Errorf("RPC %s: get fee-payer balance: %w", m.Config.RPCURL, err)
	}
	met.payerBalance.Set(float64(bal.Value))
	if bal.Value < m.Config.MinBalance && !m.Config.DryRun {
		return fmt.Errorf("fee payer %s is unfunded: %d lamports, below the %d the crank needs (fund it or lower -min-balance)", s.payer.PublicKey(), bal.Value, m.Config.MinBalance)
	}
	return nil
}

func (m *Main) serveMetrics() error {
	ln := m.MetricsListener
	if ln == nil {
		if m.Config.MetricsAddr == "" {
			return nil
		}
		var err error
		if ln, err = net.Listen("tcp", m.Config.MetricsAddr); err != nil {
			return fmt.Errorf("metrics-addr: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.srv.Serve(ln) }()
	return nil
}

// Close releases the lock, the database and the metrics server; closing twice is harmless.
func (m *Main) Close() {
	m.leader.Release()
	m.leader = nil
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
	if m.srv != nil {
		_ = m.srv.Close()
		m.srv = nil
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
