package graph_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	bin "github.com/gagliardetto/binary"
	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/indexer"
	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// chainWorld is a localnet, the real indexer and a GraphQL server that builds transactions
// against it, with a 2-of-3 governance that manages the node's target.
type chainWorld struct {
	t       *testing.T
	node    *localnettest.Node
	rpc     *rpc.Client
	gql     string
	payer   solana.PrivateKey
	members []solana.PrivateKey
	gov     solana.PublicKey
	build   *txbuild.Builder
}

func newChainWorld(t *testing.T) *chainWorld {
	t.Helper()
	w := &chainWorld{t: t, build: txbuild.New(um.ProgramID)}
	w.payer = solana.NewWallet().PrivateKey
	fund := []solana.PublicKey{w.payer.PublicKey()}
	for range 3 {
		k := solana.NewWallet().PrivateKey
		w.members = append(w.members, k)
		fund = append(fund, k.PublicKey())
	}
	w.node = localnettest.Start(t, localnettest.Options{Fund: fund})
	w.rpc = rpc.New(w.node.RPCURL)
	dbURL := pgtest.NewDB(t)

	cfg := indexer.DefaultConfig()
	cfg.RPCURL, cfg.WSURL, cfg.DatabaseURL, cfg.MetricsAddr = w.node.RPCURL, w.node.WSURL, dbURL, ""
	cfg.PollInterval, cfg.FinalityInterval = 500*time.Millisecond, 500*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- indexer.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	w.gql = graphtest.StartServer(t, dbURL, func(c *graph.ServerConfig) { c.RPCURL = w.node.RPCURL }) + "/graphql"

	createKey := solana.NewWallet().PrivateKey
	members := []solana.PublicKey{w.members[0].PublicKey(), w.members[1].PublicKey(), w.members[2].PublicKey()}
	ix, gov := w.build.InitGovernance(w.payer.PublicKey(), createKey.PublicKey(), um.InitializeGovernanceArgs{
		Members: members, Threshold: 2, RollbackThreshold: 2, Spill: w.payer.PublicKey(),
	})
	w.gov = gov
	w.send([]solana.Instruction{ix}, createKey)
	w.send([]solana.Instruction{w.build.RegisterProgram(w.payer.PublicKey(), w.node.Deployer.PublicKey(), gov, w.node.Target)}, w.node.Deployer)
	return w
}

// send signs ixs with the payer and signers, sends and waits for confirmation.
func (w *chainWorld) send(ixs []solana.Instruction, signers ...solana.PrivateKey) {
	w.t.Helper()
	bh, err := w.rpc.GetLatestBlockhash(context.Background(), rpc.CommitmentConfirmed)
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err := txbuild.Assemble(ixs, w.payer.PublicKey(), bh.Value.Blockhash, txbuild.Budget{})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := txbuild.Sign(tx, append(signers, w.payer)...); err != nil {
		w.t.Fatal(err)
	}
	w.sendTx(tx)
}

