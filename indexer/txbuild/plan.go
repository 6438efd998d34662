package txbuild

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Plan is an intent checked against the chain and turned into instructions: what the member
// CLI signs and sends, and what the GraphQL builders return unsigned.
type Plan struct {
	// Summary says in words what the transaction does.
	Summary string
	// Instructions, in order (without compute-budget instructions).
	Instructions []solana.Instruction
	// Address is the account the plan creates or acts on (a proposal, a governance).
	Address solana.PublicKey
	// Rent is what the first signer pays besides fees (the rent of created accounts).
	Rent uint64
	// Details are facts worth showing (a buffer's hash, a job's address), by name.
	Details map[string]string
}

// The plans below read what they need through the Reader and refuse with *Error what the
// program would reject. (A `reject` vote or a `close` is one more method here and one more
// builder in governance.go.)

// proposalWithGovernance reads a proposal and its governance.
func (r *Reader) proposalWithGovernance(ctx context.Context, proposal solana.PublicKey) (*um.Proposal, *um.Governance, error) {
	p, err := r.Proposal(ctx, proposal)
	if err != nil {
		return nil, nil, err
	}
	g, err := r.Governance(ctx, p.Governance)
	return p, g, err
}

// PlanVote plans member's vote on proposal: "approve", "revoke", "cancel" or "reject".
func (r *Reader) PlanVote(ctx context.Context, vote string, proposal, member solana.PublicKey) (*Plan, error) {
	p, g, err := r.proposalWithGovernance(ctx, proposal)
	if err != nil {
		return nil, err
	}
	b := r.Builder
	var ix solana.Instruction
	var now int64
	if vote == "approve" || vote == "reject" {
		if now, err = r.Now(ctx); err != nil {
			return nil, err
		}
	}
	switch vote {
	case "approve":
		err = CheckApprove(proposal, g, p, member)
		if err == nil {
			err = checkVoting(proposal, g, p, now)
		}
		ix = b.Approve(member, p.Governance, proposal)
	case "reject":
		err, ix = CheckReject(proposal, g, p, member, now), b.Reject(member, proposal, p, g.Spill)
	case "revoke":
		err, ix = CheckRevoke(proposal, g, p, member), b.Revoke(member, p.Governance, proposal)
	case "cancel":
		err, ix = CheckCancel(proposal, g, p, member), b.Cancel(member, proposal, p, g.Spill)
	default:
		return nil, fmt.Errorf("unknown vote %q", vote)
	}
	if err != nil {
		return nil, err
	}
	return &Plan{
		Summary:      fmt.Sprintf("%s: %s proposal #%d (%s, %s)", member, vote, p.Index, KindName(p.Kind), proposal),
		Instructions: []solana.Instruction{ix}, Address: proposal,
	}, nil
}

// ExtendBytesNeeded is how many bytes the programdata of p's program still lacks for p's buffer
// (0 for proposals that deploy no binary).
func (r *Reader) ExtendBytesNeeded(ctx context.Context, p *um.Proposal) (int, error) {
	if p.Kind != um.ProposalKindUpgrade && p.Kind != um.ProposalKindRollback {
		return 0, nil
	}
	pd, err := r.Account(ctx, Programdata(p.Program))
	if err != nil {
		return 0, err
	}
	buf, err := r.Account(ctx, p.Buffer)
	if err != nil {
		return 0, err
	}
	return ExtendNeeded(len(pd.Data.GetBinary()), len(buf.Data.GetBinary())), nil
}

// CodeExtendNeeded refuses an execution whose binary does not fit the programdata yet.
const CodeExtendNeeded Code = "EXTEND_NEEDED"

