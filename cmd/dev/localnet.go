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
	log := m.Logger.With(slog.String("component", "localnet"))
	manifest := filepath.Join("program", "Cargo.toml")
	if _, err := os.Stat(manifest); err != nil {
		return fmt.Errorf("find %s (run dev from the repository root): %w", manifest, err)
	}
	targetDir := os.Getenv("CARGO_TARGET_DIR")
	if targetDir == "" {
		targetDir = defaultCargoTargetDir
	}
	log.Info("building", slog.String("target_dir", targetDir))
	build := exec.CommandContext(ctx, "cargo", "build", "--manifest-path", manifest, "-p", "localnet")
	build.Env = append(os.Environ(), "CARGO_TARGET_DIR="+targetDir)
	build.Stdout = m.Stderr
	build.Stderr = m.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("cargo build -p localnet: %w", err)
	}

	cmd := exec.CommandContext(ctx, filepath.Join(targetDir, "debug", "localnet"), m.Config.LocalnetArgs...)
	cmd.Stdout = m.Stdout
	cmd.Stderr = m.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	log.Info("starting", slog.String("args", strings.Join(m.Config.LocalnetArgs, " ")))
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		return errors.New("localnet exited")
	}
	return fmt.Errorf("localnet: %w", err)
}
