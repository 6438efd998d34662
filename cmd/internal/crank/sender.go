package crank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"
	computebudget "github.com/gagliardetto/solana-go/programs/compute-budget"
	"github.com/gagliardetto/solana-go/rpc"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// maxResends bounds how often one action is rebuilt after its blockhash expired unlanded.
const maxResends = 5

// errRaceLost marks an action that someone else performed first.
var errRaceLost = errors.New("race lost")

// SimulationError is a transaction the chain would reject; it carries the program's error code
// when there is one, and the logs.
type SimulationError struct {
	Code    uint32
	HasCode bool
	Err     any
	Logs    []string
}

func (e *SimulationError) Error() string {
	msg := "simulation failed: "
	if e.HasCode {
		msg += fmt.Sprintf("custom program error %d (%s)", e.Code, errorName(e.Code))
	} else {
		msg += describeTxError(e.Err)
	}
	if line := failureLog(e.Logs); line != "" {
		msg += fmt.Sprintf(": %q", line)
	}
	return msg
}

// describeTxError renders an RPC transaction error in words: {"InstructionError":[1,
// "InvalidArgument"]} is "instruction 1: InvalidArgument"; any other shape is its JSON, never a
// Go map.
func describeTxError(err any) string {
	if m, ok := err.(map[string]any); ok {
		if ie, ok := m["InstructionError"].([]any); ok && len(ie) == 2 {
			if i, ok := ie[0].(float64); ok {
				if name, ok := ie[1].(string); ok {
					return fmt.Sprintf("instruction %d: %s", int(i), name)
				}
				b, _ := json.Marshal(ie[1])
				return fmt.Sprintf("instruction %d: %s", int(i), b)
			}
		}
	}
	if s, ok := err.(string); ok {
		return s
	}
	b, jerr := json.Marshal(err)
	if jerr != nil {
		return fmt.Sprint(err)
	}
	return string(b)
}

// frame matches the runtime's own log lines around an instruction (invoke, success, consumed,
// failed), which say where a failure happened but not why.
var frame = regexp.MustCompile(`^Program [1-9A-HJ-NP-Za-km-z]{32,44} (invoke \[\d+\]|success|consumed .*|failed: .*)$`)

// failureLog returns the last log line that is not the runtime's framing: what the failing
// program (the loader, or upgrade_manager's AnchorError) said, e.g. "Program was extended in
// this block already".
func failureLog(logs []string) string {
	for i := len(logs) - 1; i >= 0; i-- {
		line := strings.TrimSpace(logs[i])
		if line == "" || frame.MatchString(line) {
			continue
		}
		return strings.TrimPrefix(line, "Program log: ")
	}
	return ""
}

// sender builds, simulates, sends and confirms transactions paid by one fee payer.
type sender struct {
	rpc        *rpc.Client
	payer      solana.PrivateKey
	commitment rpc.CommitmentType
	cuPrice    uint64 // micro-lamports per compute unit; 0 leaves it unset
	cuLimit    uint32 // 0 leaves it unset
	dryRun     bool
	poll       time.Duration
	log        *slog.Logger
}

// sent is what became of one action.
type sent struct {
	Signature solana.Signature
	// Lamports the payer's balance dropped by (fees, rent).
	Spent uint64
	// DryRun is set when the transaction was only simulated.
	DryRun bool
}

// customCode extracts the custom program error code from an RPC transaction error, shaped
// {"InstructionError":[index,{"Custom":code}]}.
func customCode(err any) (uint32, bool) {
	m, ok := err.(map[string]any)
	if !ok {
		return 0, false
	}
	ie, ok := m["InstructionError"].([]any)
	if !ok || len(ie) != 2 {
		return 0, false
	}
	c, ok := ie[1].(map[string]any)
	if !ok {
		return 0, false
	}
	switch v := c["Custom"].(type) {
	case float64:
		return uint32(v), true
	case int64:
		return uint32(v), true
	}
	return 0, false
}

// withBudget prepends the configured compute-budget instructions to ixs.
func (s *sender) withBudget(ixs []solana.Instruction) []solana.Instruction {
	var all []solana.Instruction
	if s.cuLimit > 0 {
		all = append(all, computebudget.NewSetComputeUnitLimitInstruction(s.cuLimit).Build())
	}
	if s.cuPrice > 0 {
		all = append(all, computebudget.NewSetComputeUnitPriceInstruction(s.cuPrice).Build())
	}
	return append(all, ixs...)
}

