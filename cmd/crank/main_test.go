package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
)

func writeKeypair(t *testing.T, mode os.FileMode) (string, solana.PrivateKey) {
	t.Helper()
	key, err := solana.NewRandomPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id.json")
	if err := keypair.Write(path, key); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path, key
}

// noEnv is an empty environment, so a developer's DATABASE_URL does not change a test.
func noEnv(string) (string, bool) { return "", false }

func TestParseFlagsRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "command missing"},
		{[]string{"sweep"}, "command missing"},
		{[]string{"execute"}, "database-url"},
		{[]string{"execute", "-database-url", "postgres://x", "-commitment", "soon"}, "commitment"},
		{[]string{"migrate", "-database-url", "postgres://x", "-program-id", "nope"}, "program-id"},
		{[]string{"migrate", "-database-url", "postgres://x", "-cu-limit", "9999999"}, "cu-limit"},
		{[]string{"migrate", "-database-url", "postgres://x", "extra"}, "unexpected argument"},
		{[]string{"migrate", "-database-url", "postgres://x", "-log-level", "loud"}, "log-level"},
	} {
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Lookup: noEnv}
		err := m.ParseFlags(context.Background(), tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFlags(%v) = %v, want an error naming %q", tt.args, err, tt.want)
		}
	}
}

func TestRunFailsClearlyOnUnreachableRPC(t *testing.T) {
	path, _ := writeKeypair(t, 0o600)
	m := NewMain()
	var stderr bytes.Buffer
	m.Stderr = &stderr
	// An RPC URL with an API key in the query, the path and the user information.
	const apiKey = "k3yInTheQuery0000"
	const pathToken = "t0kenInThePath0000000000"
	rpcURL := "http://user:pa55word@127.0.0.1:1/" + pathToken + "/?api-key=" + apiKey
	if err := m.ParseFlags(context.Background(), []string{"execute", "-database-url", "postgres://127.0.0.1:1/x", "-rpc-url", rpcURL, "-keypair", path}); err != nil {
		t.Fatal(err)
	}
	err := m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Run = %v, want an unreachable-RPC error", err)
	}
	for _, secret := range []string{apiKey, pathToken, "pa55word"} {
		if strings.Contains(err.Error(), secret) || strings.Contains(stderr.String(), secret) {
			t.Errorf("the RPC URL's secret %q is printed:\nerror: %v\nlogs: %s", secret, err, stderr.String())
		}
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Run = %v, want the RPC's host named", err)
	}
}

func TestRunRefusesAnOpenKeypair(t *testing.T) {
	path, _ := writeKeypair(t, 0o640)
	m := NewMain()
	m.Stderr = &bytes.Buffer{}
	if err := m.ParseFlags(context.Background(), []string{"migrate", "-database-url", "postgres://x", "-keypair", path}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, keypair.ErrPermissions) {
		t.Fatalf("Run = %v, want keypair.ErrPermissions", err)
	}
	m.Close()
}

func TestRunRefusesAnUnfundedPayer(t *testing.T) {
	node := localnettest.Start(t, localnettest.Options{})
	path, key := writeKeypair(t, 0o600)
	m := NewMain()
	m.Stderr = &bytes.Buffer{}
	if err := m.ParseFlags(context.Background(), []string{"execute", "-rpc-url", node.RPCURL, "-database-url", "postgres://127.0.0.1:1/x", "-keypair", path}); err != nil {
		t.Fatal(err)
	}
	err := m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "unfunded") || !strings.Contains(err.Error(), key.PublicKey().String()) {
		t.Fatalf("Run = %v, want an unfunded-payer error naming the payer", err)
	}
}

// The crank's flags and environment behave as every binary's do (cmd/internal/cli): the command
// line wins, an empty variable counts as unset, a bad value names the flag and the variable, and
// -h is not an error.
func TestParseFlagsEnvironment(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, tt := range []struct {
		name    string
		args    []string
		vars    map[string]string
		wantErr string
		check   func(c Config) bool
	}{
		{"the environment fills what the command line leaves", []string{"execute"},
			map[string]string{"DATABASE_URL": "postgres://env", "CRANK_POLL_INTERVAL": "7s", "CRANK_LOG_LEVEL": "debug"}, "",
			func(c Config) bool {
				return c.DatabaseURL == "postgres://env" && c.PollInterval.String() == "7s" && c.LogLevel.Level().String() == "DEBUG"
			}},
		{"the command line wins", []string{"execute", "-poll-interval", "3s"},
			map[string]string{"DATABASE_URL": "postgres://env", "CRANK_POLL_INTERVAL": "7s"}, "",
			func(c Config) bool { return c.PollInterval.String() == "3s" }},
		{"an empty variable counts as unset", []string{"execute", "-database-url", "postgres://x"},
			map[string]string{"CRANK_POLL_INTERVAL": "", "SOLANA_RPC_URL": ""}, "",
			func(c Config) bool { return c.PollInterval.String() == "5s" && c.RPCURL == "http://127.0.0.1:8899" }},
		{"a bad duration is refused, not defaulted", []string{"execute", "-database-url", "postgres://x"},
			map[string]string{"CRANK_POLL_INTERVAL": "soon"}, "poll-interval: environment variable CRANK_POLL_INTERVAL", nil},
		{"a bad number is refused, not defaulted", []string{"migrate", "-database-url", "postgres://x"},
			map[string]string{"CRANK_CU_PRICE": "-1"}, "cu-price: environment variable CRANK_CU_PRICE", nil},
		{"a bad commitment is refused", []string{"migrate", "-database-url", "postgres://x"},
			map[string]string{"CRANK_COMMITMENT": "soon"}, "commitment: environment variable CRANK_COMMITMENT", nil},
		{"a bad level is refused", []string{"migrate", "-database-url", "postgres://x"},
			map[string]string{"CRANK_LOG_LEVEL": "loud"}, "log-level: environment variable CRANK_LOG_LEVEL", nil},
	} {
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Lookup: env(tt.vars)}
		err := m.ParseFlags(context.Background(), tt.args)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: ParseFlags = %v, want an error holding %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: ParseFlags = %v", tt.name, err)
		case tt.check != nil && err == nil && !tt.check(m.Config):
			t.Errorf("%s: config %+v", tt.name, m.Config)
		}
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"execute", "-h"}, {"migrate", "-help"}} {
		var stderr bytes.Buffer
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: &stderr, Lookup: noEnv}
		err := m.ParseFlags(context.Background(), args)
		if cli.ExitCode(err) != 0 || !strings.Contains(stderr.String(), "usage") && !strings.Contains(stderr.String(), "-rpc-url") {
			t.Errorf("%v: ParseFlags = %v (exit %d), usage %q; want the usage and exit 0", args, err, cli.ExitCode(err), stderr.String())
		}
	}
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Lookup: noEnv}
	if err := m.ParseFlags(context.Background(), []string{"execute", "-nope"}); cli.ExitCode(err) != 2 {
		t.Errorf("an unknown flag: ParseFlags = %v, want exit 2", err)
	}
}

// The crank's /metrics serves the Go runtime's and the process's series next to its own.
func TestMetricsHoldTheGoAndProcessCollectors(t *testing.T) {
	t.Parallel()
	mfs, err := NewMain().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var goro, proc bool
	for _, mf := range mfs {
		goro = goro || mf.GetName() == "go_goroutines"
		proc = proc || strings.HasPrefix(mf.GetName(), "process_")
	}
	if !goro || !proc {
		t.Fatalf("crank registry: go collector %v, process collector %v; want both", goro, proc)
	}
}
