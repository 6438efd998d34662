package txbuild

import (
	"fmt"

	"github.com/gagliardetto/solana-go"
	computebudget "github.com/gagliardetto/solana-go/programs/compute-budget"
)

// Budget is the compute budget a transaction asks for; zero fields leave it unset.
type Budget struct {
	// UnitPrice is the priority fee in micro-lamports per compute unit.
	UnitPrice uint64
	// UnitLimit caps the compute units.
	UnitLimit uint32
}

// Assemble makes an unsigned transaction of ixs paid by payer, under blockhash, with the
// budget's compute-budget instructions first.
func Assemble(ixs []solana.Instruction, payer solana.PublicKey, blockhash solana.Hash, budget Budget) (*solana.Transaction, error) {
	var all []solana.Instruction
	if budget.UnitLimit > 0 {
		all = append(all, computebudget.NewSetComputeUnitLimitInstruction(budget.UnitLimit).Build())
	}
	if budget.UnitPrice > 0 {
		all = append(all, computebudget.NewSetComputeUnitPriceInstruction(budget.UnitPrice).Build())
	}
	all = append(all, ixs...)
	tx, err := solana.NewTransaction(all, blockhash, solana.TransactionPayer(payer))
	if err != nil {
		return nil, fmt.Errorf("build transaction: %w", err)
	}
	return tx, nil
}

// Signers are the keys tx still needs signatures from, in the message's order.
func Signers(tx *solana.Transaction) []solana.PublicKey {
	n := int(tx.Message.Header.NumRequiredSignatures)
	return append([]solana.PublicKey(nil), tx.Message.AccountKeys[:n]...)
}

// Sign signs tx with each of keys that it needs; it fails if a needed signer is missing.
func Sign(tx *solana.Transaction, keys ...solana.PrivateKey) error {
	_, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		for i := range keys {
			if keys[i].PublicKey().Equals(k) {
				return &keys[i]
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sign transaction: %w", err)
	}
	return nil
}
