package localnettest

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
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

	"github.com/gagliardetto/solana-go"
)

// ManagerProgramID is upgrade_manager's program id.
var ManagerProgramID = solana.MustPublicKeyFromBase58("UpgradeMgr111111111111111111111111111111111")

// PerpProgramID is perp_market's program id.
var PerpProgramID = solana.MustPublicKeyFromBase58("PerpMarket111111111111111111111111111111111")

// DefaultTargetDir is where the workspace's cargo builds go unless CARGO_TARGET_DIR says otherwise.
const DefaultTargetDir = "/var/cache/upgrade-manager/target"

// Options configure a node. The zero value is a node with 100 ms slots and a
// finalization depth of 8, funding nothing but its built-in accounts.
type Options struct {
	// SlotTime is the slot duration (default 100ms).
	SlotTime time.Duration
	// FinalizationDepth is how many slots are built on a slot before it is
	// finalized (default 8).
	FinalizationDepth int
	// Fund lists accounts funded at genesis with FundSOL each.
	Fund []solana.PublicKey
	// FundSOL is the SOL each funded account gets (default 1000).
	FundSOL float64
	// Args are extra flags for the binary (see `localnet --help`).
	Args []string
	// Stderr receives the node's log output (default: discarded).
	Stderr io.Writer
}

// Node is a running localnet.
type Node struct {
	// RPCURL is the HTTP JSON-RPC endpoint.
	RPCURL string
	// WSURL is the WebSocket endpoint.
	WSURL string
	// Target is the upgradeable SBF program (SPL Memo 3.0's ELF on loader v3).
	Target solana.PublicKey
	// Deployer is the target's upgrade authority at genesis, funded with 100 SOL.
	Deployer solana.PrivateKey
	// Banner is what the node printed on start.
	Banner string

	cmd      *exec.Cmd
	done     chan struct{}
	stopOnce sync.Once

	// rollbackMu serializes Abandon; abandoned are the slots its
	// rollbacks abandoned.
	rollbackMu sync.Mutex
	abandoned  map[uint64]bool
	// beforeRollback, when set (tests), runs between Abandon's dev_status
	// and dev_rollback.
	beforeRollback func(try int)
}

// DeployerKey is the target's initial upgrade authority: a well-known development key whose
// 32-byte seed is 0xc9 repeated (the program tests use the same one).
func DeployerKey() solana.PrivateKey {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = 201
	}
	return solana.PrivateKey(ed25519.NewKeyFromSeed(seed))
}

// Start builds (once per process) and starts a node, and stops it when the test ends.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin, err := Binary(ctx)
	if err != nil {
		t.Fatalf("build localnet: %v", err)
	}
	startCtx, cancelStart := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStart()
	n, err := Run(startCtx, bin, opts)
	if err != nil {
		t.Fatalf("start localnet: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a built localnet binary: $LOCALNET_BIN, or the result of
// `cargo build -p localnet` (run at most once per process; cargo skips it when fresh).
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv("LOCALNET_BIN"); p != "" {
		return p, nil
	}
	// The build is shared by every test in the process: it is the one piece of package
	// state, set once and never changed.
	build.once.Do(func() { build.path, build.err = cargoBuild(ctx) })
	return build.path, build.err
}

func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")), nil
}

func cargoBuild(ctx context.Context) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	targetDir := os.Getenv("CARGO_TARGET_DIR")
	if targetDir == "" {
		targetDir = DefaultTargetDir
	}
	cmd := exec.CommandContext(ctx, "cargo", "build", "--quiet",
		"--manifest-path", filepath.Join(root, "program", "Cargo.toml"), "-p", "localnet")
	cmd.Env = append(os.Environ(), "CARGO_TARGET_DIR="+targetDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cargo build -p localnet: %w\n%s", err, out)
	}
	return filepath.Join(targetDir, "debug", "localnet"), nil
}

// Run starts the binary at bin on free ports and waits until it answers getHealth.
func Run(ctx context.Context, bin string, opts Options) (*Node, error) {
	slot := opts.SlotTime
	if slot == 0 {
		slot = 100 * time.Millisecond
	}
	depth := opts.FinalizationDepth
	if depth == 0 {
		depth = 8
	}
	args := []string{
		"--rpc-port", "0",
		"--slot-time-ms", strconv.FormatInt(max(1, slot.Milliseconds()), 10),
		"--finalization-depth", strconv.Itoa(depth),
		"--no-fund-keypair",
	}
	if opts.FundSOL > 0 {
		args = append(args, "--fund-sol", strconv.FormatFloat(opts.FundSOL, 'f', -1, 64))
	}
	for _, k := range opts.Fund {
		args = append(args, "--fund", k.String())
	}
	args = append(args, opts.Args...)

	cmd := exec.Command(bin, args...)
	cmd.Stderr = opts.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	// Its own process group, so that stopping it never signals the test binary's group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	n := &Node{cmd: cmd, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		ready <- n.readBanner(stdout)
		// Keep reading: the node's stdout must never fill up.
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(n.done)
	}()
	select {
	case err := <-ready:
		if err != nil {
			n.Stop()
			return nil, err
		}
	case <-ctx.Done():
		n.Stop()
		return nil, fmt.Errorf("wait for banner: %w", ctx.Err())
	}
	if err := n.waitHealthy(ctx); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

func (n *Node) readBanner(r io.Reader) error {
	sc := bufio.NewScanner(r)
	var b strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			n.Banner = b.String()
			n.Deployer = DeployerKey()
			if n.RPCURL == "" || n.WSURL == "" || n.Target.IsZero() {
				return fmt.Errorf("incomplete banner:\n%s", n.Banner)
			}
			return nil
		}
		b.WriteString(line + "\n")
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch key {
		case "JSON RPC URL":
			n.RPCURL = value
		case "WebSocket URL":
			n.WSURL = value
		case "upgradeable target":
			pk, err := solana.PublicKeyFromBase58(strings.Fields(value)[0])
			if err != nil {
				return fmt.Errorf("parse target %q: %w", value, err)
			}
			n.Target = pk
		}
	}
	return fmt.Errorf("localnet exited before it was ready:\n%s", b.String())
}

func (n *Node) waitHealthy(ctx context.Context) error {
	body := `{"jsonrpc":"2.0","id":1,"method":"getHealth"}`
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.RPCURL, strings.NewReader(body))
		if err != nil {
			return fmt.Errorf("health request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"ok"`) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for getHealth: %w", ctx.Err())
		case <-n.done:
			return errors.New("localnet exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the node and waits for it. Stopping twice is harmless.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		if n.cmd.Process != nil {
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-n.done:
			case <-time.After(5 * time.Second):
				_ = n.cmd.Process.Kill()
				<-n.done
			}
		}
	})
}
