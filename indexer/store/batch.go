package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/indexer/notify"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Applied reports what one committed ApplyBatch did.
type Applied struct {
	// Transactions is the number of transactions applied for the first time;
	// Duplicates the number skipped because they were applied before.
	Transactions int
	Duplicates   int
	// Events counts the events logged, by name.
	Events map[string]int
	// DeadLetters counts the rejections stored, including events whose data
	// the projections could not read.
	DeadLetters int
	// Orphans counts events about projection rows that do not exist, as when
	// indexing started after the row's creation.
	Orphans int
	// Rebuilt says the projections were rebuilt from the log because the
	// batch held a transaction older than events already applied.
	Rebuilt bool
	// Notification is the payload sent on NotifyChannel.
	Notification Notification
}

// ApplyBatch applies txs in one database transaction: the transactions not
// applied before, their events and dead letters, the projection updates, the
// checkpoint of programID (moved to the newest transaction of the batch,
// never backwards) and one NOTIFY. Transactions are applied in chain order
// (slot, then block index) whatever order txs has; a transaction applied
// before is skipped, so delivering one twice changes nothing.
//
// When the batch holds a transaction that is older than an event already in
// the log (a missed transaction found later), the projections are rebuilt
// from the log so they reflect chain order.
func ApplyBatch(ctx context.Context, db DBTX, programID string, txs []Transaction) (Applied, error) {
	var out Applied
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var err error
		out, err = applyBatch(ctx, tx, programID, txs)
		return err
	})
	if err != nil {
		return Applied{}, fmt.Errorf("apply batch: %w", err)
	}
	return out, nil
}

func applyBatch(ctx context.Context, tx pgx.Tx, programID string, txs []Transaction) (Applied, error) {
	out := Applied{Events: map[string]int{}}
	txs = canonical(txs)
	// Reading the events' data is Go work the database need not wait for:
	// it runs while the transactions are recorded.
	parsedCh := make(chan [][]parsed, 1)
	go func() { parsedCh <- parseEvents(txs) }()
	if err := lockWriter(ctx, tx, programID); err != nil {
		return out, fmt.Errorf("lock writer: %w", err)
	}
	if len(txs) == 0 {
		return out, nil
	}

	fresh, err := insertTransactions(ctx, tx, programID, txs)
	if err != nil {
		return out, err
	}
	out.Transactions = len(fresh)
	out.Duplicates = len(txs) - len(fresh)

	// The newest position in the log before this batch decides whether the
	// batch extends the log's order or reaches back into it.
	var newest position
	err = tx.QueryRow(ctx, `SELECT slot, block_index FROM chain_event
		ORDER BY slot DESC, block_index DESC LIMIT 1`).Scan(&newest.slot, &newest.blockIndex)
	hasLog := err == nil
	if err != nil && err != pgx.ErrNoRows {
		return out, fmt.Errorf("read newest event position: %w", err)
	}

	var (
		rows    eventRows
		letters deadLetterRows
		fields  = map[eventKey]um.Event{}
		stale   bool
		maxSlot uint64
		all     = <-parsedCh
	)
	for i, t := range txs {
		maxSlot = max(maxSlot, t.Slot)
		if !fresh[t.Signature] {
			continue
		}
		for _, d := range t.DeadLetters {
			letters.add(t, d)
		}
		for j, e := range t.Events {
			key := eventKey{t.Signature, e.InstructionIndex, e.InnerIndex, e.Ordinal}
			reason := ""
			switch _, dup := fields[key]; {
			case all[i][j].err != nil:
				reason = "projection: " + all[i][j].err.Error()
			case dup:
				// The key of the log: a second event there would fail the
				// whole batch, and every retry of it.
				reason = "duplicate position"
			}
			if reason != "" {
				ii, in := e.InstructionIndex, e.InnerIndex
				letters.add(t, DeadLetter{InstructionIndex: &ii, InnerIndex: &in, Reason: reason, Raw: e.Raw})
				continue
			}
			fields[key] = e.Event
			rows.add(t, e, all[i][j].data)
			if hasLog && (position{int64(t.Slot), t.BlockIndex}).less(newest) {
				stale = true
			}
		}
	}

	logged, err := insertEvents(ctx, tx, rows)
	if err != nil {
		return out, err
	}
	for _, l := range logged {
		out.Events[l.Name]++
		l.Event = fields[l.key]
	}
	if err := insertDeadLetters(ctx, tx, letters); err != nil {
		return out, err
	}
	out.DeadLetters = len(letters.signature)

	if stale {
		orphans, err := rebuild(ctx, tx)
		if err != nil {
			return out, err
		}
		out.Orphans = orphans
		out.Rebuilt = true
	} else {
		events := make([]loggedEvent, len(logged))
		for i, l := range logged {
			events[i] = l.loggedEvent
		}
		orphans, err := projectIncrementally(ctx, tx, events)
		if err != nil {
			return out, err
		}
		out.Orphans = orphans
	}

	last := txs[len(txs)-1]
	if err := advanceCheckpoint(ctx, tx, programID, last.Signature, last.Slot); err != nil {
		return out, err
	}
	n := Notification{Slot: maxSlot, Rebuilt: out.Rebuilt}
	if out.Rebuilt {
		// Rows of the late transactions' subjects may have changed beyond
		// what their new seqs show.
		n.Reason = RebuildLate
		subj := newSubjects()
		for _, t := range txs {
			if !fresh[t.Signature] {
				continue
			}
			n.Signatures = append(n.Signatures, t.Signature)
			for _, e := range t.Events {
				subj.add(e.Event)
			}
		}
		subj.fill(&n)
	}
	out.Notification, err = sendNotification(ctx, tx, n)
	return out, err
}