// PlanExecute plans executing proposal, paid by executor, at the chain's clock. An upgrade
// whose binary does not fit yet is refused with CodeExtendNeeded (PlanExtend grows it).
func (r *Reader) PlanExecute(ctx context.Context, proposal, executor solana.PublicKey) (*Plan, error) {
	p, g, err := r.proposalWithGovernance(ctx, proposal)
	if err != nil {
		return nil, err
	}
	now, err := r.Now(ctx)
	if err != nil {
		return nil, err
	}
	if err := CheckExecute(proposal, g, p, now); err != nil {
		return nil, err
	}
	need, err := r.ExtendBytesNeeded(ctx, p)
	if err != nil {
		return nil, err
	}
	if need > 0 {
		return nil, &Error{Code: CodeExtendNeeded, Message: fmt.Sprintf("program %s's programdata lacks %d bytes for proposal %s's binary", p.Program, need, proposal),
			Hint: "extend it first (permissionless; one call per slot, up to 10 KiB each), then execute"}
	}
	ix, err := r.Builder.Execute(executor, proposal, p, g.Spill)
	if err != nil {
		return nil, err
	}
	plan := &Plan{
		Summary:      fmt.Sprintf("execute %s proposal #%d (%s)", KindName(p.Kind), p.Index, proposal),
		Instructions: []solana.Instruction{ix}, Address: proposal, Details: map[string]string{"kind": KindName(p.Kind)},
	}
	if p.Kind == um.ProposalKindMigration {
		plan.Details["job"] = r.Builder.MigrationJob(proposal).String()
	}
	return plan, nil
}

// MaxExtendBytes is the most one extend_program grows a programdata by (the runtime's limit
// on an account's growth per instruction).
const MaxExtendBytes = 10 * 1024

// PlanExtend plans one extend_program of proposal's program, paid by payer.
func (r *Reader) PlanExtend(ctx context.Context, proposal, payer solana.PublicKey) (*Plan, error) {
	p, g, err := r.proposalWithGovernance(ctx, proposal)
	if err != nil {
		return nil, err
	}
	if p.Kind != um.ProposalKindUpgrade && p.Kind != um.ProposalKindRollback {
		return nil, refuse(CodeWrongProposalKind, "only upgrades and rollbacks deploy a binary", "proposal %s is a %s", proposal, KindName(p.Kind))
	}
	if p.Status != um.ProposalStatusApproved || p.MemberSetSeqno != g.MemberSetSeqno {
		return nil, refuse(CodeProposalNotApproved, "extend only an approved upgrade", "proposal %s is not approved", proposal)
	}
	need, err := r.ExtendBytesNeeded(ctx, p)
	if err != nil {
		return nil, err
	}
	if need == 0 {
		return nil, refuse(CodeExtendNotNeeded, "execute it", "program %s's programdata already holds proposal %s's binary", p.Program, proposal)
	}
	add := min(need, MaxExtendBytes)
	rent, err := r.RPC.GetMinimumBalanceForRentExemption(ctx, uint64(add), r.Commitment)
	if err != nil {
		return nil, fmt.Errorf("get rent: %w", err)
	}
	return &Plan{
		Summary:      fmt.Sprintf("grow program %s's programdata by %d of the %d bytes proposal #%d needs", p.Program, add, need, p.Index),
		Instructions: []solana.Instruction{r.Builder.Extend(payer, proposal, p)}, Address: proposal, Rent: rent,
		Details: map[string]string{"missingBytes": fmt.Sprint(need), "addedBytes": fmt.Sprint(add)},
	}, nil
}

// proposeRent is the rent of a new proposal account.
func (r *Reader) proposeRent(ctx context.Context) (uint64, error) {
	rent, err := r.RPC.GetMinimumBalanceForRentExemption(ctx, ProposalSpace, r.Commitment)
	if err != nil {
		return 0, fmt.Errorf("get rent: %w", err)
	}
	return rent, nil
}

