package decode_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/idlcodec"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// vectorWith returns a parsed copy of the first vector transaction with
// exactly n expected events, and those events.
func vectorWith(t *testing.T, n int) (*decode.Transaction, []expectedEvent) {
	t.Helper()
	for _, vt := range loadVectors(t).Transactions {
		if len(vt.Expected) == n {
			tx, err := decode.ParseTransaction(vt.JSON)
			if err != nil {
				t.Fatal(err)
			}
			return tx, vt.Expected
		}
	}
	t.Fatalf("no vector transaction with %d events", n)
	return nil, nil
}

// eventIx returns the inner instruction holding expected event e.
func eventIx(t *testing.T, tx *decode.Transaction, e expectedEvent) *decode.Instruction {
	t.Helper()
	for i := range tx.InnerInstructions {
		if l := &tx.InnerInstructions[i]; int(l.Index) == e.InstructionIndex {
			return &l.Instructions[e.InnerIndex]
		}
	}
	t.Fatalf("no inner instructions for instruction %d", e.InstructionIndex)
	return nil
}

func keyIndex(t *testing.T, tx *decode.Transaction, key string) uint16 {
	t.Helper()
	for i, k := range tx.AccountKeys {
		if k == key {
			return uint16(i)
		}
	}
	t.Fatalf("key %s not in transaction", key)
	return 0
}

func setData(ix *decode.Instruction, b []byte) {
	ix.Data = string(idlcodec.AppendBase58(nil, b))
}

func ixData(t *testing.T, ix *decode.Instruction) []byte {
	t.Helper()
	b, err := idlcodec.AppendBase58Decode(nil, ix.Data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSpoofing(t *testing.T) {
	t.Parallel()
	d := newDecoder(t)
	cases := []struct {
		name   string
		mutate func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction)
	}{
		{"first account is not the event authority", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			ix.Accounts[0] = 0
		}},
		{"no accounts", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			ix.Accounts = nil
		}},
		{"authority second", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			ix.Accounts = append([]uint16{0}, ix.Accounts...)
		}},
		{"our tag in another program's instruction", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			ix.ProgramIDIndex = keyIndex(t, tx, system)
		}},
		{"authority of another program", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			other, _, _ := solana.FindProgramAddress([][]byte{[]byte(upgrademanager.EventAuthoritySeed)}, solana.SystemProgramID)
			tx.AccountKeys[ix.Accounts[0]] = other.String()
		}},
		{"our program and authority without the tag", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			setData(ix, ixData(t, ix)[8:])
		}},
		{"the event as a top-level instruction", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			tx.Instructions = append(tx.Instructions, *ix)
			tx.InnerInstructions = nil
		}},
		{"failed transaction", func(t *testing.T, tx *decode.Transaction, ix *decode.Instruction) {
			tx.Failed = true
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tx, want := vectorWith(t, 1)
			tc.mutate(t, tx, eventIx(t, tx, want[0]))
			r := d.Decode(tx)
			if len(r.Events) != 0 || len(r.Errors) != 0 {
				t.Fatalf("decoded %d events, %d errors: %+v", len(r.Events), len(r.Errors), r.Events)
			}
			if r.Failed != tx.Failed {
				t.Errorf("Failed = %v", r.Failed)
			}
		})
	}
}

