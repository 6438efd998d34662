package pgcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config says where and how to run a cluster.
type Config struct {
	// Dir is the cluster directory. It is created when missing and
	// initialized on first use.
	Dir string

	// Port is the TCP port on 127.0.0.1. Zero picks the port of the previous
	// start in Dir when it is still free, and a free port otherwise.
	Port int

	// Logger receives one line per step taken; nil discards them.
	Logger *slog.Logger
}

// Cluster is a running PostgreSQL server on a cluster directory.
type Cluster struct {
	dir    string
	bin    string
	port   int
	reused bool
	owner  *owner
	logger *slog.Logger
	// onStop runs after a successful Stop; StartTemp removes its directory.
	onStop func() error

	mu      sync.Mutex
	stopped bool
}

// Directory layout of a cluster.
const (
	dataDir  = "data"
	runDir   = "run"
	logFile  = "postgres.log"
	portFile = "port"
	lockFile = ".lock"
)

// Timeouts for pg_ctl and for a reused server to accept connections.
const (
	pgCtlTimeoutSeconds = 60
	reuseWait           = 15 * time.Second
)

// startAttempts bounds retries when another process takes the free port
// between picking it and the server binding it.
const startAttempts = 3

// Start starts a cluster in cfg.Dir, running initdb first when the directory
// holds none. When a server already runs on the directory, Start reuses it:
// the returned cluster reports Reused and its Stop leaves that server running
// for whoever started it.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pgcluster: Dir is empty")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("pgcluster: Port %d out of range", cfg.Port)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve cluster directory: %w", err)
	}
	if strings.ContainsAny(dir, `'"\`) {
		// pg_ctl passes the socket directory to postgres through a shell.
		return nil, fmt.Errorf("pgcluster: cluster directory %q contains a quote or backslash", dir)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	o, err := currentOwner(ctx)
	if err != nil {
		return nil, err
	}
	if err := o.mkdir(dir); err != nil {
		return nil, err
	}
	if err := o.ensureSearchable(dir); err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, filepath.Join(dir, lockFile))
	if err != nil {
		return nil, err
	}
	defer unlock()

	c := &Cluster{dir: dir, bin: bin, owner: o, logger: logger}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := o.mkdir(filepath.Join(dir, runDir)); err != nil {
		return nil, err
	}
	reused, err := c.reuse(ctx)
	if err != nil {
		return nil, err
	}
	if reused {
		logger.Info("reusing running postgres", slog.String("dir", dir), slog.Int("port", c.port))
		return c, nil
	}
	if err := c.start(ctx, cfg.Port); err != nil {
		return nil, err
	}
	logger.Info("started postgres", slog.String("dir", dir), slog.Int("port", c.port))
	return c, nil
}

// URL returns the connection URL of the cluster's postgres database as the
// postgres superuser.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Port returns the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Dir returns the absolute cluster directory.
func (c *Cluster) Dir() string { return c.dir }

// Reused reports whether Start found the server already running, in which
// case Stop leaves it running.
func (c *Cluster) Reused() bool { return c.reused }

// Stop shuts the server down with pg_ctl's fast mode, which disconnects
// clients, and waits for it to exit. It does nothing for a reused server and
// on every call after the first that succeeded.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if !c.reused {
		if err := stopServer(ctx, c.bin, c.owner, c.dir, "fast"); err != nil {
			return err
		}
		c.logger.Info("stopped postgres", slog.String("dir", c.dir), slog.Int("port", c.port))
	}
	if c.onStop != nil {
		if err := c.onStop(); err != nil {
			return err
		}
	}
	c.stopped = true
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	data := filepath.Join(c.dir, dataDir)
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return nil
	}
	c.logger.Info("initializing postgres cluster", slog.String("dir", c.dir))
	cmd := c.owner.command(ctx, c.dir, filepath.Join(c.bin, "initdb"),
		"-D", data,
		"-A", "trust",
		"-U", "postgres",
		"-E", "UTF8",
		// The C locale exists everywhere and sorts the same everywhere.
		"--no-locale",
		// Nothing here survives a crash anyway; see the package doc.
		"--no-sync",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", data, err, bytes.TrimSpace(out))
	}
	return nil
}

// reuse looks for a server already running on the directory. It removes the
// pid file of a server that died, because postgres itself only recognizes a
// dead postmaster by its pid being unused, and pids are reused, above all in
// containers.
func (c *Cluster) reuse(ctx context.Context) (bool, error) {
	pidPath := filepath.Join(c.dir, dataDir, "postmaster.pid")
	pid, port, err := readPidFile(pidPath)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !isPostgres(pid) {
		c.logger.Info("removing stale postgres pid file", slog.String("path", pidPath), slog.Int("pid", pid))
		if err := os.Remove(pidPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("remove stale pid file: %w", err)
		}
		return false, nil
	}
	c.port = port
	ctx, cancel := context.WithTimeout(ctx, reuseWait)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL())
		if err == nil {
			_ = conn.Close(ctx)
			c.reused = true
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("postgres (pid %d) runs on %s but accepts no connections on port %d: %w", pid, c.dir, port, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) start(ctx context.Context, port int) error {
	fixed := port != 0
	if !fixed {
		port = previousPort(filepath.Join(c.dir, portFile))
	}
	logPath := filepath.Join(c.dir, logFile)
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if port == 0 {
			if port, err = freePort(); err != nil {
				return err
			}
		}
		// Keep the previous run's log next to this one for post-mortems.
		_ = os.Rename(logPath, logPath+".1")
		opts := fmt.Sprintf("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "+
			"-p %d -k '%s' -c listen_addresses=127.0.0.1 -c max_connections=200",
			port, filepath.Join(c.dir, runDir))
		cmd := c.owner.command(ctx, c.dir, filepath.Join(c.bin, "pg_ctl"), "start",
			"-w", "-t", strconv.Itoa(pgCtlTimeoutSeconds),
			"-D", filepath.Join(c.dir, dataDir),
			"-l", logPath,
			"-o", opts,
		)
		// pg_ctl sends the server's output to the log file, so the server
		// does not hold our pipes open; the delay guards that assumption.
		cmd.WaitDelay = 5 * time.Second
		out, runErr := cmd.CombinedOutput()
		if runErr == nil {
			c.port = port
			if err := os.WriteFile(filepath.Join(c.dir, portFile), []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
				return fmt.Errorf("record port: %w", err)
			}
			return nil
		}
		serverLog := tail(logPath, 20)
		err = fmt.Errorf("start postgres on port %d: %w\n%s\n%s", port, runErr, bytes.TrimSpace(out), serverLog)
		if fixed || !strings.Contains(serverLog, "Address already in use") {
			return err
		}
		c.logger.Info("postgres port taken, retrying", slog.Int("port", port))
		port = 0
	}
	return err
}

// RestartImmediate restarts the server as a crash would: `pg_ctl restart -m
// immediate` ends every backend without a checkpoint, so the restart runs crash
// recovery, and clients see their connections cut. The server keeps its port and
// options. Fault-injection runs use it; it is an error on a reused server, which
// belongs to someone else.
func (c *Cluster) RestartImmediate(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("restart postgres: the cluster is stopped")
	}
	if c.reused {
		return errors.New("restart postgres: the server belongs to another process")
	}
	logPath := filepath.Join(c.dir, logFile)
	cmd := c.owner.command(ctx, c.dir, filepath.Join(c.bin, "pg_ctl"), "restart",
		"-m", "immediate", "-w", "-t", strconv.Itoa(pgCtlTimeoutSeconds),
		"-D", filepath.Join(c.dir, dataDir), "-l", logPath)
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("restart postgres in %s: %w: %s\n%s", c.dir, err, bytes.TrimSpace(out), tail(logPath, 20))
	}
	c.logger.Info("restarted postgres (immediate)", slog.String("dir", c.dir), slog.Int("port", c.port))
	return nil
}

