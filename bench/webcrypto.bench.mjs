#!/usr/bin/env node
/**
 * Measurements only (no timed assertions): this package's pure-JS crypto against the
 * runtime's own WebCrypto (crypto.subtle), against the package's own functions with
 * `{ crypto: nodeCrypto }` (the runtime's node:crypto, found through
 * process.getBuiltinModule('crypto'), pure JS where there is none, and on Deno), and against
 * the runtime's node:crypto called directly, without the package ("node:crypto direct",
 * wherever process.getBuiltinModule('crypto') gives one, Deno included: the figure behind
 * nodeCrypto computing in pure JS on Deno), in-process, on workerd (Miniflare; once as
 * configured before, once more with the nodejs_compat flag and a recent compatibility date),
 * Deno and Bun, with Node as a reference. Per call; the candidates interleaved call by call
 * (the order rotated through every permutation), after a warm-up.
 *
 *   RSA     verifySignature(importPublicKey(pem), stringToSign, sigBase64)       (key imported once)
 *           vs await subtle.verify('RSASSA-PKCS1-v1_5', key, b64decode(sig), utf8(stringToSign))
 *                                                                              (CryptoKey imported once, spki)
 *           vs verifySignature(key, stringToSign, sigBase64, { crypto: nodeCrypto })
 *           vs verify('sha256', utf8(stringToSign), keyObject, b64decode(sig))  (node:crypto direct;
 *                                              keyObject = createPublicKey(the same key as a JWK), once)
 *   HMAC    verifySymmetricSignature(secret, stringToSign, sigBase64)
 *           vs await subtle.verify('HMAC', key, b64decode(sig), utf8(stringToSign)) (key imported once)
 *           vs verifySymmetricSignature(secret, stringToSign, sigBase64, { crypto: nodeCrypto })
 *           vs timingSafeEqual(createHmac('sha512', secretKey).update(stringToSign).digest(), b64decode(sig))
 *                                              (node:crypto direct, after a length check; secretKey =
 *                                              createSecretKey(utf8(secret)), once; an XOR loop where
 *                                              the module has no timingSafeEqual)
 *   SHA-256 sha256Hex(body)  vs  hex(await subtle.digest('SHA-256', utf8(body)))   (sha256Hex takes no provider)
 *
 * The summary table has a column per candidate (pure-JS, WebCrypto, nodeCrypto, node:crypto
 * µs) and the ratios pure/WebCrypto, pure/nodeCrypto and pure/node:crypto; '-' where a
 * candidate is not timed (nodeCrypto and node:crypto for SHA-256; node:crypto where the
 * runtime has no process.getBuiltinModule('crypto') with createPublicKey, verify,
 * createSecretKey and createHmac, as on workerd without nodejs_compat, or where making its
 * key object throws: the reason is printed under the runtime). The node:crypto candidate is
 * looked up only after the nodeCrypto check below, so that check still times the first
 * lookup cold.
 *
 * Whether nodeCrypto is native there is checked before anything is timed: process and
 * process.getBuiltinModule exist, getBuiltinModule('crypto') gives the functions
 * src/crypto/native.ts needs (createPublicKey, verify, createSecretKey, createHmac, createHash),
 * they verify the fixture directly (JWK key import included), and, with those functions
 * wrapped for one call each, the package's own verifySignature / verifySymmetricSignature with
 * nodeCrypto are seen to call them. The first getBuiltinModule('crypto') is timed (cold), then
 * 1000 more (warm); on workerd also from the Node side (first dispatchFetch that looks it up
 * minus the median of later ones), with the Miniflare start-up time of each configuration.
 *
 * The WebCrypto side pays what a request pays: base64 decode (atob), UTF-8 encode and the
 * awaited promise; node:crypto direct the same decode and encode, per call. The RSA key pair, signatures and hashes are made here by node:crypto.
 *
 * One shared source (CORE below) imports the package's ESM build `${NICO_DIST}/index.js` and
 * `${NICO_DIST}/node.js` (nodeCrypto);
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
 * Time: each runtime is killed after 30 s, and the whole run stops starting (or cuts short)
 *   runtimes once 85 s have gone (both scaled up with BENCH_SAMPLES above 2000).
 * Exit status: 1 when any check gives a wrong verdict (a valid signature refused, a tampered
 * one accepted, a wrong digest, nodeCrypto or node:crypto direct throwing on a verification),
 * whichever candidate gives it; a runtime that cannot be started, or is not reached within the
 * time budget, is reported and skipped.
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
const NODE_ENTRY = join(DIST, 'node.js'); // nicepay-nico/node: nodeCrypto
const SAMPLES = Math.max(50, Math.floor(Number(process.env.BENCH_SAMPLES ?? 2000)) || 2000);
const RUNTIME_MS = 30_000 * Math.max(1, SAMPLES / 2000); // one runtime's whole run, then it is killed
const TOTAL_MS = 85_000 * Math.max(1, SAMPLES / 2000); // the whole run: no runtime is started or kept beyond it
const started = performance.now();
/** Time one runtime may take: its own limit, or what is left of the whole run's. */
const budgetMs = () => Math.min(RUNTIME_MS, TOTAL_MS - (performance.now() - started));

