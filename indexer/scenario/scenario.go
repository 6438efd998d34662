package scenario

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// File is the vectors file.
type File struct {
	ProgramID      string `json:"programId"`
	EventAuthority string `json:"eventAuthority"`
	Transactions   []Tx   `json:"-"`
}

// Tx is one transaction of the scenario.
type Tx struct {
	// Signature is the transaction's first signature.
	Signature string
	Slot      uint64
	BlockTime int64
	// BlockIndex is the transaction's position among the scenario's
	// transactions of its slot, which is the order they executed in.
	BlockIndex int
	Failed     bool
	// Result is the getTransaction result (json encoding), without the
	// vectors' expectedEvents.
	Result json.RawMessage
	// Expected are the events the program emitted, decoded.
	Expected []Event
}

// Event is an expected event of a transaction.
type Event struct {
	Name             string          `json:"name"`
	InstructionIndex int             `json:"instructionIndex"`
	InnerIndex       int             `json:"innerIndex"`
	StackHeight      int             `json:"stackHeight"`
	Ordinal          int             `json:"ordinal"`
	RawHex           string          `json:"raw"`
	Data             json.RawMessage `json:"data"`
}

// Raw returns the event's bytes (discriminator || borsh fields).
func (e Event) Raw() []byte {
	b, err := hex.DecodeString(e.RawHex)
	if err != nil {
		panic(fmt.Sprintf("scenario: event %s raw: %v", e.Name, err))
	}
	return b
}

// Decoded returns the event decoded from its bytes: what the decoder hands
// the store.
func (e Event) Decoded() upgrademanager.Event { return mustDecode(e.Name, e.Raw()) }

// Encode returns ev as the program emits it: its discriminator and borsh
// fields, for a test that changed a decoded event.
func Encode(ev upgrademanager.Event) []byte {
	d := ev.Discriminator()
	return ev.AppendBorsh(d[:])
}

func mustDecode(name string, raw []byte) upgrademanager.Event {
	ev, err := upgrademanager.DecodeEvent(raw)
	if err != nil {
		panic(fmt.Sprintf("scenario: event %s: %v", name, err))
	}
	return ev
}

// Time returns the block time.
func (t Tx) Time() time.Time { return time.Unix(t.BlockTime, 0).UTC() }

// Path returns the location of scenario.json in the source tree.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "program", "vectors", "scenario.json")
}

// Load reads and parses scenario.json.
func Load() (*File, error) {
	b, err := os.ReadFile(Path())
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	var raw struct {
		ProgramID      string            `json:"programId"`
		EventAuthority string            `json:"eventAuthority"`
		Transactions   []json.RawMessage `json:"transactions"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse vectors: %w", err)
	}
	f := &File{ProgramID: raw.ProgramID, EventAuthority: raw.EventAuthority}
	perSlot := map[uint64]int{}
	for i, m := range raw.Transactions {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(m, &fields); err != nil {
			return nil, fmt.Errorf("parse vector transaction %d: %w", i, err)
		}
		var head struct {
			Slot        uint64 `json:"slot"`
			BlockTime   int64  `json:"blockTime"`
			Transaction struct {
				Signatures []string `json:"signatures"`
			} `json:"transaction"`
			Meta struct {
				Err json.RawMessage `json:"err"`
			} `json:"meta"`
			Expected []Event `json:"expectedEvents"`
		}
		if err := json.Unmarshal(m, &head); err != nil {
			return nil, fmt.Errorf("parse vector transaction %d: %w", i, err)
		}
		delete(fields, "expectedEvents")
		result, err := json.Marshal(fields)
		if err != nil {
			return nil, fmt.Errorf("encode vector transaction %d: %w", i, err)
		}
		f.Transactions = append(f.Transactions, Tx{
			Signature:  head.Transaction.Signatures[0],
			Slot:       head.Slot,
			BlockTime:  head.BlockTime,
			BlockIndex: perSlot[head.Slot],
			Failed:     len(head.Meta.Err) > 0 && string(head.Meta.Err) != "null",
			Result:     result,
			Expected:   head.Expected,
		})
		perSlot[head.Slot]++
	}
	return f, nil
}
