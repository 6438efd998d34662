package graph

import (
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// A shared subscriber's queue hands out responses in order, reusing its
// front as it is taken, refuses one past its buffer (the publisher then
// ends it with SLOW_CONSUMER), and reports its end only after what it
// had queued.
func TestShareMemberQueue(t *testing.T) {
	t.Parallel()
	const buffer = 4
	m := &shareMember{wake: make(chan struct{}, 1)}
	rs := make([]*sharedResponse, 40)
	for i := range rs {
		rs[i] = &sharedResponse{}
	}
	take := func(want *sharedResponse) {
		t.Helper()
		r, ended, _ := m.take()
		if r != want || ended {
			t.Fatalf("took %p (ended %v), want %p", r, ended, want)
		}
	}

	// Always one behind, with one to three new each event: the queue
	// keeps order, reuses its front and never holds more than the buffer.
	next, put := 0, 0
	if !m.put(rs[put], buffer) {
		t.Fatal("first put refused")
	}
	put++
	for round := range 12 {
		k := round%3 + 1
		for range k {
			if !m.put(rs[put], buffer) {
				t.Fatalf("round %d: put %d refused with %d queued", round, put, put-next)
			}
			put++
		}
		for range k {
			take(rs[next])
			next++
		}
		if n := len(m.queue) - m.head; n != put-next {
			t.Fatalf("round %d: %d queued, want %d", round, n, put-next)
		}
		if cap(m.queue) > 2*buffer {
			t.Fatalf("round %d: queue grew to %d for at most %d queued", round, cap(m.queue), buffer)
		}
	}
	for next < put {
		take(rs[next])
		next++
	}
	if r, ended, _ := m.take(); r != nil || ended {
		t.Fatalf("drained queue took %p, ended %v", r, ended)
	}

	for i := range buffer {
		if !m.put(rs[i], buffer) {
			t.Fatalf("put %d of %d refused", i+1, buffer)
		}
	}
	if m.put(rs[buffer], buffer) {
		t.Fatal("a put past the buffer was accepted")
	}
	errs := []*gqlerror.Error{{Message: "ended"}}
	m.close(errs)
	m.close(nil) // only the first close counts
	for i := range buffer {
		take(rs[i])
	}
	r, ended, got := m.take()
	if r != nil || !ended || len(got) != 1 || got[0] != errs[0] {
		t.Fatalf("after the queue: %p, ended %v, errors %v; want the first close's errors", r, ended, got)
	}
	if !m.put(rs[0], buffer) {
		t.Fatal("a put to an ended member reported overflow")
	}
	if r, _, _ := m.take(); r != nil {
		t.Fatal("an ended member queued a response")
	}
}