for (const file of [INDEX, NODE_ENTRY]) {
  if (!existsSync(file)) {
    console.error(`${file} not found: build the package first (or set NICO_DIST to a build directory).`);
    process.exit(2);
  }
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
      jwk: (({ n, e }) => ({ n, e }))(publicKey.export({ format: 'jwk' })), // for the direct node:crypto check
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
// btoa, TextEncoder, setTimeout (scheduler.wait where it exists); process.getBuiltinModule
// only where it exists, for the nodeCrypto check.

const CORE = `// Generated by bench/webcrypto.bench.mjs: runs inside each runtime.
import { importPublicKey, sha256Hex, verifySignature, verifySymmetricSignature } from ${JSON.stringify(INDEX)};
import { nodeCrypto } from ${JSON.stringify(NODE_ENTRY)};

const viaNode = { crypto: nodeCrypto };

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
const toBase64 = (bytes) => {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
};
const errText = (e) => (e instanceof Error ? e.name + ': ' + e.message : String(e)).split('\\n')[0].slice(0, 160);
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
    rsaKey,
    rsa: {
      pure: () => verifySignature(rsaKey, F.rsa.message, F.rsa.signature),
      web: () => subtle.verify('RSASSA-PKCS1-v1_5', rsaCryptoKey, fromBase64(F.rsa.signature), enc.encode(F.rsa.message)),
      node: () => verifySignature(rsaKey, F.rsa.message, F.rsa.signature, viaNode),
      ok: isTrue,
      pureTampered: () => verifySignature(rsaKey, F.rsa.message, F.rsa.tampered),
      webTampered: () => subtle.verify('RSASSA-PKCS1-v1_5', rsaCryptoKey, fromBase64(F.rsa.tampered), enc.encode(F.rsa.message)),
      nodeTampered: () => verifySignature(rsaKey, F.rsa.message, F.rsa.tampered, viaNode),
    },
    hmac: {
      pure: () => verifySymmetricSignature(F.hmac.secret, F.hmac.stringToSign, F.hmac.signature),
      web: () => subtle.verify('HMAC', hmacKey, fromBase64(F.hmac.signature), enc.encode(F.hmac.stringToSign)),
      node: () => verifySymmetricSignature(F.hmac.secret, F.hmac.stringToSign, F.hmac.signature, viaNode),
      ok: isTrue,
      pureTampered: () => verifySymmetricSignature(F.hmac.secret, F.hmac.stringToSign, F.hmac.tampered),
      webTampered: () => subtle.verify('HMAC', hmacKey, fromBase64(F.hmac.tampered), enc.encode(F.hmac.stringToSign)),
      nodeTampered: () => verifySymmetricSignature(F.hmac.secret, F.hmac.stringToSign, F.hmac.tampered, viaNode),
    },
    sha256: {
      pure: () => sha256Hex(F.sha.body),
      web: async () => toHex(await subtle.digest('SHA-256', enc.encode(F.sha.body))),
      ok: (r) => r === F.sha.hex,
    },
  };
  return prepared;
}

const DIRECT_NEEDED = ['createPublicKey', 'verify', 'createSecretKey', 'createHmac'];
let directReady;
/**
 * The "node:crypto direct" candidate: the runtime's node:crypto called straight, not through
 * the package, wherever process.getBuiltinModule('crypto') gives one (on Deno too). RSA: a
 * KeyObject made once by createPublicKey from the fixture's JWK (as native.ts makes it), then
 * verify('sha256', utf8(message), keyObject, b64decode(sig)) per call. HMAC: a secret
 * KeyObject made once by createSecretKey, then createHmac('sha512', it).update(stringToSign)
 * .digest() compared with b64decode(sig) in constant time (timingSafeEqual after a length
 * check; an XOR loop where the module has none) per call. Attached to the prepared rsa / hmac
 * as direct / directTampered, or a reason in directWhy. Made on the first runOp or loop, after
 * nativeInfo (which times the first lookup cold).
 */
function prepareDirect(ops, F) {
  if (directReady) return;
  directReady = true;
  let mod;
  let why;
  try {
    const get = globalThis.process?.getBuiltinModule;
    if (typeof get !== 'function') why = 'no process.getBuiltinModule';
    else {
      mod = get('crypto');
      if (!mod) why = 'getBuiltinModule("crypto") gave ' + String(mod);
    }
  } catch (e) {
    why = 'getBuiltinModule("crypto") threw: ' + errText(e);
  }
  const missing = mod ? DIRECT_NEEDED.filter((k) => typeof mod[k] !== 'function') : [];
  if (missing.length) why = 'node:crypto has no ' + missing.join(', ');
  if (why) {
    ops.rsa.directWhy = ops.hmac.directWhy = why;
    return;
  }
  const safeEqual = typeof mod.timingSafeEqual === 'function' ? (a, b) => mod.timingSafeEqual(a, b) : undefined;
  const equal = (a, b) => {
    if (a.length !== b.length) return false;
    if (safeEqual) return safeEqual(a, b);
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  };
  try {
    const keyObject = mod.createPublicKey({ key: { kty: 'RSA', n: F.rsa.jwk.n, e: F.rsa.jwk.e }, format: 'jwk' });
    const v = (sig) => mod.verify('sha256', enc.encode(F.rsa.message), keyObject, fromBase64(sig));
    ops.rsa.direct = () => v(F.rsa.signature);
    ops.rsa.directTampered = () => v(F.rsa.tampered);
    ops.rsa.directHow = 'createPublicKey(JWK) once, verify per call';
  } catch (e) {
    ops.rsa.directWhy = 'createPublicKey(JWK) threw: ' + errText(e);
  }
  try {
    const secret = mod.createSecretKey(enc.encode(F.hmac.secret));
    const v = (sig) => equal(mod.createHmac('sha512', secret).update(F.hmac.stringToSign).digest(), fromBase64(sig));
    ops.hmac.direct = () => v(F.hmac.signature);
    ops.hmac.directTampered = () => v(F.hmac.tampered);
    ops.hmac.directHow = 'createSecretKey once, createHmac + ' + (safeEqual ? 'timingSafeEqual' : 'XOR loop (no timingSafeEqual)') + ' per call';
  } catch (e) {
    ops.hmac.directWhy = 'createSecretKey threw: ' + errText(e);
  }
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
async function batchSync(op, fn, k, verdict) {
  await boundary();
  const t0 = now();
  for (let j = 0; j < k; j++) if (!op.ok(fn())) verdict.bad++;
  await boundary();
  return (now() - t0) / k;
}
async function batchAsync(op, fn, k, verdict) {
  await boundary();
  const t0 = now();
  for (let j = 0; j < k; j++) if (!op.ok(await fn())) verdict.bad++;
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

/**
 * Every order of n candidates (n = 2, 3 or 4): sample i runs them in PERMS[n][i % n!]. Listed
 * as the n rotations of each order that starts with candidate 0, so every n consecutive
 * samples (from a multiple of n) put each candidate once in each position. For 2 and 3:
 * [0,1] [1,0] and [0,1,2] [1,2,0] [2,0,1] [0,2,1] [2,1,0] [1,0,2].
 */
const orders = (xs) => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => orders([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest])));
const rotations = (p) => p.map((_, r) => [...p.slice(r), ...p.slice(0, r)]);
const PERMS = {};
for (const n of [2, 3, 4]) PERMS[n] = orders(Array.from({ length: n - 1 }, (_, i) => i + 1)).flatMap((rest) => rotations([0, ...rest]));
const ASYNC = { pure: false, web: true, node: false, direct: false };
const cap = (s) => s[0].toUpperCase() + s.slice(1);

/** One operation: warm-up, then interleaved timed samples. Times in µs. */
export async function runOp(F, name, samples) {
  const ops = await prepare(F);
  prepareDirect(ops, F);
  const op = ops[name];
  const clock = clockInfo();
  const verdict = { bad: 0, tamperedAccepted: 0, errors: [] };
  if (op.pureTampered && op.pureTampered() !== false) verdict.tamperedAccepted++;
  if (op.webTampered && (await op.webTampered()) !== false) verdict.tamperedAccepted++;
  // nodeCrypto: a throw is a wrong verdict (a valid signature not accepted); it is then not timed.
  const sides = ['pure', 'web'];
  if (op.node) {
    try {
      if (!op.ok(op.node())) verdict.bad++;
      if (op.nodeTampered() !== false) verdict.tamperedAccepted++;
      sides.push('node');
    } catch (e) {
      verdict.bad++;
      verdict.errors.push('nodeCrypto threw: ' + errText(e));
    }
  }
  // node:crypto direct, where the runtime has it: checked the same way (a throw is a wrong verdict).
  if (op.direct) {
    try {
      if (!op.ok(op.direct())) verdict.bad++;
      if (op.directTampered() !== false) verdict.tamperedAccepted++;
      sides.push('direct');
    } catch (e) {
      verdict.bad++;
      verdict.errors.push('node:crypto direct threw: ' + errText(e));
    }
  }
  const fns = sides.map((s) => op[s]);

  const warm = Math.max(100, Math.floor(samples / 10));
  for (let i = 0; i < warm; i++) {
    for (const [j, s] of sides.entries()) if (!op.ok(ASYNC[s] ? await fns[j]() : fns[j]())) verdict.bad++;
  }

  const times = sides.map(() => []);
  const perms = PERMS[sides.length];
  const perCall = clock.movesInSyncCode && clock.tickMs <= 0.001;
  const result = {};
  if (perCall) {
    const timeSync = (fn) => {
      const t0 = now();
      const r = fn();
      const t = now() - t0;
      if (!op.ok(r)) verdict.bad++;
      return t;
    };
    const timeAsync = async (fn) => {
      const t0 = now();
      const r = await fn();
      const t = now() - t0;
      if (!op.ok(r)) verdict.bad++;
      return t;
    };
    for (let i = 0; i < samples; i++) {
      for (const j of perms[i % perms.length]) times[j].push(ASYNC[sides[j]] ? await timeAsync(fns[j]) : timeSync(fns[j]));
    }
    result.mode = 'per call, median';
    for (const [j, s] of sides.entries()) result[s] = median(times[j]) * 1000;
  } else {
    const targetMs = Math.max(20, 20 * clock.tickMs);
    const batch = (j, k) => (ASYNC[sides[j]] ? batchAsync : batchSync)(op, fns[j], k, verdict);
    const ks = [];
    for (const j of sides.keys()) ks.push(await calibrate((k) => batch(j, k), targetMs));
    const empty = [];
    for (let i = 0; i < 15; i++) {
      await boundary();
      const t0 = now();
      await boundary();
      empty.push(now() - t0);
    }
    const batches = Math.max(40, Math.ceil(samples / Math.min(...ks)));
    for (let i = 0; i < batches; i++) {
      for (const j of perms[i % perms.length]) times[j].push(await batch(j, ks[j]));
    }
    result.mode = 'batches of ~' + targetMs + ' ms, interquartile mean';
    for (const [j, s] of sides.entries()) {
      result[s] = trimmedMean(times[j]) * 1000;
      result['batch' + cap(s)] = ks[j];
    }
    result.emptyBoundaryMs = median(empty);
  }
  for (const [j, s] of sides.entries()) result['iqr' + cap(s)] = quartiles(times[j]).map((x) => x * 1000);
  if (op.directHow) result.directHow = op.directHow;
  if (op.directWhy) result.directWhy = op.directWhy;
  return { ...result, n: times[0].length, clock, verdict };
}

/** n calls of one candidate, results checked; for timing from outside the runtime. */
export async function loop(F, name, side, n) {
  const ops = await prepare(F);
  prepareDirect(ops, F);
  const op = ops[name];
  const fn = op[side];
  let bad = 0;
  if (!ASYNC[side]) for (let i = 0; i < n; i++) { if (!op.ok(fn())) bad++; }
  else for (let i = 0; i < n; i++) { if (!op.ok(await fn())) bad++; }
  return { bad };
}

/** process.getBuiltinModule('crypto') once, for timing it from outside (workerd); ms by the runtime's clock too. */
export function lookup() {
  const get = globalThis.process?.getBuiltinModule;
  const t0 = now();
  try {
    return { crypto: typeof get === 'function' ? typeof get('crypto') : 'no getBuiltinModule', ms: now() - t0 };
  } catch (e) {
    return { crypto: 'threw: ' + errText(e), ms: now() - t0 };
  }
}

const NEEDED = ['createPublicKey', 'verify', 'createSecretKey', 'createHmac', 'createHash']; // what src/crypto/native.ts requires

/**
 * Whether nodeCrypto is native here. Run before anything else touches getBuiltinModule or
 * nodeCrypto (the first lookup is timed cold, and createPublicKey is only called on a key's
 * first verification).
 */
export async function nativeInfo(F) {
  const { rsaKey } = await prepare(F);
  const p = globalThis.process;
  const info = { process: typeof p, getBuiltinModule: typeof p?.getBuiltinModule };
  let mod;
  if (info.getBuiltinModule === 'function') {
    try {
      let t0 = now();
      mod = p.getBuiltinModule('crypto');
      info.firstLookupUs = (now() - t0) * 1000;
      t0 = now();
      for (let i = 0; i < 1000; i++) p.getBuiltinModule('crypto');
      info.warmLookupUs = (now() - t0); // 1000 calls: ms total = µs per call
      info.sameModule = p.getBuiltinModule('node:crypto') === mod;
    } catch (e) {
      info.lookupError = errText(e);
    }
  }
  info.cryptoModule = mod === null ? 'null' : typeof mod;
  info.verify = typeof mod?.verify;
  info.missing = NEEDED.filter((k) => typeof mod?.[k] !== 'function');
  if (mod && !info.missing.length) {
    // What native.ts does, directly, on the fixture.
    try {
      const key = mod.createPublicKey({ key: { kty: 'RSA', n: F.rsa.jwk.n, e: F.rsa.jwk.e }, format: 'jwk' });
      const v = (sig) => mod.verify('sha256', enc.encode(F.rsa.message), key, fromBase64(sig));
      info.rsaDirect = v(F.rsa.signature) === true && v(F.rsa.tampered) === false ? 'ok' : 'WRONG';
    } catch (e) {
      info.rsaDirect = 'threw: ' + errText(e);
    }
    try {
      const mac = mod.createHmac('sha512', mod.createSecretKey(enc.encode(F.hmac.secret))).update(F.hmac.stringToSign).digest();
      info.hmacDirect = toBase64(mac) === F.hmac.signature ? 'ok' : 'WRONG';
    } catch (e) {
      info.hmacDirect = 'threw: ' + errText(e);
    }
    // Does the package's nodeCrypto call them? Wrap three functions for one verification each.
    const counts = { createPublicKey: 0, verify: 0, createHmac: 0 };
    const original = {};
    try {
      for (const k of Object.keys(counts)) {
        original[k] = mod[k];
        mod[k] = function (...args) {
          counts[k]++;
          return original[k].apply(this, args);
        };
      }
      if (Object.keys(counts).some((k) => mod[k] === original[k])) throw new Error('assignment did not take');
      info.packageRsa = verifySignature(rsaKey, F.rsa.message, F.rsa.signature, viaNode);
      info.packageHmac = verifySymmetricSignature(F.hmac.secret, F.hmac.stringToSign, F.hmac.signature, viaNode);
      info.calls = { ...counts };
    } catch (e) {
      info.spyError = errText(e);
    } finally {
      for (const k of Object.keys(original)) {
        try {
          mod[k] = original[k];
        } catch {}
      }
      info.restored = Object.keys(original).every((k) => mod[k] === original[k]);
    }
  }
  info.native = !!mod && !info.missing.length;
  info.packageUsesNative = info.calls ? info.calls.verify > 0 && info.calls.createHmac > 0 : undefined;
  return info;
}

export const OPS = ['rsa', 'hmac', 'sha256'];
`;

const MAIN = (samples) => `// Generated by bench/webcrypto.bench.mjs: Node, Bun and Deno entry.
import F from './fixture.mjs';
import { OPS, nativeInfo, runOp, runtimeName } from './core.mjs';

const out = { runtime: runtimeName(), ops: {} };
out.native = await nativeInfo(F); // first: before anything else looks up node:crypto
for (const name of OPS) out.ops[name] = await runOp(F, name, ${samples});
console.log('RESULT ' + JSON.stringify(out));
`;

const WORKER = `// Generated by bench/webcrypto.bench.mjs: workerd module worker.
import F from './fixture.mjs';
import { lookup, loop, nativeInfo, runOp, runtimeName } from './core.mjs';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const q = (k) => url.searchParams.get(k);
    if (url.pathname === '/op') return Response.json({ runtime: runtimeName(), result: await runOp(F, q('name'), Number(q('samples'))) });
    if (url.pathname === '/loop') return Response.json(await loop(F, q('name'), q('side'), Number(q('n'))));
    if (url.pathname === '/native') return Response.json(await nativeInfo(F));
    if (url.pathname === '/lookup') return Response.json(lookup());
    if (url.pathname === '/ping') return Response.json({});
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

function run(cmd, args, { cwd, env, timeoutMs = RUNTIME_MS }) {
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
    }, timeoutMs);
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
  const timeoutMs = budgetMs();
  const r = await run(cmd, args, { cwd: work, env, timeoutMs });
  const line = /^RESULT (.*)$/m.exec(r.output)?.[1];
  if (r.code === 0 && line) return JSON.parse(line);
  const why = r.timedOut
    ? `timed out after ${(timeoutMs / 1000).toFixed(1)} s (killed)`
    : r.error && r.code === null
      ? `did not start: ${r.error.message}`
      : `exited ${r.code}${line ? '' : ' without a RESULT line'}`;
  throw new Error(`${label} ${why}${r.output ? `\n${r.output.trim().split('\n').slice(-15).join('\n').replace(/^/gm, '     | ')}` : ''}`);
}

// ---------------------------------------------------------------------------------------
// workerd through Miniflare, driven from here.

/** The workerd configurations: as before, and with nodejs_compat (process.getBuiltinModule). */
const WORKERD_PLAIN = { label: 'workerd', options: { compatibilityDate: '2025-01-01' } };
const WORKERD_COMPAT = {
  label: 'workerd + nodejs_compat',
  options: { compatibilityDate: '2026-04-01', compatibilityFlags: ['nodejs_compat'] },
};

async function runWorkerd(script, config = WORKERD_PLAIN) {
  const { Miniflare } = await import('miniflare');
  const timeoutMs = budgetMs();
  const t0 = performance.now();
  const mf = new Miniflare({ modules: true, script, ...config.options });
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`workerd run timed out after ${(timeoutMs / 1000).toFixed(1)} s`)), timeoutMs);
  });
  const work = (async () => {
    await mf.ready;
    const startupMs = performance.now() - t0;
    const get = async (path) => {
      const response = await mf.dispatchFetch(`http://bench.local${path}`);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`workerd ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
      return JSON.parse(text);
    };
    const timed = async (path) => {
      const t = performance.now();
      const r = await get(path);
      return [performance.now() - t, r];
    };
    const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    // The first process.getBuiltinModule('crypto') from the Node side: a request that makes it
    // (cold) against the median of 9 later ones (warm), after 5 requests that do nothing.
    const ping = [];
    for (let i = 0; i < 5; i++) ping.push((await timed('/ping'))[0]);
    const [coldMs, first] = await timed('/lookup');
    const warm = [];
    for (let i = 0; i < 9; i++) warm.push((await timed('/lookup'))[0]);
    const out = { runtime: config.label, ops: {}, startupMs, lookupOutside: { result: first.crypto, insideMs: first.ms, coldMs, warmMs: med(warm), pingMs: med(ping) } };
    out.native = await get('/native');
    for (const name of ['rsa', 'hmac', 'sha256']) {
      const r = await get(`/op?name=${name}&samples=${SAMPLES}`);
      out.ops[name] = r.result;
    }
    // From the Node side: wall time of a dispatchFetch running n calls minus one running none.
    for (const name of ['rsa', 'hmac', 'sha256']) {
      const op = out.ops[name];
      op.outside = {};
      for (const side of ['pure', 'web', 'node', 'direct']) {
        if (op[side] === undefined) continue;
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
        op.outside[side] = ((med(full) - med(empty)) / n) * 1000;
      }
    }
    return out;
  })();
  work.catch(() => {}); // once the deadline has won, its failure (workerd disposed) is expected
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
    for (const file of [INDEX, NODE_ENTRY]) if (!inputs.includes(file)) throw new Error(`bundle of ${entry} did not use ${file}`);
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
    ['workerd', () => runWorkerd(workerScript, WORKERD_PLAIN)],
    [WORKERD_COMPAT.label, () => runWorkerd(workerScript, WORKERD_COMPAT)],
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
      if (budgetMs() < 2_000) throw new Error(`the run's ${TOTAL_MS / 1000} s are spent`);
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
/** What nodeCrypto computes with on a runtime, in a few words. */
const nodeCryptoOn = (info) => {
  if (!info) return '?';
  if (!info.native) return 'pure JS (fallback)';
  if (info.packageUsesNative === false) return 'pure JS (not called)';
  return info.rsaDirect === 'ok' ? 'node:crypto' : 'node:crypto (HMAC; RSA pure)';
};
const NUMERIC = [2, 3, 4, 5, 6, 7, 8];
const rows = [
  ['runtime', 'operation', 'pure-JS µs', 'WebCrypto µs', 'nodeCrypto µs', 'node:crypto µs', 'pure/WebCrypto', 'pure/nodeCrypto', 'pure/node:crypto', 'verdicts', 'nodeCrypto on'],
];
for (const r of results) {
  for (const [name, op] of Object.entries(r.ops)) {
    const bad = op.verdict.bad + op.verdict.tamperedAccepted;
    wrong += bad;
    const hasNode = op.node !== undefined;
    const hasDirect = op.direct !== undefined;
    rows.push([
      r.runtime + (r.runtime.startsWith('Node') ? ' (ref)' : ''),
      LABELS[name],
      fmt(op.pure),
      fmt(op.web),
      hasNode ? fmt(op.node) : '-',
      hasDirect ? fmt(op.direct) : '-',
      `${(op.pure / op.web).toFixed(2)}x`,
      hasNode ? `${(op.pure / op.node).toFixed(2)}x` : '-',
      hasDirect ? `${(op.pure / op.direct).toFixed(2)}x` : '-',
      bad ? `WRONG x${bad}` : 'ok',
      name === 'sha256' ? '' : nodeCryptoOn(r.native),
    ]);
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
console.log('');
for (const [i, row] of rows.entries()) {
  console.log('  ' + row.map((cell, j) => (NUMERIC.includes(j) ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd());
  if (i === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log('');
const us = (x) => (x === undefined ? '?' : `${fmt(x)} µs`);
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
    if (op.iqrNode) line += `, nodeCrypto ${iqr(op.iqrNode)} µs`;
    if (op.iqrDirect) line += `, node:crypto ${iqr(op.iqrDirect)} µs`;
    if (op.batchPure) {
      line += `; batch ${op.batchPure}/${op.batchWeb}${op.batchNode ? `/${op.batchNode}` : ''}${op.batchDirect ? `/${op.batchDirect}` : ''} calls, empty boundary ${op.emptyBoundaryMs} ms`;
    }
    if (op.outside) {
      line += `; from Node (dispatchFetch N calls - none): pure ${fmt(op.outside.pure)} µs, WebCrypto ${fmt(op.outside.web)} µs`;
      if (op.outside.node !== undefined) line += `, nodeCrypto ${fmt(op.outside.node)} µs`;
      if (op.outside.direct !== undefined) line += `, node:crypto ${fmt(op.outside.direct)} µs`;
    }
    console.log(line);
    for (const e of op.verdict.errors ?? []) console.log(`        ${e}`);
  }
  const direct = ['rsa', 'hmac']
    .filter((name) => r.ops[name])
    .map((name) => {
      const op = r.ops[name];
      return `${name === 'rsa' ? 'RSA' : 'HMAC'} ${op.direct !== undefined ? op.directHow : `not timed (${op.directWhy ?? 'it threw, above'})`}`;
    });
  if (direct.length) console.log(`      node:crypto direct: ${direct.join('; ')}`);
  const n = r.native;
  if (n) {
    let line =
      `      nodeCrypto: ${nodeCryptoOn(n)}. process ${n.process}, process.getBuiltinModule ${n.getBuiltinModule}` +
      (n.getBuiltinModule === 'function' ? `, getBuiltinModule('crypto') ${n.lookupError ? `threw ${n.lookupError}` : n.cryptoModule}` : '') +
      `, crypto.verify ${n.verify}`;
    if (n.missing.length && n.cryptoModule === 'object') line += `; missing ${n.missing.join(', ')}`;
    if (n.native) {
      line += `; direct JWK import + verify ${n.rsaDirect}, createSecretKey + createHmac ${n.hmacDirect}`;
      line += n.calls
        ? `; the package's own calls: createPublicKey ${n.calls.createPublicKey}x, verify ${n.calls.verify}x, createHmac ${n.calls.createHmac}x (verdicts ${n.packageRsa}/${n.packageHmac})`
        : `; the package's calls not observed (${n.spyError})`;
      if (n.restored === false) line += '; NOTE: the wrapped functions could not be put back';
    }
    console.log(line);
    if (n.firstLookupUs !== undefined) {
      // On workerd the /lookup requests (below) came first: this first call is not the cold one.
      let cost = `      getBuiltinModule('crypto') in the runtime: ${r.lookupOutside ? 'first call of /native' : 'first call'} ${us(n.firstLookupUs)}, then ${us(n.warmLookupUs)} per call`;
      if (c.tickMs >= 0.001) cost += ` (clock step ${c.tickMs} ms: 0 means under a step)`;
      console.log(cost);
    }
  }
  if (r.lookupOutside) {
    const o = r.lookupOutside;
    console.log(
      `      from Node: Miniflare start-up ${r.startupMs.toFixed(0)} ms; dispatchFetch doing nothing ${o.pingMs.toFixed(2)} ms, ` +
        `first one calling getBuiltinModule('crypto') ${o.coldMs.toFixed(2)} ms (-> ${o.result}; the call itself ${o.insideMs} ms by the worker's clock), ` +
        `later ones ${o.warmMs.toFixed(2)} ms (median of 9)`,
    );
  }
}
console.log(`\n  total ${((performance.now() - started) / 1000).toFixed(1)} s${failures.length ? `; not run: ${failures.join(', ')}` : ''}`);
if (wrong) {
  console.log(`  WRONG VERDICTS: ${wrong}`);
  process.exitCode = 1;
}
