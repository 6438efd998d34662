package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	cliflags "github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
)

func TestFlagsGoAnywhere(t *testing.T) {
	fs := cliflags.NewFlagSet("t", &bytes.Buffer{})
	json := fs.Bool("json", false, "")
	url := fs.String("url", "", "")
	pos, err := parseInterspersed(fs, []string{"PROP", "--url", "devnet", "X", "--json"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pos, []string{"PROP", "X"}) || !*json || *url != "devnet" {
		t.Fatalf("positional %v json %v url %q", pos, *json, *url)
	}
}

// The environment fills a flag only when neither its name nor its shorthand is on the command
// line, and an empty variable counts as unset.
func TestEnvironmentAndShorthands(t *testing.T) {
	for _, tt := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, "localhost"},
		{"devnet", nil, "devnet"},
		{"devnet", []string{"-u", "testnet"}, "testnet"},
		{"devnet", []string{"--url", "testnet"}, "testnet"},
	} {
		t.Setenv("UMCTL_URL", tt.env)
		c := &cli{}
		fs := cliflags.NewFlagSet("t", &bytes.Buffer{})
		c.globalFlags(fs)
		if _, err := parseInterspersed(fs, tt.args); err != nil {
			t.Fatal(err)
		}
		if c.url != tt.want {
			t.Errorf("UMCTL_URL=%q %v: url %q, want %q", tt.env, tt.args, c.url, tt.want)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"approve", "-h"}, {"approve", "--help"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != exitOK || !strings.Contains(errb.String(), "-keypair") {
			t.Errorf("%v: exit %d, usage %q; want 0 and the flags", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"approve", "--nope"}, &out, &errb); code != exitUsage {
		t.Errorf("an unknown flag: exit %d, want %d", code, exitUsage)
	}
}

func TestClusterMonikers(t *testing.T) {
	for in, want := range map[string]string{
		"localhost":    "http://127.0.0.1:8899",
		"devnet":       "https://api.devnet.solana.com",
		"mainnet-beta": "https://api.mainnet-beta.solana.com",
		"testnet":      "https://api.testnet.solana.com",
		"http://x:1":   "http://x:1",
	} {
		if got := clusterURL(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown command: exit %d, %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"approve", "--commitment", "soon"}, &out, &errb); code != exitFailed || !strings.Contains(errb.String(), "--commitment") {
		t.Fatalf("bad commitment: exit %d, %q", code, errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"help"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "write-buffer") {
		t.Fatalf("help: exit %d, %q", code, out.String())
	}
}

func TestKeygenAndAddress(t *testing.T) {
	path := t.TempDir() + "/id.json"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"keygen", "-o", path, "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("keygen: exit %d %s", code, errb.String())
	}
	created := out.String()
	out.Reset()
	if code := run(context.Background(), []string{"address", "--keypair", path}, &out, &errb); code != exitOK || !strings.Contains(created, strings.TrimSpace(out.String())) {
		t.Fatalf("address %q is not the created key %s", out.String(), created)
	}
	if code := run(context.Background(), []string{"keygen", "-o", path}, &out, &errb); code == exitOK || !strings.Contains(errb.String(), "not overwriting") {
		t.Fatalf("keygen over an existing file: exit %d %s", code, errb.String())
	}
}
