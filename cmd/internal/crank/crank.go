package crank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	readmodel "github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
	"github.com/upgrade-manager/upgrade-manager/indexer/cluster"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
)

// Kinds of crank.
const (
	KindExecute = "execute"
	KindMigrate = "migrate"
	// KindClose closes ended proposals and migration jobs, so their rent comes back.
	KindClose = "close"
)

// Config is one crank's configuration; cmd/crank builds it from flags and cmd/dev from its own.
type Config struct {
	// Kind is KindExecute, KindMigrate or KindClose.
	Kind        string
	RPCURL      string
	DatabaseURL string
	ProgramID   solana.PublicKey
	// Payer signs and pays for every transaction.
	Payer      solana.PrivateKey
	Commitment rpc.CommitmentType
	// CUPrice is the compute-unit price in micro-lamports; 0 sets none.
	CUPrice uint64
	// CULimit is the compute-unit limit; 0 sets none.
	CULimit      uint32
	PollInterval time.Duration
	// Once scans once, acts, and returns.
	Once bool
	// DryRun simulates only and sends nothing.
	DryRun bool
	// MinBalance is the fee payer's balance, in lamports, below which Run refuses to act.
	MinBalance uint64
	// LockWait is how often a standby replica retries the crank lock.
	LockWait time.Duration
	// CloseAfter is how long, by the chain's clock, the closer leaves an ended proposal or
	// migration job open (readable on chain) before it closes it.
	CloseAfter time.Duration
	// Progress, when set, is where the migration driver draws a progress bar.
	Progress io.Writer
}

// Crank is one running crank: the timelock executor, the migration driver or the closer.
type Crank struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	// redact hides the RPC URL's secrets in the errors Run returns.
	redact func(string) string

	db     *pgxpool.Pool
	leader *leader
}

// New returns a crank that registers its metrics on reg and logs to log. redact, when not nil,
// hides secrets (an RPC URL's API key) in the errors Run returns.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger, redact func(string) string) (*Crank, error) {
	switch cfg.Kind {
	case KindExecute, KindMigrate, KindClose:
	default:
		return nil, fmt.Errorf("crank kind %q: want %s, %s or %s", cfg.Kind, KindExecute, KindMigrate, KindClose)
	}
	if len(cfg.Payer) != 64 {
		return nil, errors.New("crank: no fee payer")
	}
	if cfg.PollInterval <= 0 {
		return nil, errors.New("poll-interval: must be positive")
	}
	if cfg.CloseAfter < 0 {
		return nil, errors.New("close-after: must not be negative")
	}
	if cfg.LockWait <= 0 {
		cfg.LockWait = cfg.PollInterval
	}
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return &Crank{cfg: cfg, log: log.With("crank", cfg.Kind), metrics: NewMetrics(reg), redact: redact}, nil
}

