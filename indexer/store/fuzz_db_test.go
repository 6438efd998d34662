package store_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// appendJSONRaw appends s as a JSON string the way a careless encoder
// would: control bytes (NUL included) as \u00XX, everything else, invalid
// UTF-8 included, as the raw byte.
func appendJSONRaw(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// FuzzApplyEventStrings sends arbitrary strings (NULs, invalid UTF-8, lone
// surrogates, 10 KB) through the event JSON → PostgreSQL path: as a
// proposal's metadata_uri, as its build_hash and as a key. The batch must
// commit, the log must hold the event, and the proposal must give back the
// metadata_uri's exact bytes.
func FuzzApplyEventStrings(f *testing.F) {
	for _, s := range []string{"", "ipfs://v2", "ipfs://v2\x00\x00\x00", "\xff\xfe", "\xed\xa0\x80", "\uffff",
		`back\slash \x00`, strings.Repeat("x\x00\xff", 3500), strings.Repeat("ü", 5000)} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`\ud800`), true)
	f.Add([]byte(`\u0000\ud83d\ude00`), true)
	pool, err := pgxpool.New(f.Context(), pgtest.NewDB(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(pool.Close)
	const program = "FuzzProgram11111111111111111111111111111111"
	f.Fuzz(func(t *testing.T, s []byte, verbatim bool) {
		// verbatim: s is the string literal's inside, escapes and all.
		lit, key := appendJSONRaw(nil, s), appendJSONRaw(nil, append([]byte("k:"), s...))
		if verbatim {
			lit = append(append([]byte{'"'}, s...), '"')
			key = append(append([]byte(`"k:`), s...), '"')
		}
		var want []byte
		if err := json.Unmarshal(lit, new(string)); err != nil {
			return // not a JSON string at all; the store dead-letters it
		}
		if !verbatim {
			want = s
		}
		data := []byte(`{"governance":"g","proposal":"p","index":1,"kind":"Upgrade","metadata_uri":`)
		data = append(data, lit...)
		data = append(data, `,"build_hash":`...)
		data = append(data, lit...)
		data = append(data, `,`...)
		data = append(data, key...)
		data = append(data, `:1,"threshold":1}`...)
		tx := store.Transaction{
			Signature: "fuzz", Slot: 1, Commitment: store.Confirmed,
			Events: []store.Event{{Name: "ProposalCreated", Data: data, Raw: []byte{1}}},
		}
		dbtx, err := pool.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = dbtx.Rollback(t.Context()) }()
		res, err := store.ApplyBatch(t.Context(), dbtx, program, []store.Transaction{tx})
		if err != nil {
			t.Fatalf("ApplyBatch(%q) = %v", data, err)
		}
		if n := res.Events["ProposalCreated"]; n != 1 || res.DeadLetters != 0 {
			t.Fatalf("ApplyBatch(%q): %d events, %d dead letters; want the event logged", data, n, res.DeadLetters)
		}
		var shown string
		var exact []byte
		if err := dbtx.QueryRow(t.Context(), `SELECT metadata_uri, metadata_uri_bytes FROM proposal WHERE address = 'p'`).Scan(&shown, &exact); err != nil {
			t.Fatal(err)
		}
		got := exact
		if got == nil {
			got = []byte(shown)
			if strings.IndexByte(shown, 0) >= 0 || !utf8.ValidString(shown) {
				t.Fatalf("metadata_uri %q is not storable text", shown)
			}
		}
		if want != nil && !bytes.Equal(got, want) {
			t.Fatalf("metadata_uri round trip: got %q, want %q", got, want)
		}
	})
}
