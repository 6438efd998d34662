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

// A result whose message does not read still gives its header, so the
// ingester files the dead letter where the transaction landed without
// parsing the result again; only a result whose header does not read gives
// nothing.
func TestParseTransactionHeader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, doc string
		want      *decode.Header
	}{
		{"base64", `{"slot":7,"blockTime":1700000000,"transaction":["AQID","base64"],"meta":{"err":{"InstructionError":[0,"x"]}}}`,
			&decode.Header{Slot: 7, BlockTime: 1700000000, HasBlockTime: true, Failed: true}},
		{"bad logs", `{"slot":8,"blockTime":null,"transaction":{"signatures":[],"message":{"accountKeys":[],"instructions":[]}},"meta":{"err":null,"logMessages":7}}`,
			&decode.Header{Slot: 8}},
		{"bad message", `{"slot":9,"blockTime":0,"transaction":{"message":3}}`,
			&decode.Header{Slot: 9, HasBlockTime: true}},
		{"not json", `{"slot":`, nil},
		{"bad slot", `{"slot":"x","transaction":["AQID","base64"]}`, nil},
	} {
		tx, err := decode.ParseTransaction([]byte(c.doc))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		switch {
		case c.want == nil && tx != nil:
			t.Errorf("%s: header %+v from an unreadable result", c.name, tx.Header)
		case c.want != nil && tx == nil:
			t.Errorf("%s: no header", c.name)
		case c.want != nil && tx.Header != *c.want:
			t.Errorf("%s: header %+v, want %+v", c.name, tx.Header, *c.want)
		}
	}
	tx, err := decode.ParseTransaction([]byte(`{"slot":3,"blockTime":null,"transaction":{"signatures":["s"],"message":{"accountKeys":[],"instructions":[]}},"meta":{"err":null}}`))
	if err != nil || tx.Header != (decode.Header{Slot: 3}) || tx.Time() != nil {
		t.Errorf("header %+v, %v", tx, err)
	}
}
