package txbuild

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Reader fetches and decodes the on-chain state intents are built from and checked against.
type Reader struct {
	RPC        *rpc.Client
	Commitment rpc.CommitmentType
	Builder    *Builder
}

// Account fetches key; a missing account is a *Error with CodeNotFound.
func (r *Reader) Account(ctx context.Context, key solana.PublicKey) (*rpc.Account, error) {
	res, err := r.RPC.GetAccountInfoWithOpts(ctx, key, &rpc.GetAccountInfoOpts{Commitment: r.Commitment})
	if err != nil && !errors.Is(err, rpc.ErrNotFound) {
		return nil, fmt.Errorf("get account %s: %w", key, err)
	}
	if err != nil || res == nil || res.Value == nil {
		return nil, refuse(CodeNotFound, "check the address and the cluster (umctl: --url)", "account %s does not exist", key)
	}
	return res.Value, nil
}

func (r *Reader) decode(ctx context.Context, key solana.PublicKey, what string, into interface{ UnmarshalAccount([]byte) error }) error {
	a, err := r.Account(ctx, key)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Message = fmt.Sprintf("%s %s does not exist", what, key)
		}
		return err
	}
	if !a.Owner.Equals(r.Builder.ProgramID()) {
		return refuse(CodeNotFound, "check the address", "%s is not an upgrade_manager %s (owner %s)", key, what, a.Owner)
	}
	if err := into.UnmarshalAccount(a.Data.GetBinary()); err != nil {
		return refuse(CodeNotFound, "check the address", "%s is not an upgrade_manager %s: %v", key, what, err)
	}
	return nil
}

// Governance fetches the governance at key.
func (r *Reader) Governance(ctx context.Context, key solana.PublicKey) (*um.Governance, error) {
	var g um.Governance
	return &g, r.decode(ctx, key, "governance", &g)
}

// Proposal fetches the proposal at key.
func (r *Reader) Proposal(ctx context.Context, key solana.PublicKey) (*um.Proposal, error) {
	var p um.Proposal
	return &p, r.decode(ctx, key, "proposal", &p)
}

// ManagedProgram fetches the record of program; a program nobody registered is CodeNotManaged.
func (r *Reader) ManagedProgram(ctx context.Context, program solana.PublicKey) (*um.ManagedProgram, error) {
	var m um.ManagedProgram
	err := r.decode(ctx, r.Builder.ManagedProgram(program), "managed program", &m)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeNotFound {
		return nil, refuse(CodeNotManaged, "register it first (`register`)", "program %s is not managed by upgrade_manager", program)
	}
	return &m, err
}

// MigrationJob fetches the job of the migration proposal at proposal.
func (r *Reader) MigrationJob(ctx context.Context, proposal solana.PublicKey) (*um.MigrationJob, error) {
	var j um.MigrationJob
	return &j, r.decode(ctx, r.Builder.MigrationJob(proposal), "migration job", &j)
}

// Now is the chain's unix time: the Clock sysvar's unix_timestamp, never the local clock.
func (r *Reader) Now(ctx context.Context) (int64, error) {
	a, err := r.Account(ctx, solana.SysVarClockPubkey)
	if err != nil {
		return 0, fmt.Errorf("read the clock sysvar: %w", err)
	}
	clock, err := um.DecodeClock(a.Data.GetBinary())
	if err != nil {
		return 0, err
	}
	return clock.UnixTimestamp, nil
}

// ProposalAt is a proposal with its address.
type ProposalAt struct {
	Address solana.PublicKey
	*um.Proposal
}

// Proposals lists governance's proposals on chain, by index.
func (r *Reader) Proposals(ctx context.Context, governance solana.PublicKey) ([]ProposalAt, error) {
	disc := (&um.Proposal{}).Discriminator()
	res, err := r.RPC.GetProgramAccountsWithOpts(ctx, r.Builder.ProgramID(), &rpc.GetProgramAccountsOpts{
		Commitment: r.Commitment,
		Filters: []rpc.RPCFilter{
			{Memcmp: &rpc.RPCFilterMemcmp{Offset: 0, Bytes: disc[:]}},
			// discriminator (8) + layout_version (1) + bump (1), then the governance.
			{Memcmp: &rpc.RPCFilterMemcmp{Offset: 10, Bytes: governance[:]}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("list proposals of %s: %w", governance, err)
	}
	out := make([]ProposalAt, 0, len(res))
	for _, a := range res {
		var p um.Proposal
		if err := p.UnmarshalAccount(a.Account.Data.GetBinary()); err != nil {
			return nil, fmt.Errorf("decode proposal %s: %w", a.Pubkey, err)
		}
		out = append(out, ProposalAt{Address: a.Pubkey, Proposal: &p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// Balance is key's balance in lamports (0 for a missing account).
func (r *Reader) Balance(ctx context.Context, key solana.PublicKey) (uint64, error) {
	res, err := r.RPC.GetBalance(ctx, key, r.Commitment)
	if err != nil {
		return 0, fmt.Errorf("get balance of %s: %w", key, err)
	}
	return res.Value, nil
}

// Exists says whether key holds an account.
func (r *Reader) Exists(ctx context.Context, key solana.PublicKey) (bool, error) {
	_, err := r.Account(ctx, key)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeNotFound {
		return false, nil
	}
	return err == nil, err
}
