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
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
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
	d := decode.New(upgrademanager.New(upgrademanager.ProgramID))
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

// BenchmarkSyncUnderFaults counts the RPC requests the indexer spends per
// transaction, on a clean node and on one that misbehaves as public RPCs
// do: FAULT_TXS (default 1,323) transactions, 21 copies of the scenario,
// synced from scratch (syncs repeated until everything is applied, as the
// sync loop does). Faults: one transaction in 400 is late (getTransaction
// answers null to its first 8 requests, longer than the sync waits for it),
// one getTransaction in 150 answers 503 and one in 200 a 429 with
// Retry-After 1, and every third getBlock answers -32004. Reported per
// operation: getTransaction per transaction (target ≤ 1.05, the injected
// failures included) and those answered without a fault (1 when nothing is
// fetched twice), getBlock per slot holding several transactions (target 1
// answered; the injected -32004s add their retries), and all requests per
// transaction.
func BenchmarkSyncUnderFaults(b *testing.B) {
	want := 1323
	if v, err := strconv.Atoi(os.Getenv("FAULT_TXS")); err == nil && v > 0 {
		want = v
	}
	f, err := scenario.Load()
	if err != nil {
		b.Fatal(err)
	}
	var txs []rpctest.Tx
	perSlot := map[uint64]int{}
	for i, s := range f.Synthesize(want/len(f.Transactions) + 1) {
		if len(txs) == want {
			break
		}
		v := f.Transactions[i%len(f.Transactions)]
		txs = append(txs, rpctest.Tx{Signature: s.Signature, Slot: s.Slot, BlockIndex: s.BlockIndex, Failed: s.Failed,
			Result: resign(b, v.Result, s.Signature, s.Slot)})
		perSlot[s.Slot]++
	}
	multi := 0
	for _, n := range perSlot {
		if n > 1 {
			multi++
		}
	}
	d := decode.New(upgrademanager.New(upgrademanager.ProgramID))
	for _, faults := range []bool{false, true} {
		name := "clean"
		if faults {
			name = "faults"
		}
		b.Run(name, func(b *testing.B) {
			var getTx, txOK, getBlock, blockOK, all, syncs, injected int
			for b.Loop() {
				b.StopTimer()
				srv := rpctest.New(f.ProgramID)
				srv.Publish(txs...)
				if faults {
					for i := 200; i < len(txs); i += 400 {
						srv.Inject(rpctest.Fault{Method: "getTransaction", Signature: txs[i].Signature, Null: true, Times: 8})
					}
					srv.Inject(rpctest.Fault{Method: "getTransaction", HTTPStatus: 503, Every: 150, Times: -1})
					srv.Inject(rpctest.Fault{Method: "getTransaction", HTTPStatus: 429, RetryAfter: "1", Every: 200, Times: -1})
					srv.Inject(rpctest.Fault{Method: "getBlock", Code: -32004, Every: 3, Times: -1})
				}
				pool, err := pgxpool.New(context.Background(), pgtest.NewDB(b))
				if err != nil {
					b.Fatal(err)
				}
				client := chain.NewClient(chain.ClientConfig{URL: srv.URL(), MinBackoff: 10 * time.Millisecond,
					MaxBackoff: 200 * time.Millisecond})
				in, err := ingest.New(ingest.Config{ProgramID: f.ProgramID, MinBackoff: 10 * time.Millisecond,
					MaxBackoff: 200 * time.Millisecond}, pool, client, nil, ingest.NewEventDecoder(d),
					ingest.NewMetrics(prometheus.NewRegistry()), nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for {
					syncs++
					if err := in.Sync(context.Background()); err == nil {
						break
					}
					if syncs > 1000 {
						b.Fatal("no progress after 1,000 syncs")
					}
				}
				b.StopTimer()
				var n int
				if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM ingested_transaction`).Scan(&n); err != nil || n != len(txs) {
					b.Fatalf("applied %d transactions (%v), want %d", n, err, len(txs))
				}
				for _, r := range srv.Log() {
					all++
					switch r.Method {
					case "getTransaction":
						getTx++
						if !r.Fault {
							txOK++
						}
					case "getBlock":
						getBlock++
						if !r.Fault {
							blockOK++
						}
					}
					if r.Fault {
						injected++
					}
				}
				_ = client.Close()
				pool.Close()
				srv.Close()
				b.StartTimer()
			}
			ops := float64(b.N)
			b.ReportMetric(float64(getTx)/ops/float64(len(txs)), "getTransaction/tx")
			b.ReportMetric(float64(txOK)/ops/float64(len(txs)), "getTransaction-answered/tx")
			b.ReportMetric(float64(getBlock)/ops/float64(multi), "getBlock/multi-slot")
			b.ReportMetric(float64(blockOK)/ops/float64(multi), "getBlock-answered/multi-slot")
			b.ReportMetric(float64(all)/ops/float64(len(txs)), "requests/tx")
			b.ReportMetric(float64(syncs)/ops, "syncs/op")
			b.ReportMetric(float64(injected)/ops, "faults/op")
		})
	}
}
