package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func events(from, n int) []*store.Event {
	out := make([]*store.Event, n)
	for i := range out {
		out[i] = &store.Event{Seq: int64(from + i), Name: "E"}
	}
	return out
}

// A subscriber that does not read is dropped with ErrSlowSubscriber once
// its buffer is full; the others keep receiving everything, and publishing
// never waits for anyone.
func TestSlowSubscriberIsDroppedWithoutBlockingOthers(t *testing.T) {
	t.Parallel()
	b := fanout.NewBroker(nil)
	slow := b.Subscribe(nil, 4)
	fast := b.Subscribe(nil, 4)
	filtered := b.Subscribe(func(e *store.Event) bool { return e.Seq%2 == 0 }, 4)

	got := make(chan int64, 100)
	go func() {
		for e := range fast.Events() {
			got <- e.Seq
		}
		close(got)
	}()
	for i := 1; i <= 20; i++ {
		b.Publish(events(i, 1))
		// Wait for the fast reader so only the slow one overflows.
		if seq := <-got; seq != int64(i) {
			t.Fatalf("fast subscriber got %d, want %d", seq, i)
		}
		if i%2 == 0 {
			if e := <-filtered.Events(); e.Seq != int64(i) {
				t.Fatalf("filtered subscriber got %d, want %d", e.Seq, i)
			}
		}
	}
	for range slow.Events() {
		// drain what was buffered before the drop
	}
	if !errors.Is(slow.Err(), fanout.ErrSlowSubscriber) {
		t.Errorf("slow subscriber ended with %v, want ErrSlowSubscriber", slow.Err())
	}
	if n := b.Subscribers(); n != 2 {
		t.Errorf("subscribers = %d, want 2", n)
	}
	fast.Close()
	fast.Close() // harmless
	b.Close()
	for range filtered.Events() {
	}
	if !errors.Is(filtered.Err(), fanout.ErrBrokerClosed) {
		t.Errorf("after Close: %v, want ErrBrokerClosed", filtered.Err())
	}
}

func insertEvent(t *testing.T, pool *pgxpool.Pool, i int) {
	t.Helper()
	_, err := pool.Exec(t.Context(), `INSERT INTO chain_event
		(signature, instruction_index, inner_index, ordinal, slot, name, data, raw, commitment)
		VALUES ($1, 0, -1, 0, $2, 'E', '{}', '', 'confirmed')`, fmt.Sprintf("sig%d", i), i)
	if err != nil {
		t.Fatal(err)
	}
}

// After its connection is killed, the listener reconnects and publishes
// what was committed while it was away, in order, without a notification.
func TestListenerCatchesUpAfterReconnect(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	insertEvent(t, pool, 0) // history: not published

	b := fanout.NewBroker(nil)
	sub := b.Subscribe(nil, 100)
	l := &fanout.Listener{DatabaseURL: url, Broker: b, MinBackoff: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	<-l.Ready()

	notify := func() {
		if _, err := pool.Exec(t.Context(), `SELECT pg_notify($1, '{"last_seq": 0}')`, fanout.Channel); err != nil {
			t.Fatal(err)
		}
	}
	insertEvent(t, pool, 1)
	notify()
	expect(t, sub, 2)

	// Kill the listener's connection, then commit without notifying: the
	// notifications of that time are lost with the connection.
	killListener(t, pool)
	insertEvent(t, pool, 2)
	insertEvent(t, pool, 3)
	expect(t, sub, 3)
	expect(t, sub, 4)
}

// killListener ends the listener connections on the test's own database
// (the cluster is shared with other tests' listeners) and fails unless it
// ended one.
func killListener(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var killed int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, fanout.ApplicationName).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("ended %d listener connections on this test's database, want 1", killed)
	}
}

func expect(t *testing.T, sub *fanout.Subscription, seq int64) {
	t.Helper()
	select {
	case e := <-sub.Events():
		if e.Seq != seq {
			t.Fatalf("got seq %d, want %d", e.Seq, seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("seq %d not published", seq)
	}
}

// A rebuilt notification ends every subscription, after the events queued
// to it, with a *Rebuilt that says whether published events were removed
// and carries the payload's fields, those the listener does not know
// included. A notification that is not JSON is read as "new events".
func TestRebuiltEndsSubscriptions(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b := fanout.NewBroker(nil)
	sub := b.Subscribe(nil, 100)
	l := &fanout.Listener{DatabaseURL: url, Broker: b}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-l.Ready()

	notify := func(payload string) {
		if _, err := pool.Exec(t.Context(), `SELECT pg_notify($1, $2)`, fanout.Channel, payload); err != nil {
			t.Fatal(err)
		}
	}
	insertEvent(t, pool, 1)
	insertEvent(t, pool, 2)
	notify("not json")
	expect(t, sub, 1)
	expect(t, sub, 2)
	// The indexer reverts seq 2 and says so, with a field of a later version.
	if _, err := pool.Exec(t.Context(), `DELETE FROM chain_event WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	notify(`{"last_seq": 1, "slot": 7, "rebuilt": true, "reverted_signatures": ["sig2"]}`)
	select {
	case e, ok := <-sub.Events():
		if ok {
			t.Fatalf("got event %d after the revert, want the end", e.Seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscription not ended by the rebuilt notification")
	}
	var r *fanout.Rebuilt
	if !errors.As(sub.Err(), &r) {
		t.Fatalf("ended with %v, want *Rebuilt", sub.Err())
	}
	if !r.Reverted() || r.LastSeq != 1 || r.PublishedSeq != 2 || r.Slot != 7 {
		t.Errorf("rebuilt = %+v, want reverted after seq 1 of 2 published, slot 7", r)
	}
	if fmt.Sprint(r.Notification["reverted_signatures"]) != "[sig2]" {
		t.Errorf("unknown field lost: %v", r.Notification)
	}
	// Subscriptions made afterwards carry on.
	after := b.Subscribe(nil, 10)
	insertEvent(t, pool, 3)
	notify(`{"last_seq": 3, "slot": 8}`)
	expect(t, after, 3)
}

// Events reverted while the listener's connection was down (so their
// rebuilt notification was lost) still end the subscriptions, once the
// listener is back and finds the log shorter than what it published.
func TestRevertWhileReconnectingEndsSubscriptions(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b := fanout.NewBroker(nil)
	sub := b.Subscribe(nil, 100)
	l := &fanout.Listener{DatabaseURL: url, Broker: b, MinBackoff: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-l.Ready()
	insertEvent(t, pool, 1)
	if _, err := pool.Exec(t.Context(), `SELECT pg_notify($1, '{"last_seq": 1}')`, fanout.Channel); err != nil {
		t.Fatal(err)
	}
	expect(t, sub, 1)
	// The revert commits without a notification (as if it was lost), then
	// the connection drops.
	if _, err := pool.Exec(t.Context(), `DELETE FROM chain_event WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	killListener(t, pool)
	select {
	case e, ok := <-sub.Events():
		if ok {
			t.Fatalf("got event %d, want the end", e.Seq)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("subscription not ended after the revert")
	}
	var r *fanout.Rebuilt
	if !errors.As(sub.Err(), &r) || !r.Reverted() {
		t.Fatalf("ended with %v, want a reverted *Rebuilt", sub.Err())
	}
}
