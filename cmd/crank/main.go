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
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/crank"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		code := cli.ExitCode(err)
		if code != 0 {
			fmt.Fprintln(os.Stderr, "crank:", err)
		}
		os.Exit(code)
	}
	err := m.Run(ctx)
	m.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "crank:", m.redact.Redact(err.Error()))
		os.Exit(1)
	}
}

// Config is the crank's configuration, from flags with environment fallback.
type Config struct {
	Kind         string // "execute", "migrate" or "close"
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
	CloseAfter   time.Duration
	LogLevel     *slog.LevelVar
}

// Main is the crank's process: ParseFlags, Run, Close, so tests reuse the real wiring.
type Main struct {
	Config   Config
	Stdout   io.Writer
	Stderr   io.Writer
	Registry *prometheus.Registry
	// MetricsListener, when set, is where Run serves /metrics (tests pass one on port 0).
	MetricsListener net.Listener
	// Lookup reads the environment (os.LookupEnv when nil).
	Lookup func(string) (string, bool)

	redact *cli.Redactor
	crank  *crank.Crank
	srv    *http.Server
}

// NewMain returns a Main writing to the process's standard streams.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Registry: cli.NewRegistry()}
}

// ParseFlags reads the subcommand and flags; errors name the field.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(m.Stderr, "usage: crank execute|migrate|close [flags]   (crank execute -h for the flags)")
		return flag.ErrHelp
	}
	if len(args) == 0 || (args[0] != crank.KindExecute && args[0] != crank.KindMigrate && args[0] != crank.KindClose) {
		fmt.Fprintln(m.Stderr, "usage: crank execute|migrate|close [flags]   (crank execute -h for the flags)")
		return errors.New("command missing: want execute, migrate or close")
	}
	c := &m.Config
	c.Kind = args[0]
	fs := cli.NewFlagSet("crank "+c.Kind, m.Stderr)
	if m.Lookup != nil {
		fs.Lookup = m.Lookup
	}
	fs.StringVar(&c.RPCURL, "rpc-url", "http://127.0.0.1:8899", "Solana JSON-RPC URL; its API key is never logged (env SOLANA_RPC_URL)")
	fs.Env("SOLANA_RPC_URL", "rpc-url")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL read model written by the indexer (env DATABASE_URL)")
	fs.Env("DATABASE_URL", "database-url")
	program := fs.String("program-id", um.ProgramAddress, "upgrade_manager's address (env UPGRADE_MANAGER_PROGRAM_ID)")
	fs.Env("UPGRADE_MANAGER_PROGRAM_ID", "program-id")
	fs.StringVar(&c.KeypairPath, "keypair", keypair.DefaultPath(), "fee-payer keypair file, Solana CLI format (env CRANK_KEYPAIR)")
	fs.Env("CRANK_KEYPAIR", "keypair")
	commitment := "confirmed"
	fs.Var(cli.Choice(&commitment, "processed", "confirmed", "finalized"), "commitment", "commitment to read and confirm at: processed, confirmed or finalized (env CRANK_COMMITMENT)")
	fs.Env("CRANK_COMMITMENT", "commitment")
	fs.Uint64Var(&c.CUPrice, "cu-price", 0, "compute-unit price in micro-lamports; 0 sets none (env CRANK_CU_PRICE)")
	fs.Env("CRANK_CU_PRICE", "cu-price")
	cuLimit := fs.Uint64("cu-limit", 0, "compute-unit limit; 0 sets none (env CRANK_CU_LIMIT)")
	fs.Env("CRANK_CU_LIMIT", "cu-limit")
	fs.DurationVar(&c.PollInterval, "poll-interval", 5*time.Second, "time between scans (env CRANK_POLL_INTERVAL)")
	fs.Env("CRANK_POLL_INTERVAL", "poll-interval")
	fs.BoolVar(&c.Once, "once", false, "scan once, act, and exit")
	fs.BoolVar(&c.DryRun, "dry-run", false, "simulate only; send nothing")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "address to serve /metrics on, e.g. 127.0.0.1:9102; empty serves none (env CRANK_METRICS_ADDR)")
	fs.Env("CRANK_METRICS_ADDR", "metrics-addr")
	fs.Uint64Var(&c.MinBalance, "min-balance", 10_000_000, "lamports below which the fee payer counts as unfunded (env CRANK_MIN_BALANCE)")
	fs.Env("CRANK_MIN_BALANCE", "min-balance")
	fs.DurationVar(&c.CloseAfter, "close-after", time.Hour, "crank close: how long, by the chain's clock, an ended proposal or migration job stays open before it is closed (env CRANK_CLOSE_AFTER)")
	fs.Env("CRANK_CLOSE_AFTER", "close-after")
	c.LogLevel = fs.LogLevel("CRANK_LOG_LEVEL", slog.LevelInfo)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	m.redact = cli.NewRedactor(c.RPCURL, c.DatabaseURL)
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
	c.Commitment = rpc.CommitmentType(commitment)
	if *cuLimit > 1_400_000 {
		return fmt.Errorf("cu-limit: %d is above the 1,400,000 a transaction may use", *cuLimit)
	}
	c.CULimit = uint32(*cuLimit)
	if c.PollInterval <= 0 {
		return errors.New("poll-interval: must be positive")
	}
	if c.CloseAfter < 0 {
		return errors.New("close-after: must not be negative")
	}
	c.LockWait = c.PollInterval
	return nil
}

// Run loads the fee payer, serves /metrics and runs the crank until ctx ends (or after one
// scan with -once).
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	log := cli.NewLogger(m.Stderr, c.LogLevel, m.redact)
	payer, err := keypair.Load("fee-payer", c.KeypairPath)
	if err != nil {
		return err
	}
	cfg := crank.Config{
		Kind: c.Kind, RPCURL: c.RPCURL, DatabaseURL: c.DatabaseURL, ProgramID: c.ProgramID, Payer: payer,
		Commitment: c.Commitment, CUPrice: c.CUPrice, CULimit: c.CULimit, PollInterval: c.PollInterval,
		Once: c.Once, DryRun: c.DryRun, MinBalance: c.MinBalance, LockWait: c.LockWait, CloseAfter: c.CloseAfter,
	}
	if c.Kind == crank.KindMigrate && c.Once && isTerminal(m.Stdout) {
		cfg.Progress = m.Stdout
	}
	m.crank, err = crank.New(cfg, m.Registry, log, m.redact.Redact)
	if err != nil {
		return err
	}
	if err := m.serveMetrics(); err != nil {
		return err
	}
	return m.crank.Run(ctx)
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

// Close releases the crank's lock and database and stops the metrics server; closing twice is
// harmless.
func (m *Main) Close() {
	if m.crank != nil {
		m.crank.Close()
		m.crank = nil
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
