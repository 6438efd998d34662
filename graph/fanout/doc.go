// Package fanout delivers the indexer's committed events to the GraphQL
// server's subscribers.
//
// The indexer sends one NOTIFY on the channel upgrade_manager_events per
// committed batch. Each server process holds one dedicated connection that
// LISTENs on it (a [Listener]); on every notification it reads the events
// after the last seq it has published and hands them to a [Broker], which
// fans them out to its subscribers in seq order. Any number of server
// replicas can do this on one database: each has its own listener.
//
// After the listener's connection is lost it reconnects with backoff and
// first reads everything after the last published seq, so a dropped
// connection delays events but never loses them. Notifications only say
// "read again"; the log itself, ordered by seq, is the truth.
//
// Each subscriber has a bounded buffer. Publishing never blocks: a
// subscriber whose buffer is full is dropped with [ErrSlowSubscriber], and
// the others carry on.
package fanout
