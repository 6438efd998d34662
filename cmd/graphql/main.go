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
	envDur := func(name string, def time.Duration) time.Duration {
		if d, err := time.ParseDuration(env(name, "")); err == nil {
			return d
		}
		return def
	}
	envBool := func(name string, def bool) bool {
		if b, err := strconv.ParseBool(env(name, "")); err == nil {
			return b
		}
		return def
	}
	var hosts string
	fs.IntVar(&c.Limits.SubscriptionComplexity, "subscription-complexity-limit", envInt("GRAPHQL_SUBSCRIPTION_COMPLEXITY_LIMIT", c.Limits.SubscriptionComplexity), "maximum complexity of a subscription's selection, per event ($GRAPHQL_SUBSCRIPTION_COMPLEXITY_LIMIT)")
	fs.IntVar(&c.Limits.MaxAliases, "max-aliases", envInt("GRAPHQL_MAX_ALIASES", c.Limits.MaxAliases), "maximum aliased fields in an operation ($GRAPHQL_MAX_ALIASES)")
	fs.IntVar(&c.Limits.ScanCost, "scan-cost", envInt("GRAPHQL_SCAN_COST", c.Limits.ScanCost), "complexity of a totalCount or an unindexed filter ($GRAPHQL_SCAN_COST)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", envDur("GRAPHQL_REQUEST_TIMEOUT", c.RequestTimeout), "deadline of each query ($GRAPHQL_REQUEST_TIMEOUT)")
	fs.DurationVar(&c.StatementTimeout, "statement-timeout", envDur("GRAPHQL_STATEMENT_TIMEOUT", c.StatementTimeout), "PostgreSQL statement_timeout of the query pool ($GRAPHQL_STATEMENT_TIMEOUT)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", envDur("GRAPHQL_READ_TIMEOUT", c.ReadTimeout), "time to read a whole HTTP request, body included ($GRAPHQL_READ_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", envDur("GRAPHQL_IDLE_TIMEOUT", c.IdleTimeout), "close keep-alive HTTP connections idle this long ($GRAPHQL_IDLE_TIMEOUT)")
	fs.IntVar(&c.MaxConns, "db-max-conns", envInt("GRAPHQL_DB_MAX_CONNS", c.MaxConns), "database connections for queries; /healthz and the listener have their own ($GRAPHQL_DB_MAX_CONNS)")
	fs.IntVar(&c.WS.ConnsPerAddr, "ws-conns-per-addr", envInt("GRAPHQL_WS_CONNS_PER_ADDR", c.WS.ConnsPerAddr), "open websockets per client address ($GRAPHQL_WS_CONNS_PER_ADDR)")
	fs.IntVar(&c.WS.Conns, "ws-conns", envInt("GRAPHQL_WS_CONNS", c.WS.Conns), "open websockets in total ($GRAPHQL_WS_CONNS)")
	fs.IntVar(&c.WS.OpsPerConn, "ws-subs-per-conn", envInt("GRAPHQL_WS_SUBS_PER_CONN", c.WS.OpsPerConn), "running operations per websocket ($GRAPHQL_WS_SUBS_PER_CONN)")
	fs.IntVar(&c.WS.Ops, "ws-subs", envInt("GRAPHQL_WS_SUBS", c.WS.Ops), "running websocket operations in total ($GRAPHQL_WS_SUBS)")
	fs.StringVar(&hosts, "allowed-hosts", env("GRAPHQL_ALLOWED_HOSTS", ""), "comma-separated Host names served (DNS rebinding defence); empty: any, or the loopback names when listening on loopback ($GRAPHQL_ALLOWED_HOSTS)")
	fs.BoolVar(&c.GraphiQL, "graphiql", envBool("GRAPHQL_GRAPHIQL", c.GraphiQL), "serve GraphiQL at / ($GRAPHQL_GRAPHIQL)")
	fs.BoolVar(&c.Introspection, "introspection", envBool("GRAPHQL_INTROSPECTION", c.Introspection), "answer introspection queries ($GRAPHQL_INTROSPECTION)")
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
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.AllowedHosts = append(c.AllowedHosts, h)
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
