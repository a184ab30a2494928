#!/usr/bin/env node
/**
 * Measurements only (no timed assertions): server CPU per request over loopback HTTP, for the
 * access-token call and the CVS inquiry, in four servers (bench/http-servers.mjs), each in
 * its own process:
 *
 *   handwritten  node:http + node:crypto, the checks a merchant writes by hand (the baseline)
 *   node         nicepay-nico/node: createNodeHandler + createNodeTransactionHandler
 *   express      Express 5 with the nicepay-nico/node middlewares
 *   fastify      Fastify 5 with the nicepay-nico/fastify plugin
 *
 * Per call kind and mode, BENCH_HTTP_RUNS runs (default 3, the modes' order rotated run by
 * run): start the server, warm up 1 s, then load it with autocannon (10 connections,
 * pipelining 1) for BENCH_HTTP_SECONDS (default 3). The server reports its own CPU time and
 * the responses it finished at the start and the end of the window: CPU µs per request =
 * ΔcpuUs / Δserved. Requests/s is autocannon's. Every answer must be 2xx, or the bench stops
 * with the first other answer.
 *
 *   token    the same signed access-token request every time (the servers' token replay
 *            guard is off, the one option changed from the package defaults)
 *   inquiry  each request distinct and valid: its own X-EXTERNAL-ID, body and HMAC-SHA512
 *            signature, with a Bearer token from that server's own token endpoint, signed
 *            before the timed window; the inquiry keeps every default guard
 *
 * Environment: NICO_DIST (the built package; default ../dist), BENCH_HTTP_RUNS,
 * BENCH_HTTP_SECONDS, BENCH_HTTP_CONNECTIONS (default 10); BENCH_HTTP_MODES and BENCH_HTTP_KINDS (comma-separated subsets, to
 * look at one case; keep handwritten in for the ratios).
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const NICO_DIST = resolve(process.env.NICO_DIST ?? join(here, '../dist'));
const RUNS = Number(process.env.BENCH_HTTP_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
const WARMUP_SECONDS = 1;
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 10);
const list = (name, all) => (process.env[name] ? process.env[name].split(',').filter((x) => all.includes(x)) : all);
const MODES = list('BENCH_HTTP_MODES', ['handwritten', 'node', 'core', 'express', 'fastify']); // handwritten first: the baseline
const KINDS = list('BENCH_HTTP_KINDS', ['token', 'inquiry']);
const CLIENT_KEY = 'IONPAYTEST';
const TOKEN_PATH = '/api/v1.0/access-token/b2b';
const INQUIRY_PATH = '/api/v1.0/cvs/inquiry';
const TOKEN_BODY = '{"grantType":"client_credentials","additionalInfo":{}}';
const WARMUP_POOL = 20_000; // signed inquiries for the warm-up second (more are signed should a server answer more)

const started = process.hrtime.bigint();
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' });
const tokenSecret = randomBytes(32).toString('base64');
const clientSecret = randomBytes(32).toString('base64'); // its UTF-8 bytes are the HMAC key, as NICEPAY's

const stamp = (ms = Date.now()) => `${new Date(ms + 7 * 3600_000).toISOString().slice(0, 19)}+07:00`;
/** The whole machine's busy CPU time, µs (Linux /proc/stat; undefined elsewhere): to see what else ran. */
const machineBusyUs = () => {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = ticks;
    return ((user + nice + system + irq + softirq + steal) * 1e6) / 100; // USER_HZ = 100
  } catch {
    return undefined;
  }
};
const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** One signed access-token request (RSA PKCS#1 v1.5 is deterministic: the same every time). */
function tokenRequest() {
  const timestamp = stamp();
  const signature = sign('sha256', Buffer.from(`${CLIENT_KEY}|${timestamp}`), privateKey).toString('base64');
  return {
    method: 'POST',
    path: TOKEN_PATH,
    headers: { 'Content-Type': 'application/json', 'X-TIMESTAMP': timestamp, 'X-CLIENT-KEY': CLIENT_KEY, 'X-SIGNATURE': signature },
    body: TOKEN_BODY,
  };
}

let serial = 0;
/** `count` distinct inquiries, each signed as NICEPAY signs them (HMAC-SHA512, minified body hash). */
function inquiryPool(accessToken, count) {
  const timestamp = stamp(); // the same second for all: the bodies, so the signatures, differ
  const prefix = String(Date.now()).slice(-10);
  const pool = new Array(count);
  for (let i = 0; i < count; i++) {
    const n = String(++serial).padStart(9, '0');
    const body = `{"paymentCode":"888${n}","inquiryRequestId":"INQ${prefix}${n}","trxDateInit":"${timestamp}"}`; // already minified
    const hash = createHash('sha256').update(body).digest('hex');
    const signature = createHmac('sha512', clientSecret).update(`POST:${INQUIRY_PATH}:${accessToken}:${hash}:${timestamp}`).digest('base64');
    pool[i] = {
      method: 'POST',
      path: INQUIRY_PATH,
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${accessToken}`,
        'X-TIMESTAMP': timestamp,
        'X-PARTNER-ID': CLIENT_KEY,
        'X-EXTERNAL-ID': `${prefix}${n}`, // 19 digits, unique in the run
        'CHANNEL-ID': `${CLIENT_KEY}01`,
        'X-SIGNATURE': signature,
      },
      body: Buffer.from(body),
    };
  }
  return pool;
}

async function startServer(mode) {
  // BENCH_SERVER_NODE_ARGS: flags for the server process, e.g. "--cpu-prof --cpu-prof-dir=prof" to profile it.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(here, 'http-servers.mjs'), mode], {
    env: { ...process.env, NICO_DIST, NICEPAY_PUBLIC_KEY: publicKeyPem, TOKEN_SECRET: tokenSecret, CLIENT_KEY, CLIENT_SECRET: clientSecret },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  const nextLine = () =>
    new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`${mode} server: no answer within 10 s`)), 10_000);
      waiting.push((line) => {
        clearTimeout(timer);
        resolveLine(line);
      });
    });
  lines.on('line', (line) => waiting.shift()?.(line));
  const exited = once(child, 'exit');
  const first = await Promise.race([nextLine(), exited.then(([code]) => Promise.reject(new Error(`${mode} server exited (${code}) before listening`)))]);
  const port = Number(/^port (\d+)$/.exec(first)?.[1]);
  if (!port) throw new Error(`${mode} server: unexpected first line ${JSON.stringify(first)}`);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    async mark() {
      const answer = nextLine();
      child.stdin.write('mark\n');
      return JSON.parse(await answer);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * autocannon for `seconds`, every request from `next()`; throws on any answer that is not
 * 2xx (with the first such answer), on errors and timeouts. The driver's own CPU is measured.
 */
async function load(url, seconds, next, label) {
  let firstBad;
  const onResponse = (status, body) => {
    if ((status < 200 || status > 299) && firstBad === undefined) firstBad = `${status} ${body}`;
  };
  const cpu0 = cpuUs();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, ...next() }), onResponse }],
  });
  const driverUs = cpuUs() - cpu0;
  if (firstBad !== undefined || result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts; first non-2xx: ${firstBad ?? '(none)'}`);
  }
  if (result.requests.total === 0) throw new Error(`${label}: no request answered`);
  return { result, driverUs };
}

/**
 * A source of requests from a pool signed in advance. Should the server outrun the estimate,
 * more are signed on the fly, 1,000 at a time (driver CPU inside the window), and counted:
 * the report says so. A request is never sent twice (the server would refuse it).
 */
function fromPool(pool, sign) {
  let i = 0;
  const source = () => {
    if (i === pool.length) {
      pool = sign(1_000);
      i = 0;
      source.signedLate += pool.length;
    }
    return pool[i++];
  };
  source.signedLate = 0;
  return source;
}

async function run(kind, mode, runIndex) {
  const label = `${kind}/${mode} run ${runIndex + 1}`;
  const server = await startServer(mode);
  try {
    let next;
    if (kind === 'token') {
      const request = tokenRequest();
      next = () => request;
      await load(server.url, WARMUP_SECONDS, next, `${label} warm-up`);
    } else {
      const request = tokenRequest();
      const answer = await fetch(server.url + TOKEN_PATH, { method: 'POST', headers: request.headers, body: request.body });
      const text = await answer.text();
      if (answer.status !== 200) throw new Error(`${label}: token endpoint answered ${answer.status} ${text}`);
      const { accessToken } = JSON.parse(text);
      const signMore = (n) => inquiryPool(accessToken, n);
      const warm = fromPool(signMore(WARMUP_POOL), signMore);
      const { result } = await load(server.url, WARMUP_SECONDS, warm, `${label} warm-up`);
      // Enough for the window at 2.5 times the warm-up rate (at least 8,000/s: a warm-up
      // slowed by other load must not starve the window), signed before it starts.
      const rate = Math.max(result.requests.total / WARMUP_SECONDS, 8_000);
      next = fromPool(signMore(Math.ceil(rate * SECONDS * 2.5)), signMore);
    }
    const machine0 = machineBusyUs(); // brackets the server's window: "other" errs towards 0, never below
    const before = await server.mark();
    const t0 = process.hrtime.bigint();
    const { result, driverUs } = await load(server.url, SECONDS, next, label);
    const after = await server.mark();
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
    const machine1 = machineBusyUs();
    const served = after.served - before.served;
    const cpu = after.cpuUs - before.cpuUs;
    // The server's count divides its CPU: it must match what autocannon saw (up to the few in flight at the end).
    if (Math.abs(served - result.requests.total) > Math.max(CONNECTIONS * 2, result.requests.total * 0.01)) {
      throw new Error(`${label}: the server finished ${served} responses, autocannon counted ${result.requests.total}`);
    }
    return {
      cpuPerReq: cpu / served,
      userPerReq: (after.userUs - before.userUs) / served,
      rps: result.requests.average,
      total: result.requests.total,
      served,
      serverBusy: cpu / wallUs, // share of one core
      driverPerReq: driverUs / result.requests.total,
      driverBusy: driverUs / wallUs,
      // CPU of everything else on the machine during the window (share of one core; steal included)
      otherBusy: machine0 === undefined ? NaN : (machine1 - machine0 - (after.cpuUs - before.cpuUs) - driverUs) / wallUs,
      rssMb: after.rss / 1048576,
      signedLate: next.signedLate ?? 0,
    };
  } finally {
    await server.stop();
  }
}

console.log(`HTTP bench: ${KINDS.join(', ')} x ${MODES.join(', ')}; ${RUNS} runs each of ${SECONDS} s (+${WARMUP_SECONDS} s warm-up), autocannon ${CONNECTIONS} connections, pipelining 1`);
console.log(`package: ${NICO_DIST}; node ${process.version}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const results = {};
for (const kind of KINDS) {
  results[kind] = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let r = 0; r < RUNS; r++) {
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]); // rotated run by run
    for (const mode of order) results[kind][mode].push(await run(kind, mode, r));
  }
}

const f1 = (x) => x.toFixed(1);
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '?');
for (const kind of KINDS) {
  const base = results[kind].handwritten ? median(results[kind].handwritten.map((x) => x.cpuPerReq)) : NaN;
  const userBase = results[kind].handwritten ? median(results[kind].handwritten.map((x) => x.userPerReq)) : NaN;
  console.log(`\n${kind === 'token' ? 'Access token (RSA-2048 verify + token issue)' : 'CVS inquiry (token check, HMAC-SHA512, replay + X-EXTERNAL-ID guards)'}: server CPU per request, median [runs]`);
  console.log('  mode          CPU µs/req                      ratio   user µs/req  ratio   req/s (median [runs])            server busy   driver µs/req (busy)   other busy   RSS MB');
  for (const mode of MODES) {
    const runs = results[kind][mode];
    const cpu = median(runs.map((x) => x.cpuPerReq));
    const ratio = cpu / base;
    const user = median(runs.map((x) => x.userPerReq));
    const target = mode === 'node' ? (ratio <= 1.1 ? '  (target <= 1.1x: yes)' : '  (target <= 1.1x: NO)') : '';
    console.log(
      `  ${mode.padEnd(12)}  ${f1(cpu).padStart(6)} [${runs.map((x) => f1(x.cpuPerReq)).join(', ')}]`.padEnd(48) +
        `  ${ratio.toFixed(2)}x  ${f1(user).padStart(9)}  ${(user / userBase).toFixed(2)}x` +
        `  ${String(Math.round(median(runs.map((x) => x.rps)))).padStart(6)} [${runs.map((x) => Math.round(x.rps)).join(', ')}]`.padEnd(43) +
        `  ${Math.round(median(runs.map((x) => x.serverBusy)) * 100)}%`.padStart(6) +
        `         ${f1(median(runs.map((x) => x.driverPerReq)))} (${pct(median(runs.map((x) => x.driverBusy)))})`.padEnd(23) +
        `  [${runs.map((x) => pct(x.otherBusy)).join(' ')}]`.padEnd(15) +
        `${Math.round(median(runs.map((x) => x.rssMb)))}`.padStart(6) +
        target,
    );
  }
}
const late = KINDS.flatMap((kind) => MODES.flatMap((mode) => results[kind][mode].map((x, r) => [kind, mode, r, x.signedLate]))).filter((x) => x[3] > 0);
for (const [kind, mode, r, n] of late) console.log(`note: ${kind}/${mode} run ${r + 1}: the pool ran dry, ${n} requests were signed inside the window (driver CPU)`);
const totalS = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`\nCPU: the server process's user + system CPU (process.cpuUsage) over the window / responses it finished; user: user-space CPU only (JavaScript, GC, OpenSSL), without the kernel's socket work, which grows when the load generator sleeps between answers.`);
console.log(`server busy: server CPU / window wall time (100% = one core). driver: this process's CPU per request (autocannon + request setup) and its busy share.`);
console.log(`other busy: CPU of everything else on the machine in each run's window (/proc/stat minus server and driver; ${availableParallelism()} CPUs here; tick-based, about ±5%); high values mean the runs were disturbed.`);
console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}; total ${totalS.toFixed(0)} s`);
