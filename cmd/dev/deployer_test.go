package main

import (
	"os"
	"testing"

	"github.com/gagliardetto/solana-go"
)

// The keypair written is the localnet target's upgrade authority the node announces.
func TestDeployerKeypairIsTheTargetsAuthority(t *testing.T) {
	m := &Main{}
	m.Config.PGDir = t.TempDir() + "/pg"
	path, err := m.writeDeployerKeypair()
	if err != nil {
		t.Fatal(err)
	}
	key, err := solana.PrivateKeyFromSolanaKeygenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := key.PublicKey().String(); got != "DXyM8yAHqpMzDtvwz5DXoEUQmPxjJPMKCASCPhLMKpEx" {
		t.Fatalf("deployer = %s", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}
