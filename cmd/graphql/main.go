package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/cluster"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	} else if err != nil {
		fmt.Fprintf(os.Stderr, "graphql: %v\n", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("graphql failed", slog.Any("error", err))
		os.Exit(1)
	}
}

// Main is the graphql program. main calls ParseFlags then Run; tests set
// Config and call Run.
type Main struct {
	// Config.RPCURL, when set, is the Solana RPC whose cluster the database
	// must hold: until it does (after a local node restarted, until the
	// indexer reset), /graphql answers 503 CLUSTER_MISMATCH.
	Config graph.ServerConfig
	Logger *slog.Logger
}

// NewMain returns a Main with the default configuration, logging to stderr.
func NewMain() *Main {
	return &Main{Config: graph.DefaultServerConfig(), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
}

// ParseFlags fills m.Config from args and the environment and validates it.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("graphql", flag.ContinueOnError)
	c := &m.Config
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		if n, err := strconv.Atoi(env(name, "")); err == nil {
			return n
		}
		return def
	}
	var origins string
	fs.StringVar(&c.Addr, "addr", env("GRAPHQL_ADDR", "127.0.0.1:8080"), "listen `address` ($GRAPHQL_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "database `URL` ($DATABASE_URL)")
	fs.StringVar(&origins, "allowed-origins", env("GRAPHQL_ALLOWED_ORIGINS", ""), "comma-separated browser `origins` allowed by CORS and for websockets, or * ($GRAPHQL_ALLOWED_ORIGINS)")
	fs.IntVar(&c.Limits.Complexity, "complexity-limit", envInt("GRAPHQL_COMPLEXITY_LIMIT", c.Limits.Complexity), "maximum operation `complexity` ($GRAPHQL_COMPLEXITY_LIMIT)")
	fs.IntVar(&c.Limits.Depth, "depth-limit", envInt("GRAPHQL_DEPTH_LIMIT", c.Limits.Depth), "maximum selection `depth` ($GRAPHQL_DEPTH_LIMIT)")
	fs.IntVar(&c.Limits.MaxPageSize, "max-page-size", envInt("GRAPHQL_MAX_PAGE_SIZE", c.Limits.MaxPageSize), "maximum first/last ($GRAPHQL_MAX_PAGE_SIZE)")
	fs.Int64Var(&c.Limits.MaxBodyBytes, "max-body-bytes", int64(envInt("GRAPHQL_MAX_BODY_BYTES", int(c.Limits.MaxBodyBytes))), "maximum request body and websocket message `bytes` ($GRAPHQL_MAX_BODY_BYTES)")
	fs.IntVar(&c.SubscriberBuffer, "subscriber-buffer", envInt("GRAPHQL_SUBSCRIBER_BUFFER", c.SubscriberBuffer), "`events` a subscription may fall behind before it is dropped ($GRAPHQL_SUBSCRIBER_BUFFER)")
	fs.DurationVar(&c.KeepAlive, "keepalive", c.KeepAlive, "websocket keepalive `interval`")
	fs.StringVar(&c.RPCURL, "rpc-url", env("SOLANA_RPC_URL", ""), "Solana JSON-RPC `URL`: serve only while the database holds its cluster (genesis hash), and read it for the build* mutations; empty: neither ($SOLANA_RPC_URL)")
	programID := fs.String("program-id", env("UPGRADE_MANAGER_PROGRAM_ID", um.ProgramAddress), "upgrade_manager's `address` for the build* mutations ($UPGRADE_MANAGER_PROGRAM_ID)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	pid, err := solana.PublicKeyFromBase58(*programID)
	if err != nil {
		return fmt.Errorf("-program-id %q: %w", *programID, err)
	}
	c.ProgramID = pid
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}

// Run serves until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	g, gctx := errgroup.WithContext(ctx)
	if cfg.RPCURL != "" {
		pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("open database pool: %w", err)
		}
		defer pool.Close()
		client := chain.NewClient(chain.ClientConfig{URL: cfg.RPCURL, Timeout: 5 * time.Second, Logger: m.Logger})
		defer client.Close()
		guard := &cluster.Guard{Genesis: client.GenesisHash, DB: pool, Logger: m.Logger}
		cfg.Gate = guard.Check
		g.Go(func() error { return guard.Run(gctx) })
	}
	s := graph.NewServer(cfg, m.Logger)
	start := time.Now()
	g.Go(func() error { return s.Run(gctx) })
	err := g.Wait()
	m.Logger.Info("graphql stopped", slog.Duration("uptime", time.Since(start)))
	return err
}
