package fanout

import (
	"errors"
	"strconv"
	"sync"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// ErrSlowSubscriber ends a subscription whose buffer was full when an
// event had to be delivered to it.
var ErrSlowSubscriber = errors.New("subscriber too slow: buffer full")

// ErrBrokerClosed ends the subscriptions of a broker that was closed.
var ErrBrokerClosed = errors.New("broker closed")

// Rebuilt ends every subscription when the indexer rebuilt its projections
// (a revert, a replay, a reset): rows changed, or events disappeared,
// without a new seq, so subscribers must refetch what they show.
type Rebuilt struct {
	// LastSeq is the log's highest seq after the rebuild.
	LastSeq int64
	// PublishedSeq is the highest seq published before it; when above
	// LastSeq, the events after LastSeq that were published are gone.
	PublishedSeq int64
	// Slot is the highest slot of the committed change (0 on a reset).
	Slot uint64
	// Notification is the indexer's payload as it came, with any fields
	// this server does not know.
	Notification map[string]any
}

// Reverted reports whether published events were removed.
func (r *Rebuilt) Reverted() bool { return r.LastSeq < r.PublishedSeq }

func (r *Rebuilt) Error() string {
	if r.Reverted() {
		return "events after seq " + strconv.FormatInt(r.LastSeq, 10) + " were reverted"
	}
	return "projections were rebuilt"
}

// Broker fans events out to subscribers. It is safe for concurrent use.
type Broker struct {
	metrics *Metrics

	mu     sync.RWMutex
	subs   map[*Subscription]struct{}
	closed bool
}

// NewBroker returns a broker with no subscribers. metrics may be nil.
func NewBroker(metrics *Metrics) *Broker {
	return &Broker{metrics: metrics, subs: make(map[*Subscription]struct{})}
}

// Subscription is one subscriber's stream of events.
type Subscription struct {
	b      *Broker
	filter func(*store.Event) bool
	ch     chan *store.Event
	once   sync.Once
	err    error // set before ch is closed
}

// Subscribe registers a subscriber that receives, in seq order, every
// event published from now on for which filter (nil: all) returns true.
// buffer is how many undelivered events it may hold before it is dropped.
// filter runs on the publisher's goroutine and must be fast.
func (b *Broker) Subscribe(filter func(*store.Event) bool, buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	s := &Subscription{b: b, filter: filter, ch: make(chan *store.Event, buffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.end(ErrBrokerClosed)
		return s
	}
	b.subs[s] = struct{}{}
	b.metrics.subscribed(1)
	return s
}

// Events returns the subscription's channel. It is closed when the
// subscription ends; Err then says why.
func (s *Subscription) Events() <-chan *store.Event { return s.ch }

// Err returns why the subscription ended: ErrSlowSubscriber,
// ErrBrokerClosed, a *Rebuilt, or nil when its owner closed it. Call it only after the
// Events channel is closed: the close publishes the error.
func (s *Subscription) Err() error { return s.err }

// Close ends the subscription. Calling it more than once is harmless.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if _, ok := s.b.subs[s]; ok {
		delete(s.b.subs, s)
		s.b.metrics.subscribed(-1)
	}
	s.end(nil)
}

// end closes the channel once; the caller holds b.mu for writing or is the
// only one to know s.
func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.ch)
	})
}

// Publish delivers events, in seq order, to every matching subscriber and
// drops those whose buffer is full. It never blocks on a subscriber.
func (b *Broker) Publish(events []*store.Event) {
	if len(events) == 0 {
		return
	}
	var slow []*Subscription
	b.mu.RLock()
	for s := range b.subs {
		if !s.deliver(events) {
			slow = append(slow, s)
		}
	}
	b.mu.RUnlock()
	b.metrics.published(len(events))
	if len(slow) == 0 {
		return
	}
	b.mu.Lock()
	for _, s := range slow {
		if _, ok := b.subs[s]; ok {
			delete(b.subs, s)
			b.metrics.subscribed(-1)
			b.metrics.dropped()
			s.end(ErrSlowSubscriber)
		}
	}
	b.mu.Unlock()
}

// deliver queues the events that pass s's filter, and reports false when
// its buffer overflowed.
func (s *Subscription) deliver(events []*store.Event) bool {
	for _, e := range events {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			return false
		}
	}
	return true
}

// Rebuild ends every subscription with r after the events already
// queued to it. Subscriptions made later are not affected.
func (b *Broker) Rebuild(r *Rebuilt) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		delete(b.subs, s)
		b.metrics.subscribed(-1)
		s.end(r)
	}
}

// Subscribers returns the number of open subscriptions.
func (b *Broker) Subscribers() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs)
}

// Close ends every subscription with ErrBrokerClosed; later subscriptions
// end at once. Calling it more than once is harmless.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		b.metrics.subscribed(-1)
		s.end(ErrBrokerClosed)
	}
}
