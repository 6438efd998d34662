package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Addr is the address to listen on, e.g. 127.0.0.1:8080; port 0 picks
	// a free one (see Server.Addr).
	Addr        string
	DatabaseURL string
	// AllowedOrigins: see HandlerConfig.
	AllowedOrigins []string
	Limits         Limits
	// KeepAlive is the websocket keepalive interval.
	KeepAlive time.Duration
	// SubscriberBuffer is how many events a subscription may fall behind
	// before it is dropped.
	SubscriberBuffer int
	// Gate, when set, must pass before anything is served (see
	// HandlerConfig.Gate); cmd/graphql sets it to the cluster check.
	Gate func(ctx context.Context) error
	// RPCURL is the Solana JSON-RPC the build* mutations read; empty disables them.
	RPCURL string
	// ProgramID is upgrade_manager's address for the build* mutations (zero: the IDL's).
	ProgramID solana.PublicKey
	// RequestTimeout bounds each query; StatementTimeout is PostgreSQL's
	// statement_timeout on the pool's connections, a backstop for a
	// statement the request's cancellation does not reach.
	RequestTimeout, StatementTimeout time.Duration
	// ReadTimeout bounds reading a whole plain HTTP request, body included;
	// IdleTimeout closes a keep-alive connection that sends nothing.
	ReadTimeout, IdleTimeout time.Duration
	// MaxConns is the size of the pool queries run on. /healthz has a
	// connection of its own and the listener another, so neither waits
	// behind queries.
	MaxConns int
	// WS bounds websocket connections and subscriptions.
	WS WSLimits
	// AllowedHosts: see HandlerConfig. Empty allows any Host, except on a
	// loopback address, where it defaults to localhost and the loopback IPs.
	AllowedHosts []string
	// GraphiQL and Introspection switch GraphiQL at / and introspection.
	GraphiQL, Introspection bool
	// NoSharedSubscriptions: see HandlerConfig.
	NoSharedSubscriptions bool
}

// DefaultServerConfig returns the defaults, without an address or database.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		Limits:           DefaultLimits,
		KeepAlive:        15 * time.Second,
		SubscriberBuffer: 256,
		RequestTimeout:   10 * time.Second,
		StatementTimeout: 5 * time.Second,
		ReadTimeout:      30 * time.Second,
		IdleTimeout:      120 * time.Second,
		MaxConns:         16,
		WS:               DefaultWSLimits,
		GraphiQL:         true,
		Introspection:    true,
	}
}

// Validate reports the first invalid field of c.
func (c ServerConfig) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("listen address is empty")
	case c.DatabaseURL == "":
		return errors.New("database URL is empty")
	case c.Limits.Complexity < 1:
		return errors.New("complexity limit must be at least 1")
	case c.Limits.Depth < 1:
		return errors.New("depth limit must be at least 1")
	case c.Limits.MaxPageSize < 1:
		return errors.New("max page size must be at least 1")
	case c.Limits.DefaultPageSize < 1 || c.Limits.DefaultPageSize > c.Limits.MaxPageSize:
		return errors.New("default page size must be between 1 and the max page size")
	case c.Limits.MaxBodyBytes < 1024:
		return errors.New("max body bytes must be at least 1024")
	case c.KeepAlive <= 0:
		return errors.New("keepalive must be positive")
	case c.SubscriberBuffer < 1:
		return errors.New("subscriber buffer must be at least 1")
	case c.Limits.SubscriptionComplexity < 1:
		return errors.New("subscription complexity limit must be at least 1")
	case c.Limits.MaxAliases < 0:
		return errors.New("max aliases must not be negative")
	case c.Limits.QueryCost < 1 || c.Limits.ScanCost < c.Limits.QueryCost:
		return errors.New("query cost must be at least 1 and scan cost at least the query cost")
	case c.RequestTimeout <= 0:
		return errors.New("request timeout must be positive")
	case c.StatementTimeout <= 0:
		return errors.New("statement timeout must be positive")
	case c.ReadTimeout <= 0 || c.IdleTimeout <= 0:
		return errors.New("read and idle timeouts must be positive")
	case c.MaxConns < 2:
		return errors.New("max database connections must be at least 2")
	case c.WS.ConnsPerAddr < 1 || c.WS.Conns < 1 || c.WS.OpsPerConn < 1 || c.WS.Ops < 1:
		return errors.New("websocket limits (connections per address, connections, subscriptions per connection, subscriptions) must be at least 1")
	}
	return nil
}

