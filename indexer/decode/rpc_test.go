package decode_test

import (
	"encoding/json"
	"testing"

	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
)

// TestVectorsFromRPC decodes the vectors through solana-go's result type,
// as the indexer receives them.
func TestVectorsFromRPC(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	d := newDecoder(t)
	for _, vt := range v.Transactions {
		var res rpc.GetTransactionResult
		if err := json.Unmarshal(vt.JSON, &res); err != nil {
			t.Fatalf("solana-go cannot read the vector: %v", err)
		}
		tx, err := decode.FromRPC(&res)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Keys == nil || tx.AccountKeys != nil {
			t.Fatal("FromRPC should hand over decoded keys")
		}
		checkEvents(t, tx.Signature, d.Decode(tx), vt.Expected)
	}
}

func TestFromRPCRejectsEmpty(t *testing.T) {
	t.Parallel()
	if _, err := decode.FromRPC(nil); err == nil {
		t.Error("nil result accepted")
	}
	if _, err := decode.FromRPC(&rpc.GetTransactionResult{}); err == nil {
		t.Error("result without transaction accepted")
	}
}

func TestParseTransactionEncodings(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"base64":     `{"slot":1,"transaction":["AQID","base64"],"meta":null}`,
		"no tx":      `{"slot":1}`,
		"not json":   `{"slot":`,
		"jsonParsed": `{"slot":1,"transaction":{"signatures":["x"],"message":{"accountKeys":[{"pubkey":"11111111111111111111111111111111","signer":true}],"instructions":[]}}}`,
	} {
		if _, err := decode.ParseTransaction([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