// parsed is an event's data as the log stores it.
type parsed struct {
	// data is the event's JSON rendering with every string jsonb would
	// refuse escaped (see storableJSON).
	data []byte
	err  error
}

// parseEvents renders the data of every event of txs, by transaction and
// event, and checks that the projections can hold it.
func parseEvents(txs []Transaction) [][]parsed {
	out := make([][]parsed, len(txs))
	// One buffer for the batch's renderings: each event's JSON is a slice of
	// it (capped, so nothing appends over the next), and a slice of an
	// outgrown buffer stays valid.
	var buf []byte
	n := 0
	for _, t := range txs {
		n += len(t.Events)
	}
	chunk := min(max(n, 1)*1<<10, 256<<10) // an event's JSON is mostly under 1 KB
	for i, t := range txs {
		out[i] = make([]parsed, len(t.Events))
		for j, e := range t.Events {
			p := &out[i][j]
			if p.err = checkEvent(e.Event); p.err != nil {
				continue
			}
			if cap(buf)-len(buf) < 1<<10 {
				buf = make([]byte, 0, chunk)
			}
			start := len(buf)
			buf = e.Event.AppendJSON(buf)
			if p.data, p.err = storableJSON(buf[start:len(buf):len(buf)]); p.err != nil {
				p.err = fmt.Errorf("event data: %w", p.err)
			}
		}
	}
	return out
}

// position orders transactions in the log: by slot, then block index.
type position struct {
	slot       int64
	blockIndex int
}

func (p position) less(q position) bool {
	return p.slot < q.slot || p.slot == q.slot && p.blockIndex < q.blockIndex
}

// canonical returns txs without repeated signatures, in chain order.
func canonical(txs []Transaction) []Transaction {
	seen := make(map[string]bool, len(txs))
	out := make([]Transaction, 0, len(txs))
	for _, t := range txs {
		if seen[t.Signature] {
			continue
		}
		seen[t.Signature] = true
		out = append(out, t)
	}
	slices.SortStableFunc(out, func(a, b Transaction) int {
		return cmp.Or(cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.BlockIndex, b.BlockIndex))
	})
	return out
}

