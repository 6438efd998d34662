package graph

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// CodeUnavailable: the server was started without an RPC URL, so it cannot build transactions.
const CodeUnavailable = "UNAVAILABLE"

// Builder turns intents into unsigned transactions for the build* mutations. It reads the chain
// through Chain and never holds a key.
type Builder struct {
	Chain *txbuild.Reader
}

// NewBuilder returns a Builder reading the chain at rpcURL for upgrade_manager at program (the
// zero key: the IDL's address), at confirmed commitment.
func NewBuilder(rpcURL string, program solana.PublicKey) *Builder {
	b := txbuild.New(program)
	return &Builder{Chain: &txbuild.Reader{RPC: rpc.New(rpcURL), Commitment: rpc.CommitmentConfirmed, Builder: b}}
}

func (r *Resolver) builder() (*Builder, error) {
	if r.Build == nil {
		return nil, &Error{Code: CodeUnavailable, Message: "this server builds no transactions: start it with -rpc-url"}
	}
	return r.Build, nil
}

// key parses a PublicKey scalar (already validated as 32 bytes of base58).
func key(s string) solana.PublicKey { return solana.MustPublicKeyFromBase58(s) }

// planError turns a refusal into an error with its code; anything else stays internal.
func planError(err error) error {
	var te *txbuild.Error
	if errors.As(err, &te) {
		msg := te.Message
		if te.Hint != "" {
			msg += "; " + te.Hint
		}
		return &Error{Code: string(te.Code), Message: msg}
	}
	return err
}

// built assembles plan into an unsigned transaction paid by payer (default: actor), checks the
// payer's balance, and simulates it when asked.
func (b *Builder) built(ctx context.Context, plan *txbuild.Plan, actor solana.PublicKey, opts *BuildOptions, err error) (*BuiltTransaction, error) {
	if err != nil {
		return nil, planError(err)
	}
	payer := actor
	var price uint64
	simulate := false
	if opts != nil {
		if opts.FeePayer != nil {
			payer = key(*opts.FeePayer)
		}
		if opts.ComputeUnitPrice != nil {
			price = uint64(*opts.ComputeUnitPrice)
		}
		simulate = opts.Simulate != nil && *opts.Simulate
	}
	c := b.Chain
	bh, err := c.RPC.GetLatestBlockhash(ctx, c.Commitment)
	if err != nil {
		return nil, fmt.Errorf("get latest blockhash: %w", err)
	}
	tx, err := txbuild.Assemble(plan.Instructions, payer, bh.Value.Blockhash, txbuild.Budget{UnitPrice: price})
	if err != nil {
		return nil, err
	}
	need := 5000 * uint64(tx.Message.Header.NumRequiredSignatures)
	if payer.Equals(actor) {
		need += plan.Rent
	}
	balance, err := c.Balance(ctx, payer)
	if err != nil {
		return nil, err
	}
	if err := txbuild.CheckFunded(payer, balance, need); err != nil {
		return nil, planError(err)
	}
	n := int(tx.Message.Header.NumRequiredSignatures)
	tx.Signatures = make([]solana.Signature, n)
	wire, err := tx.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode transaction: %w", err)
	}
	msg, err := tx.Message.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	details, _ := json.Marshal(plan.Details)
	if plan.Details == nil {
		details = []byte("{}")
	}
	out := &BuiltTransaction{
		Transaction: base64.StdEncoding.EncodeToString(wire), Message: base64.StdEncoding.EncodeToString(msg),
		Blockhash: bh.Value.Blockhash.String(), LastValidBlockHeight: int64(bh.Value.LastValidBlockHeight),
		FeePayer: payer.String(), Summary: plan.Summary, Address: plan.Address.String(),
		RentLamports: int64(plan.Rent), Details: details,
	}
	for _, s := range txbuild.Signers(tx) {
		out.Signers = append(out.Signers, s.String())
	}
	if simulate {
		if out.Simulation, err = b.simulate(ctx, tx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// simulate runs tx without signature checks.
func (b *Builder) simulate(ctx context.Context, tx *solana.Transaction) (*Simulation, error) {
	c := b.Chain
	res, err := c.RPC.SimulateTransactionWithOpts(ctx, tx, &rpc.SimulateTransactionOpts{SigVerify: false, Commitment: c.Commitment})
	if err != nil {
		return nil, fmt.Errorf("simulate transaction: %w", err)
	}
	s := &Simulation{Ok: res.Value.Err == nil, Logs: res.Value.Logs}
	if s.Logs == nil {
		s.Logs = []string{}
	}
	if res.Value.UnitsConsumed != nil {
		u := int64(*res.Value.UnitsConsumed)
		s.UnitsConsumed = &u
	}
	if res.Value.Err != nil {
		s.Error, _ = json.Marshal(res.Value.Err)
		if name := programError(res.Value.Err); name != "" {
			s.ProgramError = &name
		}
	}
	return s, nil
}

// programError names upgrade_manager's error in {"InstructionError":[i,{"Custom":n}]}.
func programError(txErr any) string {
	m, ok := txErr.(map[string]any)
	if !ok {
		return ""
	}
	ie, ok := m["InstructionError"].([]any)
	if !ok || len(ie) != 2 {
		return ""
	}
	c, ok := ie[1].(map[string]any)
	if !ok {
		return ""
	}
	n, ok := c["Custom"].(json.Number)
	if !ok {
		if f, isFloat := c["Custom"].(float64); isFloat {
			return um.ErrorCode(uint32(f)).Name()
		}
		return ""
	}
	v, err := n.Int64()
	if err != nil {
		return ""
	}
	return um.ErrorCode(uint32(v)).Name()
}

// configChange turns the input (exactly one field set) into a ConfigChange.
func configChange(in *ConfigChangeInput) (um.ConfigChange, error) {
	var out []um.ConfigChange
	if in.AddMember != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindAddMember, AddMember: um.ConfigChangeAddMember{Member: key(*in.AddMember)}})
	}
	if in.RemoveMember != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindRemoveMember, RemoveMember: um.ConfigChangeRemoveMember{Member: key(*in.RemoveMember)}})
	}
	if in.Threshold != nil {
		if *in.Threshold < 1 || *in.Threshold > 16 {
			return um.ConfigChange{}, badInput("threshold must be between 1 and 16")
		}
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindSetThreshold, SetThreshold: um.ConfigChangeSetThreshold{Threshold: uint8(*in.Threshold)}})
	}
	if in.RollbackThreshold != nil {
		if *in.RollbackThreshold < 1 || *in.RollbackThreshold > 16 {
			return um.ConfigChange{}, badInput("rollbackThreshold must be between 1 and 16")
		}
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindSetRollbackThreshold, SetRollbackThreshold: um.ConfigChangeSetRollbackThreshold{Threshold: uint8(*in.RollbackThreshold)}})
	}
	if in.TimelockSeconds != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindSetTimelock, SetTimelock: um.ConfigChangeSetTimelock{Seconds: *in.TimelockSeconds}})
	}
	if in.RollbackTimelockSeconds != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindSetRollbackTimelock, SetRollbackTimelock: um.ConfigChangeSetRollbackTimelock{Seconds: *in.RollbackTimelockSeconds}})
	}
	if in.GracePeriodSeconds != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindSetGracePeriod, SetGracePeriod: um.ConfigChangeSetGracePeriod{Seconds: *in.GracePeriodSeconds}})
	}
	if in.Spill != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindSetSpill, SetSpill: um.ConfigChangeSetSpill{Spill: key(*in.Spill)}})
	}
	if in.VotingPeriodSeconds != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindSetVotingPeriod, SetVotingPeriod: um.ConfigChangeSetVotingPeriod{Seconds: *in.VotingPeriodSeconds}})
	}
	if r := in.RevokeRelease; r != nil {
		h, err := hex.DecodeString(strings.TrimPrefix(r.Hash, "0x"))
		if err != nil || len(h) != 32 {
			return um.ConfigChange{}, badInput("revokeRelease.hash: want a sha256 in hex (64 digits)")
		}
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindRevokeRelease, RevokeRelease: um.ConfigChangeRevokeRelease{Program: key(r.Program), Hash: [32]byte(h)}})
	}
	if a := in.SetUpgradeAuthority; a != nil {
		c := um.ConfigChange{Kind: um.ConfigChangeKindSetUpgradeAuthority, SetUpgradeAuthority: um.ConfigChangeSetUpgradeAuthority{Program: key(a.Program)}}
		if a.NewAuthority != nil {
			k := key(*a.NewAuthority)
			c.SetUpgradeAuthority.NewAuthority = &k
		}
		out = append(out, c)
	}
	if e := in.ExtendMigration; e != nil {
		if e.AdditionalAccounts <= 0 {
			return um.ConfigChange{}, badInput("extendMigration.additionalAccounts: want 1 or more")
		}
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindExtendMigration, ExtendMigration: um.ConfigChangeExtendMigration{Job: key(e.Job), AdditionalAccounts: uint64(e.AdditionalAccounts)}})
	}
	if in.CancelMigration != nil {
		out = append(out, um.ConfigChange{Kind: um.ConfigChangeKindCancelMigration, CancelMigration: um.ConfigChangeCancelMigration{Job: key(*in.CancelMigration)}})
	}
	if rc := in.SetRentCollector; rc != nil {
		c := um.ConfigChange{Kind: um.ConfigChangeKindSetRentCollector}
		if rc.RentCollector != nil {
			k := key(*rc.RentCollector)
			c.SetRentCollector.RentCollector = &k
		}
		out = append(out, c)
	}
	if len(out) != 1 {
		return um.ConfigChange{}, badInput("change: set exactly one field, got %d", len(out))
	}
	return out[0], nil
}

