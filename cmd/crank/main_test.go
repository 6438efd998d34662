package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
)

func writeKeypair(t *testing.T, mode os.FileMode) (string, solana.PrivateKey) {
	t.Helper()
	key, err := solana.NewRandomPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	nums := make([]int, len(key))
	for i, b := range key {
		nums[i] = int(b)
	}
	data, _ := json.Marshal(nums)
	path := filepath.Join(t.TempDir(), "id.json")
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path, key
}

func TestLoadKeypair(t *testing.T) {
	path, key := writeKeypair(t, 0o600)
	got, err := loadKeypair(path)
	if err != nil {
		t.Fatalf("loadKeypair: %v", err)
	}
	if !got.PublicKey().Equals(key.PublicKey()) {
		t.Fatalf("loaded %s, want %s", got.PublicKey(), key.PublicKey())
	}
}

func TestLoadKeypairRefuses(t *testing.T) {
	open, _ := writeKeypair(t, 0o644)
	if _, err := loadKeypair(open); !errors.Is(err, ErrKeypairPermissions) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable keypair: got %v", err)
	}
	garbage := filepath.Join(t.TempDir(), "bad.json")
	secret := "[1,2,3,\"s3cr3t\"]"
	if err := os.WriteFile(garbage, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadKeypair(garbage)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("malformed keypair: got %v (must fail without echoing the file)", err)
	}
	if _, err := loadKeypair(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing keypair: got %v", err)
	}
}

func TestCustomCode(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"InstructionError":[0,{"Custom":6019}]}`), &v); err != nil {
		t.Fatal(err)
	}
	if code, ok := customCode(v); !ok || code != 6019 {
		t.Fatalf("customCode = %d, %v", code, ok)
	}
	if err := json.Unmarshal([]byte(`{"InstructionError":[0,"InvalidAccountData"]}`), &v); err != nil {
		t.Fatal(err)
	}
	if _, ok := customCode(v); ok {
		t.Fatal("a non-custom error has no code")
	}
	err := classify(map[string]any{"InstructionError": []any{0.0, map[string]any{"Custom": 6019.0}}}, nil, func(c uint32) bool { return c == 6019 })
	if !errors.Is(err, errRaceLost) {
		t.Fatalf("classify: %v", err)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
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
	} {
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
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
	if err := m.ParseFlags(context.Background(), []string{"execute", "-database-url", "postgres://127.0.0.1:1/x", "-rpc-url", "http://127.0.0.1:1", "-keypair", path}); err != nil {
		t.Fatal(err)
	}
	err := m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Run = %v, want an unreachable-RPC error", err)
	}
}

func TestRunRefusesAnOpenKeypair(t *testing.T) {
	path, _ := writeKeypair(t, 0o640)
	m := NewMain()
	m.Stderr = &bytes.Buffer{}
	if err := m.ParseFlags(context.Background(), []string{"migrate", "-database-url", "postgres://x", "-keypair", path}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, ErrKeypairPermissions) {
		t.Fatalf("Run = %v, want ErrKeypairPermissions", err)
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

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	m := &migrator{progress: &out}
	m.draw(50, 200)
	m.draw(200, 200)
	got := out.String()
	for _, want := range []string{"\r[##########" + strings.Repeat(".", 30) + "] 50/200 (25%)", "] 200/200 (100%)\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("progress output %q lacks %q", got, want)
		}
	}
}
