package txbuild

import (
	"fmt"
	"time"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Code names why an intent cannot go on chain as it stands. The CLI prints it with --json and
// the GraphQL builders answer it as the error's code.
type Code string

// Codes of the checks made before anything is sent.
const (
	CodeNotFound            Code = "NOT_FOUND"
	CodeNotAMember          Code = "NOT_A_MEMBER"
	CodeAlreadyApproved     Code = "ALREADY_APPROVED"
	CodeNotApproved         Code = "NOT_APPROVED"
	CodeAlreadyVotedCancel  Code = "ALREADY_VOTED_CANCEL"
	CodeProposalNotOpen     Code = "PROPOSAL_NOT_OPEN"
	CodeProposalNotApproved Code = "PROPOSAL_NOT_APPROVED"
	CodeStaleApprovals      Code = "STALE_APPROVALS"
	CodeTimelockNotElapsed  Code = "TIMELOCK_NOT_ELAPSED"
	CodeProposalExpired     Code = "PROPOSAL_EXPIRED"
	CodeWrongProposalKind   Code = "WRONG_PROPOSAL_KIND"
	CodeInvalidBuffer       Code = "INVALID_BUFFER"
	CodeBufferNotLocked     Code = "BUFFER_NOT_LOCKED"
	CodeNotManaged          Code = "PROGRAM_NOT_MANAGED"
	CodeExtendNotNeeded     Code = "EXTEND_NOT_NEEDED"
	CodeUnfundedPayer       Code = "UNFUNDED_PAYER"
	CodeAlreadyRejected     Code = "ALREADY_REJECTED"
	CodeVotingClosed        Code = "VOTING_PERIOD_OVER"
	CodeBufferInUse         Code = "BUFFER_IN_USE"
	CodeThresholdBelowFloor Code = "THRESHOLD_BELOW_FLOOR"
	CodeDelayBelowFloor     Code = "DELAY_BELOW_FLOOR"
	CodeInvalidConfig       Code = "INVALID_CONFIG_CHANGE"
)

// Error is a refused intent: what is wrong (Message) and what to do about it (Hint).
type Error struct {
	Code    Code
	Message string
	Hint    string
	// Eta is the proposal's earliest execution time, for TIMELOCK_NOT_ELAPSED.
	Eta int64
	// Remaining is the time left until Eta, for TIMELOCK_NOT_ELAPSED.
	Remaining time.Duration
}

func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + "; " + e.Hint
}