// buildHash parses a hex build hash of up to 32 bytes.
func buildHash(s *string) ([32]byte, error) {
	var h [32]byte
	if s == nil || *s == "" {
		return h, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(*s, "0x"))
	if err != nil || len(b) > 32 {
		return h, badInput("buildHash: want up to 32 bytes of hex")
	}
	copy(h[:], b)
	return h, nil
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// vote builds member's approve, revoke or cancel.
func (r *mutationResolver) vote(ctx context.Context, vote string, input BuildVoteInput) (*BuiltTransaction, error) {
	b, err := r.builder()
	if err != nil {
		return nil, err
	}
	member := key(input.Member)
	plan, err := b.Chain.PlanVote(ctx, vote, key(input.Proposal), member)
	return b.built(ctx, plan, member, input.Options, err)
}

// proposeBinary builds an upgrade or rollback proposal.
func (r *mutationResolver) proposeBinary(ctx context.Context, kind um.ProposalKind, input BuildProposeBinaryInput) (*BuiltTransaction, error) {
	b, err := r.builder()
	if err != nil {
		return nil, err
	}
	bh, err := buildHash(input.BuildHash)
	if err != nil {
		return nil, err
	}
	proposer := key(input.Proposer)
	plan, err := b.Chain.PlanProposeBinary(ctx, kind, txbuild.ProposeBinary{
		Proposer: proposer, Program: key(input.Program), Buffer: key(input.Buffer),
		MetadataURI: str(input.MetadataURI), BuildHash: bh,
	})
	return b.built(ctx, plan, proposer, input.Options, err)
}
