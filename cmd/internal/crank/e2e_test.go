package crank

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/system"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// world is a localnet, a read model kept by the real indexer binary, and keys to act with.
type world struct {
	t       *testing.T
	node    *localnettest.Node
	rpc     *rpc.Client
	dbURL   string
	db      *pgxpool.Pool
	payer   solana.PrivateKey
	members []solana.PrivateKey
	gov     solana.PublicKey
	spill   solana.PublicKey
}

var indexerBin struct {
	once sync.Once
	path string
	err  error
}

// startIndexer builds cmd/indexer once and runs it against the node and database until the
// test ends.
func startIndexer(t *testing.T, rpcURL, wsURL, dbURL string) {
	t.Helper()
	indexerBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "crank-e2e-indexer")
		if err != nil {
			indexerBin.err = err
			return
		}
		indexerBin.path = filepath.Join(dir, "indexer")
		out, err := exec.Command("go", "build", "-o", indexerBin.path, "../../indexer").CombinedOutput()
		if err != nil {
			indexerBin.err = fmt.Errorf("go build ./cmd/indexer: %v\n%s", err, out)
		}
	})
	if indexerBin.err != nil {
		t.Fatal(indexerBin.err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, indexerBin.path, "run",
		"-rpc-url", rpcURL, "-ws-url", wsURL, "-database-url", dbURL,
		"-metrics-addr", "", "-poll-interval", "500ms", "-finality-interval", "500ms")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Start(); err != nil {
		t.Fatalf("start indexer: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("indexer output:\n%s", logs.String())
		}
	})
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t}
	w.payer = mustKey(t)
	for i := 0; i < 3; i++ {
		w.members = append(w.members, mustKey(t))
	}
	fund := []solana.PublicKey{w.payer.PublicKey()}
	for _, m := range w.members {
		fund = append(fund, m.PublicKey())
	}
	w.node = localnettest.Start(t, localnettest.Options{Fund: fund})
	w.rpc = rpc.New(w.node.RPCURL)
	w.dbURL = pgtest.NewDB(t)
	var err error
	w.db, err = pgxpool.New(context.Background(), w.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.db.Close)
	startIndexer(t, w.node.RPCURL, w.node.WSURL, w.dbURL)

	// A 2-of-3 governance with the default 48 h timelock, managing the node's target program.
	createKey := mustKey(t)
	w.spill = mustKey(t).PublicKey()
	members := make([]solana.PublicKey, len(w.members))
	for i, m := range w.members {
		members[i] = m.PublicKey()
	}
	var initGov solana.Instruction
	initGov, w.gov = build.InitGovernance(w.payer.PublicKey(), createKey.PublicKey(), um.InitializeGovernanceArgs{
		Members: members, Threshold: 2, RollbackThreshold: 2, Spill: w.spill,
	})
	w.send(initGov, createKey)
	deployer := w.node.Deployer
	w.send(build.RegisterProgram(w.payer.PublicKey(), deployer.PublicKey(), w.gov, w.node.Target), deployer)
	return w
}

