package procsup

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

func TestKillRestartsAndStopLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := New(nil)
	t.Cleanup(func() { s.Stop(time.Second) })
	// A process with a child of its own, which must die with it.
	script := `sleep 1000 & echo $! >> ` + filepath.Join(dir, "children") + `; wait`
	if err := s.Start(Spec{Name: "worker", Path: "/bin/sh", Args: []string{"-c", script}, RestartDelay: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// Ignores SIGTERM, so Stop must escalate.
	if err := s.Start(Spec{Name: "stubborn", Path: "/bin/sh", Args: []string{"-c", `trap '' TERM; while :; do sleep 0.05; done`}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitRunning(ctx, "worker", 1); err != nil {
		t.Fatal(err)
	}
	children := func() []int {
		b, _ := os.ReadFile(filepath.Join(dir, "children"))
		var pids []int
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			pids = append(pids, n)
		}
		return pids
	}
	testkit.Eventually(t, 0, "first child", func() bool { return len(children()) == 1 })
	if err := s.Kill("worker"); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitRunning(ctx, "worker", 2); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 0, "the killed run's child to die", func() bool { return !alive(children()[0]) })
	testkit.Eventually(t, 0, "second child", func() bool { return len(children()) == 2 })
	st := s.Stats()["worker"]
	if st.Kills != 1 || st.Starts != 2 || st.Crashes != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if err := s.Kill("nobody"); err == nil {
		t.Fatal("killing an unknown process succeeded")
	}

	s.Stop(300 * time.Millisecond)
	s.Stop(300 * time.Millisecond)
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("left running: %v", left)
	}
	for _, pid := range children() {
		if alive(pid) {
			t.Fatalf("child %d outlived Stop", pid)
		}
	}
}

func TestCrashIsCountedAndRestarted(t *testing.T) {
	s := New(nil)
	t.Cleanup(func() { s.Stop(time.Second) })
	if err := s.Start(Spec{Name: "crashy", Path: "/bin/sh", Args: []string{"-c", "exit 3"}, RestartDelay: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 0, "three crashes", func() bool { return s.Stats()["crashy"].Crashes >= 3 })
	st := s.Stats()["crashy"]
	if !strings.Contains(st.CrashErrors[0], "exit status 3") {
		t.Fatalf("crash errors = %v", st.CrashErrors)
	}
	s.Stop(time.Second)
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("left running: %v", left)
	}
}

func TestLeftoversSeesARunningProcess(t *testing.T) {
	s := New(nil)
	if err := s.Start(Spec{Name: "sleeper", Path: "/bin/sleep", Args: []string{"1000"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitRunning(ctx, "sleeper", 1); err != nil {
		t.Fatal(err)
	}
	if left := s.Leftovers(); len(left) != 1 || !strings.HasPrefix(left[0], "sleeper (pid ") {
		t.Fatalf("leftovers = %v", left)
	}
	s.Stop(time.Second)
	if left := s.Leftovers(); len(left) != 0 {
		t.Fatalf("left running after Stop: %v", left)
	}
}
