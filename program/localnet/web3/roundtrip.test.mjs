// A client we did not write accepts localnet's wire format: @solana/web3.js 1.x funds a key,
// sends a real upgrade_manager transaction, hears its logs over logsSubscribe at confirmed, and
// reads it back with getTransaction, emit_cpi! inner instruction included; then creates an SPL
// Token mint with a real SPL Token transaction and reads both back parsed (jsonParsed) with
// getParsedTransaction and getParsedAccountInfo, which web3.js checks against its own schema.
//
// Run: LOCALNET_BIN=path/to/localnet node --test program/localnet/web3/roundtrip.test.mjs
// (`make test-node` builds the binary and runs this). web3.js is installed from npm into
// $WEB3_CACHE (default ~/.cache/upgrade-manager/web3js), never into the repository.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const WEB3_VERSION = '1.98.4';

function loadWeb3() {
  const cache = process.env.WEB3_CACHE ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'upgrade-manager', 'web3js');
  const manifest = join(cache, 'node_modules', '@solana', 'web3.js', 'package.json');
  const require = createRequire(join(cache, 'index.js'));
  if (!existsSync(manifest) || require(manifest).version !== WEB3_VERSION) {
    mkdirSync(cache, { recursive: true });
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', cache,
      `@solana/web3.js@${WEB3_VERSION}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return require('@solana/web3.js');
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58Decode(s) {
  let n = 0n;
  for (const c of s) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) throw new Error(`bad base58 ${s}`);
    n = n * 58n + BigInt(i);
  }
  const bytes = [];
  while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n; }
  for (const c of s) { if (c !== '1') break; bytes.unshift(0); }
  return Buffer.from(bytes);
}

// Starts the binary on free ports; resolves with its URLs once it prints `ready`.
function startNode() {
  const bin = process.env.LOCALNET_BIN;
  assert.ok(bin, 'LOCALNET_BIN names the localnet binary');
  const child = spawn(bin, ['--rpc-port', '0', '--slot-time-ms', '100', '--finalization-depth', '8',
    '--no-fund-keypair'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    const urls = {};
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const [key, value] = line.split(/: (.*)/s);
      if (key === 'JSON RPC URL') urls.rpc = value;
      if (key === 'WebSocket URL') urls.ws = value;
      if (line === 'ready') resolve({ child, ...urls });
    });
    child.on('exit', (code) => reject(new Error(`localnet exited with ${code}`)));
  });
}

test('web3.js round trip through localnet', { timeout: 120_000 }, async () => {
  const web3 = loadWeb3();
  const { Connection, Keypair, PublicKey, SystemProgram, Transaction, TransactionInstruction,
    LAMPORTS_PER_SOL } = web3;
  const node = await startNode();
  const connection = new Connection(node.rpc, { wsEndpoint: node.ws, commitment: 'confirmed' });
  let logsSub;
  try {
    const version = await connection.getVersion();
    assert.equal(typeof version['solana-core'], 'string');
    assert.ok(Number.isInteger(version['feature-set']) && version['feature-set'] !== 0, JSON.stringify(version));

    // Fund a key by airdrop and wait for it, the usual way.
    const payer = Keypair.generate();
    const airdrop = await connection.requestAirdrop(payer.publicKey, 10 * LAMPORTS_PER_SOL);
    const latest = await connection.getLatestBlockhash();
    await connection.confirmTransaction({ signature: airdrop, ...latest }, 'confirmed');
    assert.equal(await connection.getBalance(payer.publicKey), 10 * LAMPORTS_PER_SOL);

    // initialize_governance, built by hand: Anchor discriminator, then borsh arguments.
    const programId = new PublicKey('UpgradeMgr111111111111111111111111111111111');
    const createKey = Keypair.generate();
    const [governance] = PublicKey.findProgramAddressSync(
      [Buffer.from('governance'), createKey.publicKey.toBuffer()], programId);
    const [eventAuthority] = PublicKey.findProgramAddressSync([Buffer.from('__event_authority')], programId);
    const i64 = (v) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(v)); return b; };
    const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
    const data = Buffer.concat([
      createHash('sha256').update('global:initialize_governance').digest().subarray(0, 8),
      u32(1), payer.publicKey.toBuffer(), // members
      Buffer.from([1, 1]),                // threshold, rollback_threshold
      Buffer.from([1]), i64(172_800),     // timelock_seconds: Some(48 h)
      Buffer.from([0, 0]),                // rollback_timelock_seconds, grace_period_seconds: None
      payer.publicKey.toBuffer(),         // spill
      Buffer.from([0]),                   // voting_period_seconds: None
      Buffer.from([0]),                   // rent_collector: None
    ]);
    const ix = new TransactionInstruction({
      programId,
      keys: [
        { pubkey: payer.publicKey, isSigner: true, isWritable: true },
        { pubkey: createKey.publicKey, isSigner: true, isWritable: false },
        { pubkey: governance, isSigner: false, isWritable: true },
        { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
        { pubkey: eventAuthority, isSigner: false, isWritable: false },
        { pubkey: programId, isSigner: false, isWritable: false },
      ],
      data,
    });

    let heard;
    const logs = new Promise((resolve) => { heard = resolve; });
    const seen = new Map();
    logsSub = connection.onLogs(programId, (l, ctx) => {
      seen.set(l.signature, { ...l, slot: ctx.slot });
      heard();
    }, 'confirmed');

    const signature = await connection.sendTransaction(new Transaction().add(ix), [payer, createKey],
      { preflightCommitment: 'confirmed' });
    while (!seen.has(signature)) {
      await logs;
      await new Promise((r) => setTimeout(r, 10));
    }
    const notified = seen.get(signature);
    assert.equal(notified.err, null);
    assert.ok(notified.logs.includes('Program log: Instruction: InitializeGovernance'), notified.logs.join('\n'));

    const tx = await connection.getTransaction(signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
    assert.ok(tx, 'getTransaction finds it');
    assert.equal(tx.meta.err, null);
    assert.ok(tx.meta.fee > 0);
    const keys = tx.transaction.message.staticAccountKeys.map((k) => k.toBase58());
    const tag = Buffer.from([0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d]);
    const events = tx.meta.innerInstructions.flatMap((inner) => inner.instructions).filter((ci) =>
      keys[ci.programIdIndex] === programId.toBase58() &&
      keys[ci.accounts[0]] === eventAuthority.toBase58() &&
      base58Decode(ci.data).subarray(0, 8).equals(tag));
    assert.equal(events.length, 1, JSON.stringify(tx.meta.innerInstructions));

    const account = await connection.getAccountInfo(governance);
    assert.ok(account.owner.equals(programId));
    const listed = await connection.getProgramAccounts(programId, { filters: [{ dataSize: account.data.length }] });
    assert.ok(listed.some((a) => a.pubkey.equals(governance)));
    const sigs = await connection.getSignaturesForAddress(governance);
    assert.equal(sigs[0].signature, signature);

    // jsonParsed: a program no parser knows stays {programId, accounts, data}; its CPIs are parsed.
    const parsedGov = await connection.getParsedTransaction(signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
    const outer = parsedGov.transaction.message.instructions[0];
    assert.ok(outer.programId.equals(programId));
    assert.ok(outer.accounts[2].equals(governance));
    assert.equal(outer.parsed, undefined);
    const createGov = parsedGov.meta.innerInstructions[0].instructions[0];
    assert.equal(createGov.program, 'system');
    assert.equal(createGov.parsed.type, 'createAccount');
    assert.equal(createGov.parsed.info.newAccount, governance.toBase58());
    assert.ok(parsedGov.meta.costUnits > 0);

    // An SPL Token mint, made by the SPL Token program (the SBF ELF the node runs): createAccount,
    // then InitializeMint2 (tag 20, decimals, mint authority, no freeze authority).
    const tokenProgram = new PublicKey('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
    const mint = Keypair.generate();
    const decimals = 6;
    const mintTx = new Transaction().add(
      SystemProgram.createAccount({
        fromPubkey: payer.publicKey,
        newAccountPubkey: mint.publicKey,
        lamports: await connection.getMinimumBalanceForRentExemption(82),
        space: 82,
        programId: tokenProgram,
      }),
      new TransactionInstruction({
        programId: tokenProgram,
        keys: [{ pubkey: mint.publicKey, isSigner: false, isWritable: true }],
        data: Buffer.concat([Buffer.from([20, decimals]), payer.publicKey.toBuffer(), Buffer.from([0])]),
      }),
    );
    const mintSig = await connection.sendTransaction(mintTx, [payer, mint], { preflightCommitment: 'confirmed' });
    const mintLatest = await connection.getLatestBlockhash();
    const confirmed = await connection.confirmTransaction({ signature: mintSig, ...mintLatest }, 'confirmed');
    assert.equal(confirmed.value.err, null);

    const parsedMintTx = await connection.getParsedTransaction(mintSig, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
    assert.equal(parsedMintTx.meta.err, null);
    const [payerKey, mintKey] = parsedMintTx.transaction.message.accountKeys;
    assert.ok(payerKey.pubkey.equals(payer.publicKey));
    assert.deepEqual([payerKey.signer, payerKey.writable, payerKey.source], [true, true, 'transaction']);
    assert.ok(mintKey.pubkey.equals(mint.publicKey));
    assert.deepEqual([mintKey.signer, mintKey.writable], [true, true]);
    const [create, init] = parsedMintTx.transaction.message.instructions;
    assert.equal(create.program, 'system');
    assert.equal(create.parsed.type, 'createAccount');
    assert.equal(create.parsed.info.space, 82);
    assert.equal(init.program, 'spl-token');
    assert.ok(init.programId.equals(tokenProgram));
    assert.equal(init.parsed.type, 'initializeMint2');
    assert.deepEqual(init.parsed.info, { mint: mint.publicKey.toBase58(), decimals, mintAuthority: payer.publicKey.toBase58() });

    const mintInfo = await connection.getParsedAccountInfo(mint.publicKey);
    assert.ok(mintInfo.value.owner.equals(tokenProgram));
    assert.equal(mintInfo.value.data.program, 'spl-token');
    assert.equal(mintInfo.value.data.space, 82);
    assert.equal(mintInfo.value.data.parsed.type, 'mint');
    assert.deepEqual(mintInfo.value.data.parsed.info, {
      decimals, freezeAuthority: null, isInitialized: true, mintAuthority: payer.publicKey.toBase58(), supply: '0',
    });
    // An account no parser knows comes back as raw bytes, as from a validator.
    const govInfo = await connection.getParsedAccountInfo(governance);
    assert.ok(Buffer.isBuffer(govInfo.value.data));
    assert.equal(govInfo.value.data.length, account.data.length);
  } finally {
    if (logsSub !== undefined) await connection.removeOnLogsListener(logsSub);
    // web3.js reconnects its websocket forever unless it closes cleanly; there is no public API
    // for that, so close its client (rpc-websockets) and wait before the node goes away.
    const socket = connection._rpcWebSocket;
    if (socket) {
      socket.reconnect = false;
      const closed = new Promise((r) => { socket.once('close', r); setTimeout(r, 2_000); });
      socket.close();
      await closed;
    }
    const exited = new Promise((r) => node.child.once('exit', r));
    node.child.kill('SIGTERM');
    await exited;
  }
});