// insertTransactions records txs and returns the signatures that were not
// recorded before. The caller holds the writer lock, so nothing is recorded
// between the look-up and the COPY.
func insertTransactions(ctx context.Context, tx pgx.Tx, programID string, txs []Transaction) (map[string]bool, error) {
	sigs := make([]string, len(txs))
	for i, t := range txs {
		sigs[i] = t.Signature
	}
	seen, err := AppliedSignatures(ctx, tx, sigs)
	if err != nil {
		return nil, err
	}
	fresh := make(map[string]bool, len(txs))
	src := make([][]any, 0, len(txs))
	for _, t := range txs {
		if seen[t.Signature] {
			continue
		}
		fresh[t.Signature] = true
		src = append(src, []any{t.Signature, programID, int64(t.Slot), int32(t.BlockIndex), t.BlockTime, t.Failed,
			int32(len(t.Events)), string(commitmentOr(t.Commitment))})
	}
	if len(src) == 0 {
		return fresh, nil
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"ingested_transaction"}, []string{"signature", "program_id", "slot",
		"block_index", "block_time", "failed", "event_count", "commitment"}, pgx.CopyFromRows(src))
	if err != nil {
		return nil, fmt.Errorf("insert transactions: %w", err)
	}
	return fresh, nil
}

func commitmentOr(c Commitment) Commitment {
	if c == "" {
		return Confirmed
	}
	return c
}

type eventKey struct {
	signature                      string
	instruction, inner, ordinalPos int
}

// eventRows are chain_event rows as column arrays for unnest.
type eventRows struct {
	signature               []string
	instruction, inner, ord []int32
	slot                    []int64
	blockIndex              []int32
	blockTime               []*time.Time
	name, data, commitment  []string
	raw                     [][]byte
}

func (r *eventRows) add(t Transaction, e Event, data []byte) {
	r.signature = append(r.signature, t.Signature)
	r.instruction = append(r.instruction, int32(e.InstructionIndex))
	r.inner = append(r.inner, int32(e.InnerIndex))
	r.ord = append(r.ord, int32(e.Ordinal))
	r.slot = append(r.slot, int64(t.Slot))
	r.blockIndex = append(r.blockIndex, int32(t.BlockIndex))
	r.blockTime = append(r.blockTime, t.BlockTime)
	r.name = append(r.name, e.Name())
	r.data = append(r.data, string(data))
	r.commitment = append(r.commitment, string(commitmentOr(t.Commitment)))
	raw := e.Raw
	if raw == nil {
		raw = []byte{}
	}
	r.raw = append(r.raw, raw)
}

type logged struct {
	loggedEvent
	key eventKey
}

// insertEvents appends rows to the log, assigning seq in the rows' order,
// and returns them in seq order. The caller holds the writer lock and only
// passes events of transactions not applied before, so none is logged yet.
// COPY is several times faster than INSERT for the log's width and
// indexes; it cannot return the seqs it assigns, so they are drawn from the
// sequence first (under the writer lock, so in commit order).
func insertEvents(ctx context.Context, tx pgx.Tx, r eventRows) ([]*logged, error) {
	n := len(r.signature)
	if n == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('chain_event', 'seq')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("allocate event seqs: %w", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("allocate event seqs: %w", err)
	}
	slices.Sort(seqs)
	out := make([]*logged, n)
	src := make([][]any, n)
	for i := range n {
		src[i] = []any{r.signature[i], r.instruction[i], r.inner[i], r.ord[i], seqs[i], r.slot[i], r.blockIndex[i],
			r.blockTime[i], r.name[i], r.data[i], r.raw[i], r.commitment[i]}
		out[i] = &logged{
			loggedEvent: loggedEvent{Seq: seqs[i], Signature: r.signature[i], Slot: r.slot[i], Name: r.name[i]},
			key:         eventKey{r.signature[i], int(r.instruction[i]), int(r.inner[i]), int(r.ord[i])},
		}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"chain_event"}, []string{"signature", "instruction_index",
		"inner_index", "ordinal", "seq", "slot", "block_index", "block_time", "name", "data", "raw", "commitment"},
		pgx.CopyFromRows(src))
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	return out, nil
}

