package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/upgrade-manager/upgrade-manager/indexer/commitment"
	"github.com/upgrade-manager/upgrade-manager/indexer/notify"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations"
)

// DBTX is what the store's functions run on: *pgxpool.Pool, *pgx.Conn and
// pgx.Tx all implement it. Begin on a pgx.Tx opens a savepoint, so a function
// that needs a transaction of its own nests inside the caller's.
type DBTX interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Commitment is the commitment level a transaction was read at: the
// project's one commitment type, package commitment's.
type Commitment = commitment.Level

// The commitments the event log records.
const (
	Confirmed = commitment.Confirmed
	Finalized = commitment.Finalized
)

// NotifyChannel is the channel ApplyBatch, Rebuild and Revert notify once per
// committed transaction (the contract lives in package notify).
const NotifyChannel = notify.Channel

// Notification is the JSON payload of every NOTIFY on NotifyChannel.
type Notification = notify.Payload

// Why projections were rebuilt (Notification.Reason).
const (
	RebuildRevert = notify.RebuildRevert
	RebuildLate   = notify.RebuildLate
	RebuildReplay = notify.RebuildReplay
	RebuildReset  = notify.RebuildReset
)

// Transaction is one transaction of the program as the indexer applies it:
// where it landed, whether it failed, and the events decoded from it.
type Transaction struct {
	Signature string
	Slot      uint64
	// BlockIndex is the transaction's position in its block, or -1 when the
	// block could not be read.
	BlockIndex int
	BlockTime  *time.Time
	Failed     bool
	Commitment Commitment
	// Events in the order the program emitted them.
	Events []Event
	// DeadLetters are what the decoder could not turn into events.
	DeadLetters []DeadLetter
	// Raw is the getTransaction result the transaction was decoded from,
	// kept with it when the database refuses its rows (RefuseTransaction).
	Raw json.RawMessage
}

// Event is one decoded program event at its position in the transaction.
type Event struct {
	InstructionIndex int
	// InnerIndex is the index of the inner instruction that carried the
	// event, -1 for a top-level instruction.
	InnerIndex int
	// Ordinal is the event's position among the events of its instruction.
	Ordinal int
	// Event is the decoded event, one of the upgrademanager event types:
	// the log stores its EventName and its JSON rendering (AppendJSON), and
	// the projections fold it.
	Event um.Event
	// Raw is discriminator || borsh fields as the program emitted them. A
	// rebuild decodes the log from it.
	Raw []byte
}

// Name is the event's IDL name, e.g. ProposalCreated; "" without an event.
func (e *Event) Name() string {
	if e.Event == nil {
		return ""
	}
	return e.Event.EventName()
}

// DeadLetter is something the decoder rejected, kept with its raw bytes.
type DeadLetter struct {
	// InstructionIndex and InnerIndex locate the rejected instruction; nil
	// when the whole transaction was rejected.
	InstructionIndex *int
	InnerIndex       *int
	Reason           string
	Raw              []byte
}

// lockWriter takes the database's transaction-scoped writer lock and
// checks that the database is programID's deployment, claiming it when
// unclaimed (an error wrapping ErrOtherDeployment when another program
// claimed it). Every transaction that appends to chain_event takes it
// first, before it draws seqs, and holds it until it commits: so one
// transaction at a time draws seqs and commits, and seq order is commit
// order, which readers that page chain_event by seq rely on (a seq drawn
// by a transaction that commits after a higher one would be skipped by a
// reader already past the higher one). The lock is one per database, not
// per program, because the log is.
//
// It also makes the transaction plan every statement for its arguments: a
// cached generic plan chosen while the tables were small (a seq scan for
// "address = ANY($1)") would otherwise stick as they grow, until an
// ANALYZE, and the look-ups of every batch would scan whole tables.
func lockWriter(ctx context.Context, tx pgx.Tx, programID string) error {
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1)", migrations.LockKey(migrations.WriterLock))
	b.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
	var claimed string
	queueClaim(b, programID, &claimed)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return checkClaim(claimed, programID)
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
