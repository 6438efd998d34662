package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
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
		key, err := solana.PrivateKeyFromSolanaKeygenFile(path)
		if err != nil {
			return solana.PublicKey{}, fmt.Errorf("read %s: %w", path, err)
		}
		return key.PublicKey(), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return solana.PublicKey{}, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return solana.PublicKey{}, fmt.Errorf("generate a keypair: %w", err)
	}
	if err := writeKeypair(path, priv); err != nil {
		return solana.PublicKey{}, err
	}
	return solana.PrivateKey(priv).PublicKey(), nil
}

// writeKeypair writes priv as a Solana CLI keypair file (a JSON array of 64 bytes), mode 0600.
func writeKeypair(path string, priv ed25519.PrivateKey) error {
	nums := make([]int, len(priv))
	for i, b := range priv {
		nums[i] = int(b)
	}
	data, _ := json.Marshal(nums)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
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

// crankComponents are the timelock executor and the migration driver, run as the real
// cmd/crank binary against the localnet and the dev database.
func (m *Main) crankComponents() []component {
	return []component{
		{name: "crank-execute", run: func(ctx context.Context) error { return m.runCrank(ctx, "execute", m.Config.CrankExecuteMetricsAddr) }},
		{name: "crank-migrate", run: func(ctx context.Context) error { return m.runCrank(ctx, "migrate", m.Config.CrankMigrateMetricsAddr) }},
	}
}

func (m *Main) runCrank(ctx context.Context, kind, metricsAddr string) error {
	log := m.componentLogger("crank-" + kind)
	bin, err := m.goBinary(ctx, "crank")
	if err != nil {
		return err
	}
	rpcURL, _ := localnetURLs(m.Config.LocalnetArgs)
	if err := waitHealthy(ctx, rpcURL); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, kind,
		"-rpc-url", rpcURL,
		"-database-url", m.databaseURL,
		"-keypair", m.crankKeypairPath,
		"-poll-interval", "2s",
		"-metrics-addr", metricsAddr)
	out := m.childOutput("crank-"+kind, atLeast(m.consoleLevel()))
	defer out.Flush()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	log.Info("starting", slog.String("metrics", metricsAddr))
	err = cmd.Run()
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

// runDir is this run's temporary directory (the crank binary, a throwaway
// environment's keypair), created on first use and removed by Close.
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
