package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// IsDataError reports whether err is PostgreSQL refusing the data itself:
// SQLSTATE class 22 (data exception: a NUL in text, bad UTF-8, a value out
// of range), 23 (integrity constraint violation) or 54 (program limit
// exceeded: a value too large for an index row). Writing the same rows again
// fails the same way, so the indexer records the transaction as refused
// instead of retrying it. Every other error (a lost connection, 57P01 admin
// shutdown, 40001 serialization failure, 53xxx out of resources, a timeout)
// is an outage: the write is retried.
func IsDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

// sqlState returns err's SQLSTATE, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// RefuseTransaction records t, whose rows PostgreSQL refused with cause,
// as a refused transaction: ingested_transaction marks it refused (so the
// checkpoint passes it and re-delivery skips it), a dead letter of kind
// database holds its getTransaction result (t.Raw) and the error, the
// checkpoint moves to it and one NOTIFY goes out. A transaction already
// recorded is left as it is.
func RefuseTransaction(ctx context.Context, db DBTX, programID string, t Transaction, cause error) (Applied, error) {
	out := Applied{Events: map[string]int{}}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := lockWriter(ctx, tx, programID); err != nil {
			return fmt.Errorf("lock writer: %w", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO ingested_transaction (signature, program_id, slot, block_index,
				block_time, failed, event_count, commitment, refused)
			VALUES ($1, $2, $3, $4, $5, $6, 0, $7, true) ON CONFLICT (signature) DO NOTHING`,
			t.Signature, programID, int64(t.Slot), int32(t.BlockIndex), t.BlockTime, t.Failed,
			string(commitmentOr(t.Commitment)))
		if err != nil {
			return fmt.Errorf("record refused transaction: %w", err)
		}
		if tag.RowsAffected() == 0 {
			out.Duplicates = 1
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dead_letter (signature, slot, reason, raw, kind, sqlstate)
			VALUES ($1, $2, $3, $4, 'database', $5)`, t.Signature, int64(t.Slot), refusalReason(cause),
			[]byte(t.Raw), nullIfEmpty(sqlState(cause))); err != nil {
			return fmt.Errorf("record dead letter: %w", err)
		}
		out.Transactions, out.DeadLetters = 1, 1
		if err := advanceCheckpoint(ctx, tx, programID, t.Signature, t.Slot); err != nil {
			return err
		}
		out.Notification, err = sendNotification(ctx, tx, Notification{Slot: t.Slot})
		return err
	})
	if err != nil {
		return Applied{}, fmt.Errorf("refuse transaction %s: %w", t.Signature, err)
	}
	return out, nil
}

// refusalReason is the dead letter's reason for cause, storable as text.
func refusalReason(cause error) string {
	return storableText("database refused the transaction's rows: " + cause.Error())
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Refused is a transaction whose rows the database refused.
type Refused struct {
	Signature  string
	Slot       uint64
	BlockIndex int
	Commitment Commitment
	// Raw is the getTransaction result as it was fetched.
	Raw json.RawMessage
	// Reason is the last refusal's error; Attempts counts the refusals.
	Reason   string
	Attempts int
}

// RefusedTransactions returns programID's refused transactions in chain
// order.
func RefusedTransactions(ctx context.Context, db DBTX, programID string) ([]Refused, error) {
	rows, err := db.Query(ctx, `SELECT t.signature, t.slot, t.block_index, t.commitment, d.raw, d.reason, d.attempts
		FROM ingested_transaction t JOIN dead_letter d ON d.signature = t.signature AND d.kind = 'database'
		WHERE t.program_id = $1 AND t.refused
		ORDER BY t.slot, t.block_index, d.id`, programID)
	if err != nil {
		return nil, fmt.Errorf("list refused transactions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Refused, error) {
		var x Refused
		var slot int64
		var raw []byte
		err := r.Scan(&x.Signature, &slot, &x.BlockIndex, &x.Commitment, &raw, &x.Reason, &x.Attempts)
		x.Slot, x.Raw = uint64(slot), raw
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list refused transactions: %w", err)
	}
	return out, nil
}

// RetryRefused applies t, a refused transaction decoded again, in its place
// in chain order (the projections are rebuilt from the log when newer events
// exist, as for any late transaction), in one database transaction that
// also clears its refusal. When the database refuses it again, nothing
// changes but the dead letter's reason and attempt count, and the error is
// returned (IsDataError tells it apart from an outage).
func RetryRefused(ctx context.Context, db DBTX, programID string, t Transaction) (Applied, error) {
	var out Applied
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := lockWriter(ctx, tx, programID); err != nil {
			return fmt.Errorf("lock writer: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM ingested_transaction WHERE signature = $1 AND program_id = $2 AND refused`,
			t.Signature, programID)
		if err != nil {
			return fmt.Errorf("clear refusal: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("transaction %s is not a refused transaction of %s", t.Signature, programID)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dead_letter WHERE signature = $1 AND kind = 'database'`, t.Signature); err != nil {
			return fmt.Errorf("clear refusal: %w", err)
		}
		out, err = applyBatch(ctx, tx, programID, []Transaction{t})
		return err
	})
	if err == nil {
		return out, nil
	}
	if IsDataError(err) {
		if _, uerr := db.Exec(ctx, `UPDATE dead_letter SET reason = $2, sqlstate = $3, attempts = attempts + 1
			WHERE signature = $1 AND kind = 'database'`, t.Signature, refusalReason(err), nullIfEmpty(sqlState(err))); uerr != nil {
			return Applied{}, fmt.Errorf("retry refused transaction %s: %w (and recording it: %v)", t.Signature, err, uerr)
		}
	}
	return Applied{}, fmt.Errorf("retry refused transaction %s: %w", t.Signature, err)
}
