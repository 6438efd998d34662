package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"
)

// demoMembers is the size of the demo's governance; demoThreshold of them approve an upgrade.
const (
	demoMembers   = 5
	demoThreshold = 3
)

// demo plays a scripted story on the localnet through the member CLI (cmd/umctl), as members
// would: a 3-of-5 governance takes the example upgradeable program, a new binary is written to a
// buffer and proposed, approvals arrive a few seconds apart (one revoked and given again), the
// clock moves past the timelock, the timelock executor upgrades the program, the example
// migration target's accounts are migrated batch by batch by the migration driver, and a
// rollback is proposed and left for the user to approve. Then it prints where to look and what
// to type.
type demo struct {
	m       *Main
	log     *slog.Logger
	umctl   string
	rpcURL  string
	dir     string
	members []string // keypair files
	pause   time.Duration
}

// prepareDemo writes the members' keypairs and has the localnet fund them at genesis.
func (m *Main) prepareDemo() error {
	dir, err := m.demoDir()
	if err != nil {
		return err
	}
	for i := range demoMembers {
		path := filepath.Join(dir, fmt.Sprintf("member-%d.json", i+1))
		pub, err := ensureKeypair(path)
		if err != nil {
			return fmt.Errorf("demo member %d: %w", i+1, err)
		}
		m.demoMembers = append(m.demoMembers, path)
		m.Config.LocalnetArgs = append(m.Config.LocalnetArgs, "--fund", pub.String())
	}
	return nil
}

// demoDir keeps the demo's keys and binaries: next to the dev cluster, so the commands the demo
// prints keep working; in the run's temporary directory for a throwaway environment.
func (m *Main) demoDir() (string, error) {
	if m.Config.Ephemeral || m.Config.PGDir == "" {
		dir, err := m.runDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, "demo"), os.MkdirAll(filepath.Join(dir, "demo"), 0o700)
	}
	dir := filepath.Join(filepath.Dir(m.Config.PGDir), "demo")
	return dir, os.MkdirAll(dir, 0o700)
}

// runDemo plays the story once the node and the GraphQL server answer, then stays up: a story
// that fails says so and leaves the environment running for the user.
func (m *Main) runDemo(ctx context.Context) error {
	log := m.componentLogger("demo")
	d := &demo{m: m, log: log, members: m.demoMembers, pause: m.Config.DemoPause}
	d.rpcURL, _ = localnetURLs(m.Config.LocalnetArgs)
	err := d.play(ctx)
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		log.Error("the demo stopped; the environment stays up", slog.Any("error", err),
			slog.String("log", m.logPath("demo")))
	}
	<-ctx.Done()
	return nil
}

