package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest/standin"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// perpStandIn is the binary the stand-in programdata of perp_market holds.
var perpStandIn = standin.PerpBinary

// manage makes program look registered with the world's governance
// (standin.Managed): perp_market runs natively on the localnet, not as a loader-v3
// program register could take.
func (w *world) manage(program solana.PublicKey) {
	w.t.Helper()
	accs, err := standin.Managed(um.ProgramID, solana.MustPublicKeyFromBase58(w.gov), program, perpStandIn)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, a := range accs {
		w.setAccount(a.Key, a.Owner, a.Data)
	}
	// The accounts are written into the working bank: wait until the confirmed one holds them.
	last := accs[len(accs)-1]
	testkit.Eventually(w.t, 0, "the stand-in accounts to be confirmed", func() bool {
		a, err := w.rpc.GetAccountInfoWithOpts(w.ctx(), last.Key, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
		return err == nil && a != nil && a.Value != nil && bytes.Equal(a.Value.Data.GetBinary(), last.Data)
	})
}

// setAccount writes an account through localnet's dev_setAccount.
func (w *world) setAccount(key, owner solana.PublicKey, data []byte) {
	w.t.Helper()
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(w.ctx(), uint64(len(data)), rpc.CommitmentConfirmed)
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "dev_setAccount",
		"params": []any{key.String(), map[string]any{
			"lamports": rent, "owner": owner.String(), "executable": false,
			"data": []string{base64.StdEncoding.EncodeToString(data), "base64"},
		}},
	})
	resp, err := http.Post(w.node.RPCURL, "application/json", strings.NewReader(string(body)))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct{ Error *json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.Error != nil {
		w.t.Fatalf("dev_setAccount: %v %v", err, res.Error)
	}
}

// A migration from proposal to a started job, with `migration status` reading its progress.
func TestMigrationWithTheCLI(t *testing.T) {
	w := newWorld(t)
	w.manage(localnettest.PerpProgramID)
	perp := localnettest.PerpProgramID.String()
	m0, m1 := w.members[0], w.members[1]

	w.refused("PROGRAM_NOT_MANAGED", "propose", "migration", "--program", w.node.Deployer.PublicKey().String(), "--from-version", "1", "--to-version", "2", "--total-accounts", "3", "--keypair", m0)
	out := w.ok("propose", "migration", "--program", perp, "--from-version", "1", "--to-version", "2",
		"--version-offset", "8", "--data-size", "59", "--discriminator", "aabc8fe47a40f7d0", "--migrate-ix-data", "0102", "--total-accounts", "3", "--keypair", m0)
	proposal := out["proposal"].(string)
	if want := sha256.Sum256(perpStandIn); out["requiredHash"] != hex.EncodeToString(want[:]) {
		t.Fatalf("the migration requires %v, want the deployed binary's hash %x", out["requiredHash"], want)
	}
	if out["job"] == "" {
		t.Fatalf("propose migration names no job: %v", out)
	}
	w.failed("migration job", "migration", "status", proposal)
	w.ok("approve", proposal, "--keypair", m0)
	w.ok("approve", proposal, "--keypair", m1)
	w.advanceClock(um.DefaultTimelockSeconds)
	exec := w.ok("execute", proposal, "--keypair", w.payer)
	if exec["kind"] != "migration" || exec["job"] != out["job"] {
		t.Fatalf("execute = %v", exec)
	}
	st := w.ok("migration", "status", proposal)
	if st["status"] != "active" || st["total"].(float64) != 3 || st["migrated"].(float64) != 0 || st["job"] != out["job"] {
		t.Fatalf("migration status = %v", st)
	}
	show := w.ok("show", proposal, "--chain")
	if spec := show["migration"].(map[string]any); spec["total_accounts"] == nil && spec["totalAccounts"] == nil {
		t.Fatalf("show's migration spec = %v", spec)
	}
}
