package store_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// FuzzApplyEventStrings sends arbitrary strings (NULs, invalid UTF-8, 10 KB)
// through the event → JSON → PostgreSQL path as a proposal's metadata_uri.
// The batch must commit, the log must hold the event, and the proposal must
// give back the metadata_uri's exact bytes. (The program's decoder accepts
// only UTF-8; the store does not rely on it.)
func FuzzApplyEventStrings(f *testing.F) {
	for _, s := range []string{"", "ipfs://v2", "ipfs://v2\x00\x00\x00", "\xff\xfe", "\xed\xa0\x80", "\uffff",
		`back\slash \x00`, `\ud800`, `\u0000\ud83d\ude00`, "\"quoted\"", strings.Repeat("x\x00\xff", 3500), strings.Repeat("ü", 5000)} {
		f.Add([]byte(s))
	}
	pool, err := pgxpool.New(f.Context(), pgtest.NewDB(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(pool.Close)
	const program = "FuzzProgram11111111111111111111111111111111"
	f.Fuzz(func(t *testing.T, s []byte) {
		var proposal solana.PublicKey
		proposal[0] = 7
		ev := &um.ProposalCreated{Governance: proposal, Proposal: proposal, Index: 1, Kind: um.ProposalKindUpgrade,
			MetadataURI: string(s), Threshold: 1}
		tx := store.Transaction{
			Signature: "fuzz", Slot: 1, Commitment: store.Confirmed,
			Events: []store.Event{{Event: ev, Raw: []byte{1}}},
		}
		dbtx, err := pool.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = dbtx.Rollback(t.Context()) }()
		res, err := store.ApplyBatch(t.Context(), dbtx, program, []store.Transaction{tx})
		if err != nil {
			t.Fatalf("ApplyBatch(%q) = %v", s, err)
		}
		if n := res.Events["ProposalCreated"]; n != 1 || res.DeadLetters != 0 {
			t.Fatalf("ApplyBatch(%q): %d events, %d dead letters; want the event logged", s, n, res.DeadLetters)
		}
		var shown string
		var exact []byte
		if err := dbtx.QueryRow(t.Context(), `SELECT metadata_uri, metadata_uri_bytes FROM proposal WHERE address = $1`,
			proposal.String()).Scan(&shown, &exact); err != nil {
			t.Fatal(err)
		}
		got := exact
		if got == nil {
			got = []byte(shown)
			if strings.IndexByte(shown, 0) >= 0 || !utf8.ValidString(shown) {
				t.Fatalf("metadata_uri %q is not storable text", shown)
			}
		}
		if !bytes.Equal(got, s) {
			t.Fatalf("metadata_uri round trip: got %q, want %q", got, s)
		}
	})
}
