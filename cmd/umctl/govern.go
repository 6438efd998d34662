package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// body is a command's work once its flags are parsed.
type body = func(c *cli, ctx context.Context, args []string) (any, error)

// keyList is a repeatable public-key flag.
type keyList []solana.PublicKey

func (k *keyList) String() string { return fmt.Sprint(*k) }
func (k *keyList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		key, err := solana.PublicKeyFromBase58(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%q is not a public key", part)
		}
		*k = append(*k, key)
	}
	return nil
}

// optSeconds is a delay flag that is unset until given.
type optSeconds struct{ v *int64 }

func (o *optSeconds) String() string {
	if o.v == nil {
		return ""
	}
	return fmt.Sprint(*o.v)
}

func (o *optSeconds) Set(s string) error {
	var v int64
	if d, err := time.ParseDuration(s); err == nil {
		v = int64(d.Seconds())
	} else if _, err := fmt.Sscan(s, &v); err != nil {
		return fmt.Errorf("%q is neither seconds nor a duration like 48h", s)
	}
	o.v = &v
	return nil
}

func initCmd(fs *flag.FlagSet) body {
	var members keyList
	fs.Var(&members, "member", "a member's public key (repeatable, or comma-separated)")
	threshold := fs.Uint("threshold", 0, "approvals an upgrade, config change or migration needs")
	rollbackThreshold := fs.Uint("rollback-threshold", 0, "approvals a rollback needs (default: --threshold)")
	var timelock, rollbackTimelock, grace optSeconds
	fs.Var(&timelock, "timelock", "seconds (or a duration like 48h) from approval to execution (default 48h)")
	fs.Var(&rollbackTimelock, "rollback-timelock", "timelock of rollbacks (default 1h)")
	fs.Var(&grace, "grace-period", "how long after the eta an approved proposal may execute (default 14 days)")
	spill := fs.String("spill", "", "account that gets upgrade buffers' lamports back (default: the fee payer)")
	return func(c *cli, ctx context.Context, _ []string) (any, error) {
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		if len(members) == 0 || *threshold == 0 {
			return nil, errors.New("--member (at least one) and --threshold are required")
		}
		rb := *rollbackThreshold
		if rb == 0 {
			rb = *threshold
		}
		spillKey := payer.pub
		if *spill != "" {
			if spillKey, err = parseKey("--spill", *spill); err != nil {
				return nil, err
			}
		}
		createKey, err := solana.NewRandomPrivateKey()
		if err != nil {
			return nil, err
		}
		ix, gov := c.build.InitGovernance(payer.pub, createKey.PublicKey(), um.InitializeGovernanceArgs{
			Members: members, Threshold: uint8(*threshold), RollbackThreshold: uint8(rb),
			TimelockSeconds: timelock.v, RollbackTimelockSeconds: rollbackTimelock.v, GracePeriodSeconds: grace.v,
			Spill: spillKey,
		})
		return c.submit(ctx, action{
			summary: fmt.Sprintf("create a %d-of-%d governance", *threshold, len(members)),
			ixs:     []solana.Instruction{ix}, payer: payer,
			signers: []signer{{pub: createKey.PublicKey(), priv: createKey}},
			fields:  map[string]any{"governance": gov.String()},
		})
	}
}

func registerCmd(fs *flag.FlagSet) body {
	govFlag := fs.String("governance", "", "governance address")
	programFlag := fs.String("program", "", "program id to hand over; --keypair must be its upgrade authority")
	return func(c *cli, ctx context.Context, _ []string) (any, error) {
		gov, err := parseKey("--governance", *govFlag)
		if err != nil {
			return nil, err
		}
		program, err := parseKey("--program", *programFlag)
		if err != nil {
			return nil, err
		}
		authority, err := c.member()
		if err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		if _, err := c.reader.Governance(ctx, gov); err != nil {
			return nil, err
		}
		pd, err := c.reader.Account(ctx, txbuild.Programdata(program))
		if err != nil {
			return nil, fmt.Errorf("program %s is not an upgradeable (loader-v3) program: %w", program, err)
		}
		d := pd.Data.GetBinary()
		if len(d) < txbuild.ProgramdataHeaderLen || d[12] != 1 || !solana.PublicKeyFromBytes(d[13:45]).Equals(authority.pub) {
			return nil, fmt.Errorf("%s is not program %s's upgrade authority: sign with the key `solana program show %s` names (--keypair)", authority.pub, program, program)
		}
		return c.submit(ctx, action{
			summary: fmt.Sprintf("hand program %s to governance %s", program, gov),
			ixs:     []solana.Instruction{c.build.RegisterProgram(payer.pub, authority.pub, gov, program)},
			payer:   payer, signers: others(payer, authority),
			fields: map[string]any{"program": program.String(), "governance": gov.String(),
				"upgradeAuthority": c.build.UpgradeAuthority(program).String()},
		})
	}
}