func (w *chainWorld) sendTx(tx *solana.Transaction) {
	w.t.Helper()
	sig, err := w.rpc.SendTransactionWithOpts(context.Background(), tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
	if err != nil {
		w.t.Fatalf("send: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := w.rpc.GetSignatureStatuses(context.Background(), false, sig)
		if err == nil && len(st.Value) == 1 && st.Value[0] != nil {
			if st.Value[0].Err != nil {
				w.t.Fatalf("transaction %s failed: %v", sig, st.Value[0].Err)
			}
			if st.Value[0].ConfirmationStatus != rpc.ConfirmationStatusProcessed {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("transaction %s not confirmed", sig)
}

// mutate runs a build* mutation and returns the built transaction, or the error's code.
func (w *chainWorld) mutate(field, input string) (map[string]any, string) {
	w.t.Helper()
	q := fmt.Sprintf(`mutation { %s(input: %s) { transaction message blockhash feePayer signers summary address rentLamports details simulation { ok error programError logs } } }`, field, input)
	res, _, err := graphtest.Query(context.Background(), w.gql, q, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		w.t.Logf("%s refused: %s (%s)", field, res.Errors[0].Message, res.Errors[0].Code())
		return nil, res.Errors[0].Code()
	}
	var data map[string]map[string]any
	if err := json.Unmarshal(res.Data, &data); err != nil {
		w.t.Fatal(err)
	}
	return data[field], ""
}

func (w *chainWorld) built(field, input string) map[string]any {
	w.t.Helper()
	out, code := w.mutate(field, input)
	if code != "" {
		w.t.Fatalf("%s: refused with %s", field, code)
	}
	return out
}

func (w *chainWorld) refused(code, field, input string) {
	w.t.Helper()
	if _, got := w.mutate(field, input); got != code {
		w.t.Fatalf("%s(%s): code %q, want %q", field, input, got, code)
	}
}

// signAndSend signs a built transaction with keys, as a wallet would, and sends it.
func (w *chainWorld) signAndSend(built map[string]any, keys ...solana.PrivateKey) {
	w.t.Helper()
	raw, err := base64.StdEncoding.DecodeString(built["transaction"].(string))
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err := solana.TransactionFromDecoder(bin.NewBinDecoder(raw))
	if err != nil {
		w.t.Fatalf("decode built transaction: %v", err)
	}
	if len(tx.Signatures) != len(built["signers"].([]any)) {
		t := w.t
		t.Fatalf("transaction carries %d signature slots for %d signers", len(tx.Signatures), len(built["signers"].([]any)))
	}
	tx.Signatures = nil
	if err := txbuild.Sign(tx, keys...); err != nil {
		w.t.Fatal(err)
	}
	w.sendTx(tx)
}

// waitFor polls a GraphQL query until the JSON at path equals want.
func (w *chainWorld) waitFor(query string, want string) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		res, _, err := graphtest.Query(context.Background(), w.gql, query, nil)
		if err == nil && len(res.Errors) == 0 {
			last = string(res.Data)
			if strings.Contains(last, want) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatalf("%s: got %s, want it to contain %s", query, last, want)
}

func (w *chainWorld) advanceClock(seconds int64) {
	w.t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"dev_advanceClock","params":[%d]}`, seconds)
	resp, err := http.Post(w.node.RPCURL, "application/json", strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Result struct{ Slot uint64 }
		Error  json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Error) > 0 {
		w.t.Fatalf("dev_advanceClock: %v %s", err, out.Error)
	}
	// The clock moved in out.Result.Slot: wait until a later slot is
	// confirmed, so that confirmed reads and preflight see it.
	testkit.Eventually(w.t, 0, "a confirmed slot after the clock moved", func() bool {
		s, err := w.rpc.GetSlot(context.Background(), rpc.CommitmentConfirmed)
		return err == nil && s > out.Result.Slot
	})
}

// Every builder's transaction, signed by a test key and sent, lands and shows in the read model;
// every refusal answers its code.
func TestBuildersLandAndRefuse(t *testing.T) {
	w := newChainWorld(t)
	m0, m1, m2 := w.members[0], w.members[1], w.members[2]
	outsider := solana.NewWallet().PrivateKey

	// A config change proposed through the builder.
	w.refused("NOT_A_MEMBER", "buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {threshold: 1}, options: {feePayer: %q}}`, w.gov, outsider.PublicKey(), w.payer.PublicKey()))
	w.refused("BAD_USER_INPUT", "buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {threshold: 1, spill: %q}}`, w.gov, m0.PublicKey(), m0.PublicKey()))
	// Below the floors is refused before anything is built.
	w.refused("THRESHOLD_BELOW_FLOOR", "buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {threshold: 1}}`, w.gov, m0.PublicKey()))
	w.refused("DELAY_BELOW_FLOOR", "buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {timelockSeconds: "60"}}`, w.gov, m0.PublicKey()))
	b := w.built("buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {threshold: 3}, options: {simulate: true}}`, w.gov, m0.PublicKey()))
	if sim := b["simulation"].(map[string]any); sim["ok"] != true || len(sim["logs"].([]any)) == 0 {
		t.Fatalf("simulation = %v", sim)
	}
	if signers := b["signers"].([]any); len(signers) != 1 || signers[0] != m0.PublicKey().String() || b["feePayer"] != m0.PublicKey().String() {
		t.Fatalf("signers %v fee payer %v", signers, b["feePayer"])
	}
	proposal := b["address"].(string)
	w.signAndSend(b, m0)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { kind status approvalCount } }`, proposal), `"kind":"CONFIG_CHANGE","status":"ACTIVE","approvalCount":0`)

	// Approvals: refusals first, then two that land, one paid by another key.
	w.refused("NOT_A_MEMBER", "buildApprove", fmt.Sprintf(`{proposal: %q, member: %q, options: {feePayer: %q}}`, proposal, outsider.PublicKey(), w.payer.PublicKey()))
	w.refused("NOT_FOUND", "buildApprove", fmt.Sprintf(`{proposal: %q, member: %q}`, outsider.PublicKey(), m0.PublicKey()))
	broke := solana.NewWallet().PrivateKey
	w.refused("UNFUNDED_PAYER", "buildApprove", fmt.Sprintf(`{proposal: %q, member: %q, options: {feePayer: %q}}`, proposal, m0.PublicKey(), broke.PublicKey()))
	w.refused("NOT_APPROVED", "buildRevoke", fmt.Sprintf(`{proposal: %q, member: %q}`, proposal, m0.PublicKey()))
	w.refused("PROPOSAL_NOT_APPROVED", "buildExecute", fmt.Sprintf(`{proposal: %q, signer: %q}`, proposal, w.payer.PublicKey()))
	w.signAndSend(w.built("buildApprove", fmt.Sprintf(`{proposal: %q, member: %q}`, proposal, m0.PublicKey())), m0)
	w.refused("ALREADY_APPROVED", "buildApprove", fmt.Sprintf(`{proposal: %q, member: %q}`, proposal, m0.PublicKey()))
	ap := w.built("buildApprove", fmt.Sprintf(`{proposal: %q, member: %q, options: {feePayer: %q, computeUnitPrice: "1000"}}`, proposal, m1.PublicKey(), w.payer.PublicKey()))
	if len(ap["signers"].([]any)) != 2 {
		t.Fatalf("an approval paid by another key needs both signatures: %v", ap["signers"])
	}
	w.signAndSend(ap, m1, w.payer)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status approvalCount } }`, proposal), `"status":"APPROVED","approvalCount":2`)
	w.waitFor(`{ events(filter: {names: [ProposalApproved]}) { totalCount } }`, `"totalCount":2`)

	w.refused("TIMELOCK_NOT_ELAPSED", "buildExecute", fmt.Sprintf(`{proposal: %q, signer: %q}`, proposal, w.payer.PublicKey()))
	w.refused("WRONG_PROPOSAL_KIND", "buildStartMigration", fmt.Sprintf(`{proposal: %q, signer: %q}`, proposal, w.payer.PublicKey()))
	w.advanceClock(um.DefaultTimelockSeconds)
	w.signAndSend(w.built("buildExecute", fmt.Sprintf(`{proposal: %q, signer: %q}`, proposal, w.payer.PublicKey())), w.payer)
	w.waitFor(fmt.Sprintf(`{ governance(address: %q) { threshold } proposal(address: %q) { status } }`, w.gov, proposal), `{"governance":{"threshold":3},"proposal":{"status":"EXECUTED"}}`)
	w.refused("PROPOSAL_NOT_OPEN", "buildCancel", fmt.Sprintf(`{proposal: %q, member: %q}`, proposal, m2.PublicKey()))

	// An upgrade proposal needs a buffer locked to the manager.
	buffer := solana.NewWallet().PrivateKey
	elf := []byte("\x7fELF not really a program, but a buffer's contents")
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(context.Background(), txbuild.BufferSize(len(elf)), rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	w.send(append(txbuild.CreateBuffer(w.payer.PublicKey(), buffer.PublicKey(), m2.PublicKey(), len(elf), rent),
		txbuild.WriteBuffer(buffer.PublicKey(), m2.PublicKey(), 0, elf)), buffer, m2)
	upgrade := fmt.Sprintf(`{program: %q, buffer: %q, proposer: %q, buildHash: "c0ffee"}`, w.node.Target, buffer.PublicKey(), m2.PublicKey())
	w.refused("BUFFER_NOT_LOCKED", "buildProposeUpgrade", upgrade)
	w.send([]solana.Instruction{w.build.LockBuffer(buffer.PublicKey(), m2.PublicKey(), w.node.Target)}, m2)
	w.refused("ROLLBACK_HASH_UNKNOWN", "buildProposeRollback", upgrade)
	up := w.built("buildProposeUpgrade", upgrade)
	h := txbuild.ELFHash(elf)
	if details := up["details"].(map[string]any); details["bufferHash"] != fmt.Sprintf("%x", h[:]) {
		t.Fatalf("details = %v", details)
	}
	w.signAndSend(up, m2)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { kind buffer bufferHash } }`, up["address"]), fmt.Sprintf(`"kind":"UPGRADE","buffer":%q`, buffer.PublicKey()))
	// The buffer lock keeps the buffer behind this one proposal.
	w.refused("BUFFER_IN_USE", "buildProposeUpgrade", fmt.Sprintf(`{program: %q, buffer: %q, proposer: %q}`, w.node.Target, buffer.PublicKey(), m0.PublicKey()))
	// The proposer alone cancels it while nobody else approved.
	w.signAndSend(w.built("buildCancel", fmt.Sprintf(`{proposal: %q, member: %q}`, up["address"], m2.PublicKey())), m2)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status } }`, up["address"]), `"status":"CANCELLED"`)

	// A reject vote: with 3 of 3 needed, one rejection makes approval impossible.
	vp := w.built("buildProposeConfigChange", fmt.Sprintf(`{governance: %q, proposer: %q, change: {votingPeriodSeconds: "604800"}}`, w.gov, m0.PublicKey()))
	w.signAndSend(vp, m0)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status } }`, vp["address"]), `"status":"ACTIVE"`)
	w.refused("NOT_A_MEMBER", "buildReject", fmt.Sprintf(`{proposal: %q, member: %q, options: {feePayer: %q}}`, vp["address"], outsider.PublicKey(), w.payer.PublicKey()))
	w.signAndSend(w.built("buildReject", fmt.Sprintf(`{proposal: %q, member: %q}`, vp["address"], m1.PublicKey())), m1)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status } }`, vp["address"]), `"status":"REJECTED"`)
	w.refused("PROPOSAL_NOT_OPEN", "buildReject", fmt.Sprintf(`{proposal: %q, member: %q}`, vp["address"], m2.PublicKey()))

	// Registering needs the program's upgrade authority.
	w.refused("WRONG_UPGRADE_AUTHORITY", "buildRegisterProgram", fmt.Sprintf(`{governance: %q, program: %q, authority: %q}`, w.gov, w.node.Target, m0.PublicKey()))
}

