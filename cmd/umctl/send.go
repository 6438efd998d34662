package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/mr-tron/base58"

	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// baseFee is the fee per signature.
const baseFee = 5000

// action is one transaction a command sends.
type action struct {
	summary string
	ixs     []solana.Instruction
	payer   signer
	signers []signer // every other signer, the payer excepted
	// lamports the payer spends besides fees (rent of created accounts).
	rent uint64
	// fields added to the result.
	fields map[string]any
}

// simulationError is a transaction the chain would reject.
type simulationError struct {
	err  any
	name string // program error name, when it is upgrade_manager's
	msg  string
	logs []string
}

func (e *simulationError) Error() string {
	if e.name != "" {
		return fmt.Sprintf("the program would reject it: %s: %s", e.name, e.msg)
	}
	return fmt.Sprintf("the transaction would fail: %v", e.err)
}

// newSimulationError names upgrade_manager's custom error code when there is one, shaped
// {"InstructionError":[i,{"Custom":n}]}.
func newSimulationError(txErr any, logs []string) *simulationError {
	e := &simulationError{err: txErr, logs: logs}
	if m, ok := txErr.(map[string]any); ok {
		if ie, ok := m["InstructionError"].([]any); ok && len(ie) == 2 {
			if cm, ok := ie[1].(map[string]any); ok {
				if n, ok := cm["Custom"].(float64); ok && n >= 6000 {
					code := um.ErrorCode(uint32(n))
					e.name, e.msg = code.Name(), code.Message()
				}
			}
		}
	}
	return e
}

// result is what a command that sends prints.
type result map[string]any

// submit checks the payer, then prints the unsigned message (--sign-only), simulates
// (--dry-run), or signs, sends and confirms a.
func (c *cli) submit(ctx context.Context, a action) (result, error) {
	res := result{"action": a.summary}
	for k, v := range a.fields {
		res[k] = v
	}
	bh, err := c.rpc.GetLatestBlockhash(ctx, c.commitment)
	if err != nil {
		return nil, fmt.Errorf("get latest blockhash from %s: %w", c.url, err)
	}
	tx, err := txbuild.Assemble(a.ixs, a.payer.pub, bh.Value.Blockhash, txbuild.Budget{UnitPrice: c.cuPrice})
	if err != nil {
		return nil, err
	}
	if c.signOnly {
		msg, err := tx.Message.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("encode message: %w", err)
		}
		enc := base64.StdEncoding.EncodeToString(msg)
		if c.output == "base58" {
			enc = base58.Encode(msg)
		}
		var signers []string
		for _, k := range txbuild.Signers(tx) {
			signers = append(signers, k.String())
		}
		res["signOnly"] = true
		res["message"] = enc
		res["encoding"] = c.output
		res["blockhash"] = bh.Value.Blockhash.String()
		res["feePayer"] = a.payer.pub.String()
		res["signers"] = signers
		return res, nil
	}
	balance, err := c.reader.Balance(ctx, a.payer.pub)
	if err != nil {
		return nil, err
	}
	need := a.rent + baseFee*uint64(tx.Message.Header.NumRequiredSignatures)
	if err := txbuild.CheckFunded(a.payer.pub, balance, need); err != nil {
		return nil, err
	}
	keys := []solana.PrivateKey{a.payer.priv}
	for _, s := range a.signers {
		keys = append(keys, s.priv)
	}
	if err := txbuild.Sign(tx, keys...); err != nil {
		return nil, err
	}
	sim, err := c.rpc.SimulateTransactionWithOpts(ctx, tx, &rpc.SimulateTransactionOpts{Commitment: c.commitment})
	if err != nil {
		return nil, fmt.Errorf("simulate transaction: %w", err)
	}
	if sim.Value.Err != nil {
		return nil, newSimulationError(sim.Value.Err, sim.Value.Logs)
	}
	if c.dryRun {
		res["dryRun"] = true
		res["logs"] = sim.Value.Logs
		if sim.Value.UnitsConsumed != nil {
			res["unitsConsumed"] = *sim.Value.UnitsConsumed
		}
		return res, nil
	}
	sig, err := c.sendAndConfirm(ctx, tx, bh.Value.LastValidBlockHeight)
	if err != nil {
		return nil, err
	}
	res["signature"] = sig.String()
	return res, nil
}

// sendAndConfirm sends a signed transaction and waits until it reaches the commitment.
func (c *cli) sendAndConfirm(ctx context.Context, tx *solana.Transaction, lastValid uint64) (solana.Signature, error) {
	sig, err := c.rpc.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{SkipPreflight: true, PreflightCommitment: c.commitment})
	if err != nil {
		return solana.Signature{}, fmt.Errorf("send transaction: %w", err)
	}
	return sig, c.confirm(ctx, sig, lastValid)
}

var errExpired = errors.New("the transaction's blockhash expired before it landed; run the command again")

func (c *cli) confirm(ctx context.Context, sig solana.Signature, lastValid uint64) error {
	ctx, cancel := context.WithTimeout(ctx, c.confirmWithin)
	defer cancel()
	rank := map[string]int{"processed": 0, "confirmed": 1, "finalized": 2}
	for {
		st, err := c.rpc.GetSignatureStatuses(ctx, false, sig)
		if err == nil && len(st.Value) == 1 && st.Value[0] != nil {
			v := st.Value[0]
			if v.Err != nil {
				return fmt.Errorf("transaction %s failed: %w", sig, newSimulationError(v.Err, nil))
			}
			if rank[strings.ToLower(string(v.ConfirmationStatus))] >= rank[string(c.commitment)] {
				return nil
			}
		} else if err == nil {
			if h, err := c.rpc.GetBlockHeight(ctx, c.commitment); err == nil && h > lastValid {
				return fmt.Errorf("%s: %w", sig, errExpired)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("transaction %s did not reach %s within %s (look it up before sending again): %w", sig, c.commitment, c.confirmWithin, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
