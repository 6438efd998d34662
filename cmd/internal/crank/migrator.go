package crank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	readmodel "github.com/upgrade-manager/upgrade-manager/graph/store"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// maxTxSize is the largest serialized transaction the network accepts.
const maxTxSize = 1232

// migrator drives active migration jobs to completion with migrate_batch.
type migrator struct {
	models  *readmodel.Store
	chain   *chain
	send    *sender
	metrics *Metrics
	log     *slog.Logger
	// progress, when set, draws a progress bar (crank migrate --once on a terminal).
	progress io.Writer
}

// activeJobs reads the jobs the read model has as active.
func (m *migrator) activeJobs(ctx context.Context) ([]solana.PublicKey, error) {
	addrs, err := m.models.ActiveMigrationJobs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]solana.PublicKey, 0, len(addrs))
	for _, s := range addrs {
		k, err := solana.PublicKeyFromBase58(s)
		if err != nil {
			return nil, fmt.Errorf("migration job %q: %w", s, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// tick drives every active job as far as it goes; it returns the accounts migrated.
func (m *migrator) tick(ctx context.Context) (int, error) {
	jobs, err := m.activeJobs(ctx)
	if err != nil {
		m.metrics.errors.WithLabelValues("migrate", "database").Inc()
		return 0, err
	}
	total, left := 0, 0
	for _, job := range jobs {
		n, rest, err := m.drive(ctx, job)
		total += n
		left += rest
		if err != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			m.log.Error("drive migration", "job", job, "error", err)
		}
	}
	m.metrics.accountsLeft.Set(float64(left))
	return total, nil
}

// pending lists the job's accounts still at the old version, from chain state (so a restarted
// crank resumes where the chain is, whatever it did before).
func (m *migrator) pending(ctx context.Context, j *um.MigrationJob) ([]solana.PublicKey, error) {
	s := j.Spec
	filters := []rpc.RPCFilter{{Memcmp: &rpc.RPCFilterMemcmp{Offset: uint64(s.VersionOffset), Bytes: solana.Base58{s.FromVersion}}}}
	if s.DataSize != 0 {
		filters = append(filters, rpc.RPCFilter{DataSize: s.DataSize})
	}
	if s.Discriminator != nil {
		filters = append(filters, rpc.RPCFilter{Memcmp: &rpc.RPCFilterMemcmp{Offset: 0, Bytes: solana.Base58(s.Discriminator[:])}})
	}
	zero := uint64(0)
	res, err := m.send.rpc.GetProgramAccountsWithOpts(ctx, j.Program, &rpc.GetProgramAccountsOpts{
		Commitment: m.send.commitment,
		Encoding:   solana.EncodingBase64,
		DataSlice:  &rpc.DataSlice{Offset: &zero, Length: &zero},
		Filters:    filters,
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts of %s at version %d: %w", j.Program, s.FromVersion, err)
	}
	keys := make([]solana.PublicKey, 0, len(res))
	for _, a := range res {
		keys = append(keys, a.Pubkey)
	}
	// A stable order, so batches (and logs) are reproducible.
	sort.Slice(keys, func(a, b int) bool { return keys[a].String() < keys[b].String() })
	return keys, nil
}

// drive migrates a job's pending accounts batch by batch; it returns the accounts migrated and
// those still left.
func (m *migrator) drive(ctx context.Context, job solana.PublicKey) (int, int, error) {
	var j um.MigrationJob
	if err := m.chain.decode(ctx, job, &j); err != nil {
		m.metrics.errors.WithLabelValues("migrate", "chain_state").Inc()
		return 0, 0, err
	}
	if j.Status != um.MigrationStatusActive {
		return 0, 0, nil
	}
	keys, err := m.pending(ctx, &j)
	if err != nil {
		m.metrics.errors.WithLabelValues("migrate", "rpc").Inc()
		return 0, 0, err
	}
	done := int(j.MigratedCount)
	m.log.Info("migration progress", "job", job, "program", j.Program, "migrated", done, "total", j.Spec.TotalAccounts, "pending", len(keys))
	m.draw(done, j.Spec.TotalAccounts)
	migrated := 0
	for len(keys) > 0 {
		n, err := m.batchSize(ctx, job, &j, keys)
		if err != nil {
			return migrated, len(keys), err
		}
		batch := keys[:n]
		m.metrics.attempts.WithLabelValues("migrate", "migrate_batch").Inc()
		res, err := m.send.send(ctx, []solana.Instruction{m.instruction(job, &j, batch)}, func(code uint32) bool {
			return code == uint32(um.ErrMigrationNotActive)
		})
		switch {
		case errors.Is(err, errRaceLost):
			m.metrics.racesLost.WithLabelValues("migrate", "migrate_batch").Inc()
			m.log.Info("race lost: job already completed", "job", job)
			return migrated, 0, nil
		case err != nil:
			m.metrics.errors.WithLabelValues("migrate", "simulation").Inc()
			return migrated, len(keys), fmt.Errorf("migrate_batch of %d accounts: %w", len(batch), err)
		case res.DryRun:
			m.log.Info("dry run: batch simulation passed, not sent", "job", job, "accounts", len(batch))
			return 0, len(keys), nil
		}
		m.metrics.successes.WithLabelValues("migrate", "migrate_batch").Inc()
		m.metrics.lamportsSpent.WithLabelValues("migrate").Add(float64(res.Spent))
		m.metrics.accountsMigrated.Add(float64(len(batch)))
		migrated += len(batch)
		keys = keys[n:]
		m.metrics.accountsLeft.Set(float64(len(keys)))
		m.log.Info("batch landed", "job", job, "accounts", len(batch), "migrated", done+migrated, "total", j.Spec.TotalAccounts, "signature", res.Signature)
		m.draw(done+migrated, j.Spec.TotalAccounts)
	}
	return migrated, 0, nil
}

func (m *migrator) instruction(job solana.PublicKey, j *um.MigrationJob, accounts []solana.PublicKey) solana.Instruction {
	return m.chain.build.MigrateBatch(m.send.payer.PublicKey(), job, j.Program, accounts)
}

// batchSize is how many of keys fit in one transaction with the compute-budget instructions.
func (m *migrator) batchSize(ctx context.Context, job solana.PublicKey, j *um.MigrationJob, keys []solana.PublicKey) (int, error) {
	var placeholder solana.Hash
	fits := func(n int) (bool, error) {
		ixs := m.send.withBudget([]solana.Instruction{m.instruction(job, j, keys[:n])})
		tx, err := solana.NewTransaction(ixs, placeholder, solana.TransactionPayer(m.send.payer.PublicKey()))
		if err != nil {
			return false, err
		}
		msg, err := tx.Message.MarshalBinary()
		if err != nil {
			return false, err
		}
		// One signature (the payer) plus its compact-array length prefix.
		return 1+64+len(msg) <= maxTxSize, nil
	}
	n := 0
	for n < len(keys) {
		ok, err := fits(n + 1)
		if err != nil {
			return 0, fmt.Errorf("size a batch: %w", err)
		}
		if !ok {
			break
		}
		n++
	}
	if n == 0 {
		return 0, errors.New("not even one account fits in a transaction")
	}
	return n, nil
}

// draw renders a progress bar when enabled.
func (m *migrator) draw(done int, total uint64) {
	if m.progress == nil || total == 0 {
		return
	}
	const width = 40
	filled := int(uint64(done) * width / total)
	if filled > width {
		filled = width
	}
	fmt.Fprintf(m.progress, "\r[%s%s] %d/%d (%d%%)", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, uint64(done)*100/total)
	if uint64(done) >= total {
		fmt.Fprintln(m.progress)
	}
}
