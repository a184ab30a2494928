#!/usr/bin/env node
/**
 * Measurements only (no timed assertions): this package's pure-JS crypto against the
 * runtime's own WebCrypto (crypto.subtle), in-process, on workerd (Miniflare), Deno and Bun,
 * with Node as a reference. Per call; the two candidates interleaved call by call (the order
 * swapped every other sample), after a warm-up.
 *
 *   RSA     verifySignature(importPublicKey(pem), stringToSign, sigBase64)       (key imported once)
 *           vs await subtle.verify('RSASSA-PKCS1-v1_5', key, b64decode(sig), utf8(stringToSign))
 *                                                                              (CryptoKey imported once, spki)
 *   HMAC    verifySymmetricSignature(secret, stringToSign, sigBase64)
 *           vs await subtle.verify('HMAC', key, b64decode(sig), utf8(stringToSign)) (key imported once)
 *   SHA-256 sha256Hex(body)  vs  hex(await subtle.digest('SHA-256', utf8(body)))
 *
 * The WebCrypto side pays what a request pays: base64 decode (atob), UTF-8 encode and the
 * awaited promise. The RSA key pair, signatures and hashes are made here by node:crypto.
 *
 * One shared source (CORE below) imports the package's ESM build `${NICO_DIST}/index.js`;
 * esbuild bundles it with the fixture into one self-contained ES module per target (its
 * dependencies are looked up in this repository's node_modules), run by `node`, `bun run`,
 * `deno run` (no permissions) and, as a module worker, by workerd through Miniflare.
 *
 * Timing: each runtime measures its clock's resolution first. Where it is finer than 1 µs
 * (Node, Bun, Deno) every call is timed alone and the median is reported. Where it is not
 * (workerd under Miniflare: performance.now() is Date.now(), in 1 ms steps; on Cloudflare it
 * does not move during synchronous code at all), a sample is a batch of calls lasting about
 * 20 ms, read between awaited `scheduler.wait(0)` boundaries, and the figure reported is the
 * interquartile mean of the per-call batch times (robust to stalls, and it averages out the
 * 1 ms steps, which a median would not). For workerd the figures are also checked from the
 * Node side: wall time of a dispatchFetch running N calls minus one running none (median of 9).
 *
 *   NICO_DIST=/tmp/nico-dist-webcrypto BENCH_SAMPLES=2000 node bench/webcrypto.bench.mjs
 *
 * NICO_DIST: the package build (default ../dist, relative to this file).
 * BENCH_SAMPLES: timed calls per candidate per operation in per-call mode (default 2000);
 *   in batch mode the number of batches is max(40, BENCH_SAMPLES / batch size).
 * Exit status: 1 when any check gives a wrong verdict (a valid signature refused, a tampered
 * one accepted, a wrong digest); a runtime that cannot be started is reported and skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const DIST = resolve(here, process.env.NICO_DIST ?? '../dist');
const INDEX = join(DIST, 'index.js');
const SAMPLES = Math.max(50, Math.floor(Number(process.env.BENCH_SAMPLES ?? 2000)) || 2000);
const RUNTIME_MS = 30_000 * Math.max(1, SAMPLES / 2000); // one runtime's whole run, then it is killed
const started = performance.now();

if (!existsSync(INDEX)) {
  console.error(`${INDEX} not found: build the package first (or set NICO_DIST to a build directory).`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// The fixture, made by node:crypto.

function makeFixture() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const message = 'IONPAYTEST|2024-01-22T15:00:01+07:00';
  const rsaSig = sign('sha256', Buffer.from(message), privateKey).toString('base64');

  const body =
    '{"partnerServiceId":"   88888","customerNo":"1234567890","virtualAccountNo":"   888881234567890",' +
    '"trxDateInit":"2024-11-13T02:54:37+07:00","amount":{"value":"10000.00","currency":"IDR"},' +
    '"additionalInfo":{"goodsNm":"Merchant Goods 1","storeId":"ALFAMART-0001"}}';
  const bodyHex = createHash('sha256').update(body).digest('hex');
  const secret = randomBytes(64).toString('base64'); // 88 characters, used as its UTF-8 bytes
  const token = randomBytes(24).toString('base64url'); // 32 characters
  const stringToSign = `POST:/api/v1.0/cvs/inquiry:${token}:${bodyHex}:2024-11-13T02:54:37+07:00`;
  const hmacSig = createHmac('sha512', secret).update(stringToSign).digest('base64');

  // One base64 character changed: still well-formed base64 of the right length, wrong signature.
  const tamper = (s, at) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  return {
    rsa: {
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }),
      spkiBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      message,
      signature: rsaSig,
      tampered: tamper(rsaSig, 100),
    },
    hmac: { secret, stringToSign, signature: hmacSig, tampered: tamper(hmacSig, 10) },
    sha: { body, hex: bodyHex },
  };
}

// ---------------------------------------------------------------------------------------
// The shared in-runtime source. Only standard globals: performance, crypto.subtle, atob,
// TextEncoder, setTimeout (scheduler.wait where it exists).

const CORE = `// Generated by bench/webcrypto.bench.mjs: runs inside each runtime.
import { importPublicKey, sha256Hex, verifySignature, verifySymmetricSignature } from ${JSON.stringify(INDEX)};

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const toHex = (buffer) => {
  const b = new Uint8Array(buffer);
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
};
const fromBase64 = (s) => {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};
const now = () => performance.now();
const boundary = globalThis.scheduler?.wait ? () => globalThis.scheduler.wait(0) : () => new Promise((r) => setTimeout(r, 0));

export function runtimeName() {
  if (globalThis.Bun) return 'Bun ' + globalThis.Bun.version;
  if (globalThis.Deno) return 'Deno ' + globalThis.Deno.version.deno;
  if (globalThis.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  if (globalThis.process?.versions?.node) return 'Node ' + globalThis.process.versions.node;
  return 'unknown';
}

/** The clock: smallest step seen while spinning, and whether it moves in synchronous code at all. */
export function clockInfo() {
  const steps = [];
  let last = now();
  for (let i = 0; i < 5e6 && steps.length < 30; i++) {
    const t = now();
    if (t !== last) {
      steps.push(t - last);
      last = t;
    }
  }
  if (!steps.length) return { tickMs: 1, movesInSyncCode: false };
  return { tickMs: Math.min(...steps), movesInSyncCode: true };
}

