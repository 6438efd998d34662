package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// benchEvents is how many events the ingest benchmarks write.
const benchEvents = 100_000

// syntheticTxs returns at least benchEvents events' worth of transactions:
// copies of the scenario with distinct keys, so that projections grow as a
// real history's would.
func syntheticTxs(b *testing.B) ([]store.Transaction, int) {
	b.Helper()
	f, err := scenario.Load()
	if err != nil {
		b.Fatal(err)
	}
	perCopy := 0
	for _, v := range f.Transactions {
		perCopy += len(v.Expected)
	}
	var (
		txs    []store.Transaction
		events int
	)
	for _, s := range f.Synthesize((benchEvents + perCopy - 1) / perCopy) {
		bt := time.Unix(s.BlockTime, 0).UTC()
		t := store.Transaction{Signature: s.Signature, Slot: s.Slot, BlockIndex: s.BlockIndex, BlockTime: &bt,
			Failed: s.Failed, Commitment: store.Confirmed}
		for _, e := range s.Events {
			t.Events = append(t.Events, store.Event{InstructionIndex: e.InstructionIndex, InnerIndex: e.InnerIndex,
				Ordinal: e.Ordinal, Event: e.Decoded(), Raw: e.RawBytes})
		}
		events += len(t.Events)
		txs = append(txs, t)
	}
	return txs, events
}

// BenchmarkIngest writes 100,000 events (1,588 copies of the scenario, 100k
// transactions) into PostgreSQL through ApplyBatch: batched, as the
// ingester does, and row by row (one transaction, mostly one event, per
// database transaction) as the baseline. The baseline writes the first
// 10,000 events only: at its rate the whole set takes minutes.
func BenchmarkIngest(b *testing.B) {
	all, allEvents := syntheticTxs(b)
	for _, c := range []struct {
		name   string
		size   int
		events int
	}{
		{"batched-1000tx", 1000, benchEvents},
		{"batched-2000tx", 2000, benchEvents},
		{"row-by-row", 1, 10_000},
	} {
		txs, events := all, allEvents
		if c.events < allEvents {
			txs, events = nil, 0
			for _, t := range all {
				if events >= c.events {
					break
				}
				txs = append(txs, t)
				events += len(t.Events)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				pool, err := pgxpool.New(context.Background(), pgtest.NewDB(b))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for chunk := range slices.Chunk(txs, c.size) {
					if _, err := store.ApplyBatch(context.Background(), pool, "UpgradeMgr111111111111111111111111111111111", chunk); err != nil {
						b.Fatal(err)
					}
				}
				elapsed := time.Since(start)

				b.StopTimer()
				b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
				pool.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(events), "events/op")
		})
	}
}

// BenchmarkReplay rebuilds the projections of 100,000 logged events.
func BenchmarkReplay(b *testing.B) {
	txs, events := syntheticTxs(b)
	pool, err := pgxpool.New(context.Background(), pgtest.NewDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	for chunk := range slices.Chunk(txs, 2000) {
		if _, err := store.ApplyBatch(context.Background(), pool, "UpgradeMgr111111111111111111111111111111111", chunk); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		start := time.Now()
		if _, err := store.Rebuild(context.Background(), pool, "UpgradeMgr111111111111111111111111111111111"); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
	}
}
