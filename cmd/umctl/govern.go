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
	rentCollector := fs.String("rent-collector", "", "account that gets the rent of closed proposals and migration jobs (default: whoever paid for each)")
	return func(c *cli, ctx context.Context, _ []string) (any, error) {
		if c.signOnly {
			return nil, errors.New("init also signs with a one-time create key it generates, so it cannot print a message for others to sign; run it with a local fee payer (the members may be any keys, vaults included)")
		}
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
		var collector *solana.PublicKey
		if *rentCollector != "" {
			k, err := parseKey("--rent-collector", *rentCollector)
			if err != nil {
				return nil, err
			}
			collector = &k
		}
		tl, rtl := um.DefaultTimelockSeconds, um.DefaultRollbackTimelockSeconds
		if timelock.v != nil {
			tl = *timelock.v
		}
		if rollbackTimelock.v != nil {
			rtl = *rollbackTimelock.v
		}
		if err := txbuild.CheckFloors(len(members), uint8(*threshold), uint8(rb), tl, rtl, nil); err != nil {
			return nil, err
		}
		createKey, err := solana.NewRandomPrivateKey()
		if err != nil {
			return nil, err
		}
		ix, gov := c.build.InitGovernance(payer.pub, createKey.PublicKey(), um.InitializeGovernanceArgs{
			Members: members, Threshold: uint8(*threshold), RollbackThreshold: uint8(rb),
			TimelockSeconds: timelock.v, RollbackTimelockSeconds: rollbackTimelock.v, GracePeriodSeconds: grace.v,
			Spill: spillKey, RentCollector: collector,
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
		plan, err := c.reader.PlanRegister(ctx, gov, program, authority.pub, payer.pub)
		if err != nil {
			return nil, err
		}
		return c.submitPlan(ctx, plan, "managedProgram", payer, signer{}, authority)
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
			m, err := c.member()
			if err != nil {
				return nil, err
			}
			payer, err := c.payer()
			if err != nil {
				return nil, err
			}
			plan, err := c.reader.PlanProposeBinary(ctx, kind, txbuild.ProposeBinary{
				Proposer: m.pub, Program: program, Buffer: buffer, MetadataURI: *uri, BuildHash: bh,
			})
			if err != nil {
				return nil, err
			}
			return c.submitPlan(ctx, plan, "proposal", payer, m, m)
		}
	}
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
	rentCollector := fs.String("rent-collector", "", "set who gets the rent of closed proposals and jobs (\"payer\": whoever paid for each)")
	var voting optSeconds
	fs.Var(&voting, "voting-period", "set the voting period: how long an active proposal takes votes")
	revoke := fs.String("revoke-release", "", "take a release (its ELF sha256, hex) out of --program's rollback history")
	program := fs.String("program", "", "the managed program --revoke-release applies to")
	setAuthority := fs.String("set-upgrade-authority", "", "PROGRAM=KEY: hand a managed program's upgrade authority to KEY")
	immutable := fs.String("make-immutable", "", "PROGRAM: make a managed program immutable (no upgrade authority)")
	extendJob := fs.String("extend-migration", "", "JOB=N: let a migration job migrate N more accounts")
	cancelJob := fs.String("cancel-migration", "", "JOB: cancel a migration job")
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
		if *rentCollector != "" {
			var k *solana.PublicKey
			if *rentCollector != "payer" {
				key, err := parseKey("--rent-collector", *rentCollector)
				if err != nil {
					return nil, err
				}
				k = &key
			}
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetRentCollector, SetRentCollector: um.ConfigChangeSetRentCollector{RentCollector: k}})
		}
		if voting.v != nil {
			changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetVotingPeriod, SetVotingPeriod: um.ConfigChangeSetVotingPeriod{Seconds: *voting.v}})
		}
		more, err := programChanges(*revoke, *program, *setAuthority, *immutable, *extendJob, *cancelJob)
		if err != nil {
			return nil, err
		}
		changes = append(changes, more...)
		if len(changes) != 1 {
			return nil, fmt.Errorf("give exactly one change (--add-member, --remove-member, --threshold, --rollback-threshold, --timelock, --rollback-timelock, --grace-period, --spill, --rent-collector, --voting-period, --revoke-release, --set-upgrade-authority, --make-immutable, --extend-migration, --cancel-migration); got %d", len(changes))
		}
		m, err := c.member()
		if err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		plan, err := c.reader.PlanProposeConfigChange(ctx, gov, m.pub, changes[0], *uri)
		if err != nil {
			return nil, err
		}
		return c.submitPlan(ctx, plan, "proposal", payer, m, m)
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
	required := fs.String("required-hash", "", "sha256 (hex) of the binary the program must run while migrating (default: the one deployed now)")
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
		if *required != "" {
			h, err := hex.DecodeString(strings.TrimPrefix(*required, "0x"))
			if err != nil || len(h) != 32 {
				return nil, fmt.Errorf("--required-hash %q: want a sha256 in hex (64 digits)", *required)
			}
			spec.RequiredHash = [32]byte(h)
		}
		m, err := c.member()
		if err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		plan, err := c.reader.PlanProposeMigration(ctx, program, m.pub, spec, *uri)
		if err != nil {
			return nil, err
		}
		return c.submitPlan(ctx, plan, "proposal", payer, m, m)
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
// programChanges parses the config changes that apply to a managed program or a migration job.
func programChanges(revoke, program, setAuthority, immutable, extendJob, cancelJob string) ([]um.ConfigChange, error) {
	var changes []um.ConfigChange
	if revoke != "" {
		p, err := parseKey("--program", program)
		if err != nil {
			return nil, fmt.Errorf("--revoke-release needs --program: %w", err)
		}
		h, err := hex.DecodeString(strings.TrimPrefix(revoke, "0x"))
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("--revoke-release %q: want a sha256 in hex (64 digits), as `umctl verify` prints", revoke)
		}
		changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindRevokeRelease,
			RevokeRelease: um.ConfigChangeRevokeRelease{Program: p, Hash: [32]byte(h)}})
	}
	if setAuthority != "" {
		prog, key, ok := strings.Cut(setAuthority, "=")
		if !ok {
			return nil, fmt.Errorf("--set-upgrade-authority %q: want PROGRAM=KEY (--make-immutable PROGRAM removes the authority)", setAuthority)
		}
		p, err := parseKey("--set-upgrade-authority PROGRAM", prog)
		if err != nil {
			return nil, err
		}
		k, err := parseKey("--set-upgrade-authority KEY", key)
		if err != nil {
			return nil, err
		}
		changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetUpgradeAuthority,
			SetUpgradeAuthority: um.ConfigChangeSetUpgradeAuthority{Program: p, NewAuthority: &k}})
	}
	if immutable != "" {
		p, err := parseKey("--make-immutable", immutable)
		if err != nil {
			return nil, err
		}
		changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindSetUpgradeAuthority,
			SetUpgradeAuthority: um.ConfigChangeSetUpgradeAuthority{Program: p}})
	}
	if extendJob != "" {
		job, n, ok := strings.Cut(extendJob, "=")
		var more uint64
		if _, err := fmt.Sscan(n, &more); !ok || err != nil || more == 0 {
			return nil, fmt.Errorf("--extend-migration %q: want JOB=N, N accounts more (1 or more)", extendJob)
		}
		j, err := parseKey("--extend-migration JOB", job)
		if err != nil {
			return nil, err
		}
		changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindExtendMigration,
			ExtendMigration: um.ConfigChangeExtendMigration{Job: j, AdditionalAccounts: more}})
	}
	if cancelJob != "" {
		j, err := parseKey("--cancel-migration", cancelJob)
		if err != nil {
			return nil, err
		}
		changes = append(changes, um.ConfigChange{Kind: um.ConfigChangeKindCancelMigration, CancelMigration: um.ConfigChangeCancelMigration{Job: j}})
	}
	return changes, nil
}

