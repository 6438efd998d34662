package cli_test

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
)

type config struct {
	url      string
	n        uint64
	every    time.Duration
	on       bool
	keypair  string
	level    *slog.LevelVar
	commitLv string
}

func newFlags(env map[string]string) (*cli.FlagSet, *config, *bytes.Buffer) {
	var out bytes.Buffer
	fs := cli.NewFlagSet("test", &out)
	fs.Lookup = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c := &config{commitLv: "confirmed"}
	fs.StringVar(&c.url, "rpc-url", "http://default", "RPC URL")
	fs.Env("SOLANA_RPC_URL", "rpc-url")
	fs.Uint64Var(&c.n, "n", 7, "a number")
	fs.Env("TEST_N", "n")
	fs.DurationVar(&c.every, "every", time.Second, "a duration")
	fs.Env("TEST_EVERY", "every")
	fs.BoolVar(&c.on, "on", false, "a switch")
	fs.Env("TEST_ON", "on")
	fs.StringVar(&c.keypair, "keypair", "id.json", "a keypair")
	fs.StringVar(&c.keypair, "k", "id.json", "shorthand for -keypair")
	fs.Env("TEST_KEYPAIR", "keypair", "k")
	fs.Var(cli.Choice(&c.commitLv, "processed", "confirmed", "finalized"), "commitment", "a commitment")
	fs.Env("TEST_COMMITMENT", "commitment")
	c.level = fs.LogLevel("TEST_LOG_LEVEL", slog.LevelInfo)
	return fs, c, &out
}

func TestFlagsAndEnvironment(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c *config) bool
	}{
		{"defaults", nil, nil, func(c *config) bool {
			return c.url == "http://default" && c.n == 7 && c.every == time.Second && !c.on && c.level.Level() == slog.LevelInfo
		}},
		{"the environment over the default", nil,
			map[string]string{"SOLANA_RPC_URL": "http://env", "TEST_N": "9", "TEST_EVERY": "3s", "TEST_ON": "true", "TEST_LOG_LEVEL": "debug", "TEST_COMMITMENT": "finalized"},
			func(c *config) bool {
				return c.url == "http://env" && c.n == 9 && c.every == 3*time.Second && c.on && c.level.Level() == slog.LevelDebug && c.commitLv == "finalized"
			}},
		{"the command line over the environment", []string{"-rpc-url", "http://flag", "-n", "1", "-on=false", "-log-level", "warn"},
			map[string]string{"SOLANA_RPC_URL": "http://env", "TEST_N": "9", "TEST_ON": "true", "TEST_LOG_LEVEL": "debug"},
			func(c *config) bool {
				return c.url == "http://flag" && c.n == 1 && !c.on && c.level.Level() == slog.LevelWarn
			}},
		{"an empty variable counts as unset", nil,
			map[string]string{"SOLANA_RPC_URL": "", "TEST_N": "", "TEST_ON": "", "TEST_LOG_LEVEL": ""},
			func(c *config) bool {
				return c.url == "http://default" && c.n == 7 && !c.on && c.level.Level() == slog.LevelInfo
			}},
		{"an alias on the command line keeps the variable out", []string{"-k", "mine.json"},
			map[string]string{"TEST_KEYPAIR": "env.json"},
			func(c *config) bool { return c.keypair == "mine.json" }},
		{"the variable fills an aliased flag", nil,
			map[string]string{"TEST_KEYPAIR": "env.json"},
			func(c *config) bool { return c.keypair == "env.json" }},
	} {
		fs, c, _ := newFlags(tt.env)
		if err := fs.Parse(tt.args); err != nil {
			t.Errorf("%s: Parse = %v", tt.name, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("%s: got %+v (level %v)", tt.name, *c, c.level.Level())
		}
	}
}

