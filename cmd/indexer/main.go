package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/indexer"
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
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		if code := cli.ExitCode(err); code != 0 {
			fmt.Fprintf(os.Stderr, "indexer: %v\n", err)
			os.Exit(code)
		}
		os.Exit(0)
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
	// Migrate applies pending migrations before running (-migrate,
	// $INDEXER_MIGRATE).
	Migrate bool
	// LogLevel is debug, info, warn or error (-log-level, $INDEXER_LOG_LEVEL).
	LogLevel string
	// Service is the rest: -rpc-url ($SOLANA_RPC_URL), -ws-url
	// ($SOLANA_WS_URL), -database-url ($DATABASE_URL), -program-id
	// ($UPGRADE_MANAGER_PROGRAM_ID), -commitment, -start, -metrics-addr,
	// -concurrency, -batch-size, -poll-interval, -finality-interval,
	// -reconcile-interval, -rpc-timeout, -rpc-rate ($INDEXER_*).
	Service indexer.Config
}

// Validate reports the first invalid field of c, by its flag name.
func (c Config) Validate() error {
	switch c.Command {
	case "run", "replay", "migrate":
	default:
		return fmt.Errorf("unknown command %q; %s", c.Command, usage)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return fmt.Errorf("-log-level: %v", err)
	}
	switch c.Command {
	case "migrate":
		if c.Service.DatabaseURL == "" {
			return errors.New("-database-url: missing (or set DATABASE_URL)")
		}
		switch c.MigrateCommand {
		case "up", "down", "status":
			return nil
		}
		return fmt.Errorf("migrate: want up, down or status, got %q", c.MigrateCommand)
	case "replay":
		if c.Service.DatabaseURL == "" {
			return errors.New("-database-url: missing (or set DATABASE_URL)")
		}
		if _, err := solana.PublicKeyFromBase58(c.Service.ProgramID); err != nil {
			return fmt.Errorf("-program-id %q: %v", c.Service.ProgramID, err)
		}
		return nil
	}
	return c.Service.Validate()
}

const usage = "usage: indexer [run|replay|migrate up|down|status] [flags]"

// Main is the indexer program: main calls ParseFlags, Run and Close; tests
// set Config and call Run and Close.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer
	Stderr io.Writer

	// service runs the run command; ready is closed once it is built.
	service *indexer.Service
	ready   chan struct{}
	pool    *pgxpool.Pool
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

