package decode_test

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
)

// benchEvents is the least number of events a benchmark corpus holds.
const benchEvents = 100_000

var exportCorpus = flag.String("export-corpus", "", "write the benchmark corpus for the Node benchmark (indexer/decode/bench) to this file")

// corpus is the vectors' transactions replicated until they hold at least
// benchEvents events. Copies are deep, so the decoder reads as much
// distinct memory as it would on real traffic.
type corpus struct {
	cpi    []*decode.Transaction // as getTransaction returns them
	logs   []*decode.Transaction // the same events as emit! data lines, no inner instructions
	copies int
	events int // per pass, in each of cpi and logs
}

func cloneStrings(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.Clone(v)
	}
	return out
}

func cloneInstructions(ins []decode.Instruction) []decode.Instruction {
	out := make([]decode.Instruction, len(ins))
	for i, ix := range ins {
		ix.Accounts = append([]uint16(nil), ix.Accounts...)
		ix.Data = strings.Clone(ix.Data)
		out[i] = ix
	}
	return out
}

func cloneTx(tx *decode.Transaction) *decode.Transaction {
	c := *tx
	c.Signature = strings.Clone(tx.Signature)
	c.AccountKeys = cloneStrings(tx.AccountKeys)
	c.LogMessages = cloneStrings(tx.LogMessages)
	c.Instructions = cloneInstructions(tx.Instructions)
	c.InnerInstructions = make([]decode.InnerInstructions, len(tx.InnerInstructions))
	for i, l := range tx.InnerInstructions {
		c.InnerInstructions[i] = decode.InnerInstructions{Index: l.Index, Instructions: cloneInstructions(l.Instructions)}
	}
	return &c
}

func buildCorpus(tb testing.TB) *corpus {
	tb.Helper()
	v := loadVectors(tb)
	var base, baseLogs []*decode.Transaction
	perCopy := 0
	for _, vt := range v.Transactions {
		tx, err := decode.ParseTransaction(vt.JSON)
		if err != nil {
			tb.Fatal(err)
		}
		base = append(base, tx)
		perCopy += len(vt.Expected)
		if len(vt.Expected) > 0 {
			baseLogs = append(baseLogs, logTx(tb, tx, vt.Expected))
		}
	}
	c := &corpus{copies: (benchEvents + perCopy - 1) / perCopy}
	c.events = c.copies * perCopy
	for range c.copies {
		for _, tx := range base {
			c.cpi = append(c.cpi, cloneTx(tx))
		}
		for _, tx := range baseLogs {
			c.logs = append(c.logs, cloneTx(tx))
		}
	}
	return c
}

// BenchmarkDecode decodes the whole corpus per iteration and reports
// events per second of wall time and of process CPU time (the second holds
// steady when other work shares the machine), and heap allocations per
// event:
//   - cpi: Decode over the transactions as getTransaction returns them
//     (events in base58 inner instructions), a fresh Result each;
//   - cpi-reuse: the same with DecodeInto and one Result, as a loop that
//     handles one transaction at a time would;
//   - logs: the emit! fallback, events in "Program data:" lines.
func BenchmarkDecode(b *testing.B) {
	c := buildCorpus(b)
	d := newDecoder(b)
	var reuse decode.Result
	for _, bc := range []struct {
		name   string
		txs    []*decode.Transaction
		decode func(*decode.Transaction) int
	}{
		{"cpi", c.cpi, func(tx *decode.Transaction) int { return len(d.Decode(tx).Events) }},
		{"cpi-reuse", c.cpi, func(tx *decode.Transaction) int { d.DecodeInto(&reuse, tx); return len(reuse.Events) }},
		{"logs", c.logs, func(tx *decode.Transaction) int { return len(d.Decode(tx).Events) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			passes := 0
			var cpu0 time.Duration
			for b.Loop() {
				if passes == 0 {
					cpu0 = cpuTime()
				}
				n := 0
				for _, tx := range bc.txs {
					n += bc.decode(tx)
				}
				if n != c.events {
					b.Fatalf("decoded %d events, want %d", n, c.events)
				}
				passes++
			}
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&after)
			total := float64(passes * c.events)
			b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
			if cpu > 0 {
				// Per second of CPU: what one core does, however busy the machine.
				b.ReportMetric(total/cpu.Seconds(), "events/cpu-s")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/event")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/event")
			b.ReportMetric(float64(c.events), "events/pass")
		})
	}
}

// TestExportBenchCorpus writes the corpus for the Node benchmark when
// -export-corpus is set: the vectors' transactions in getTransaction JSON,
// the log-only variants, and how many copies make the corpus. Node
// replicates them the same way (one JSON.parse per copy).
func TestExportBenchCorpus(t *testing.T) {
	if *exportCorpus == "" {
		t.Skip("-export-corpus not set")
	}
	v := loadVectors(t)
	c := buildCorpus(t)
	type logTxJSON struct {
		Signature string   `json:"signature"`
		Logs      []string `json:"logs"`
	}
	doc := struct {
		ProgramID       string            `json:"programId"`
		EventAuthority  string            `json:"eventAuthority"`
		Copies          int               `json:"copies"`
		EventsPerPass   int               `json:"eventsPerPass"`
		Transactions    []json.RawMessage `json:"transactions"`
		LogTransactions []logTxJSON       `json:"logTransactions"`
	}{ProgramID: v.ProgramID, EventAuthority: v.EventAuthority, Copies: c.copies, EventsPerPass: c.events}
	for _, vt := range v.Transactions {
		doc.Transactions = append(doc.Transactions, vt.JSON)
	}
	for _, tx := range c.logs[:len(c.logs)/c.copies] {
		doc.LogTransactions = append(doc.LogTransactions, logTxJSON{Signature: tx.Signature, Logs: tx.LogMessages})
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*exportCorpus, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d transactions x %d copies, %d events per pass", *exportCorpus, len(doc.Transactions), c.copies, c.events)
}
