// Package procsup runs the real binaries of a chaos run as child processes: it
// starts each in a process group of its own, restarts it when it dies, kills it
// with SIGKILL on demand, and proves at the end that none is left running.
package procsup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Spec describes one process.
type Spec struct {
	// Name identifies the process in logs and reports ("indexer-1").
	Name string
	Path string
	Args []string
	Env  []string
	// Output receives the process's stdout and stderr; nil discards them.
	Output io.Writer
	// RestartDelay is the pause before a restart (default 300 ms).
	RestartDelay time.Duration
}

// Supervisor owns a set of processes. Use New, Start each, and Stop at the end.
type Supervisor struct {
	log *slog.Logger

	mu    sync.Mutex
	procs map[string]*proc
	pids  map[int]string // every pid ever started, for the final check
	wg    sync.WaitGroup
}

type proc struct {
	spec       Spec
	cmd        *exec.Cmd
	exited     chan struct{}
	stopping   bool
	killing    *exec.Cmd // the run Kill ended on purpose
	kills      int
	crashes    int
	starts     int
	lastErrors []string
}

// New returns an empty Supervisor.
func New(log *slog.Logger) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{log: log, procs: map[string]*proc{}, pids: map[int]string{}}
}

// Start starts spec's process and keeps it running until Stop.
func (s *Supervisor) Start(spec Spec) error {
	if spec.RestartDelay == 0 {
		spec.RestartDelay = 300 * time.Millisecond
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.procs[spec.Name]; ok {
		return fmt.Errorf("process %s already started", spec.Name)
	}
	p := &proc{spec: spec}
	s.procs[spec.Name] = p
	return s.launchLocked(p)
}

func (s *Supervisor) launchLocked(p *proc) error {
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = append(os.Environ(), p.spec.Env...)
	out := p.spec.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: should the supervisor itself die, its children go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.spec.Name, err)
	}
	p.cmd = cmd
	p.starts++
	p.exited = make(chan struct{})
	s.pids[cmd.Process.Pid] = p.spec.Name
	s.wg.Add(1)
	go s.wait(p, cmd, p.exited)
	return nil
}

// wait reaps one run of p and restarts it unless it is being stopped or killed on purpose.
func (s *Supervisor) wait(p *proc, cmd *exec.Cmd, exited chan struct{}) {
	defer s.wg.Done()
	err := cmd.Wait()
	// Children the process left behind in its group go with it.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	close(exited)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.stopping {
		return
	}
	if p.cmd == cmd && p.killing != cmd {
		// Nobody asked for this exit: a crash, counted and restarted.
		p.crashes++
		msg := fmt.Sprintf("%v", err)
		p.lastErrors = append(p.lastErrors, msg)
		s.log.Warn("process exited by itself; restarting", slog.String("process", p.spec.Name), slog.String("exit", msg))
	}
	delay := p.spec.RestartDelay
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		time.Sleep(delay)
		s.mu.Lock()
		defer s.mu.Unlock()
		if p.stopping || p.cmd != cmd {
			return
		}
		if err := s.launchLocked(p); err != nil {
			s.log.Error("restart failed", slog.String("process", p.spec.Name), slog.Any("error", err))
		}
	}()
}

// Kill sends SIGKILL to name's process group; the process is restarted after its
// RestartDelay. It returns once the killed process has exited.
func (s *Supervisor) Kill(name string) error {
	s.mu.Lock()
	p, ok := s.procs[name]
	if !ok || p.cmd == nil {
		s.mu.Unlock()
		return fmt.Errorf("no process %s", name)
	}
	cmd, exited := p.cmd, p.exited
	p.kills++
	p.killing = cmd
	s.mu.Unlock()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	<-exited
	return nil
}

// Names lists the processes, sorted.
func (s *Supervisor) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.procs))
	for n := range s.procs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Stats are one process's counters.
type Stats struct {
	Starts, Kills, Crashes int
	// CrashErrors are the exit statuses of the crashes.
	CrashErrors []string
}

// Stats returns the counters of every process.
func (s *Supervisor) Stats() map[string]Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Stats{}
	for n, p := range s.procs {
		out[n] = Stats{Starts: p.starts, Kills: p.kills, Crashes: p.crashes, CrashErrors: append([]string(nil), p.lastErrors...)}
	}
	return out
}

// Stop sends SIGTERM to every process, SIGKILL to those still running after grace,
// and waits for all of them. Calling it twice is harmless.
func (s *Supervisor) Stop(grace time.Duration) {
	s.mu.Lock()
	var waits []chan struct{}
	var cmds []*exec.Cmd
	for _, p := range s.procs {
		p.stopping = true
		if p.cmd != nil {
			cmds = append(cmds, p.cmd)
			waits = append(waits, p.exited)
		}
	}
	s.mu.Unlock()
	for _, c := range cmds {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for i, w := range waits {
		select {
		case <-w:
		case <-deadline:
			_ = syscall.Kill(-cmds[i].Process.Pid, syscall.SIGKILL)
			<-w
		}
	}
	s.wg.Wait()
}

// Leftovers returns the processes this supervisor ever started that still run,
// as "name (pid N)"; empty after a clean Stop.
func (s *Supervisor) Leftovers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var left []string
	for pid, name := range s.pids {
		if alive(pid) {
			left = append(left, fmt.Sprintf("%s (pid %d)", name, pid))
		}
	}
	sort.Strings(left)
	return left
}

// alive reports whether pid runs (a zombie does not count: it has exited).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name's closing parenthesis.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' && i+2 < len(b) {
			return b[i+2] != 'Z' && b[i+2] != 'X'
		}
	}
	return true
}

// WaitRunning waits until name has been started at least n times and runs.
func (s *Supervisor) WaitRunning(ctx context.Context, name string, n int) error {
	for {
		s.mu.Lock()
		p, ok := s.procs[name]
		ready := ok && p.starts >= n && p.cmd != nil && alive(p.cmd.Process.Pid)
		s.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