// deadLetterRows are dead_letter rows as column arrays for unnest.
type deadLetterRows struct {
	signature          []string
	slot               []int64
	instruction, inner []*int32
	reason             []string
	raw                [][]byte
}

func (r *deadLetterRows) add(t Transaction, d DeadLetter) {
	r.signature = append(r.signature, t.Signature)
	r.slot = append(r.slot, int64(t.Slot))
	r.instruction = append(r.instruction, int32Ptr(d.InstructionIndex))
	r.inner = append(r.inner, int32Ptr(d.InnerIndex))
	r.reason = append(r.reason, storableText(d.Reason))
	r.raw = append(r.raw, d.Raw)
}

func int32Ptr(p *int) *int32 {
	if p == nil {
		return nil
	}
	v := int32(*p)
	return &v
}

func insertDeadLetters(ctx context.Context, tx pgx.Tx, r deadLetterRows) error {
	if len(r.signature) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO dead_letter (signature, slot, instruction_index, inner_index, reason, raw)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[], $5::text[], $6::bytea[])`,
		r.signature, r.slot, r.instruction, r.inner, r.reason, r.raw)
	if err != nil {
		return fmt.Errorf("insert dead letters: %w", err)
	}
	return nil
}

// sendNotification sends n on NotifyChannel with the log's last seq.
func sendNotification(ctx context.Context, tx pgx.Tx, n Notification) (Notification, error) {
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM chain_event`).Scan(&n.LastSeq); err != nil {
		return n, fmt.Errorf("read last seq: %w", err)
	}
	payload, n, err := notify.Encode(n)
	if err != nil {
		return n, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, payload); err != nil {
		return n, fmt.Errorf("notify: %w", err)
	}
	return n, nil
}

// subjects are the proposals and governances events are about.
type subjects struct {
	proposals, governances map[string]bool
}

func newSubjects() subjects {
	return subjects{proposals: map[string]bool{}, governances: map[string]bool{}}
}

// add records what the event f is about.
func (s subjects) add(f um.Event) {
	switch f := f.(type) {
	case *um.GovernanceInitialized:
		s.governances[b58(f.Governance)] = true
	case *um.ConfigChanged:
		s.governances[b58(f.Governance)] = true
		s.proposals[b58(f.Proposal)] = true
	case *um.ProgramRegistered:
		s.governances[b58(f.Governance)] = true
	case *um.ProposalCreated:
		s.governances[b58(f.Governance)] = true
		s.proposals[b58(f.Proposal)] = true
	case *um.MigrationStarted:
		s.governances[b58(f.Governance)] = true
		s.proposals[b58(f.Proposal)] = true
	case *um.ProposalApproved:
		s.proposals[b58(f.Proposal)] = true
	case *um.ApprovalRevoked:
		s.proposals[b58(f.Proposal)] = true
	case *um.CancelVoted:
		s.proposals[b58(f.Proposal)] = true
	case *um.ProposalCancelled:
		s.proposals[b58(f.Proposal)] = true
	case *um.ProposalExpired:
		s.proposals[b58(f.Proposal)] = true
	case *um.ProgramExtended:
		s.proposals[b58(f.Proposal)] = true
	case *um.ProposalExecuted:
		s.proposals[b58(f.Proposal)] = true
	case *um.ProgramUpgraded:
		s.proposals[b58(f.Proposal)] = true
	}
}

// fill sets n's lists from s.
func (s subjects) fill(n *Notification) {
	n.Proposals = sortedKeys(s.proposals)
	n.Governances = sortedKeys(s.governances)
}
