package decode_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

var updateCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz seed corpora from the vectors")

// FuzzDecodeEvent decodes arbitrary event bytes: no panic; a failure is a
// typed *Error; a success re-encodes to exactly the input (so no trailing
// byte was accepted) and renders valid JSON.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decode.DecodeRaw(raw, decode.Position{InnerIndex: -1})
		if err != nil {
			var de *decode.Error
			if !errors.As(err, &de) || de.Reason < decode.ReasonUnknownDiscriminator || de.Reason > decode.ReasonMalformed {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		disc := ev.Data.Discriminator()
		if enc := ev.Data.AppendBorsh(disc[:]); !bytes.Equal(enc, raw) {
			t.Fatalf("%s re-encodes to %x, input %x", ev.Name, enc, raw)
		}
		if !json.Valid(ev.JSON()) {
			t.Fatalf("invalid JSON %s", ev.JSON())
		}
	})
}

// FuzzDecodeTransaction feeds arbitrary getTransaction JSON through
// ParseTransaction and Decode: no panic, and events and errors together
// number their ordinals 0, 1, 2, ... in order.
func FuzzDecodeTransaction(f *testing.F) {
	f.Add([]byte(`{"slot":1,"transaction":{"signatures":["s"],"message":{"accountKeys":[],"instructions":[]}},"meta":{"err":null}}`))
	d := decode.New(upgrademanager.New(upgrademanager.ProgramID))
	f.Fuzz(func(t *testing.T, doc []byte) {
		tx, err := decode.ParseTransaction(doc)
		if err != nil {
			return
		}
		r := d.Decode(tx)
		if r.Failed && (len(r.Events) > 0 || len(r.Errors) > 0) {
			t.Fatal("a failed transaction yielded events")
		}
		ords := map[int]bool{}
		for _, ev := range r.Events {
			ords[ev.Position.Ordinal] = true
			if !json.Valid(ev.JSON()) {
				t.Fatalf("invalid JSON %s", ev.JSON())
			}
		}
		for _, e := range r.Errors {
			ords[e.Position.Ordinal] = true
		}
		for i := range len(r.Events) + len(r.Errors) {
			if !ords[i] {
				t.Fatalf("ordinals %v are not 0..%d", ords, len(r.Events)+len(r.Errors)-1)
			}
		}
	})
}

// fuzzSeed keeps what the decoder reads of a vector transaction: small
// seeds keep the fuzzer's minimization of new inputs quick.
func fuzzSeed(t *testing.T, doc json.RawMessage) []byte {
	t.Helper()
	var tx map[string]any
	if err := json.Unmarshal(doc, &tx); err != nil {
		t.Fatal(err)
	}
	delete(tx, "expectedEvents")
	if meta, ok := tx["meta"].(map[string]any); ok {
		for _, k := range []string{"preBalances", "postBalances", "preTokenBalances", "postTokenBalances", "rewards", "status", "fee"} {
			delete(meta, k)
		}
	}
	if inner, ok := tx["transaction"].(map[string]any); ok {
		if msg, ok := inner["message"].(map[string]any); ok {
			delete(msg, "recentBlockhash")
			delete(msg, "header")
		}
	}
	out, err := json.Marshal(tx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWriteFuzzCorpus writes the seed corpora from the vectors when run
// with -update-fuzz-corpus; otherwise it checks they exist.
func TestWriteFuzzCorpus(t *testing.T) {
	v := loadVectors(t)
	corpora := map[string][]string{} // fuzz target -> seed file contents
	seen := map[string]bool{}
	add := func(target, value string) {
		if !seen[target+value] {
			seen[target+value] = true
			corpora[target] = append(corpora[target], value)
		}
	}
	for i, vt := range v.Transactions {
		for _, e := range vt.Expected {
			raw, _ := hex.DecodeString(e.Raw)
			add("FuzzDecodeEvent", "[]byte("+strconv.Quote(string(raw))+")")
		}
		tx, err := decode.ParseTransaction(vt.JSON)
		if err != nil {
			t.Fatal(err)
		}
		add("FuzzParseLogs", "string("+strconv.Quote(strings.Join(tx.LogMessages, "\n"))+")")
		// A sample of transactions: every event kind's first appearance.
		if i < 5 || len(vt.Expected) > 1 || (len(vt.Expected) == 1 && !seen["tx:"+vt.Expected[0].Name]) {
			if len(vt.Expected) == 1 {
				seen["tx:"+vt.Expected[0].Name] = true
			}
			add("FuzzDecodeTransaction", "[]byte("+strconv.Quote(string(fuzzSeed(t, vt.JSON)))+")")
		}
	}
	// Validator-shaped logs with emit! data lines, which the native vectors lack.
	for _, vt := range v.Transactions[:3] {
		tx, _ := decode.ParseTransaction(vt.JSON)
		if len(vt.Expected) > 0 {
			add("FuzzParseLogs", "string("+strconv.Quote(strings.Join(logTx(t, tx, vt.Expected).LogMessages, "\n"))+")")
		}
	}
	for target, seeds := range corpora {
		dir := filepath.Join("testdata", "fuzz", target)
		if !*updateCorpus {
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) == 0 {
				t.Errorf("%s has no seed corpus: run go test -run TestWriteFuzzCorpus -update-fuzz-corpus", dir)
			}
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range seeds {
			content := "go test fuzz v1\n" + s + "\n"
			name := fmt.Sprintf("vector-%x", sha256.Sum256([]byte(content)))[:23]
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d seeds", target, len(seeds))
	}
}
