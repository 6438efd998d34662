package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// perpStandIn is the binary the stand-in programdata of perp_market holds; a migration requires
// the hash of the binary its target runs.
var perpStandIn = []byte("perp_market v2: opens positions in the v2 layout only")

// manage gives the governance a ManagedProgram record for perp_market, and a programdata
// account standing for its deployed binary, through dev_setAccount: perp_market runs natively
// on the localnet, not as a loader-v3 program register could take (the crank's migration tests
// do the same).
func (w *world) manage(program solana.PublicKey) {
	w.t.Helper()
	find := func(seed string) (solana.PublicKey, uint8) {
		k, bump, err := solana.FindProgramAddress([][]byte{[]byte(seed), program[:]}, um.ProgramID)
		if err != nil {
			w.t.Fatal(err)
		}
		return k, bump
	}
	record, bump := find(um.ManagedProgramSeed)
	ua, uaBump := find(um.UpgradeAuthoritySeed)
	_, maBump := find(um.MigrationAuthoritySeed)
	programdata := txbuild.Programdata(program)
	pd := binary.LittleEndian.AppendUint32(nil, 3) // ProgramData
	pd = binary.LittleEndian.AppendUint64(pd, 0)   // deploy slot
	pd = append(append(pd, 1), ua[:]...)           // upgrade authority
	pd = append(pd, perpStandIn...)
	slot := w.setAccount(programdata, solana.BPFLoaderUpgradeableProgramID, pd)
	mp := um.ManagedProgram{
		LayoutVersion: um.AccountLayoutVersion, Bump: bump, UpgradeAuthorityBump: uaBump, MigrationAuthorityBump: maBump,
		Governance: solana.MustPublicKeyFromBase58(w.gov), Program: program, Programdata: programdata, UpgradeAuthority: ua,
		CurrentHash: sha256.Sum256(perpStandIn),
	}
	disc := mp.Discriminator()
	data := mp.AppendBorsh(disc[:])
	data = append(data, make([]byte, 8+632-len(data))...)
	slot = max(slot, w.setAccount(record, um.ProgramID, data))
	// The accounts are written into the working bank: let a slot confirm them.
	w.waitConfirmedPast(slot)
}

// setAccount writes an account through localnet's dev_setAccount and
// returns the slot it was written in.
func (w *world) setAccount(key, owner solana.PublicKey, data []byte) uint64 {
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
	var res struct {
		Result struct{ Slot uint64 }
		Error  *json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.Error != nil {
		w.t.Fatalf("dev_setAccount: %v %s", err, errorText(res.Error))
	}
	return res.Result.Slot
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