// others are the signers besides the payer.
func others(payer signer, ss ...signer) []signer {
	var out []signer
	for _, s := range ss {
		if !s.pub.Equals(payer.pub) {
			out = append(out, s)
		}
	}
	return out
}

func parseHash(what, s string) ([32]byte, error) {
	var h [32]byte
	if s == "" {
		return h, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) > 32 {
		return h, fmt.Errorf("%s %q: want up to 32 bytes of hex (a git commit or sha256)", what, s)
	}
	copy(h[:], b)
	return h, nil
}

// proposer checks that the signer is a member of the governance and returns it with the payer.
func (c *cli) proposer(gov solana.PublicKey, g *um.Governance) (signer, signer, error) {
	m, err := c.member()
	if err != nil {
		return signer{}, signer{}, err
	}
	if err := txbuild.CheckMember(gov, g, m.pub); err != nil {
		return signer{}, signer{}, err
	}
	payer, err := c.payer()
	return m, payer, err
}

func proposeBinaryCmd(kind um.ProposalKind) func(fs *flag.FlagSet) body {
	return func(fs *flag.FlagSet) body {
		programFlag := fs.String("program", "", "managed program id")
		bufferFlag := fs.String("buffer", "", "buffer locked to the program's upgrade-authority PDA (from write-buffer)")
		uri := fs.String("metadata-uri", "", "where the release is described (up to 200 bytes)")
		buildHash := fs.String("build-hash", "", "git commit or build hash the binary was made from (hex)")
		return func(c *cli, ctx context.Context, _ []string) (any, error) {
			program, err := parseKey("--program", *programFlag)
			if err != nil {
				return nil, err
			}
			buffer, err := parseKey("--buffer", *bufferFlag)
			if err != nil {
				return nil, err
			}
			bh, err := parseHash("--build-hash", *buildHash)
			if err != nil {
				return nil, err
			}
			mp, err := c.reader.ManagedProgram(ctx, program)
			if err != nil {
				return nil, err
			}
			g, err := c.reader.Governance(ctx, mp.Governance)
			if err != nil {
				return nil, err
			}
			member, payer, err := c.proposer(mp.Governance, g)
			if err != nil {
				return nil, err
			}
			buf, err := c.reader.Account(ctx, buffer)
			if err != nil {
				return nil, err
			}
			if err := c.build.CheckBufferLocked(buffer, buf.Data.GetBinary(), program); err != nil {
				return nil, err
			}
			elf, _ := txbuild.BufferELF(buf.Data.GetBinary())
			hash := txbuild.ELFHash(elf)
			if kind == um.ProposalKindRollback {
				if err := checkRollback(mp, hash); err != nil {
					return nil, err
				}
			}
			p := txbuild.ProposeBinary{
				Proposer: member.pub, Governance: mp.Governance, Index: g.ProposalCount,
				Program: program, Buffer: buffer, MetadataURI: *uri, BuildHash: bh,
			}
			ix, proposal := c.build.ProposeUpgrade(p)
			if kind == um.ProposalKindRollback {
				ix, proposal = c.build.ProposeRollback(p)
			}
			return c.submitProposal(ctx, fmt.Sprintf("propose %s of %s to buffer %s (hash %x)", txbuild.KindName(kind), program, buffer, hash),
				ix, proposal, g.ProposalCount, payer, member, map[string]any{"bufferHash": hex.EncodeToString(hash[:])})
		}
	}
}

func checkRollback(mp *um.ManagedProgram, hash [32]byte) error {
	if hash == mp.CurrentHash {
		return &txbuild.Error{Code: "ROLLBACK_TO_CURRENT", Message: fmt.Sprintf("the buffer holds the binary deployed now (%x)", hash[:8]),
			Hint: "a rollback needs an earlier release; see `show` of an executed upgrade for its hash"}
	}
	for _, r := range mp.Releases {
		if r.Hash == hash {
			return nil
		}
	}
	return &txbuild.Error{Code: "ROLLBACK_HASH_UNKNOWN", Message: fmt.Sprintf("the buffer's binary (%x…) is not in program %s's release history", hash[:8], mp.Program),
		Hint: "write a buffer with one of the releases the program recorded (--json `status` lists none of them; `show` of the upgrade that replaced it does)"}
}

