#!/usr/bin/env node
/**
 * Measurements only (no timed assertions), run by `npm run bench`: the money path of the
 * transaction handler (createTransactionHandler, in process, symmetric signatures).
 *
 * 1. Cost per call, "before" against "after", interleaved call by call; medians and their ratio.
 *    Every call is a valid payment (~250-byte body, Bearer token from createAccessTokenIssuer),
 *    each one freshly signed with its own X-TIMESTAMP, X-EXTERNAL-ID and paymentRequestId;
 *    all requests are built and signed before timing, so signing is not measured.
 *      before: what the old handler did: no replay guard (replayCache: false), one permanent
 *              claim of the X-EXTERNAL-ID in a claim-only store, no lifecycle, no idempotency;
 *      guards: the money path's defaults: signature replay guard and X-EXTERNAL-ID in memory
 *              claim stores with the reserve / keep / release lifecycle;
 *      after:  the guards plus idempotent answers keyed by paymentRequestId in a memory
 *              idempotency store (opt-in).
 *    The project's target is guards / before <= 1.15x; the figures are printed, never enforced.
 * 2. Memory per entry of the memory stores (this file re-runs itself with --expose-gc: heap
 *    used after a full GC, before and after filling a store with 200,000 entries, env
 *    BENCH_CLAIMS, whose strings are built by the package's own functions as the handler
 *    builds them), and how many seconds of single-core traffic at the measured "after" rate
 *    the default stores hold, against how long each kind of entry is held.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  bodySha256Hex,
  buildSymmetricStringToSign,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  createMemoryIdempotencyStore,
  createTransactionHandler,
  DEFAULT_MAX_CLAIMS,
  DEFAULT_MAX_IDEMPOTENCY_KEYS,
  externalIdClaim,
  formatTimestamp,
  parseTimestamp,
  signatureClaimKey,
  signSymmetric,
} from '../dist/index.js';
import { median } from './lib.mjs';

const CLIENT_KEY = 'IONPAYTEST';
const CLIENT_SECRET = '33F49GnCMS1mFYlGXisbUDzVf2ATWCl9k3R++d5hDd3Frmuos/XLx8XhXpe+LDYAbpGKZYSwtlyyLOtS/8aD7A==';
const TOKEN_SECRET = 'bench-token-secret-of-at-least-32-bytes!';
const SERVICE_CODE = '48';
const PATH = '/api/v1.0/cvs/payment';
const SKEW_SECONDS = 300;
/** Documented default maxEntries of createMemoryIdempotencyStore (not exported). */
const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)];
const us = (ns) => `${(ns / 1000).toFixed(1)} µs`;
/** A 20-digit id, a flat string (as a header value or a parsed JSON string is). */
const id20 = (digit, n) => (BigInt(digit) * 10n ** 19n + BigInt(n)).toString();

if (process.argv[2] === '--memory') {
  memoryChild();
} else {
  await main();
}

// ---------------------------------------------------------------------------------------
// 1. Cost per call.