func TestFailedTransactionJSON(t *testing.T) {
	t.Parallel()
	vt := loadVectors(t).Transactions[0]
	var doc map[string]any
	if err := json.Unmarshal(vt.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	doc["meta"].(map[string]any)["err"] = map[string]any{"InstructionError": []any{0, map[string]any{"Custom": 6020}}}
	raw, _ := json.Marshal(doc)
	tx, err := decode.ParseTransaction(raw)
	if err != nil {
		t.Fatal(err)
	}
	if r := newDecoder(t).Decode(tx); !r.Failed || len(r.Events) != 0 {
		t.Fatalf("failed transaction decoded to %+v", r)
	}
}

func reasonOf(err *decode.Error) decode.Reason { return err.Reason }

// TestTypedErrors breaks the first of two events in a transaction: the
// error names the reason, and the second event still decodes with its
// ordinal.
func TestTypedErrors(t *testing.T) {
	t.Parallel()
	d := newDecoder(t)
	cases := []struct {
		name   string
		want   decode.Reason
		mutate func(t *testing.T, ix *decode.Instruction)
	}{
		{"short", decode.ReasonShort, func(t *testing.T, ix *decode.Instruction) {
			b := ixData(t, ix)
			setData(ix, b[:len(b)-1])
		}},
		{"trailing", decode.ReasonTrailing, func(t *testing.T, ix *decode.Instruction) {
			setData(ix, append(ixData(t, ix), 0))
		}},
		{"unknown discriminator", decode.ReasonUnknownDiscriminator, func(t *testing.T, ix *decode.Instruction) {
			b := ixData(t, ix)
			b[8] ^= 0xff
			setData(ix, b)
		}},
		{"tag only", decode.ReasonShort, func(t *testing.T, ix *decode.Instruction) {
			setData(ix, decode.EventIxTag[:])
		}},
		{"invalid enum", decode.ReasonInvalid, func(t *testing.T, ix *decode.Instruction) {
			// ProposalExecuted: tag, disc, schema_version, governance, proposal, kind.
			b := ixData(t, ix)
			b[8+8+1+32+32] = 9
			setData(ix, b)
		}},
		{"bad base58", decode.ReasonEncoding, func(t *testing.T, ix *decode.Instruction) {
			ix.Data = "0" + ix.Data[1:]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tx, want := vectorWith(t, 2)
			if want[0].Name != "ProposalExecuted" {
				t.Fatalf("first two-event vector starts with %s", want[0].Name)
			}
			tc.mutate(t, eventIx(t, tx, want[0]))
			r := d.Decode(tx)
			if len(r.Errors) != 1 || len(r.Events) != 1 {
				t.Fatalf("%d events, %d errors, want 1 and 1: %v", len(r.Events), len(r.Errors), r.Errors)
			}
			e := r.Errors[0]
			if reasonOf(e) != tc.want {
				t.Errorf("reason %s, want %s (%v)", e.Reason, tc.want, e)
			}
			if e.Position.Ordinal != 0 || e.Position.InnerIndex != want[0].InnerIndex || e.Position.Signature != tx.Signature {
				t.Errorf("error position %+v", e.Position)
			}
			if e.Err == nil || errors.Unwrap(e) != e.Err || (tc.name != "tag only" && len(e.Raw) == 0) {
				t.Errorf("error without cause or raw bytes: %v", e)
			}
			if ev := r.Events[0]; ev.Name != want[1].Name || ev.Position.Ordinal != 1 {
				t.Errorf("surviving event %s ordinal %d, want %s ordinal 1", ev.Name, ev.Position.Ordinal, want[1].Name)
			}
		})
	}
}

// logTx turns a vector transaction's events into an emit!-style log:
// no inner instructions, one "Program data:" line per event.
func logTx(t testing.TB, tx *decode.Transaction, want []expectedEvent) *decode.Transaction {
	t.Helper()
	logs := []string{invoke(computeBP, 1), success(computeBP), invoke(ours, 1), "Program log: Instruction: Execute"}
	for _, e := range want {
		raw, _ := hex.DecodeString(e.Raw)
		logs = append(logs, data(base64.StdEncoding.EncodeToString(raw)))
	}
	logs = append(logs, consumed(ours), success(ours))
	out := *tx
	out.InnerInstructions = nil
	out.LogMessages = logs
	return &out
}

func TestLogEvents(t *testing.T) {
	t.Parallel()
	d := newDecoder(t)
	tx, want := vectorWith(t, 2)
	ltx := logTx(t, tx, want)
	// The message has one instruction; the log shows a compute-budget call
	// first that the message lacks, so log order decides the index.
	ltx.Instructions = nil
	r := d.Decode(ltx)
	if len(r.Errors) != 0 || len(r.Events) != 2 {
		t.Fatalf("%d events, errors %v", len(r.Events), r.Errors)
	}
	for i, ev := range r.Events {
		wantPos := decode.Position{Signature: tx.Signature, InstructionIndex: 1, InnerIndex: -1, StackHeight: 1, Ordinal: i}
		if ev.Name != want[i].Name || ev.Position != wantPos || hex.EncodeToString(ev.Raw) != want[i].Raw {
			t.Errorf("event %d: %s at %+v, want %s at %+v", i, ev.Name, ev.Position, want[i].Name, wantPos)
		}
	}
}

func TestLogEventErrors(t *testing.T) {
	t.Parallel()
	d := newDecoder(t)
	tx, want := vectorWith(t, 1)
	ltx := logTx(t, tx, want)
	good := ltx.LogMessages[4]
	ltx.LogMessages = append(ltx.LogMessages[:4], data("not-base64!"), good+" "+good[len("Program data: "):], "Program data: ", good, "Log truncated")
	r := d.Decode(ltx)
	if !r.Truncated {
		t.Error("truncation not reported")
	}
	wantReasons := []decode.Reason{decode.ReasonEncoding, decode.ReasonMalformed, decode.ReasonMalformed}
	if len(r.Errors) != len(wantReasons) {
		t.Fatalf("errors %v", r.Errors)
	}
	for i, e := range r.Errors {
		if e.Reason != wantReasons[i] || e.Position.Ordinal != i || e.Position.InnerIndex != -1 {
			t.Errorf("error %d: %s at %+v, want %s", i, e.Reason, e.Position, wantReasons[i])
		}
	}
	if len(r.Events) != 1 || r.Events[0].Position.Ordinal != 3 {
		t.Errorf("events %+v", r.Events)
	}
}

// TestChannelsNotDoubleCounted: a transaction with emit_cpi! events whose
// log also carries the same events reports each once, from the CPIs.
func TestChannelsNotDoubleCounted(t *testing.T) {
	t.Parallel()
	d := newDecoder(t)
	tx, want := vectorWith(t, 2)
	both := *tx
	both.LogMessages = logTx(t, tx, want).LogMessages
	r := d.Decode(&both)
	if len(r.Events) != 2 || len(r.Errors) != 0 {
		t.Fatalf("%d events, errors %v", len(r.Events), r.Errors)
	}
	for i, ev := range r.Events {
		if ev.Position.InnerIndex != want[i].InnerIndex {
			t.Errorf("event %d from %+v, want the CPI", i, ev.Position)
		}
	}
}

// TestVersionedTransaction moves the program and its authority into the
// loaded addresses of a v0 transaction.
func TestVersionedTransaction(t *testing.T) {
	t.Parallel()
	vt := loadVectors(t).Transactions[0]
	var doc map[string]any
	if err := json.Unmarshal(vt.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	msg := doc["transaction"].(map[string]any)["message"].(map[string]any)
	keys := msg["accountKeys"].([]any)
	// Keys: ..., 4 = program, 5 = event authority (last). Move the authority
	// to loaded readonly and add a loaded writable key before it; indexes
	// past the static keys then point into the loaded ones.
	last := keys[len(keys)-1]
	msg["accountKeys"] = keys[:len(keys)-1]
	writable := solana.NewWallet().PublicKey().String()
	meta := doc["meta"].(map[string]any)
	meta["loadedAddresses"] = map[string]any{"writable": []any{writable}, "readonly": []any{last}}
	doc["version"] = 0
	authIdx := float64(len(keys)) // static keys (len-1) + 1 writable
	for _, l := range meta["innerInstructions"].([]any) {
		for _, ix := range l.(map[string]any)["instructions"].([]any) {
			accts := ix.(map[string]any)["accounts"].([]any)
			for i, a := range accts {
				if a.(float64) == float64(len(keys)-1) {
					accts[i] = authIdx
				}
			}
		}
	}
	raw, _ := json.Marshal(doc)
	tx, err := decode.ParseTransaction(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.AccountKeys) != len(keys)+1 || tx.AccountKeys[len(keys)-1] != writable {
		t.Fatalf("keys %v", tx.AccountKeys)
	}
	checkEvents(t, tx.Signature, newDecoder(t).Decode(tx), vt.Expected)
}

func TestAnotherDeployment(t *testing.T) {
	t.Parallel()
	other := solana.NewWallet().PublicKey()
	d := decode.New(upgrademanager.New(other))
	if d.ProgramID() != other {
		t.Fatalf("program %s", d.ProgramID())
	}
	wantAuth, _, _ := solana.FindProgramAddress([][]byte{[]byte(upgrademanager.EventAuthoritySeed)}, other)
	if d.EventAuthority() != wantAuth {
		t.Fatalf("authority %s, want %s", d.EventAuthority(), wantAuth)
	}
	tx, want := vectorWith(t, 1)
	if r := d.Decode(tx); len(r.Events) != 0 {
		t.Fatalf("decoder for %s read %d events of %s", other, len(r.Events), upgrademanager.ProgramID)
	}
	// The same transaction with the program deployed at other.
	tx.AccountKeys[keyIndex(t, tx, ours)] = other.String()
	tx.AccountKeys[keyIndex(t, tx, upgrademanager.New(upgrademanager.ProgramID).EventAuthority().String())] = wantAuth.String()
	checkEvents(t, tx.Signature, d.Decode(tx), want)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	d := newDecoder(t)
	v := loadVectors(t)
	txs := make([]*decode.Transaction, len(v.Transactions))
	for i, vt := range v.Transactions {
		var err error
		if txs[i], err = decode.ParseTransaction(vt.JSON); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan int)
	for range 4 {
		go func() {
			n := 0
			for _, tx := range txs {
				n += len(d.Decode(tx).Events)
			}
			done <- n
		}()
	}
	first := <-done
	for range 3 {
		if n := <-done; n != first {
			t.Errorf("goroutines decoded %d and %d events", first, n)
		}
	}
}

func TestReasonNames(t *testing.T) {
	t.Parallel()
	for r, want := range map[decode.Reason]string{
		decode.ReasonUnknownDiscriminator: "unknown_discriminator", decode.ReasonShort: "short",
		decode.ReasonTrailing: "trailing", decode.ReasonInvalid: "invalid", decode.ReasonEncoding: "encoding",
		decode.ReasonMalformed: "malformed", decode.Reason(99): "reason_99",
	} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), want)
		}
	}
}
