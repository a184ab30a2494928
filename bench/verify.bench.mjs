#!/usr/bin/env node
/**
 * Measurements only (no timed assertions): `npm run bench` builds, then runs this file.
 *
 * Speed, in one run, on one freshly generated RSA key (e = 65537) and one message:
 *   (a) verifySignature(importedKey, stringToSign, sigBase64)      this package (dist/index.js)
 *   (b) crypto.verify('sha256', msg, keyObject, sig)                node:crypto (OpenSSL)
 *   (c) PKCS1_SHA256.verify({ n, e }, msgBytes, sigBytes)           micro-rsa-dsa-dh
 *   (d) verifyAccessTokenRequest({ headers, body }, options)        this package, whole request
 *   (e) verifySignature(key, sts, sig, { crypto: nodeCrypto })      this package's checks, then OpenSSL
 * Method: warm-up and calibration, then ROUNDS rounds of N calls per candidate, run
 * round-robin (with the order rotated each round) so machine noise hits all of them alike;
 * reported: median ns/op over the rounds, ops/s, and ratios of the medians.
 *
 * Size: dist/index.js bundled by esbuild with all its dependencies (minified, ESM, platform
 * neutral, in memory), raw and gzip -9; and with only verifySignature + importPublicKey.
 */
import { constants, generateKeyPairSync, sign, verify } from 'node:crypto';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { PKCS1_SHA256 } from 'micro-rsa-dsa-dh/rsa.js';
import { importPublicKey, verifyAccessTokenRequest, verifySignature } from '../dist/index.js';
import { nodeCrypto } from '../dist/node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = 15;
const BATCH_MS = 100; // time per candidate per round
const WARMUP_MS = 250;

const CLIENT_KEY = 'IONPAYTEST';
const TIMESTAMP = '2024-01-22T15:00:01+07:00';
const MESSAGE = `${CLIENT_KEY}|${TIMESTAMP}`;

// ---------------------------------------------------------------------------------------
// Helpers.

let sink = 0; // results are consumed so no call can be optimized away

function timeBatch(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (fn()) sink++;
  return Number(process.hrtime.bigint() - t0) / n;
}

function calibrate(fn) {
  // Warm up for WARMUP_MS, then pick N so one batch takes about BATCH_MS.
  let n = 1;
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < WARMUP_MS) {
    timeBatch(fn, n);
    calls += n;
    n = Math.min(n * 2, 1024);
  }
  const perOpMs = (performance.now() - start) / calls;
  return Math.max(5, Math.round(BATCH_MS / perOpMs));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Run the candidates round-robin; returns { name: { median, min, max, n, samples } } in ns/op. */
function measure(candidates) {
  const ns = candidates.map((c) => ({ ...c, n: calibrate(c.fn), samples: [] }));
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < ns.length; j++) {
      const c = ns[(round + j) % ns.length];
      c.samples.push(timeBatch(c.fn, c.n));
    }
  }
  return Object.fromEntries(
    ns.map((c) => [c.name, { median: median(c.samples), min: Math.min(...c.samples), max: Math.max(...c.samples), n: c.n, samples: c.samples }]),
  );
}

function table(headers, rows, align = []) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (cells) =>
    cells.map((cell, i) => (align[i] === 'r' ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i]))).join('  ');
  console.log(fmt(headers).trimEnd());
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(fmt(r).trimEnd());
  console.log();
}

const fmtNs = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`);
const fmtOps = (ns) => Math.round(1e9 / ns).toLocaleString('en-US');
const fmtInt = (n) => n.toLocaleString('en-US');

function makeFixture(bits) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const msg = Buffer.from(MESSAGE, 'utf8');
  const sig = sign('sha256', msg, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
  const spkiBase64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const jwk = publicKey.export({ format: 'jwk' });
  const big = (b64url) => BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex')}`);
  return {
    bits,
    publicKey,
    msg,
    msgBytes: new Uint8Array(msg),
    sig,
    sigBytes: new Uint8Array(sig),
    sigBase64: sig.toString('base64'),
    spkiBase64,
    imported: importPublicKey(spkiBase64),
    microKey: { n: big(jwk.n), e: big(jwk.e) },
  };
}

