package main

import (
	"crypto/ed25519"
	"path/filepath"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
)

// writeDeployerKeypair writes the localnet target's upgrade authority, a well-known development
// key (seed: 32 bytes of 0xc9, as the node prints), as a Solana CLI keypair file next to the dev
// cluster (in the run's temporary directory for a throwaway one), so `umctl register` can hand the
// target to a governance. It is a dev-only key.
func (m *Main) writeDeployerKeypair() (string, error) {
	dir := filepath.Dir(m.Config.PGDir)
	if m.Config.Ephemeral || m.Config.PGDir == "" {
		tmp, err := m.runDir()
		if err != nil {
			return "", err
		}
		dir = tmp
	}
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = 0xc9
	}
	path := filepath.Join(dir, "upgrade-manager-dev-deployer.json")
	return path, keypair.Write(path, solana.PrivateKey(ed25519.NewKeyFromSeed(seed)))
}
