package crank

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/migrations"
)

// leader holds a session-level PostgreSQL advisory lock on its own connection: the replica that
// holds it is the active one for its kind. Losing the connection loses the lock, so Lost reports
// that and the crank stops acting.
type leader struct {
	conn *pgx.Conn
	key  int64
}

// acquireLeadership blocks until this process holds the lock for kind or ctx ends, polling
// every interval; waiting is logged once.
func acquireLeadership(ctx context.Context, databaseURL, kind string, interval time.Duration, log *slog.Logger) (*leader, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect for the %s lock: %w", kind, err)
	}
	key := migrations.LockKey(migrations.CrankLock(kind))
	logged := false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("take the %s lock: %w", kind, err)
		}
		if ok {
			log.Info("active: holding the crank lock", "kind", kind)
			return &leader{conn: conn, key: key}, nil
		}
		if !logged {
			log.Info("standby: another replica holds the crank lock", "kind", kind)
			logged = true
		}
		select {
		case <-ctx.Done():
			conn.Close(context.Background())
			return nil, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// Check returns an error when the lock's connection is gone (and with it the lock).
func (l *leader) Check(ctx context.Context) error {
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("crank lock connection lost: %w", err)
	}
	return nil
}

// Release gives the lock up; releasing twice is harmless.
func (l *leader) Release() {
	if l == nil || l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	l.conn.Close(ctx)
	l.conn = nil
}
