package localnettest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/ws"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
)

// eventIxTag is Anchor's EVENT_IX_TAG, little-endian: the first bytes of an emit_cpi! inner
// instruction.
var eventIxTag = []byte{0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d}

// initializeGovernance builds upgrade_manager's initialize_governance by hand: Anchor's
// discriminator sha256("global:initialize_governance")[:8], then the borsh arguments.
func initializeGovernance(payer, createKey solana.PublicKey, members []solana.PublicKey, threshold uint8) (solana.Instruction, solana.PublicKey) {
	disc := sha256.Sum256([]byte("global:initialize_governance"))
	var data bytes.Buffer
	data.Write(disc[:8])
	_ = binary.Write(&data, binary.LittleEndian, uint32(len(members)))
	for _, m := range members {
		data.Write(m[:])
	}
	data.WriteByte(threshold) // threshold
	data.WriteByte(threshold) // rollback_threshold
	data.WriteByte(1)         // timelock_seconds: Some(48 h)
	_ = binary.Write(&data, binary.LittleEndian, int64(172_800))
	data.WriteByte(0)    // rollback_timelock_seconds: None
	data.WriteByte(0)    // grace_period_seconds: None
	data.Write(payer[:]) // spill
	data.WriteByte(0)    // voting_period_seconds: None
	data.WriteByte(0)    // rent_collector: None

	pid := localnettest.ManagerProgramID
	governance, _, err := solana.FindProgramAddress([][]byte{[]byte("governance"), createKey[:]}, pid)
	if err != nil {
		panic(err)
	}
	eventAuthority, _, err := solana.FindProgramAddress([][]byte{[]byte("__event_authority")}, pid)
	if err != nil {
		panic(err)
	}
	return solana.NewInstruction(pid, solana.AccountMetaSlice{
		solana.Meta(payer).WRITE().SIGNER(),
		solana.Meta(createKey).SIGNER(),
		solana.Meta(governance).WRITE(),
		solana.Meta(solana.SystemProgramID),
		solana.Meta(eventAuthority),
		solana.Meta(pid),
	}, data.Bytes()), eventAuthority
}

func TestUpgradeManagerRoundTrip(t *testing.T) {
	t.Parallel()
	payer := solana.NewWallet().PrivateKey
	n := localnettest.Start(t, localnettest.Options{Fund: []solana.PublicKey{payer.PublicKey()}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	client := rpc.New(n.RPCURL)
	wsClient, err := ws.Connect(ctx, n.WSURL)
	if err != nil {
		t.Fatalf("connect websocket: %v", err)
	}
	defer wsClient.Close()
	sub, err := wsClient.LogsSubscribeMentions(localnettest.ManagerProgramID, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatalf("logsSubscribe: %v", err)
	}
	defer sub.Unsubscribe()

	// An airdrop works too, and confirms.
	other := solana.NewWallet().PublicKey()
	airdrop, err := client.RequestAirdrop(ctx, other, solana.LAMPORTS_PER_SOL, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatalf("requestAirdrop: %v", err)
	}

	createKey := solana.NewWallet().PrivateKey
	ix, eventAuthority := initializeGovernance(payer.PublicKey(), createKey.PublicKey(),
		[]solana.PublicKey{payer.PublicKey(), other}, 2)
	recent, err := client.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatalf("getLatestBlockhash: %v", err)
	}
	tx, err := solana.NewTransaction([]solana.Instruction{ix}, recent.Value.Blockhash, solana.TransactionPayer(payer.PublicKey()))
	if err != nil {
		t.Fatalf("new transaction: %v", err)
	}
	if _, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		switch k {
		case payer.PublicKey():
			return &payer
		case createKey.PublicKey():
			return &createKey
		}
		return nil
	}); err != nil {
		t.Fatalf("sign: %v", err)
	}
	sig, err := client.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
	if err != nil {
		t.Fatalf("sendTransaction: %v", err)
	}

	// Its logs arrive at confirmed, with the program's own lines.
	for {
		got, err := sub.Recv(ctx)
		if err != nil {
			t.Fatalf("logs notification: %v", err)
		}
		if got.Value.Signature != sig {
			continue
		}
		if got.Value.Err != nil {
			t.Fatalf("transaction failed: %v", got.Value.Err)
		}
		if !slices.Contains(got.Value.Logs, "Program log: Instruction: InitializeGovernance") {
			t.Fatalf("logs lack the instruction name: %q", got.Value.Logs)
		}
		break
	}

	version := uint64(0)
	res, err := client.GetTransaction(ctx, sig, &rpc.GetTransactionOpts{
		Encoding:                       solana.EncodingBase64,
		Commitment:                     rpc.CommitmentConfirmed,
		MaxSupportedTransactionVersion: &version,
	})
	if err != nil {
		t.Fatalf("getTransaction: %v", err)
	}
	decoded, err := res.Transaction.GetTransaction()
	if err != nil {
		t.Fatalf("decode transaction: %v", err)
	}
	if decoded.Signatures[0] != sig {
		t.Fatalf("signature %s, want %s", decoded.Signatures[0], sig)
	}
	keys := decoded.Message.AccountKeys
	var found bool
	for _, inner := range res.Meta.InnerInstructions {
		for _, ci := range inner.Instructions {
			if keys[ci.ProgramIDIndex] != localnettest.ManagerProgramID || len(ci.Accounts) == 0 {
				continue
			}
			if bytes.HasPrefix(ci.Data, eventIxTag) && keys[ci.Accounts[0]] == eventAuthority {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("no emit_cpi! inner instruction in %+v", res.Meta.InnerInstructions)
	}
	if res.Meta.Fee == 0 || len(res.Meta.LogMessages) == 0 {
		t.Fatalf("meta: fee %d, %d log lines", res.Meta.Fee, len(res.Meta.LogMessages))
	}

	statuses, err := client.GetSignatureStatuses(ctx, false, airdrop)
	if err != nil || statuses.Value[0] == nil {
		t.Fatalf("airdrop status: %v %+v", err, statuses)
	}
	bal, err := client.GetBalance(ctx, other, rpc.CommitmentConfirmed)
	if err != nil || bal.Value != solana.LAMPORTS_PER_SOL {
		t.Fatalf("airdropped balance: %v %+v", err, bal)
	}
}

func TestStopIsIdempotent(t *testing.T) {
	t.Parallel()
	n := localnettest.Start(t, localnettest.Options{})
	n.Stop()
	n.Stop()
	if _, err := rpc.New(n.RPCURL).GetHealth(context.Background()); err == nil {
		t.Fatal("node still answers after Stop")
	}
}
