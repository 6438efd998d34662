package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
)

// Transaction is what the decoder reads of a getTransaction result. Build
// it with ParseTransaction (raw JSON, json encoding) or FromRPC (solana-go).
//
// Account keys and instruction data come in one of two forms: base58 text,
// as the json encoding carries them, which the decoder decodes only for
// the instructions that can hold our events; or bytes, when the source has
// decoded them already. Both forms of a field are never needed.
type Transaction struct {
	// Signature is the first signature in base58.
	Signature string
	Header
	// AccountKeys are the account keys in base58: the message's static keys,
	// then meta.loadedAddresses.writable, then meta.loadedAddresses.readonly.
	AccountKeys []string
	// Keys are the same keys decoded; when non-nil, AccountKeys is not read.
	Keys []solana.PublicKey
	// Instructions are the top-level instructions.
	Instructions []Instruction
	// InnerInstructions are meta.innerInstructions: the CPIs each top-level
	// instruction made, in the order they were invoked.
	InnerInstructions []InnerInstructions
	// LogMessages are meta.logMessages.
	LogMessages []string
}

// Instruction is one compiled instruction.
type Instruction struct {
	// ProgramIDIndex indexes the program in the account keys.
	ProgramIDIndex uint16
	// Accounts index the instruction's accounts in the account keys.
	Accounts []uint16
	// Data is the instruction data in base58.
	Data string
	// DataBytes is the instruction data decoded; when non-nil, Data is not read.
	DataBytes []byte
	// StackHeight is the invoke depth (1 top level, 2 a CPI from it), 0 when
	// the node did not record it.
	StackHeight uint16
}

// InnerInstructions are the CPIs made while one top-level instruction ran.
type InnerInstructions struct {
	// Index is the top-level instruction's index.
	Index uint16
	// Instructions are the CPIs in invocation order.
	Instructions []Instruction
}

// keyCount is the number of account keys in whichever form is set.
func (tx *Transaction) keyCount() int {
	if tx.Keys != nil {
		return len(tx.Keys)
	}
	return len(tx.AccountKeys)
}

// key returns account key i in base58 ("" when out of range).
func (tx *Transaction) key(i int) string {
	if tx.Keys != nil {
		if i < 0 || i >= len(tx.Keys) {
			return ""
		}
		return tx.Keys[i].String()
	}
	if i < 0 || i >= len(tx.AccountKeys) {
		return ""
	}
	return tx.AccountKeys[i]
}

// Header is what a getTransaction result says of a transaction besides its
// message: where and when it landed, and whether it failed. The ingester
// files the transaction by it, so the result is parsed once.
type Header struct {
	// Slot is the slot the transaction landed in.
	Slot uint64
	// BlockTime is the block's Unix time, 0 when the node does not know it
	// (HasBlockTime is then false).
	BlockTime    int64
	HasBlockTime bool
	// Failed is set when meta.err is not null. A failed transaction has no events.
	Failed bool
}

// Time is the block's time in UTC, nil when the node does not know it.
func (h Header) Time() *time.Time {
	if !h.HasBlockTime {
		return nil
	}
	t := time.Unix(h.BlockTime, 0).UTC()
	return &t
}

// wireHeader is the header of a getTransaction result alone, read when the
// whole result does not parse.
type wireHeader struct {
	Slot      uint64 `json:"slot"`
	BlockTime *int64 `json:"blockTime"`
	Meta      *struct {
		Err json.RawMessage `json:"err"`
	} `json:"meta"`
}

func header(slot uint64, blockTime *int64, errJSON json.RawMessage) Header {
	h := Header{Slot: slot}
	if blockTime != nil {
		h.BlockTime, h.HasBlockTime = *blockTime, true
	}
	errJSON = bytes.TrimSpace(errJSON)
	h.Failed = len(errJSON) > 0 && !bytes.Equal(errJSON, []byte("null"))
	return h
}

// The json encoding of a getTransaction result, as far as it is read.
type wireTransaction struct {
	Slot        uint64          `json:"slot"`
	BlockTime   *int64          `json:"blockTime"`
	Transaction json.RawMessage `json:"transaction"`
	Meta        *struct {
		Err               json.RawMessage    `json:"err"`
		LogMessages       []string           `json:"logMessages"`
		InnerInstructions []wireInnerList    `json:"innerInstructions"`
		LoadedAddresses   *wireLoadedAddress `json:"loadedAddresses"`
	} `json:"meta"`
}

type wireMessage struct {
	Signatures []string `json:"signatures"`
	Message    struct {
		AccountKeys  []string          `json:"accountKeys"`
		Instructions []wireInstruction `json:"instructions"`
	} `json:"message"`
}

type wireInstruction struct {
	ProgramIDIndex uint16   `json:"programIdIndex"`
	Accounts       []uint16 `json:"accounts"`
	Data           string   `json:"data"`
	StackHeight    *uint16  `json:"stackHeight"`
}

type wireInnerList struct {
	Index        uint16            `json:"index"`
	Instructions []wireInstruction `json:"instructions"`
}

type wireLoadedAddress struct {
	Writable []string `json:"writable"`
	Readonly []string `json:"readonly"`
}

// ErrEncoding is returned by ParseTransaction for results in an encoding
// other than json (base58, base64, jsonParsed).
var ErrEncoding = errors.New("transaction is not in the json encoding")

