package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/system"
	"github.com/gagliardetto/solana-go/rpc"

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
	node   nodeInfo
	log    *slog.Logger
	gate   *sync.RWMutex
	payers []solana.PrivateKey

	// Keys are created up front so the localnet can fund them at genesis.
	govs []*govKeys

	sent, failed atomic.Int64

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
var perpMarket = solana.MustPublicKeyFromBase58("PerpMarket111111111111111111111111111111111")

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
	w := &Workload{cfg: cfg, log: log, confirmed: map[solana.Signature]time.Time{}, Outcome: map[string]int{}}
	for i := 0; i < cfg.Governances+1; i++ {
		g := &govKeys{createKey: key()}
		for range 3 {
			g.members = append(g.members, key())
		}
		g.address, _, _ = solana.FindProgramAddress([][]byte{[]byte("governance"), g.createKey.PublicKey().Bytes()}, um.ProgramID)
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
	w.node = nodeInfo{target: e.Node.Target, deployer: e.Node.Deployer}
	w.gate = gate
}

// metadataStrings are the metadata URIs the program accepts today, of every kind: empty,
// ASCII, emoji, NUL bytes, combining marks, right-to-left text, and exactly 200 bytes.
var metadataStrings = []string{
	"",
	"ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
	"🚀 release ✅ — 升级 🧪",
	"nul\x00inside\x00",
	"e\u0301 combining, \u202eright-to-left\u202c",
	strings.Repeat("🙂", 50),                  // 200 bytes of 4-byte characters
	strings.Repeat("x", 199) + "\x00",        // 200 bytes ending in NUL
	"https://example.com/a?b=c&d=\"quoted\"", // characters JSON escapes
}