// submitProposal sends a proposal's creation, paying its rent.
func (c *cli) submitProposal(ctx context.Context, summary string, ix solana.Instruction, proposal solana.PublicKey, index uint64, payer, member signer, fields map[string]any) (any, error) {
	rent, err := c.rpc.GetMinimumBalanceForRentExemption(ctx, txbuild.ProposalSpace, c.commitment)
	if err != nil {
		return nil, fmt.Errorf("get rent: %w", err)
	}
	if fields == nil {
		fields = map[string]any{}
	}
	fields["proposal"], fields["index"] = proposal.String(), index
	// The proposer pays the proposal's rent (it is the instruction's payer).
	a := action{summary: summary, ixs: []solana.Instruction{ix}, payer: payer, signers: others(payer, member), rent: rent, fields: fields}
	if !member.pub.Equals(payer.pub) && !c.signOnly {
		bal, err := c.reader.Balance(ctx, member.pub)
		if err != nil {
			return nil, err
		}
		if err := txbuild.CheckFunded(member.pub, bal, rent); err != nil {
			return nil, fmt.Errorf("the proposer pays the proposal's rent: %w", err)
		}
		a.rent = 0
	}
	return c.submit(ctx, a)
}

func proposeConfigCmd(fs *flag.FlagSet) body {
	govFlag := fs.String("governance", "", "governance address")
	add := fs.String("add-member", "", "add this member")
	remove := fs.String("remove-member", "", "remove this member")
	threshold := fs.Int("threshold", -1, "set the threshold")
	rbThreshold := fs.Int("rollback-threshold", -1, "set the rollback threshold")
	var timelock, rbTimelock, grace optSeconds
	fs.Var(&timelock, "timelock", "set the timelock (seconds or a duration)")
	fs.Var(&rbTimelock, "rollback-timelock", "set the rollback timelock")
	fs.Var(&grace, "grace-period", "set the grace period")
	spill := fs.String("spill", "", "set the spill account")
	uri := fs.String("metadata-uri", "", "where the change is described")
	return func(c *cli, ctx context.Context, _ []string) (any, error) {
		gov, err := parseKey("--governance", *govFlag)
		if err != nil {
			return nil, err
		}
		var changes []um.ConfigChange
		if *add != "" {
			k, err := parseKey("--add-member", *add)
			if err != nil {
				return nil, err
			}
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindAddMember, AddMember: um.ConfigChangeAddMember{Member: k}})
		}
		if *remove != "" {
			k, err := parseKey("--remove-member", *remove)
			if err != nil {
				return nil, err
			}
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindRemoveMember, RemoveMember: um.ConfigChangeRemoveMember{Member: k}})
		}
		if *threshold >= 0 {
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetThreshold, SetThreshold: um.ConfigChangeSetThreshold{Threshold: uint8(*threshold)}})
		}
		if *rbThreshold >= 0 {
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetRollbackThreshold, SetRollbackThreshold: um.ConfigChangeSetRollbackThreshold{Threshold: uint8(*rbThreshold)}})
		}
		if timelock.v != nil {
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetTimelock, SetTimelock: um.ConfigChangeSetTimelock{Seconds: *timelock.v}})
		}
		if rbTimelock.v != nil {
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetRollbackTimelock, SetRollbackTimelock: um.ConfigChangeSetRollbackTimelock{Seconds: *rbTimelock.v}})
		}
		if grace.v != nil {
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetGracePeriod, SetGracePeriod: um.ConfigChangeSetGracePeriod{Seconds: *grace.v}})
		}
		if *spill != "" {
			k, err := parseKey("--spill", *spill)
			if err != nil {
				return nil, err
			}
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetSpill, SetSpill: um.ConfigChangeSetSpill{Spill: k}})
		}
		if len(changes) != 1 {
			return nil, fmt.Errorf("give exactly one change (--add-member, --remove-member, --threshold, --rollback-threshold, --timelock, --rollback-timelock, --grace-period, --spill); got %d", len(changes))
		}
		g, err := c.reader.Governance(ctx, gov)
		if err != nil {
			return nil, err
		}
		member, payer, err := c.proposer(gov, g)
		if err != nil {
			return nil, err
		}
		ix, proposal := c.build.ProposeConfigChange(member.pub, gov, g.ProposalCount, changes[0], *uri)
		desc, _ := changes[0].MarshalJSON()
		return c.submitProposal(ctx, "propose config change "+string(desc), ix, proposal, g.ProposalCount, payer, member, nil)
	}
}

