package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/migrations"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal a second one kills at once, as usual.
		<-ctx.Done()
		stop()
	}()

	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		if code := cli.ExitCode(err); code != 0 {
			fmt.Fprintf(os.Stderr, "dev: %v\n", err)
			os.Exit(code)
		}
		os.Exit(0)
	}
	err := m.Run(ctx)
	if cerr := m.Close(); cerr != nil {
		m.Logger.Error("shut down", slog.Any("error", cerr))
		if err == nil {
			err = cerr
		}
	}
	var exit exitCodeError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.code)
	case err != nil:
		m.Logger.Error("dev failed", slog.Any("error", err))
		os.Exit(1)
	}
}

// Config is the configuration of the dev environment.
type Config struct {
	// DatabaseURL is an existing database to use (-database-url,
	// $DATABASE_URL); empty starts a local cluster.
	DatabaseURL string
	// PGDir is the directory of the persistent local cluster (-pg-dir).
	PGDir string
	// Ephemeral runs a throwaway cluster instead of the one in PGDir.
	Ephemeral bool
	// Migrate applies the migrations to the database before anything else.
	Migrate bool
	// Command, when not empty, runs with DATABASE_URL set in place of the
	// foreground environment.
	Command []string
	// GraphQLAddr is where the GraphQL server listens (-graphql-addr).
	GraphQLAddr string
	// Localnet runs the local Solana node (program/localnet) as a component.
	Localnet bool
	// LocalnetArgs are the node's flags (-localnet-args, split on spaces).
	LocalnetArgs []string
	// IndexerMetricsAddr is where the indexer serves /metrics, /healthz and
	// /readyz (-indexer-metrics-addr).
	IndexerMetricsAddr string
	// Cranks runs the timelock executor, the migration driver and the closer (with Localnet).
	Cranks bool
	// CrankExecuteMetricsAddr, CrankMigrateMetricsAddr and CrankCloseMetricsAddr serve the
	// cranks' /metrics.
	CrankExecuteMetricsAddr string
	CrankMigrateMetricsAddr string
	CrankCloseMetricsAddr   string
	// LogDir, when not empty, receives each component's full log (-log-dir);
	// the console then shows one short line per event that matters.
	LogDir string
	// Demo plays the scripted story on the localnet once everything is up (-demo; with
	// Localnet and Cranks); DemoPause is the pause between its steps.
	Demo      bool
	DemoPause time.Duration
	// Verbose shows debug lines on the console and the localnet's runtime
	// logs at their default level instead of warn (-v).
	Verbose bool
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	if c.DatabaseURL == "" && !c.Ephemeral && c.PGDir == "" {
		return errors.New("-pg-dir is empty")
	}
	return nil
}

// Main is the dev program. main calls ParseFlags, Run and Close; tests set
// Config and call Run and Close.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer
	Stderr io.Writer

	cluster     *pgcluster.Cluster
	databaseURL string

	logs      *logFiles
	consoleMu sync.Mutex
	tmpDir    string

	crankKeypairPath string
	demoMembers      []string

	tmpMu   sync.Mutex
	buildMu sync.Mutex
	built   map[string]string // ./cmd/NAME → binary in tmpDir

	graphqlReady chan string // the GraphQL URL, once it listens
}

// NewMain returns a Main that logs to stderr.
func NewMain() *Main {
	return &Main{
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}
}

// ParseFlags fills m.Config from args and the environment and validates it.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	fs := cli.NewFlagSet("dev", m.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: dev [flags] [-- command args...]")
		fs.PrintDefaults()
	}
	devDir, err := pgcluster.DevDir()
	if err != nil {
		return err
	}
	fs.StringVar(&m.Config.DatabaseURL, "database-url", "", "use the database at `URL` instead of a local cluster ($DATABASE_URL)")
	fs.Env("DATABASE_URL", "database-url")
	fs.StringVar(&m.Config.PGDir, "pg-dir", devDir, "`directory` of the persistent local cluster")
	fs.BoolVar(&m.Config.Ephemeral, "ephemeral", false, "run a throwaway cluster, removed at exit, instead of the persistent one")
	fs.BoolVar(&m.Config.Migrate, "migrate", true, "apply the migrations on start")
	fs.StringVar(&m.Config.GraphQLAddr, "graphql-addr", "127.0.0.1:8080", "`address` of the GraphQL server")
	fs.BoolVar(&m.Config.Localnet, "localnet", true, "build and run the local Solana node on 127.0.0.1:8899 (RPC) and :8900 (WebSocket)")
	fs.StringVar(&m.Config.IndexerMetricsAddr, "indexer-metrics-addr", "127.0.0.1:9102", "`address` of the indexer's /metrics, /healthz and /readyz (with -localnet)")
	fs.BoolVar(&m.Config.Cranks, "cranks", true, "run the timelock executor, the migration driver and the closer (with -localnet)")
	fs.StringVar(&m.Config.CrankExecuteMetricsAddr, "crank-execute-metrics-addr", "127.0.0.1:9103", "`address` of the timelock executor's /metrics")
	fs.StringVar(&m.Config.CrankMigrateMetricsAddr, "crank-migrate-metrics-addr", "127.0.0.1:9104", "`address` of the migration driver's /metrics")
	fs.StringVar(&m.Config.CrankCloseMetricsAddr, "crank-close-metrics-addr", "127.0.0.1:9105", "`address` of the closer's /metrics")
	fs.StringVar(&m.Config.LogDir, "log-dir", filepath.Join(filepath.Dir(devDir), "logs"), "`directory` of each component's full log, truncated at start (empty: everything to the console)")
	fs.BoolVar(&m.Config.Demo, "demo", true, "play a scripted upgrade on the localnet through the member CLI, then stay up (with -localnet and -cranks)")
	fs.DurationVar(&m.Config.DemoPause, "demo-pause", 3*time.Second, "pause between the demo's steps")
	fs.BoolVar(&m.Config.Verbose, "v", false, "show debug lines and the localnet's runtime logs on the console")
	localnetArgs := fs.String("localnet-args", "", "extra `flags` for the local Solana node (see localnet --help)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m.Config.LocalnetArgs = strings.Fields(*localnetArgs)
	m.Config.Command = fs.Args()
	return m.Config.Validate()
}