// Without an RPC URL the server builds nothing, and says so.
func TestBuildersUnavailableWithoutRPC(t *testing.T) {
	url := graphtest.StartServer(t, pgtest.NewDB(t), nil) + "/graphql"
	k := solana.NewWallet().PublicKey()
	res, _, err := graphtest.Query(context.Background(), url, fmt.Sprintf(`mutation { buildApprove(input: {proposal: %q, member: %q}) { transaction } }`, k, k), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Code() != graph.CodeUnavailable {
		t.Fatalf("errors = %+v, want %s", res.Errors, graph.CodeUnavailable)
	}
}

// An upgrade whose binary outgrows the programdata: buildExecute refuses EXTEND_NEEDED until
// buildExtend's transactions have grown it, then the upgrade executes.
func TestBuildExtendThenExecute(t *testing.T) {
	w := newChainWorld(t)
	m0, m1 := w.members[0], w.members[1]
	ctx := context.Background()
	a, err := w.rpc.GetAccountInfo(ctx, solana.TokenProgramID)
	if err != nil {
		t.Fatal(err)
	}
	elf := a.Value.Data.GetBinary()
	buffer := solana.NewWallet().PrivateKey
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(ctx, txbuild.BufferSize(len(elf)), rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	w.send(txbuild.CreateBuffer(w.payer.PublicKey(), buffer.PublicKey(), w.payer.PublicKey(), len(elf), rent), buffer)
	for _, c := range txbuild.Chunks(elf, 900) {
		w.send([]solana.Instruction{txbuild.WriteBuffer(buffer.PublicKey(), w.payer.PublicKey(), uint32(c.Offset), c.Data)})
	}
	w.send([]solana.Instruction{w.build.LockBuffer(buffer.PublicKey(), w.payer.PublicKey(), w.node.Target)})

	up := w.built("buildProposeUpgrade", fmt.Sprintf(`{program: %q, buffer: %q, proposer: %q}`, w.node.Target, buffer.PublicKey(), m0.PublicKey()))
	w.signAndSend(up, m0)
	proposal := up["address"].(string)
	for _, m := range []solana.PrivateKey{m0, m1} {
		w.signAndSend(w.built("buildApprove", fmt.Sprintf(`{proposal: %q, member: %q}`, proposal, m.PublicKey())), m)
	}
	w.advanceClock(um.DefaultTimelockSeconds)
	execute := fmt.Sprintf(`{proposal: %q, signer: %q}`, proposal, w.payer.PublicKey())
	extends := 0
	for {
		if _, code := w.mutate("buildExecute", execute); code == "" {
			break
		} else if code != "EXTEND_NEEDED" {
			t.Fatalf("buildExecute: %s", code)
		}
		ext := w.built("buildExtend", fmt.Sprintf(`{proposal: %q, signer: %q, options: {simulate: true}}`, proposal, w.payer.PublicKey()))
		if ext["simulation"].(map[string]any)["ok"] != true {
			t.Fatalf("extend simulation: %v", ext["simulation"])
		}
		slot, err := w.rpc.GetSlot(ctx, rpc.CommitmentConfirmed)
		if err != nil {
			t.Fatal(err)
		}
		w.signAndSend(ext, w.payer)
		extends++
		// The loader extends an account once per slot.
		for cur := slot; cur <= slot+1; time.Sleep(50 * time.Millisecond) {
			if cur, err = w.rpc.GetSlot(ctx, rpc.CommitmentConfirmed); err != nil {
				t.Fatal(err)
			}
		}
	}
	if extends == 0 {
		t.Fatal("the token ELF fitted memo's programdata without extending")
	}
	w.refused("EXTEND_NOT_NEEDED", "buildExtend", execute)
	w.signAndSend(w.built("buildExecute", execute), w.payer)
	w.waitFor(fmt.Sprintf(`{ proposal(address: %q) { status } }`, proposal), `"status":"EXECUTED"`)
	w.waitFor(`{ events(filter: {names: [ProgramExtended]}) { totalCount } }`, fmt.Sprintf(`"totalCount":%d`, extends))
}
