package graph

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// backlogPage is how many events one backlog query reads.
const backlogPage = 500

// stream runs a subscription. It subscribes to the broker first, then,
// when the client passed a cursor, sends the events after it from the log,
// then the live ones, skipping any seq already sent: subscribing before
// reading the backlog means nothing committed in between is lost, and the
// seq check means nothing is sent twice.
//
// match selects events (it runs on the broker's goroutine, so it only
// looks at the event); names, when not empty, narrows the backlog query to
// those event names. conv turns an event into a payload, or skips it.
//
// prime, when not nil, reads what the payloads of a backlog page will need
// in one query per table before the page is sent, so a replay does not
// read once per event.
func stream[T any](ctx context.Context, r *Resolver, after *string, names []string, match func(*store.Event) bool,
	prime func(context.Context, []*store.Event) error,
	conv func(context.Context, *store.Event) (T, bool, error)) (<-chan T, error) {
	var from int64
	if after != nil {
		seq, err := ParseEventCursor("after", *after)
		if err != nil {
			return nil, err
		}
		from = seq
	}
	sub := r.Broker.Subscribe(match, r.SubscriberBuffer)
	out := make(chan T)
	go func() {
		defer close(out)
		defer sub.Close()
		last := from
		send := func(e *store.Event) bool {
			if e.Seq <= last {
				return true
			}
			last = e.Seq
			v, ok, err := conv(ctx, e)
			if err != nil {
				r.fail(ctx, err)
				return false
			}
			if !ok {
				return true
			}
			select {
			case out <- v:
				return true
			case <-ctx.Done():
				return false
			}
		}

		if after != nil {
			for cursor := from; ; {
				events, err := r.Store.EventsAfter(ctx, cursor, names, backlogPage)
				if err == nil && prime != nil {
					matched := make([]*store.Event, 0, len(events))
					for _, e := range events {
						if match(e) {
							matched = append(matched, e)
						}
					}
					err = prime(ctx, matched)
				}
				if err != nil {
					r.fail(ctx, err)
					return
				}
				for _, e := range events {
					if match(e) && !send(e) {
						return
					}
				}
				if len(events) < backlogPage {
					break
				}
				cursor = events[len(events)-1].Seq
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					// ErrBrokerClosed: the server is shutting down and
					// completes the subscription; the client resumes elsewhere.
					var rebuilt *fanout.Rebuilt
					if err := sub.Err(); errors.As(err, &rebuilt) {
						addSubscriptionError(ctx, rebuiltError(rebuilt, last))
					} else if errors.Is(err, fanout.ErrSlowSubscriber) {
						addSubscriptionError(ctx, &gqlerror.Error{
							Message:    "subscription ended: the client fell too far behind; resubscribe with after: the last cursor received",
							Extensions: map[string]any{"code": CodeSlowConsumer},
						})
					} else if err != nil && !errors.Is(err, fanout.ErrBrokerClosed) {
						r.fail(ctx, err)
					}
					return
				}
				if !send(e) {
					return
				}
			}
		}
	}()
	return out, nil
}

// fail ends a subscription with an internal error, logging its cause.
func (r *Resolver) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // the client left; nothing failed
	}
	r.Logger.ErrorContext(ctx, "subscription failed", slog.Any("error", err))
	addSubscriptionError(ctx, &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": CodeInternal}})
}

// primeProposals reads the proposals that events name in one query and
// hands each event's shared loaders its proposal.
func (r *Resolver) primeProposals(ctx context.Context, events []*store.Event) error {
	var keys []string
	for _, e := range events {
		if e.Proposal != "" {
			keys = append(keys, e.Proposal)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	m, err := r.Store.ProposalsByAddress(ctx, keys)
	if err != nil {
		return err
	}
	for _, e := range events {
		if p, ok := m[e.Proposal]; ok {
			r.shared.forSeq(r.Store, e.Seq).Proposal().Prime(e.Proposal, p)
		}
	}
	return nil
}

// primeMigrations does for migration jobs what primeProposals does for
// proposals.
func (r *Resolver) primeMigrations(ctx context.Context, events []*store.Event) error {
	var keys []string
	for _, e := range events {
		if e.Job != "" {
			keys = append(keys, e.Job)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	m, err := r.Store.MigrationsByAddress(ctx, keys)
	if err != nil {
		return err
	}
	for _, e := range events {
		if j, ok := m[e.Job]; ok {
			r.shared.forSeq(r.Store, e.Seq).Migration().Prime(e.Job, j)
		}
	}
	return nil
}

// rebuiltError tells a subscriber that the indexer rebuilt its projections:
// REVERTED when events this server had pushed were removed (a revert),
// RESYNC when rows changed without that (a replay, a late transaction).
// The subscription ends: the client refetches what it shows, then
// resubscribes with after: extensions.cursor.
func rebuiltError(r *fanout.Rebuilt, sent int64) *gqlerror.Error {
	// Nothing was removed on a RESYNC: everything sent is still in the log, so the client
	// resumes after it (resuming after LastSeq would send again what came after the rebuild).
	resume := sent
	if r.Reverted() {
		resume = min(sent, r.LastSeq)
	}
	ext := map[string]any{
		"code":   CodeResync,
		"cursor": EventCursor(resume),
		"slot":   strconv.FormatUint(r.Slot, 10),
	}
	if r.Notification != nil {
		ext["notification"] = r.Notification
	}
	msg := "subscription ended: the indexer rebuilt its projections, so rows may have changed without a new event; " +
		"refetch what you show, then resubscribe with after: extensions.cursor"
	if r.Reverted() {
		ext["code"] = CodeReverted
		ext["revertedAfter"] = EventCursor(r.LastSeq)
		ext["yoursReverted"] = sent > r.LastSeq
		msg = "subscription ended: events after extensions.revertedAfter were reverted (their slot was abandoned); " +
			"refetch what you show, then resubscribe with after: extensions.cursor"
	}
	return &gqlerror.Error{Message: msg, Extensions: ext}
}