// Run runs every part of the workload and returns when all are done or ctx ends.
func (w *Workload) Run(ctx context.Context) error {
	if err := w.setup(ctx); err != nil {
		return fmt.Errorf("workload setup: %w", err)
	}
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

// setup creates the governances (retrying through forks).
func (w *Workload) setup(ctx context.Context) error {
	for i, g := range w.govs {
		members := make([]solana.PublicKey, len(g.members))
		for j, m := range g.members {
			members[j] = m.PublicKey()
		}
		short := int64(2)
		grace := int64(3600)
		ix := um.NewInitializeGovernanceInstruction(um.InitializeGovernanceArgs{
			Members: members, Threshold: 2, RollbackThreshold: 1,
			TimelockSeconds: &short, RollbackTimelockSeconds: &short, GracePeriodSeconds: &grace,
			Spill: w.payers[0].PublicKey(),
		}, um.InitializeGovernanceAccounts{Payer: w.payers[0].PublicKey(), CreateKey: g.createKey.PublicKey(), Governance: g.address})
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

// configWorker runs n config-change proposals on governance gi, one after another, each
// with an intent: executed by a crank, revoked, cancelled, or left approved for a later
// execution to make stale.
func (w *Workload) configWorker(ctx context.Context, gi, n int) error {
	r := rand.New(rand.NewPCG(w.cfg.Seed, uint64(100+gi)))
	g := w.govs[gi]
	payer := gi
	for k := 0; k < n && ctx.Err() == nil; k++ {
		gov, err := w.governance(ctx, g.address)
		if err != nil {
			return fmt.Errorf("governance %d: %w", gi, err)
		}
		index := gov.ProposalCount
		proposal := proposalAddress(g.address, index)
		var change um.ConfigChange
		switch r.IntN(3) {
		case 0:
			change = um.ConfigChange{Kind: um.ConfigChangeKindSetGracePeriod, SetGracePeriod: um.ConfigChangeSetGracePeriod{Seconds: 3600 + int64(r.IntN(1000))}}
		case 1:
			change = um.ConfigChange{Kind: um.ConfigChangeKindSetTimelock, SetTimelock: um.ConfigChangeSetTimelock{Seconds: 1 + int64(r.IntN(3))}}
		default:
			change = um.ConfigChange{Kind: um.ConfigChangeKindSetSpill, SetSpill: um.ConfigChangeSetSpill{Spill: w.payers[r.IntN(len(w.payers))].PublicKey()}}
		}
		meta := metadataStrings[r.IntN(len(metadataStrings))]
		m := g.members
		steps := []step{{ix: um.NewProposeConfigChangeInstruction(change, meta, um.ProposeConfigChangeAccounts{
			Proposer: m[0].PublicKey(), Governance: g.address, Proposal: proposal}), signer: m[0]}}
		approve := func(i int) step {
			return step{ix: um.NewApproveInstruction(um.ApproveAccounts{Member: m[i].PublicKey(), Governance: g.address, Proposal: proposal}), signer: m[i]}
		}
		cancel := func(i int) step {
			return step{ix: um.NewCancelInstruction(um.CancelAccounts{Signer: m[i].PublicKey(), Governance: g.address, Proposal: proposal}), signer: m[i]}
		}
		intent := ""
		switch x := r.IntN(10); {
		case x < 5:
			intent = "executed"
			steps = append(steps, approve(1), approve(2))
		case x < 7:
			intent = "revoked"
			steps = append(steps, approve(1),
				step{ix: um.NewRevokeApprovalInstruction(um.RevokeApprovalAccounts{Member: m[1].PublicKey(), Governance: g.address, Proposal: proposal}), signer: m[1]})
		case x < 9:
			intent = "cancelled"
			steps = append(steps, approve(2), cancel(0), cancel(1))
		default:
			// Approved, then made stale by the next executed change of this governance.
			intent = "approved_then_stale"
			steps = append(steps, approve(0), approve(2))
		}
		if err := w.steps(ctx, payer, steps); err != nil {
			w.count("abandoned")
			w.log.Debug("proposal abandoned", slog.Int("governance", gi), slog.Uint64("index", index), slog.Any("error", err))
			continue
		}
		w.count(intent)
	}
	return nil
}

type step struct {
	ix     solana.Instruction
	signer solana.PrivateKey
}

// steps lands each step in its own transaction, in order; the first failure ends them.
func (w *Workload) steps(ctx context.Context, payer int, steps []step) error {
	for _, s := range steps {
		if _, err := w.send(ctx, payer, []solana.Instruction{s.ix}, s.signer); err != nil {
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
		if err := w.binaryProposal(ctx, payer, g, token, um.ProposalKindUpgrade, 2); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
		if err := w.binaryProposal(ctx, payer, g, first, um.ProposalKindRollback, 1); err != nil {
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
	ix := um.NewRegisterProgramInstruction(um.RegisterProgramAccounts{
		Payer:            w.payers[payer].PublicKey(),
		CurrentAuthority: w.node.deployer.PublicKey(),
		Governance:       g.address,
		ManagedProgram:   pda([]byte("managed_program"), target[:]),
		TargetProgram:    target,
		Programdata:      programdataAddress(target),
		UpgradeAuthority: pda([]byte("upgrade_authority"), target[:]),
	})
	return w.until(ctx, func() bool { return w.exists(ctx, pda([]byte("managed_program"), target[:])) },
		func() error { _, err := w.send(ctx, payer, []solana.Instruction{ix}, w.node.deployer); return err })
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
// with approvals members, and waits until a crank has executed it.
func (w *Workload) binaryProposal(ctx context.Context, payer int, g *govKeys, elf []byte, kind um.ProposalKind, approvals int) error {
	target := w.node.target
	for attempt := 0; attempt < 5; attempt++ {
		buffer, err := w.writeBuffer(ctx, payer, elf)
		if err != nil {
			w.log.Debug("write buffer", slog.Any("error", err))
			continue
		}
		gov, err := w.governance(ctx, g.address)
		if err != nil {
			return err
		}
		proposal := proposalAddress(g.address, gov.ProposalCount)
		var ix solana.Instruction
		meta := "🚀 release ✅ — 升级 🧪"
		if kind == um.ProposalKindRollback {
			ix = um.NewProposeRollbackInstruction(meta, [32]byte{9}, um.ProposeRollbackAccounts{
				Proposer: g.members[0].PublicKey(), Governance: g.address, ManagedProgram: pda([]byte("managed_program"), target[:]),
				Programdata: programdataAddress(target), Buffer: buffer, Proposal: proposal})
		} else {
			ix = um.NewProposeUpgradeInstruction(meta, [32]byte{8}, um.ProposeUpgradeAccounts{
				Proposer: g.members[0].PublicKey(), Governance: g.address, ManagedProgram: pda([]byte("managed_program"), target[:]),
				Programdata: programdataAddress(target), Buffer: buffer, Proposal: proposal})
		}
		steps := []step{{ix: ix, signer: g.members[0]}}
		for i := range approvals {
			steps = append(steps, step{ix: um.NewApproveInstruction(um.ApproveAccounts{Member: g.members[i].PublicKey(), Governance: g.address, Proposal: proposal}), signer: g.members[i]})
		}
		if err := w.steps(ctx, payer, steps); err != nil {
			w.log.Debug("binary proposal", slog.Any("error", err))
			continue
		}
		// The cranks execute it once the timelock passes.
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			p, err := w.proposal(ctx, proposal)
			if err == nil && p.Status == um.ProposalStatusExecuted {
				w.count(strings.ToLower(kind.String()) + "_executed")
				return nil
			}
			if err != nil && !w.exists(ctx, proposal) {
				break // abandoned by a fork: propose again
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return fmt.Errorf("%v proposal never executed", kind)
}

// migration gives perp_market a ManagedProgram record on governance 0, opens the
// positions, and proposes and approves their migration; the cranks do the rest.
func (w *Workload) migration(ctx context.Context, payer int, g *govKeys) error {
	if err := w.manage(ctx, g.address, perpMarket); err != nil {
		return err
	}
	owner := w.payers[payer]
	n := w.cfg.MigrateAccounts
	positions := make([]solana.PublicKey, n)
	open := func(id int) solana.Instruction {
		data := anchorSighash("open_position")
		data = binary.LittleEndian.AppendUint64(data, uint64(id))
		data = binary.LittleEndian.AppendUint16(data, 1)
		data = binary.LittleEndian.AppendUint64(data, uint64(10+id))
		data = binary.LittleEndian.AppendUint64(data, uint64(1000*(id+1)))
		return solana.NewInstruction(perpMarket, solana.AccountMetaSlice{
			solana.Meta(owner.PublicKey()).WRITE().SIGNER(), solana.Meta(positions[id]).WRITE(), solana.Meta(solana.SystemProgramID),
		}, data)
	}
	missing := make([]int, n)
	for id := range n {
		positions[id], _, _ = solana.FindProgramAddress([][]byte{[]byte("position"), owner.PublicKey().Bytes(), binary.LittleEndian.AppendUint64(nil, uint64(id))}, perpMarket)
		missing[id] = id
	}
	// Open them ten to a transaction, then open again the ones a fork abandoned, until
	// every one exists: the job completes only at exactly TotalAccounts.
	for round := 0; len(missing) > 0; round++ {
		if round == 10 {
			return fmt.Errorf("open positions: %d still missing after 10 rounds", len(missing))
		}
		for i := 0; i < len(missing); i += 10 {
			var ixs []solana.Instruction
			for _, id := range missing[i:min(i+10, len(missing))] {
				ixs = append(ixs, open(id))
			}
			if _, err := w.send(ctx, payer, ixs); err != nil {
				w.log.Debug("open positions", slog.Any("error", err))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
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
	disc := positionDiscriminator
	for attempt := 0; attempt < 5; attempt++ {
		gov, err := w.governance(ctx, g.address)
		if err != nil {
			return err
		}
		proposal := proposalAddress(g.address, gov.ProposalCount)
		steps := []step{{ix: um.NewProposeMigrationInstruction(um.MigrationSpec{
			FromVersion: 1, ToVersion: 2, VersionOffset: versionOffset, DataSize: positionV1Len,
			Discriminator: &disc, MigrateIxData: anchorSighash("migrate_position"), TotalAccounts: uint64(n),
		}, strings.Repeat("🙂", 50), um.ProposeMigrationAccounts{
			Proposer: g.members[0].PublicKey(), Governance: g.address,
			ManagedProgram: pda([]byte("managed_program"), perpMarket[:]), Proposal: proposal,
		}), signer: g.members[0]}}
		for i := range 2 {
			steps = append(steps, step{ix: um.NewApproveInstruction(um.ApproveAccounts{Member: g.members[i].PublicKey(), Governance: g.address, Proposal: proposal}), signer: g.members[i]})
		}
		if err := w.steps(ctx, payer, steps); err != nil {
			continue
		}
		job := pda([]byte("migration"), proposal[:])
		deadline := time.Now().Add(10 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			var j um.MigrationJob
			if err := w.account(ctx, job, &j); err == nil && j.Status == um.MigrationStatusCompleted {
				w.count("migration_completed")
				return nil
			}
			if !w.exists(ctx, proposal) {
				break
			}
			time.Sleep(time.Second)
		}
	}
	return errors.New("the migration never completed")
}

// Planted lists the accounts the workload writes with dev_setAccount rather than
// through the program.
func (w *Workload) Planted() map[string]bool {
	if w.cfg.MigrateAccounts == 0 {
		return nil
	}
	return map[string]bool{pda([]byte("managed_program"), perpMarket[:]).String(): true}
}

// manage writes the ManagedProgram record register_program would write for program (a
// native builtin here, which register_program cannot take), as the crank tests do.
func (w *Workload) manage(ctx context.Context, gov, program solana.PublicKey) error {
	_, bump, _ := solana.FindProgramAddress([][]byte{[]byte("managed_program"), program[:]}, um.ProgramID)
	ua, uaBump, _ := solana.FindProgramAddress([][]byte{[]byte("upgrade_authority"), program[:]}, um.ProgramID)
	_, maBump, _ := solana.FindProgramAddress([][]byte{[]byte("migration_authority"), program[:]}, um.ProgramID)
	mp := um.ManagedProgram{LayoutVersion: 1, Bump: bump, UpgradeAuthorityBump: uaBump, MigrationAuthorityBump: maBump,
		Governance: gov, Program: program, UpgradeAuthority: ua}
	disc := (&um.ManagedProgram{}).Discriminator()
	data := mp.AppendBorsh(disc[:])
	data = append(data, make([]byte, 8+632-len(data))...)
	key := pda([]byte("managed_program"), program[:])
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(ctx, uint64(len(data)), rpc.CommitmentConfirmed)
	if err != nil {
		return err
	}
	return w.until(ctx, func() bool { return w.exists(ctx, key) }, func() error {
		_, err := w.raw.call(ctx, "dev_setAccount", key.String(), map[string]any{
			"lamports": rent, "owner": um.ProgramID.String(), "executable": false,
			"data": []string{base64.StdEncoding.EncodeToString(data), "base64"},
		})
		return err
	})
}

// writeBuffer writes elf to a new loader-v3 buffer and hands its authority to the
// target's upgrade-authority PDA, as `solana program write-buffer` and
// `set-buffer-authority` do.
func (w *Workload) writeBuffer(ctx context.Context, payer int, elf []byte) (solana.PublicKey, error) {
	buffer, err := solana.NewRandomPrivateKey()
	if err != nil {
		return solana.PublicKey{}, err
	}
	size := uint64(37 + len(elf))
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(ctx, size, rpc.CommitmentConfirmed)
	if err != nil {
		return solana.PublicKey{}, err
	}
	loader := solana.BPFLoaderUpgradeableProgramID
	authority := w.payers[payer].PublicKey()
	if _, err := w.send(ctx, payer, []solana.Instruction{
		system.NewCreateAccountInstruction(rent, size, loader, authority, buffer.PublicKey()).Build(),
		solana.NewInstruction(loader, solana.AccountMetaSlice{solana.Meta(buffer.PublicKey()).WRITE(), solana.Meta(authority)}, []byte{0, 0, 0, 0}),
	}, buffer); err != nil {
		return solana.PublicKey{}, err
	}
	const chunk = 900
	for off := 0; off < len(elf); off += chunk {
		end := min(off+chunk, len(elf))
		data := binary.LittleEndian.AppendUint32(nil, 1)
		data = binary.LittleEndian.AppendUint32(data, uint32(off))
		data = binary.LittleEndian.AppendUint64(data, uint64(end-off))
		data = append(data, elf[off:end]...)
		if _, err := w.send(ctx, payer, []solana.Instruction{solana.NewInstruction(loader, solana.AccountMetaSlice{
			solana.Meta(buffer.PublicKey()).WRITE(), solana.Meta(authority).SIGNER()}, data)}); err != nil {
			return solana.PublicKey{}, err
		}
	}
	target := w.node.target
	if _, err := w.send(ctx, payer, []solana.Instruction{solana.NewInstruction(loader, solana.AccountMetaSlice{
		solana.Meta(buffer.PublicKey()).WRITE(), solana.Meta(authority).SIGNER(),
		solana.Meta(pda([]byte("upgrade_authority"), target[:])),
	}, []byte{4, 0, 0, 0})}); err != nil {
		return solana.PublicKey{}, err
	}
	// A fork may abandon the writes: check the buffer holds the ELF before proposing it.
	time.Sleep(2 * time.Second)
	a, err := w.rpc.GetAccountInfoWithOpts(ctx, buffer.PublicKey(), &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		return solana.PublicKey{}, fmt.Errorf("read buffer: %w", err)
	}
	if d := a.Value.Data.GetBinary(); len(d) < 37 || sha256.Sum256(d[37:]) != sha256.Sum256(elf) {
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
	pd, err := w.rpc.GetAccountInfoWithOpts(ctx, programdataAddress(key), &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
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

func pda(seeds ...[]byte) solana.PublicKey {
	k, _, err := solana.FindProgramAddress(seeds, um.ProgramID)
	if err != nil {
		panic(err) // only for seeds with no valid bump, which these never are
	}
	return k
}

func proposalAddress(gov solana.PublicKey, index uint64) solana.PublicKey {
	return pda([]byte("proposal"), gov[:], binary.LittleEndian.AppendUint64(nil, index))
}

func programdataAddress(program solana.PublicKey) solana.PublicKey {
	k, _, _ := solana.FindProgramAddress([][]byte{program[:]}, solana.BPFLoaderUpgradeableProgramID)
	return k
}

func anchorSighash(name string) []byte {
	h := sha256.Sum256([]byte("global:" + name))
	return h[:8]
}