// Server runs the GraphQL server: the HTTP endpoints and the process's
// notification listener.
type Server struct {
	Config ServerConfig
	Logger *slog.Logger

	mu    sync.Mutex
	addr  net.Addr
	ready chan struct{}
}

// NewServer returns a server for cfg.
func NewServer(cfg ServerConfig, logger *slog.Logger) *Server {
	return &Server{Config: cfg, Logger: logger, ready: make(chan struct{})}
}

// Ready is closed once the server accepts connections and its listener
// follows the database's notifications.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address the server listens on, once Ready.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run serves until ctx ends, then shuts down and returns nil; it returns
// an error when it cannot start or a part fails.
func (s *Server) Run(ctx context.Context) error {
	cfg := s.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg.DatabaseURL, "upgrade_manager_graphql", int32(cfg.MaxConns), cfg.StatementTimeout)
	if err != nil {
		return err
	}
	defer pool.Close()
	// /healthz must answer while every query connection is busy.
	healthPool, err := openPool(ctx, cfg.DatabaseURL, "upgrade_manager_graphql_health", 1, 2*time.Second)
	if err != nil {
		return err
	}
	defer healthPool.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fanoutMetrics := fanout.NewMetrics(reg)
	broker := fanout.NewBroker(fanoutMetrics)
	defer broker.Close()
	listener := &fanout.Listener{DatabaseURL: cfg.DatabaseURL, Broker: broker, Logger: s.Logger, Metrics: fanoutMetrics}

	resolver := &Resolver{
		Store:            store.New(pool),
		Broker:           broker,
		Logger:           s.Logger,
		MaxPageSize:      cfg.Limits.MaxPageSize,
		DefaultPageSize:  cfg.Limits.DefaultPageSize,
		SubscriberBuffer: cfg.SubscriberBuffer,
	}
	if cfg.RPCURL != "" {
		resolver.Build = NewBuilder(cfg.RPCURL, cfg.ProgramID)
	}
	h, ws := newHandler(HandlerConfig{
		Resolver:              resolver,
		Logger:                s.Logger,
		Limits:                cfg.Limits,
		AllowedOrigins:        cfg.AllowedOrigins,
		KeepAlive:             cfg.KeepAlive,
		Registry:              reg,
		Gatherer:              reg,
		RequestTimeout:        cfg.RequestTimeout,
		WS:                    cfg.WS,
		AllowedHosts:          allowedHosts(cfg.AllowedHosts, cfg.Addr),
		GraphiQL:              cfg.GraphiQL,
		Introspection:         cfg.Introspection,
		NoSharedSubscriptions: cfg.NoSharedSubscriptions,
		Gate:                  cfg.Gate,
		Health: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := healthPool.Ping(ctx); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if !listener.Connected() {
				return errors.New("notification listener is reconnecting")
			}
			return nil
		},
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()

	// Websocket handlers outlive Shutdown, which does not track hijacked
	// connections: their base context ends them.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	httpServer := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    int(cfg.Limits.MaxBodyBytes) + 16<<10,
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(base, connBaseKey{}, base) },
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return listener.Run(gctx) })
	g.Go(func() error {
		if err := httpServer.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		select {
		case <-listener.Ready():
			s.Logger.Info("graphql server ready", slog.String("addr", ln.Addr().String()))
			close(s.ready)
		case <-gctx.Done():
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		cancelBase()
		broker.Close()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := httpServer.Shutdown(shutdownCtx)
		// Shutdown does not wait for hijacked connections: the websockets
		// close on the base context (1001), each once its client has
		// answered the close or 5 s have passed.
		if n := ws.wait(shutdownCtx); n > 0 {
			s.Logger.Warn("websockets still open at shutdown; their clients see the connection drop", slog.Int("connections", n))
		}
		return err
	})
	return g.Wait()
}

// openPool opens a pool of at most size connections named app in
// pg_stat_activity, each with statement_timeout set.
func openPool(ctx context.Context, url, app string, size int32, statementTimeout time.Duration) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pc.MaxConns = size
	pc.ConnConfig.RuntimeParams["application_name"] = app
	pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(statementTimeout.Milliseconds(), 1), 10)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database pool %s: %w", app, err)
	}
	return pool, nil
}

// allowedHosts returns hosts, or for a server listening on a loopback
// address with no list given, the names a local browser uses for it.
func allowedHosts(hosts []string, addr string) []string {
	if len(hosts) > 0 {
		return hosts
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return []string{"localhost", "127.0.0.1", "::1"}
	}
	return nil
}
