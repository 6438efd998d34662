package indexer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/ingest"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Config configures a Service.
type Config struct {
	// RPCURL is the Solana HTTP JSON-RPC endpoint.
	RPCURL string
	// WSURL is the websocket endpoint; empty derives it from RPCURL
	// (chain.WebsocketURL).
	WSURL string
	// DatabaseURL is the PostgreSQL database, migrated.
	DatabaseURL string
	// ProgramID is the upgrade_manager deployment to follow.
	ProgramID string
	// Commitment is confirmed or finalized.
	Commitment string
	// Start is where a program without a checkpoint starts: earliest,
	// latest or a slot.
	Start string
	// MetricsAddr is where /metrics, /healthz and /readyz are served; empty
	// serves nothing.
	MetricsAddr string

	// ResetOnNewCluster empties the indexer's tables when the RPC serves
	// another cluster than the database holds (see ingest.Config).
	ResetOnNewCluster bool

	Concurrency       int
	BatchSize         int
	PollInterval      time.Duration
	FinalityInterval  time.Duration
	ReconcileInterval time.Duration
	RPCTimeout        time.Duration
	// RPCRate caps the RPC requests per second (retries included, over
	// every worker); 0 is no cap.
	RPCRate float64
}

// DefaultConfig returns the configuration for a local node on
// 127.0.0.1:8899 and the program's IDL address, without a database.
func DefaultConfig() Config {
	return Config{
		RPCURL:            "http://127.0.0.1:8899",
		ProgramID:         upgrademanager.ProgramID.String(),
		Commitment:        string(store.Confirmed),
		Start:             ingest.StartEarliest,
		MetricsAddr:       "127.0.0.1:9102",
		Concurrency:       8,
		BatchSize:         1000,
		PollInterval:      15 * time.Second,
		FinalityInterval:  5 * time.Second,
		ReconcileInterval: time.Minute,
		RPCTimeout:        30 * time.Second,
	}
}

// Validate reports the first invalid field of c, by its flag name in
// cmd/indexer.
func (c Config) Validate() error {
	if c.DatabaseURL == "" {
		return errors.New("-database-url: missing (or set DATABASE_URL)")
	}
	if _, err := solana.PublicKeyFromBase58(c.ProgramID); err != nil {
		return fmt.Errorf("-program-id %q: %v", c.ProgramID, err)
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
	if err := c.ingestConfig().Validate(); err != nil {
		return fmt.Errorf("-%v", err) // "-commitment ...", "-start ..."
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
	if c.RPCRate < 0 {
		return fmt.Errorf("-rpc-rate: must be 0 (no cap) or positive, got %v", c.RPCRate)
	}
	if c.Concurrency <= 0 {
		return fmt.Errorf("-concurrency: must be positive, got %d", c.Concurrency)
	}
	if c.BatchSize <= 0 {
		return fmt.Errorf("-batch-size: must be positive, got %d", c.BatchSize)
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
		ResetOnNewCluster: c.ResetOnNewCluster,
	}
}

// Service is the running indexer: the ingester with its RPC client, log
// subscription, database pool and metrics server.
type Service struct {
	cfg    Config
	logger *slog.Logger
	ready  chan struct{}
	addr   net.Addr
}

// New returns a service for cfg, which Run validates.
func New(cfg Config, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, logger: logger, ready: make(chan struct{})}
}

// Ready is closed once Run has started the ingester and the metrics server
// listens.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Addr is the metrics server's address, after Ready; nil when disabled.
func (s *Service) Addr() net.Addr { return s.addr }

// Run indexes until ctx ends, then returns nil once the batch in flight has
// committed or rolled back. It returns an error only when it cannot start
// (invalid configuration, busy metrics address).
func (s *Service) Run(ctx context.Context) error {
	c := s.cfg
	if c.WSURL == "" {
		ws, err := chain.WebsocketURL(c.RPCURL)
		if err != nil {
			return fmt.Errorf("-rpc-url: %w", err)
		}
		c.WSURL = ws
	}
	if err := c.Validate(); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, c.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer pool.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	chainMetrics := chain.NewMetrics(reg)
	client := chain.NewClient(chain.ClientConfig{URL: c.RPCURL, Timeout: c.RPCTimeout, RatePerSecond: c.RPCRate,
		Logger: s.logger, Metrics: chainMetrics})
	defer client.Close()
	logs := chain.NewSubscriber(chain.SubscriberConfig{URL: c.WSURL, Program: c.ProgramID,
		Commitment: chain.Commitment(c.Commitment), Logger: s.logger, Metrics: chainMetrics})
	dec := decode.New(upgrademanager.New(solana.MustPublicKeyFromBase58(c.ProgramID)))
	in, err := ingest.New(c.ingestConfig(), pool, client, logs, ingest.NewEventDecoder(dec), ingest.NewMetrics(reg), s.logger)
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	if c.MetricsAddr != "" {
		ln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("-metrics-addr: %w", err)
		}
		s.addr = ln.Addr()
		srv := &http.Server{Handler: Handler(reg, in, pool), ReadHeaderTimeout: 10 * time.Second}
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
	close(s.ready)
	s.logger.Info("indexer running", slog.String("program_id", c.ProgramID), slog.String("commitment", c.Commitment),
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
		s.logger.Info("indexer stopped")
		return nil
	}
	return err
}

// Pinger is the database check of /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Readiness is what /readyz asks the ingester.
type Readiness interface {
	Ready() bool
}

// Handler serves /metrics from reg, /healthz (the process runs) and /readyz
// (caught up with the chain once, syncing, and the database reachable).
func Handler(reg *prometheus.Registry, in Readiness, db Pinger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		switch {
		case !in.Ready():
			http.Error(w, "not caught up with the chain", http.StatusServiceUnavailable)
		case db.Ping(ctx) != nil:
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	return mux
}
