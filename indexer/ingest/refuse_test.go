package ingest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mr-tron/base58"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/ingest"
	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// rewriteInnerData returns a getTransaction result whose inner instructions'
// data (base58) are passed through edit.
func rewriteInnerData(t *testing.T, result json.RawMessage, edit func([]byte) []byte) json.RawMessage {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(result))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	changed := false
	meta := m["meta"].(map[string]any)
	for _, g := range meta["innerInstructions"].([]any) {
		for _, ix := range g.(map[string]any)["instructions"].([]any) {
			ix := ix.(map[string]any)
			data, err := base58.Decode(ix["data"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if out := edit(data); !bytes.Equal(out, data) {
				ix["data"] = base58.Encode(out)
				changed = true
			}
		}
	}
	if !changed {
		t.Fatal("rewriteInnerData changed nothing")
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nulPaddedProposal replaces the scenario's ProposalCreated of "ipfs://v2"
// with one whose metadata_uri is "ipfs://" and two NULs, as a zero-padded
// URI would be (the program checks the length only).
func (b *bundle) nulPaddedProposal() (sig string, uri []byte) {
	b.t.Helper()
	old := append([]byte{9, 0, 0, 0}, "ipfs://v2"...) // borsh String
	padded := append([]byte{9, 0, 0, 0}, "ipfs://\x00\x00"...)
	for gi, g := range b.slots {
		for ti, tx := range g {
			rewritten := false
			for _, v := range b.scenario.Transactions {
				if v.Signature != tx.Signature {
					continue
				}
				for _, e := range v.Expected {
					if e.Name == "ProposalCreated" && bytes.Contains(e.Raw(), old) {
						b.slots[gi][ti].Result = rewriteInnerData(b.t, tx.Result, func(d []byte) []byte {
							return bytes.Replace(d, old, padded, 1)
						})
						rewritten = true
					}
				}
			}
			if rewritten {
				return tx.Signature, padded[4:]
			}
		}
	}
	b.t.Fatal("no ProposalCreated of ipfs://v2 in the scenario")
	return "", nil
}

// The attack of issue 12: a proposal whose metadata_uri is NUL-padded.
// PostgreSQL refused its event (jsonb \u0000, 22P05) and the sync retried
// the batch forever, stalling indexing for every governance. Now the whole
// scenario lands, the proposal keeps the URI's exact bytes, and GraphQL's
// source row shows it escaped.
func TestNULPaddedMetadataURIIsIndexed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sig, uri := b.nulPaddedProposal()
	b.start(b.newIngester(true))
	b.publish(0, len(b.slots))
	b.waitApplied(len(b.slots))
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event`, b.wantEvents(len(b.slots)))
	assertCount(t, b.pool, `SELECT count(*) FROM dead_letter`, 0)
	var shown string
	var exact []byte
	if err := b.pool.QueryRow(t.Context(), `SELECT p.metadata_uri, p.metadata_uri_bytes FROM proposal p
		JOIN chain_event e ON e.name = 'ProposalCreated' AND e.data->>'proposal' = p.address
		WHERE e.signature = $1`, sig).Scan(&shown, &exact); err != nil {
		t.Fatal(err)
	}
	if shown != `ipfs://\x00\x00` || !bytes.Equal(exact, uri) {
		t.Errorf("proposal metadata_uri = %q, bytes %q; want the escaped form and %q", shown, exact, uri)
	}
	// Everything else is the scenario's: compare with the vectors after
	// setting the one URI back.
	if _, err := b.pool.Exec(t.Context(), `UPDATE proposal SET metadata_uri = 'ipfs://v2', metadata_uri_bytes = NULL
		WHERE metadata_uri_bytes IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	scenario.AssertProjections(t, b.pool)
}

// refuseTrigger makes PostgreSQL refuse chain_event rows of sig with
// SQLSTATE code, the first times times (all times when times < 0): a real
// refusal by the real server, standing for whatever data the schema cannot
// take.
func (b *bundle) refuseTrigger(sig, code string, times int) {
	b.t.Helper()
	cond := "true"
	if times >= 0 {
		// A sequence, because a counter row would roll back with the
		// refused transaction.
		if _, err := b.pool.Exec(b.t.Context(), `CREATE SEQUENCE test_refusals`); err != nil {
			b.t.Fatal(err)
		}
		cond = fmt.Sprintf("nextval('test_refusals') <= %d", times)
	}
	_, err := b.pool.Exec(b.t.Context(), fmt.Sprintf(`
		CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.signature = '%s' AND %s THEN
				RAISE EXCEPTION 'refused by the test' USING ERRCODE = '%s';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER test_refuse BEFORE INSERT ON chain_event FOR EACH ROW EXECUTE FUNCTION test_refuse();`,
		sig, cond, code))
	if err != nil {
		b.t.Fatal(err)
	}
}

// A transaction whose rows the database refuses for a data reason becomes a
// dead letter with its getTransaction result and the error; the checkpoint
// moves past it, the rest of history is applied, a metric counts it; and
// after the cause is removed, RetryRefused (indexer replay) applies it in
// its place. Before, the sync retried the batch forever.
func TestRefusedTransactionIsDeadLetteredThenReplayed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.scenario.Transactions[6] // ApprovalRevoked, mid-history
	b.refuseTrigger(victim.Signature, "22023", -1)
	b.start(b.newIngester(true))
	b.publish(0, len(b.slots))
	testkit.Eventually(t, 0, "checkpoint past the refused transaction", func() bool {
		cp, err := store.GetCheckpoint(t.Context(), b.pool, b.scenario.ProgramID)
		return err == nil && cp.LastSignature == b.lastSig(len(b.slots)-1)
	})
	b.waitApplied(len(b.slots)) // recorded, as refused
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE refused`, 1)
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event WHERE signature = '`+victim.Signature+`'`, 0)
	var raw []byte
	var reason, state string
	if err := b.pool.QueryRow(t.Context(), `SELECT raw, reason, sqlstate FROM dead_letter
		WHERE kind = 'database' AND signature = $1`, victim.Signature).Scan(&raw, &reason, &state); err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, raw, victim.Result) || state != "22023" || !strings.Contains(reason, "refused by the test") {
		t.Errorf("dead letter: sqlstate %s, reason %q, raw equal to the getTransaction result: %v", state, reason, jsonEqual(t, raw, victim.Result))
	}
	if got := b.metric("upgrade_manager_indexer_refused_transactions_total"); got != 1 {
		t.Errorf("refused_transactions_total = %v, want 1", got)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event`, b.wantEvents(len(b.slots))-len(victim.Expected))

	// Replaying with the cause still there changes nothing but the count.
	d := decode.New(upgrademanager.New(upgrademanager.ProgramID))
	rep, err := ingest.RetryRefused(t.Context(), b.pool, b.scenario.ProgramID, ingest.NewEventDecoder(d), nil)
	if err != nil || rep.Applied != 0 || rep.Refused != 1 {
		t.Fatalf("RetryRefused with the cause in place = %+v, %v; want 1 refused again", rep, err)
	}
	assertCount(t, b.pool, `SELECT count(*) FROM dead_letter WHERE kind = 'database' AND attempts = 2`, 1)

	// The fix; then replay applies it in its place.
	b.stopAll()
	if _, err := b.pool.Exec(t.Context(), `DROP TRIGGER test_refuse ON chain_event`); err != nil {
		t.Fatal(err)
	}
	rep, err = ingest.RetryRefused(t.Context(), b.pool, b.scenario.ProgramID, ingest.NewEventDecoder(d), nil)
	if err != nil || rep.Applied != 1 || rep.Refused != 0 {
		t.Fatalf("RetryRefused after the fix = %+v, %v; want 1 applied", rep, err)
	}
	b.assertComplete()
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE refused`, 0)
}

// A database outage inside a batch (serialization failure, admin shutdown,
// a lost connection) is retried until the batch commits: nothing becomes a
// dead letter.
func TestDatabaseOutageIsRetriedNotDeadLettered(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"40001", "57P01", "08006", "53200"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.refuseTrigger(b.scenario.Transactions[6].Signature, code, 3)
			b.start(b.newIngester(true))
			b.publish(0, len(b.slots))
			b.waitApplied(len(b.slots))
			b.assertComplete()
			assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE refused`, 0)
			if got := b.metric("upgrade_manager_indexer_database_errors_total"); got < 3 {
				t.Errorf("database_errors_total = %v, want at least the 3 failures", got)
			}
			if got := b.metric("upgrade_manager_indexer_refused_transactions_total"); got != 0 {
				t.Errorf("refused_transactions_total = %v, want 0", got)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}
