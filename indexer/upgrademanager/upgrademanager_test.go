package upgrademanager_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// vectors is the part of program/vectors/scenario.json these tests read.
type vectors struct {
	ProgramID      string `json:"programId"`
	EventAuthority string `json:"eventAuthority"`
	Transactions   []struct {
		ExpectedEvents []struct {
			Name string          `json:"name"`
			Raw  string          `json:"raw"`
			Data json.RawMessage `json:"data"`
		} `json:"expectedEvents"`
	} `json:"transactions"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	data, err := os.ReadFile("../../program/vectors/scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// normalize decodes JSON with numbers kept exact, for comparison.
func normalize(t *testing.T, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// TestVectorEvents decodes every event the scenario emitted and checks the
// name, the JSON rendering against the IDL-driven Rust decoder's, and that
// encoding gives back the program's bytes.
func TestVectorEvents(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	if v.ProgramID != upgrademanager.ProgramAddress || v.ProgramID != upgrademanager.ProgramID.String() {
		t.Fatalf("vectors' program %s, generated %s", v.ProgramID, upgrademanager.ProgramID)
	}
	if ea := upgrademanager.New(upgrademanager.ProgramID).EventAuthority(); v.EventAuthority != ea.String() {
		t.Fatalf("vectors' event authority %s, generated %s", v.EventAuthority, ea)
	}
	seen := map[string]bool{}
	for _, tx := range v.Transactions {
		for _, want := range tx.ExpectedEvents {
			raw, err := hex.DecodeString(want.Raw)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := upgrademanager.DecodeEvent(raw)
			if err != nil {
				t.Fatalf("%s: %v", want.Name, err)
			}
			if ev.EventName() != want.Name {
				t.Fatalf("decoded %s, want %s", ev.EventName(), want.Name)
			}
			if got := normalize(t, ev.AppendJSON(nil)); !reflect.DeepEqual(got, normalize(t, want.Data)) {
				t.Errorf("%s JSON:\n got %s\nwant %s", want.Name, ev.AppendJSON(nil), want.Data)
			}
			disc := ev.Discriminator()
			if enc := ev.AppendBorsh(disc[:]); !bytes.Equal(enc, raw) {
				t.Errorf("%s re-encodes to\n%x\nwant\n%x", want.Name, enc, raw)
			}
			seen[want.Name] = true
		}
	}
	t.Logf("%d of %d event types occur in the vectors", len(seen), len(upgrademanager.EventNames()))
}

func TestAccountRoundTrip(t *testing.T) {
	t.Parallel()
	hash := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	job := &upgrademanager.MigrationJob{
		LayoutVersion: 1, Bump: 254, Governance: solana.SystemProgramID, Program: upgrademanager.ProgramID,
		Spec:   upgrademanager.MigrationSpec{FromVersion: 1, ToVersion: 2, Discriminator: &hash, MigrateIxData: []byte{9, 9}, TotalAccounts: 40},
		Status: upgrademanager.MigrationStatusCompleted, MigratedCount: 40, BatchCount: 10,
	}
	disc := job.Discriminator()
	data := append(job.AppendBorsh(disc[:]), make([]byte, 100)...)
	acct, err := upgrademanager.DecodeAccount(data)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := acct.(*upgrademanager.MigrationJob)
	if !ok || got.Spec.TotalAccounts != 40 || *got.Spec.Discriminator != hash || got.Status != upgrademanager.MigrationStatusCompleted {
		t.Fatalf("DecodeAccount = %#v", acct)
	}
}

func TestInstructionBuilder(t *testing.T) {
	t.Parallel()
	member, gov, proposal := solana.NewWallet().PublicKey(), solana.NewWallet().PublicKey(), solana.NewWallet().PublicKey()
	um := upgrademanager.New(upgrademanager.ProgramID)
	ix := um.NewApproveInstruction(upgrademanager.ApproveAccounts{Member: member, Governance: gov, Proposal: proposal})
	data, _ := ix.Data()
	if name, ok := upgrademanager.InstructionName(data); !ok || name != "approve" || len(data) != 8 {
		t.Fatalf("data %x names %q", data, name)
	}
	want := []solana.AccountMeta{
		{PublicKey: member, IsSigner: true}, {PublicKey: gov}, {PublicKey: proposal, IsWritable: true},
		{PublicKey: um.EventAuthority()}, {PublicKey: upgrademanager.ProgramID},
	}
	for i, m := range ix.Accounts() {
		if *m != want[i] {
			t.Errorf("account %d = %+v, want %+v", i, *m, want[i])
		}
	}
	change := upgrademanager.ConfigChange{Kind: upgrademanager.ConfigChangeKindSetThreshold, SetThreshold: upgrademanager.ConfigChangeSetThreshold{Threshold: 2}}
	ix = um.NewProposeConfigChangeInstruction(change, "ipfs://x", upgrademanager.ProposeConfigChangeAccounts{Proposer: member, Governance: gov, Proposal: proposal})
	data, _ = ix.Data()
	if got := hex.EncodeToString(data[8:]); got != "0202"+"08000000"+hex.EncodeToString([]byte("ipfs://x")) {
		t.Errorf("propose_config_change args = %s", got)
	}
}

func TestPDAs(t *testing.T) {
	t.Parallel()
	um := upgrademanager.New(upgrademanager.ProgramID)
	ea, _, err := um.FindEventAuthorityAddress()
	if err != nil || ea != um.EventAuthority() {
		t.Fatalf("FindEventAuthorityAddress = %s, %v", ea, err)
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	if got := upgrademanager.ErrorCode(6020); got != upgrademanager.ErrTimelockNotElapsed || got.Name() != "TimelockNotElapsed" || got.Message() != "Timelock has not elapsed" {
		t.Errorf("6020 = %v", got)
	}
}
