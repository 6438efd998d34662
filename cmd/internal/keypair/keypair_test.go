package keypair_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
)

func write(t *testing.T, mode os.FileMode) (string, solana.PrivateKey) {
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

func TestLoad(t *testing.T) {
	t.Parallel()
	path, key := write(t, 0o600)
	for _, p := range []string{path, "file:" + path} {
		got, err := keypair.Load("fee-payer", p)
		if err != nil {
			t.Fatalf("Load(%s): %v", p, err)
		}
		if !got.PublicKey().Equals(key.PublicKey()) {
			t.Fatalf("loaded %s, want %s", got.PublicKey(), key.PublicKey())
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	open, _ := write(t, 0o644)
	garbage := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(garbage, []byte(`[1,2,3,"s3cr3t"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, want string
		is               error
	}{
		{"readable by others", open, "chmod 600", keypair.ErrPermissions},
		{"missing", filepath.Join(t.TempDir(), "missing.json"), "does not exist", nil},
		{"malformed", garbage, "not a Solana CLI keypair", nil},
		{"a directory", t.TempDir(), "is a directory", nil},
		{"a hardware wallet", "usb://ledger", "hardware wallets are not supported", nil},
	} {
		_, err := keypair.Load("fee-payer", tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "fee-payer") {
			t.Errorf("%s: Load = %v, want an error naming the role and saying %q", tt.name, err, tt.want)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: Load = %v, want %v", tt.name, err, tt.is)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error quotes the file: %v", tt.name, err)
		}
	}
}
