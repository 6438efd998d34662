package main

import (
	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
)

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
	k, err := keypair.Load(what, spec)
	if err != nil {
		return signer{}, err
	}
	return signer{pub: k.PublicKey(), priv: k}, nil
}
