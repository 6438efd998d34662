package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/migrations"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		if code := cli.ExitCode(err); code != 0 {
			fmt.Fprintf(os.Stderr, "migrate: %v\n", err)
			os.Exit(code)
		}
		os.Exit(0)
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "migrate: %v\n", err)
		os.Exit(1)
	}
}

// Config is the configuration of one migrate run.
type Config struct {
	// DatabaseURL is the database to migrate (-database-url, $DATABASE_URL).
	DatabaseURL string
	// Command is up, down or status.
	Command string
}

// Main is the migrate program. main calls ParseFlags then Run; tests set
// Config and Stdout and call Run.
type Main struct {
	Config Config
	Stdout io.Writer
	Stderr io.Writer
}

// NewMain returns a Main writing to the process's stdout and stderr.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr}
}

const usage = "usage: migrate up|down|status [-database-url URL]"

// ParseFlags fills m.Config from args and the environment and validates it.
// Flags may come before or after the command.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	fs := cli.NewFlagSet("migrate", m.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&m.Config.DatabaseURL, "database-url", "", "database `URL` ($DATABASE_URL)")
	fs.Env("DATABASE_URL", "database-url")
	// The flags before the command, then those after it; the environment fills in after both.
	if err := fs.FlagSet.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("command missing")
	}
	m.Config.Command = fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; %s", fs.Arg(0), usage)
	}
	return m.Config.Validate()
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	switch c.Command {
	case "up", "down", "status":
	default:
		return fmt.Errorf("unknown command %q; %s", c.Command, usage)
	}
	if c.DatabaseURL == "" {
		return errors.New("database URL missing: set -database-url or DATABASE_URL")
	}
	return nil
}

// Run executes the configured command.
func (m *Main) Run(ctx context.Context) error {
	return migrations.RunCommand(ctx, m.Stdout, m.Config.DatabaseURL, m.Config.Command)
}