// PlanProposeBinary plans an upgrade or rollback proposal of program to buffer by proposer.
func (r *Reader) PlanProposeBinary(ctx context.Context, kind um.ProposalKind, p ProposeBinary) (*Plan, error) {
	mp, err := r.ManagedProgram(ctx, p.Program)
	if err != nil {
		return nil, err
	}
	g, err := r.Governance(ctx, mp.Governance)
	if err != nil {
		return nil, err
	}
	if err := CheckMember(mp.Governance, g, p.Proposer); err != nil {
		return nil, err
	}
	buf, err := r.Account(ctx, p.Buffer)
	if err != nil {
		return nil, err
	}
	if err := r.Builder.CheckBufferLocked(p.Buffer, buf.Data.GetBinary(), p.Program); err != nil {
		return nil, err
	}
	lock := r.Builder.BufferLock(p.Buffer)
	if taken, err := r.Exists(ctx, lock); err != nil {
		return nil, err
	} else if taken {
		return nil, refuse(CodeBufferInUse, "an open proposal already uses it: write the binary to a new buffer (`umctl write-buffer`)",
			"buffer %s is locked by another proposal (its lock %s exists)", p.Buffer, lock)
	}
	elf, _ := BufferELF(buf.Data.GetBinary())
	hash := ELFHash(elf)
	if kind == um.ProposalKindRollback {
		if err := CheckRollback(mp, hash); err != nil {
			return nil, err
		}
	}
	p.Governance, p.Index = mp.Governance, g.ProposalCount
	var ix solana.Instruction
	var proposal solana.PublicKey
	switch kind {
	case um.ProposalKindUpgrade:
		ix, proposal = r.Builder.ProposeUpgrade(p)
	case um.ProposalKindRollback:
		ix, proposal = r.Builder.ProposeRollback(p)
	default:
		return nil, fmt.Errorf("a %s deploys no binary", KindName(kind))
	}
	rent, err := r.proposeRent(ctx)
	if err != nil {
		return nil, err
	}
	return &Plan{
		Summary:      fmt.Sprintf("%s: propose %s #%d of program %s to buffer %s (ELF sha256 %x)", p.Proposer, KindName(kind), p.Index, p.Program, p.Buffer, hash),
		Instructions: []solana.Instruction{ix}, Address: proposal, Rent: rent,
		Details: map[string]string{"bufferHash": hex.EncodeToString(hash[:]), "index": fmt.Sprint(p.Index)},
	}, nil
}

// Codes of rollback refusals.
const (
	CodeRollbackToCurrent   Code = "ROLLBACK_TO_CURRENT"
	CodeRollbackHashUnknown Code = "ROLLBACK_HASH_UNKNOWN"
)

// CheckRollback refuses a rollback to hash unless it is an earlier release of mp's program.
func CheckRollback(mp *um.ManagedProgram, hash [32]byte) error {
	if hash == mp.CurrentHash {
		return refuse(CodeRollbackToCurrent, "a rollback needs an earlier release",
			"the buffer holds the binary deployed now (%x…)", hash[:8])
	}
	for _, r := range mp.Releases {
		if r.Hash == hash {
			return nil
		}
	}
	return refuse(CodeRollbackHashUnknown, "upload one of the releases the program recorded (its last 8 deployments)",
		"the buffer's binary (%x…) is not in program %s's release history", hash[:8], mp.Program)
}

// PlanProposeConfigChange plans proposer's config-change proposal to governance.
func (r *Reader) PlanProposeConfigChange(ctx context.Context, governance, proposer solana.PublicKey, change um.ConfigChange, metadataURI string) (*Plan, error) {
	g, err := r.Governance(ctx, governance)
	if err != nil {
		return nil, err
	}
	if err := CheckMember(governance, g, proposer); err != nil {
		return nil, err
	}
	if err := CheckConfigChange(governance, g, change); err != nil {
		return nil, err
	}
	ix, proposal := r.Builder.ProposeConfigChange(proposer, governance, g.ProposalCount, change, metadataURI)
	rent, err := r.proposeRent(ctx)
	if err != nil {
		return nil, err
	}
	return &Plan{
		Summary:      fmt.Sprintf("%s: propose config change #%d of governance %s: %s", proposer, g.ProposalCount, governance, change.AppendJSON(nil)),
		Instructions: []solana.Instruction{ix}, Address: proposal, Rent: rent,
		Details: map[string]string{"index": fmt.Sprint(g.ProposalCount)},
	}, nil
}