let prepared;
export async function prepare(F) {
  if (prepared) return prepared;
  const rsaKey = importPublicKey(F.rsa.publicKeyPem);
  const rsaCryptoKey = await subtle.importKey('spki', fromBase64(F.rsa.spkiBase64), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
  const hmacKey = await subtle.importKey('raw', enc.encode(F.hmac.secret), { name: 'HMAC', hash: 'SHA-512' }, false, ['verify']);
  const isTrue = (r) => r === true;
  prepared = {
    rsa: {
      pure: () => verifySignature(rsaKey, F.rsa.message, F.rsa.signature),
      web: () => subtle.verify('RSASSA-PKCS1-v1_5', rsaCryptoKey, fromBase64(F.rsa.signature), enc.encode(F.rsa.message)),
      ok: isTrue,
      pureTampered: () => verifySignature(rsaKey, F.rsa.message, F.rsa.tampered),
      webTampered: () => subtle.verify('RSASSA-PKCS1-v1_5', rsaCryptoKey, fromBase64(F.rsa.tampered), enc.encode(F.rsa.message)),
    },
    hmac: {
      pure: () => verifySymmetricSignature(F.hmac.secret, F.hmac.stringToSign, F.hmac.signature),
      web: () => subtle.verify('HMAC', hmacKey, fromBase64(F.hmac.signature), enc.encode(F.hmac.stringToSign)),
      ok: isTrue,
      pureTampered: () => verifySymmetricSignature(F.hmac.secret, F.hmac.stringToSign, F.hmac.tampered),
      webTampered: () => subtle.verify('HMAC', hmacKey, fromBase64(F.hmac.tampered), enc.encode(F.hmac.stringToSign)),
    },
    sha256: {
      pure: () => sha256Hex(F.sha.body),
      web: async () => toHex(await subtle.digest('SHA-256', enc.encode(F.sha.body))),
      ok: (r) => r === F.sha.hex,
    },
  };
  return prepared;
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const trimmedMean = (xs, cut = 0.25) => {
  const s = sorted(xs);
  const k = Math.floor(s.length * cut);
  const kept = s.slice(k, s.length - k);
  return kept.reduce((a, b) => a + b, 0) / kept.length;
};
const quartiles = (xs) => {
  const s = sorted(xs);
  return [s[Math.floor(s.length / 4)], s[Math.floor((3 * s.length) / 4)]];
};

/** Batch of k calls between awaited boundaries; ms per call. */
async function batchPure(op, k, verdict) {
  await boundary();
  const t0 = now();
  for (let j = 0; j < k; j++) if (!op.ok(op.pure())) verdict.bad++;
  await boundary();
  return (now() - t0) / k;
}
async function batchWeb(op, k, verdict) {
  await boundary();
  const t0 = now();
  for (let j = 0; j < k; j++) if (!op.ok(await op.web())) verdict.bad++;
  await boundary();
  return (now() - t0) / k;
}

/**
 * Calls per batch so one batch lasts about targetMs. A batch shorter than half the target is
 * too close to the clock step to trust: double k. Otherwise scale k towards the target (at
 * most doubling it); done after two trusted batches in a row. A stall (GC, a busy machine)
 * can only shrink k, never blow it up.
 */
async function calibrate(run, targetMs) {
  let k = 1;
  for (let good = 0, i = 0; good < 2 && i < 60; i++) {
    const ms = (await run(k)) * k;
    if (ms === 0 && k >= 1 << 14) throw new Error('the clock does not advance, even across awaited boundaries');
    if (ms < targetMs / 2) {
      good = 0;
      k = Math.min(k * 2, 1 << 20);
    } else {
      good++;
      k = Math.max(1, Math.round((k * targetMs) / ms));
    }
  }
  return k;
}

/** One operation: warm-up, then interleaved timed samples. Times in µs. */
export async function runOp(F, name, samples) {
  const ops = await prepare(F);
  const op = ops[name];
  const clock = clockInfo();
  const verdict = { bad: 0, tamperedAccepted: 0 };
  if (op.pureTampered && op.pureTampered() !== false) verdict.tamperedAccepted++;
  if (op.webTampered && (await op.webTampered()) !== false) verdict.tamperedAccepted++;

  const warm = Math.max(100, Math.floor(samples / 10));
  for (let i = 0; i < warm; i++) {
    if (!op.ok(op.pure())) verdict.bad++;
    if (!op.ok(await op.web())) verdict.bad++;
  }

  const a = [];
  const b = [];
  const perCall = clock.movesInSyncCode && clock.tickMs <= 0.001;
  let result;
  if (perCall) {
    const timePure = () => {
      const t0 = now();
      const r = op.pure();
      const t = now() - t0;
      if (!op.ok(r)) verdict.bad++;
      return t;
    };
    const timeWeb = async () => {
      const t0 = now();
      const r = await op.web();
      const t = now() - t0;
      if (!op.ok(r)) verdict.bad++;
      return t;
    };
    for (let i = 0; i < samples; i++) {
      if (i & 1) {
        b.push(await timeWeb());
        a.push(timePure());
      } else {
        a.push(timePure());
        b.push(await timeWeb());
      }
    }
    result = { mode: 'per call, median', pure: median(a) * 1000, web: median(b) * 1000 };
  } else {
    const targetMs = Math.max(20, 20 * clock.tickMs);
    const kPure = await calibrate((k) => batchPure(op, k, verdict), targetMs);
    const kWeb = await calibrate((k) => batchWeb(op, k, verdict), targetMs);
    const empty = [];
    for (let i = 0; i < 15; i++) {
      await boundary();
      const t0 = now();
      await boundary();
      empty.push(now() - t0);
    }
    const batches = Math.max(40, Math.ceil(samples / Math.min(kPure, kWeb)));
    for (let i = 0; i < batches; i++) {
      if (i & 1) {
        b.push(await batchWeb(op, kWeb, verdict));
        a.push(await batchPure(op, kPure, verdict));
      } else {
        a.push(await batchPure(op, kPure, verdict));
        b.push(await batchWeb(op, kWeb, verdict));
      }
    }
    result = {
      mode: 'batches of ~' + targetMs + ' ms, interquartile mean',
      pure: trimmedMean(a) * 1000,
      web: trimmedMean(b) * 1000,
      batchPure: kPure,
      batchWeb: kWeb,
      emptyBoundaryMs: median(empty),
    };
  }
  return {
    ...result,
    n: a.length,
    iqrPure: quartiles(a).map((x) => x * 1000),
    iqrWeb: quartiles(b).map((x) => x * 1000),
    clock,
    verdict,
  };
}

/** n calls of one candidate, results checked; for timing from outside the runtime. */
export async function loop(F, name, side, n) {
  const op = (await prepare(F))[name];
  let bad = 0;
  if (side === 'pure') for (let i = 0; i < n; i++) { if (!op.ok(op.pure())) bad++; }
  else for (let i = 0; i < n; i++) { if (!op.ok(await op.web())) bad++; }
  return { bad };
}

export const OPS = ['rsa', 'hmac', 'sha256'];
`;

const MAIN = (samples) => `// Generated by bench/webcrypto.bench.mjs: Node, Bun and Deno entry.
import F from './fixture.mjs';
import { OPS, runOp, runtimeName } from './core.mjs';

const out = { runtime: runtimeName(), ops: {} };
for (const name of OPS) out.ops[name] = await runOp(F, name, ${samples});
console.log('RESULT ' + JSON.stringify(out));
`;

const WORKER = `// Generated by bench/webcrypto.bench.mjs: workerd module worker.
import F from './fixture.mjs';
import { loop, runOp, runtimeName } from './core.mjs';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const q = (k) => url.searchParams.get(k);
    if (url.pathname === '/op') return Response.json({ runtime: runtimeName(), result: await runOp(F, q('name'), Number(q('samples'))) });
    if (url.pathname === '/loop') return Response.json(await loop(F, q('name'), q('side'), Number(q('n'))));
    return new Response('not found', { status: 404 });
  },
};
`;

// ---------------------------------------------------------------------------------------
// Child processes: own process group, bounded life, killed (group) when done.

const live = new Set();
const killGroup = (child, signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function run(cmd, args, { cwd, env }) {
  return new Promise((resolvePromise) => {
    let output = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      resolvePromise({ code: null, error, output: '' });
      return;
    }
    live.add(child);
    child.stdout.setEncoding('utf8').on('data', (c) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (output += c));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, RUNTIME_MS);
    let error;
    child.on('error', (e) => {
      error = e;
      if (child.pid === undefined) finish(null);
    });
    let done = false;
    function finish(code) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.pid !== undefined) killGroup(child, 'SIGKILL');
      live.delete(child);
      resolvePromise({ code, error, timedOut, output });
    }
    child.on('close', (code) => finish(code));
  });
}

/** A working bun/deno binary: node_modules/.bin first, then the platform package's binary. */
function findBinary(name) {
  const candidates = [join(root, 'node_modules', '.bin', name)];
  const [scope, prefix, sub] =
    name === 'bun'
      ? ['@oven', `bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}`, 'bin/bun']
      : ['@deno', `${process.platform}-${process.arch}`, 'deno'];
  const dir = join(root, 'node_modules', scope);
  if (existsSync(dir)) {
    for (const d of readdirSync(dir)) if (d === prefix || d.startsWith(`${prefix}-`)) candidates.push(join(dir, d, sub));
  }
  const tried = [];
  for (const file of candidates) {
    if (!existsSync(file)) {
      tried.push(`${file}: not found`);
      continue;
    }
    const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    if (r.status === 0) return { file };
    tried.push(`${file}: ${r.error?.message ?? `--version exited ${r.status ?? r.signal}`}`);
  }
  return { why: `no working ${name} binary (${tried.join('; ')})` };
}

async function runChild(label, cmd, args, work, env) {
  const r = await run(cmd, args, { cwd: work, env });
  const line = /^RESULT (.*)$/m.exec(r.output)?.[1];
  if (r.code === 0 && line) return JSON.parse(line);
  const why = r.timedOut
    ? `timed out after ${RUNTIME_MS / 1000} s (killed)`
    : r.error && r.code === null
      ? `did not start: ${r.error.message}`
      : `exited ${r.code}${line ? '' : ' without a RESULT line'}`;
  throw new Error(`${label} ${why}${r.output ? `\n${r.output.trim().split('\n').slice(-15).join('\n').replace(/^/gm, '     | ')}` : ''}`);
}

// ---------------------------------------------------------------------------------------
// workerd through Miniflare, driven from here.

async function runWorkerd(script) {
  const { Miniflare } = await import('miniflare');
  const mf = new Miniflare({ modules: true, script, compatibilityDate: '2025-01-01' });
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`workerd run timed out after ${RUNTIME_MS / 1000} s`)), RUNTIME_MS);
  });
  const work = (async () => {
    await mf.ready;
    const get = async (path) => {
      const response = await mf.dispatchFetch(`http://bench.local${path}`);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`workerd ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
      return JSON.parse(text);
    };
    const out = { runtime: 'workerd', ops: {} };
    for (const name of ['rsa', 'hmac', 'sha256']) {
      const r = await get(`/op?name=${name}&samples=${SAMPLES}`);
      out.runtime = r.runtime;
      out.ops[name] = r.result;
    }
    // From the Node side: wall time of a dispatchFetch running n calls minus one running none.
    for (const name of ['rsa', 'hmac', 'sha256']) {
      const op = out.ops[name];
      op.outside = {};
      for (const side of ['pure', 'web']) {
        const n = Math.max(1, Math.round(20_000 / Math.max(op[side], 1))); // ~20 ms of work
        const full = [];
        const empty = [];
        for (let i = 0; i < 9; i++) {
          let t0 = performance.now();
          const r = await get(`/loop?name=${name}&side=${side}&n=${n}`);
          full.push(performance.now() - t0);
          op.verdict.bad += r.bad;
          t0 = performance.now();
          await get(`/loop?name=${name}&side=${side}&n=0`);
          empty.push(performance.now() - t0);
        }
        const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
        op.outside[side] = ((med(full) - med(empty)) / n) * 1000;
      }
    }
    return out;
  })();
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    await mf.dispose();
  }
}

