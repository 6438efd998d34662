package graphtest

import (
	"context"
	"encoding/json"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	idxstore "github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// Scenario is program/vectors/scenario.json as the indexer applies it.
type Scenario struct {
	ProgramID string
	// Txs are the scenario's transactions in execution order.
	Txs []idxstore.Transaction
}

// LoadScenario reads program/vectors/scenario.json (through the indexer's
// scenario package) as the transactions the indexer would apply.
func LoadScenario() (*Scenario, error) {
	f, err := scenario.Load()
	if err != nil {
		return nil, err
	}
	s := &Scenario{ProgramID: f.ProgramID}
	for _, v := range f.Transactions {
		bt := v.Time()
		tx := idxstore.Transaction{
			Signature:  v.Signature,
			Slot:       v.Slot,
			BlockIndex: v.BlockIndex,
			BlockTime:  &bt,
			Failed:     v.Failed,
			Commitment: idxstore.Confirmed,
		}
		for _, e := range v.Expected {
			tx.Events = append(tx.Events, idxstore.Event{
				InstructionIndex: e.InstructionIndex,
				InnerIndex:       e.InnerIndex,
				Ordinal:          e.Ordinal,
				Event:            e.Decoded(),
				Raw:              e.Raw(),
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
			_ = json.Unmarshal(e.Event.AppendJSON(nil), &d)
			out = append(out, Event{Tx: &txs[i], Name: e.Name(), Data: d})
		}
	}
	return out
}
