package crank

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest/standin"
	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

var perpMarket = standin.PerpMarket

const (
	positionV1Len = 59
	versionOffset = 8
)

var positionDiscriminator = [8]byte{170, 188, 143, 228, 122, 64, 247, 208}

func anchorSighash(name string) []byte {
	h := sha256.Sum256([]byte("global:" + name))
	return h[:8]
}

// manage makes program look registered with the world's governance (standin.Managed)
// and returns the hash of the binary its stand-in programdata holds.
func (w *world) manage(program solana.PublicKey) [32]byte {
	w.t.Helper()
	accs, err := standin.Managed(um.ProgramID, w.gov, program, standin.PerpBinary)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, a := range accs {
		w.setAccount(a.Key, a.Owner, a.Data)
	}
	return sha256.Sum256(standin.PerpBinary)
}

// setAccount writes an account through localnet's dev_setAccount and waits until the confirmed
// bank holds it.
func (w *world) setAccount(key, owner solana.PublicKey, data []byte) {
	w.t.Helper()
	w.putAccount(key, owner, data)
	w.waitAccount(key, data)
}

// waitAccount waits until the confirmed bank holds data at key.
func (w *world) waitAccount(key solana.PublicKey, data []byte) {
	w.t.Helper()
	testkit.Eventually(w.t, 0, fmt.Sprintf("account %s to be confirmed", key), func() bool {
		a, err := w.rpc.GetAccountInfoWithOpts(context.Background(), key, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
		return err == nil && a != nil && a.Value != nil && bytes.Equal(a.Value.Data.GetBinary(), data)
	})
}

// putAccount writes an account through localnet's dev_setAccount.
func (w *world) putAccount(key, owner solana.PublicKey, data []byte) {
	w.t.Helper()
	rent, err := w.rpc.GetMinimumBalanceForRentExemption(context.Background(), uint64(len(data)), rpc.CommitmentConfirmed)
	if err != nil {
		w.t.Fatal(err)
	}
	w.devCall("dev_setAccount", key.String(), map[string]any{
		"lamports": rent, "owner": owner.String(), "executable": false,
		"data": []string{base64.StdEncoding.EncodeToString(data), "base64"},
	})
}

// seedPositions writes n v1 positions owned by the payer, as the previous binary left them:
// the binary running now opens positions in the v2 layout only.
func (w *world) seedPositions(n int) []solana.PublicKey {
	w.t.Helper()
	owner := w.payer.PublicKey()
	var keys []solana.PublicKey
	var last []byte
	for id := range n {
		pos, _, _ := solana.FindProgramAddress([][]byte{[]byte("position"), owner[:], binary.LittleEndian.AppendUint64(nil, uint64(id))}, perpMarket)
		keys = append(keys, pos)
		data := append([]byte{}, positionDiscriminator[:]...)
		data = append(data, 1) // version
		data = append(data, owner[:]...)
		data = binary.LittleEndian.AppendUint16(data, 1)
		data = binary.LittleEndian.AppendUint64(data, uint64(10+id))
		data = binary.LittleEndian.AppendUint64(data, uint64(1000*(id+1)))
		w.putAccount(pos, perpMarket, data)
		last = data
	}
	// The crank lists them at confirmed commitment: wait until the last one is there.
	w.waitAccount(keys[len(keys)-1], last)
	return keys
}

// sendAsyncAll sends ixs paid by the world's payer and signed by signers, without waiting.
func (w *world) sendAsyncAll(ixs []solana.Instruction, signers ...solana.PrivateKey) solana.Signature {
	w.t.Helper()
	ctx := context.Background()
	bh, err := w.rpc.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err := solana.NewTransaction(ixs, bh.Value.Blockhash, solana.TransactionPayer(w.payer.PublicKey()))
	if err != nil {
		w.t.Fatal(err)
	}
	keys := append([]solana.PrivateKey{w.payer}, signers...)
	if _, err := tx.Sign(func(k solana.PublicKey) *solana.PrivateKey {
		for i := range keys {
			if keys[i].PublicKey().Equals(k) {
				return &keys[i]
			}
		}
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	sig, err := w.rpc.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{PreflightCommitment: rpc.CommitmentConfirmed})
	if err != nil {
		w.t.Fatalf("send: %v", err)
	}
	return sig
}

func (w *world) job(key solana.PublicKey) um.MigrationJob {
	w.t.Helper()
	a, err := w.rpc.GetAccountInfoWithOpts(context.Background(), key, &rpc.GetAccountInfoOpts{Commitment: rpc.CommitmentConfirmed})
	if err != nil {
		w.t.Fatal(err)
	}
	var j um.MigrationJob
	if err := j.UnmarshalAccount(a.Value.Data.GetBinary()); err != nil {
		w.t.Fatal(err)
	}
	return j
}

func TestMigrationDriverResumesAfterAKill(t *testing.T) {
	w := newWorld(t)
	required := w.manage(perpMarket)
	const n = 500
	positions := w.seedPositions(n)

	disc := positionDiscriminator
	propose, proposal := build.ProposeMigration(w.members[0].PublicKey(), w.gov, 0, perpMarket, um.MigrationSpec{
		FromVersion: 1, ToVersion: 2, VersionOffset: versionOffset, DataSize: positionV1Len,
		Discriminator: &disc, MigrateIxData: anchorSighash("migrate_position"), TotalAccounts: n,
		RequiredHash: required,
	}, "ipfs://migrate-positions")
	w.send(propose, w.members[0])
	for _, m := range w.members[:2] {
		w.send(build.Approve(m.PublicKey(), w.gov, proposal), m)
	}
	w.waitForDB(`SELECT status FROM proposal WHERE address = $1`, "approved", proposal.String())
	w.advanceClock(um.DefaultTimelockSeconds)
	if _, err := w.crank(KindExecute); err != nil {
		t.Fatalf("crank execute: %v", err)
	}
	job := build.MigrationJob(proposal)
	w.waitForDB(`SELECT status FROM migration_job WHERE address = $1`, "active", job.String())

	// A driver killed halfway through...
	driver := w.newCrank(KindMigrate, prometheus.NewRegistry(), false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- driver.Run(ctx) }()
	testkit.Eventually(t, 0, "the driver to migrate a third of the accounts", func() bool {
		return w.job(job).MigratedCount >= n/3
	})
	cancel()
	<-done
	driver.Close()
	half := w.job(job).MigratedCount
	if half == 0 || half >= n {
		t.Fatalf("killed at %d of %d migrated; the test wants a kill halfway", half, n)
	}

	// ...and restarted finishes from chain state, counting each account once.
	if _, err := w.crank(KindMigrate); err != nil {
		t.Fatalf("crank migrate after restart: %v", err)
	}
	j := w.job(job)
	if j.Status != um.MigrationStatusCompleted || j.MigratedCount != n {
		t.Fatalf("job: status %v migrated %d, want completed %d", j.Status, j.MigratedCount, n)
	}
	if j.BatchCount < 2 {
		t.Fatalf("batches = %d, want several", j.BatchCount)
	}
	for _, chunk := range chunks(positions, 100) {
		res, err := w.rpc.GetMultipleAccountsWithOpts(context.Background(), chunk, &rpc.GetMultipleAccountsOpts{Commitment: rpc.CommitmentConfirmed, Encoding: solana.EncodingBase64})
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range res.Value {
			if d := a.Data.GetBinary(); d[versionOffset] != 2 {
				t.Fatalf("position %s still at version %d", chunk[i], d[versionOffset])
			}
		}
	}
	w.waitForDB(`SELECT status || ':' || migrated_count FROM migration_job WHERE address = $1`, fmt.Sprintf("completed:%d", n), job.String())
	w.waitForDB(`SELECT sum((data->>'migrated_in_batch')::int)::text FROM chain_event WHERE name = 'MigrationBatchProcessed'`, fmt.Sprint(n))
}

func chunks(keys []solana.PublicKey, size int) [][]solana.PublicKey {
	var out [][]solana.PublicKey
	for len(keys) > size {
		out = append(out, keys[:size])
		keys = keys[size:]
	}
	return append(out, keys)
}