// stopServer stops the server on dir unless none runs there.
func stopServer(ctx context.Context, bin string, o *owner, dir, mode string) error {
	data := filepath.Join(dir, dataDir)
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	cmd := o.command(ctx, dir, filepath.Join(bin, "pg_ctl"), "stop",
		"-w", "-t", strconv.Itoa(pgCtlTimeoutSeconds),
		"-D", data,
		"-m", mode,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(data, "postmaster.pid")); errors.Is(statErr, os.ErrNotExist) {
			// Stopped by someone else meanwhile: the goal is met.
			return nil
		}
		return fmt.Errorf("stop postgres in %s: %w: %s", dir, err, bytes.TrimSpace(out))
	}
	return nil
}

// readPidFile returns the pid (line 1) and port (line 4) of postmaster.pid.
func readPidFile(path string) (pid, port int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read pid file: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		// A pid file is written in pieces while the server starts; one that
		// is still this short belongs to a server that never got going.
		return 0, 0, nil
	}
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		return 0, 0, fmt.Errorf("parse pid in %s: %w", path, err)
	}
	port, err = strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, 0, fmt.Errorf("parse port in %s: %w", path, err)
	}
	return pid, port, nil
}

// isPostgres reports whether pid is a running postgres process. A killed
// postmaster stays a zombie until its parent (often an init that reaps
// lazily) collects it, and a zombie serves nothing.
func isPostgres(pid int) bool {
	if pid <= 0 {
		return false
	}
	// /proc/PID/stat is "PID (COMM) STATE ..."; COMM may hold spaces and
	// parentheses, so split at the last ')'.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open || end+2 >= len(stat) {
		return false
	}
	comm, state := string(stat[open+1:end]), stat[end+2]
	return comm == "postgres" && state != 'Z' && state != 'X'
}

func previousPort(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || port <= 0 || port > 65535 {
		return 0
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0
	}
	_ = l.Close()
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockDir takes an exclusive flock on path so that two processes starting a
// cluster on the same directory do not both run initdb or pg_ctl start.
func lockDir(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock cluster directory: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock cluster directory: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of the file at path, or nothing.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err == nil && fi.Size() > 64<<10 {
		_, _ = f.Seek(-64<<10, io.SeekEnd)
	}
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