func mustKey(t *testing.T) solana.PrivateKey {
	t.Helper()
	k, err := solana.NewRandomPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// build makes every instruction the tests send, as the crank and the CLI do.
var build = txbuild.New(um.ProgramID)

// send lands ixs paid by the world's payer and signed by signers, and waits for confirmation.
func (w *world) send(ix solana.Instruction, signers ...solana.PrivateKey) solana.Signature {
	w.t.Helper()
	return w.sendAll([]solana.Instruction{ix}, signers...)
}

func (w *world) sendAll(ixs []solana.Instruction, signers ...solana.PrivateKey) solana.Signature {
	w.t.Helper()
	sig := w.sendAsyncAll(ixs, signers...)
	w.waitConfirmed(sig)
	return sig
}

func (w *world) waitConfirmed(sig solana.Signature) {
	w.t.Helper()
	testkit.Eventually(w.t, 0, fmt.Sprintf("transaction %s to be confirmed", sig), func() bool {
		st, err := w.rpc.GetSignatureStatuses(context.Background(), false, sig)
		if err != nil || len(st.Value) != 1 || st.Value[0] == nil {
			return false
		}
		if st.Value[0].Err != nil {
			w.t.Fatalf("transaction %s failed: %v", sig, st.Value[0].Err)
		}
		return reached(st.Value[0].ConfirmationStatus, rpc.CommitmentConfirmed)
	})
}

// writeBuffer writes elf to a new loader-v3 buffer, as `solana program write-buffer` does, and
// locks it to the target's upgrade-authority PDA.
func (w *world) writeBuffer(elf []byte) solana.PublicKey {
	w.t.Helper()
	ctx := context.Background()
	buffer := mustKey(w.t)
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(ctx, txbuild.BufferSize(len(elf)), rpc.CommitmentConfirmed)
	if err != nil {
		w.t.Fatal(err)
	}
	authority := w.payer.PublicKey()
	w.sendAll(txbuild.CreateBuffer(w.payer.PublicKey(), buffer.PublicKey(), authority, len(elf), rent), buffer)
	var last solana.Signature
	for _, c := range txbuild.Chunks(elf, 900) {
		last = w.sendAsync(txbuild.WriteBuffer(buffer.PublicKey(), authority, uint32(c.Offset), c.Data))
	}
	w.waitConfirmed(last)
	w.send(build.LockBuffer(buffer.PublicKey(), authority, w.node.Target))
	return buffer.PublicKey()
}

// sendAsync sends without waiting (for the many writes of a buffer).
func (w *world) sendAsync(ix solana.Instruction) solana.Signature {
	w.t.Helper()
	return w.sendAsyncAll([]solana.Instruction{ix})
}

// elfOf reads the ELF of a program bundled in the node: a loader-v2 account's data is the ELF;
// a loader-v3 program's ELF follows its programdata's 45-byte header.
func (w *world) elfOf(program string) []byte {
	w.t.Helper()
	key := solana.MustPublicKeyFromBase58(program)
	a, err := w.rpc.GetAccountInfo(context.Background(), key)
	if err != nil {
		w.t.Fatal(err)
	}
	if !a.Value.Owner.Equals(solana.BPFLoaderUpgradeableProgramID) {
		return a.Value.Data.GetBinary()
	}
	pd, err := w.rpc.GetAccountInfo(context.Background(), txbuild.Programdata(key))
	if err != nil {
		w.t.Fatal(err)
	}
	return pd.Value.Data.GetBinary()[45:]
}

// proposeApproved proposes upgrading the target to buffer and approves it with two members.
func (w *world) proposeApproved(index uint64, buffer solana.PublicKey) solana.PublicKey {
	w.t.Helper()
	ix, proposal := build.ProposeUpgrade(txbuild.ProposeBinary{
		Proposer: w.members[0].PublicKey(), Governance: w.gov, Index: index,
		Program: w.node.Target, Buffer: buffer, MetadataURI: "ipfs://e2e", BuildHash: [32]byte{1},
	})
	w.send(ix, w.members[0])
	for _, m := range w.members[:2] {
		w.send(build.Approve(m.PublicKey(), w.gov, proposal), m)
	}
	return proposal
}

// waitForDB polls the read model until query returns want.
func (w *world) waitForDB(query string, want string, args ...any) {
	w.t.Helper()
	testkit.Eventually(w.t, 0, fmt.Sprintf("read model: %s = %q", query, want), func() bool {
		var got string
		err := w.db.QueryRow(context.Background(), query, args...).Scan(&got)
		return err == nil && got == want
	})
}

// chainTime is the chain's unix time at confirmed commitment, as the crank reads it.
func (w *world) chainTime() int64 {
	w.t.Helper()
	ch := &chain{rpc: w.rpc, commitment: rpc.CommitmentConfirmed}
	now, err := ch.now(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return now
}

// advanceClock moves the node's clock forward (localnet's dev method) and waits until the
// confirmed bank, which the crank reads, shows the new time.
func (w *world) advanceClock(seconds int64) {
	w.t.Helper()
	before := w.chainTime()
	w.devCall("dev_advanceClock", seconds)
	testkit.Eventually(w.t, 0, "the confirmed clock to move forward", func() bool {
		return w.chainTime() >= before+seconds
	})
}

// devCall calls one of localnet's dev methods and fails the test on an error.
func (w *world) devCall(method string, params ...any) {
	w.t.Helper()
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		w.t.Fatal(err)
	}
	resp, err := http.Post(w.node.RPCURL, "application/json", bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Error *json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		w.t.Fatalf("%s: decode the response: %v", method, err)
	}
	if out.Error != nil {
		w.t.Fatalf("%s: %s", method, *out.Error)
	}
}

// crank runs one crank execute|migrate scan (Once) with its own funded fee payer, and returns
// its metrics.
func (w *world) crank(kind string) (*prometheus.Registry, error) {
	w.t.Helper()
	reg := prometheus.NewRegistry()
	k := w.newCrank(kind, reg, true)
	err := k.Run(context.Background())
	k.Close()
	return reg, err
}

// newCrank returns a crank of kind on the world, paid by a new funded key.
func (w *world) newCrank(kind string, reg *prometheus.Registry, once bool) *Crank {
	w.t.Helper()
	payer := mustKey(w.t)
	w.fundFrom(payer.PublicKey(), 5_000_000_000)
	k, err := New(Config{
		Kind: kind, RPCURL: w.node.RPCURL, DatabaseURL: w.dbURL, ProgramID: um.ProgramID, Payer: payer,
		Commitment: rpc.CommitmentConfirmed, PollInterval: 200 * time.Millisecond, Once: once, MinBalance: 10_000_000,
	}, reg, testkit.Logger(w.t).With("payer", payer.PublicKey()), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return k
}

func (w *world) fundFrom(to solana.PublicKey, lamports uint64) {
	w.t.Helper()
	w.send(system.NewTransferInstruction(lamports, w.payer.PublicKey(), to).Build())
}

func proposalStatus(t *testing.T, c *rpc.Client, p solana.PublicKey) um.ProposalStatus {
	t.Helper()
	a, err := c.GetAccountInfoWithOpts(context.Background(), p, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		t.Fatal(err)
	}
	var pr um.Proposal
	if err := pr.UnmarshalAccount(a.Value.Data.GetBinary()); err != nil {
		t.Fatal(err)
	}
	return pr.Status
}

func TestExecutorExecutesWhenTheClockPassesEta(t *testing.T) {
	w := newWorld(t)
	token := w.elfOf("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
	buffer := w.writeBuffer(token)
	proposal := w.proposeApproved(0, buffer)
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "approved", proposal.String())

	// Before the eta: nothing is sent.
	reg, err := w.crank(KindExecute)
	if err != nil {
		t.Fatalf("crank before eta: %v", err)
	}
	if got := counterSum(t, reg, "upgrade_manager_crank_attempts_total"); got != 0 {
		t.Fatalf("attempts before the eta = %v, want 0", got)
	}
	if s := proposalStatus(t, w.rpc, proposal); s != um.ProposalStatusApproved {
		t.Fatalf("status before eta = %v", s)
	}

	// Past the eta by the chain's clock: extended (the token ELF outgrows memo's programdata), then executed.
	w.advanceClock(um.DefaultTimelockSeconds)
	if _, err := w.crank(KindExecute); err != nil {
		t.Fatalf("crank after eta: %v", err)
	}
	if s := proposalStatus(t, w.rpc, proposal); s != um.ProposalStatusExecuted {
		t.Fatalf("status after eta = %v, want executed", s)
	}
	target := w.node.Target
	pd, err := w.rpc.GetAccountInfoWithOpts(context.Background(), txbuild.Programdata(target), &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		t.Fatal(err)
	}
	got := bytes.TrimRight(pd.Value.Data.GetBinary()[45:], "\x00")
	if !bytes.Equal(got, bytes.TrimRight(token, "\x00")) {
		t.Fatalf("programdata holds %d bytes of ELF, not the token program's %d", len(got), len(token))
	}
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "executed", proposal.String())
}

func TestTwoExecutorsRaceToOneUpgrade(t *testing.T) {
	w := newWorld(t)
	feature := w.elfOf("Feature111111111111111111111111111111111111")
	buffer := w.writeBuffer(feature)
	proposal := w.proposeApproved(0, buffer)
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "approved", proposal.String())
	w.advanceClock(um.DefaultTimelockSeconds)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	regs := make([]*prometheus.Registry, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			regs[i], errs[i] = w.crank(KindExecute)
		}()
	}
	wg.Wait()
	var landed, lost float64
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("crank %d: %v", i, errs[i])
		}
		landed += counterSum(t, regs[i], "upgrade_manager_crank_successes_total")
		lost += counterSum(t, regs[i], "upgrade_manager_crank_races_lost_total")
		if e := counterSum(t, regs[i], "upgrade_manager_crank_errors_total"); e != 0 {
			t.Fatalf("crank %d counted %v errors", i, e)
		}
	}
	if landed != 1 {
		t.Fatalf("executions landed = %v, want 1", landed)
	}
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "executed", proposal.String())
	w.waitForDB(`SELECT count(*)::text FROM chain_event WHERE name = 'ProposalExecuted'`, "1")
	if s := proposalStatus(t, w.rpc, proposal); s != um.ProposalStatusExecuted {
		t.Fatalf("status = %v, want executed", s)
	}
	// A crank whose read model lags and still sees the proposal as approved loses the race on
	// chain: counted, not an error, not retried.
	lateReg := prometheus.NewRegistry()
	e := &executor{chain: &chain{rpc: w.rpc, commitment: rpc.CommitmentConfirmed, programID: um.ProgramID}, metrics: NewMetrics(lateReg), log: testkit.Logger(t)}
	e.send = &sender{rpc: w.rpc, payer: w.payer, commitment: rpc.CommitmentConfirmed, poll: 100 * time.Millisecond, log: e.log}
	ix, err := build.Execute(w.payer.PublicKey(), proposal, &um.Proposal{
		Governance: w.gov, Kind: um.ProposalKindUpgrade, Program: w.node.Target, Buffer: buffer,
		Proposer: w.members[0].PublicKey(),
	}, w.spill)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := e.land(context.Background(), "execute", candidate{Address: proposal}, ix, um.ErrProposalNotApproved)
	if err != nil || ok {
		t.Fatalf("late execute: landed=%v err=%v, want a race lost", ok, err)
	}
	if got := counterSum(t, lateReg, "upgrade_manager_crank_races_lost_total"); got != 1 {
		t.Fatalf("races lost = %v, want 1", got)
	}
}