// ParseTransaction reads the result of getTransaction (or one entry of
// getBlock's transactions) requested with encoding "json".
//
// When the result is JSON whose header (slot, blockTime, meta.err) reads but
// whose message does not (another encoding, a malformed message), it returns
// the error and a Transaction holding only the Header, so the caller can
// file the transaction where it landed. It returns a nil Transaction only
// when not even the header reads.
func ParseTransaction(data []byte) (*Transaction, error) {
	var w wireTransaction
	if err := json.Unmarshal(data, &w); err != nil {
		var h wireHeader
		if json.Unmarshal(data, &h) != nil {
			return nil, fmt.Errorf("parse transaction: %w", err)
		}
		var errJSON json.RawMessage
		if h.Meta != nil {
			errJSON = h.Meta.Err
		}
		return &Transaction{Header: header(h.Slot, h.BlockTime, errJSON)}, fmt.Errorf("parse transaction: %w", err)
	}
	var errJSON json.RawMessage
	if w.Meta != nil {
		errJSON = w.Meta.Err
	}
	hdr := header(w.Slot, w.BlockTime, errJSON)
	raw := bytes.TrimSpace(w.Transaction)
	if len(raw) == 0 || raw[0] != '{' {
		return &Transaction{Header: hdr}, fmt.Errorf("parse transaction: %w", ErrEncoding)
	}
	var m wireMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return &Transaction{Header: hdr}, fmt.Errorf("parse transaction message (want the json encoding): %w", err)
	}
	tx := &Transaction{Header: hdr, AccountKeys: m.Message.AccountKeys}
	if len(m.Signatures) > 0 {
		tx.Signature = m.Signatures[0]
	}
	tx.Instructions = wireInstructions(m.Message.Instructions)
	if meta := w.Meta; meta != nil {
		tx.LogMessages = meta.LogMessages
		if la := meta.LoadedAddresses; la != nil && len(la.Writable)+len(la.Readonly) > 0 {
			keys := make([]string, 0, len(tx.AccountKeys)+len(la.Writable)+len(la.Readonly))
			keys = append(append(append(keys, tx.AccountKeys...), la.Writable...), la.Readonly...)
			tx.AccountKeys = keys
		}
		if meta.InnerInstructions != nil {
			tx.InnerInstructions = make([]InnerInstructions, len(meta.InnerInstructions))
			for i, l := range meta.InnerInstructions {
				tx.InnerInstructions[i] = InnerInstructions{Index: l.Index, Instructions: wireInstructions(l.Instructions)}
			}
		}
	}
	return tx, nil
}

func wireInstructions(ws []wireInstruction) []Instruction {
	out := make([]Instruction, len(ws))
	for i, w := range ws {
		out[i] = Instruction{ProgramIDIndex: w.ProgramIDIndex, Accounts: w.Accounts, Data: w.Data}
		if w.StackHeight != nil {
			out[i].StackHeight = *w.StackHeight
		}
	}
	return out
}

// FromRPC adapts a solana-go getTransaction result. The result's
// instruction data is already decoded; the Transaction shares it.
func FromRPC(r *rpc.GetTransactionResult) (*Transaction, error) {
	if r == nil || r.Transaction == nil {
		return nil, errors.New("adapt transaction: no transaction in the result")
	}
	stx, err := r.Transaction.GetTransaction()
	if err != nil {
		return nil, fmt.Errorf("adapt transaction: %w", err)
	}
	if stx == nil {
		return nil, errors.New("adapt transaction: no transaction in the result")
	}
	tx := &Transaction{Header: Header{Slot: r.Slot}}
	if r.BlockTime != nil {
		tx.BlockTime, tx.HasBlockTime = int64(*r.BlockTime), true
	}
	if len(stx.Signatures) > 0 {
		tx.Signature = stx.Signatures[0].String()
	}
	keys := stx.Message.AccountKeys
	if r.Meta != nil {
		if la := r.Meta.LoadedAddresses; len(la.Writable)+len(la.ReadOnly) > 0 {
			all := make([]solana.PublicKey, 0, len(keys)+len(la.Writable)+len(la.ReadOnly))
			keys = append(append(append(all, keys...), la.Writable...), la.ReadOnly...)
		}
	}
	tx.Keys = keys
	if tx.Keys == nil {
		tx.Keys = []solana.PublicKey{}
	}
	tx.Instructions = make([]Instruction, len(stx.Message.Instructions))
	for i, ci := range stx.Message.Instructions {
		tx.Instructions[i] = Instruction{ProgramIDIndex: ci.ProgramIDIndex, Accounts: ci.Accounts, DataBytes: nonNil(ci.Data)}
	}
	if m := r.Meta; m != nil {
		tx.Failed = m.Err != nil
		tx.LogMessages = m.LogMessages
		if m.InnerInstructions != nil {
			tx.InnerInstructions = make([]InnerInstructions, len(m.InnerInstructions))
			for i, l := range m.InnerInstructions {
				ins := make([]Instruction, len(l.Instructions))
				for j, ci := range l.Instructions {
					ins[j] = Instruction{ProgramIDIndex: ci.ProgramIDIndex, Accounts: ci.Accounts, DataBytes: nonNil(ci.Data), StackHeight: ci.StackHeight}
				}
				tx.InnerInstructions[i] = InnerInstructions{Index: l.Index, Instructions: ins}
			}
		}
	}
	return tx, nil
}

// nonNil keeps decoded empty data distinguishable from "not decoded".
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