// PlanProposeMigration plans proposer's migration proposal for program. A spec without a
// RequiredHash requires the binary program runs now.
func (r *Reader) PlanProposeMigration(ctx context.Context, program, proposer solana.PublicKey, spec um.MigrationSpec, metadataURI string) (*Plan, error) {
	mp, err := r.ManagedProgram(ctx, program)
	if err != nil {
		return nil, err
	}
	g, err := r.Governance(ctx, mp.Governance)
	if err != nil {
		return nil, err
	}
	if err := CheckMember(mp.Governance, g, proposer); err != nil {
		return nil, err
	}
	if spec.RequiredHash == ([32]byte{}) {
		// By default the migration requires the binary deployed now: the one that reads the new layout.
		pd, err := r.Account(ctx, Programdata(program))
		if err != nil {
			return nil, err
		}
		elf, err := ProgramdataELF(pd.Data.GetBinary())
		if err != nil {
			return nil, refuse(CodeNotManaged, "pass the hash of the binary that reads the new layout (umctl: --required-hash)", "program %s's programdata: %v", program, err)
		}
		spec.RequiredHash = ELFHash(elf)
	}
	ix, proposal := r.Builder.ProposeMigration(proposer, mp.Governance, g.ProposalCount, program, spec, metadataURI)
	rent, err := r.proposeRent(ctx)
	if err != nil {
		return nil, err
	}
	return &Plan{
		Summary: fmt.Sprintf("%s: propose migration #%d of %d accounts of program %s from version %d to %d",
			proposer, g.ProposalCount, spec.TotalAccounts, program, spec.FromVersion, spec.ToVersion),
		Instructions: []solana.Instruction{ix}, Address: proposal, Rent: rent,
		Details: map[string]string{"index": fmt.Sprint(g.ProposalCount), "job": r.Builder.MigrationJob(proposal).String(), "requiredHash": hex.EncodeToString(spec.RequiredHash[:])},
	}, nil
}

// CodeWrongAuthority refuses a registration not signed by the program's upgrade authority.
const CodeWrongAuthority Code = "WRONG_UPGRADE_AUTHORITY"

// PlanRegister plans handing program to governance, signed by its upgrade authority.
func (r *Reader) PlanRegister(ctx context.Context, governance, program, authority, payer solana.PublicKey) (*Plan, error) {
	if _, err := r.Governance(ctx, governance); err != nil {
		return nil, err
	}
	pd, err := r.Account(ctx, Programdata(program))
	if err != nil {
		return nil, refuse(CodeNotFound, "register an upgradeable (loader-v3) program", "program %s has no programdata account", program)
	}
	d := pd.Data.GetBinary()
	if len(d) < ProgramdataHeaderLen || d[12] != 1 || !solana.PublicKeyFromBytes(d[13:45]).Equals(authority) {
		return nil, refuse(CodeWrongAuthority, fmt.Sprintf("sign with the key `solana program show %s` names", program),
			"%s is not program %s's upgrade authority", authority, program)
	}
	return &Plan{
		Summary:      fmt.Sprintf("hand program %s to governance %s: its upgrade authority becomes %s", program, governance, r.Builder.UpgradeAuthority(program)),
		Instructions: []solana.Instruction{r.Builder.RegisterProgram(payer, authority, governance, program)},
		Address:      r.Builder.ManagedProgram(program),
		Details:      map[string]string{"upgradeAuthority": r.Builder.UpgradeAuthority(program).String()},
	}, nil
}
