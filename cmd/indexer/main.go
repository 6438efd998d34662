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
	"strings"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/ingest"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal a second one kills at once.
		<-ctx.Done()
		stop()
	}()

	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	} else if err != nil {
		fmt.Fprintf(os.Stderr, "indexer: %v\n", err)
		os.Exit(2)
	}
	err := m.Run(ctx)
	if cerr := m.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		m.Logger.Error("indexer failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

// Config is the indexer's configuration, from flags with environment
// fallbacks.
type Config struct {
	// Command is run, replay or migrate.
	Command string
	// MigrateCommand is up, down or status, for the migrate command.
	MigrateCommand string

	RPCURL      string // -rpc-url, $SOLANA_RPC_URL
	WSURL       string // -ws-url, $SOLANA_WS_URL; derived from RPCURL when empty
	DatabaseURL string // -database-url, $DATABASE_URL
	ProgramID   string // -program-id, $UPGRADE_MANAGER_PROGRAM_ID
	Commitment  string // -commitment, $INDEXER_COMMITMENT
	Start       string // -start, $INDEXER_START
	MetricsAddr string // -metrics-addr, $INDEXER_METRICS_ADDR; empty disables
	Migrate     bool   // -migrate, $INDEXER_MIGRATE: apply migrations before running
	LogLevel    string // -log-level, $INDEXER_LOG_LEVEL

	Concurrency       int           // -concurrency, $INDEXER_CONCURRENCY
	BatchSize         int           // -batch-size, $INDEXER_BATCH_SIZE
	PollInterval      time.Duration // -poll-interval, $INDEXER_POLL_INTERVAL
	FinalityInterval  time.Duration // -finality-interval, $INDEXER_FINALITY_INTERVAL
	ReconcileInterval time.Duration // -reconcile-interval, $INDEXER_RECONCILE_INTERVAL
	RPCTimeout        time.Duration // -rpc-timeout, $INDEXER_RPC_TIMEOUT
}

// Validate reports the first invalid field of c, by its flag name.
func (c Config) Validate() error {
	switch c.Command {
	case "run", "replay", "migrate":
	default:
		return fmt.Errorf("unknown command %q; %s", c.Command, usage)
	}
	if c.DatabaseURL == "" {
		return errors.New("-database-url: missing (or set DATABASE_URL)")
	}
	if c.Command == "migrate" {
		switch c.MigrateCommand {
		case "up", "down", "status":
			return nil
		}
		return fmt.Errorf("migrate: want up, down or status, got %q", c.MigrateCommand)
	}
	if _, err := solana.PublicKeyFromBase58(c.ProgramID); err != nil {
		return fmt.Errorf("-program-id %q: %v", c.ProgramID, err)
	}
	if c.Command == "replay" {
		return nil
	}
	if c.RPCURL == "" {
		return errors.New("-rpc-url: missing (or set SOLANA_RPC_URL)")
	}
	if !strings.HasPrefix(c.RPCURL, "http://") && !strings.HasPrefix(c.RPCURL, "https://") {
		return fmt.Errorf("-rpc-url %q: want an http or https URL", c.RPCURL)
	}
	if c.WSURL != "" && !strings.HasPrefix(c.WSURL, "ws://") && !strings.HasPrefix(c.WSURL, "wss://") {
		return fmt.Errorf("-ws-url %q: want a ws or wss URL", c.WSURL)
	}
	cfg := c.ingestConfig()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("-%v", err) // "-commitment ...", "-start ..."
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return fmt.Errorf("-log-level: %v", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"poll-interval", c.PollInterval}, {"finality-interval", c.FinalityInterval},
		{"reconcile-interval", c.ReconcileInterval}, {"rpc-timeout", c.RPCTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("-%s: must be positive, got %v", d.name, d.v)
		}
	}
	if c.Concurrency <= 0 || c.BatchSize <= 0 {
		return fmt.Errorf("-concurrency and -batch-size must be positive, got %d and %d", c.Concurrency, c.BatchSize)
	}
	return nil
}

func (c Config) ingestConfig() ingest.Config {
	return ingest.Config{
		ProgramID:         c.ProgramID,
		Commitment:        store.Commitment(c.Commitment),
		Start:             c.Start,
		Concurrency:       c.Concurrency,
		BatchSize:         c.BatchSize,
		PollInterval:      c.PollInterval,
		FinalityInterval:  c.FinalityInterval,
		ReconcileInterval: c.ReconcileInterval,
	}
}

