#!/usr/bin/env node
// Anchor's own event decoding over the corpus indexer/decode's Go benchmark
// uses, for comparison (make bench-decode).
//
//   node decode-bench.cjs CORPUS.json [--go-cpi=N --go-cpi-cpu=N --go-logs=N --go-logs-cpu=N]
//
// CORPUS.json comes from `go test ./indexer/decode -run TestExportBenchCorpus
// -args -export-corpus=CORPUS.json`: the vector transactions, their log-only
// variants and the number of copies. Each copy is a fresh JSON.parse, as the
// Go side deep-copies, so both decode distinct memory.
//
// cpi: what Anchor documents for emit_cpi! events: find the program's inner
// instructions whose first account is the event authority, bs58-decode the
// data, check the tag, base64-encode the rest and BorshEventCoder.decode it.
// logs: EventParser.parseLogs over "Program data:" lines (emit!).
"use strict";

const fs = require("fs");
const path = require("path");
const anchor = require("@coral-xyz/anchor");
const { PublicKey } = require("@solana/web3.js");

const args = process.argv.slice(2);
const corpusPath = args.find((a) => !a.startsWith("--"));
if (!corpusPath) {
  console.error("usage: node decode-bench.cjs CORPUS.json [--go-cpi=N --go-cpi-cpu=N --go-logs=N --go-logs-cpu=N]");
  process.exit(2);
}
const flag = (name) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : undefined;
};
const idlPath = path.join(__dirname, "../../../program/idl/upgrade_manager.json");
const idl = JSON.parse(fs.readFileSync(idlPath, "utf8"));
const doc = JSON.parse(fs.readFileSync(corpusPath, "utf8"));

const programId = new PublicKey(doc.programId);
const programStr = programId.toBase58();
const authorityStr = doc.eventAuthority;
const EVENT_IX_TAG = Buffer.from("e445a52e51cb9a1d", "hex");

const coder = new anchor.BorshCoder(idl);
const eventCoder = new anchor.BorshEventCoder(idl);
const parser = new anchor.EventParser(programId, coder);

function replicate(items) {
  const text = JSON.stringify(items);
  const out = [];
  for (let c = 0; c < doc.copies; c++) out.push(...JSON.parse(text));
  return out;
}
const txs = replicate(doc.transactions);
const logTxs = replicate(doc.logTransactions);

function decodeCPI(tx) {
  if (tx.meta.err !== null) return 0;
  const keys = tx.transaction.message.accountKeys.concat(
    tx.meta.loadedAddresses ? tx.meta.loadedAddresses.writable.concat(tx.meta.loadedAddresses.readonly) : []
  );
  const prog = keys.indexOf(programStr);
  const auth = keys.indexOf(authorityStr);
  if (prog < 0 || auth < 0) return 0;
  let n = 0;
  for (const inner of tx.meta.innerInstructions || []) {
    for (const ix of inner.instructions) {
      if (ix.programIdIndex !== prog || ix.accounts[0] !== auth) continue;
      const data = anchor.utils.bytes.bs58.decode(ix.data);
      if (data.length < 8 || !EVENT_IX_TAG.equals(data.subarray(0, 8))) continue;
      const event = eventCoder.decode(anchor.utils.bytes.base64.encode(data.subarray(8)));
      if (event) n++;
    }
  }
  return n;
}

function decodeLogs(tx) {
  let n = 0;
  for (const _ of parser.parseLogs(tx.logs)) n++;
  return n;
}

// Runs fn over the corpus until at least minMs have passed (after one
// warm-up pass) and returns events per second.
function measure(name, items, fn, minMs = 3000) {
  const pass = () => {
    let n = 0;
    for (const it of items) n += fn(it);
    if (n !== doc.eventsPerPass) throw new Error(`${name}: decoded ${n} events, want ${doc.eventsPerPass}`);
    return n;
  };
  pass(); // warm-up: JIT and inline caches
  let events = 0;
  let passes = 0;
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let elapsed = 0;
  do {
    events += pass();
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsed < minMs || passes < 2);
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000; // all threads, the GC's included
  return { eventsPerSec: (events / elapsed) * 1000, eventsPerCpuSec: (events / cpuMs) * 1000, passes, ms: elapsed, cpuMs };
}

const fmt = (x) => Math.round(x).toLocaleString("en-US");
const results = {
  cpi: measure("cpi", txs, decodeCPI),
  logs: measure("logs", logTxs, decodeLogs),
};
const versions = {
  node: process.version,
  anchor: require("@coral-xyz/anchor/package.json").version,
  web3: require("@solana/web3.js/package.json").version,
};
console.log(
  `anchor ${versions.anchor} (web3.js ${versions.web3}, node ${versions.node}), ${fmt(doc.eventsPerPass)} events per pass:`
);
// Go's figures, from the Go benchmark: events per wall second and per CPU second.
const goFigures = {
  cpi: { wall: flag("go-cpi"), cpu: flag("go-cpi-cpu") },
  logs: { wall: flag("go-logs"), cpu: flag("go-logs-cpu") },
};
const col = (x) => (x ? fmt(x) : "-").padStart(11);
console.log(`  ${"".padEnd(5)} ${"anchor /s".padStart(11)} ${"anchor /cpu-s".padStart(13)} ${"go /s".padStart(11)} ${"go /cpu-s".padStart(11)}   ratio (cpu-s)`);
for (const [name, r] of Object.entries(results)) {
  const go = goFigures[name];
  const ratio = go.cpu ? `${(go.cpu / r.eventsPerCpuSec).toFixed(1)}x` : "-";
  console.log(`  ${name.padEnd(5)} ${col(r.eventsPerSec)} ${col(r.eventsPerCpuSec).padStart(13)} ${col(go.wall)} ${col(go.cpu)}   ${ratio}`);
}
if (goFigures.cpi.cpu) {
  // The targets, per second of one core: 500,000 events, ten times Anchor.
  const go = goFigures.cpi.cpu;
  const ok = go >= 500000 && go >= 10 * results.cpi.eventsPerCpuSec;
  console.log(`  targets (cpi, per CPU second: >= 500,000 events and >= 10x anchor): ${ok ? "met" : "NOT met"}`);
}
console.log(JSON.stringify({ anchor: versions, results }));
