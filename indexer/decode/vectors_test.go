package decode_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

const vectorsPath = "../../program/vectors/scenario.json"

// vectorTx is one transaction of the vectors: its getTransaction JSON and
// the events the Rust side recorded.
type vectorTx struct {
	JSON     json.RawMessage
	Expected []expectedEvent
}

type expectedEvent struct {
	Name             string          `json:"name"`
	InstructionIndex int             `json:"instructionIndex"`
	InnerIndex       int             `json:"innerIndex"`
	StackHeight      int             `json:"stackHeight"`
	Ordinal          int             `json:"ordinal"`
	Raw              string          `json:"raw"`
	Data             json.RawMessage `json:"data"`
}

type vectorFile struct {
	ProgramID      string `json:"programId"`
	EventAuthority string `json:"eventAuthority"`
	EventIxTag     string `json:"eventIxTag"`
	Transactions   []vectorTx
}

var loadOnce = sync.OnceValues(func() (*vectorFile, error) {
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		return nil, err
	}
	var doc struct {
		ProgramID      string            `json:"programId"`
		EventAuthority string            `json:"eventAuthority"`
		EventIxTag     string            `json:"eventIxTag"`
		Transactions   []json.RawMessage `json:"transactions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	v := &vectorFile{ProgramID: doc.ProgramID, EventAuthority: doc.EventAuthority, EventIxTag: doc.EventIxTag}
	for _, raw := range doc.Transactions {
		var e struct {
			ExpectedEvents []expectedEvent `json:"expectedEvents"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, err
		}
		v.Transactions = append(v.Transactions, vectorTx{JSON: raw, Expected: e.ExpectedEvents})
	}
	return v, nil
})

func loadVectors(t testing.TB) *vectorFile {
	t.Helper()
	v, err := loadOnce()
	if err != nil {
		t.Fatalf("load vectors: %v", err)
	}
	return v
}

func newDecoder(t testing.TB) *decode.Decoder {
	t.Helper()
	d := decode.New(upgrademanager.New(upgrademanager.ProgramID))
	return d
}

// normalize decodes JSON keeping numbers exact.
func normalize(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode JSON %s: %v", data, err)
	}
	return v
}

// checkEvents compares decoded events with the vector's expectations.
func checkEvents(t *testing.T, sig string, r decode.Result, want []expectedEvent) {
	t.Helper()
	if r.Failed || len(r.Errors) > 0 {
		t.Fatalf("%s: failed=%v errors=%v", sig, r.Failed, r.Errors)
	}
	if len(r.Events) != len(want) {
		t.Fatalf("%s: %d events, want %d", sig, len(r.Events), len(want))
	}
	for i, w := range want {
		got := r.Events[i]
		wantPos := decode.Position{Signature: sig, InstructionIndex: w.InstructionIndex, InnerIndex: w.InnerIndex, StackHeight: w.StackHeight, Ordinal: w.Ordinal}
		if got.Name != w.Name || got.Position != wantPos {
			t.Errorf("%s event %d: %s at %+v, want %s at %+v", sig, i, got.Name, got.Position, w.Name, wantPos)
		}
		if got.Data.EventName() != got.Name {
			t.Errorf("%s event %d: Data is %T", sig, i, got.Data)
		}
		if h := hex.EncodeToString(got.Raw); h != w.Raw {
			t.Errorf("%s event %d raw:\n got %s\nwant %s", sig, i, h, w.Raw)
		}
		if a, b := normalize(t, got.JSON()), normalize(t, w.Data); !reflect.DeepEqual(a, b) {
			t.Errorf("%s event %d data:\n got %s\nwant %s", sig, i, got.JSON(), w.Data)
		}
	}
}

func TestVectorsMatchDecoder(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	d := newDecoder(t)
	if v.ProgramID != d.ProgramID().String() || v.EventAuthority != d.EventAuthority().String() {
		t.Fatalf("vectors are for %s/%s, decoder for %s/%s", v.ProgramID, v.EventAuthority, d.ProgramID(), d.EventAuthority())
	}
	if tag := hex.EncodeToString(decode.EventIxTag[:]); v.EventIxTag != tag {
		t.Fatalf("event tag %s, vectors say %s", tag, v.EventIxTag)
	}
}

// TestVectors decodes every vector transaction from its JSON and compares
// with the events the program test recorded.
func TestVectors(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	d := newDecoder(t)
	events := 0
	for _, vt := range v.Transactions {
		tx, err := decode.ParseTransaction(vt.JSON)
		if err != nil {
			t.Fatal(err)
		}
		checkEvents(t, tx.Signature, d.Decode(tx), vt.Expected)
		events += len(vt.Expected)
	}
	if events == 0 {
		t.Fatal("vectors hold no events")
	}
}

// TestDecodeInto reuses one Result across all vectors; each call must
// give what Decode gives.
func TestDecodeInto(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	d := newDecoder(t)
	var r decode.Result
	for round := range 2 {
		for _, vt := range v.Transactions {
			tx, err := decode.ParseTransaction(vt.JSON)
			if err != nil {
				t.Fatal(err)
			}
			d.DecodeInto(&r, tx)
			checkEvents(t, tx.Signature, r, vt.Expected)
			if round == 1 && len(vt.Expected) > 0 {
				tx.Failed = true
				d.DecodeInto(&r, tx)
				if len(r.Events) != 0 || !r.Failed {
					t.Fatalf("reused result kept %d events for a failed transaction", len(r.Events))
				}
			}
		}
	}
}