func (d *demo) play(ctx context.Context) error {
	var err error
	if d.dir, err = d.m.demoDir(); err != nil {
		return err
	}
	if d.umctl, err = d.m.goBinary(ctx, "umctl"); err != nil {
		return err
	}
	if err := waitHealthy(ctx, d.rpcURL); err != nil {
		return err
	}
	graphqlURL, err := d.m.graphqlURL(ctx)
	if err != nil {
		return err
	}
	var status struct {
		Target   string `json:"target"`
		Deployer string `json:"deployer"`
	}
	if err := d.rpc(ctx, "dev_status", []any{}, &status); err != nil {
		return err
	}
	deployer, err := d.m.writeDeployerKeypair()
	if err != nil {
		return err
	}
	target := status.Target
	member := func(i int) string { return d.members[i-1] }
	all := make([]string, len(d.members))
	for i, path := range d.members {
		pub, err := ensureKeypair(path)
		if err != nil {
			return err
		}
		all[i] = pub.String()
	}

	d.say("A %d-of-%d governance takes charge of the example program %s", demoThreshold, demoMembers, target)
	out, err := d.run(ctx, "init", "--keypair", member(1), "--member", strings.Join(all, ","),
		"--threshold", fmt.Sprint(demoThreshold), "--rollback-threshold", "2")
	if err != nil {
		return err
	}
	gov := out.str("governance")
	if _, err := d.run(ctx, "register", "--governance", gov, "--program", target, "--keypair", deployer, "--fee-payer", member(1)); err != nil {
		return err
	}

	v1 := filepath.Join(d.dir, "memo-v1.so")
	v2 := filepath.Join(d.dir, "token-v2.so")
	if _, err := d.run(ctx, "dump", target, v1); err != nil {
		return err
	}
	if _, err := d.run(ctx, "dump", solana.TokenProgramID.String(), v2); err != nil {
		return err
	}
	d.say("Member 1 writes the new binary to a buffer locked to the manager (%s)", filepath.Base(v2))
	out, err = d.run(ctx, "write-buffer", v2, "--program", target, "--keypair", member(1))
	if err != nil {
		return err
	}
	buffer := out.str("buffer")
	out, err = d.run(ctx, "propose", "upgrade", "--program", target, "--buffer", buffer, "--keypair", member(1),
		"--metadata-uri", "https://example.com/releases/v2")
	if err != nil {
		return err
	}
	proposal := out.str("proposal")
	d.say("Member 1 proposed the upgrade: proposal %s", proposal)

	for _, step := range []struct {
		member int
		verb   string
		say    string
	}{
		{1, "approve", fmt.Sprintf("Member 1 approves (1 of %d)", demoThreshold)},
		{2, "approve", fmt.Sprintf("Member 2 approves (2 of %d)", demoThreshold)},
		{2, "revoke", fmt.Sprintf("Member 2 revokes to check the binary first (1 of %d)", demoThreshold)},
		{2, "verify", "Member 2 verifies the buffer against their own build"},
		{2, "approve", fmt.Sprintf("Member 2 approves again (2 of %d)", demoThreshold)},
		{3, "approve", fmt.Sprintf("Member 3 approves (3 of %d): the timelock starts", demoThreshold)},
	} {
		if err := d.sleep(ctx); err != nil {
			return err
		}
		d.log.Info(step.say)
		args := []string{step.verb, proposal, "--keypair", member(step.member)}
		if step.verb == "verify" {
			args = append(args, "--so", v2)
		}
		if _, err := d.run(ctx, args...); err != nil {
			return err
		}
	}

	row, err := d.proposal(ctx, target, proposal)
	if err != nil {
		return err
	}
	if row.SecondsToEta != nil && *row.SecondsToEta > 0 {
		d.say("Advancing the localnet's clock %s, past the timelock", time.Duration(*row.SecondsToEta+5)*time.Second)
		if err := d.rpc(ctx, "dev_advanceClock", []any{*row.SecondsToEta + 5}, nil); err != nil {
			return err
		}
	}
	d.say("Waiting for the timelock executor to upgrade the program")
	if err := d.waitStatus(ctx, target, proposal, "Executed", 3*time.Minute); err != nil {
		return err
	}
	d.say("The timelock executor upgraded %s", target)

	owner, err := ensureKeypair(member(1))
	if err != nil {
		return err
	}
	if err := d.migrate(ctx, gov, member, owner); err != nil {
		return err
	}

	if err := d.sleep(ctx); err != nil {
		return err
	}
	d.say("Member 4 writes the previous release back to a buffer and proposes a rollback")
	out, err = d.run(ctx, "write-buffer", v1, "--program", target, "--keypair", member(4))
	if err != nil {
		return err
	}
	out, err = d.run(ctx, "propose", "rollback", "--program", target, "--buffer", out.str("buffer"), "--keypair", member(4),
		"--metadata-uri", "https://example.com/releases/v1")
	if err != nil {
		return err
	}
	rollback := out.str("proposal")
	if _, err := d.run(ctx, "approve", rollback, "--keypair", member(4)); err != nil {
		return err
	}
	d.say("Member 4 approved the rollback (1 of 2); it waits for one more")

	d.tour(graphqlURL, gov, target, rollback)
	return nil
}

