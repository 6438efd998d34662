package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest/standin"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// WorkloadConfig sizes the workload.
type WorkloadConfig struct {
	Seed        uint64
	Governances int // config-change governances, besides the one that manages programs
	Proposals   int // config-change proposals across those governances
	// MigrateAccounts is the size of the migration; 0 skips it.
	MigrateAccounts int
	// Upgrade runs an upgrade of the localnet's target program and a rollback to the first binary.
	Upgrade bool
}

// Workload generates the transactions of a run. Its workers hold gate for reading around
// each step, so a fork (which abandons slots under them) runs between steps.
type Workload struct {
	cfg    WorkloadConfig
	rpc    *rpc.Client
	raw    *rawRPC
	build  *txbuild.Builder
	read   *txbuild.Reader
	node   nodeInfo
	log    *slog.Logger
	gate   *sync.RWMutex
	payers []solana.PrivateKey

	// Keys are created up front so the localnet can fund them at genesis.
	govs []*govKeys

	sent, failed atomic.Int64

	// awaited are the approved proposals the workload waits for a crank to execute; the
	// clock advancer moves the clock toward their etas, never past one still unexecuted.
	awaitMu sync.Mutex
	awaited map[solana.PublicKey]bool

	mu sync.Mutex
	// confirmed records when each signature was seen confirmed, for the latency figures.
	confirmed map[solana.Signature]time.Time
	// Outcome counts what the proposals ended as, by the workload's intent.
	Outcome map[string]int
}

type nodeInfo struct {
	target   solana.PublicKey
	deployer solana.PrivateKey
}

type govKeys struct {
	createKey solana.PrivateKey
	members   []solana.PrivateKey
	address   solana.PublicKey
}

// perpMarket is the localnet's native program whose accounts the migration rewrites.
var perpMarket = standin.PerpMarket

var positionDiscriminator = [8]byte{170, 188, 143, 228, 122, 64, 247, 208}

const (
	positionV1Len = 59
	versionOffset = 8
)

// NewWorkload creates the workload's keys; FundKeys lists what the localnet must fund.
func NewWorkload(cfg WorkloadConfig, log *slog.Logger) *Workload {
	r := rand.New(rand.NewPCG(cfg.Seed, 1))
	key := func() solana.PrivateKey {
		var seed [32]byte
		for i := range seed {
			seed[i] = byte(r.Uint32())
		}
		return solana.PrivateKey(ed25519FromSeed(seed[:]))
	}
	w := &Workload{cfg: cfg, log: log, build: txbuild.New(um.ProgramID), confirmed: map[solana.Signature]time.Time{},
		Outcome: map[string]int{}, awaited: map[solana.PublicKey]bool{}}
	for i := 0; i < cfg.Governances+1; i++ {
		g := &govKeys{createKey: key()}
		for range 3 {
			g.members = append(g.members, key())
		}
		g.address = w.build.Governance(g.createKey.PublicKey())
		w.govs = append(w.govs, g)
	}
	for range cfg.Governances + 2 {
		w.payers = append(w.payers, key())
	}
	return w
}

// FundKeys are the keys that pay or sign.
func (w *Workload) FundKeys() []solana.PublicKey {
	var keys []solana.PublicKey
	for _, p := range w.payers {
		keys = append(keys, p.PublicKey())
	}
	for _, g := range w.govs {
		for _, m := range g.members {
			keys = append(keys, m.PublicKey())
		}
	}
	return keys
}

// Attach points the workload at a running environment.
func (w *Workload) Attach(e *Env, gate *sync.RWMutex) {
	w.rpc = rpc.New(e.Node.RPCURL)
	w.raw = newRawRPC(e.Node.RPCURL)
	w.read = &txbuild.Reader{RPC: w.rpc, Commitment: rpc.CommitmentConfirmed, Builder: w.build}
	w.node = nodeInfo{target: e.Node.Target, deployer: e.Node.Deployer}
	w.gate = gate
}

// metadataStrings are metadata URIs of every kind the program accepts: empty, ASCII, emoji,
// combining marks, right-to-left text, exactly 200 bytes, and characters JSON escapes.
var metadataStrings = []string{
	"",
	"ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
	"🚀 release ✅ — 升级 🧪",
	"e\u0301 combining, \u202eright-to-left\u202c",
	"שחרור גרסה חדשה — إصدار جديد",
	strings.Repeat("🙂", 50),                  // 200 bytes of 4-byte characters
	strings.Repeat("x", 200),                 // 200 bytes of ASCII
	"https://example.com/a?b=c&d=\"quoted\"", // characters JSON escapes
}

