package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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

// loadKeypair reads a Solana CLI keypair file (a JSON array of 64 bytes). It refuses hardware
// wallets (not supported), files other users can read or write, and never puts key material in
// its errors. what names the key's role in messages.
func loadKeypair(what, path string) (solana.PrivateKey, error) {
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
		return nil, fmt.Errorf("%s keypair %s is readable or writable by other users (mode %04o): run `chmod 600 %s`", what, path, perm, path)
	}
	key, err := solana.PrivateKeyFromSolanaKeygenFile(path)
	if err != nil || len(key) != 64 {
		// The library's error may quote the file's contents: say only what is wrong.
		return nil, fmt.Errorf("%s keypair %s is not a Solana CLI keypair (a JSON array of 64 numbers)", what, path)
	}
	return key, nil
}

// signer is a key that signs a transaction: a loaded keypair, or only a public key when the
// transaction is printed with --sign-only for someone else (a wallet, a multisig) to sign.
type signer struct {
	pub  solana.PublicKey
	priv solana.PrivateKey // nil when only the public key is known
}

// resolveSigner reads spec as a keypair file, or, when pubkeyOK (--sign-only), as a public key.
func resolveSigner(what, spec string, pubkeyOK bool) (signer, error) {
	if pubkeyOK {
		if k, err := solana.PublicKeyFromBase58(spec); err == nil {
			return signer{pub: k}, nil
		}
	}
	k, err := loadKeypair(what, spec)
	if err != nil {
		return signer{}, err
	}
	return signer{pub: k.PublicKey(), priv: k}, nil
}