func proposeMigrationCmd(fs *flag.FlagSet) body {
	programFlag := fs.String("program", "", "managed program whose accounts migrate")
	from := fs.Uint("from-version", 0, "version byte of accounts still to migrate")
	to := fs.Uint("to-version", 0, "version byte after migration")
	offset := fs.Uint("version-offset", 0, "offset of the version byte in account data")
	size := fs.Uint64("data-size", 0, "data size accounts have before migration (0: any)")
	disc := fs.String("discriminator", "", "8-byte discriminator accounts start with (hex; empty: any)")
	ixData := fs.String("migrate-ix-data", "", "instruction data of the program's migrate instruction (hex)")
	total := fs.Uint64("total-accounts", 0, "accounts to migrate")
	uri := fs.String("metadata-uri", "", "where the migration is described")
	return func(c *cli, ctx context.Context, _ []string) (any, error) {
		program, err := parseKey("--program", *programFlag)
		if err != nil {
			return nil, err
		}
		spec := um.MigrationSpec{FromVersion: uint8(*from), ToVersion: uint8(*to), VersionOffset: uint32(*offset), DataSize: *size, TotalAccounts: *total}
		if *disc != "" {
			b, err := hex.DecodeString(*disc)
			if err != nil || len(b) != 8 {
				return nil, fmt.Errorf("--discriminator %q: want 8 bytes of hex", *disc)
			}
			var d [8]byte
			copy(d[:], b)
			spec.Discriminator = &d
		}
		if spec.MigrateIxData, err = hex.DecodeString(*ixData); err != nil {
			return nil, fmt.Errorf("--migrate-ix-data: %w", err)
		}
		mp, err := c.reader.ManagedProgram(ctx, program)
		if err != nil {
			return nil, err
		}
		g, err := c.reader.Governance(ctx, mp.Governance)
		if err != nil {
			return nil, err
		}
		member, payer, err := c.proposer(mp.Governance, g)
		if err != nil {
			return nil, err
		}
		ix, proposal := c.build.ProposeMigration(member.pub, mp.Governance, g.ProposalCount, program, spec, *uri)
		return c.submitProposal(ctx, fmt.Sprintf("propose migrating %d accounts of %s from version %d to %d", *total, program, *from, *to),
			ix, proposal, g.ProposalCount, payer, member, map[string]any{"job": c.build.MigrationJob(proposal).String()})
	}
}

// proposalState reads a proposal and its governance.
func (c *cli) proposalState(ctx context.Context, args []string) (solana.PublicKey, *um.Proposal, *um.Governance, error) {
	addr, err := oneArg("PROPOSAL", args)
	if err != nil {
		return addr, nil, nil, err
	}
	p, err := c.reader.Proposal(ctx, addr)
	if err != nil {
		return addr, nil, nil, err
	}
	g, err := c.reader.Governance(ctx, p.Governance)
	return addr, p, g, err
}

// voteCmd is approve, revoke and cancel: a member's vote on one proposal. (A future `reject` is
// one more case here, with its check and builder in txbuild.)
func voteCmd(kind string) func(fs *flag.FlagSet) body {
	return func(fs *flag.FlagSet) body {
		return func(c *cli, ctx context.Context, args []string) (any, error) {
			addr, p, g, err := c.proposalState(ctx, args)
			if err != nil {
				return nil, err
			}
			m, err := c.member()
			if err != nil {
				return nil, err
			}
			payer, err := c.payer()
			if err != nil {
				return nil, err
			}
			var ix solana.Instruction
			switch kind {
			case "approve":
				err, ix = txbuild.CheckApprove(addr, g, p, m.pub), c.build.Approve(m.pub, p.Governance, addr)
			case "revoke":
				err, ix = txbuild.CheckRevoke(addr, g, p, m.pub), c.build.Revoke(m.pub, p.Governance, addr)
			case "cancel":
				err, ix = txbuild.CheckCancel(addr, g, p, m.pub), c.build.Cancel(m.pub, addr, p)
			}
			if err != nil {
				return nil, err
			}
			return c.submit(ctx, action{
				summary: fmt.Sprintf("%s proposal %d (%s) as %s", kind, p.Index, addr, m.pub),
				ixs:     []solana.Instruction{ix}, payer: payer, signers: others(payer, m),
				fields: map[string]any{"proposal": addr.String(), "member": m.pub.String()},
			})
		}
	}
}

