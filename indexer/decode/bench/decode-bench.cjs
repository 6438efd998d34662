#!/usr/bin/env node
// Anchor's own event decoding over the corpus indexer/decode's Go benchmark
// uses, for comparison (make bench-decode).
//
//   node decode-bench.cjs CORPUS.json [--go-cpi=EVENTS_PER_S] [--go-logs=EVENTS_PER_S]
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
  console.error("usage: node decode-bench.cjs CORPUS.json [--go-cpi=N] [--go-logs=N]");
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
  let elapsed = 0;
  do {
    events += pass();
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsed < minMs || passes < 2);
  return { eventsPerSec: (events / elapsed) * 1000, passes, ms: elapsed };
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
const goFigures = { cpi: flag("go-cpi"), logs: flag("go-logs") };
for (const [name, r] of Object.entries(results)) {
  let line = `  ${name.padEnd(5)} anchor ${fmt(r.eventsPerSec).padStart(11)} events/s (${r.passes} passes)`;
  const go = goFigures[name];
  if (go) line += `   go ${fmt(go).padStart(11)} events/s   ${(go / r.eventsPerSec).toFixed(1)}x`;
  console.log(line);
}
if (goFigures.cpi) {
  // The targets: 500,000 events/s on one core, ten times Anchor.
  const ok = goFigures.cpi >= 500000 && goFigures.cpi >= 10 * results.cpi.eventsPerSec;
  console.log(`  targets (cpi: >= 500,000 events/s and >= 10x anchor): ${ok ? "met" : "NOT met"}`);
}
console.log(JSON.stringify({ anchor: versions, results }));