func refuse(code Code, hint, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// memberIndex is the slot of key among gov's members, or -1.
func memberIndex(gov *um.Governance, key solana.PublicKey) int {
	for i, m := range gov.Members {
		if m.Equals(key) {
			return i
		}
	}
	return -1
}

// CheckMember refuses key unless it is a member of gov (at governance).
func CheckMember(governance solana.PublicKey, gov *um.Governance, key solana.PublicKey) error {
	if memberIndex(gov, key) < 0 {
		return refuse(CodeNotAMember, "sign as a member (umctl: --keypair), or propose a config change that adds this key",
			"%s is not a member of governance %s", key, governance)
	}
	return nil
}

// currentBits are p's approval and cancel bitmaps as the program sees them: empty when they
// were given under an older member set (the program resets them on the next vote).
func currentBits(gov *um.Governance, p *um.Proposal) (approvals, cancels uint32) {
	if p.MemberSetSeqno != gov.MemberSetSeqno {
		return 0, 0
	}
	return p.Approvals, p.CancelVotes
}

func checkOpen(address solana.PublicKey, p *um.Proposal) error {
	if p.Status != um.ProposalStatusActive && p.Status != um.ProposalStatusApproved {
		return refuse(CodeProposalNotOpen, "only active or approved proposals take votes; propose again if it is still wanted",
			"proposal %s is %s", address, StatusName(p.Status))
	}
	return nil
}

// CheckApprove refuses an approval the program would reject.
func CheckApprove(address solana.PublicKey, gov *um.Governance, p *um.Proposal, member solana.PublicKey) error {
	if err := CheckMember(p.Governance, gov, member); err != nil {
		return err
	}
	if err := checkOpen(address, p); err != nil {
		return err
	}
	approvals, _ := currentBits(gov, p)
	if approvals&(1<<memberIndex(gov, member)) != 0 {
		return refuse(CodeAlreadyApproved, "nothing to do; `revoke` withdraws it",
			"%s has already approved proposal %s", member, address)
	}
	return nil
}

// CheckRevoke refuses a revocation the program would reject.
func CheckRevoke(address solana.PublicKey, gov *um.Governance, p *um.Proposal, member solana.PublicKey) error {
	if err := CheckMember(p.Governance, gov, member); err != nil {
		return err
	}
	if err := checkOpen(address, p); err != nil {
		return err
	}
	approvals, _ := currentBits(gov, p)
	if approvals&(1<<memberIndex(gov, member)) == 0 {
		return refuse(CodeNotApproved, "nothing to revoke",
			"%s has not approved proposal %s", member, address)
	}
	return nil
}

// CheckCancel refuses a cancel the program would reject: the proposer alone may cancel while no
// other member approved; otherwise each member's cancel is a vote.
func CheckCancel(address solana.PublicKey, gov *um.Governance, p *um.Proposal, signer solana.PublicKey) error {
	if err := checkOpen(address, p); err != nil {
		return err
	}
	approvals, cancels := currentBits(gov, p)
	var proposerBit uint32
	if i := memberIndex(gov, p.Proposer); i >= 0 {
		proposerBit = 1 << i
	}
	i := memberIndex(gov, signer)
	// The proposer cancels alone only while still a member and nobody else approved.
	if signer.Equals(p.Proposer) && i >= 0 && approvals&^proposerBit == 0 {
		return nil
	}
	if i < 0 {
		return refuse(CodeNotAMember, "only the proposer (while a member and nobody else approved) or members by threshold may cancel",
			"%s is not a member of governance %s", signer, p.Governance)
	}
	if cancels&(1<<i) != 0 {
		return refuse(CodeAlreadyVotedCancel, "other members must vote to cancel too",
			"%s has already voted to cancel proposal %s", signer, address)
	}
	return nil
}

// threshold is the number of approvals p needs: the rollback threshold for rollbacks.
func threshold(gov *um.Governance, p *um.Proposal) uint8 {
	if p.Kind == um.ProposalKindRollback {
		return gov.RollbackThreshold
	}
	return gov.Threshold
}

// checkVoting refuses a vote on an active proposal whose voting period is over.
func checkVoting(address solana.PublicKey, gov *um.Governance, p *um.Proposal, now int64) error {
	if p.Status != um.ProposalStatusActive || gov.VotingPeriodSeconds <= 0 {
		return nil
	}
	if deadline := p.CreatedAt + gov.VotingPeriodSeconds; now >= deadline {
		return refuse(CodeVotingClosed, "`expire` closes it; propose again if it is still wanted",
			"proposal %s's voting period ended at %s", address, time.Unix(deadline, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckReject refuses a reject vote the program would refuse: members only, on an open proposal
// within its voting period, once each, and not by a member who approved it (revoke first).
func CheckReject(address solana.PublicKey, gov *um.Governance, p *um.Proposal, member solana.PublicKey, now int64) error {
	if err := CheckMember(p.Governance, gov, member); err != nil {
		return err
	}
	if err := checkOpen(address, p); err != nil {
		return err
	}
	if err := checkVoting(address, gov, p, now); err != nil {
		return err
	}
	bit := uint32(1) << memberIndex(gov, member)
	approvals, _ := currentBits(gov, p)
	if approvals&bit != 0 {
		return refuse(CodeAlreadyApproved, "`revoke` your approval first, then reject",
			"%s has approved proposal %s", member, address)
	}
	if p.MemberSetSeqno == gov.MemberSetSeqno && p.Rejections&bit != 0 {
		return refuse(CodeAlreadyRejected, "other members must reject too",
			"%s has already rejected proposal %s", member, address)
	}
	return nil
}

// RejectCutoff is how many approvals p can still go without: one rejection more than this
// makes p Rejected (N − M, M the threshold p needs).
func RejectCutoff(gov *um.Governance, p *um.Proposal) int {
	return len(gov.Members) - int(threshold(gov, p))
}

// CheckFloors refuses settings below the program's floors: with two or more members both
// thresholds at least MinThreshold, a timelock of at least MinTimelockSeconds and a rollback
// timelock of at least MinRollbackTimelockSeconds. With before (a config change to an existing
// governance), a setting below its floor passes only if the change did not lower it, as the
// program lets a governance made before the floors climb to them.
func CheckFloors(members int, threshold, rollbackThreshold uint8, timelock, rollbackTimelock int64, before *um.Governance) error {
	floor := um.MinThreshold
	if members < int(floor) {
		floor = uint8(members)
	}
	for _, t := range []struct {
		name string
		now  uint8
		old  int
	}{{"threshold", threshold, -1}, {"rollback threshold", rollbackThreshold, -1}} {
		old := t.old
		if before != nil {
			if t.name == "threshold" {
				old = int(before.Threshold)
			} else {
				old = int(before.RollbackThreshold)
			}
		}
		if t.now < floor && (old < 0 || int(t.now) < old) {
			return refuse(CodeThresholdBelowFloor, fmt.Sprintf("with %d members no one member may decide alone: use %d or more", members, floor),
				"%s %d is below the floor of %d", t.name, t.now, floor)
		}
	}
	for _, d := range []struct {
		name     string
		now, min int64
		old      *int64
	}{{"timelock", timelock, um.MinTimelockSeconds, nil}, {"rollback timelock", rollbackTimelock, um.MinRollbackTimelockSeconds, nil}} {
		if before != nil {
			v := before.TimelockSeconds
			if d.name != "timelock" {
				v = before.RollbackTimelockSeconds
			}
			d.old = &v
		}
		if d.now < d.min && (d.old == nil || d.now < *d.old) {
			return refuse(CodeDelayBelowFloor, fmt.Sprintf("use %s or more", time.Duration(d.min)*time.Second),
				"%s %s is below the floor of %s", d.name, time.Duration(d.now)*time.Second, time.Duration(d.min)*time.Second)
		}
	}
	return nil
}

// CheckConfigChange refuses a config change the program would refuse when it executes: the
// governance after the change must be valid and meet the floors (see CheckFloors).
func CheckConfigChange(governance solana.PublicKey, gov *um.Governance, c um.ConfigChange) error {
	members := len(gov.Members)
	t, rt, tl, rtl := gov.Threshold, gov.RollbackThreshold, gov.TimelockSeconds, gov.RollbackTimelockSeconds
	switch c.Kind {
	case um.ConfigChangeKindAddMember:
		if memberIndex(gov, c.AddMember.Member) >= 0 {
			return refuse(CodeInvalidConfig, "nothing to add", "%s is already a member of governance %s", c.AddMember.Member, governance)
		}
		members++
	case um.ConfigChangeKindRemoveMember:
		if memberIndex(gov, c.RemoveMember.Member) < 0 {
			return refuse(CodeNotAMember, "nothing to remove", "%s is not a member of governance %s", c.RemoveMember.Member, governance)
		}
		members--
		if int(t) > members || int(rt) > members {
			return refuse(CodeInvalidConfig, "lower the thresholds first (--threshold, --rollback-threshold)",
				"removing %s leaves %d members, fewer than the thresholds %d and %d", c.RemoveMember.Member, members, t, rt)
		}
	case um.ConfigChangeKindSetThreshold:
		t = c.SetThreshold.Threshold
	case um.ConfigChangeKindSetRollbackThreshold:
		rt = c.SetRollbackThreshold.Threshold
	case um.ConfigChangeKindSetTimelock:
		tl = c.SetTimelock.Seconds
	case um.ConfigChangeKindSetRollbackTimelock:
		rtl = c.SetRollbackTimelock.Seconds
	case um.ConfigChangeKindSetVotingPeriod:
		if s := c.SetVotingPeriod.Seconds; s <= 0 || s > um.MaxDelaySeconds {
			return refuse(CodeInvalidConfig, "use a positive period of at most a year", "voting period %ds is out of range", s)
		}
	case um.ConfigChangeKindExtendMigration:
		if c.ExtendMigration.AdditionalAccounts == 0 {
			return refuse(CodeInvalidConfig, "extend by one account or more", "extending migration job %s by 0 accounts", c.ExtendMigration.Job)
		}
	}
	if int(t) < 1 || int(t) > members || int(rt) < 1 || int(rt) > members {
		return refuse(CodeInvalidConfig, fmt.Sprintf("thresholds go from 1 to the number of members (%d)", members),
			"thresholds %d and %d do not fit %d members", t, rt, members)
	}
	return CheckFloors(members, t, rt, tl, rtl, gov)
}

// CheckExecute refuses an execution the program would reject at chain time now.
func CheckExecute(address solana.PublicKey, gov *um.Governance, p *um.Proposal, now int64) error {
	if p.Status != um.ProposalStatusApproved {
		return refuse(CodeProposalNotApproved, "it needs its threshold of approvals first (see `status`)",
			"proposal %s is %s, not approved", address, StatusName(p.Status))
	}
	if p.MemberSetSeqno != gov.MemberSetSeqno {
		return refuse(CodeStaleApprovals, "the members changed since the approvals; members must approve again",
			"proposal %s was approved under an older member set", address)
	}
	if now < p.Eta {
		left := time.Duration(p.Eta-now) * time.Second
		e := refuse(CodeTimelockNotElapsed, "run execute again after the eta",
			"proposal %s's timelock has not elapsed: eta %s, %s left", address, time.Unix(p.Eta, 0).UTC().Format(time.RFC3339), left)
		e.Eta, e.Remaining = p.Eta, left
		return e
	}
	if now >= p.Eta+gov.GracePeriodSeconds {
		return refuse(CodeProposalExpired, "propose it again (`expire` marks it expired and returns the buffer's rent)",
			"proposal %s expired at %s", address, time.Unix(p.Eta+gov.GracePeriodSeconds, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckBufferLocked refuses a buffer (its account data) that is not a loader-v3 buffer holding an
// ELF whose authority is program's upgrade-authority PDA.
func (b *Builder) CheckBufferLocked(buffer solana.PublicKey, data []byte, program solana.PublicKey) error {
	auth, err := BufferAuthority(data)
	if err != nil {
		return refuse(CodeInvalidBuffer, "pass the address `write-buffer` printed", "%s: %v", buffer, err)
	}
	want := b.UpgradeAuthority(program)
	if auth == nil || !auth.Equals(want) {
		got := "none"
		if auth != nil {
			got = auth.String()
		}
		return refuse(CodeBufferNotLocked,
			fmt.Sprintf("hand it to the manager: `umctl write-buffer FILE --program %s --resume %s`, or `solana program set-buffer-authority %s --new-buffer-authority %s`", program, buffer, buffer, want),
			"buffer %s's authority is %s, not program %s's upgrade-authority PDA %s", buffer, got, program, want)
	}
	elf, _ := BufferELF(data)
	if len(StripELF(elf)) == 0 {
		return refuse(CodeInvalidBuffer, "write the program into it first", "buffer %s holds no program", buffer)
	}
	return nil
}

// CheckFunded refuses a payer whose balance is below need lamports.
func CheckFunded(payer solana.PublicKey, balance, need uint64) error {
	if balance < need {
		return refuse(CodeUnfundedPayer, "fund it (`solana transfer`, or `solana airdrop` on a test cluster) or choose another fee payer (umctl: --fee-payer)",
			"fee payer %s has %s SOL, needs at least %s SOL", payer, sol(balance), sol(need))
	}
	return nil
}

func sol(lamports uint64) string {
	return fmt.Sprintf("%d.%09d", lamports/solana.LAMPORTS_PER_SOL, lamports%solana.LAMPORTS_PER_SOL)
}

// StatusName is a proposal status in lower case, as the read model writes it.
func StatusName(s um.ProposalStatus) string {
	switch s {
	case um.ProposalStatusActive:
		return "active"
	case um.ProposalStatusApproved:
		return "approved"
	case um.ProposalStatusExecuted:
		return "executed"
	case um.ProposalStatusCancelled:
		return "cancelled"
	case um.ProposalStatusExpired:
		return "expired"
	case um.ProposalStatusRejected:
		return "rejected"
	}
	return s.String()
}

// KindName is a proposal kind in lower case, as the read model writes it.
func KindName(k um.ProposalKind) string {
	switch k {
	case um.ProposalKindUpgrade:
		return "upgrade"
	case um.ProposalKindRollback:
		return "rollback"
	case um.ProposalKindConfigChange:
		return "config_change"
	case um.ProposalKindMigration:
		return "migration"
	}
	return k.String()
}