// counterSum adds up every series of the counter name in reg.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestExecutorHandsTheProgramOver(t *testing.T) {
	w := newWorld(t)
	target := w.node.Target
	heir := mustKey(t).PublicKey()
	change := um.ConfigChange{Kind: um.ConfigChangeKindSetUpgradeAuthority,
		SetUpgradeAuthority: um.ConfigChangeSetUpgradeAuthority{Program: target, NewAuthority: &heir}}
	propose, proposal := build.ProposeConfigChange(w.members[0].PublicKey(), w.gov, 0, change, "ipfs://hand-over")
	w.send(propose, w.members[0])
	for _, m := range w.members[:2] {
		w.send(build.Approve(m.PublicKey(), w.gov, proposal), m)
	}
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "approved", proposal.String())
	w.advanceClock(um.DefaultTimelockSeconds)
	if _, err := w.crank(KindExecute); err != nil {
		t.Fatalf("crank: %v", err)
	}
	if s := proposalStatus(t, w.rpc, proposal); s != um.ProposalStatusExecuted {
		t.Fatalf("status = %v, want executed", s)
	}
	pd, err := w.rpc.GetAccountInfoWithOpts(context.Background(), txbuild.Programdata(target), &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		t.Fatal(err)
	}
	d := pd.Value.Data.GetBinary()
	if d[12] != 1 || !bytes.Equal(d[13:45], heir[:]) {
		t.Fatalf("programdata authority = %x, want %s", d[12:45], heir)
	}
	w.waitForDB(`SELECT change->'SetUpgradeAuthority'->>'new_authority' FROM config_change WHERE proposal = $1`, heir.String(), proposal.String())
}