func voteCmd(kind string) func(fs *flag.FlagSet) body {
	return func(fs *flag.FlagSet) body {
		return func(c *cli, ctx context.Context, args []string) (any, error) {
			addr, err := oneArg("PROPOSAL", args)
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
			plan, err := c.reader.PlanVote(ctx, kind, addr, m.pub)
			if err != nil {
				return nil, err
			}
			return c.submitPlan(ctx, plan, "proposal", payer, signer{}, m)
		}
	}
}

func executeCmd(fs *flag.FlagSet) body {
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		addr, err := oneArg("PROPOSAL", args)
		if err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		var extended []any
		for {
			plan, err := c.reader.PlanExecute(ctx, addr, payer.pub)
			var te *txbuild.Error
			if errors.As(err, &te) && te.Code == txbuild.CodeExtendNeeded && !c.signOnly && !c.dryRun {
				// Grow the programdata first: permissionless, one call per slot.
				res, err := c.extendOnce(ctx, addr, payer)
				if err != nil {
					return nil, err
				}
				extended = append(extended, res["signature"])
				continue
			}
			if err != nil {
				return nil, err
			}
			res, err := c.submitPlan(ctx, plan, "proposal", payer, signer{})
			if err == nil && len(extended) > 0 {
				res["extendSignatures"] = extended
			}
			return res, err
		}
	}
}

// extendOnce sends one extend_program and waits for the next slot: the loader allows one
// extension of an account per slot.
func (c *cli) extendOnce(ctx context.Context, addr solana.PublicKey, payer signer) (result, error) {
	slot, err := c.rpc.GetSlot(ctx, c.commitment)
	if err != nil {
		return nil, fmt.Errorf("get slot: %w", err)
	}
	plan, err := c.reader.PlanExtend(ctx, addr, payer.pub)
	if err != nil {
		return nil, err
	}
	res, err := c.submitPlan(ctx, plan, "proposal", payer, payer)
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
		addr, err := oneArg("PROPOSAL", args)
		if err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		return c.extendOnce(ctx, addr, payer)
	}
}

// submitPlan sends plan paid by payer and signed by signers; rentPayer (when set) pays the
// plan's rent and must hold it. The plan's address is reported under addressName.
func (c *cli) submitPlan(ctx context.Context, plan *txbuild.Plan, addressName string, payer, rentPayer signer, signers ...signer) (result, error) {
	fields := map[string]any{addressName: plan.Address.String()}
	for k, v := range plan.Details {
		fields[k] = v
	}
	a := action{summary: plan.Summary, ixs: plan.Instructions, payer: payer, signers: others(payer, signers...), fields: fields}
	switch {
	case plan.Rent == 0 || rentPayer.pub.IsZero():
	case rentPayer.pub.Equals(payer.pub):
		a.rent = plan.Rent
	case !c.signOnly:
		bal, err := c.reader.Balance(ctx, rentPayer.pub)
		if err != nil {
			return nil, err
		}
		if err := txbuild.CheckFunded(rentPayer.pub, bal, plan.Rent); err != nil {
			return nil, fmt.Errorf("%s pays the rent of the new account: %w", rentPayer.pub, err)
		}
	}
	return c.submit(ctx, a)
}
