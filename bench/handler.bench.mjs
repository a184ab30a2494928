#!/usr/bin/env node
/**
 * Measurements only (no timed assertions), run by `npm run bench`: what the endpoint costs
 * in process, beyond its signature check, on each crypto path. The HTTP figures (server CPU
 * per request against a hand-written endpoint) are in bench/http.bench.mjs.
 *
 *   bare          verifySignature(key, stringToSign, signature) alone
 *   handler       createAccessTokenHandler, one whole valid request (header and body checks,
 *                 clock, RSA verify, token issue, JSON and headers); the replay guard off, as
 *                 the same signed request is sent again and again
 * each with crypto: jsCrypto (pure JS, the core's default) and nodeCrypto (OpenSSL, the
 * adapters' default). Method: as verify.bench.mjs: warm-up, then ROUNDS rounds of a batch
 * of calls per candidate (~BATCH_MS each), round-robin with the order rotated each round;
 * the median per call over the rounds. Batches, not call-by-call timers: a timer read per
 * call of an async handler made the bare verify read slower than verify.bench.mjs.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createAccessTokenHandler, formatTimestamp, importPublicKey, jsCrypto, verifySignature } from '../dist/index.js';
import { nodeCrypto } from '../dist/node.js';
import { median } from './lib.mjs';

const CLIENT_KEY = 'IONPAYTEST';
const BODY = '{"grantType":"client_credentials","additionalInfo":{}}';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const BATCH_MS = 100;

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = importPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
const secret = randomBytes(32).toString('base64');
const timestamp = formatTimestamp(Date.now()); // valid for 300 s: the bench takes less
const stringToSign = `${CLIENT_KEY}|${timestamp}`;
const signature = sign('sha256', Buffer.from(stringToSign), privateKey).toString('base64');
const request = {
  method: 'POST',
  path: '/api/v1.0/access-token/b2b',
  headers: { 'Content-Type': 'application/json', 'X-TIMESTAMP': timestamp, 'X-CLIENT-KEY': CLIENT_KEY, 'X-SIGNATURE': signature },
  body: BODY,
};

const candidates = [];
for (const [name, crypto] of [['jsCrypto', jsCrypto], ['nodeCrypto', nodeCrypto]]) {
  const handle = createAccessTokenHandler({ clients: { [CLIENT_KEY]: key }, tokenSecret: secret, replayCache: false, crypto });
  candidates.push(
    { name: `bare ${name}`, fn: async () => verifySignature(key, stringToSign, signature, { crypto }) },
    { name: `handler ${name}`, fn: async () => (await handle(request)).status === 200 },
  );
}
for (const c of candidates) if ((await c.fn()) !== true) throw new Error(`${c.name}: the fixture does not verify`);

async function batch(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if ((await fn()) !== true) throw new Error('refused');
  return Number(process.hrtime.bigint() - t0) / n;
}
for (const c of candidates) {
  const perCall = await batch(c.fn, 200); // warm-up, and the batch size
  c.n = Math.max(10, Math.round((BATCH_MS * 1e6) / perCall));
  c.samples = [];
}
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < candidates.length; j++) {
    const c = candidates[(round + j) % candidates.length];
    c.samples.push(await batch(c.fn, c.n));
  }
}
const us = (ns) => `${(ns / 1000).toFixed(1)} µs`;
const m = Object.fromEntries(candidates.map((c) => [c.name, median(c.samples)]));
console.log(`\nAccess-token handler in process, RSA-2048 (${ROUNDS} rounds of ~${BATCH_MS} ms per candidate, round-robin; median per call)`);
console.log('  crypto        bare verifySignature   whole request (handler)   handler / bare   handler - bare');
for (const name of ['jsCrypto', 'nodeCrypto']) {
  const bare = m[`bare ${name}`];
  const whole = m[`handler ${name}`];
  console.log(`  ${name.padEnd(12)}  ${us(bare).padStart(20)}   ${us(whole).padStart(23)}   ${(whole / bare).toFixed(2).padStart(13)}x   ${us(whole - bare).padStart(14)}`);
}
console.log(`  handler jsCrypto / handler nodeCrypto: ${(m['handler jsCrypto'] / m['handler nodeCrypto']).toFixed(2)}x`);

// ---------------------------------------------------------------------------------------
// The inquiry, in process: where the time goes, against the hand-written endpoint of
// bench/http.bench.mjs (bench/handwritten.mjs) doing the same checks with node:crypto.
// Every call is a fresh, validly signed inquiry (the guards refuse a repeat), built before
// its batch is timed.

const { createAccessTokenIssuer, createTransactionHandler, verifyTransactionRequest } = await import('../dist/index.js');
const { handwrittenEndpoints } = await import('./handwritten.mjs');
const { createHash, createHmac } = await import('node:crypto');

const CLIENT_SECRET = randomBytes(64).toString('base64');
const TOKEN_SECRET = randomBytes(32).toString('base64');
const INQUIRY = '/api/v1.0/cvs/inquiry';
const bill = { customerName: 'Budi', totalAmount: { value: '25000.00', currency: 'IDR' } };
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' });
const returned = (_res, status, headers, body) => ({ status, headers, body });
const hand = handwrittenEndpoints({ publicKeyPem, tokenSecret: TOKEN_SECRET, clientKey: CLIENT_KEY, clientSecret: CLIENT_SECRET, bill }, returned);
const handToken = JSON.parse(hand.token({ method: 'POST', headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])) }, null, BODY).body).accessToken;
const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
const pkgToken = issuer.issue(CLIENT_KEY);
const common = { serviceCode: '47', clients: { [CLIENT_KEY]: { clientSecret: CLIENT_SECRET } }, tokens: issuer, channelId: (p) => `${p}01`, crypto: nodeCrypto };
const handleOk = ({ body }, { answer }) => answer.ok({ paymentCode: body.paymentCode, ...bill });
const noGuards = createTransactionHandler({ ...common, replayCache: false, externalIds: false, handle: handleOk });
const defaults = createTransactionHandler({ ...common, handle: handleOk });

let serial = 0;
const stamp = formatTimestamp(Date.now());
function inquiries(n, accessToken) {
  const list = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = String(++serial).padStart(10, '0');
    const body = `{"paymentCode":"888${k}","inquiryRequestId":"INQ${k}","trxDateInit":"${stamp}"}`;
    const hash = createHash('sha256').update(body).digest('hex');
    const headers = {
      'content-type': 'application/json', authorization: `Bearer ${accessToken}`, 'x-timestamp': stamp, 'x-partner-id': CLIENT_KEY,
      'x-external-id': `7${k}`, 'channel-id': `${CLIENT_KEY}01`, 'x-signature': createHmac('sha512', CLIENT_SECRET).update(`POST:${INQUIRY}:${accessToken}:${hash}:${stamp}`).digest('base64'),
    };
    list[i] = { method: 'POST', path: INQUIRY, headers, body: Buffer.from(body), text: body };
  }
  return list;
}
const parts = [
  { name: 'hand-written endpoint (node:crypto)', token: handToken, call: async (r) => hand.inquiry(r, null, r.text).status === 200 },
  { name: 'verifyTransactionRequest (checks only)', token: pkgToken, call: async (r) => (await verifyTransactionRequest(r, common)).clientKey === CLIENT_KEY },
  { name: 'handler, guards off', token: pkgToken, call: async (r) => (await noGuards(r)).status === 200 },
  { name: 'handler, defaults (replay + X-EXTERNAL-ID guards)', token: pkgToken, call: async (r) => (await defaults(r)).status === 200 },
];
for (const p of parts) {
  for (const r of inquiries(50, p.token)) if ((await p.call(r)) !== true) throw new Error(`${p.name}: the fixture is refused`);
  p.samples = [];
}
const PER_BATCH = Number(process.env.BENCH_INQUIRY_BATCH ?? 1500);
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < parts.length; j++) {
    const p = parts[(round + j) % parts.length];
    const list = inquiries(PER_BATCH, p.token);
    const t0 = process.hrtime.bigint();
    for (const r of list) if ((await p.call(r)) !== true) throw new Error('refused');
    p.samples.push(Number(process.hrtime.bigint() - t0) / PER_BATCH);
  }
}
const handMedian = median(parts[0].samples);
console.log(`\nCVS inquiry in process, nodeCrypto (${ROUNDS} rounds of ${PER_BATCH} fresh signed calls per candidate, round-robin; median per call)`);
let previous;
for (const p of parts) {
  const value = median(p.samples);
  console.log(`  ${p.name.padEnd(52)} ${us(value).padStart(9)}   ${(value / handMedian).toFixed(2)}x hand-written${previous === undefined ? '' : `   +${us(value - previous)} over the row above`}`);
  previous = value;
}
