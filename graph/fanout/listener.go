package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
	"github.com/upgrade-manager/upgrade-manager/indexer/notify"
)

// Channel is the notification channel the indexer signals committed
// batches on.
const Channel = notify.Channel

// ApplicationName is the listener connection's application_name, so
// operators can tell it apart in pg_stat_activity.
const ApplicationName = "upgrade_manager_graphql_listener"

// Listener follows Channel on one dedicated connection and publishes new
// events to a Broker.
//
// It relies on seq order being commit order, which holds while a single
// indexer writes the log (one batch transaction at a time).
type Listener struct {
	// DatabaseURL is the database to listen on.
	DatabaseURL string
	Broker      *Broker
	Logger      *slog.Logger
	Metrics     *Metrics // may be nil
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (defaults 100 ms and 10 s).
	MinBackoff, MaxBackoff time.Duration
	// BatchSize is how many events one query reads (default 1000).
	BatchSize int

	readyOnce sync.Once
	ready     chan struct{}
	initOnce  sync.Once
	connected atomic.Bool
}

func (l *Listener) init() {
	l.initOnce.Do(func() {
		l.ready = make(chan struct{})
		if l.MinBackoff <= 0 {
			l.MinBackoff = 100 * time.Millisecond
		}
		if l.MaxBackoff <= 0 {
			l.MaxBackoff = 10 * time.Second
		}
		if l.BatchSize <= 0 {
			l.BatchSize = 1000
		}
		if l.Logger == nil {
			l.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Ready is closed once the listener first listens: every event committed
// after that reaches the broker.
func (l *Listener) Ready() <-chan struct{} {
	l.init()
	return l.ready
}

// Connected reports whether the listener's connection is up.
func (l *Listener) Connected() bool { return l.connected.Load() }

// Run listens until ctx ends, reconnecting with exponential backoff (with
// jitter, so that replicas do not reconnect in step), and
// returns nil then. Events committed before the first connection are not
// published: subscribers that want history read it with a cursor.
func (l *Listener) Run(ctx context.Context) error {
	l.init()
	var (
		cursor  int64
		started bool
	)
	b := backoff.Backoff{Min: l.MinBackoff, Max: l.MaxBackoff}
	for {
		listened, err := l.session(ctx, &cursor, &started)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			b.Reset()
		}
		wait := b.Next()
		l.Logger.Warn("listener connection lost", slog.Any("error", err), slog.Duration("retry_in", wait))
		if backoff.Sleep(ctx, wait) != nil {
			return nil
		}
		l.Metrics.reconnected()
	}
}

// session runs one connection: LISTEN, catch up after *cursor, then
// publish on every notification. It reports whether it got to listen.
func (l *Listener) session(ctx context.Context, cursor *int64, started *bool) (bool, error) {
	cc, err := pgx.ParseConfig(l.DatabaseURL)
	if err != nil {
		return false, fmt.Errorf("parse database URL: %w", err)
	}
	cc.RuntimeParams["application_name"] = ApplicationName
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	st := store.New(conn)
	if !*started {
		// LISTEN came first, so nothing committed after this read is missed.
		if *cursor, err = st.LastSeq(ctx); err != nil {
			return false, fmt.Errorf("read last seq: %w", err)
		}
		*started = true
	} else {
		// A rebuilt notification sent while the connection was down is
		// lost with it; a log that now ends below what was published says
		// events were reverted meanwhile.
		last, err := st.LastSeq(ctx)
		if err != nil {
			return false, fmt.Errorf("read last seq: %w", err)
		}
		if last < *cursor {
			l.Logger.Info("events were reverted while the listener was reconnecting; ending subscriptions so clients refetch",
				slog.Int64("last_seq", last), slog.Int64("published_seq", *cursor))
			l.Broker.Rebuild(&Rebuilt{LastSeq: last, PublishedSeq: *cursor})
		}
	}
	l.connected.Store(true)
	l.Metrics.setConnected(true)
	defer func() {
		l.connected.Store(false)
		l.Metrics.setConnected(false)
	}()
	l.readyOnce.Do(func() { close(l.ready) })

	if err := l.catchUp(ctx, st, cursor); err != nil {
		return true, err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		l.Metrics.notified()
		// Decoded leniently: the indexer may add fields, which pass through.
		note, err := notify.Decode(n.Payload)
		decoded := err == nil
		if decoded && !note.Rebuilt && note.LastSeq > 0 && note.LastSeq <= *cursor {
			continue // already published: a notification queued behind one we caught up past
		}
		published := *cursor
		if err := l.catchUp(ctx, st, cursor); err != nil {
			return true, err
		}
		if decoded && note.Rebuilt {
			var raw map[string]any
			_ = json.Unmarshal([]byte(n.Payload), &raw)
			r := &Rebuilt{LastSeq: note.LastSeq, PublishedSeq: max(published, *cursor), Slot: note.Slot, Notification: raw}
			l.Logger.Info("indexer rebuilt its projections; ending subscriptions so clients refetch",
				slog.Int64("last_seq", r.LastSeq), slog.Int64("published_seq", r.PublishedSeq),
				slog.Uint64("slot", r.Slot), slog.Bool("reverted", r.Reverted()), slog.Int("subscriptions", l.Broker.Subscribers()))
			l.Broker.Rebuild(r)
		}
	}
}

// catchUp publishes every event after *cursor and advances it.
func (l *Listener) catchUp(ctx context.Context, st *store.Store, cursor *int64) error {
	for {
		events, err := st.EventsAfter(ctx, *cursor, nil, l.BatchSize)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		l.Broker.Publish(events)
		*cursor = events[len(events)-1].Seq
		if len(events) < l.BatchSize {
			return nil
		}
	}
}