function candidates(f, { all }) {
  const list = [
    { name: 'ours', label: '(a) verifySignature (this package)', fn: () => verifySignature(f.imported, MESSAGE, f.sigBase64) },
    { name: 'openssl', label: "(b) crypto.verify('sha256') KeyObject (OpenSSL)", fn: () => verify('sha256', f.msg, f.publicKey, f.sig) },
  ];
  if (all) {
    const clients = { [CLIENT_KEY]: f.spkiBase64 }; // created once: the key is imported once and cached
    const options = { clients, now: Date.parse(TIMESTAMP) };
    const request = {
      headers: { 'content-type': 'application/json', 'x-timestamp': TIMESTAMP, 'x-client-key': CLIENT_KEY, 'x-signature': f.sigBase64 },
      body: '{"grantType":"client_credentials","additionalInfo":{}}',
    };
    list.push(
      { name: 'micro', label: '(c) micro-rsa-dsa-dh PKCS1_SHA256.verify', fn: () => PKCS1_SHA256.verify(f.microKey, f.msgBytes, f.sigBytes) },
      { name: 'request', label: '(d) verifyAccessTokenRequest (whole request)', fn: () => verifyAccessTokenRequest(request, options).clientKey === CLIENT_KEY },
      { name: 'native', label: '(e) verifySignature, crypto: nodeCrypto', fn: () => verifySignature(f.imported, MESSAGE, f.sigBase64, { crypto: nodeCrypto }) },
    );
  }
  // Each candidate must accept the valid signature before it is timed.
  for (const c of list) if (c.fn() !== true) throw new Error(`${c.label} did not verify the ${f.bits}-bit signature`);
  // And ours must refuse a tampered one (sanity, not timed).
  const bad = Buffer.from(f.sig);
  bad[bad.length >> 1] ^= 1;
  if (verifySignature(f.imported, MESSAGE, bad.toString('base64')) !== false) throw new Error('tampered signature verified');
  return list;
}

// ---------------------------------------------------------------------------------------
// Speed.

const started = performance.now();
console.log(`nicepay-nico verify bench: node ${process.version}, OpenSSL ${process.versions.openssl}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`);
console.log(`message "${MESSAGE}", e = 65537; ${ROUNDS} rounds round-robin, ~${BATCH_MS} ms per candidate per round; median of rounds\n`);

const f2048 = makeFixture(2048);
const list2048 = candidates(f2048, { all: true });
const r2048 = measure(list2048);

console.log('RSA-2048, SHA-256, PKCS#1 v1.5 verify');
table(
  ['candidate', 'median/op', 'ops/s', 'min..max/op', 'N/round'],
  list2048.map((c) => {
    const r = r2048[c.name];
    return [c.label, fmtNs(r.median), fmtOps(r.median), `${fmtNs(r.min)}..${fmtNs(r.max)}`, r.n];
  }),
  ['l', 'r', 'r', 'r', 'r'],
);

/** Ratio of the medians, and the range of the per-round ratios (same round, so same noise). */
const ratio = (r, a, b) => {
  const perRound = r[a].samples.map((x, i) => x / r[b].samples[i]);
  return { value: r[a].median / r[b].median, min: Math.min(...perRound), max: Math.max(...perRound) };
};
const ratioRows = [
  ['ours / openssl', ratio(r2048, 'ours', 'openssl'), '<= 4.5x', (x) => x <= 4.5],
  ['micro / ours', ratio(r2048, 'micro', 'ours'), '>= 1.5x', (x) => x >= 1.5],
  ['verifyAccessTokenRequest / verifySignature', ratio(r2048, 'request', 'ours'), '<= 1.15x', (x) => x <= 1.15],
  ['ours with nodeCrypto / openssl (the checks in front)', ratio(r2048, 'native', 'openssl'), '<= 1.15x', (x) => x <= 1.15],
];