// Run brings up the database and then either runs the configured command or
// supervises the environment until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	if err := m.openDatabase(ctx); err != nil {
		return err
	}
	if m.Config.Migrate {
		res, err := migrations.Up(ctx, m.databaseURL)
		if err != nil {
			return err
		}
		m.Logger.Info("applied migrations", slog.Int("count", len(res)))
	}
	if len(m.Config.Command) > 0 {
		return m.runCommand(ctx)
	}

	if err := m.openLogs(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "DATABASE_URL=%s\n", m.databaseURL)
	st, err := migrations.Status(ctx, m.databaseURL)
	if err != nil {
		return err
	}
	if err := migrations.WriteStatus(m.Stdout, st); err != nil {
		return err
	}
	if m.Config.Localnet && m.Config.Cranks {
		if err := m.prepareCranks(); err != nil {
			return err
		}
	}
	if m.demoOn() {
		if err := m.prepareDemo(); err != nil {
			return err
		}
	}
	if m.Config.Localnet {
		path, err := m.writeDeployerKeypair()
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "TARGET_DEPLOYER_KEYPAIR=%s\n", path)
	}
	m.graphqlReady = make(chan string, 1)
	m.Logger.Info("dev environment running; interrupt to stop")
	return supervise(ctx, m.components())
}

// Close stops the cluster Run started, if any, and removes what the run
// left in temporary directories. Calling it twice is harmless.
func (m *Main) Close() error {
	var errs []error
	if m.tmpDir != "" {
		if err := os.RemoveAll(m.tmpDir); err != nil {
			errs = append(errs, fmt.Errorf("remove the run's temporary directory: %w", err))
		}
		m.tmpDir = ""
	}
	if m.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := m.cluster.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.logs != nil {
		if err := m.logs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close the logs: %w", err))
		}
	}
	return errors.Join(errs...)
}

// openLogs, with -log-dir, sends each component's full log to its own file
// and keeps the console to one short line per event that matters.
func (m *Main) openLogs() error {
	if m.Config.LogDir == "" || m.logs != nil {
		return nil
	}
	logs, err := openLogFiles(m.Config.LogDir)
	if err != nil {
		return err
	}
	m.logs = logs
	f, err := logs.file("dev")
	if err != nil {
		return err
	}
	m.Logger = slog.New(slog.NewMultiHandler(
		newConsoleHandler(m.Stderr, &m.consoleMu, m.consoleLevel()),
		slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}),
	))
	names := []string{"dev"}
	for _, c := range m.components() {
		names = append(names, c.name)
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = logs.path(n)
	}
	fmt.Fprintf(m.Stdout, "LOGS=%s\n", strings.Join(paths, " "))
	return nil
}

// logPath is where component's full log is, or "the console" without -log-dir.
func (m *Main) logPath(component string) string {
	if m.logs == nil {
		return "the console"
	}
	return m.logs.path(component)
}

func (m *Main) demoOn() bool {
	return m.Config.Demo && m.Config.Localnet && m.Config.Cranks
}

// graphqlURL waits until the GraphQL server listens and returns its URL.
func (m *Main) graphqlURL(ctx context.Context) (string, error) {
	select {
	case u, ok := <-m.graphqlReady:
		if !ok {
			return "", errNoGraphQL
		}
		return u, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (m *Main) consoleLevel() slog.Level {
	if m.Config.Verbose {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// componentLogger is the logger of an in-process component: the console, and
// with -log-dir the component's own file at debug.
func (m *Main) componentLogger(name string) *slog.Logger {
	if m.logs == nil {
		return m.Logger.With(slog.String(componentKey, name))
	}
	f, err := m.logs.file(name)
	if err != nil {
		m.Logger.Warn("the component logs to the console only", slog.String(componentKey, name), slog.Any("error", err))
		return m.Logger.With(slog.String(componentKey, name))
	}
	return slog.New(slog.NewMultiHandler(
		newConsoleHandler(m.Stderr, &m.consoleMu, m.consoleLevel()),
		slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}),
	)).With(slog.String(componentKey, name))
}

// childOutput is where a child process's output goes: every line to the
// component's file (with -log-dir), and to the console the lines keep passes.
func (m *Main) childOutput(name string, keep func(string) bool) *lineWriter {
	w := &lineWriter{consoleMu: &m.consoleMu, console: m.Stderr, component: name, keep: keep}
	if m.logs != nil {
		if f, err := m.logs.file(name); err == nil {
			w.file = f
		} else {
			m.Logger.Warn("the component logs to the console only", slog.String(componentKey, name), slog.Any("error", err))
		}
	}
	return w
}

func (m *Main) openDatabase(ctx context.Context) error {
	if m.Config.DatabaseURL != "" {
		m.databaseURL = m.Config.DatabaseURL
		return nil
	}
	var (
		c   *pgcluster.Cluster
		err error
	)
	cfg := pgcluster.Config{Logger: m.Logger}
	if m.Config.Ephemeral {
		c, err = pgcluster.StartTemp(ctx, cfg)
	} else {
		cfg.Dir = m.Config.PGDir
		c, err = pgcluster.Start(ctx, cfg)
	}
	if err != nil {
		return err
	}
	m.cluster = c
	m.databaseURL = c.URL()
	return nil
}
