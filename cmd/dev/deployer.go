package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// writeDeployerKeypair writes the localnet target's upgrade authority, a well-known development
// key (seed: 32 bytes of 0xc9, as the node prints), as a Solana CLI keypair file next to the dev
// cluster, so `umctl register` can hand the target to a governance. It is a dev-only key.
func (m *Main) writeDeployerKeypair() (string, error) {
	dir := filepath.Dir(m.Config.PGDir)
	if m.Config.Ephemeral || m.Config.PGDir == "" {
		dir = os.TempDir()
	}
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = 0xc9
	}
	priv := ed25519.NewKeyFromSeed(seed)
	nums := make([]int, len(priv))
	for i, b := range priv {
		nums[i] = int(b)
	}
	data, _ := json.Marshal(nums)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, "upgrade-manager-dev-deployer.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write the dev deployer keypair: %w", err)
	}
	return path, nil
}