// Run checks the fee payer, the RPC and the database, waits to become the active replica, then
// scans every poll interval (or once) until ctx ends.
func (k *Crank) Run(ctx context.Context) error {
	c := k.cfg
	rpcName := k.redact(c.RPCURL)
	client := rpc.New(c.RPCURL)
	if _, err := client.GetVersion(ctx); err != nil {
		return fmt.Errorf("RPC %s is unreachable: %s", rpcName, k.redact(err.Error()))
	}
	s := &sender{rpc: client, payer: c.Payer, commitment: c.Commitment, cuPrice: c.CUPrice, cuLimit: c.CULimit, dryRun: c.DryRun, poll: 200 * time.Millisecond, log: k.log}
	if err := k.checkBalance(ctx, s); err != nil {
		return err
	}
	var err error
	if k.db == nil {
		k.db, err = pgxpool.New(ctx, c.DatabaseURL)
		if err != nil {
			return fmt.Errorf("database-url: %w", err)
		}
	}
	if err := k.db.Ping(ctx); err != nil {
		return fmt.Errorf("database is unreachable: %w", err)
	}
	k.leader, err = acquireLeadership(ctx, c.DatabaseURL, c.Kind, c.LockWait, k.log)
	if err != nil {
		return err
	}
	ch := &chain{rpc: client, commitment: c.Commitment, programID: c.ProgramID, build: txbuild.New(c.ProgramID)}
	models := readmodel.New(k.db)
	var tick func(context.Context) (int, error)
	switch c.Kind {
	case KindExecute:
		e := &executor{models: models, chain: ch, send: s, metrics: k.metrics, log: k.log, inFlight: map[solana.PublicKey]bool{}}
		tick = e.tick
	case KindMigrate:
		mg := &migrator{models: models, chain: ch, send: s, metrics: k.metrics, log: k.log, progress: c.Progress}
		tick = mg.tick
	case KindClose:
		cl := &closer{models: models, reader: &txbuild.Reader{RPC: client, Commitment: c.Commitment, Builder: ch.build}, chain: ch, send: s, metrics: k.metrics, log: k.log, after: c.CloseAfter}
		tick = cl.tick
	}
	k.log.Info("running", "rpc", rpcName, "payer", c.Payer.PublicKey(), "program", c.ProgramID, "commitment", c.Commitment, "dry_run", c.DryRun, "once", c.Once)
	clusterState := ""
	// After a failed scan (RPC or database down, cluster not recorded yet)
	// the next waits longer, with jitter, so replicas do not hammer a node
	// that is down in step.
	retry := backoff.Backoff{Min: c.PollInterval, Max: 8 * c.PollInterval}
	for {
		if err := k.leader.Check(ctx); err != nil {
			return err
		}
		// Never act on another cluster's rows: after the local node restarts
		// as a new cluster, the read model holds the old one's until the
		// indexer resets.
		var n int
		err := k.checkCluster(ctx, client)
		if state := fmt.Sprint(err); state != clusterState {
			clusterState = state
			if err != nil {
				k.log.Warn("not acting: the database does not hold the RPC's cluster (yet); waiting for the indexer", "reason", err)
			} else {
				k.log.Info("the database holds the RPC's cluster")
			}
		}
		if err == nil {
			n, err = tick(ctx)
		}
		if err != nil && ctx.Err() == nil {
			k.log.Error("scan failed; retrying at the next poll", "error", err)
		}
		if n > 0 {
			if err := k.checkBalance(ctx, s); err != nil {
				return err
			}
		}
		if c.Once {
			return err
		}
		wait := c.PollInterval
		if err != nil {
			wait = retry.Next()
		} else {
			retry.Reset()
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// checkCluster returns nil when the read model holds the data of the cluster the RPC serves
// (by genesis hash), an error otherwise (also before the indexer recorded its cluster).
func (k *Crank) checkCluster(ctx context.Context, client *rpc.Client) error {
	genesis, err := client.GetGenesisHash(ctx)
	if err != nil {
		return fmt.Errorf("RPC %s: get genesis hash: %s", k.redact(k.cfg.RPCURL), k.redact(err.Error()))
	}
	recorded, err := readmodel.New(k.db).RecordedGenesis(ctx)
	if err != nil {
		return err
	}
	if err := cluster.Compare(recorded, genesis.String()); err != nil {
		if errors.Is(err, cluster.ErrNotRecorded) {
			return errors.New("the indexer has not recorded the database's cluster yet")
		}
		return err
	}
	return nil
}

// checkBalance records the fee payer's balance and fails when it cannot pay.
func (k *Crank) checkBalance(ctx context.Context, s *sender) error {
	bal, err := s.rpc.GetBalance(ctx, s.payer.PublicKey(), s.commitment)
	if err != nil {
		return fmt.Errorf("RPC %s: get fee-payer balance: %s", k.redact(k.cfg.RPCURL), k.redact(err.Error()))
	}
	k.metrics.payerBalance.Set(float64(bal.Value))
	if bal.Value < k.cfg.MinBalance && !k.cfg.DryRun {
		return fmt.Errorf("fee payer %s is unfunded: %d lamports, below the %d the crank needs (fund it or lower -min-balance)", s.payer.PublicKey(), bal.Value, k.cfg.MinBalance)
	}
	return nil
}

// Close releases the lock and the database; closing twice is harmless.
func (k *Crank) Close() {
	k.leader.Release()
	k.leader = nil
	if k.db != nil {
		k.db.Close()
		k.db = nil
	}
}