// ---------------------------------------------------------------------------------------
// Main.

const F = makeFixture();
const work = mkdtempSync(join(tmpdir(), 'nico-webcrypto-bench-'));
const env = {
  ...process.env,
  NO_COLOR: '1',
  DO_NOT_TRACK: '1',
  DENO_NO_UPDATE_CHECK: '1',
  DENO_NO_PROMPT: '1',
  DENO_DIR: join(work, '.deno-dir'),
};
const results = [];
const failures = [];
let wrong = 0;

try {
  writeFileSync(join(work, 'fixture.mjs'), `export default ${JSON.stringify(F)};\n`);
  writeFileSync(join(work, 'core.mjs'), CORE);
  writeFileSync(join(work, 'main.mjs'), MAIN(SAMPLES));
  writeFileSync(join(work, 'worker.mjs'), WORKER);

  const { build } = await import('esbuild');
  const bundle = async (entry, conditions) => {
    const r = await build({
      absWorkingDir: work,
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions,
      nodePaths: [join(root, 'node_modules')], // the package's dependencies, for a build outside the repository
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs).map((f) => resolve(work, f));
    if (!inputs.includes(INDEX)) throw new Error(`bundle of ${entry} did not use ${INDEX}`);
    return r.outputFiles[0].text;
  };
  writeFileSync(join(work, 'bench.mjs'), await bundle('main.mjs', []));
  const workerScript = await bundle('worker.mjs', ['workerd', 'worker', 'browser']);

  console.log(
    `WebCrypto vs pure JS (nicepay-nico from ${INDEX}); BENCH_SAMPLES=${SAMPLES}\n` +
      `  RSA ${2048}-bit e=65537, message ${Buffer.byteLength(F.rsa.message)} B; HMAC-SHA512 secret ${F.hmac.secret.length} chars, ` +
      `stringToSign ${Buffer.byteLength(F.hmac.stringToSign)} B; SHA-256 body ${Buffer.byteLength(F.sha.body)} B`,
  );

  const runtimes = [
    ['workerd', () => runWorkerd(workerScript)],
    [
      'Deno',
      () => {
        const bin = findBinary('deno');
        if (!bin.file) throw new Error(bin.why);
        return runChild('deno', bin.file, ['run', '--no-lock', '--no-config', '--cached-only', 'bench.mjs'], work, env);
      },
    ],
    [
      'Bun',
      () => {
        const bin = findBinary('bun');
        if (!bin.file) throw new Error(bin.why);
        return runChild('bun', bin.file, ['run', 'bench.mjs'], work, env);
      },
    ],
    ['Node', () => runChild('node', process.execPath, ['bench.mjs'], work, env)],
  ];
  for (const [label, fn] of runtimes) {
    const t0 = performance.now();
    try {
      const r = await fn();
      r.seconds = (performance.now() - t0) / 1000;
      results.push(r);
      process.stdout.write(`  ${r.runtime}: done in ${r.seconds.toFixed(1)} s\n`);
    } catch (error) {
      failures.push(label);
      console.log(`  ${label}: NOT RUN: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------
// Report.

const LABELS = { rsa: 'RSA-2048 verify', hmac: 'HMAC-SHA512 verify', sha256: 'SHA-256 + hex' };
const fmt = (us) => (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2));
const rows = [['runtime', 'operation', 'pure-JS µs', 'WebCrypto µs', 'pure/WebCrypto', 'verdicts']];
for (const r of results) {
  for (const [name, op] of Object.entries(r.ops)) {
    const bad = op.verdict.bad + op.verdict.tamperedAccepted;
    wrong += bad;
    rows.push([
      r.runtime + (r.runtime.startsWith('Node') ? ' (ref)' : ''),
      LABELS[name],
      fmt(op.pure),
      fmt(op.web),
      `${(op.pure / op.web).toFixed(2)}x`,
      bad ? `WRONG x${bad}` : 'ok',
    ]);
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
console.log('');
for (const [i, row] of rows.entries()) {
  console.log('  ' + row.map((cell, j) => (j >= 2 && j <= 4 ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  '));
  if (i === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log('');
for (const r of results) {
  const first = Object.values(r.ops)[0];
  const c = first.clock;
  console.log(
    `  ${r.runtime}: ${first.mode}; clock step ${c.tickMs < 0.001 ? `${(c.tickMs * 1e6).toFixed(0)} ns` : `${c.tickMs} ms`}` +
      `${c.movesInSyncCode ? '' : ' (frozen in synchronous code)'}; ${first.n} samples per candidate`,
  );
  for (const [name, op] of Object.entries(r.ops)) {
    const iqr = (q) => `${fmt(q[0])}-${fmt(q[1])}`;
    let line = `      ${LABELS[name].padEnd(18)} IQR pure ${iqr(op.iqrPure)} µs, WebCrypto ${iqr(op.iqrWeb)} µs`;
    if (op.batchPure) line += `; batch ${op.batchPure}/${op.batchWeb} calls, empty boundary ${op.emptyBoundaryMs} ms`;
    if (op.outside) line += `; from Node (dispatchFetch N calls - none): pure ${fmt(op.outside.pure)} µs, WebCrypto ${fmt(op.outside.web)} µs`;
    console.log(line);
  }
}
console.log(`\n  total ${((performance.now() - started) / 1000).toFixed(1)} s${failures.length ? `; not run: ${failures.join(', ')}` : ''}`);
if (wrong) {
  console.log(`  WRONG VERDICTS: ${wrong}`);
  process.exitCode = 1;
}
