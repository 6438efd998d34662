package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// base58Key matches a quoted base58 string of pubkey length.
var base58Key = regexp.MustCompile(`"[1-9A-HJ-NP-Za-km-z]{32,44}"`)

// derive maps key to a key of copy n that no other copy shares.
func derive(n int, key string) string {
	h := sha256.Sum256([]byte(strconv.Itoa(n) + "/" + key))
	return solana.PublicKeyFromBytes(h[:]).String()
}

// deriveSignature maps a signature to one of copy n.
func deriveSignature(n int, sig string) string {
	a := sha256.Sum256([]byte(strconv.Itoa(n) + "/a/" + sig))
	b := sha256.Sum256([]byte(strconv.Itoa(n) + "/b/" + sig))
	var s solana.Signature
	copy(s[:32], a[:])
	copy(s[32:], b[:])
	return s.String()
}

// SyntheticEvent is an event of a synthetic transaction.
type SyntheticEvent struct {
	Event
	// Data is the event's JSON with the copy's keys.
	Data json.RawMessage
	// RawBytes is the event's discriminator and borsh fields with the copy's
	// keys.
	RawBytes []byte
}

// Decoded is the event with the copy's keys, decoded.
func (e SyntheticEvent) Decoded() upgrademanager.Event { return mustDecode(e.Name, e.RawBytes) }

// SyntheticTx is a transaction of Synthesize.
type SyntheticTx struct {
	Signature  string
	Slot       uint64
	BlockIndex int
	BlockTime  int64
	Failed     bool
	Events     []SyntheticEvent
}

// Synthesize returns copies of the scenario's transactions, each copy with
// its own signatures, its own slots after the previous copy's, and every
// pubkey in the events' data replaced by one of its own: copies create
// distinct governances, programs, proposals and jobs, so n copies hold n
// times the scenario's projections. The raw bytes hold the same keys.
func (f *File) Synthesize(copies int) []SyntheticTx {
	var out []SyntheticTx
	first := f.Transactions[0].Slot
	span := f.Transactions[len(f.Transactions)-1].Slot - first + 1
	for n := range copies {
		keys := map[string]string{}
		for _, v := range f.Transactions {
			t := SyntheticTx{
				Signature:  deriveSignature(n, v.Signature),
				Slot:       first + uint64(n)*span + (v.Slot - first),
				BlockIndex: v.BlockIndex,
				BlockTime:  v.BlockTime,
				Failed:     v.Failed,
			}
			for _, e := range v.Expected {
				raw := e.Raw()
				data := base58Key.ReplaceAllStringFunc(string(e.Data), func(q string) string {
					k := q[1 : len(q)-1]
					if k == "11111111111111111111111111111111" { // "none"
						return q
					}
					d, ok := keys[k]
					if !ok {
						d = derive(n, k)
						keys[k] = d
					}
					from, errFrom := solana.PublicKeyFromBase58(k)
					to, errTo := solana.PublicKeyFromBase58(d)
					if errFrom == nil && errTo == nil {
						raw = bytes.ReplaceAll(raw, from[:], to[:])
					}
					return fmt.Sprintf("%q", d)
				})
				t.Events = append(t.Events, SyntheticEvent{Event: e, Data: json.RawMessage(data), RawBytes: raw})
			}
			out = append(out, t)
		}
	}
	return out
}
