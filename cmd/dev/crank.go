package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/crank"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// crankKeypair returns the dev cranks' fee payer, a Solana CLI keypair file kept next to the
// dev cluster (created with mode 0600 on first use), and its public key.
func (m *Main) crankKeypair() (string, solana.PublicKey, error) {
	dir := filepath.Dir(m.Config.PGDir)
	if m.Config.Ephemeral || m.Config.PGDir == "" {
		// A throwaway environment gets a throwaway key, removed by Close.
		tmp, err := m.runDir()
		if err != nil {
			return "", solana.PublicKey{}, err
		}
		dir = tmp
	}
	path := filepath.Join(dir, "upgrade-manager-dev-crank.json")
	pub, err := ensureKeypair(path)
	if err != nil {
		return "", solana.PublicKey{}, fmt.Errorf("dev crank keypair: %w", err)
	}
	return path, pub, nil
}

// ensureKeypair reads the Solana CLI keypair file at path, or creates one with a new key
// (mode 0600), and returns its public key.
func ensureKeypair(path string) (solana.PublicKey, error) {
	if _, err := os.Stat(path); err == nil {
		key, err := keypair.Load("dev crank", path)
		if err != nil {
			return solana.PublicKey{}, err
		}
		return key.PublicKey(), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return solana.PublicKey{}, err
	}
	key, err := solana.NewRandomPrivateKey()
	if err != nil {
		return solana.PublicKey{}, fmt.Errorf("generate a keypair: %w", err)
	}
	if err := keypair.Write(path, key); err != nil {
		return solana.PublicKey{}, err
	}
	return key.PublicKey(), nil
}

// prepareCranks creates the cranks' fee payer and has the localnet fund it at genesis.
func (m *Main) prepareCranks() error {
	path, pub, err := m.crankKeypair()
	if err != nil {
		return err
	}
	m.crankKeypairPath = path
	m.Config.LocalnetArgs = append(m.Config.LocalnetArgs, "--fund", pub.String())
	return nil
}

// crankComponents are the timelock executor, the migration driver and the closer
// (cmd/internal/crank), run in-process against the localnet and the dev database as the indexer
// and GraphQL are.
func (m *Main) crankComponents() []component {
	return []component{
		{name: "crank-execute", run: func(ctx context.Context) error {
			return m.runCrank(ctx, crank.KindExecute, m.Config.CrankExecuteMetricsAddr)
		}},
		{name: "crank-migrate", run: func(ctx context.Context) error {
			return m.runCrank(ctx, crank.KindMigrate, m.Config.CrankMigrateMetricsAddr)
		}},
		{name: "crank-close", run: func(ctx context.Context) error {
			return m.runCrank(ctx, crank.KindClose, m.Config.CrankCloseMetricsAddr)
		}},
	}
}

// runCrank runs one crank until ctx ends, serving its /metrics (with the Go and process
// collectors) on metricsAddr and printing CRANK_<KIND>_METRICS_URL once it listens.
func (m *Main) runCrank(ctx context.Context, kind, metricsAddr string) error {
	name := "crank-" + kind
	log := m.componentLogger(name)
	payer, err := keypair.Load("dev crank fee-payer", m.crankKeypairPath)
	if err != nil {
		return err
	}
	rpcURL, _ := localnetURLs(m.Config.LocalnetArgs)
	if err := waitHealthy(ctx, rpcURL); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	reg := cli.NewRegistry()
	k, err := crank.New(crank.Config{
		Kind: kind, RPCURL: rpcURL, DatabaseURL: m.databaseURL, ProgramID: um.ProgramID, Payer: payer,
		Commitment: rpc.CommitmentConfirmed, PollInterval: 2 * time.Second, MinBalance: 10_000_000,
		// Ended accounts stay readable for 5 minutes of the chain's clock, long enough for the
		// demo (and a developer) to read them on chain after they end.
		CloseAfter: 5 * time.Minute,
	}, reg, log, nil)
	if err != nil {
		return err
	}
	defer k.Close()
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("%s metrics address: %w", name, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Fprintf(m.Stdout, "CRANK_%s_METRICS_URL=http://%s/metrics\n", strings.ToUpper(kind), ln.Addr())
	}
	log.Info("starting", slog.String("metrics", metricsAddr))
	err = k.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		return fmt.Errorf("crank %s exited", kind)
	}
	return fmt.Errorf("crank %s: %w", kind, err)
}

// goBinary builds ./cmd/NAME into the run's temporary directory, once per run.
func (m *Main) goBinary(ctx context.Context, name string) (string, error) {
	m.buildMu.Lock()
	defer m.buildMu.Unlock()
	if bin, ok := m.built[name]; ok {
		return bin, nil
	}
	dir, err := m.runDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/"+name).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, strings.TrimSpace(string(out)))
	}
	if m.built == nil {
		m.built = map[string]string{}
	}
	m.built[name] = bin
	return bin, nil
}

// waitHealthy polls the node's /health until it answers ok.
func waitHealthy(ctx context.Context, rpcURL string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rpcURL+"/health", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// runDir is this run's temporary directory (the umctl binary of the demo, a
// throwaway environment's keypair), created on first use and removed by Close.
func (m *Main) runDir() (string, error) {
	m.tmpMu.Lock()
	defer m.tmpMu.Unlock()
	if m.tmpDir != "" {
		return m.tmpDir, nil
	}
	dir, err := os.MkdirTemp("", "upgrade-manager-dev-")
	if err != nil {
		return "", fmt.Errorf("create the run's temporary directory: %w", err)
	}
	m.tmpDir = dir
	return dir, nil
}
