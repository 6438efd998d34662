// Package keypair reads Solana CLI keypair files for the binaries that sign: the cranks' fee
// payer and umctl's signers.
package keypair

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gagliardetto/solana-go"
)

// DefaultPath is where the Solana CLI keeps its default keypair.
func DefaultPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".config", "solana", "id.json")
	}
	return filepath.Join(home, ".config", "solana", "id.json")
}

// ErrPermissions is returned for a keypair file other users can read or write.
var ErrPermissions = errors.New("keypair file is accessible by other users")

// Load reads a Solana CLI keypair file (a JSON array of 64 bytes); path may start with file:
// or ~/ as the Solana CLI accepts. It refuses hardware wallets (not supported), files that
// other users can read or write, and never puts key material in its errors. what names the
// key's role in messages ("fee-payer", "signer").
func Load(what, path string) (solana.PrivateKey, error) {
	if strings.HasPrefix(path, "usb://") {
		return nil, fmt.Errorf("%s %s: hardware wallets are not supported; use --sign-only and sign the printed message with your wallet, or pass a keypair file", what, path)
	}
	path = strings.TrimPrefix(path, "file:")
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s keypair %s does not exist: create one with `solana-keygen new -o %s` or pass --keypair", what, path, path)
		}
		return nil, fmt.Errorf("%s keypair: %w", what, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s keypair %s is a directory", what, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s keypair %s has mode %04o; run `chmod 600 %s`", ErrPermissions, what, path, perm, path)
	}
	key, err := solana.PrivateKeyFromSolanaKeygenFile(path)
	if err != nil || len(key) != 64 {
		// The library's error may quote the file's contents: say only what is wrong.
		return nil, fmt.Errorf("%s keypair %s is not a Solana CLI keypair (a JSON array of 64 numbers)", what, path)
	}
	return key, nil
}

// Write writes key as a Solana CLI keypair file (a JSON array of 64 bytes) with mode 0600,
// creating its directory.
func Write(path string, key solana.PrivateKey) error {
	nums := make([]int, len(key))
	for i, b := range key {
		nums[i] = int(b)
	}
	data, _ := json.Marshal(nums)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}
