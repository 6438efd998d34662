package graph_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	idxstore "github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// A metadata_uri padded with NULs (the program checks its length only) is
// served exactly, NULs included; a transaction the database refused shows
// in indexerStatus.
func TestMetadataURIWithNULsAndRefusedTransactions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uriField := regexp.MustCompile(`"metadata_uri":\s*"ipfs://v2"`)
	var proposal string
	for i, tx := range b.scenario.Txs {
		for j, e := range tx.Events {
			if e.Name == "ProposalCreated" && uriField.Match(e.Data) && proposal == "" {
				var f struct{ Proposal string }
				if err := json.Unmarshal(e.Data, &f); err != nil {
					t.Fatal(err)
				}
				proposal = f.Proposal
				events := append([]idxstore.Event(nil), tx.Events...)
				events[j].Data = uriField.ReplaceAll(e.Data, []byte(`"metadata_uri": "ipfs://\u0000\u0000"`))
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