// Larger keys: (a) vs (b) only.
const bigRows = [];
for (const bits of [3072, 4096]) {
  const f = makeFixture(bits);
  const list = candidates(f, { all: false });
  const r = measure(list);
  const x = ratio(r, 'ours', 'openssl');
  bigRows.push([
    `RSA-${bits}`,
    `${fmtNs(r.ours.median)} (${fmtOps(r.ours.median)}/s)`,
    `${fmtNs(r.openssl.median)} (${fmtOps(r.openssl.median)}/s)`,
    `${x.value.toFixed(2)}x`,
    `${x.min.toFixed(2)}..${x.max.toFixed(2)}x`,
  ]);
}

console.log('Ratios, RSA-2048 (value: ratio of the medians; per-round: range of the ratios within one round)');
table(
  ['ratio', 'value', 'per-round', 'target', 'meets target'],
  ratioRows.map(([name, x, target, meets]) => [name, `${x.value.toFixed(2)}x`, `${x.min.toFixed(2)}..${x.max.toFixed(2)}x`, target, meets(x.value) ? 'yes' : 'no']),
  ['l', 'r', 'r', 'r', 'l'],
);

console.log('Larger keys, (a) verifySignature vs (b) OpenSSL (median/op)');
table(['key', '(a) ours', '(b) openssl', 'ours / openssl', 'per-round'], bigRows, ['l', 'r', 'r', 'r', 'r']);

// ---------------------------------------------------------------------------------------
// Size.

async function bundleSize(label, stdinContents) {
  const result = await build({
    stdin: { contents: stdinContents, resolveDir: root, sourcefile: 'bench-entry.js', loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  const code = result.outputFiles[0].contents;
  const inputs = Object.keys(result.metafile.inputs).filter((p) => p !== 'bench-entry.js');
  return { label, raw: code.length, gzip: gzipSync(code, { level: 9 }).length, modules: inputs.length };
}

const GZIP_TARGET = 16_000; // bytes ("16 kB")
// The access-token verification core: every function of the core library, without the
// endpoint handler, token issuer and claim store that sit on top of it.
const CORE = [
  'buildStringToSign', 'parseTimestamp', 'formatTimestamp', 'importPublicKey', 'importPrivateKey',
  'verifySignature', 'signStringToSign', 'SNAP_RESPONSE_CODES', 'parseResponseCode', 'snapResponse',
  'snapResponseCode', 'SnapError', 'SNAP_ERROR_TABLE', 'isSnapError', 'KeyImportError',
  'verifyAccessTokenRequest', 'createAccessTokenVerifier', 'createTokenResponse', 'timingSafeEqual',
];
const sizes = [
  await bundleSize('core: verification functions and SNAP codes', `export { ${CORE.join(', ')} } from './dist/index.js';`),
  await bundleSize('dist/index.js, everything (export *)', "export * from './dist/index.js';"),
  await bundleSize('only verifySignature + importPublicKey', "export { verifySignature, importPublicKey } from './dist/index.js';"),
  await bundleSize('nicepay-nico/fetch (createFetchHandler)', "export * from './dist/fetch.js';"),
];
console.log('Bundle size: esbuild, bundled with all dependencies, minified, ESM, platform neutral; gzip level 9');
table(
  ['entry', 'input files', 'raw', 'gzip', 'target (gzip)', 'meets target'],
  sizes.map((s, i) => [
    s.label,
    s.modules,
    `${fmtInt(s.raw)} B`,
    `${fmtInt(s.gzip)} B`,
    i === 0 ? `<= ${fmtInt(GZIP_TARGET)} B` : '-',
    i === 0 ? (s.gzip <= GZIP_TARGET ? 'yes' : 'no') : '-',
  ]),
  ['l', 'r', 'r', 'r', 'r', 'l'],
);

console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s (${fmtInt(sink)} verified calls)`);