func (s *sender) build(ctx context.Context, ixs []solana.Instruction) (*solana.Transaction, uint64, error) {
	bh, err := s.rpc.GetLatestBlockhash(ctx, s.commitment)
	if err != nil {
		return nil, 0, fmt.Errorf("get latest blockhash: %w", err)
	}
	all := s.withBudget(ixs)
	payer := s.payer.PublicKey()
	tx, err := solana.NewTransaction(all, bh.Value.Blockhash, solana.TransactionPayer(payer))
	if err != nil {
		return nil, 0, fmt.Errorf("build transaction: %w", err)
	}
	if _, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		if k.Equals(payer) {
			return &s.payer
		}
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("sign transaction: %w", err)
	}
	return tx, bh.Value.LastValidBlockHeight, nil
}

// send lands ixs: it simulates first (a failure whose program error code isRaceLost accepts
// returns errRaceLost), sends, and waits for the configured commitment; a blockhash that expires
// before the transaction lands means rebuild and resend. A transaction that lands but fails
// on chain is classified the same way as a failed simulation.
func (s *sender) send(ctx context.Context, ixs []solana.Instruction, isRaceLost func(code uint32) bool) (sent, error) {
	payer := s.payer.PublicKey()
	for attempt := 0; attempt < maxResends; attempt++ {
		tx, lastValid, err := s.build(ctx, ixs)
		if err != nil {
			return sent{}, err
		}
		sim, err := s.rpc.SimulateTransactionWithOpts(ctx, tx, &rpc.SimulateTransactionOpts{Commitment: s.commitment})
		if err != nil {
			return sent{}, fmt.Errorf("simulate transaction: %w", err)
		}
		if sim.Value.Err != nil {
			return sent{}, classify(sim.Value.Err, sim.Value.Logs, isRaceLost)
		}
		if s.dryRun {
			return sent{DryRun: true}, nil
		}
		before, err := s.rpc.GetBalance(ctx, payer, s.commitment)
		if err != nil {
			return sent{}, fmt.Errorf("get fee-payer balance: %w", err)
		}
		sig, err := s.rpc.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{SkipPreflight: true, PreflightCommitment: s.commitment})
		if err != nil {
			return sent{}, fmt.Errorf("send transaction: %w", err)
		}
		landed, err := s.confirm(ctx, sig, lastValid, isRaceLost)
		if err != nil {
			return sent{Signature: sig}, err
		}
		if !landed {
			s.log.Warn("blockhash expired before the transaction landed; resending", "signature", sig, "attempt", attempt+1)
			continue
		}
		after, err := s.rpc.GetBalance(ctx, payer, s.commitment)
		if err != nil {
			return sent{Signature: sig}, fmt.Errorf("get fee-payer balance: %w", err)
		}
		var spent uint64
		if before.Value > after.Value {
			spent = before.Value - after.Value
		}
		return sent{Signature: sig, Spent: spent}, nil
	}
	return sent{}, fmt.Errorf("transaction did not land after %d attempts with fresh blockhashes", maxResends)
}

// errorName names an upgrade_manager error code.
func errorName(code uint32) string {
	return um.ErrorCode(code).Name()
}

func classify(txErr any, logs []string, isRaceLost func(code uint32) bool) error {
	code, ok := customCode(txErr)
	if ok && isRaceLost != nil && isRaceLost(code) {
		return fmt.Errorf("%w: %s", errRaceLost, errorName(code))
	}
	return &SimulationError{Code: code, HasCode: ok, Err: txErr, Logs: logs}
}

// confirm waits until sig reaches the commitment (true), or its blockhash can no longer land
// (false).
func (s *sender) confirm(ctx context.Context, sig solana.Signature, lastValid uint64, isRaceLost func(code uint32) bool) (bool, error) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		st, err := s.rpc.GetSignatureStatuses(ctx, false, sig)
		if err != nil {
			s.log.Warn("get signature status", "signature", sig, "error", err)
		} else if len(st.Value) == 1 && st.Value[0] != nil {
			v := st.Value[0]
			if v.Err != nil {
				return true, classify(v.Err, nil, isRaceLost)
			}
			if reached(v.ConfirmationStatus, s.commitment) {
				return true, nil
			}
		} else {
			h, err := s.rpc.GetBlockHeight(ctx, s.commitment)
			if err == nil && h > lastValid {
				return false, nil
			}
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
	}
}

func reached(got rpc.ConfirmationStatusType, want rpc.CommitmentType) bool {
	rank := map[string]int{"processed": 0, "confirmed": 1, "finalized": 2}
	return rank[strings.ToLower(string(got))] >= rank[strings.ToLower(string(want))]
}
