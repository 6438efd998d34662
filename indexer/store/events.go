package store

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/idlcodec"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// The projections fold the generated event types (package upgrademanager)
// directly; the helpers below spell their fields the way the tables and the
// log's JSON do: pubkeys in base58, byte arrays in lowercase hex, nested IDL
// values as their JSON rendering.

// b58 is k in base58.
func b58(k solana.PublicKey) string {
	var buf [44]byte
	return string(idlcodec.AppendBase58(buf[:0], k[:]))
}

// b58s is every key of ks in base58.
func b58s(ks []solana.PublicKey) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = b58(k)
	}
	return out
}

// hexOf is b in lowercase hex.
func hexOf(b []byte) string { return hex.EncodeToString(b) }

// hexOrNil is *b in lowercase hex, nil when b is.
func hexOrNil(b *[8]byte) *string {
	if b == nil {
		return nil
	}
	return ptr(hexOf(b[:]))
}

// jsonValue is a generated IDL value: it renders itself as JSON.
type jsonValue interface{ AppendJSON(dst []byte) []byte }

// jsonOf renders v (a *ConfigChange, a *MigrationSpec) as the log's JSON
// does, escaped for jsonb; nil when v is a nil pointer. The rendering is
// always JSON, so storableJSON cannot fail on it.
func jsonOf[T any, P interface {
	*T
	jsonValue
}](v P) json.RawMessage {
	if v == nil {
		return nil
	}
	out, err := storableJSON(v.AppendJSON(nil))
	if err != nil {
		panic(fmt.Sprintf("generated JSON of %T is not JSON: %v", v, err))
	}
	return out
}

// checkEvent refuses an event the projections cannot hold: an unsigned
// 64-bit field above PostgreSQL's bigint (a migration's total_accounts is
// the proposer's to choose). Such an event goes to dead_letter, as one
// whose JSON did not fit the projections did, instead of wrapping around.
func checkEvent(ev um.Event) error {
	if ev == nil {
		return fmt.Errorf("no event")
	}
	if path, v, ok := fits(reflect.ValueOf(ev).Elem()); !ok {
		return fmt.Errorf("%s%s = %d does not fit a bigint", ev.EventName(), path, v)
	}
	return nil
}

var int128Pkg = reflect.TypeFor[idlcodec.Uint128]().PkgPath()

// fits reports whether every unsigned 64-bit value in v fits a bigint, and
// when one does not, its path and value. The path is only built then: the
// check runs on every event.
func fits(v reflect.Value) (string, uint64, bool) {
	switch v.Kind() {
	case reflect.Uint64:
		if v.Uint() > math.MaxInt64 {
			return "", v.Uint(), false
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return fits(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		if t.PkgPath() == int128Pkg {
			return "", 0, true // 128-bit integers are stored as decimal text
		}
		for i := range v.NumField() {
			if path, n, ok := fits(v.Field(i)); !ok {
				return "." + t.Field(i).Name + path, n, false
			}
		}
	}
	return "", 0, true
}