// refusedMetadata are metadata URIs the program refuses (MetadataUriNotPrintable): NUL and
// other control bytes, invalid UTF-8. The workload sends one such proposal per governance on
// purpose and counts its refusal as expected.
var refusedMetadata = []string{
	"nul\x00inside\x00",
	strings.Repeat("x", 199) + "\x00",
	"bell\x07 and escape\x1b[31m",
	"invalid utf-8 \xff\xfe",
}

// Timelocks at the program's floors; the clock advancer moves the localnet's clock so they pass.
const (
	timelockSeconds         = um.MinTimelockSeconds
	rollbackTimelockSeconds = um.MinRollbackTimelockSeconds
	gracePeriodSeconds      = 2 * 3600
	// clockStep is the most the advancer moves the clock at once: no proposal's eta is ever
	// more than one step behind, so a crank follows it.
	clockStep = um.MinRollbackTimelockSeconds
)

// Run runs every part of the workload and returns when all are done or ctx ends.
func (w *Workload) Run(ctx context.Context) error {
	if err := w.setup(ctx); err != nil {
		return fmt.Errorf("workload setup: %w", err)
	}
	clockCtx, stopClock := context.WithCancel(ctx)
	clockDone := make(chan struct{})
	go func() {
		defer close(clockDone)
		w.advanceClock(clockCtx)
	}()
	defer func() { stopClock(); <-clockDone }()
	var wg sync.WaitGroup
	errs := make(chan error, len(w.govs)+2)
	per := w.cfg.Proposals / max(1, w.cfg.Governances)
	for i := 1; i <= w.cfg.Governances; i++ {
		n := per
		if i == w.cfg.Governances {
			n = w.cfg.Proposals - per*(w.cfg.Governances-1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.configWorker(ctx, i, n)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- w.programWorker(ctx)
	}()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// await registers proposal as approved and waiting for a crank; done drops it.
func (w *Workload) await(proposal solana.PublicKey) {
	w.awaitMu.Lock()
	defer w.awaitMu.Unlock()
	w.awaited[proposal] = true
}

func (w *Workload) done(proposal solana.PublicKey) {
	w.awaitMu.Lock()
	defer w.awaitMu.Unlock()
	delete(w.awaited, proposal)
}

// advanceClock moves the localnet's clock (dev_advanceClock) toward the earliest eta of the
// awaited proposals, at most clockStep at a time, and only while no awaited proposal is past
// its eta and unexecuted: the crank executes each before the clock moves on, so the checker's
// "none left executable past its eta" stays meaningful and no proposal drifts into its grace
// period's end.
func (w *Workload) advanceClock(ctx context.Context) {
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		w.awaitMu.Lock()
		keys := make([]solana.PublicKey, 0, len(w.awaited))
		for k := range w.awaited {
			keys = append(keys, k)
		}
		w.awaitMu.Unlock()
		if len(keys) == 0 {
			continue
		}
		now, err := w.read.Now(ctx)
		if err != nil {
			continue
		}
		var earliest int64
		blocked := false
		for _, k := range keys {
			p, err := w.read.Proposal(ctx, k)
			if err != nil {
				continue // abandoned by a fork, or a read that failed: nothing to wait for now
			}
			if p.Status != um.ProposalStatusApproved || p.Eta == 0 {
				if p.Status != um.ProposalStatusActive {
					w.done(k) // executed or ended: nothing more to wait for
				}
				continue
			}
			g, err := w.read.Governance(ctx, p.Governance)
			if err != nil {
				continue
			}
			if g.MemberSetSeqno != p.MemberSetSeqno {
				w.done(k) // stale: no crank can execute it
				continue
			}
			if p.Eta <= now {
				blocked = true // a crank has yet to execute it
				break
			}
			if earliest == 0 || p.Eta < earliest {
				earliest = p.Eta
			}
		}
		if blocked || earliest == 0 {
			continue
		}
		step := min(earliest-now+1, clockStep)
		w.gate.RLock()
		_, err = w.raw.call(ctx, "dev_advanceClock", step)
		w.gate.RUnlock()
		if err != nil {
			w.log.Debug("advance clock", slog.Any("error", err))
		}
	}
}

// setup creates the governances (retrying through forks).
func (w *Workload) setup(ctx context.Context) error {
	for i, g := range w.govs {
		members := make([]solana.PublicKey, len(g.members))
		for j, m := range g.members {
			members[j] = m.PublicKey()
		}
		timelock, rollback, grace := int64(timelockSeconds), int64(rollbackTimelockSeconds), int64(gracePeriodSeconds)
		args := um.InitializeGovernanceArgs{
			Members: members, Threshold: 2, RollbackThreshold: 2,
			TimelockSeconds: &timelock, RollbackTimelockSeconds: &rollback, GracePeriodSeconds: &grace,
			Spill: w.payers[0].PublicKey(),
		}
		if err := txbuild.CheckFloors(len(members), args.Threshold, args.RollbackThreshold, timelock, rollback, nil); err != nil {
			return err
		}
		ix, _ := w.build.InitGovernance(w.payers[0].PublicKey(), g.createKey.PublicKey(), args)
		for {
			if _, err := w.governance(ctx, g.address); err == nil {
				break
			}
			if _, err := w.send(ctx, 0, []solana.Instruction{ix}, g.createKey); err != nil {
				w.log.Debug("initialize governance", slog.Int("governance", i), slog.Any("error", err))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// isRefusedMetadata tells whether err is the program's refusal of metadata URI meta: valid
// UTF-8 with control characters is refused by the program's check (6049
// MetadataUriNotPrintable); invalid UTF-8 already by Anchor's decoding of the instruction's
// string argument (102 InstructionDidNotDeserialize).
func isRefusedMetadata(err error, meta string) bool {
	code := int(um.ErrMetadataURINotPrintable)
	if !utf8.ValidString(meta) {
		code = anchorInstructionDidNotDeserialize
	}
	s := err.Error()
	return strings.Contains(s, fmt.Sprintf("custom program error: 0x%x\"", code)) ||
		strings.Contains(s, fmt.Sprintf("custom program error: 0x%x ", code)) ||
		strings.HasSuffix(s, fmt.Sprintf("custom program error: 0x%x", code)) ||
		strings.Contains(s, fmt.Sprintf("Custom:%d]", code)) || strings.Contains(s, fmt.Sprintf("Custom\":%d}", code))
}

// anchorInstructionDidNotDeserialize is Anchor's error for instruction data it cannot decode.
const anchorInstructionDidNotDeserialize = 102

// configWorker runs n config-change proposals on governance gi, one after another, each
// with an intent: executed by a crank (waited for), revoked, cancelled, rejected, or left with
// one approval for a later execution to make stale. First it sends one proposal whose metadata the program
// refuses.
func (w *Workload) configWorker(ctx context.Context, gi, n int) error {
	r := rand.New(rand.NewPCG(w.cfg.Seed, uint64(100+gi)))
	g := w.govs[gi]
	payer := gi
	m := g.members
	if len(refusedMetadata) > 0 {
		meta := refusedMetadata[r.IntN(len(refusedMetadata))]
		change := um.ConfigChange{Kind: um.ConfigChangeKindSetGracePeriod, SetGracePeriod: um.ConfigChangeSetGracePeriod{Seconds: gracePeriodSeconds}}
		for attempt := 0; ; attempt++ {
			plan, err := w.read.PlanProposeConfigChange(ctx, g.address, m[0].PublicKey(), change, meta)
			if err == nil {
				_, err = w.send(ctx, payer, plan.Instructions, m[0])
			}
			if err == nil {
				return fmt.Errorf("governance %d: the program accepted metadata %q, which it must refuse", gi, meta)
			}
			if isRefusedMetadata(err, meta) {
				w.count("refused_metadata")
				break
			}
			if attempt == 5 || ctx.Err() != nil {
				return fmt.Errorf("governance %d: the refused-metadata proposal: %w", gi, err)
			}
		}
	}
	for k := 0; k < n && ctx.Err() == nil; k++ {
		var change um.ConfigChange
		switch r.IntN(4) {
		case 0:
			change = um.ConfigChange{Kind: um.ConfigChangeKindSetGracePeriod, SetGracePeriod: um.ConfigChangeSetGracePeriod{Seconds: gracePeriodSeconds + int64(r.IntN(1000))}}
		case 1:
			change = um.ConfigChange{Kind: um.ConfigChangeKindSetTimelock, SetTimelock: um.ConfigChangeSetTimelock{Seconds: timelockSeconds + int64(r.IntN(3))}}
		case 2:
			change = um.ConfigChange{Kind: um.ConfigChangeKindSetVotingPeriod, SetVotingPeriod: um.ConfigChangeSetVotingPeriod{Seconds: 14*24*3600 + int64(r.IntN(1000))}}
		default:
			change = um.ConfigChange{Kind: um.ConfigChangeKindSetSpill, SetSpill: um.ConfigChangeSetSpill{Spill: w.payers[r.IntN(len(w.payers))].PublicKey()}}
		}
		meta := metadataStrings[r.IntN(len(metadataStrings))]
		var proposal solana.PublicKey
		propose := step{signer: m[0], plan: func(ctx context.Context) (*txbuild.Plan, error) {
			plan, err := w.read.PlanProposeConfigChange(ctx, g.address, m[0].PublicKey(), change, meta)
			if err == nil {
				proposal = plan.Address
			}
			return plan, err
		}}
		vote := func(kind string, i int) step {
			return step{signer: m[i], plan: func(ctx context.Context) (*txbuild.Plan, error) {
				return w.read.PlanVote(ctx, kind, proposal, m[i].PublicKey())
			}}
		}
		steps := []step{propose}
		intent := ""
		switch x := r.IntN(12); {
		case x < 5:
			intent = "executed"
			steps = append(steps, vote("approve", 1), vote("approve", 2))
		case x < 7:
			intent = "revoked"
			steps = append(steps, vote("approve", 1), vote("revoke", 1))
		case x < 9:
			intent = "cancelled"
			steps = append(steps, vote("approve", 2), vote("cancel", 0), vote("cancel", 1))
		case x < 11:
			// Rejected once rejections exceed N − M (3 − 2): two rejections.
			intent = "rejected"
			steps = append(steps, vote("approve", 0), vote("reject", 1), vote("reject", 2))
		default:
			// One approval, left: the next executed change of this governance makes it stale.
			intent = "approved_then_stale"
			steps = append(steps, vote("approve", 2))
		}
		if err := w.steps(ctx, payer, steps); err != nil {
			w.count("abandoned")
			w.log.Debug("proposal abandoned", slog.Int("governance", gi), slog.Any("error", err))
			continue
		}
		switch intent {
		case "executed":
			// The advancer moves the clock to its eta and a crank executes it; the next
			// proposal waits, as executing a config change makes the governance's approved
			// proposals stale.
			w.await(proposal)
			executed, err := w.waitExecuted(ctx, proposal, 3*time.Minute)
			w.done(proposal)
			switch {
			case err != nil:
				return fmt.Errorf("governance %d: %w", gi, err)
			case !executed:
				w.count("abandoned")
				continue
			}
		}
		w.count(intent)
	}
	return nil
}

// step is one transaction of a proposal's life, planned through txbuild when it is sent
// (so it sees the proposal as the steps before it left it).
type step struct {
	plan   func(ctx context.Context) (*txbuild.Plan, error)
	signer solana.PrivateKey
}

// steps lands each step in its own transaction, in order; the first failure ends them.
func (w *Workload) steps(ctx context.Context, payer int, steps []step) error {
	for _, s := range steps {
		plan, err := s.plan(ctx)
		if err != nil {
			return err
		}
		if _, err := w.send(ctx, payer, plan.Instructions, s.signer); err != nil {
			return err
		}
	}
	return nil
}

func (w *Workload) count(outcome string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.Outcome[outcome]++
}

// programWorker registers the localnet's target program to governance 0, upgrades it
// (executed by a crank), rolls it back, and runs the migration.
func (w *Workload) programWorker(ctx context.Context) error {
	g := w.govs[0]
	payer := len(w.payers) - 1
	target := w.node.target
	if w.cfg.Upgrade {
		if err := w.register(ctx, payer, g, target); err != nil {
			return err
		}
		first, err := w.programELF(ctx, target)
		if err != nil {
			return err
		}
		token, err := w.programELF(ctx, solana.TokenProgramID)
		if err != nil {
			return err
		}
		if err := w.binaryProposal(ctx, payer, g, token, um.ProposalKindUpgrade); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
		if err := w.binaryProposal(ctx, payer, g, first, um.ProposalKindRollback); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
	}
	if w.cfg.MigrateAccounts > 0 {
		if err := w.migration(ctx, payer, g); err != nil {
			return fmt.Errorf("migration: %w", err)
		}
	}
	return nil
}

func (w *Workload) register(ctx context.Context, payer int, g *govKeys, target solana.PublicKey) error {
	return w.until(ctx, func() bool { return w.exists(ctx, w.build.ManagedProgram(target)) },
		func() error {
			plan, err := w.read.PlanRegister(ctx, g.address, target, w.node.deployer.PublicKey(), w.payers[payer].PublicKey())
			if err != nil {
				return err
			}
			_, err = w.send(ctx, payer, plan.Instructions, w.node.deployer)
			return err
		})
}

// until repeats act until done holds: a fork may abandon a landed transaction.
func (w *Workload) until(ctx context.Context, done func() bool, act func() error) error {
	for attempt := 0; ; attempt++ {
		if done() {
			return nil
		}
		if attempt == 20 {
			return errors.New("gave up after 20 attempts")
		}
		if err := act(); err != nil {
			w.log.Debug("retrying", slog.Any("error", err))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Let the transaction settle below the fork depth before trusting it.
		time.Sleep(2 * time.Second)
	}
}

// binaryProposal writes elf to a buffer, proposes it (upgrade or rollback), approves it
// with two members (both thresholds are 2), and waits until a crank has executed it.
func (w *Workload) binaryProposal(ctx context.Context, payer int, g *govKeys, elf []byte, kind um.ProposalKind) error {
	target := w.node.target
	for attempt := 0; attempt < 5; attempt++ {
		buffer, err := w.writeBuffer(ctx, payer, elf)
		if err != nil {
			w.log.Debug("write buffer", slog.Any("error", err))
			continue
		}
		var proposal solana.PublicKey
		propose := step{signer: g.members[0], plan: func(ctx context.Context) (*txbuild.Plan, error) {
			plan, err := w.read.PlanProposeBinary(ctx, kind, txbuild.ProposeBinary{
				Proposer: g.members[0].PublicKey(), Program: target, Buffer: buffer,
				MetadataURI: "🚀 release ✅ — 升级 🧪", BuildHash: txbuild.ELFHash(elf),
			})
			if err == nil {
				proposal = plan.Address
			}
			return plan, err
		}}
		steps := []step{propose}
		for i := range 2 {
			steps = append(steps, step{signer: g.members[i], plan: func(ctx context.Context) (*txbuild.Plan, error) {
				return w.read.PlanVote(ctx, "approve", proposal, g.members[i].PublicKey())
			}})
		}
		if err := w.steps(ctx, payer, steps); err != nil {
			w.log.Debug("binary proposal", slog.Any("error", err))
			continue
		}
		// The clock advancer moves the clock past the timelock; the cranks execute it.
		w.await(proposal)
		executed, err := w.waitExecuted(ctx, proposal, 5*time.Minute)
		w.done(proposal)
		if err != nil {
			return err
		}
		if executed {
			w.count(strings.ToLower(kind.String()) + "_executed")
			return nil
		}
	}
	return fmt.Errorf("%v proposal never executed", kind)
}

// waitExecuted waits until the proposal is executed (true), or a fork abandoned it or the
// approvals that made it approved (false): the caller proposes again.
func (w *Workload) waitExecuted(ctx context.Context, proposal solana.PublicKey, limit time.Duration) (bool, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		p, err := w.proposal(ctx, proposal)
		if err == nil && p.Status == um.ProposalStatusExecuted {
			return true, nil
		}
		if err == nil && p.Status == um.ProposalStatusActive {
			w.log.Debug("a fork abandoned the approvals", slog.String("proposal", proposal.String()))
			return false, nil
		}
		if err == nil && p.Status != um.ProposalStatusApproved {
			return false, fmt.Errorf("proposal %s ended %s, not executed", proposal, txbuild.StatusName(p.Status))
		}
		if err != nil && !w.exists(ctx, proposal) {
			return false, nil // abandoned by a fork: propose again
		}
		time.Sleep(500 * time.Millisecond)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return false, fmt.Errorf("proposal %s not executed in %s", proposal, limit)
}

// migration gives perp_market a ManagedProgram record on governance 0, seeds the v1
// positions, and proposes and approves their migration; the cranks do the rest.
func (w *Workload) migration(ctx context.Context, payer int, g *govKeys) error {
	if err := w.manage(ctx, g.address, perpMarket); err != nil {
		return err
	}
	if err := w.seedPositions(ctx, w.payers[payer].PublicKey()); err != nil {
		return err
	}
	disc := positionDiscriminator
	spec := um.MigrationSpec{
		FromVersion: 1, ToVersion: 2, VersionOffset: versionOffset, DataSize: positionV1Len,
		Discriminator: &disc, MigrateIxData: anchorSighash("migrate_position"), TotalAccounts: uint64(w.cfg.MigrateAccounts),
		// RequiredHash left zero: txbuild requires the binary perp_market runs now (the
		// stand-in programdata's).
	}
	for attempt := 0; attempt < 5; attempt++ {
		var proposal solana.PublicKey
		steps := []step{{signer: g.members[0], plan: func(ctx context.Context) (*txbuild.Plan, error) {
			plan, err := w.read.PlanProposeMigration(ctx, perpMarket, g.members[0].PublicKey(), spec, strings.Repeat("🙂", 50))
			if err == nil {
				proposal = plan.Address
				if plan.Details["requiredHash"] != hex.EncodeToString(standInHash[:]) {
					return nil, fmt.Errorf("migration requires binary %s, not the stand-in's %x", plan.Details["requiredHash"], standInHash)
				}
			}
			return plan, err
		}}}
		for i := range 2 {
			steps = append(steps, step{signer: g.members[i], plan: func(ctx context.Context) (*txbuild.Plan, error) {
				return w.read.PlanVote(ctx, "approve", proposal, g.members[i].PublicKey())
			}})
		}
		if err := w.steps(ctx, payer, steps); err != nil {
			w.log.Debug("migration proposal", slog.Any("error", err))
			continue
		}
		w.await(proposal)
		job := w.build.MigrationJob(proposal)
		deadline := time.Now().Add(10 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			var j um.MigrationJob
			if err := w.account(ctx, job, &j); err == nil && j.Status == um.MigrationStatusCompleted {
				w.done(proposal)
				w.count("migration_completed")
				return nil
			}
			if p, err := w.proposal(ctx, proposal); err != nil && !w.exists(ctx, proposal) {
				break // abandoned by a fork: propose again
			} else if err == nil && p.Status == um.ProposalStatusActive {
				break // a fork abandoned its approvals: propose again
			}
			time.Sleep(time.Second)
		}
		w.done(proposal)
	}
	return errors.New("the migration never completed")
}

// seedPositions writes MigrateAccounts v1 positions owned by owner with dev_setAccount, as the
// previous binary left them (the binary perp_market runs now opens positions in the v2 layout
// only, as the crank's migration test says), then writes again the ones a fork abandoned, until
// every one exists: the job completes only at exactly TotalAccounts.
func (w *Workload) seedPositions(ctx context.Context, owner solana.PublicKey) error {
	n := w.cfg.MigrateAccounts
	positions := make([]solana.PublicKey, n)
	missing := make([]int, n)
	for id := range n {
		positions[id] = standin.Position(owner, uint64(id))
		missing[id] = id
	}
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(ctx, positionV1Len, rpc.CommitmentConfirmed)
	if err != nil {
		return err
	}
	for round := 0; len(missing) > 0; round++ {
		if round == 10 {
			return fmt.Errorf("seed positions: %d still missing after 10 rounds", len(missing))
		}
		for _, id := range missing {
			data := append([]byte{}, positionDiscriminator[:]...)
			data = append(data, 1) // version
			data = append(data, owner[:]...)
			data = binary.LittleEndian.AppendUint16(data, 1)
			data = binary.LittleEndian.AppendUint64(data, uint64(10+id))
			data = binary.LittleEndian.AppendUint64(data, uint64(1000*(id+1)))
			w.gate.RLock()
			_, err := w.raw.call(ctx, "dev_setAccount", positions[id].String(), map[string]any{
				"lamports": rent, "owner": perpMarket.String(), "executable": false,
				"data": []string{base64.StdEncoding.EncodeToString(data), "base64"},
			})
			w.gate.RUnlock()
			if err != nil {
				w.log.Debug("seed position", slog.Int("id", id), slog.Any("error", err))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		// Let the writes settle below the fork depth before trusting them.
		time.Sleep(2 * time.Second)
		var still []int
		for i := 0; i < n; i += 100 {
			chunk := positions[i:min(i+100, n)]
			res, err := w.rpc.GetMultipleAccountsWithOpts(ctx, chunk, &rpc.GetMultipleAccountsOpts{Commitment: rpc.CommitmentConfirmed, Encoding: solana.EncodingBase64})
			if err != nil {
				return fmt.Errorf("read positions: %w", err)
			}
			for j, a := range res.Value {
				if a == nil {
					still = append(still, i+j)
				}
			}
		}
		missing = still
	}
	return nil
}

// Planted lists the accounts the workload writes with dev_setAccount rather than
// through the program.
func (w *Workload) Planted() map[string]bool {
	if w.cfg.MigrateAccounts == 0 {
		return nil
	}
	return map[string]bool{
		w.build.ManagedProgram(perpMarket).String(): true,
		txbuild.Programdata(perpMarket).String():    true,
	}
}

// standInHash is the hash of the binary perp_market's stand-in programdata holds: a migration
// requires the hash of the binary the target runs, and perp_market runs natively, with no
// programdata of its own.
var standInHash = txbuild.ELFHash(standin.PerpBinary)

// manage writes the ManagedProgram record register_program would write for program (a
// native builtin here, which register_program cannot take) and a programdata account
// standing for its deployed binary, as the crank's and umctl's tests do.
func (w *Workload) manage(ctx context.Context, gov, program solana.PublicKey) error {
	accs, err := standin.Managed(um.ProgramID, gov, program, standin.PerpBinary)
	if err != nil {
		return err
	}
	for _, a := range accs {
		if err := w.setAccount(ctx, a.Key, a.Owner, a.Data); err != nil {
			return err
		}
	}
	return nil
}

// setAccount writes an account with localnet's dev_setAccount, until it exists (a fork may
// abandon the write).
func (w *Workload) setAccount(ctx context.Context, key, owner solana.PublicKey, data []byte) error {
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(ctx, uint64(len(data)), rpc.CommitmentConfirmed)
	if err != nil {
		return err
	}
	return w.until(ctx, func() bool { return w.exists(ctx, key) }, func() error {
		_, err := w.raw.call(ctx, "dev_setAccount", key.String(), map[string]any{
			"lamports": rent, "owner": owner.String(), "executable": false,
			"data": []string{base64.StdEncoding.EncodeToString(data), "base64"},
		})
		return err
	})
}

// writeBuffer writes elf to a new loader-v3 buffer and locks it to the target's
// upgrade-authority PDA, as `umctl write-buffer` does.
func (w *Workload) writeBuffer(ctx context.Context, payer int, elf []byte) (solana.PublicKey, error) {
	buffer, err := solana.NewRandomPrivateKey()
	if err != nil {
		return solana.PublicKey{}, err
	}
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(ctx, txbuild.BufferSize(len(elf)), rpc.CommitmentConfirmed)
	if err != nil {
		return solana.PublicKey{}, err
	}
	authority := w.payers[payer].PublicKey()
	if _, err := w.send(ctx, payer, txbuild.CreateBuffer(authority, buffer.PublicKey(), authority, len(elf), rent), buffer); err != nil {
		return solana.PublicKey{}, err
	}
	size := txbuild.WriteChunkSize(authority, authority, buffer.PublicKey(), false)
	for _, c := range txbuild.Chunks(elf, size) {
		if _, err := w.send(ctx, payer, []solana.Instruction{txbuild.WriteBuffer(buffer.PublicKey(), authority, uint32(c.Offset), c.Data)}); err != nil {
			return solana.PublicKey{}, err
		}
	}
	if _, err := w.send(ctx, payer, []solana.Instruction{w.build.LockBuffer(buffer.PublicKey(), authority, w.node.target)}); err != nil {
		return solana.PublicKey{}, err
	}
	// A fork may abandon the writes: check the buffer holds the ELF before proposing it.
	time.Sleep(2 * time.Second)
	a, err := w.rpc.GetAccountInfoWithOpts(ctx, buffer.PublicKey(), &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		return solana.PublicKey{}, fmt.Errorf("read buffer: %w", err)
	}
	if got, err := txbuild.BufferELF(a.Value.Data.GetBinary()); err != nil || sha256.Sum256(got) != sha256.Sum256(elf) {
		return solana.PublicKey{}, errors.New("buffer lost writes to a fork")
	}
	return buffer.PublicKey(), nil
}

// programELF reads a program's ELF: a loader-v2 account's data, or a loader-v3
// programdata's bytes after its 45-byte header.
func (w *Workload) programELF(ctx context.Context, key solana.PublicKey) ([]byte, error) {
	a, err := w.rpc.GetAccountInfoWithOpts(ctx, key, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		return nil, err
	}
	if !a.Value.Owner.Equals(solana.BPFLoaderUpgradeableProgramID) {
		return a.Value.Data.GetBinary(), nil
	}
	pd, err := w.rpc.GetAccountInfoWithOpts(ctx, txbuild.Programdata(key), &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		return nil, err
	}
	// The whole programdata after its header, padding included: trimming zeros could cut
	// the ELF itself, and the program hashes it without the padding either way.
	return pd.Value.Data.GetBinary()[45:], nil
}

// send lands ixs paid by payer and signed by signers and waits until they are confirmed.
// The gate is held for reading throughout, so a fork never abandons a transaction
// between its send and its confirmation.
func (w *Workload) send(ctx context.Context, payer int, ixs []solana.Instruction, signers ...solana.PrivateKey) (solana.Signature, error) {
	w.gate.RLock()
	defer w.gate.RUnlock()
	w.sent.Add(1)
	sig, err := w.sendLocked(ctx, payer, ixs, signers...)
	if err != nil {
		w.failed.Add(1)
	}
	return sig, err
}

func (w *Workload) sendLocked(ctx context.Context, payer int, ixs []solana.Instruction, signers ...solana.PrivateKey) (solana.Signature, error) {
	bh, err := w.rpc.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
	if err != nil {
		return solana.Signature{}, err
	}
	p := w.payers[payer]
	tx, err := solana.NewTransaction(ixs, bh.Value.Blockhash, solana.TransactionPayer(p.PublicKey()))
	if err != nil {
		return solana.Signature{}, err
	}
	keys := append([]solana.PrivateKey{p}, signers...)
	if _, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		for i := range keys {
			if keys[i].PublicKey().Equals(k) {
				return &keys[i]
			}
		}
		return nil
	}); err != nil {
		return solana.Signature{}, err
	}
	sig, err := w.rpc.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
	if err != nil {
		return solana.Signature{}, fmt.Errorf("send: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := w.rpc.GetSignatureStatuses(ctx, false, sig)
		if err == nil && len(st.Value) == 1 && st.Value[0] != nil {
			if st.Value[0].Err != nil {
				return sig, fmt.Errorf("transaction %s failed: %v", sig, st.Value[0].Err)
			}
			if s := st.Value[0].ConfirmationStatus; s == rpc.ConfirmationStatusConfirmed || s == rpc.ConfirmationStatusFinalized {
				w.mu.Lock()
				w.confirmed[sig] = time.Now()
				w.mu.Unlock()
				return sig, nil
			}
		}
		select {
		case <-ctx.Done():
			return sig, ctx.Err()
		case <-time.After(30 * time.Millisecond):
		}
	}
	return sig, fmt.Errorf("transaction %s not confirmed in 30 s", sig)
}

// ConfirmedAt returns when the workload saw each of its transactions confirmed.
func (w *Workload) ConfirmedAt() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]time.Time, len(w.confirmed))
	for s, t := range w.confirmed {
		out[s.String()] = t
	}
	return out
}

func (w *Workload) governance(ctx context.Context, key solana.PublicKey) (*um.Governance, error) {
	var g um.Governance
	return &g, w.account(ctx, key, &g)
}

func (w *Workload) proposal(ctx context.Context, key solana.PublicKey) (*um.Proposal, error) {
	var p um.Proposal
	return &p, w.account(ctx, key, &p)
}

type accountDecoder interface{ UnmarshalAccount([]byte) error }

func (w *Workload) account(ctx context.Context, key solana.PublicKey, into accountDecoder) error {
	a, err := w.rpc.GetAccountInfoWithOpts(ctx, key, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		return err
	}
	return into.UnmarshalAccount(a.Value.Data.GetBinary())
}

func (w *Workload) exists(ctx context.Context, key solana.PublicKey) bool {
	a, err := w.rpc.GetAccountInfoWithOpts(ctx, key, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	return err == nil && a != nil && a.Value != nil
}

func anchorSighash(name string) []byte {
	h := sha256.Sum256([]byte("global:" + name))
	return h[:8]
}
