package graphtest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	idxstore "github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// Scenario is program/vectors/scenario.json as the indexer applies it.
type Scenario struct {
	ProgramID string
	// Txs are the scenario's transactions in execution order.
	Txs []idxstore.Transaction
}

// LoadScenario reads program/vectors/scenario.json.
func LoadScenario() (*Scenario, error) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "program", "vectors", "scenario.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	var raw struct {
		ProgramID    string `json:"programId"`
		Transactions []struct {
			Slot        uint64 `json:"slot"`
			BlockTime   int64  `json:"blockTime"`
			Transaction struct {
				Signatures []string `json:"signatures"`
			} `json:"transaction"`
			Meta struct {
				Err json.RawMessage `json:"err"`
			} `json:"meta"`
			Expected []struct {
				Name             string          `json:"name"`
				InstructionIndex int             `json:"instructionIndex"`
				InnerIndex       int             `json:"innerIndex"`
				Ordinal          int             `json:"ordinal"`
				Raw              string          `json:"raw"`
				Data             json.RawMessage `json:"data"`
			} `json:"expectedEvents"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse vectors: %w", err)
	}
	s := &Scenario{ProgramID: raw.ProgramID}
	perSlot := map[uint64]int{}
	for _, v := range raw.Transactions {
		bt := time.Unix(v.BlockTime, 0).UTC()
		tx := idxstore.Transaction{
			Signature:  v.Transaction.Signatures[0],
			Slot:       v.Slot,
			BlockIndex: perSlot[v.Slot], // the order they executed in
			BlockTime:  &bt,
			Failed:     len(v.Meta.Err) > 0 && string(v.Meta.Err) != "null",
			Commitment: idxstore.Confirmed,
		}
		perSlot[v.Slot]++
		for _, e := range v.Expected {
			rawBytes, err := hex.DecodeString(e.Raw)
			if err != nil {
				return nil, fmt.Errorf("event %s raw: %w", e.Name, err)
			}
			tx.Events = append(tx.Events, idxstore.Event{
				InstructionIndex: e.InstructionIndex,
				InnerIndex:       e.InnerIndex,
				Ordinal:          e.Ordinal,
				Name:             e.Name,
				Data:             e.Data,
				Raw:              rawBytes,
			})
		}
		s.Txs = append(s.Txs, tx)
	}
	return s, nil
}

// Apply applies txs as one indexer batch: events, projections, checkpoint
// and one NOTIFY, committed together.
func (s *Scenario) Apply(ctx context.Context, db idxstore.DBTX, txs ...idxstore.Transaction) error {
	_, err := idxstore.ApplyBatch(ctx, db, s.ProgramID, txs)
	return err
}

// Event is one event of the scenario with the transaction it came in.
type Event struct {
	Tx   *idxstore.Transaction
	Name string
	Data map[string]any
}

// Events lists the events of txs in order.
func Events(txs []idxstore.Transaction) []Event {
	var out []Event
	for i := range txs {
		for _, e := range txs[i].Events {
			var d map[string]any
			_ = json.Unmarshal(e.Data, &d)
			out = append(out, Event{Tx: &txs[i], Name: e.Name, Data: d})
		}
	}
	return out
}
