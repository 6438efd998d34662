package ingest_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	"github.com/upgrade-manager/upgrade-manager/indexer/ingest"
	"github.com/upgrade-manager/upgrade-manager/indexer/rpctest"
	"github.com/upgrade-manager/upgrade-manager/indexer/scenario"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// BenchmarkSyncFromReplayServer measures the whole pipeline: one Sync
// backfills PIPELINE_EVENTS (default 100,000) events from the replaying
// JSON-RPC server: getSignaturesForAddress pages, one getTransaction per
// transaction over HTTP (8 at a time), getBlock for slots holding several,
// decoding, and batches of 1,000 transactions into PostgreSQL. The
// transactions are the scenario's, re-signed into later slots (their events
// touch the same rows, so projections stay small: this measures the path,
// BenchmarkIngest in package store the database side at scale).
func BenchmarkSyncFromReplayServer(b *testing.B) {
	want := 100_000
	if v, err := strconv.Atoi(os.Getenv("PIPELINE_EVENTS")); err == nil && v > 0 {
		want = v
	}
	f, err := scenario.Load()
	if err != nil {
		b.Fatal(err)
	}
	var (
		txs    []rpctest.Tx
		events int
	)
	synth := f.Synthesize(want/60 + 1)
	for i, s := range synth {
		if events >= want {
			break
		}
		v := f.Transactions[i%len(f.Transactions)]
		txs = append(txs, rpctest.Tx{Signature: s.Signature, Slot: s.Slot, BlockIndex: s.BlockIndex, Failed: s.Failed,
			Result: resign(b, v.Result, s.Signature, s.Slot)})
		events += len(v.Expected)
	}
	d, err := decode.New()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		srv := rpctest.New(f.ProgramID)
		srv.Publish(txs...)
		pool, err := pgxpool.New(context.Background(), pgtest.NewDB(b))
		if err != nil {
			b.Fatal(err)
		}
		client := chain.NewClient(chain.ClientConfig{URL: srv.URL()})
		in, err := ingest.New(ingest.Config{ProgramID: f.ProgramID}, pool, client, nil, ingest.NewEventDecoder(d),
			ingest.NewMetrics(prometheus.NewRegistry()), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := in.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM chain_event`).Scan(&n); err != nil || n != events {
			b.Fatalf("logged %d events (%v), want %d", n, err, events)
		}
		b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(len(txs))/elapsed.Seconds(), "txs/s")
		_ = client.Close()
		pool.Close()
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(events), "events/op")
}

// resign returns a getTransaction result under another signature and slot.
func resign(b *testing.B, result json.RawMessage, sig string, slot uint64) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(result, &m); err != nil {
		b.Fatal(err)
	}
	var tx map[string]json.RawMessage
	if err := json.Unmarshal(m["transaction"], &tx); err != nil {
		b.Fatal(err)
	}
	var sigs []string
	if err := json.Unmarshal(tx["signatures"], &sigs); err != nil {
		b.Fatal(err)
	}
	sigs[0] = sig
	tx["signatures"], _ = json.Marshal(sigs)
	m["transaction"], _ = json.Marshal(tx)
	m["slot"] = json.RawMessage(strconv.FormatUint(slot, 10))
	out, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
