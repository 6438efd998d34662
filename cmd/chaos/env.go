package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/faultproxy"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/procsup"
	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/migrations"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgcluster"
)

// Env is the running system: every process of a deployment, on this machine.
type Env struct {
	Dir      string
	Node     *localnettest.Node
	Cluster  *pgcluster.Cluster
	DBURL    string
	DB       *pgxpool.Pool
	Proxy    *faultproxy.Proxy
	Sup      *procsup.Supervisor
	GraphQL  []string // http://host:port/graphql of each replica
	Indexers []string // process names
	Cranks   []string
	Payer    solana.PrivateKey
	log      *slog.Logger
}

// EnvConfig sizes the environment.
type EnvConfig struct {
	// Fund are the keys the localnet funds at genesis (the workload's payers and members).
	Fund []solana.PublicKey
	// PollInterval is the indexers' and cranks' poll interval.
	PollInterval time.Duration
	// LogDir receives one log file per process.
	LogDir string
	Logger *slog.Logger
}

// StartEnv builds the binaries, starts PostgreSQL, the localnet, the proxy and
// the processes. Close stops them all.
func StartEnv(ctx context.Context, cfg EnvConfig) (_ *Env, err error) {
	e := &Env{Dir: cfg.LogDir, log: cfg.Logger, Sup: procsup.New(cfg.Logger)}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	bins, err := buildBinaries(ctx, filepath.Join(cfg.LogDir, "bin"))
	if err != nil {
		return nil, err
	}
	e.Cluster, err = pgcluster.StartTemp(ctx, pgcluster.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if e.DBURL, err = chaosDatabase(ctx, e.Cluster.URL()); err != nil {
		return nil, err
	}
	if _, err := migrations.Up(ctx, e.DBURL); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if e.DB, err = pgxpool.New(ctx, e.DBURL); err != nil {
		return nil, err
	}

	if e.Payer, err = solana.NewRandomPrivateKey(); err != nil {
		return nil, err
	}
	lnBin, err := localnetBinary(ctx)
	if err != nil {
		return nil, err
	}
	lnLog, err := os.Create(filepath.Join(cfg.LogDir, "localnet.log"))
	if err != nil {
		return nil, err
	}
	// The cranks pay with e.Payer's keypair file; the workload with its own keys.
	fund := append([]solana.PublicKey{e.Payer.PublicKey()}, cfg.Fund...)
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// Finalization 16 slots back (1.6 s): deep enough for forks to abandon confirmed slots.
	e.Node, err = localnettest.Run(startCtx, lnBin, localnettest.Options{Fund: fund, FundSOL: 10_000, FinalizationDepth: 16, Stderr: lnLog})
	if err != nil {
		return nil, fmt.Errorf("start localnet: %w", err)
	}
	e.Proxy, err = faultproxy.Start(faultproxy.Config{RPCURL: e.Node.RPCURL, WSURL: e.Node.WSURL, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	keypair := filepath.Join(cfg.LogDir, "crank-keypair.json")
	if err := writeKeypair(keypair, e.Payer); err != nil {
		return nil, err
	}

	poll := cfg.PollInterval.String()
	output := func(name string) (io.Writer, error) {
		return os.Create(filepath.Join(cfg.LogDir, name+".log"))
	}
	start := func(name, bin string, args ...string) error {
		out, err := output(name)
		if err != nil {
			return err
		}
		return e.Sup.Start(procsup.Spec{Name: name, Path: bin, Args: args, Output: out, RestartDelay: 500 * time.Millisecond})
	}
	// The indexers read through the fault proxy; one leads, the other waits on the writer lock.
	for i := 1; i <= 2; i++ {
		name := fmt.Sprintf("indexer-%d", i)
		e.Indexers = append(e.Indexers, name)
		if err := start(name, bins["indexer"], "run", "-rpc-url", e.Proxy.RPCURL(), "-ws-url", e.Proxy.WSURL(),
			"-database-url", e.DBURL, "-metrics-addr", "", "-poll-interval", poll, "-finality-interval", poll,
			"-reconcile-interval", "5s", "-rpc-timeout", "5s", "-start", "earliest"); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= 2; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("graphql-%d", i)
		if err := start(name, bins["graphql"], "-addr", addr, "-database-url", e.DBURL, "-allowed-origins", "*"); err != nil {
			return nil, err
		}
		e.GraphQL = append(e.GraphQL, "http://"+addr+"/graphql")
	}
	// The cranks send straight to the node: their faults are kills.
	for _, kind := range []string{"execute", "migrate"} {
		for i := 1; i <= 2; i++ {
			name := fmt.Sprintf("crank-%s-%d", kind, i)
			e.Cranks = append(e.Cranks, name)
			if err := start(name, bins["crank"], kind, "-rpc-url", e.Node.RPCURL, "-database-url", e.DBURL,
				"-keypair", keypair, "-poll-interval", poll); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// chaosDatabase creates the run's database with synchronous_commit on. The throwaway
// cluster runs with it off for speed, and an immediate restart then loses the newest
// commits, which a production database does not: the fault would test the test setup.
func chaosDatabase(ctx context.Context, url string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	for _, q := range []string{`CREATE DATABASE chaos`, `ALTER DATABASE chaos SET synchronous_commit = on`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return "", err
	}
	u.Path = "/chaos"
	return u.String(), nil
}

// Close stops every process, the proxy, the localnet and PostgreSQL, and returns the
// processes left running (none, when all is well).
func (e *Env) Close() []string {
	e.Sup.Stop(10 * time.Second)
	left := e.Sup.Leftovers()
	if e.Proxy != nil {
		_ = e.Proxy.Close()
	}
	if e.DB != nil {
		e.DB.Close()
	}
	if e.Node != nil {
		e.Node.Stop()
	}
	if e.Cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Cluster.Stop(ctx); err != nil {
			left = append(left, "postgres: "+err.Error())
		}
	}
	return left
}

// buildBinaries builds the indexer, the GraphQL server and the crank once.
func buildBinaries(ctx context.Context, dir string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for _, name := range []string{"indexer", "graphql", "crank"} {
		path := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
		}
		bins[name] = path
	}
	return bins, nil
}

// repoRoot is the module root: the working directory's nearest go.mod.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run chaos inside the repository (no go.mod found)")
	}
	return filepath.Dir(mod), nil
}

func localnetBinary(ctx context.Context) (string, error) {
	bctx, cancel := context.WithTimeout(ctx, 45*time.Minute)
	defer cancel()
	return localnettest.Binary(bctx)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// writeKeypair writes k in the Solana CLI's format, mode 0600.
func writeKeypair(path string, k solana.PrivateKey) error {
	nums := make([]int, len(k))
	for i, b := range k {
		nums[i] = int(b)
	}
	data, _ := json.Marshal(nums)
	return os.WriteFile(path, data, 0o600)
}