// A value the flag rejects is an error naming the flag and the variable, never the default.
func TestBadEnvironmentValuesAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  map[string]string
		flag string
	}{
		{map[string]string{"TEST_N": "many"}, "n"},
		{map[string]string{"TEST_N": "-1"}, "n"},
		{map[string]string{"TEST_EVERY": "5"}, "every"},
		{map[string]string{"TEST_ON": "yes please"}, "on"},
		{map[string]string{"TEST_LOG_LEVEL": "loud"}, "log-level"},
		{map[string]string{"TEST_COMMITMENT": "soon"}, "commitment"},
	} {
		fs, _, _ := newFlags(tt.env)
		err := fs.Parse(nil)
		var variable string
		for k := range tt.env {
			variable = k
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.flag+": ") || !strings.Contains(err.Error(), variable) {
			t.Errorf("%v: Parse = %v, want an error naming -%s and %s", tt.env, err, tt.flag, variable)
		}
		if cli.ExitCode(err) != 2 {
			t.Errorf("%v: ExitCode = %d, want 2", tt.env, cli.ExitCode(err))
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}} {
		fs, _, out := newFlags(map[string]string{"TEST_N": "many"})
		err := fs.Parse(args)
		if !errors.Is(err, flag.ErrHelp) || cli.ExitCode(err) != 0 {
			t.Errorf("%v: Parse = %v, ExitCode %d; want flag.ErrHelp and 0", args, err, cli.ExitCode(err))
		}
		if !strings.Contains(out.String(), "-rpc-url") {
			t.Errorf("%v: usage %q lacks the flags", args, out.String())
		}
	}
	fs, _, _ := newFlags(nil)
	if err := fs.Parse([]string{"-nope"}); err == nil || cli.ExitCode(err) != 2 {
		t.Errorf("an unknown flag: Parse = %v, ExitCode %d; want an error and 2", err, cli.ExitCode(err))
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
		secrets  []string
	}{
		{"http://127.0.0.1:8899", "http://127.0.0.1:8899", nil},
		{"https://mainnet.helius-rpc.com/?api-key=0f8d2a4c-aaaa-bbbb-cccc-1234567890ab", "https://mainnet.helius-rpc.com/?api-key=REDACTED", []string{"0f8d2a4c"}},
		{"https://solana-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrStUvWxYz012345", "https://solana-mainnet.g.alchemy.com/v2/REDACTED", []string{"AbCdEfGh"}},
		{"https://example.solana-mainnet.quiknode.pro/0123456789abcdef0123456789abcdef01234567/", "https://example.solana-mainnet.quiknode.pro/REDACTED/", []string{"0123456789abcdef"}},
		{"https://user:s3cretpass@rpc.example.com/rpc", "https://REDACTED@rpc.example.com/rpc", []string{"s3cretpass", "user"}},
		{"postgres://um:hunter22@db:5432/um?sslmode=disable", "postgres://REDACTED@db:5432/um?sslmode=REDACTED", []string{"hunter22"}},
		{"://not a url", "REDACTED", []string{"not a url"}},
	} {
		got := cli.RedactURL(tt.in)
		if got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, s := range tt.secrets {
			if strings.Contains(got, s) {
				t.Errorf("RedactURL(%q) = %q still holds %q", tt.in, got, s)
			}
		}
	}
}

// The logger hides an RPC URL's secrets in the message, in string attributes and in errors,
// also where the URL was rebuilt (an HTTP client's error quotes the request's URL).
func TestLoggerRedactsSecrets(t *testing.T) {
	t.Parallel()
	const key = "0f8d2a4c-aaaa-bbbb-cccc-1234567890ab"
	rpcURL := "https://mainnet.helius-rpc.com/?api-key=" + key
	var out bytes.Buffer
	log := cli.NewLogger(&out, slog.LevelDebug, cli.NewRedactor(rpcURL, ""))
	log.Info("connecting to "+rpcURL, "rpc", rpcURL)
	log.Error("scan failed", "error", errors.New(`Post "https://mainnet.helius-rpc.com/?api-key=`+key+`&x=1": dial tcp: refused`))
	log.Debug("nested", slog.Group("g", slog.String("url", rpcURL)))
	got := out.String()
	if strings.Contains(got, key) {
		t.Fatalf("the API key is logged:\n%s", got)
	}
	if strings.Count(got, "mainnet.helius-rpc.com") < 3 || !strings.Contains(got, "error=") {
		t.Fatalf("the redacted log lost what it should say:\n%s", got)
	}
	var none *cli.Redactor
	if none.Redact("x "+key) != "x "+key {
		t.Fatal("a nil Redactor changed its input")
	}
}

func TestNewRegistryHasTheGoAndProcessCollectors(t *testing.T) {
	t.Parallel()
	mfs, err := cli.NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var goro, proc bool
	for _, mf := range mfs {
		goro = goro || mf.GetName() == "go_goroutines"
		proc = proc || strings.HasPrefix(mf.GetName(), "process_")
	}
	if !goro || !proc {
		t.Fatalf("registry: go collector %v, process collector %v; want both", goro, proc)
	}
}
