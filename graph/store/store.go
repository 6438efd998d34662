package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DBTX is what Store runs its queries on: a pool, a connection or a
// transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store reads the read model.
type Store struct {
	db DBTX
}

// New returns a Store that queries db.
func New(db DBTX) *Store { return &Store{db: db} }

// chainClock is the SQL expression of the chain's clock: the Clock
// sysvar's time the indexer last read (chain_tip), else the latest block
// time in the log (one probe of chain_event_block_time_idx), else now().
const chainClock = `coalesce((SELECT max(chain_time) FROM chain_tip), (SELECT max(block_time) FROM chain_event), now())`

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, db DBTX, what string, scan func(pgx.Row) (*T, error), sql string, args ...any) ([]*T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", what, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query %s: %w", what, err)
	}
	return out, nil
}

// byKey indexes rows by key.
func byKey[T any](rows []*T, key func(*T) string) map[string]*T {
	m := make(map[string]*T, len(rows))
	for _, r := range rows {
		m[key(r)] = r
	}
	return m
}

// groupBy groups rows by key, keeping their order.
func groupBy[T any](rows []*T, key func(*T) string) map[string][]*T {
	m := make(map[string][]*T)
	for _, r := range rows {
		m[key(r)] = append(m[key(r)], r)
	}
	return m
}

// where accumulates the conditions and arguments of a query.
type where struct {
	conds []string
	args  []any
}

// arg adds an argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) add(format string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = w.arg(a)
	}
	w.conds = append(w.conds, fmt.Sprintf(format, ph...))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page trims rows fetched with one extra row to limit, reports whether
// there were more, and restores the requested order of a backward page.
func page[T any](rows []*T, limit int, backward bool) ([]*T, bool) {
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if backward {
		slices.Reverse(rows)
	}
	return rows, more
}

// Page says which rows of an ordered list to return.
type Page[K any] struct {
	// After and Before bound the page, exclusive, in the list's order.
	After, Before *K
	// Limit is the most rows to return.
	Limit int
	// Backward takes the Limit rows nearest Before (last/before) instead
	// of those nearest After (first/after).
	Backward bool
}

// keyset adds the bounds of p on the key columns cols (a row constructor
// such as "(p.created_at, p.address)") ordered ascending unless desc, and
// returns the ORDER BY direction to scan in.
func keyset[K any](w *where, cols string, desc bool, p Page[K], vals func(*K) []any) string {
	afterOp, beforeOp := ">", "<"
	if desc {
		afterOp, beforeOp = "<", ">"
	}
	bound := func(op string, k *K) {
		vs := vals(k)
		ph := make([]string, len(vs))
		for i, v := range vs {
			ph[i] = w.arg(v)
		}
		w.conds = append(w.conds, fmt.Sprintf("%s %s (%s)", cols, op, strings.Join(ph, ", ")))
	}
	if p.After != nil {
		bound(afterOp, p.After)
	}
	if p.Before != nil {
		bound(beforeOp, p.Before)
	}
	if desc != p.Backward {
		return "DESC"
	}
	return "ASC"
}

// orderBy renders ORDER BY dir over the comma-separated columns.
func orderBy(dir string, cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + " " + dir
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

func (s *Store) count(ctx context.Context, what, sql string, args ...any) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", what, err)
	}
	return n, nil
}
