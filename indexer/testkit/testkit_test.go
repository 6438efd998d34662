package testkit_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	testkit.Eventually(t, time.Minute, "the third poll", func() bool { return n.Add(1) >= 3 })
	if got := n.Load(); got != 3 {
		t.Fatalf("polled %d times, want 3", got)
	}
}

func TestEventuallyFailsWhenTheConditionNeverHolds(t *testing.T) {
	// A failure inside a subtest's own goroutine ends only that goroutine;
	// run it on a fake TB to see that it fails rather than returning.
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testkit.Eventually(ft, 30*time.Millisecond, "never", func() bool { return false })
	}()
	<-done
	if !ft.failed {
		t.Fatal("Eventually returned without failing for a condition that never held")
	}
}

type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(string, ...any) {
	f.failed = true
	runtimeGoexit()
}

func runtimeGoexit() { runtime.Goexit() }