// ParseFlags fills m.Config from args and the environment and validates it.
// The command comes first; flags may come before or after it.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	fs := cli.NewFlagSet("indexer", m.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	c, d := &m.Config, indexer.DefaultConfig()
	sc := &c.Service
	fs.StringVar(&sc.RPCURL, "rpc-url", d.RPCURL, "Solana JSON-RPC `URL` ($SOLANA_RPC_URL)")
	fs.Env("SOLANA_RPC_URL", "rpc-url")
	fs.StringVar(&sc.WSURL, "ws-url", "", "Solana websocket `URL` ($SOLANA_WS_URL; default: the RPC URL with ws/wss, port 8899 becoming 8900)")
	fs.Env("SOLANA_WS_URL", "ws-url")
	fs.StringVar(&sc.DatabaseURL, "database-url", "", "PostgreSQL `URL` ($DATABASE_URL)")
	fs.Env("DATABASE_URL", "database-url")
	fs.StringVar(&sc.ProgramID, "program-id", d.ProgramID, "upgrade_manager program `address` ($UPGRADE_MANAGER_PROGRAM_ID)")
	fs.Env("UPGRADE_MANAGER_PROGRAM_ID", "program-id")
	fs.StringVar(&sc.Commitment, "commitment", d.Commitment, "read transactions at `commitment` confirmed or finalized ($INDEXER_COMMITMENT)")
	fs.Env("INDEXER_COMMITMENT", "commitment")
	fs.StringVar(&sc.Start, "start", d.Start, "without a checkpoint, start at `earliest|latest|SLOT` ($INDEXER_START)")
	fs.Env("INDEXER_START", "start")
	fs.StringVar(&sc.MetricsAddr, "metrics-addr", d.MetricsAddr, "serve /metrics, /healthz and /readyz on `address`; empty disables ($INDEXER_METRICS_ADDR)")
	fs.Env("INDEXER_METRICS_ADDR", "metrics-addr")
	fs.IntVar(&sc.Concurrency, "concurrency", d.Concurrency, "concurrent getTransaction calls ($INDEXER_CONCURRENCY)")
	fs.Env("INDEXER_CONCURRENCY", "concurrency")
	fs.IntVar(&sc.BatchSize, "batch-size", d.BatchSize, "most transactions per database transaction ($INDEXER_BATCH_SIZE)")
	fs.Env("INDEXER_BATCH_SIZE", "batch-size")
	fs.DurationVar(&sc.PollInterval, "poll-interval", d.PollInterval, "look for transactions at least this often ($INDEXER_POLL_INTERVAL)")
	fs.Env("INDEXER_POLL_INTERVAL", "poll-interval")
	fs.DurationVar(&sc.FinalityInterval, "finality-interval", d.FinalityInterval, "promote or revert confirmed transactions this often ($INDEXER_FINALITY_INTERVAL)")
	fs.Env("INDEXER_FINALITY_INTERVAL", "finality-interval")
	fs.DurationVar(&sc.ReconcileInterval, "reconcile-interval", d.ReconcileInterval, "compare finalized history with the database this often ($INDEXER_RECONCILE_INTERVAL)")
	fs.Env("INDEXER_RECONCILE_INTERVAL", "reconcile-interval")
	fs.DurationVar(&sc.RPCTimeout, "rpc-timeout", d.RPCTimeout, "timeout of one RPC request ($INDEXER_RPC_TIMEOUT)")
	fs.Env("INDEXER_RPC_TIMEOUT", "rpc-timeout")
	fs.Float64Var(&sc.RPCRate, "rpc-rate", d.RPCRate, "at most this many RPC `requests/s`, retries included; 0: no cap ($INDEXER_RPC_RATE)")
	fs.Env("INDEXER_RPC_RATE", "rpc-rate")
	fs.BoolVar(&sc.ResetOnNewCluster, "reset-on-new-cluster", false, "empty the indexer's tables when the RPC serves another cluster than the database holds, instead of refusing to start ($INDEXER_RESET_ON_NEW_CLUSTER)")
	fs.Env("INDEXER_RESET_ON_NEW_CLUSTER", "reset-on-new-cluster")
	fs.BoolVar(&c.Migrate, "migrate", false, "apply pending migrations before running ($INDEXER_MIGRATE)")
	fs.Env("INDEXER_MIGRATE", "migrate")
	fs.StringVar(&c.LogLevel, "log-level", "info", "`level` debug, info, warn or error ($INDEXER_LOG_LEVEL)")
	fs.Env("INDEXER_LOG_LEVEL", "log-level")

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
	if sc.WSURL == "" && sc.RPCURL != "" {
		ws, err := chain.WebsocketURL(sc.RPCURL)
		if err != nil {
			return fmt.Errorf("-rpc-url: %w", err)
		}
		sc.WSURL = ws
	}
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	m.Logger = cli.NewLogger(m.Stderr, level, cli.NewRedactor(sc.RPCURL, sc.WSURL, sc.DatabaseURL))
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
	return nil
}

// Ready returns a channel closed once the run command serves metrics and
// ingests.
func (m *Main) Ready() <-chan struct{} { return m.ready }

// Addr returns the metrics server's address, after Ready.
func (m *Main) Addr() net.Addr { return m.service.Addr() }

func (m *Main) migrate(ctx context.Context) error {
	return migrations.RunCommand(ctx, m.Stdout, m.Config.Service.DatabaseURL, m.Config.MigrateCommand)
}

func (m *Main) openPool(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(m.Config.Service.DatabaseURL)
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
	// Refused transactions first: a fix since they were refused lets them
	// land in their place, and the rebuild below then folds them too.
	dec := decode.New(upgrademanager.New(solana.MustPublicKeyFromBase58(m.Config.Service.ProgramID)))
	rep, err := ingest.RetryRefused(ctx, m.pool, m.Config.Service.ProgramID, ingest.NewEventDecoder(dec), m.Logger)
	if err != nil {
		return err
	}
	if rep.Applied+rep.Refused > 0 {
		fmt.Fprintf(m.Stdout, "retried %d refused transactions: %d applied, %d refused again (see dead_letter)\n",
			rep.Applied+rep.Refused, rep.Applied, rep.Refused)
	}
	start := time.Now()
	res, err := store.Rebuild(ctx, m.pool, m.Config.Service.ProgramID)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "rebuilt projections from %d events in %v (last_seq %d)\n",
		res.Events, time.Since(start).Round(time.Millisecond), res.Notification.LastSeq)
	return nil
}

func (m *Main) run(ctx context.Context) error {
	if m.Config.Migrate {
		res, err := migrations.Up(ctx, m.Config.Service.DatabaseURL)
		if err != nil {
			return err
		}
		m.Logger.Info("applied migrations", slog.Int("count", len(res)))
	}
	m.service = indexer.New(m.Config.Service, m.Logger)
	go func() {
		select {
		case <-m.service.Ready():
			close(m.ready)
		case <-ctx.Done():
		}
	}()
	return m.service.Run(ctx)
}