// The query and the subscription the tour offers to paste into GraphiQL
// (the demo's test runs them there).
const (
	tourQuery        = `{ proposals(first: 5) { edges { node { address kind status approvalsNeeded pendingApprovers { address } eta executionWindowEndsAt } } } }`
	tourSubscription = `subscription { approvals { action member approvals threshold proposal { address status approvalsNeeded } } }`
)

// tour prints where to look and what to type next.
func (d *demo) tour(graphqlURL, gov, target, rollback string) {
	ui := strings.TrimSuffix(graphqlURL, "graphql")
	umctl := fmt.Sprintf("go run ./cmd/umctl --url %s", d.rpcURL)
	fmt.Fprintf(d.m.Stdout, `
The demo is done; the system stays up for you to explore.

GraphiQL: %s
  A query to paste:
    %s
  A subscription to paste (then approve below and watch it arrive):
    %s

Approve the pending rollback as member 5 with the CLI:
  %s approve %s --keypair %s
See the governance's proposals:
  %s status --governance %s --chain
Governance %s, program %s. Interrupt (Ctrl-C) to stop everything.
`, ui, tourQuery, tourSubscription, umctl, rollback, d.members[4], umctl, gov, gov, target)
}

func (d *demo) say(format string, args ...any) {
	d.log.Info(fmt.Sprintf(format, args...))
}

func (d *demo) sleep(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d.pause):
		return nil
	}
}

// output is umctl's --json answer.
type output map[string]any

func (o output) str(key string) string {
	s, _ := o[key].(string)
	return s
}

// run runs umctl with --json against the localnet and returns its answer; a refusal or failure
// becomes an error with umctl's message and hint.
func (d *demo) run(ctx context.Context, args ...string) (output, error) {
	full := append(append([]string{}, args...), "--url", d.rpcURL, "--json")
	cmd := exec.CommandContext(ctx, d.umctl, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	d.log.Debug("umctl", slog.String("args", strings.Join(args, " ")), slog.String("stdout", strings.TrimSpace(stdout.String())),
		slog.String("stderr", strings.TrimSpace(stderr.String())))
	var out output
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("umctl %s: %v: %s", strings.Join(args, " "), runErr, strings.TrimSpace(stderr.String()+stdout.String()))
	}
	if e, ok := out["error"].(map[string]any); ok {
		return nil, fmt.Errorf("umctl %s: %v: %v (%v)", strings.Join(args, " "), e["code"], e["message"], e["hint"])
	}
	if runErr != nil {
		return nil, fmt.Errorf("umctl %s: %w", strings.Join(args, " "), runErr)
	}
	return out, nil
}

// proposalRow is one row of `umctl status --json`.
type proposalRow struct {
	Address      string `json:"address"`
	Status       string `json:"status"`
	SecondsToEta *int64 `json:"secondsToEta"`
}

func (d *demo) proposal(ctx context.Context, program, address string) (proposalRow, error) {
	out, err := d.run(ctx, "status", "--program", program, "--chain")
	if err != nil {
		return proposalRow{}, err
	}
	raw, _ := json.Marshal(out["proposals"])
	var rows []proposalRow
	if err := json.Unmarshal(raw, &rows); err != nil {
		return proposalRow{}, fmt.Errorf("read umctl status: %w", err)
	}
	for _, r := range rows {
		if r.Address == address {
			return r, nil
		}
	}
	return proposalRow{}, fmt.Errorf("proposal %s not in umctl status", address)
}

func (d *demo) waitStatus(ctx context.Context, program, address, want string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		row, err := d.proposal(ctx, program, address)
		if err == nil && strings.EqualFold(row.Status, want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proposal %s is %q after %s, want %s (see %s)", address, row.Status, within, want, d.m.logPath("crank-execute"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// rpc calls one of the localnet's JSON-RPC methods.
func (d *demo) rpc(ctx context.Context, method string, params []any, result any) error {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.rpcURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: %d %s", method, r.Error.Code, r.Error.Message)
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(r.Result, result)
}

// errNoGraphQL is graphqlURL's answer when the server stopped before it listened.
var errNoGraphQL = errors.New("the GraphQL server did not start")
