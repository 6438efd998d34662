package store

import (
	"context"
	"fmt"
	"reflect"

	"github.com/gagliardetto/solana-go"
	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

const eventColumns = `seq, signature, instruction_index, inner_index, ordinal, slot, block_time, name, data, raw,
	commitment`

// scanEvent reads an event row and decodes its bytes into the generated
// event type, which the subjects (and the subscriptions' payloads) come
// from: the JSON in data is served as it is, never parsed.
func scanEvent(row pgx.Row) (*Event, error) {
	var e Event
	var data []byte
	err := row.Scan(&e.Seq, &e.Signature, &e.InstructionIndex, &e.InnerIndex, &e.Ordinal, &e.Slot, &e.BlockTime,
		&e.Name, &data, &e.Raw, &e.Commitment)
	if err != nil {
		return nil, err
	}
	e.Data = data
	if ev, err := upgrademanager.DecodeEvent(e.Raw); err == nil {
		e.Decoded = ev
		e.Governance, e.Proposal = subject(ev, "Governance"), subject(ev, "Proposal")
		e.Program, e.Job = subject(ev, "Program"), subject(ev, "Job")
	}
	return &e, nil
}

var publicKeyType = reflect.TypeFor[solana.PublicKey]()

// subject is the base58 form of ev's pubkey field of that Go name (the IDL's
// governance, proposal, program or job), "" when ev has none: every event
// that names one of those names it so.
func subject(ev upgrademanager.Event, field string) string {
	v := reflect.ValueOf(ev).Elem().FieldByName(field)
	if !v.IsValid() || v.Type() != publicKeyType {
		return ""
	}
	return v.Interface().(solana.PublicKey).String()
}

// EventFilter selects events of the audit log; every set field must match.
type EventFilter struct {
	// Names: any matches.
	Names     []string
	Signature *string
	FromSlot  *int64 // inclusive
	ToSlot    *int64 // inclusive
	// Proposal, Governance and Program match the keys the event's data
	// names (chain_event_*_key_idx serve them).
	Proposal, Governance, Program *string
}

func (f EventFilter) apply(w *where) {
	if len(f.Names) > 0 {
		w.add("name = ANY(%s)", f.Names)
	}
	if f.Signature != nil {
		w.add("signature = %s", *f.Signature)
	}
	if f.FromSlot != nil {
		w.add("slot >= %s", *f.FromSlot)
	}
	if f.ToSlot != nil {
		w.add("slot <= %s", *f.ToSlot)
	}
	if f.Proposal != nil {
		w.add("data->>'proposal' = %s", *f.Proposal)
	}
	if f.Governance != nil {
		w.add("data->>'governance' = %s", *f.Governance)
	}
	if f.Program != nil {
		w.add("data->>'program' = %s", *f.Program)
	}
}

// EventBySeq returns the event with seq; nil when there is none.
func (s *Store) EventBySeq(ctx context.Context, seq int64) (*Event, error) {
	rows, err := collect(ctx, s.db, "events", scanEvent, `SELECT `+eventColumns+` FROM chain_event WHERE seq = $1`, seq)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// Cluster is the cluster the indexed history comes from.
type Cluster struct {
	GenesisHash string
}

// Cluster returns the cluster the indexer recorded; nil before it
// recorded one. The indexer refuses to mix clusters, so every followed
// program has the same one.
func (s *Store) Cluster(ctx context.Context) (*Cluster, error) {
	rows, err := collect(ctx, s.db, "cluster", func(row pgx.Row) (*Cluster, error) {
		var c Cluster
		return &c, row.Scan(&c.GenesisHash)
	}, `SELECT genesis_hash FROM indexed_cluster ORDER BY first_seen DESC LIMIT 1`)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// RecordedGenesis returns the genesis hash of the cluster the indexer
// recorded, "" before it recorded one: what cluster.Guard and the cranks
// compare with the RPC's.
func (s *Store) RecordedGenesis(ctx context.Context) (string, error) {
	c, err := s.Cluster(ctx)
	if err != nil || c == nil {
		return "", err
	}
	return c.GenesisHash, nil
}

// ListEvents returns a page of the events that match f in seq order, and
// whether more lie beyond it.
func (s *Store) ListEvents(ctx context.Context, f EventFilter, p Page[int64]) ([]*Event, bool, error) {
	var w where
	f.apply(&w)
	dir := keyset(&w, "seq", false, p, func(k *int64) []any { return []any{*k} })
	rows, err := collect(ctx, s.db, "events", scanEvent,
		`SELECT `+eventColumns+` FROM chain_event`+w.sql()+orderBy(dir, "seq")+` LIMIT `+w.arg(p.Limit+1),
		w.args...)
	if err != nil {
		return nil, false, err
	}
	rows, more := page(rows, p.Limit, p.Backward)
	return rows, more, nil
}

// CountEvents returns how many events match f.
func (s *Store) CountEvents(ctx context.Context, f EventFilter) (int, error) {
	var w where
	f.apply(&w)
	return s.count(ctx, "events", `SELECT count(*) FROM chain_event`+w.sql(), w.args...)
}

// EventsAfter returns up to limit events with seq greater than after, in
// seq order, of the given names (all when names is empty).
func (s *Store) EventsAfter(ctx context.Context, after int64, names []string, limit int) ([]*Event, error) {
	rows, _, err := s.ListEvents(ctx, EventFilter{Names: names}, Page[int64]{After: &after, Limit: limit})
	return rows, err
}

// LastSeq returns the newest event's seq, or 0 while the log is empty.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM chain_event`).Scan(&seq)
	return seq, err
}

// IndexerStatus returns the indexer's checkpoints and the log's head.
func (s *Store) IndexerStatus(ctx context.Context) (*IndexerStatus, error) {
	cps, err := collect(ctx, s.db, "checkpoints", func(row pgx.Row) (*Checkpoint, error) {
		var c Checkpoint
		err := row.Scan(&c.ProgramID, &c.LastSignature, &c.LastSlot, &c.FinalizedSlot, &c.UpdatedAt)
		return &c, err
	}, `SELECT program_id, last_signature, last_slot, finalized_slot, updated_at
		FROM ingest_checkpoint ORDER BY program_id`)
	if err != nil {
		return nil, err
	}
	st := &IndexerStatus{Checkpoints: cps}
	err = s.db.QueryRow(ctx, `SELECT (SELECT max(seq) FROM chain_event),
			coalesce((SELECT max(chain_time) FROM chain_tip), (SELECT max(block_time) FROM chain_event)),
			(SELECT max(confirmed_slot) FROM chain_tip),
			(SELECT count(*) FROM dead_letter), (SELECT count(*) FROM dead_letter WHERE kind = 'database')`).
		Scan(&st.LastSeq, &st.ChainTime, &st.TipSlot, &st.DeadLetters, &st.RefusedTransactions)
	if err != nil {
		return nil, fmt.Errorf("read log head: %w", err)
	}
	return st, nil
}
