package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
}

// DefaultServerConfig returns the defaults, without an address or database.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		Limits:           DefaultLimits,
		KeepAlive:        15 * time.Second,
		SubscriberBuffer: 256,
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
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open database pool: %w", err)
	}
	defer pool.Close()

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
	h := NewHandler(HandlerConfig{
		Resolver:       resolver,
		Logger:         s.Logger,
		Limits:         cfg.Limits,
		AllowedOrigins: cfg.AllowedOrigins,
		KeepAlive:      cfg.KeepAlive,
		Registry:       reg,
		Gatherer:       reg,
		Gate:           cfg.Gate,
		Health: func(ctx context.Context) error {
			if err := pool.Ping(ctx); err != nil {
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
		MaxHeaderBytes:    int(cfg.Limits.MaxBodyBytes) + 16<<10,
		BaseContext:       func(net.Listener) context.Context { return base },
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
		return httpServer.Shutdown(shutdownCtx)
	})
	return g.Wait()
}
