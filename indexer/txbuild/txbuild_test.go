package txbuild

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

func key(b byte) solana.PublicKey {
	var k solana.PublicKey
	for i := range k {
		k[i] = b
	}
	return k
}

// The addresses match the IDL's seeds, for the IDL's deployment and another one.
func TestAddressesMatchTheIDL(t *testing.T) {
	for _, id := range []solana.PublicKey{um.ProgramID, key(9)} {
		b := New(id)
		pda := func(seeds ...[]byte) solana.PublicKey {
			k, _, err := solana.FindProgramAddress(seeds, id)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		prog, gov, create, proposal, buffer := key(1), key(2), key(3), key(4), key(5)
		for _, c := range []struct {
			name      string
			got, want solana.PublicKey
		}{
			{"governance", b.Governance(create), pda([]byte(um.GovernanceSeed), create[:])},
			{"managed program", b.ManagedProgram(prog), pda([]byte(um.ManagedProgramSeed), prog[:])},
			{"upgrade authority", b.UpgradeAuthority(prog), pda([]byte(um.UpgradeAuthoritySeed), prog[:])},
			{"migration authority", b.MigrationAuthority(prog), pda([]byte(um.MigrationAuthoritySeed), prog[:])},
			{"proposal", b.Proposal(gov, 7), pda([]byte(um.ProposalSeed), gov[:], []byte{7, 0, 0, 0, 0, 0, 0, 0})},
			{"buffer lock", b.BufferLock(buffer), pda([]byte(um.BufferLockSeed), buffer[:])},
			{"job", b.MigrationJob(proposal), pda([]byte(um.MigrationSeed), proposal[:])},
			{"event authority", b.EventAuthority(), pda([]byte(um.EventAuthoritySeed))},
		} {
			if !c.got.Equals(c.want) {
				t.Errorf("%s of %s = %s, want %s", c.name, id, c.got, c.want)
			}
		}
	}
}

// A Builder for another deployment derives every PDA, the event authority and the program
// account from that deployment's address.
func TestRetargetsAnotherDeployment(t *testing.T) {
	other := key(9)
	b := New(other)
	p := &um.Proposal{Governance: key(2), Program: key(1), Buffer: key(5), Proposer: key(6), Kind: um.ProposalKindUpgrade}
	ix, err := b.Execute(key(7), key(8), p, key(3))
	if err != nil {
		t.Fatal(err)
	}
	if !ix.ProgID.Equals(other) {
		t.Fatalf("program = %s", ix.ProgID)
	}
	evAuth, _, _ := solana.FindProgramAddress([][]byte{[]byte(um.EventAuthoritySeed)}, other)
	idlAuth := um.New(um.ProgramID).EventAuthority()
	seen := map[solana.PublicKey]bool{}
	for _, m := range ix.AccountValues {
		if m.PublicKey.Equals(um.ProgramID) || m.PublicKey.Equals(idlAuth) {
			t.Fatalf("instruction still names the IDL deployment's %s", m.PublicKey)
		}
		seen[m.PublicKey] = true
	}
	for _, want := range []solana.PublicKey{other, evAuth, b.ManagedProgram(key(1)), b.UpgradeAuthority(key(1)), Programdata(key(1))} {
		if !seen[want] {
			t.Errorf("instruction lacks %s", want)
		}
	}
}

// Cancel passes the buffer-closing accounts (buffer, its lock, the spill account, the proposer)
// only when the proposal holds a buffer.
func TestCancelFillsBufferAccounts(t *testing.T) {
	b := New(solana.PublicKey{})
	withBuffer := b.Cancel(key(1), key(2), &um.Proposal{Governance: key(3), Program: key(4), Buffer: key(5), Proposer: key(6)}, key(7))
	metas := withBuffer.AccountValues
	want := []solana.PublicKey{key(5), b.BufferLock(key(5)), key(7), key(6), b.UpgradeAuthority(key(4)), solana.BPFLoaderUpgradeableProgramID}
	for i, k := range want {
		if !metas[3+i].PublicKey.Equals(k) {
			t.Fatalf("buffer accounts = %v, want %v", metas[3:9], want)
		}
	}
	config := b.Cancel(key(1), key(2), &um.Proposal{Governance: key(3)}, key(7))
	for _, m := range config.AccountValues[3:9] {
		if !m.PublicKey.Equals(um.ProgramID) {
			t.Fatalf("absent optional account passed as %s, want the program id", m.PublicKey)
		}
	}
}

// The largest chunk WriteChunkSize allows makes a transaction of exactly the size limit.
func TestWriteChunkFillsATransaction(t *testing.T) {
	for _, c := range []struct {
		name      string
		authority solana.PublicKey
		price     bool
	}{{"payer writes", key(1), false}, {"other authority", key(2), false}, {"with price", key(2), true}} {
		payer, buffer := key(1), key(3)
		n := WriteChunkSize(payer, c.authority, buffer, c.price)
		var ixs []solana.Instruction
		if c.price {
			ixs = append(ixs, mustIx(Assemble(nil, payer, solana.Hash{}, Budget{UnitPrice: 1})))
		}
		ixs = append(ixs, WriteBuffer(buffer, c.authority, 0, make([]byte, n)))
		tx, err := solana.NewTransaction(ixs, solana.Hash{}, solana.TransactionPayer(payer))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := tx.Message.MarshalBinary()
		size := 1 + 64*int(tx.Message.Header.NumRequiredSignatures) + len(msg)
		if size != MaxTransactionSize {
			t.Errorf("%s: chunk %d makes a %d-byte transaction, want %d", c.name, n, size, MaxTransactionSize)
		}
	}
}

func mustIx(tx *solana.Transaction, err error) solana.Instruction {
	if err != nil {
		panic(err)
	}
	c := tx.Message.Instructions[0]
	return solana.NewInstruction(tx.Message.AccountKeys[c.ProgramIDIndex], nil, c.Data)
}

func TestChunksCoverTheELF(t *testing.T) {
	elf := make([]byte, 2500)
	for i := range elf {
		elf[i] = byte(i)
	}
	var got []byte
	for i, c := range Chunks(elf, 1000) {
		if c.Offset != i*1000 {
			t.Fatalf("chunk %d at %d", i, c.Offset)
		}
		got = append(got, c.Data...)
	}
	if string(got) != string(elf) {
		t.Fatal("chunks do not reassemble the ELF")
	}
}

func TestELFHashIgnoresPadding(t *testing.T) {
	elf := []byte("\x7fELF program")
	padded := append(append([]byte(nil), elf...), make([]byte, 100)...)
	if ELFHash(padded) != sha256.Sum256(elf) || ELFHash(elf) != ELFHash(padded) {
		t.Fatal("padding changes the hash")
	}
}

func code(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestChecks(t *testing.T) {
	m0, m1, m2, outsider := key(10), key(11), key(12), key(13)
	gov := &um.Governance{Members: []solana.PublicKey{m0, m1, m2}, Threshold: 2, MemberSetSeqno: 1, GracePeriodSeconds: 100}
	addr := key(20)
	active := &um.Proposal{Governance: key(21), Status: um.ProposalStatusActive, Approvals: 0b001, MemberSetSeqno: 1, Proposer: m0}
	stale := &um.Proposal{Governance: key(21), Status: um.ProposalStatusActive, Approvals: 0b011, MemberSetSeqno: 0, Proposer: m0}
	executed := &um.Proposal{Governance: key(21), Status: um.ProposalStatusExecuted, MemberSetSeqno: 1}
	approved := &um.Proposal{Governance: key(21), Status: um.ProposalStatusApproved, Approvals: 0b011, MemberSetSeqno: 1, Eta: 1000, Proposer: m0}
	for _, c := range []struct {
		name string
		err  error
		want Code
	}{
		{"approve by outsider", CheckApprove(addr, gov, active, outsider), CodeNotAMember},
		{"approve twice", CheckApprove(addr, gov, active, m0), CodeAlreadyApproved},
		{"approve", CheckApprove(addr, gov, active, m1), ""},
		{"approve again after member change", CheckApprove(addr, gov, stale, m0), ""},
		{"approve executed", CheckApprove(addr, gov, executed, m1), CodeProposalNotOpen},
		{"revoke without approval", CheckRevoke(addr, gov, active, m1), CodeNotApproved},
		{"revoke", CheckRevoke(addr, gov, active, m0), ""},
		{"proposer cancels alone", CheckCancel(addr, gov, active, m0), ""},
		{"outsider cancels", CheckCancel(addr, gov, active, outsider), CodeNotAMember},
		{"member votes cancel", CheckCancel(addr, gov, approved, m1), ""},
		{"execute active", CheckExecute(addr, gov, active, 2000), CodeProposalNotApproved},
		{"execute before eta", CheckExecute(addr, gov, approved, 999), CodeTimelockNotElapsed},
		{"execute at eta", CheckExecute(addr, gov, approved, 1000), ""},
		{"execute after grace", CheckExecute(addr, gov, approved, 1100), CodeProposalExpired},
		{"unfunded", CheckFunded(m0, 10, 11), CodeUnfundedPayer},
		{"funded", CheckFunded(m0, 11, 11), ""},
	} {
		if got := code(c.err); got != c.want {
			t.Errorf("%s: code %q (%v), want %q", c.name, got, c.err, c.want)
		}
	}
	var e *Error
	if !errors.As(CheckExecute(addr, gov, approved, 940), &e) || e.Remaining.Seconds() != 60 || e.Eta != 1000 {
		t.Fatalf("timelock error = %+v, want 60 s left to eta 1000", e)
	}
}

func TestCheckBufferLocked(t *testing.T) {
	b := New(solana.PublicKey{})
	program := key(1)
	pda := b.UpgradeAuthority(program)
	buffer := func(auth *solana.PublicKey, elf string) []byte {
		d := []byte{1, 0, 0, 0, 0}
		if auth != nil {
			d[4] = 1
			d = append(d, auth[:]...)
		} else {
			d = append(d, make([]byte, 32)...)
		}
		return append(d, elf...)
	}
	other := key(2)
	for _, c := range []struct {
		name string
		data []byte
		want Code
	}{
		{"locked", buffer(&pda, "\x7fELF"), ""},
		{"other authority", buffer(&other, "\x7fELF"), CodeBufferNotLocked},
		{"immutable", buffer(nil, "\x7fELF"), CodeBufferNotLocked},
		{"empty", buffer(&pda, "\x00\x00"), CodeInvalidBuffer},
		{"not a buffer", []byte{3, 0, 0, 0}, CodeInvalidBuffer},
	} {
		if got := code(b.CheckBufferLocked(key(3), c.data, program)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// The loader-account parsers take any bytes from an RPC without panicking.
func FuzzLoaderAccounts(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Add(append([]byte{3, 0, 0, 0}, make([]byte, 60)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = BufferAuthority(data)
		_, _ = BufferELF(data)
		_, _ = ProgramdataELF(data)
		_ = New(solana.PublicKey{}).CheckBufferLocked(key(1), data, key(2))
	})
}

// ProposalSpace is the largest Proposal the generated layout can encode, as Anchor's
// INIT_SPACE counts it (every option and vector at its maximum).
func TestProposalSpace(t *testing.T) {
	disc := [8]byte{}
	uri := make([]byte, 200)
	for i := range uri {
		uri[i] = 'a'
	}
	p := um.Proposal{
		ConfigChange: &um.ConfigChange{Kind: um.ConfigChangeKindAddMember},
		Migration:    &um.MigrationSpec{Discriminator: &disc, MigrateIxData: make([]byte, 64)},
		MetadataURI:  string(uri),
	}
	d := p.Discriminator()
	if got := len(p.AppendBorsh(d[:])); got != ProposalSpace {
		t.Fatalf("largest proposal is %d bytes, ProposalSpace = %d", got, ProposalSpace)
	}
}

// The floors refuse what the program's check_floors refuses, with their codes, and let a
// governance made before the floors keep (not lower) a setting below them.
func TestCheckFloors(t *testing.T) {
	gov := &um.Governance{Members: []solana.PublicKey{key(1), key(2), key(3)}, Threshold: 2, RollbackThreshold: 2,
		TimelockSeconds: um.DefaultTimelockSeconds, RollbackTimelockSeconds: um.DefaultRollbackTimelockSeconds}
	for _, c := range []struct {
		change um.ConfigChange
		want   Code
	}{
		{um.ConfigChange{Kind: um.ConfigChangeKindSetThreshold, SetThreshold: um.ConfigChangeSetThreshold{Threshold: 1}}, CodeThresholdBelowFloor},
		{um.ConfigChange{Kind: um.ConfigChangeKindSetRollbackThreshold, SetRollbackThreshold: um.ConfigChangeSetRollbackThreshold{Threshold: 1}}, CodeThresholdBelowFloor},
		{um.ConfigChange{Kind: um.ConfigChangeKindSetTimelock, SetTimelock: um.ConfigChangeSetTimelock{Seconds: 3599}}, CodeDelayBelowFloor},
		{um.ConfigChange{Kind: um.ConfigChangeKindSetRollbackTimelock, SetRollbackTimelock: um.ConfigChangeSetRollbackTimelock{Seconds: 599}}, CodeDelayBelowFloor},
		{um.ConfigChange{Kind: um.ConfigChangeKindSetThreshold, SetThreshold: um.ConfigChangeSetThreshold{Threshold: 4}}, CodeInvalidConfig},
		{um.ConfigChange{Kind: um.ConfigChangeKindSetVotingPeriod, SetVotingPeriod: um.ConfigChangeSetVotingPeriod{Seconds: 0}}, CodeInvalidConfig},
		{um.ConfigChange{Kind: um.ConfigChangeKindSetTimelock, SetTimelock: um.ConfigChangeSetTimelock{Seconds: 3600}}, ""},
		{um.ConfigChange{Kind: um.ConfigChangeKindSetRollbackTimelock, SetRollbackTimelock: um.ConfigChangeSetRollbackTimelock{Seconds: 600}}, ""},
	} {
		err := CheckConfigChange(key(9), gov, c.change)
		var e *Error
		got := Code("")
		if errors.As(err, &e) {
			got = e.Code
		}
		if got != c.want {
			t.Errorf("%s: code %q (%v), want %q", c.change.AppendJSON(nil), got, err, c.want)
		}
	}
	legacy := &um.Governance{Members: gov.Members, Threshold: 1, RollbackThreshold: 1, TimelockSeconds: 0, RollbackTimelockSeconds: 0}
	climb := um.ConfigChange{Kind: um.ConfigChangeKindSetTimelock, SetTimelock: um.ConfigChangeSetTimelock{Seconds: 60}}
	if err := CheckConfigChange(key(9), legacy, climb); err != nil {
		t.Errorf("a legacy governance raising its timelock toward the floor: %v", err)
	}
	if err := CheckFloors(1, 1, 1, 3600, 600, nil); err != nil {
		t.Errorf("a single member may hold threshold 1: %v", err)
	}
}

// A member who approved must revoke before rejecting; each member rejects once.
func TestCheckReject(t *testing.T) {
	gov := &um.Governance{Members: []solana.PublicKey{key(1), key(2), key(3)}, Threshold: 2}
	p := &um.Proposal{Governance: key(9), Status: um.ProposalStatusActive, Approvals: 1, Rejections: 2}
	for _, c := range []struct {
		member solana.PublicKey
		want   Code
	}{{key(1), CodeAlreadyApproved}, {key(2), CodeAlreadyRejected}, {key(4), CodeNotAMember}, {key(3), ""}} {
		err := CheckReject(key(8), gov, p, c.member, 0)
		var e *Error
		got := Code("")
		if errors.As(err, &e) {
			got = e.Code
		}
		if got != c.want {
			t.Errorf("member %s: code %q (%v), want %q", c.member, got, err, c.want)
		}
	}
}
