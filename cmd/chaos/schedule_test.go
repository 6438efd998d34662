package main

import (
	"reflect"
	"testing"
	"time"
)

func TestScheduleIsSeededAndCoversEveryClass(t *testing.T) {
	const window = 90 * time.Second
	a := Schedule(42, window, 5, AllFaults)
	b := Schedule(42, window, 5, AllFaults)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two schedules")
	}
	if c := Schedule(43, window, 5, AllFaults); reflect.DeepEqual(a, c) {
		t.Fatal("another seed gave the same schedule")
	}
	if len(a) != 5*len(AllFaults) {
		t.Fatalf("%d faults, want %d", len(a), 5*len(AllFaults))
	}
	count := map[FaultClass]int{}
	for i, f := range a {
		count[f.Class]++
		if f.At < 0 || f.At >= window {
			t.Fatalf("fault %v outside the window", f)
		}
		if i > 0 && a[i-1].At > f.At {
			t.Fatalf("not sorted at %d", i)
		}
	}
	for _, c := range AllFaults {
		if count[c] != 5 {
			t.Fatalf("%s injected %d times, want 5", c, count[c])
		}
	}
}