// extendNeeded is how many bytes the programdata of p's program still lacks for p's buffer.
func (c *cli) extendNeeded(ctx context.Context, p *um.Proposal) (int, error) {
	if p.Kind != um.ProposalKindUpgrade && p.Kind != um.ProposalKindRollback {
		return 0, nil
	}
	pd, err := c.reader.Account(ctx, txbuild.Programdata(p.Program))
	if err != nil {
		return 0, err
	}
	buf, err := c.reader.Account(ctx, p.Buffer)
	if err != nil {
		return 0, err
	}
	return txbuild.ExtendNeeded(len(pd.Data.GetBinary()), len(buf.Data.GetBinary())), nil
}

func executeCmd(fs *flag.FlagSet) body {
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		addr, p, g, err := c.proposalState(ctx, args)
		if err != nil {
			return nil, err
		}
		now, err := c.reader.Now(ctx)
		if err != nil {
			return nil, err
		}
		if err := txbuild.CheckExecute(addr, g, p, now); err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		var extended []any
		for {
			need, err := c.extendNeeded(ctx, p)
			if err != nil {
				return nil, err
			}
			if need == 0 {
				break
			}
			if c.signOnly || c.dryRun {
				return nil, &txbuild.Error{Code: "EXTEND_NEEDED", Message: fmt.Sprintf("program %s's programdata lacks %d bytes for this upgrade", p.Program, need),
					Hint: "run `umctl extend " + addr.String() + "` (permissionless) until it fits, then execute"}
			}
			res, err := c.extendOnce(ctx, addr, p, payer, need)
			if err != nil {
				return nil, err
			}
			extended = append(extended, res["signature"])
		}
		ix, err := c.build.Execute(payer.pub, addr, p, g.Spill)
		if err != nil {
			return nil, err
		}
		fields := map[string]any{"proposal": addr.String(), "kind": txbuild.KindName(p.Kind)}
		if len(extended) > 0 {
			fields["extendSignatures"] = extended
		}
		if p.Kind == um.ProposalKindMigration {
			fields["job"] = c.build.MigrationJob(addr).String()
		}
		return c.submit(ctx, action{
			summary: fmt.Sprintf("execute %s proposal %d (%s)", txbuild.KindName(p.Kind), p.Index, addr),
			ixs:     []solana.Instruction{ix}, payer: payer, fields: fields,
		})
	}
}

// extendOnce sends one extend_program and waits for the next slot: the loader allows one
// extension of an account per slot.
func (c *cli) extendOnce(ctx context.Context, addr solana.PublicKey, p *um.Proposal, payer signer, need int) (result, error) {
	slot, err := c.rpc.GetSlot(ctx, c.commitment)
	if err != nil {
		return nil, fmt.Errorf("get slot: %w", err)
	}
	const maxIncrease = 10 * 1024
	rent, err := c.rpc.GetMinimumBalanceForRentExemption(ctx, uint64(min(need, maxIncrease)), c.commitment)
	if err != nil {
		return nil, fmt.Errorf("get rent: %w", err)
	}
	res, err := c.submit(ctx, action{
		summary: fmt.Sprintf("extend program %s's programdata (%d bytes missing)", p.Program, need),
		ixs:     []solana.Instruction{c.build.Extend(payer.pub, addr, p)}, payer: payer, rent: rent,
		fields: map[string]any{"proposal": addr.String(), "missingBytes": need, "addedBytes": min(need, maxIncrease)},
	})
	if err != nil || c.signOnly || c.dryRun {
		return res, err
	}
	for {
		cur, err := c.rpc.GetSlot(ctx, c.commitment)
		if err == nil && cur > slot {
			return res, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func extendCmd(fs *flag.FlagSet) body {
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		addr, p, _, err := c.proposalState(ctx, args)
		if err != nil {
			return nil, err
		}
		if p.Kind != um.ProposalKindUpgrade && p.Kind != um.ProposalKindRollback {
			return nil, &txbuild.Error{Code: txbuild.CodeWrongProposalKind, Message: fmt.Sprintf("proposal %s is a %s, not an upgrade or rollback", addr, txbuild.KindName(p.Kind))}
		}
		if p.Status != um.ProposalStatusApproved {
			return nil, &txbuild.Error{Code: txbuild.CodeProposalNotApproved, Message: fmt.Sprintf("proposal %s is %s", addr, txbuild.StatusName(p.Status)), Hint: "extend only an approved upgrade"}
		}
		need, err := c.extendNeeded(ctx, p)
		if err != nil {
			return nil, err
		}
		if need == 0 {
			return nil, &txbuild.Error{Code: txbuild.CodeExtendNotNeeded, Message: fmt.Sprintf("program %s's programdata already holds proposal %s's binary", p.Program, addr), Hint: "execute it"}
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		return c.extendOnce(ctx, addr, p, payer, need)
	}
}
