package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
)

// TestStopLeavesNothingBehind runs the real dev binary with the localnet,
// indexer, GraphQL and both cranks, stops it with one signal sent to its
// process alone (as `kill PID` does), and checks that no process it started is
// left, that its ports are free again and that its temporary directory is empty.
func TestStopLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole dev environment")
	}
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
			defer cancel()
			env := startDev(ctx, t, "-demo=false")
			// Both cranks run in-process; each is up once dev printed its metrics URL.
			var mu sync.Mutex
			urls := map[string]string{}
			for k, v := range env.urls {
				urls[k] = v
			}
			go func() {
				for line := range env.lines {
					if k, v, ok := strings.Cut(line, "="); ok && strings.HasSuffix(k, "_URL") {
						mu.Lock()
						urls[k] = v
						mu.Unlock()
					}
				}
			}()
			var children []int
			eventually(t, time.Minute, func() bool {
				mu.Lock()
				defer mu.Unlock()
				children = descendants(env.cmd.Process.Pid)
				return urls["CRANK_EXECUTE_METRICS_URL"] != "" && urls["CRANK_MIGRATE_METRICS_URL"] != "" && urls["CRANK_CLOSE_METRICS_URL"] != "" &&
					countNamed(children, "localnet") == 1
			}, "dev to start the localnet and the three cranks")

			if err := env.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-env.exited:
				if err != nil {
					t.Fatalf("dev after %v: %v, want a clean exit", sig, err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("dev still running two minutes after %v", sig)
			}

			for _, pid := range children {
				if alive(pid) {
					t.Errorf("process %d (%s) still running after dev exited", pid, procName(pid))
				}
			}
			for _, p := range env.ports {
				assertFree(t, fmt.Sprintf("127.0.0.1:%d", p))
			}
			mu.Lock()
			for _, key := range []string{"GRAPHQL_URL", "INDEXER_METRICS_URL", "DATABASE_URL", "CRANK_EXECUTE_METRICS_URL", "CRANK_MIGRATE_METRICS_URL", "CRANK_CLOSE_METRICS_URL"} {
				assertFree(t, hostPort(t, urls[key]))
			}
			mu.Unlock()
			entries, err := os.ReadDir(env.tmp)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "dev.stderr" { // the test's own
					t.Errorf("left in the temporary directory: %s", e.Name())
				}
			}
		})
	}
}

// devEnv is a running dev binary started by startDev.
type devEnv struct {
	cmd    *exec.Cmd
	lines  <-chan string // stdout, line by line, after the URLs
	exited <-chan error
	urls   map[string]string // DATABASE_URL, GRAPHQL_URL, INDEXER_METRICS_URL
	rpcURL string
	ports  []int  // the localnet's RPC and WebSocket ports
	tmp    string // its TMPDIR
}

var devBuild struct {
	once sync.Once
	bin  string
	err  error
}

// startDev builds cmd/dev once per test binary and runs it from the repository root as
// `make dev` does, on free ports with a throwaway cluster and its own TMPDIR, in its own process
// group so that a signal goes to dev alone. It returns once dev printed its URLs.
func startDev(ctx context.Context, t *testing.T, args ...string) *devEnv {
	t.Helper()
	localnet, err := localnetTestBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	devBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "dev-test-bin-")
		if err != nil {
			devBuild.err = err
			return
		}
		devBuild.bin = filepath.Join(dir, "dev")
		if out, err := exec.Command("go", "build", "-o", devBuild.bin, ".").CombinedOutput(); err != nil {
			devBuild.err = fmt.Errorf("go build ./cmd/dev: %v\n%s", err, out)
		}
	})
	if devBuild.err != nil {
		t.Fatal(devBuild.err)
	}
	// Not t.TempDir: the postgres user must be able to enter it.
	tmp, err := os.MkdirTemp("", "dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	ports := freePorts(t, 2)
	full := append([]string{
		"-ephemeral",
		"-log-dir", filepath.Join(t.TempDir(), "logs"),
		"-graphql-addr", "127.0.0.1:0",
		"-indexer-metrics-addr", "127.0.0.1:0",
		"-crank-execute-metrics-addr", "127.0.0.1:0",
		"-crank-migrate-metrics-addr", "127.0.0.1:0",
		"-crank-close-metrics-addr", "127.0.0.1:0",
		"-localnet-args", fmt.Sprintf("--rpc-port %d --ws-port %d --slot-time-ms 100", ports[0], ports[1]),
	}, args...)
	cmd := exec.CommandContext(ctx, devBuild.bin, full...)
	cmd.Dir = root
	// Without the DATABASE_URL of `make test-go`: each dev starts its own cluster, as `make dev` would.
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") {
			environ = append(environ, kv)
		}
	}
	cmd.Env = append(environ, "LOCALNET_BIN="+localnet, "TMPDIR="+tmp)
	// Should this test binary die (a go test -timeout panic runs no cleanup), dev is told to stop
	// and stops what it started; Pdeathsig follows the thread that started it, hence the lock.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// A file, not the test's output: dev must be able to log its shutdown after this test is gone.
	logPath := filepath.Join(tmp, "dev.stderr")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("dev's stderr:\n%s", b)
			}
		}
	})
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	env := &devEnv{cmd: cmd, lines: lines, exited: exited, urls: map[string]string{}, ports: ports, tmp: tmp,
		rpcURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
	for _, key := range []string{"DATABASE_URL", "GRAPHQL_URL", "INDEXER_METRICS_URL"} {
		for env.urls[key] == "" {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("dev exited before printing %s: %v", key, <-exited)
				}
				if k, v, found := strings.Cut(line, "="); found && strings.HasSuffix(k, "_URL") {
					env.urls[k] = v
				}
			case <-ctx.Done():
				t.Fatalf("no %s: %v", key, ctx.Err())
			}
		}
	}
	return env
}

// localnetTestBinary is $LOCALNET_BIN or a fresh cargo build of the node.
func localnetTestBinary(ctx context.Context) (string, error) {
	bin, err := localnettest.Binary(ctx)
	if err != nil {
		return "", fmt.Errorf("build localnet: %w", err)
	}
	return filepath.Abs(bin)
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePorts returns n ports free now, below the kernel's range of
// ephemeral ports (/proc/sys/net/ipv4/ip_local_port_range). Listeners on
// port 0 and outgoing connections, which the tests running beside this one
// open by the thousand, take their ports from that range: one of them
// could take a port picked there between this check and the localnet
// binding it (it did: "localnet: start: Address already in use").
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	const floor = 10000
	top := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		_, _ = fmt.Sscan(string(b), &top)
	}
	if top <= floor+n {
		top = 65536 // an unusual range: any port, as before
	}
	var ls []net.Listener
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			t.Fatalf("no %d free ports in %d..%d", n, floor, top-1)
		}
		p := floor + rand.IntN(top-floor)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// assertFree fails when something still accepts connections on addr.
func assertFree(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = c.Close()
		t.Errorf("%s still accepts connections after dev exited", addr)
	}
}

func hostPort(t *testing.T, url string) string {
	t.Helper()
	rest := url
	if _, after, ok := strings.Cut(url, "://"); ok {
		rest = after
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		t.Fatalf("no host:port in %q: %v", url, err)
	}
	return rest
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := ppid(p); ok {
			parent[p] = pp
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func ppid(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

func procName(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	return strings.TrimSpace(string(b))
}

func countNamed(pids []int, name string) int {
	n := 0
	for _, p := range pids {
		if procName(p) == name {
			n++
		}
	}
	return n
}

// alive reports whether pid runs and is not a zombie waiting to be reaped.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}
