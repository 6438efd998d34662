package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/graph"
	readmodel "github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/cluster"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		if code := cli.ExitCode(err); code != 0 {
			fmt.Fprintf(os.Stderr, "graphql: %v\n", err)
			os.Exit(code)
		}
		os.Exit(0)
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
	fs := cli.NewFlagSet("graphql", os.Stderr)
	c := &m.Config
	var origins string
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen `address` ($GRAPHQL_ADDR)")
	fs.Env("GRAPHQL_ADDR", "addr")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "database `URL` ($DATABASE_URL)")
	fs.Env("DATABASE_URL", "database-url")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated browser `origins` allowed by CORS and for websockets, or * ($GRAPHQL_ALLOWED_ORIGINS)")
	fs.Env("GRAPHQL_ALLOWED_ORIGINS", "allowed-origins")
	fs.IntVar(&c.Limits.Complexity, "complexity-limit", c.Limits.Complexity, "maximum operation `complexity` ($GRAPHQL_COMPLEXITY_LIMIT)")
	fs.Env("GRAPHQL_COMPLEXITY_LIMIT", "complexity-limit")
	fs.IntVar(&c.Limits.Depth, "depth-limit", c.Limits.Depth, "maximum selection `depth` ($GRAPHQL_DEPTH_LIMIT)")
	fs.Env("GRAPHQL_DEPTH_LIMIT", "depth-limit")
	fs.IntVar(&c.Limits.MaxPageSize, "max-page-size", c.Limits.MaxPageSize, "maximum first/last ($GRAPHQL_MAX_PAGE_SIZE)")
	fs.Env("GRAPHQL_MAX_PAGE_SIZE", "max-page-size")
	fs.Int64Var(&c.Limits.MaxBodyBytes, "max-body-bytes", c.Limits.MaxBodyBytes, "maximum request body and websocket message `bytes` ($GRAPHQL_MAX_BODY_BYTES)")
	fs.Env("GRAPHQL_MAX_BODY_BYTES", "max-body-bytes")
	fs.IntVar(&c.SubscriberBuffer, "subscriber-buffer", c.SubscriberBuffer, "`events` a subscription may fall behind before it is dropped ($GRAPHQL_SUBSCRIBER_BUFFER)")
	fs.Env("GRAPHQL_SUBSCRIBER_BUFFER", "subscriber-buffer")
	fs.DurationVar(&c.KeepAlive, "keepalive", c.KeepAlive, "websocket keepalive `interval`")
	fs.StringVar(&c.RPCURL, "rpc-url", "", "Solana JSON-RPC `URL`: serve only while the database holds its cluster (genesis hash), and read it for the build* mutations; empty: neither ($SOLANA_RPC_URL)")
	fs.Env("SOLANA_RPC_URL", "rpc-url")
	programID := fs.String("program-id", um.ProgramAddress, "upgrade_manager's `address` for the build* mutations ($UPGRADE_MANAGER_PROGRAM_ID)")
	fs.Env("UPGRADE_MANAGER_PROGRAM_ID", "program-id")
	var hosts string
	fs.IntVar(&c.Limits.SubscriptionComplexity, "subscription-complexity-limit", c.Limits.SubscriptionComplexity, "maximum complexity of a subscription's selection, per event ($GRAPHQL_SUBSCRIPTION_COMPLEXITY_LIMIT)")
	fs.Env("GRAPHQL_SUBSCRIPTION_COMPLEXITY_LIMIT", "subscription-complexity-limit")
	fs.IntVar(&c.Limits.MaxAliases, "max-aliases", c.Limits.MaxAliases, "maximum aliased fields in an operation ($GRAPHQL_MAX_ALIASES)")
	fs.Env("GRAPHQL_MAX_ALIASES", "max-aliases")
	fs.IntVar(&c.Limits.ScanCost, "scan-cost", c.Limits.ScanCost, "complexity of a totalCount or an unindexed filter ($GRAPHQL_SCAN_COST)")
	fs.Env("GRAPHQL_SCAN_COST", "scan-cost")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "deadline of each query ($GRAPHQL_REQUEST_TIMEOUT)")
	fs.Env("GRAPHQL_REQUEST_TIMEOUT", "request-timeout")
	fs.DurationVar(&c.StatementTimeout, "statement-timeout", c.StatementTimeout, "PostgreSQL statement_timeout of the query pool ($GRAPHQL_STATEMENT_TIMEOUT)")
	fs.Env("GRAPHQL_STATEMENT_TIMEOUT", "statement-timeout")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "time to read a whole HTTP request, body included ($GRAPHQL_READ_TIMEOUT)")
	fs.Env("GRAPHQL_READ_TIMEOUT", "read-timeout")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "close keep-alive HTTP connections idle this long ($GRAPHQL_IDLE_TIMEOUT)")
	fs.Env("GRAPHQL_IDLE_TIMEOUT", "idle-timeout")
	fs.IntVar(&c.MaxConns, "db-max-conns", c.MaxConns, "database connections for queries; /healthz and the listener have their own ($GRAPHQL_DB_MAX_CONNS)")
	fs.Env("GRAPHQL_DB_MAX_CONNS", "db-max-conns")
	fs.IntVar(&c.WS.ConnsPerAddr, "ws-conns-per-addr", c.WS.ConnsPerAddr, "open websockets per client address ($GRAPHQL_WS_CONNS_PER_ADDR)")
	fs.Env("GRAPHQL_WS_CONNS_PER_ADDR", "ws-conns-per-addr")
	fs.IntVar(&c.WS.Conns, "ws-conns", c.WS.Conns, "open websockets in total ($GRAPHQL_WS_CONNS)")
	fs.Env("GRAPHQL_WS_CONNS", "ws-conns")
	fs.IntVar(&c.WS.OpsPerConn, "ws-subs-per-conn", c.WS.OpsPerConn, "running operations per websocket ($GRAPHQL_WS_SUBS_PER_CONN)")
	fs.Env("GRAPHQL_WS_SUBS_PER_CONN", "ws-subs-per-conn")
	fs.IntVar(&c.WS.Ops, "ws-subs", c.WS.Ops, "running websocket operations in total ($GRAPHQL_WS_SUBS)")
	fs.Env("GRAPHQL_WS_SUBS", "ws-subs")
	fs.StringVar(&hosts, "allowed-hosts", "", "comma-separated Host names served (DNS rebinding defence); empty: any, or the loopback names when listening on loopback ($GRAPHQL_ALLOWED_HOSTS)")
	fs.Env("GRAPHQL_ALLOWED_HOSTS", "allowed-hosts")
	fs.BoolVar(&c.GraphiQL, "graphiql", c.GraphiQL, "serve GraphiQL at / ($GRAPHQL_GRAPHIQL)")
	fs.Env("GRAPHQL_GRAPHIQL", "graphiql")
	fs.BoolVar(&c.Introspection, "introspection", c.Introspection, "answer introspection queries ($GRAPHQL_INTROSPECTION)")
	fs.Env("GRAPHQL_INTROSPECTION", "introspection")
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
	m.Logger = cli.NewLogger(os.Stderr, slog.LevelInfo, cli.NewRedactor(c.RPCURL, c.DatabaseURL))
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
		guard := &cluster.Guard{Genesis: client.GenesisHash, Recorded: readmodel.New(pool).RecordedGenesis, Logger: m.Logger}
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
