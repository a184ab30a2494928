#!/usr/bin/env node
/**
 * Measurements only (no timed assertions), run by `npm run bench` after verify.bench.mjs.
 *
 * 1. In process: the access-token handler's whole cost per valid request (header and body
 *    checks, clock, RSA verify, token issue, JSON and headers) against bare verifySignature
 *    on the same key and signature, interleaved call by call; medians.
 * 2. Over loopback HTTP with autocannon (bounded runs): the nicepay-nico/node adapter
 *    against a hand-written node:http endpoint doing the same checks with node:crypto
 *    (OpenSSL), each server in its own process, alternating runs; ratio of requests/s.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createAccessTokenHandler, formatTimestamp, importPublicKey, verifySignature } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLIENT_KEY = 'IONPAYTEST';
const BODY = '{"grantType":"client_credentials","additionalInfo":{}}';
const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const HTTP_RUNS = 2; // per server, alternating

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' });
const secret = randomBytes(32).toString('base64');
const timestamp = formatTimestamp(Date.now()); // valid for 300 s: the whole bench takes less
const signature = sign('sha256', Buffer.from(`${CLIENT_KEY}|${timestamp}`), privateKey).toString('base64');
const headers = { 'Content-Type': 'application/json', 'X-TIMESTAMP': timestamp, 'X-CLIENT-KEY': CLIENT_KEY, 'X-SIGNATURE': signature };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ns) => `${(ns / 1000).toFixed(1)} µs`;

// ---------------------------------------------------------------------------------------
// 1. In process.

const key = importPublicKey(publicKeyPem);
// The same signed request is sent thousands of times, so the replay guard (on by default)
// is turned off: this measures verification and token issue, like the baseline.
const handle = createAccessTokenHandler({ clients: { [CLIENT_KEY]: key }, tokenSecret: secret, replayCache: false });
const request = { method: 'POST', path: '/api/v1.0/access-token/b2b', headers, body: BODY };
const first = await handle(request);
if (first.status !== 200 || !verifySignature(key, `${CLIENT_KEY}|${timestamp}`, signature)) throw new Error('bench fixture does not verify');

// Interleaved call by call (bare, handler, bare, handler, ...) and timed one by one, so
// both see the same machine state; medians of the per-call times. A call takes ~150 µs,
// so the timer's own cost (well under 1 µs) does not matter.
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 4000);
const bareTimes = [];
const wholeTimes = [];
for (let i = 0; i < SAMPLES + 200; i++) {
  let t0 = process.hrtime.bigint();
  if (!verifySignature(key, `${CLIENT_KEY}|${timestamp}`, signature)) throw new Error('no');
  const bareNs = Number(process.hrtime.bigint() - t0);
  t0 = process.hrtime.bigint();
  if ((await handle(request)).status !== 200) throw new Error('no');
  const wholeNs = Number(process.hrtime.bigint() - t0);
  if (i >= 200) {
    // the first 200 pairs warm up
    bareTimes.push(bareNs);
    wholeTimes.push(wholeNs);
  }
}
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)];
const handlerRatio = median(wholeTimes) / median(bareTimes);
console.log(`\nAccess-token handler, in process, RSA-2048 (${SAMPLES} interleaved calls each; median, [p10..p90])`);
console.log(`  verifySignature (bare)                   ${fmt(median(bareTimes))}  [${fmt(q(bareTimes, 0.1))}..${fmt(q(bareTimes, 0.9))}]`);
console.log(`  createAccessTokenHandler, whole request  ${fmt(median(wholeTimes))}  [${fmt(q(wholeTimes, 0.1))}..${fmt(q(wholeTimes, 0.9))}]`);
console.log(`  ratio handler / bare verify              ${handlerRatio.toFixed(2)}x  (target <= 1.2x: ${handlerRatio <= 1.2 ? 'yes' : 'no'})`);

// ---------------------------------------------------------------------------------------
// 2. Over loopback HTTP.

async function startServer(mode) {
  const child = spawn(process.execPath, [join(here, 'http-server.mjs'), mode], {
    env: { ...process.env, NICEPAY_PUBLIC_KEY: publicKeyPem, TOKEN_SECRET: secret, CLIENT_KEY },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await Promise.race([
    once(child.stdout, 'data'),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${mode} server did not start`)), 10_000)),
  ]);
  const port = Number(/port (\d+)/.exec(String(line))?.[1]);
  return { child, url: `http://127.0.0.1:${port}/api/v1.0/access-token/b2b` };
}

async function load(url, seconds) {
  const result = await autocannon({ url, method: 'POST', headers, body: BODY, connections: 10, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

const rps = { package: [], baseline: [] };
for (let run = 0; run < HTTP_RUNS; run++) {
  for (const mode of run % 2 ? ['baseline', 'package'] : ['package', 'baseline']) {
    const { child, url } = await startServer(mode);
    try {
      await load(url, 1); // warm-up
      rps[mode].push(await load(url, HTTP_SECONDS));
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}
const httpRatio = median(rps.package) / median(rps.baseline);
console.log(`\nOver loopback HTTP, autocannon, 10 connections, ${HTTP_SECONDS} s per run, ${HTTP_RUNS} runs each (requests/s, median)`);
console.log(`  nicepay-nico/node (createNodeHandler)            ${Math.round(median(rps.package))} req/s   runs: ${rps.package.map(Math.round).join(', ')}`);
console.log(`  hand-written node:http + node:crypto (OpenSSL)   ${Math.round(median(rps.baseline))} req/s   runs: ${rps.baseline.map(Math.round).join(', ')}`);
console.log(`  ratio package / hand-written                     ${httpRatio.toFixed(2)}x`);
