package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// commandStopDelay is how long a command gets to exit after SIGTERM before
// it is killed.
const commandStopDelay = 30 * time.Second

// exitCodeError carries the exit status of a command for main to exit with.
type exitCodeError struct{ code int }

// Error describes the exit status; main exits with it instead of printing.
func (e exitCodeError) Error() string { return fmt.Sprintf("command exited with status %d", e.code) }

// runCommand runs the configured command with DATABASE_URL in its
// environment and the standard streams passed through.
func (m *Main) runCommand(ctx context.Context) error {
	args := m.Config.Command
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+m.databaseURL)
	cmd.Stdin = os.Stdin
	cmd.Stdout = m.Stdout
	cmd.Stderr = m.Stderr
	// A terminal's Ctrl-C reaches the command directly; a SIGTERM sent to
	// dev alone is passed on, so the command gets to clean up too.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = commandStopDelay

	m.Logger.Info("running command", slog.Any("command", args))
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		code := exit.ExitCode()
		if code < 0 {
			// Killed by a signal: report it the way a shell does.
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			} else {
				code = 1
			}
		}
		return exitCodeError{code: code}
	default:
		return fmt.Errorf("run %s: %w", args[0], err)
	}
}
