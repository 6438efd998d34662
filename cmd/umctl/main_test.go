package main

import (
	"bytes"
	"context"
	"flag"
	"reflect"
	"strings"
	"testing"
)

func TestFlagsGoAnywhere(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
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
