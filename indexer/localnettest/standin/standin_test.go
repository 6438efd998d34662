package standin_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest/standin"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

func TestManaged(t *testing.T) {
	gov := solana.NewWallet().PublicKey()
	program := standin.PerpMarket
	accs, err := standin.Managed(um.ProgramID, gov, program, standin.PerpBinary)
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != 2 {
		t.Fatalf("%d accounts, want the programdata and the record", len(accs))
	}
	pd, rec := accs[0], accs[1]
	wantPD, _, _ := solana.FindProgramAddress([][]byte{program[:]}, solana.BPFLoaderUpgradeableProgramID)
	ua, _, _ := solana.FindProgramAddress([][]byte{[]byte(um.UpgradeAuthoritySeed), program[:]}, um.ProgramID)
	if !pd.Key.Equals(wantPD) || !pd.Owner.Equals(solana.BPFLoaderUpgradeableProgramID) {
		t.Fatalf("programdata %s owned by %s", pd.Key, pd.Owner)
	}
	if pd.Data[0] != 3 || pd.Data[12] != 1 || !bytes.Equal(pd.Data[13:45], ua[:]) || !bytes.Equal(pd.Data[45:], standin.PerpBinary) {
		t.Fatalf("programdata %x: want ProgramData, authority %s, then the binary", pd.Data, ua)
	}
	var mp um.ManagedProgram
	if err := mp.UnmarshalAccount(rec.Data); err != nil {
		t.Fatalf("the record does not decode: %v", err)
	}
	record, _, _ := solana.FindProgramAddress([][]byte{[]byte(um.ManagedProgramSeed), program[:]}, um.ProgramID)
	if !rec.Key.Equals(record) || !rec.Owner.Equals(um.ProgramID) || len(rec.Data) != 8+632 {
		t.Fatalf("record %s owned by %s, %d bytes", rec.Key, rec.Owner, len(rec.Data))
	}
	if !mp.Governance.Equals(gov) || !mp.Program.Equals(program) || !mp.Programdata.Equals(wantPD) || !mp.UpgradeAuthority.Equals(ua) ||
		mp.CurrentHash != sha256.Sum256(standin.PerpBinary) {
		t.Fatalf("record %+v", mp)
	}
}
