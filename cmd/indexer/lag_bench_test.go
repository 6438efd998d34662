package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/ws"
	"github.com/jackc/pgx/v5"

	"github.com/upgrade-manager/upgrade-manager/indexer"
	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest"
	"github.com/upgrade-manager/upgrade-manager/indexer/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// BenchmarkLocalnetLag measures, over LAG_TXS (default 1,000) real
// transactions on the localnet, the time from a transaction's confirmation
// (its confirmed logsSubscribe notification reaching a client) to its event
// row being committed (the indexer's NOTIFY reaching a listener), and
// reports the median and the 99th percentile.
func BenchmarkLocalnetLag(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("LAG_TXS")); err == nil && v > 0 {
		n = v
	}
	payer := solana.NewWallet().PrivateKey
	node := localnettest.Start(b, localnettest.Options{Fund: []solana.PublicKey{payer.PublicKey()}})
	dbURL := pgtest.NewDB(b)
	cfg := indexer.DefaultConfig()
	cfg.RPCURL, cfg.WSURL, cfg.DatabaseURL, cfg.MetricsAddr = node.RPCURL, node.WSURL, dbURL, ""
	cfg.FinalityInterval = time.Second
	svc := indexer.New(cfg, slog.New(slog.DiscardHandler)) // a benchmark: logs would be its output
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-svc.Ready()

	for b.Loop() {
		p50, p99, max := measureLag(b, ctx, node, payer, dbURL, n)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(max.Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(n), "txs")
	}
}

func measureLag(b *testing.B, ctx context.Context, node *localnettest.Node, payer solana.PrivateKey, dbURL string, n int) (p50, p99, worst time.Duration) {
	var (
		mu        sync.Mutex
		confirmed = map[string]time.Time{}
		committed = map[string]time.Time{}
	)
	// Commit times: the indexer's NOTIFY, then the rows it announced.
	listen, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer listen.Close(context.Background())
	if _, err := listen.Exec(ctx, "LISTEN "+store.NotifyChannel); err != nil {
		b.Fatal(err)
	}
	reader, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer reader.Close(context.Background())
	lctx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	go func() {
		var cursor int64
		for {
			note, err := listen.WaitForNotification(lctx)
			if err != nil {
				return
			}
			at := time.Now()
			var payload store.Notification
			if json.Unmarshal([]byte(note.Payload), &payload) != nil {
				continue
			}
			rows, err := reader.Query(lctx, `SELECT signature, seq FROM chain_event WHERE seq > $1`, cursor)
			if err != nil {
				return
			}
			mu.Lock()
			for rows.Next() {
				var sig string
				var seq int64
				if rows.Scan(&sig, &seq) == nil {
					if _, ok := committed[sig]; !ok {
						committed[sig] = at
					}
					cursor = max(cursor, seq)
				}
			}
			mu.Unlock()
			rows.Close()
		}
	}()

	// Confirmation times: a client's own confirmed log subscription.
	wsc, err := ws.Connect(ctx, node.WSURL)
	if err != nil {
		b.Fatal(err)
	}
	defer wsc.Close()
	sub, err := wsc.LogsSubscribeMentions(upgrademanager.ProgramID, rpc.CommitmentConfirmed)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			res, err := sub.Recv(lctx)
			if err != nil {
				return
			}
			at := time.Now()
			mu.Lock()
			if _, ok := confirmed[res.Value.Signature.String()]; !ok {
				confirmed[res.Value.Signature.String()] = at
			}
			mu.Unlock()
		}
	}()

	// n independent transactions: each initializes a governance of its own.
	client := rpc.New(node.RPCURL)
	program := upgrademanager.New(upgrademanager.ProgramID)
	var (
		sent      []string
		blockhash solana.Hash
		fetched   time.Time
	)
	tick := time.NewTicker(40 * time.Millisecond) // 25 transactions a second
	defer tick.Stop()
	for range n {
		<-tick.C
		if time.Since(fetched) > 2*time.Second {
			recent, err := client.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
			if err != nil {
				b.Fatal(err)
			}
			blockhash, fetched = recent.Value.Blockhash, time.Now()
		}
		createKey := solana.NewWallet().PrivateKey
		gov, _, err := program.FindGovernanceAddress(createKey.PublicKey())
		if err != nil {
			b.Fatal(err)
		}
		ix := program.NewInitializeGovernanceInstruction(upgrademanager.InitializeGovernanceArgs{
			Members: []solana.PublicKey{payer.PublicKey()}, Threshold: 1, RollbackThreshold: 1, Spill: payer.PublicKey(),
		}, upgrademanager.InitializeGovernanceAccounts{Payer: payer.PublicKey(), CreateKey: createKey.PublicKey(), Governance: gov})
		tx, err := solana.NewTransaction([]solana.Instruction{ix}, blockhash, solana.TransactionPayer(payer.PublicKey()))
		if err != nil {
			b.Fatal(err)
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
			b.Fatal(err)
		}
		sig, err := client.SendTransactionWithOpts(ctx, tx, rpc.TransactionOpts{SkipPreflight: true})
		if err != nil {
			b.Fatalf("send transaction: %v", err)
		}
		sent = append(sent, sig.String())
	}

	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		missing := 0
		for _, s := range sent {
			_, c := confirmed[s]
			_, d := committed[s]
			if !c || !d {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d transactions never both confirmed and committed", missing, len(sent))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	lags := make([]time.Duration, 0, len(sent))
	for _, s := range sent {
		lags = append(lags, committed[s].Sub(confirmed[s]))
	}
	slices.Sort(lags)
	pick := func(q float64) time.Duration { return lags[min(len(lags)-1, int(q*float64(len(lags))))] }
	b.Logf("lag over %d transactions: min %v p50 %v p90 %v p99 %v max %v", len(lags), lags[0], pick(0.5), pick(0.9), pick(0.99), lags[len(lags)-1])
	return pick(0.5), pick(0.99), lags[len(lags)-1]
}