async function main() {
  const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20000);
  const WARMUP = 1000;
  const CALLS = SAMPLES + WARMUP; // per side

  // A fixed server clock; X-TIMESTAMPs spread over the 300 s before and after it, so every
  // call is fresh and many distinct seconds are signed.
  const T0 = Date.parse('2024-11-13T02:54:37+07:00');
  const NOW = T0 + 150_000;
  const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
  const token = issuer.issue(CLIENT_KEY, NOW);

  let serial = 0;
  const buildRequest = () => {
    const n = serial++;
    const timestamp = formatTimestamp(T0 + (n % 300) * 1000, '+07:00');
    const body =
      `{"partnerServiceId":"  888","customerNo":"12345","virtualAccountNo":"  88812345","paymentRequestId":"${id20(7, n)}",` +
      `"trxDateTime":"${timestamp}","paidAmount":{"value":"10000.00","currency":"IDR"},"additionalInfo":{"goodsNm":"Merchant Goods 1"}}`;
    const signature = signSymmetric(CLIENT_SECRET, buildSymmetricStringToSign({ method: 'POST', path: PATH, accessToken: token, body, timestamp }));
    const headers = {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${token}`,
      'X-TIMESTAMP': timestamp,
      'X-PARTNER-ID': CLIENT_KEY,
      'X-EXTERNAL-ID': id20(4, n),
      'X-SIGNATURE': signature,
      'CHANNEL-ID': '95221',
    };
    return { method: 'POST', path: PATH, headers, body };
  };
  const requests = { before: [], guards: [], after: [] };
  for (let i = 0; i < CALLS; i++) {
    requests.before.push(buildRequest());
    requests.guards.push(buildRequest());
    requests.after.push(buildRequest());
  }

  // The merchant's code, the same for both: a payment answer of ~200 bytes.
  const handle = ({ body }) => ({
    responseCode: '2004800',
    responseMessage: 'Successful',
    virtualAccountData: {
      partnerServiceId: body.partnerServiceId,
      customerNo: body.customerNo,
      virtualAccountNo: body.virtualAccountNo,
      paymentRequestId: body.paymentRequestId,
    },
  });
  let lastError; // why a call was not answered 200, for the fixture's error message
  const common = {
    onError: (error) => {
      lastError = error;
    },
    serviceCode: SERVICE_CODE,
    clients: { [CLIENT_KEY]: { clientSecret: CLIENT_SECRET } },
    tokens: issuer,
    clockSkewSeconds: SKEW_SECONDS,
    now: () => NOW,
    handle,
  };
  const oldIds = createMemoryClaimStore();
  const handlers = {
    before: createTransactionHandler({ ...common, replayCache: false, externalIds: { claim: (k, t) => oldIds.claim(k, t) } }),
    guards: createTransactionHandler({ ...common, replayCache: createMemoryClaimStore(), externalIds: createMemoryClaimStore() }),
    after: createTransactionHandler({
      ...common,
      replayCache: createMemoryClaimStore(),
      externalIds: createMemoryClaimStore(),
      idempotency: {
        key: (v) => v.body.paymentRequestId,
        store: createMemoryIdempotencyStore({ maxEntries: Math.max(DEFAULT_MAX_IDEMPOTENCY_KEYS, CALLS) }),
      },
    }),
  };

  const probe = await handlers.after(buildRequest());
  if (probe.status !== 200) throw new Error(`bench fixture does not verify: ${probe.status} ${probe.body}`, { cause: lastError });
  const bodyBytes = Buffer.byteLength(requests.after[0].body);
  const answerBytes = Buffer.byteLength(probe.body);

  // Interleaved call by call (before, guards, after, before, ...), each timed alone; the
  // first WARMUP pairs are not counted.
  const times = { before: [], guards: [], after: [] };
  const call = async (side, i) => {
    const t0 = process.hrtime.bigint();
    const response = await handlers[side](requests[side][i]);
    const ns = Number(process.hrtime.bigint() - t0);
    if (response.status !== 200) throw new Error(`${side} call ${i}: ${response.status} ${response.body}`, { cause: lastError });
    return ns;
  };
  for (let i = 0; i < CALLS; i++) {
    const a = await call('before', i);
    const g = await call('guards', i);
    const b = await call('after', i);
    if (i >= WARMUP) {
      times.before.push(a);
      times.guards.push(g);
      times.after.push(b);
    }
  }

  const mBefore = median(times.before);
  const mAfter = median(times.after);
  const ratio = mAfter / mBefore;
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const line = (label, xs) => `  ${label}${us(median(xs)).padStart(9)}  [${us(q(xs, 0.1))}..${us(q(xs, 0.9))}]  mean ${us(mean(xs))}`;
  console.log(
    `\nTransaction handler money path, in process, symmetric, ${bodyBytes}-byte payment body, ${answerBytes}-byte answer ` +
      `(${SAMPLES} interleaved calls each; median, [p10..p90], mean with GC pauses)`,
  );
  const guardsRatio = median(times.guards) / mBefore;
  console.log(line('before: no replay guard, X-EXTERNAL-ID claim() only           ', times.before));
  console.log(line('guards: replay guard + X-EXTERNAL-ID, with the lifecycle      ', times.guards));
  console.log(line('after:  the guards + idempotent answers (opt-in)              ', times.after));
  console.log(`  ratio guards / before (the lifecycle and both guards)         ${guardsRatio.toFixed(2)}x  (target <= 1.15x: ${guardsRatio <= 1.15 ? 'yes' : 'no'})`);
  console.log(`  ratio after / before (idempotency too)                        ${ratio.toFixed(2)}x`);
  console.log(`  extra cost of the money path                                  ${us(mAfter - mBefore)} per call (median); ratio of means ${(mean(times.after) / mean(times.before)).toFixed(2)}x`);

  // -------------------------------------------------------------------------------------
  // 2. Memory per entry, in a child with --expose-gc.

  const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory'], {
    env: process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`memory measurement failed (exit ${child.status})`);
  const mem = JSON.parse(child.stdout);
  const rate = 1e6 / (mAfter / 1000); // calls per second on one core, "after" path
  const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;
  // A signature is kept until its X-TIMESTAMP is 15 minutes old (or the widest clock window,
  // if larger); a call arrives up to the clock window before or after its X-TIMESTAMP.
  const windowHold = [900 - SKEW_SECONDS, 900 + SKEW_SECONDS];
  const dayHold = 86_400 + SKEW_SECONDS; // an X-EXTERNAL-ID is kept until the end of its day (at most a day plus the window)
  const claimFill = DEFAULT_MAX_CLAIMS / rate;
  const idemFill = DEFAULT_MAX_IDEMPOTENCY_KEYS / rate;

  const bytes = (m) => `${m.median.toFixed(0).padStart(4)} B${m.max - m.min > 0.05 * m.median ? ` (fills ${m.min.toFixed(0)}-${m.max.toFixed(0)})` : ''}`;
  console.log(`\nMemory per entry (${mem.entries} entries per store, heap used after full GC, median of 3 fills)`);
  console.log(`  createMemoryClaimStore, X-EXTERNAL-ID by claim() (before)          ${bytes(mem.xidClaim)} per claim   e.g. ${mem.samples.xid}`);
  console.log(`  createMemoryClaimStore, X-EXTERNAL-ID by reserve()+keep() (after)  ${bytes(mem.xidKept)} per claim`);
  console.log(`  createMemoryClaimStore, signature by reserve()+keep() (after)      ${bytes(mem.sigKept)} per claim   e.g. ${mem.samples.sig}`);
  console.log(`  createMemoryIdempotencyStore, begin()+complete(), ${mem.answerBytes}-byte answer   ${bytes(mem.idem)} per key`);
  const perCall = mem.xidKept.median + mem.sigKept.median + mem.idem.median;
  console.log(`  one "after" call keeps                                             ${perCall.toFixed(0).padStart(4)} B (signature + X-EXTERNAL-ID + answer)`);

  console.log(`\nDefault stores at the measured "after" rate, one core: ${Math.round(rate)} calls/s (1e6 / ${us(mAfter)})`);
  console.log(`  createMemoryClaimStore, DEFAULT_MAX_CLAIMS = ${DEFAULT_MAX_CLAIMS}: fills in ${claimFill.toFixed(0)} s of traffic at that rate`);
  console.log(
    `    as replay cache (signatures held ${windowHold[0]}-${windowHold[1]} s):   full ~${mb(DEFAULT_MAX_CLAIMS * mem.sigKept.median)}; ` +
      `holds ${(claimFill / windowHold[1]).toFixed(2)}-${(claimFill / windowHold[0]).toFixed(2)}x a window at that rate; ` +
      `sustains ${Math.round(DEFAULT_MAX_CLAIMS / windowHold[1])}-${Math.round(DEFAULT_MAX_CLAIMS / windowHold[0])} calls/s`,
  );
  console.log(
    `    as externalIds (held to end of day, <= ${dayHold} s):   full ~${mb(DEFAULT_MAX_CLAIMS * mem.xidKept.median)}; ` +
      `holds ${((claimFill / dayHold) * 100).toFixed(2)}% of a day at that rate; sustains ${(DEFAULT_MAX_CLAIMS / dayHold).toFixed(1)} calls/s averaged over a day`,
  );
  console.log(
    `  createMemoryIdempotencyStore, default ${DEFAULT_MAX_IDEMPOTENCY_KEYS} keys (answers held ${DEFAULT_IDEMPOTENCY_TTL_SECONDS} s): full ~${mb(DEFAULT_MAX_IDEMPOTENCY_KEYS * mem.idem.median)}; ` +
      `fills in ${idemFill.toFixed(0)} s at that rate; sustains ${(DEFAULT_MAX_IDEMPOTENCY_KEYS / DEFAULT_IDEMPOTENCY_TTL_SECONDS).toFixed(2)} calls/s averaged over a day`,
  );
}

// ---------------------------------------------------------------------------------------
// 2. Memory per entry (child process, run with --expose-gc). Every string an entry keeps is
// built the way the handler builds it: keys by the package's own externalIdClaim and
// signatureClaimKey, reservation tokens as newReservationToken does, the idempotency
// fingerprint by bodySha256Hex, the answer by JSON.stringify; each entry's strings distinct.

function memoryChild() {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('run with --expose-gc');
  const N = Number(process.env.BENCH_CLAIMS ?? 200_000);
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  // Three fills after a warm-up (so that compiled code does not count as the store's); the
  // median and the range. V8 does not always keep a key string the same way (its cons-string
  // tree, or a flattened copy too), so a figure can move by ~60 B from one fill to the next.
  const perEntry = (fill) => {
    for (let i = 0; i < 2; i++) fill(20_000);
    const runs = [];
    for (let r = 0; r < 3; r++) runs.push(once(fill));
    return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
  };
  // One fill in a frame of its own, so that no register keeps the store alive afterwards.
  const once = (fill) => {
    const start = heap();
    const store = fill(N);
    const bytes = (heap() - start) / N;
    if (store.size !== N) throw new Error(`store holds ${store.size} entries, not ${N}`);
    return bytes;
  };
  // As newReservationToken: 22 base64url characters per process, '.', a base-36 counter.
  const prefix = createHash('sha256').update('prefix').digest('base64url').slice(0, 22);
  let counter = 0;
  const newToken = () => `${prefix}.${(++counter).toString(36)}`;
  const TIMESTAMP = '2024-11-13T02:54:37+07:00';
  const parsed = parseTimestamp(TIMESTAMP);
  const xidKey = (i) => externalIdClaim(CLIENT_KEY, id20(4, i), parsed).key;
  const sigKey = (i) => signatureClaimKey(CLIENT_KEY, TIMESTAMP, createHash('sha512').update(`signature ${i}`).digest('base64'));

  const xidClaim = perEntry((n) => {
    const store = createMemoryClaimStore();
    for (let i = 0; i < n; i++) store.claim(xidKey(i), 86_400);
    return store;
  });
  const reserveKeep = (key) => (n) => {
    const store = createMemoryClaimStore();
    for (let i = 0; i < n; i++) {
      const k = key(i);
      const t = newToken();
      store.reserve(k, t, 15);
      store.keep(k, t, 86_400);
    }
    return store;
  };
  const xidKept = perEntry(reserveKeep(xidKey));
  const sigKept = perEntry(reserveKeep(sigKey));

  const answer = (i) =>
    JSON.stringify({
      responseCode: '2004800',
      responseMessage: 'Successful',
      virtualAccountData: { partnerServiceId: '  888', customerNo: '12345', virtualAccountNo: '  88812345', paymentRequestId: id20(7, i) },
    });
  const idem = perEntry((n) => {
    const store = createMemoryIdempotencyStore({ maxEntries: n });
    for (let i = 0; i < n; i++) {
      const k = `idem:${SERVICE_CODE}:${CLIENT_KEY}:${id20(7, i)}`;
      const t = newToken();
      store.begin(k, t, 15);
      store.complete(k, t, { fingerprint: bodySha256Hex(`{"paymentRequestId":"${id20(7, i)}"}`), status: 200, body: answer(i) }, DEFAULT_IDEMPOTENCY_TTL_SECONDS);
    }
    return store;
  });
  process.stdout.write(
    JSON.stringify({ entries: N, xidClaim, xidKept, sigKept, idem, answerBytes: answer(0).length, samples: { xid: xidKey(0), sig: sigKey(0) } }),
  );
}