const usage = "usage: indexer [run|replay|migrate up|down|status] [flags]"

// Main is the indexer program: main calls ParseFlags, Run and Close; tests
// set Config and call Run and Close.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer
	Stderr io.Writer

	// ready is closed once the metrics server listens; Addr is then its
	// address.
	ready    chan struct{}
	addr     net.Addr
	pool     *pgxpool.Pool
	client   *chain.Client
	ingester *ingest.Ingester
}

// NewMain returns a Main that logs to stderr.
func NewMain() *Main {
	return &Main{
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		ready:  make(chan struct{}),
	}
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envBool(key string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

// ParseFlags fills m.Config from args and the environment and validates it.
// The command comes first; flags may come before or after it.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("indexer", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	c := &m.Config
	fs.StringVar(&c.RPCURL, "rpc-url", envOr("SOLANA_RPC_URL", "http://127.0.0.1:8899"), "Solana JSON-RPC `URL` ($SOLANA_RPC_URL)")
	fs.StringVar(&c.WSURL, "ws-url", os.Getenv("SOLANA_WS_URL"), "Solana websocket `URL` ($SOLANA_WS_URL; default: the RPC URL with ws/wss, port 8899 becoming 8900)")
	fs.StringVar(&c.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL `URL` ($DATABASE_URL)")
	fs.StringVar(&c.ProgramID, "program-id", envOr("UPGRADE_MANAGER_PROGRAM_ID", upgrademanager.ProgramID.String()), "upgrade_manager program `address` ($UPGRADE_MANAGER_PROGRAM_ID)")
	fs.StringVar(&c.Commitment, "commitment", envOr("INDEXER_COMMITMENT", "confirmed"), "read transactions at `commitment` confirmed or finalized ($INDEXER_COMMITMENT)")
	fs.StringVar(&c.Start, "start", envOr("INDEXER_START", ingest.StartEarliest), "without a checkpoint, start at `earliest|latest|SLOT` ($INDEXER_START)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", envOr("INDEXER_METRICS_ADDR", "127.0.0.1:9102"), "serve /metrics, /healthz and /readyz on `address`; empty disables ($INDEXER_METRICS_ADDR)")
	fs.BoolVar(&c.Migrate, "migrate", envBool("INDEXER_MIGRATE", false), "apply pending migrations before running ($INDEXER_MIGRATE)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("INDEXER_LOG_LEVEL", "info"), "`level` debug, info, warn or error ($INDEXER_LOG_LEVEL)")
	fs.IntVar(&c.Concurrency, "concurrency", envInt("INDEXER_CONCURRENCY", 8), "concurrent getTransaction calls ($INDEXER_CONCURRENCY)")
	fs.IntVar(&c.BatchSize, "batch-size", envInt("INDEXER_BATCH_SIZE", 500), "most transactions per database transaction ($INDEXER_BATCH_SIZE)")
	fs.DurationVar(&c.PollInterval, "poll-interval", envDuration("INDEXER_POLL_INTERVAL", 15*time.Second), "look for transactions at least this often ($INDEXER_POLL_INTERVAL)")
	fs.DurationVar(&c.FinalityInterval, "finality-interval", envDuration("INDEXER_FINALITY_INTERVAL", 5*time.Second), "promote or revert confirmed transactions this often ($INDEXER_FINALITY_INTERVAL)")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", envDuration("INDEXER_RECONCILE_INTERVAL", time.Minute), "compare finalized history with the database this often ($INDEXER_RECONCILE_INTERVAL)")
	fs.DurationVar(&c.RPCTimeout, "rpc-timeout", envDuration("INDEXER_RPC_TIMEOUT", 30*time.Second), "timeout of one RPC request ($INDEXER_RPC_TIMEOUT)")

	c.Command = "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.Command, args = args[0], args[1:]
		if c.Command == "migrate" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			c.MigrateCommand, args = args[0], args[1:]
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		if c.Command == "migrate" && c.MigrateCommand == "" && fs.NArg() == 1 {
			c.MigrateCommand = fs.Arg(0)
		} else {
			return fmt.Errorf("unexpected argument %q; %s", fs.Arg(0), usage)
		}
	}
	if c.WSURL == "" && c.RPCURL != "" {
		ws, err := chain.WebsocketURL(c.RPCURL)
		if err != nil {
			return fmt.Errorf("-rpc-url: %w", err)
		}
		c.WSURL = ws
	}
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	m.Logger = slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	return c.Validate()
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Run executes the configured command. run returns when ctx ends, after
// the batch in flight commits or rolls back.
func (m *Main) Run(ctx context.Context) error {
	if m.ready == nil {
		m.ready = make(chan struct{})
	}
	switch m.Config.Command {
	case "migrate":
		return m.migrate(ctx)
	case "replay":
		return m.replay(ctx)
	default:
		return m.run(ctx)
	}
}

// Close releases what Run opened. Calling it twice is harmless.
func (m *Main) Close() error {
	if m.pool != nil {
		m.pool.Close()
		m.pool = nil
	}
	if m.client != nil {
		err := m.client.Close()
		m.client = nil
		return err
	}
	return nil
}

// Ready returns a channel closed once the metrics server listens (or, when
// it is disabled, the ingester is built).
func (m *Main) Ready() <-chan struct{} { return m.ready }

// Addr returns the metrics server's address, after Ready.
func (m *Main) Addr() net.Addr { return m.addr }

func (m *Main) migrate(ctx context.Context) error {
	url := m.Config.DatabaseURL
	switch m.Config.MigrateCommand {
	case "up":
		res, err := migrations.Up(ctx, url)
		if err != nil {
			return err
		}
		if len(res) == 0 {
			fmt.Fprintln(m.Stdout, "no migrations to apply")
		}
		for _, r := range res {
			fmt.Fprintln(m.Stdout, r)
		}
	case "down":
		res, err := migrations.Down(ctx, url)
		if errors.Is(err, goose.ErrNoNextVersion) {
			fmt.Fprintln(m.Stdout, "no migration to roll back")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, res)
	default:
		st, err := migrations.Status(ctx, url)
		if err != nil {
			return err
		}
		return migrations.WriteStatus(m.Stdout, st)
	}
	return nil
}

func (m *Main) openPool(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(m.Config.DatabaseURL)
	if err != nil {
		return fmt.Errorf("-database-url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	m.pool = pool
	return nil
}

func (m *Main) replay(ctx context.Context) error {
	if err := m.openPool(ctx); err != nil {
		return err
	}
	start := time.Now()
	res, err := store.Rebuild(ctx, m.pool, m.Config.ProgramID)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "rebuilt projections from %d events in %v (last_seq %d)\n",
		res.Events, time.Since(start).Round(time.Millisecond), res.Notification.LastSeq)
	return nil
}

func (m *Main) run(ctx context.Context) error {
	c := m.Config
	if c.Migrate {
		res, err := migrations.Up(ctx, c.DatabaseURL)
		if err != nil {
			return err
		}
		m.Logger.Info("applied migrations", slog.Int("count", len(res)))
	}
	if err := m.openPool(ctx); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	chainMetrics := chain.NewMetrics(reg)
	m.client = chain.NewClient(chain.ClientConfig{URL: c.RPCURL, Timeout: c.RPCTimeout, Logger: m.Logger, Metrics: chainMetrics})
	logs := chain.NewSubscriber(chain.SubscriberConfig{URL: c.WSURL, Program: c.ProgramID, Logger: m.Logger, Metrics: chainMetrics})
	dec, err := decode.New(decode.WithProgramID(solana.MustPublicKeyFromBase58(c.ProgramID)))
	if err != nil {
		return err
	}
	in, err := ingest.New(c.ingestConfig(), m.pool, m.client, logs, ingest.NewEventDecoder(dec), ingest.NewMetrics(reg), m.Logger)
	if err != nil {
		return err
	}
	m.ingester = in

	g, gctx := errgroup.WithContext(ctx)
	if c.MetricsAddr != "" {
		ln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("-metrics-addr: %w", err)
		}
		m.addr = ln.Addr()
		srv := &http.Server{Handler: m.handler(reg), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	close(m.ready)
	m.Logger.Info("indexer running", slog.String("program_id", c.ProgramID), slog.String("commitment", c.Commitment),
		slog.String("metrics_addr", c.MetricsAddr))
	g.Go(func() error {
		err := in.Run(gctx)
		if err == nil && ctx.Err() == nil {
			return errors.New("ingester stopped")
		}
		return err
	})
	err = g.Wait()
	if ctx.Err() != nil {
		m.Logger.Info("indexer stopped")
		return nil
	}
	return err
}

// handler serves /metrics, /healthz (the process runs) and /readyz (caught
// up with the chain and the database reachable).
func (m *Main) handler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		switch {
		case !m.ingester.Ready():
			http.Error(w, "not caught up with the chain", http.StatusServiceUnavailable)
		case m.pool.Ping(ctx) != nil:
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	return mux
}
