package graph_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	idxstore "github.com/upgrade-manager/upgrade-manager/indexer/store"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// A metadata_uri padded with NULs (the program checks its length only) is
// served exactly, NULs included; a transaction the database refused shows
// in indexerStatus.
func TestMetadataURIWithNULsAndRefusedTransactions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var proposal string
	for i, tx := range b.scenario.Txs {
		for j, e := range tx.Events {
			if created, ok := e.Event.(*um.ProposalCreated); ok && created.MetadataURI == "ipfs://v2" && proposal == "" {
				proposal = created.Proposal.String()
				padded := *created
				padded.MetadataURI = "ipfs://\x00\x00"
				events := append([]idxstore.Event(nil), tx.Events...)
				events[j].Event, events[j].Raw = &padded, scenario.Encode(&padded)
				b.scenario.Txs[i].Events = events
			}
		}
	}
	if proposal == "" {
		t.Fatal("no ProposalCreated of ipfs://v2")
	}
	last := b.scenario.Txs[len(b.scenario.Txs)-1]
	b.scenario.Txs = b.scenario.Txs[:len(b.scenario.Txs)-1]
	b.applyAll(t)
	last.Raw = json.RawMessage(`{"slot": 18}`)
	if _, err := idxstore.RefuseTransaction(t.Context(), b.pool, b.scenario.ProgramID, last, errors.New("refused")); err != nil {
		t.Fatal(err)
	}

	var data struct {
		Proposal struct {
			MetadataURI string `json:"metadataUri"`
		} `json:"proposal"`
		IndexerStatus struct {
			DeadLetters         int `json:"deadLetters"`
			RefusedTransactions int `json:"refusedTransactions"`
		} `json:"indexerStatus"`
	}
	b.query(t, `query($p: PublicKey!) { proposal(address: $p) { metadataUri }
		indexerStatus { deadLetters refusedTransactions } }`, map[string]any{"p": proposal}, &data)
	if data.Proposal.MetadataURI != "ipfs://\x00\x00" {
		t.Errorf("metadataUri = %q, want ipfs:// and two NULs", data.Proposal.MetadataURI)
	}
	if data.IndexerStatus.DeadLetters != 1 || data.IndexerStatus.RefusedTransactions != 1 {
		t.Errorf("indexerStatus = %+v, want 1 dead letter, 1 refused transaction", data.IndexerStatus)
	}
}
