package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bin "github.com/gagliardetto/binary"
	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/mr-tron/base58"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// world is a localnet and keypair files for a payer, three members and the target's deployer.
type world struct {
	t        *testing.T
	node     *localnettest.Node
	rpc      *rpc.Client
	dir      string
	payer    string
	members  []string
	keys     []solana.PrivateKey
	deployer string
	gov      string
}

func writeKey(t *testing.T, dir, name string, key solana.PrivateKey, mode os.FileMode) string {
	t.Helper()
	nums := make([]int, len(key))
	for i, b := range key {
		nums[i] = int(b)
	}
	data, _ := json.Marshal(nums)
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKey(t *testing.T) solana.PrivateKey {
	t.Helper()
	k, err := solana.NewRandomPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newWorld starts a localnet and creates, with the CLI, a 2-of-3 governance (rollbacks 1-of-3)
// that manages the node's upgradeable target.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir()}
	payer := newKey(t)
	fund := []solana.PublicKey{payer.PublicKey()}
	w.payer = writeKey(t, w.dir, "payer", payer, 0o600)
	for i := range 3 {
		k := newKey(t)
		w.keys = append(w.keys, k)
		w.members = append(w.members, writeKey(t, w.dir, fmt.Sprintf("member%d", i), k, 0o600))
		fund = append(fund, k.PublicKey())
	}
	w.node = localnettest.Start(t, localnettest.Options{Fund: fund})
	w.rpc = rpc.New(w.node.RPCURL)
	w.deployer = writeKey(t, w.dir, "deployer", w.node.Deployer, 0o600)

	var members []string
	for _, k := range w.keys {
		members = append(members, k.PublicKey().String())
	}
	// The floors: with two or more members no one member decides alone, and a timelock is at
	// least an hour; both refused before anything is sent.
	w.refused("THRESHOLD_BELOW_FLOOR", "init", "--keypair", w.payer, "--member", strings.Join(members, ","), "--threshold", "2", "--rollback-threshold", "1")
	w.refused("DELAY_BELOW_FLOOR", "init", "--keypair", w.payer, "--member", strings.Join(members, ","), "--threshold", "2", "--timelock", "10m")
	out := w.ok("init", "--keypair", w.payer, "--member", strings.Join(members, ","), "--threshold", "2", "--rollback-threshold", "2")
	w.gov = out["governance"].(string)
	w.ok("register", "--governance", w.gov, "--program", w.node.Target.String(), "--keypair", w.deployer, "--fee-payer", w.payer)
	return w
}

func (w *world) ctx() context.Context { return context.Background() }

// umctl runs the CLI with --url and --json and returns its parsed stdout and exit code.
func (w *world) umctl(args ...string) (map[string]any, int, string) {
	w.t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(args, "--url", w.node.RPCURL, "--json")
	code := run(context.Background(), args, &stdout, &stderr)
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		w.t.Fatalf("umctl %s: stdout is not one JSON object (%v):\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return out, code, stderr.String()
}

// ok runs the CLI and fails the test unless it succeeds.
func (w *world) ok(args ...string) map[string]any {
	w.t.Helper()
	out, code, stderr := w.umctl(args...)
	if code != exitOK {
		w.t.Fatalf("umctl %s: exit %d: %v\n%s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// refused runs the CLI and checks it refused with code before sending anything; it returns
// the error object.
func (w *world) refused(code string, args ...string) map[string]any {
	w.t.Helper()
	out, exit, _ := w.umctl(args...)
	e, _ := out["error"].(map[string]any)
	if e == nil || e["code"] != code {
		w.t.Fatalf("umctl %s: exit %d, %v; want error code %s", strings.Join(args, " "), exit, out, code)
	}
	if e["message"] == "" {
		w.t.Fatalf("refusal %s has no message", code)
	}
	w.t.Logf("umctl %s refused: %s (%s)", args[0], e["message"], e["hint"])
	return e
}

// failed runs the CLI and checks it failed with a message containing want.
func (w *world) failed(want string, args ...string) string {
	w.t.Helper()
	out, exit, _ := w.umctl(args...)
	e, _ := out["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if exit == exitOK || !strings.Contains(msg, want) {
		w.t.Fatalf("umctl %s: exit %d, %v; want a failure saying %q", strings.Join(args, " "), exit, out, want)
	}
	return msg
}

// elfFile writes the ELF of a program bundled in the node to a file: a loader-v2 account's data
// is the ELF; a loader-v3 program's follows its programdata's header.
func (w *world) elfFile(program solana.PublicKey, name string) (string, []byte) {
	w.t.Helper()
	a, err := w.rpc.GetAccountInfo(context.Background(), program)
	if err != nil {
		w.t.Fatal(err)
	}
	elf := a.Value.Data.GetBinary()
	if a.Value.Owner.Equals(solana.BPFLoaderUpgradeableProgramID) {
		pd, err := w.rpc.GetAccountInfo(context.Background(), txbuild.Programdata(program))
		if err != nil {
			w.t.Fatal(err)
		}
		elf = pd.Value.Data.GetBinary()[txbuild.ProgramdataHeaderLen:]
	}
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, elf, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path, elf
}

func (w *world) deployedELF() []byte {
	w.t.Helper()
	pd, err := w.rpc.GetAccountInfoWithOpts(context.Background(), txbuild.Programdata(w.node.Target), &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		w.t.Fatal(err)
	}
	return txbuild.StripELF(pd.Value.Data.GetBinary()[txbuild.ProgramdataHeaderLen:])
}

// advanceClock moves the node's clock forward (localnet's dev method) and lets a slot pass.
func (w *world) advanceClock(seconds int64) {
	w.t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"dev_advanceClock","params":[%d]}`, seconds)
	resp, err := http.Post(w.node.RPCURL, "application/json", strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Result struct{ Slot uint64 }
		Error  *json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Error != nil {
		w.t.Fatalf("dev_advanceClock: %v %s", err, errorText(out.Error))
	}
	w.waitConfirmedPast(out.Result.Slot)
}

// waitConfirmedPast waits until a slot after slot is confirmed: what the
// node changed in slot (the clock, an account) is then what confirmed
// reads and preflight see.
func (w *world) waitConfirmedPast(slot uint64) {
	w.t.Helper()
	testkit.Eventually(w.t, 0, fmt.Sprintf("a confirmed slot after %d", slot), func() bool {
		s, err := w.rpc.GetSlot(w.ctx(), rpc.CommitmentConfirmed)
		return err == nil && s > slot
	})
}

// errorText renders a JSON-RPC error, or nothing when there is none.
func errorText(e *json.RawMessage) string {
	if e == nil {
		return ""
	}
	return string(*e)
}

var resumeRE = regexp.MustCompile(`--resume (\S+?)` + "`")

func proposalRowOf(t *testing.T, status map[string]any, address string) map[string]any {
	t.Helper()
	for _, p := range status["proposals"].([]any) {
		row := p.(map[string]any)
		if row["address"] == address {
			return row
		}
	}
	t.Fatalf("status lists no proposal %s: %v", address, status)
	return nil
}

// A member upgrades the example target from a .so file to an executed proposal with the CLI
// alone, an interrupted upload resumed on the way; then rolls it back.
func TestUpgradeAndRollbackWithTheCLI(t *testing.T) {
	w := newWorld(t)
	target := w.node.Target.String()
	// The target's programdata holds exactly its ELF, trailing zeros included (they belong to
	// the ELF: stripping them breaks it, which is why the program hashes with them stripped).
	memoFile, original := w.elfFile(w.node.Target, "memo.so")
	tokenFile, token := w.elfFile(solana.TokenProgramID, "token.so")
	m0, m1, m2 := w.members[0], w.members[1], w.members[2]

	// An upload interrupted after 5 chunks says how to resume; the resumed one writes only the rest.
	msg := w.failed("upload interrupted", "write-buffer", tokenFile, "--program", target, "--keypair", m0, "--stop-after", "5", "--parallel", "2")
	match := resumeRE.FindStringSubmatch(msg)
	if match == nil {
		t.Fatalf("interrupted upload does not say how to resume: %s", msg)
	}
	unlocked := match[1]
	// The half-written buffer is still the uploader's: proposing it is refused before sending.
	w.refused("BUFFER_NOT_LOCKED", "propose", "upgrade", "--program", target, "--buffer", unlocked, "--keypair", m0)

	out := w.ok("write-buffer", tokenFile, "--program", target, "--keypair", m0, "--resume", unlocked)
	if out["chunksAlreadyWritten"].(float64) < 5 || out["chunksWritten"].(float64) == 0 {
		t.Fatalf("resume wrote %v and skipped %v chunks; want the 5 written ones skipped", out["chunksWritten"], out["chunksAlreadyWritten"])
	}
	buffer := out["buffer"].(string)
	if out["bufferHash"] != hexHash(token) {
		t.Fatalf("bufferHash %v, want %s", out["bufferHash"], hexHash(token))
	}
	// Resuming a finished, locked buffer is a no-op.
	if again := w.ok("write-buffer", tokenFile, "--program", target, "--keypair", m0, "--resume", buffer); again["chunksWritten"].(float64) != 0 {
		t.Fatalf("resume of a locked buffer wrote %v chunks", again["chunksWritten"])
	}

	// Outsiders cannot propose; members can.
	outsider := writeKey(t, w.dir, "outsider", newKey(t), 0o600)
	w.refused("NOT_A_MEMBER", "propose", "upgrade", "--program", target, "--buffer", buffer, "--keypair", outsider, "--fee-payer", w.payer)
	out = w.ok("propose", "upgrade", "--program", target, "--buffer", buffer, "--keypair", m0, "--metadata-uri", "https://example.com/release", "--build-hash", "abcdef")
	// The buffer lock keeps one buffer behind one open proposal.
	w.refused("BUFFER_IN_USE", "propose", "upgrade", "--program", target, "--buffer", buffer, "--keypair", m1)
	proposal := out["proposal"].(string)

	// verify: the token build matches, the memo build does not.
	v := w.ok("verify", proposal, "--so", tokenFile)
	if v["match"] != true || v["programHash"] != hexHash(token) || v["proposalHash"] != hexHash(token) {
		t.Fatalf("verify of the proposed build: %v", v)
	}
	w.refused("HASH_MISMATCH", "verify", proposal, "--so", memoFile)

	// Approvals, and the refusals around them.
	w.ok("approve", proposal, "--keypair", m0)
	w.refused("ALREADY_APPROVED", "approve", proposal, "--keypair", m0)
	w.refused("NOT_A_MEMBER", "approve", proposal, "--keypair", outsider, "--fee-payer", w.payer)
	w.refused("NOT_APPROVED", "revoke", proposal, "--keypair", m2)
	w.refused("PROPOSAL_NOT_APPROVED", "execute", proposal, "--keypair", w.payer)
	w.ok("approve", proposal, "--keypair", m1)

	st := w.ok("status", "--governance", w.gov, "--chain")
	row := proposalRowOf(t, st, proposal)
	if row["status"] != "approved" || row["approvals"].(float64) != 2 || row["threshold"].(float64) != 2 {
		t.Fatalf("status row = %v", row)
	}
	if missing := row["missing"].([]any); len(missing) != 1 || missing[0] != w.keys[2].PublicKey().String() {
		t.Fatalf("missing = %v, want member 2", missing)
	}
	if left := row["secondsToEta"].(float64); left <= 0 || left > float64(um.DefaultTimelockSeconds) {
		t.Fatalf("secondsToEta = %v", left)
	}

	// Executing before the eta names the time left.
	e := w.refused("TIMELOCK_NOT_ELAPSED", "execute", proposal, "--keypair", w.payer)
	if left := e["secondsLeft"].(float64); left <= 0 || left > float64(um.DefaultTimelockSeconds) || e["eta"] == "" {
		t.Fatalf("timelock refusal = %v", e)
	}

	w.advanceClock(um.DefaultTimelockSeconds)
	// A dry run simulates and sends nothing: the token ELF outgrows memo's programdata, so it
	// says to extend first.
	w.refused("EXTEND_NEEDED", "execute", proposal, "--keypair", w.payer, "--dry-run")
	out = w.ok("execute", proposal, "--keypair", w.payer)
	if len(out["extendSignatures"].([]any)) == 0 {
		t.Fatalf("execute did not extend the programdata first: %v", out)
	}
	if !bytes.Equal(w.deployedELF(), txbuild.StripELF(token)) {
		t.Fatal("the target does not run the token ELF after execute")
	}
	w.refused("PROPOSAL_NOT_OPEN", "approve", proposal, "--keypair", m2)
	dumped := w.ok("dump", target, filepath.Join(w.dir, "deployed.so"))
	if dumped["programHash"] != hexHash(token) {
		t.Fatalf("dump of the upgraded target: %v, want hash %s", dumped, hexHash(token))
	}
	show := w.ok("show", proposal, "--chain")
	if show["proposal"].(map[string]any)["status"] != "executed" {
		t.Fatalf("show = %v", show)
	}
	var events []string
	for _, e := range show["history"].([]any) {
		if name, ok := e.(map[string]any)["event"].(string); ok {
			events = append(events, name)
		}
	}
	if got := strings.Join(events, ","); !strings.HasPrefix(got, "propose_upgrade,approve,approve,extend_program") || !strings.HasSuffix(got, ",execute_upgrade") {
		t.Fatalf("history = %s", got)
	}

	// Rolling back to the current binary is refused; to the original memo build it works, with
	// the rollback threshold (2) and timelock (1 h).
	out = w.ok("write-buffer", tokenFile, "--program", target, "--keypair", m1)
	w.refused("ROLLBACK_TO_CURRENT", "propose", "rollback", "--program", target, "--buffer", out["buffer"].(string), "--keypair", m1)
	out = w.ok("write-buffer", memoFile, "--program", target, "--keypair", m1)
	out = w.ok("propose", "rollback", "--program", target, "--buffer", out["buffer"].(string), "--keypair", m1)
	rollback := out["proposal"].(string)
	w.ok("approve", rollback, "--keypair", m1)
	w.ok("approve", rollback, "--keypair", m2)
	w.refused("TIMELOCK_NOT_ELAPSED", "execute", rollback, "--keypair", w.payer)
	w.advanceClock(um.DefaultRollbackTimelockSeconds)
	w.ok("execute", rollback, "--keypair", w.payer)
	if !bytes.Equal(w.deployedELF(), txbuild.StripELF(original)) {
		t.Fatal("the target does not run the original memo ELF after the rollback")
	}
}

func hexHash(elf []byte) string {
	h := txbuild.ELFHash(elf)
	return fmt.Sprintf("%x", h[:])
}

// A config change from proposal to execution, the key and payer refusals, --dry-run and a
// --sign-only approval signed elsewhere.
func TestConfigChangeAndRefusalsWithTheCLI(t *testing.T) {
	w := newWorld(t)
	m0, m1, m2 := w.members[0], w.members[1], w.members[2]

	// Below the floors is refused before sending, with a code.
	w.refused("THRESHOLD_BELOW_FLOOR", "propose", "config", "--governance", w.gov, "--threshold", "1", "--keypair", m0)
	w.refused("DELAY_BELOW_FLOOR", "propose", "config", "--governance", w.gov, "--timelock", "30m", "--keypair", m0)
	w.refused("DELAY_BELOW_FLOOR", "propose", "config", "--governance", w.gov, "--rollback-timelock", "5m", "--keypair", m0)
	out := w.ok("propose", "config", "--governance", w.gov, "--threshold", "3", "--keypair", m0)
	proposal := out["proposal"].(string)

	// Keys: missing, readable by others, hardware wallets.
	w.failed("does not exist", "approve", proposal, "--keypair", filepath.Join(w.dir, "nope.json"))
	open := writeKey(t, w.dir, "open", w.keys[1], 0o644)
	w.failed("chmod 600", "approve", proposal, "--keypair", open)
	w.failed("hardware wallets are not supported", "approve", proposal, "--keypair", "usb://ledger")
	// An unfunded fee payer is refused before anything is sent.
	broke := writeKey(t, w.dir, "broke", newKey(t), 0o600)
	w.refused("UNFUNDED_PAYER", "approve", proposal, "--keypair", m1, "--fee-payer", broke)

	// --dry-run simulates and prints the logs; nothing changes.
	dry := w.ok("approve", proposal, "--keypair", m1, "--dry-run")
	if dry["dryRun"] != true || len(dry["logs"].([]any)) == 0 {
		t.Fatalf("dry run = %v", dry)
	}
	st := w.ok("status", "--governance", w.gov, "--chain")
	if row := proposalRowOf(t, st, proposal); row["approvals"].(float64) != 0 {
		t.Fatalf("a dry run changed the approvals: %v", row)
	}

	// --sign-only with only the member's public key: the unsigned message, signed elsewhere
	// (here with the key; in a Squads vault by the multisig) and sent, lands as an approval.
	member := w.keys[1]
	so := w.ok("approve", proposal, "--keypair", member.PublicKey().String(), "--fee-payer", member.PublicKey().String(), "--sign-only", "--output", "base58")
	raw, err := base58.Decode(so["message"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if signers := so["signers"].([]any); len(signers) != 1 || signers[0] != member.PublicKey().String() {
		t.Fatalf("signers = %v", signers)
	}
	var msg solana.Message
	if err := msg.UnmarshalWithDecoder(bin.NewBinDecoder(raw)); err != nil {
		t.Fatal(err)
	}
	sig, err := member.Sign(raw)
	if err != nil {
		t.Fatal(err)
	}
	tx := &solana.Transaction{Signatures: []solana.Signature{sig}, Message: msg}
	wire, _ := tx.MarshalBinary()
	if _, err := w.rpc.SendEncodedTransactionWithOpts(context.Background(), base64.StdEncoding.EncodeToString(wire), rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed}); err != nil {
		t.Fatalf("send the externally signed approval: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		row := proposalRowOf(t, w.ok("status", "--governance", w.gov, "--chain"), proposal)
		if row["approvals"].(float64) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the externally signed approval did not land: %v", row)
		}
		time.Sleep(200 * time.Millisecond)
	}

	w.ok("approve", proposal, "--keypair", m0)
	w.advanceClock(um.DefaultTimelockSeconds)
	w.ok("execute", proposal, "--keypair", w.payer)
	st = w.ok("status", "--governance", w.gov, "--chain")
	if st["threshold"].(float64) != 3 {
		t.Fatalf("threshold after the config change = %v, want 3", st["threshold"])
	}
	// With 3 of 3 needed, one reject makes approval impossible: the proposal is rejected.
	out = w.ok("propose", "config", "--governance", w.gov, "--voting-period", "168h", "--keypair", m0)
	rejected := out["proposal"].(string)
	w.ok("approve", rejected, "--keypair", m0)
	w.refused("ALREADY_APPROVED", "reject", rejected, "--keypair", m0)
	w.ok("reject", rejected, "--keypair", m1)
	w.refused("PROPOSAL_NOT_OPEN", "reject", rejected, "--keypair", m2)
	if row := proposalRowOf(t, w.ok("status", "--governance", w.gov, "--chain"), rejected); row["status"] != "rejected" {
		t.Fatalf("status after the reject = %v, want rejected", row["status"])
	}
	// The proposer cancels their own fresh proposal alone.
	out = w.ok("propose", "config", "--governance", w.gov, "--grace-period", "72h", "--keypair", m0)
	w.refused("NOT_A_MEMBER", "cancel", out["proposal"].(string), "--keypair", w.payer)
	w.ok("cancel", out["proposal"].(string), "--keypair", m0)
	w.refused("PROPOSAL_NOT_OPEN", "cancel", out["proposal"].(string), "--keypair", m0)

	// Ended proposals close: anyone sends it, the rent goes back to the proposer.
	pending := w.ok("propose", "config", "--governance", w.gov, "--grace-period", "96h", "--keypair", m0)["proposal"].(string)
	w.refused("NOT_ENDED", "close", pending, "--keypair", w.payer)
	closed := w.ok("close", rejected, "--keypair", w.payer)
	if closed["rentCollector"] != w.keys[0].PublicKey().String() {
		t.Fatalf("close: rent to %v, want the proposer %s", closed["rentCollector"], w.keys[0].PublicKey().String())
	}
	w.refused("NOT_FOUND", "close", rejected, "--keypair", w.payer)
}
