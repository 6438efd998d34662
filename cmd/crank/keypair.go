package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gagliardetto/solana-go"
)

// defaultKeypairPath is where the Solana CLI keeps its default keypair.
func defaultKeypairPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".config", "solana", "id.json")
	}
	return filepath.Join(home, ".config", "solana", "id.json")
}

// ErrKeypairPermissions is returned for a keypair file other users can read or write.
var ErrKeypairPermissions = errors.New("keypair file is accessible by other users")

// loadKeypair reads a Solana CLI keypair file (a JSON array of 64 bytes). It refuses files that
// other users can read or write, and never puts key material in its errors.
func loadKeypair(path string) (solana.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fee-payer keypair %s does not exist (create one with `solana-keygen new -o %s`)", path, path)
		}
		return nil, fmt.Errorf("fee-payer keypair: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("fee-payer keypair %s is a directory", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run `chmod 600 %s`", ErrKeypairPermissions, path, perm, path)
	}
	key, err := solana.PrivateKeyFromSolanaKeygenFile(path)
	if err != nil {
		// The library's error may quote the file's contents: say only what is wrong.
		return nil, fmt.Errorf("fee-payer keypair %s is not a Solana CLI keypair (a JSON array of 64 numbers)", path)
	}
	if len(key) != 64 {
		return nil, fmt.Errorf("fee-payer keypair %s holds %d bytes, want 64", path, len(key))
	}
	return key, nil
}
