package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// defaultCargoTargetDir keeps cargo's output outside the clone, shared by every
// checkout and CI (see the Makefile).
const defaultCargoTargetDir = "/var/cache/upgrade-manager/target"

// runLocalnet builds the local Solana node (program/localnet) with cargo and runs
// it on the standard ports, 8899 (JSON-RPC) and 8900 (WebSocket), until ctx ends.
// Its banner (URLs, program ids, funded keys) goes to stdout.
func (m *Main) runLocalnet(ctx context.Context) error {
	log := m.componentLogger("localnet")
	bin, err := m.localnetBinary(ctx, log)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, m.Config.LocalnetArgs...)
	cmd.Env = os.Environ()
	if os.Getenv("RUST_LOG") == "" && !m.Config.Verbose {
		// The runtime logs every instruction at debug; a newcomer needs its warnings, less the
		// metrics datapoint a local bank warns about at every slot ("fee account became rent
		// paying": the genesis leader collects fees below rent exemption).
		cmd.Env = append(cmd.Env, "RUST_LOG=warn,solana_metrics=off")
	}
	// The banner (URLs, program ids, funded keys) is stdout: all of it to the console.
	stdout := m.childOutput("localnet", nil)
	stderr := m.childOutput("localnet", atLeast(slog.LevelWarn))
	defer stdout.Flush()
	defer stderr.Flush()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	// The node removes its ledger and accounts directories on SIGTERM; on a loaded machine
	// that has taken over 5 s, and a SIGKILL then leaves them in the temporary directory.
	cmd.WaitDelay = 20 * time.Second
	log.Info("starting", slog.String("args", strings.Join(m.Config.LocalnetArgs, " ")))
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		return errors.New("localnet exited")
	}
	return fmt.Errorf("localnet: %w", err)
}

// localnetBinary returns $LOCALNET_BIN when it names a file (the Makefile
// builds it before dev starts), and otherwise builds the node with cargo.
func (m *Main) localnetBinary(ctx context.Context, log *slog.Logger) (string, error) {
	if bin := os.Getenv("LOCALNET_BIN"); bin != "" {
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	manifest := filepath.Join("program", "Cargo.toml")
	if _, err := os.Stat(manifest); err != nil {
		return "", fmt.Errorf("find %s (run dev from the repository root): %w", manifest, err)
	}
	targetDir := os.Getenv("CARGO_TARGET_DIR")
	if targetDir == "" {
		targetDir = defaultCargoTargetDir
	}
	log.Info("building the local node", slog.String("target_dir", targetDir))
	build := exec.CommandContext(ctx, "cargo", "build", "--manifest-path", manifest, "-p", "localnet")
	build.Env = append(os.Environ(), "CARGO_TARGET_DIR="+targetDir)
	out := m.childOutput("localnet", nil)
	build.Stdout, build.Stderr = out, out
	err := build.Run()
	out.Flush()
	if err != nil {
		return "", fmt.Errorf("cargo build -p localnet: %w", err)
	}
	return filepath.Join(targetDir, "debug", "localnet"), nil
}
