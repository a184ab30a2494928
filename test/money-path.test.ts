/**
 * The money path: what happens to the X-EXTERNAL-ID, the signature claim, the idempotency
 * record and the answer NICEPAY gets, for every branch of the inquiry and payment path
 * (the README's "Money safety" table, row by row), and the failure cases that lost or
 * doubled payments before (issue: "Payments that are never lost and never doubled").
 * In-memory stores here; test/redis-money-path.test.ts runs the same against Redis.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  buildStringToSign,
  buildSymmetricStringToSign,
  createAccessTokenHandler,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  createMemoryIdempotencyStore,
  createTransactionHandler,
  externalIdClaim,
  formatTimestamp,
  parseTimestamp,
  signatureClaimKey,
  sha256Hex,
  signSymmetric,
  StoreError,
  type ClaimStore,
  type EndpointResponse,
  type IdempotencyStore,
  type MemoryClaimStore,
  type MemoryIdempotencyStore,
  type TransactionHandlerOptions,
} from '../src/index.js';
import { makeKeys, signedHeaders, signText } from './helpers/nicepay.js';

const CLIENT = 'IONPAYTEST';
const SECRET = 'client-secret-of-the-sandbox';
const TOKEN_SECRET = 'token-secret-of-at-least-thirty-two-bytes';
const NOW = Date.UTC(2024, 10, 13, 3, 0, 0); // 2024-11-13T10:00:00+07:00
const PATH = '/api/v1.0/cvs/payment';
const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
const TOKEN = issuer.issue(CLIENT, NOW - 60_000);
const keys = makeKeys();

const payment = (id = 'PAY-1', amount = '25000.00') =>
  `{"paymentCode":"8880012345","paymentRequestId":"${id}","paidAmount":{"value":"${amount}","currency":"IDR"}}`;

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A payment signed like NICEPAY (symmetric). `second` moves X-TIMESTAMP, so each retry is a new signature. */
function call({ externalId = 'X-1', body = payment(), second = 0, now = NOW, token = TOKEN }: { externalId?: string; body?: string; second?: number; now?: number; token?: string } = {}): Call {
  const timestamp = formatTimestamp(now + second * 1000);
  const signature = signSymmetric(SECRET, buildSymmetricStringToSign({ method: 'POST', path: PATH, accessToken: token, body, timestamp }));
  return {
    method: 'POST',
    path: PATH,
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${token}`,
      'X-TIMESTAMP': timestamp,
      'X-PARTNER-ID': CLIENT,
      'X-EXTERNAL-ID': externalId,
      'X-SIGNATURE': signature,
    },
    body,
  };
}

const code = (r: EndpointResponse) => (JSON.parse(r.body) as { responseCode: string }).responseCode;
const answer = (r: EndpointResponse) => [r.status, code(r)];
const OK = { responseCode: '2004800', responseMessage: 'Successful' };

/** A memory claim store with some methods replaced: a store that fails, stalls or answers garbage. */
const storeWith = (inner: MemoryClaimStore, overrides: Partial<ClaimStore>): ClaimStore => ({
  claim: inner.claim,
  reserve: inner.reserve,
  keep: inner.keep,
  release: inner.release,
  ...overrides,
});

interface Rig {
  handler: ReturnType<typeof createTransactionHandler>;
  handle: ReturnType<typeof vi.fn>;
  onError: ReturnType<typeof vi.fn>;
  replay: MemoryClaimStore;
  xids: MemoryClaimStore;
  idem: MemoryIdempotencyStore;
  /** What the stores hold for a call: 'free', 'pending' or 'kept' (probed without changing anything). */
  state(c: Call): { signature: string; externalId: string; idempotency: string };
}

/** Options to change; `idempotency: undefined` turns idempotency off. */
type Extra = { [K in keyof TransactionHandlerOptions]?: TransactionHandlerOptions[K] | undefined };

function rig(behaviour: (n: number) => unknown = () => OK, extra: Extra = {}): Rig {
  const replay = createMemoryClaimStore();
  const xids = createMemoryClaimStore();
  const idem = createMemoryIdempotencyStore();
  let n = 0;
  const handle = vi.fn(async () => behaviour(n++));
  const onError = vi.fn();
  const handler = createTransactionHandler({
    serviceCode: '48',
    clients: { [CLIENT]: { clientSecret: SECRET, publicKey: keys.publicKeyPem } },
    tokens: issuer,
    now: () => NOW,
    replayCache: replay,
    externalIds: xids,
    idempotency: { key: (v) => (v.body as { paymentRequestId?: string }).paymentRequestId, store: idem },
    onError,
    handle: handle as never,
    ...(extra as Partial<TransactionHandlerOptions>),
  });
  const probe = (store: MemoryClaimStore, key: string): string => {
    const state = store.reserve(key, 'probe-token', 1);
    if (state === 'reserved') {
      store.release(key, 'probe-token');
      return 'free';
    }
    return state;
  };
  return {
    handler,
    handle,
    onError,
    replay,
    xids,
    idem,
    state(c) {
      const ts = parseTimestamp(c.headers['X-TIMESTAMP'] as string);
      const id = JSON.parse(c.body).paymentRequestId as string;
      const idemState = idem.begin(`idem:48:${CLIENT}:s:${id}`, 'probe-token', 1);
      if (idemState.state === 'started') idem.release(`idem:48:${CLIENT}:s:${id}`, 'probe-token');
      return {
        signature: probe(replay, signatureClaimKey(CLIENT, c.headers['X-TIMESTAMP'] as string, c.headers['X-SIGNATURE'] as string)),
        externalId: probe(xids, externalIdClaim(CLIENT, c.headers['X-EXTERNAL-ID'] as string, ts).key),
        idempotency: idemState.state === 'started' ? 'free' : idemState.state === 'done' ? 'stored' : 'in-flight',
      };
    },
  };
}

describe('the money-safety table, row by row', () => {
  it('handle() answers 2xx: everything kept, the answer stored, NICEPAY gets it', async () => {
    const r = rig();
    const c = call();
    expect(answer(await r.handler(c))).toEqual([200, '2004800']);
    expect(r.state(c)).toEqual({ signature: 'kept', externalId: 'kept', idempotency: 'stored' });
  });
  it('handle() answers 4xx: a final answer, everything kept and stored', async () => {
    const r = rig(() => ({ responseCode: '4044812', responseMessage: 'Invalid Bill/Virtual Account' }));
    const c = call();
    expect(answer(await r.handler(c))).toEqual([404, '4044812']);
    expect(r.state(c)).toEqual({ signature: 'kept', externalId: 'kept', idempotency: 'stored' });
  });
  it('handle() answers 5xx: everything released, NICEPAY gets the 5xx', async () => {
    const r = rig(() => ({ responseCode: '5004801', responseMessage: 'Internal Server Error' }));
    const c = call();
    expect(answer(await r.handler(c))).toEqual([500, '5004801']);
    expect(r.state(c)).toEqual({ signature: 'free', externalId: 'free', idempotency: 'free' });
  });
  it('handle() throws: everything released, 500 General Error, onError sees the cause', async () => {
    const r = rig(() => {
      throw new Error('database connection refused');
    });
    const c = call();
    const res = await r.handler(c);
    expect(answer(res)).toEqual([500, '5004800']);
    expect(res.body).not.toContain('database');
    expect(r.state(c)).toEqual({ signature: 'free', externalId: 'free', idempotency: 'free' });
    expect((r.onError.mock.calls[0]?.[0] as Error).message).toBe('database connection refused');
  });
  it('handle() returns an answer that cannot be sent: 500; its code ran, so the X-EXTERNAL-ID, the signature and the idempotency key are held: it never runs twice', async () => {
    const circular: Record<string, unknown> = { ...OK };
    circular.self = circular;
    const answers: unknown[] = [
      'OK',
      null,
      [OK],
      { responseMessage: 'Successful' }, // no responseCode
      { responseCode: 2004800 }, // a number
      { responseCode: '200480' }, // six digits
      { responseCode: '20048000' }, // eight
      { responseCode: ' 2004800' },
      { responseCode: '1004800' }, // 1xx
      { responseCode: '3024800' }, // 3xx
      { responseCode: '2004700', responseMessage: 'Successful' }, // the inquiry's service code on the payment endpoint
      { responseCode: '2004801', responseMessage: 'Successful' }, // not in the SNAP table
      { responseCode: '2004800', responseMessage: 'x'.repeat(151) },
      { responseCode: '2004800', responseMessage: 42 },
      { responseCode: '4044812' }, // its SNAP message has a part to fill: give one
      circular,
      new Date(0),
      { toJSON: () => 'text' },
      // What NICEPAY would get is what is checked, not the object's own view of itself:
      new (class {
        get responseCode() {
          return '2004800';
        }
      })(),
      Object.create({ responseCode: '2004800' }) as object,
      Object.defineProperty({ x: 1 }, 'responseCode', { value: '2004800', enumerable: false }),
      { responseCode: '2004800', toJSON: () => ({ responseCode: '4044714', responseMessage: 'Paid Bill' }) }, // what is sent is checked: another endpoint's code
    ];
    for (const bad of answers) {
      const r = rig(() => bad);
      const c = call();
      expect(answer(await r.handler(c))).toEqual([500, '5004800']);
      expect(r.state(c)).toEqual({ signature: 'kept', externalId: 'kept', idempotency: 'in-flight' });
      expect((r.onError.mock.calls[0]?.[0] as Error).name).toBe('InvalidAnswerError');
      // NICEPAY's retries, under the same X-EXTERNAL-ID or a new one, do not run handle() again.
      expect(answer(await r.handler(call({ second: 1 })))).toEqual([409, '4094800']);
      expect(answer(await r.handler(call({ externalId: 'X-NEW', second: 2 })))).toEqual([409, '4094800']);
      expect(r.handle).toHaveBeenCalledTimes(1);
    }
  });
  it('an answer without responseMessage gets the SNAP table\'s message for its code', async () => {
    const r = rig(() => ({ responseCode: '2004800', paymentNo: 'P-1' }));
    const res = await r.handler(call());
    expect(JSON.parse(res.body)).toEqual({ responseCode: '2004800', paymentNo: 'P-1', responseMessage: 'Successful' });
    const inFlight = rig(() => ({ responseCode: '2024800' }));
    expect(JSON.parse((await inFlight.handler(call())).body).responseMessage).toBe('Request In Progress');
  });
  it('a call refused by verification (bad signature) reserves nothing', async () => {
    const r = rig();
    const c = call();
    const forged = { ...c, headers: { ...c.headers, 'X-SIGNATURE': signSymmetric('wrong-secret', 'x') } };
    expect(answer(await r.handler(forged))).toEqual([401, '4014800']);
    expect(r.state(c)).toEqual({ signature: 'free', externalId: 'free', idempotency: 'free' });
    expect(r.replay.size + r.xids.size + r.idem.size).toBe(0);
    expect(r.handle).not.toHaveBeenCalled();
  });
  it('the signature was already answered (a replay, any X-EXTERNAL-ID): 401, the new id is left free', async () => {
    const r = rig();
    const c = call();
    await r.handler(c);
    const replay = { ...c, headers: { ...c.headers, 'X-EXTERNAL-ID': 'X-NEW' } };
    const res = await r.handler(replay);
    expect(answer(res)).toEqual([401, '4014800']);
    expect(JSON.parse(res.body).responseMessage).toBe('Unauthorized. Request already used');
    expect(r.state(replay).externalId).toBe('free');
    expect(r.handle).toHaveBeenCalledTimes(1);
  });
  it('the X-EXTERNAL-ID was already used today (a new signature): 409, and that signature is spent', async () => {
    const r = rig();
    await r.handler(call());
    const again = call({ second: 1 });
    expect(answer(await r.handler(again))).toEqual([409, '4094800']);
    expect(r.state(again).signature).toBe('kept');
    expect(r.handle).toHaveBeenCalledTimes(1);
  });
  it('a refused retry, captured and replayed under a new X-EXTERNAL-ID, is not processed (no idempotency configured)', async () => {
    const r = rig(undefined, { idempotency: undefined });
    await r.handler(call());
    const retry = call({ second: 1 }); // NICEPAY's retry of an answered payment: 409
    expect(answer(await r.handler(retry))).toEqual([409, '4094800']);
    const replay = { ...retry, headers: { ...retry.headers, 'X-EXTERNAL-ID': 'X-NEW' } };
    expect(answer(await r.handler(replay))).toEqual([401, '4014800']);
    expect(r.handle).toHaveBeenCalledTimes(1);
    expect(r.state(replay).externalId).toBe('free');
  });
  it('a duplicate while the first call is in flight: 409, never reaches handle(), the first is unaffected', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const r = rig(async () => {
      await gate;
      return OK;
    });
    const first = r.handler(call());
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The identical request (same signature), and NICEPAY's retry (same id, new signature).
    expect(answer(await r.handler(call()))).toEqual([409, '4094800']);
    expect(answer(await r.handler(call({ second: 1 })))).toEqual([409, '4094800']);
    // Another X-EXTERNAL-ID with the same paymentRequestId: the idempotency key is in flight.
    expect(answer(await r.handler(call({ externalId: 'X-2', second: 2 })))).toEqual([409, '4094800']);
    release();
    expect(answer(await first)).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(1);
    // The refused copies: their signatures are spent, their X-EXTERNAL-IDs left free.
    expect(r.state(call({ second: 1 })).signature).toBe('kept');
    expect(r.state(call({ externalId: 'X-2', second: 2 }))).toMatchObject({ signature: 'kept', externalId: 'free' });
  });
  it('the same idempotency key and body, answered before: the same answer again, handle() not run, claims kept', async () => {
    let n = 0;
    const r = rig(() => ({ ...OK, paymentNo: `P-${++n}` }));
    const first = await r.handler(call());
    const retry = call({ externalId: 'X-2', second: 1 });
    const again = await r.handler(retry);
    expect([again.status, again.body]).toEqual([first.status, first.body]);
    expect(JSON.parse(again.body).paymentNo).toBe('P-1');
    expect(r.handle).toHaveBeenCalledTimes(1);
    expect(r.state(retry)).toEqual({ signature: 'kept', externalId: 'kept', idempotency: 'stored' });
  });
  it('the same body sent with other whitespace is the same request', async () => {
    const r = rig();
    await r.handler(call());
    const spaced = call({ externalId: 'X-2', second: 1, body: payment().replace(/,/g, ', ').replace(/:/g, ': ') });
    expect(answer(await r.handler(spaced))).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(1);
  });
  it('the same idempotency key with another body: 404 / 4044818 Inconsistent Request, handle() not run, the id left free', async () => {
    const r = rig();
    await r.handler(call());
    const other = call({ externalId: 'X-2', second: 1, body: payment('PAY-1', '99999.00') });
    const res = await r.handler(other);
    expect(answer(res)).toEqual([404, '4044818']);
    expect(JSON.parse(res.body).responseMessage).toBe('Inconsistent Request');
    expect(r.handle).toHaveBeenCalledTimes(1);
    expect(r.state(other)).toMatchObject({ signature: 'kept', externalId: 'free' });
  });
  it('a 5xx answer is never stored: the retry under the same idempotency key runs handle() again', async () => {
    const r = rig((n) => (n === 0 ? { responseCode: '5004800', responseMessage: 'General Error' } : OK));
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    expect(answer(await r.handler(call({ externalId: 'X-2', second: 1 })))).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(2);
  });
  it('idempotency.key() that throws: 500, everything released', async () => {
    const r = rig(undefined, {
      idempotency: {
        key: () => {
          throw new Error('no paymentRequestId');
        },
      },
    });
    const c = call();
    expect(answer(await r.handler(c))).toEqual([500, '5004800']);
    expect(r.state(c)).toMatchObject({ signature: 'free', externalId: 'free' });
    expect(r.handle).not.toHaveBeenCalled();
  });
  it('idempotency.key(): numbers are keys, long keys are hashed, absent values skip, objects are a configuration error', async () => {
    let key: unknown = 12345;
    const r = rig(undefined, { idempotency: { key: () => key } });
    let second = 0;
    const send = async () => answer(await r.handler(call({ externalId: `N-${second}`, second: second++ })));
    // A number and the same number as a bigint are the same key: the second is the stored answer.
    expect(await send()).toEqual([200, '2004800']);
    key = 12345n;
    expect(await send()).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(1);
    // A key of any length works (long ones are hashed): the same long key twice runs handle() once.
    key = 'k'.repeat(5000);
    expect(await send()).toEqual([200, '2004800']);
    expect(await send()).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(2);
    // Absent values, and what String() makes of them, skip idempotency: each runs handle().
    for (const absent of [null, '', 'undefined', 'null']) {
      key = absent;
      expect(await send()).toEqual([200, '2004800']);
    }
    expect(r.handle).toHaveBeenCalledTimes(6);
    // An object is a configuration error: 500, and onError says why.
    key = { id: 1 };
    expect(await send()).toEqual([500, '5004800']);
    const messages = r.onError.mock.calls.map(([e]) => (e as Error).message).filter((m) => m.includes('idempotency.key()'));
    expect(messages).toEqual([expect.stringMatching(/returned object; it must return a string or a number/)]);
  });
  it('idempotency.key() returning undefined skips idempotency for that call', async () => {
    const r = rig(undefined, { idempotency: { key: () => undefined } });
    expect(answer(await r.handler(call()))).toEqual([200, '2004800']);
    expect(answer(await r.handler(call({ externalId: 'X-2', second: 1 })))).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(2);
  });
});

describe('the five ways payments were lost or doubled', () => {
  it('1. a failed handle() no longer burns the X-EXTERNAL-ID: NICEPAY\'s retry is processed, once', async () => {
    const paid: string[] = [];
    const r = rig((n) => {
      if (n === 0) throw new Error('database briefly down');
      paid.push('PAY-1');
      return OK;
    });
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    expect(answer(await r.handler(call({ second: 3 })))).toEqual([200, '2004800']);
    expect(answer(await r.handler(call({ second: 6 })))).toEqual([409, '4094800']);
    expect(paid).toEqual(['PAY-1']);
  });
  it('1b. the same when handle() answers 5xx', async () => {
    const r = rig((n) => (n === 0 ? { responseCode: '5044800', responseMessage: 'Timeout' } : OK));
    expect(answer(await r.handler(call()))).toEqual([504, '5044800']);
    expect(answer(await r.handler(call({ second: 3 })))).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(2);
  });
  it('3. a captured payment replayed six times with new X-EXTERNAL-IDs is processed once', async () => {
    const r = rig(undefined, { idempotency: undefined });
    const c = call();
    expect(answer(await r.handler(c))).toEqual([200, '2004800']);
    for (let i = 0; i < 6; i++) {
      const replay = { ...c, headers: { ...c.headers, 'X-EXTERNAL-ID': `forged-${i}` } };
      expect(answer(await r.handler(replay))).toEqual([401, '4014800']);
    }
    expect(r.handle).toHaveBeenCalledTimes(1);
  });
  it('4. the identical signed request at 23:59:58 and again at 00:00:03 (+07:00) is processed once', async () => {
    const stamp = Date.UTC(2024, 10, 13, 16, 59, 58); // 2024-11-13T23:59:58+07:00
    let clock = stamp + 1000;
    const c = call({ now: stamp, token: issuer.issue(CLIENT, stamp - 60_000) });
    // With the replay guard (the default) and without it: the X-EXTERNAL-ID's day is X-TIMESTAMP's.
    for (const replayCache of [undefined, false as const]) {
      clock = stamp + 1000;
      const r = rig(undefined, { now: () => clock, idempotency: undefined, ...(replayCache === false ? { replayCache } : {}) });
      expect(answer(await r.handler(c))).toEqual([200, '2004800']);
      clock = stamp + 5000; // 00:00:03 the next day
      expect(answer(await r.handler(c))[0]).toBeGreaterThanOrEqual(401);
      expect(r.handle).toHaveBeenCalledTimes(1);
    }
    // The claim lasts until the end of X-TIMESTAMP's day plus the clock window.
    expect(externalIdClaim(CLIENT, 'X-1', parseTimestamp(c.headers['X-TIMESTAMP'] as string))).toEqual({
      key: `xid:${CLIENT}:2024-11-13:X-1`,
      day: '2024-11-13',
      endOfDayMs: Date.UTC(2024, 10, 13, 17, 0, 0),
    });
  });
  it('5. an access-token X-SIGNATURE is not a payment signature in asymmetric mode (default stores, no configuration)', async () => {
    const ts = formatTimestamp(NOW - 7000);
    const accessToken = createAccessTokenHandler({ clients: { [CLIENT]: keys.publicKeyPem }, tokenSecret: TOKEN_SECRET, now: () => NOW });
    const headers = signedHeaders(keys.privateKey, CLIENT, ts);
    const got = await accessToken({ method: 'POST', headers, body: '{"grantType":"client_credentials","additionalInfo":{}}' });
    expect(got.status).toBe(200);
    const token = JSON.parse(got.body).accessToken as string;
    const handle = vi.fn(() => OK);
    const asymmetric = createTransactionHandler({
      serviceCode: '48',
      signature: 'asymmetric',
      clients: { [CLIENT]: { publicKey: keys.publicKeyPem } },
      tokens: issuer,
      now: () => NOW,
      handle,
    });
    const body = payment('PAY-ATTACK', '1.00');
    const res = await asymmetric({
      method: 'POST',
      path: PATH,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': ts, 'X-PARTNER-ID': CLIENT, 'X-EXTERNAL-ID': 'X-ATTACK', 'X-SIGNATURE': headers['X-SIGNATURE'] as string },
      body,
    });
    expect(answer(res)).toEqual([401, '4014800']);
    expect(handle).not.toHaveBeenCalled();
    // The access-token request itself is not replayable either (on by default).
    expect((await accessToken({ method: 'POST', headers, body: '{"grantType":"client_credentials","additionalInfo":{}}' })).status).toBe(401);
    // A payment signed by NICEPAY for its own second is accepted.
    const own = formatTimestamp(NOW - 5000);
    const ok = await asymmetric({
      method: 'POST',
      path: PATH,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': own, 'X-PARTNER-ID': CLIENT, 'X-EXTERNAL-ID': 'X-OWN', 'X-SIGNATURE': signText(keys.privateKey, buildStringToSign(CLIENT, own)) },
      body,
    });
    expect(answer(ok)).toEqual([200, '2004800']);
  });
});

describe('stores that fail, stall or fill up', () => {
  /** A store that answers after `delayMs` (or never), delegating to a memory store, recording calls. */
  function slowStore(delayMs: number | 'never', { failWith }: { failWith?: Error } = {}) {
    const inner = createMemoryClaimStore();
    const calls: string[] = [];
    const wrap = <A extends unknown[], T>(name: string, f: (...args: A) => T) => (...args: A): Promise<T> => {
      calls.push(name);
      return new Promise<T>((resolve, reject) => {
        if (delayMs === 'never') return;
        setTimeout(() => (failWith ? reject(failWith) : resolve(f(...args))), delayMs);
      });
    };
    const store: ClaimStore = {
      claim: wrap('claim', inner.claim),
      reserve: wrap('reserve', inner.reserve),
      keep: wrap('keep', inner.keep),
      release: (key, token) => {
        calls.push('release');
        return inner.release(key, token);
      },
    };
    return { store, inner, calls };
  }

  it('a store that never answers: 500 within storeTimeoutMs, STORE_TIMEOUT to onError, the reservation released behind it', async () => {
    const { store, calls } = slowStore('never');
    const r = rig(undefined, { externalIds: store, storeTimeoutMs: 50, idempotency: undefined });
    const started = Date.now();
    const res = await r.handler(call());
    expect(Date.now() - started).toBeLessThan(1000);
    expect(answer(res)).toEqual([500, '5004800']);
    const error = r.onError.mock.calls.map(([e]) => e).find((e) => e instanceof StoreError) as StoreError;
    expect(error.code).toBe('STORE_TIMEOUT');
    expect(error.message).toMatch(/externalIds\.reserve did not answer within 50 ms/);
    expect(calls).toEqual(['reserve', 'release']);
    expect(r.handle).not.toHaveBeenCalled();
    // The signature claim was released too, so the identical resend is processed once the store answers.
    expect(r.state(call()).signature).toBe('free');
  });
  it('a reservation that lands after its timeout is removed by the release queued behind it', async () => {
    // The store answers in 100 ms, the handler gives up after 30 ms; release runs after the reservation lands.
    const inner = createMemoryClaimStore();
    const queue: Array<() => void> = [];
    const drain = () => queue.splice(0).forEach((f) => f());
    const store = storeWith(inner, {
      reserve: (k, t, s) => new Promise((resolve) => queue.push(() => resolve(inner.reserve(k, t, s)))),
      keep: (k, t, s) => new Promise((resolve) => queue.push(() => resolve(inner.keep(k, t, s)))),
      release: (k, t) => new Promise((resolve) => queue.push(() => resolve(inner.release(k, t)))),
    });
    const r = rig(undefined, { externalIds: store, storeTimeoutMs: 30, idempotency: undefined });
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    expect(queue).toHaveLength(2); // the reservation, then its release, in order
    drain();
    await Promise.resolve();
    expect(inner.size).toBe(0);
    // NICEPAY's retry is processed.
    const retry = r.handler(call({ second: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    drain(); // reserve
    await new Promise((resolve) => setTimeout(resolve, 5));
    drain(); // keep
    expect(answer(await retry)).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(1);
  });
  it('a store that rejects: 500, STORE_FAILED with the store\'s error as cause, nothing left behind', async () => {
    const { store, inner } = slowStore(1, { failWith: new Error('ECONNREFUSED 127.0.0.1:6379') });
    const r = rig(undefined, { replayCache: store, idempotency: undefined });
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    const error = r.onError.mock.calls.map(([e]) => e).find((e) => e instanceof StoreError) as StoreError;
    expect(error.code).toBe('STORE_FAILED');
    expect(String((error.cause as Error).message)).toContain('ECONNREFUSED');
    expect(inner.size).toBe(0);
    expect(r.xids.size).toBe(0); // the X-EXTERNAL-ID reserved beside it was released
  });
  it('a keep that fails after handle() answered: the answer stands (the payment happened), onError is told', async () => {
    const inner = createMemoryClaimStore();
    const store = storeWith(inner, { keep: () => Promise.reject(new Error('READONLY')) });
    const r = rig(undefined, { externalIds: store, idempotency: undefined });
    expect(answer(await r.handler(call()))).toEqual([200, '2004800']);
    const error = r.onError.mock.calls.map(([e]) => e).find((e) => e instanceof StoreError) as StoreError;
    expect(error.message).toMatch(/externalIds\.keep failed/);
  });
  it('the memory store full: fails closed with 500, onError says it is full and how to size it', async () => {
    const r = rig(undefined, { externalIds: createMemoryClaimStore({ maxEntries: 2 }), idempotency: undefined });
    expect((await r.handler(call({ externalId: 'A', second: 0 }))).status).toBe(200);
    expect((await r.handler(call({ externalId: 'B', second: 1 }))).status).toBe(200);
    expect(answer(await r.handler(call({ externalId: 'C', second: 2 })))).toEqual([500, '5004800']);
    const error = r.onError.mock.calls.map(([e]) => e).find((e) => e instanceof StoreError) as StoreError;
    expect(error.code).toBe('STORE_FULL');
    expect(error.message).toMatch(/full \(2 unexpired claims\).*Raise maxEntries/);
    // A repeat of an unexpired id is still refused: nothing was forgotten.
    expect(answer(await r.handler(call({ externalId: 'A', second: 3 })))).toEqual([409, '4094800']);
    expect(r.handle).toHaveBeenCalledTimes(2);
  });
  it('a slow handle() keeps its reservation past the pending time to live (renewed), so a duplicate meanwhile is 409', async () => {
    const r = rig(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1600));
        return OK;
      },
      { pendingTtlSeconds: 1, storeTimeoutMs: 100, idempotency: undefined },
    );
    const first = r.handler(call());
    await new Promise((resolve) => setTimeout(resolve, 1300)); // past the 1 s pending TTL
    expect(answer(await r.handler(call({ second: 1 })))).toEqual([409, '4094800']);
    expect(answer(await first)).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(1);
    // onError saw the 409 refusal, and no store problem (the renewals all found the reservation).
    expect(r.onError.mock.calls.map(([e]) => (e as Error).name)).toEqual(['SnapError']);
  });
  it('a claim-only store still works (the old interface); a 5xx then keeps the id, as documented', async () => {
    const inner = createMemoryClaimStore();
    const claimOnly: ClaimStore = { claim: (k, t) => inner.claim(k, t) };
    const r = rig((n) => (n === 0 ? { responseCode: '5004800', responseMessage: 'General Error' } : OK), { externalIds: claimOnly, idempotency: undefined });
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    expect(answer(await r.handler(call({ second: 1 })))).toEqual([409, '4094800']);
    expect(answer(await r.handler(call({ externalId: 'X-2', second: 2 })))).toEqual([200, '2004800']);
  });
  it('refuses a store with only some lifecycle methods, and bad timing options, at creation', () => {
    const inner = createMemoryClaimStore();
    expect(() => rig(undefined, { externalIds: { claim: inner.claim, release: inner.release } as ClaimStore })).toThrow(/reserve, keep and release/);
    expect(() => rig(undefined, { replayCache: {} as ClaimStore })).toThrow(/replayCache must be a claim store/);
    expect(() => rig(undefined, { storeTimeoutMs: 0 })).toThrow(/storeTimeoutMs/);
    expect(() => rig(undefined, { pendingTtlSeconds: 1, storeTimeoutMs: 2000 })).toThrow(/longer than storeTimeoutMs/);
    expect(() => rig(undefined, { idempotency: { key: 'paymentRequestId' } as never })).toThrow(/idempotency must be/);
    expect(() => rig(undefined, { idempotency: { key: () => 'k', store: {} as IdempotencyStore } })).toThrow(/begin, complete and release/);
    expect(() => rig(undefined, { dayOffset: '+7' })).toThrow(/dayOffset/);
  });
});

describe('concurrency', () => {
  it('1,000 concurrent identical payments: handle() runs once', async () => {
    const r = rig(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return OK;
    });
    const c = call();
    const answers = await Promise.all(Array.from({ length: 1000 }, () => r.handler(c)));
    expect(r.handle).toHaveBeenCalledTimes(1);
    const tally = new Map<string, number>();
    for (const a of answers) tally.set(`${a.status} ${code(a)}`, (tally.get(`${a.status} ${code(a)}`) ?? 0) + 1);
    expect(tally.get('200 2004800')).toBe(1);
    expect((tally.get('409 4094800') ?? 0) + (tally.get('401 4014800') ?? 0)).toBe(999);
  });
  it('1,000 concurrent retries of one payment, each with its own X-EXTERNAL-ID and signature: handle() runs once', async () => {
    const r = rig(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return OK;
    }, { clockSkewSeconds: 600 });
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => r.handler(call({ externalId: `X-${i}`, second: -i / 2 }))));
    expect(r.handle).toHaveBeenCalledTimes(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(999);
    // After it is answered, every retry gets the same answer.
    const after = await r.handler(call({ externalId: 'X-late', second: 1 }));
    expect([after.status, after.body]).toEqual([200, answers.find((a) => a.status === 200)?.body]);
  });
});

describe('attacks found by review, kept as tests', () => {
  it('a keep that fails briefly (store back within the pending TTL) is retried until the claim is kept', async () => {
    const inner = createMemoryClaimStore();
    let failKeeps = 1;
    const store = storeWith(inner, {
      keep: (k, t, s) => (failKeeps-- > 0 ? Promise.reject(new Error('ECONNRESET')) : Promise.resolve(inner.keep(k, t, s))),
    });
    const r = rig(undefined, { externalIds: store, idempotency: undefined });
    expect(answer(await r.handler(call()))).toEqual([200, '2004800']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const key = externalIdClaim(CLIENT, 'X-1', parseTimestamp(call().headers['X-TIMESTAMP'] as string)).key;
    expect(inner.reserve(key, 'probe', 1)).toBe('kept');
    // NICEPAY's retry long after the pending TTL would have lapsed is still refused.
    expect(answer(await r.handler(call({ second: 1 })))).toEqual([409, '4094800']);
    expect(r.handle).toHaveBeenCalledTimes(1);
  });
  it('handle() gets a signal that aborts when its reservations cannot be renewed (the store went away)', async () => {
    const inner = createMemoryClaimStore();
    let reserves = 0;
    const store = storeWith(inner, {
      reserve: (k, t, s) => (reserves++ === 0 ? Promise.resolve(inner.reserve(k, t, s)) : Promise.reject(new Error('ETIMEDOUT'))),
    });
    let seen: AbortSignal | undefined;
    const r = rig(
      async (n) => {
        void n;
        await new Promise((resolve) => setTimeout(resolve, 1200));
        if (seen?.aborted) throw new Error('not committing: lease lost');
        return OK;
      },
      { externalIds: store, pendingTtlSeconds: 1, storeTimeoutMs: 100, idempotency: undefined },
    );
    r.handle.mockImplementationOnce(async (_v: unknown, context: { signal: AbortSignal }) => {
      seen = context.signal;
      await new Promise((resolve) => setTimeout(resolve, 1200));
      if (context.signal.aborted) throw new Error('not committing: lease lost');
      return OK;
    });
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    expect(seen?.aborted).toBe(true);
    expect((seen?.reason as StoreError).code).toBe('STORE_FAILED');
  });
  it('the signal is made when first read: read only after the reservations were lost, it is already aborted', async () => {
    const inner = createMemoryClaimStore();
    let reserves = 0;
    const store = storeWith(inner, {
      reserve: (k, t, s) => (reserves++ === 0 ? Promise.resolve(inner.reserve(k, t, s)) : Promise.reject(new Error('ETIMEDOUT'))),
    });
    const r = rig(() => OK, { externalIds: store, pendingTtlSeconds: 1, storeTimeoutMs: 100, idempotency: undefined });
    let seen: AbortSignal | undefined;
    r.handle.mockImplementationOnce(async (_v: unknown, context: { signal: AbortSignal }) => {
      await new Promise((resolve) => setTimeout(resolve, 1200)); // the lease is lost meanwhile; nothing read the signal yet
      seen = context.signal;
      if (context.signal.aborted) throw new Error('not committing: lease lost');
      return OK;
    });
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    expect(seen?.aborted).toBe(true);
    expect((seen?.reason as StoreError).code).toBe('STORE_FAILED');
    expect(() => seen?.throwIfAborted()).toThrow(StoreError);
  });
  it('a bigint in handle()\'s answer is sent as its digits; a body that does not serialise to an object is a 500', async () => {
    const r = rig(() => ({ ...OK, paidAmount: { value: 10000n, currency: 'IDR' } }));
    const res = await r.handler(call());
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).paidAmount).toEqual({ value: '10000', currency: 'IDR' });
    for (const bad of [new Date(0), { toJSON: () => undefined }, { toJSON: () => 'text' }]) {
      const b = rig(() => bad);
      const c = call({ externalId: 'B-1' });
      expect(answer(await b.handler(c))).toEqual([500, '5004800']);
    }
  });
  it('a custom idempotency store that returns an answer this library could not send: 500, never a crash', async () => {
    for (const answerOfStore of [{ fingerprint: 'x', status: 1000, body: '{}' }, { fingerprint: 'x', status: 200, body: { parsed: true } }, { fingerprint: 'x', status: '200', body: '{}' }, undefined]) {
      const inner = createMemoryIdempotencyStore();
      const release = vi.fn(inner.release);
      const store: IdempotencyStore = { begin: () => ({ state: 'done', answer: answerOfStore }) as never, complete: inner.complete, release };
      const r = rig(undefined, { idempotency: { key: () => 'k', store } });
      expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
      const error = r.onError.mock.calls.map(([e]) => e).find((e) => e instanceof StoreError) as StoreError;
      expect(error.message).toMatch(/idempotency\.store\.begin returned neither/);
      expect(release).toHaveBeenCalledTimes(1);
      expect(r.handle).not.toHaveBeenCalled();
    }
  });
  it('a store that answers garbage to reserve has what it wrote released', async () => {
    for (const garbage of ['maybe', 2, undefined, true]) {
      const inner = createMemoryClaimStore();
      const store = storeWith(inner, { reserve: (k, t, s) => (inner.reserve(k, t, s), garbage as never) });
      const r = rig(undefined, { externalIds: store, idempotency: undefined });
      expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
      expect(inner.size).toBe(0);
    }
    // A thenable whose then() throws is a StoreError too.
    const inner = createMemoryClaimStore();
    const thenThrows = storeWith(inner, { reserve: () => ({ then: () => { throw new Error('bad thenable'); } }) as never });
    const r = rig(undefined, { externalIds: thenThrows, idempotency: undefined });
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    expect(r.onError.mock.calls.some(([e]) => e instanceof StoreError)).toBe(true);
  });
  it('handlers sharing a replay store with different clock windows keep signatures for the widest (asymmetric)', async () => {
    const replayCache = createMemoryClaimStore();
    const keep = vi.spyOn(replayCache, 'keep');
    const ts = formatTimestamp(NOW - 1000);
    const tokenHandler = createAccessTokenHandler({ clients: { [CLIENT]: keys.publicKeyPem }, tokenSecret: TOKEN_SECRET, now: () => NOW, replayCache });
    createTransactionHandler({ serviceCode: '48', signature: 'asymmetric', clients: { [CLIENT]: { publicKey: keys.publicKeyPem } }, tokens: issuer, now: () => NOW, clockSkewSeconds: 600, replayCache, handle: () => OK });
    const got = await tokenHandler({ method: 'POST', headers: signedHeaders(keys.privateKey, CLIENT, ts), body: '{"grantType":"client_credentials","additionalInfo":{}}' });
    expect(got.status).toBe(200);
    // Kept until X-TIMESTAMP + 900 s: the floor (15 minutes), above both windows (X-TIMESTAMP 1 s before now).
    expect(keep.mock.calls[0]?.[2]).toBe(900);
    // A wider window than the floor, registered by a handler sharing the store, widens it.
    createTransactionHandler({ serviceCode: '48', clients: { [CLIENT]: { clientSecret: SECRET } }, tokens: issuer, now: () => NOW, clockSkewSeconds: 1200, replayCache, handle: () => OK });
    const again = await tokenHandler({ method: 'POST', headers: signedHeaders(keys.privateKey, CLIENT, formatTimestamp(NOW - 2000)), body: '{"grantType":"client_credentials","additionalInfo":{}}' });
    expect(again.status).toBe(200);
    expect(keep.mock.calls[1]?.[2]).toBe(1199); // X-TIMESTAMP 2 s before now: 1200 - 2 + 1
  });
});

describe('second-round attacks, kept as tests', () => {
  const busy = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // a synchronous commit, or a long GC pause
    }
  };
  it('a handle() that stalls the event loop past the pending TTL while committing: its claims are still kept (nobody took them), the retry is refused', async () => {
    const r = rig(
      async () => {
        busy(1200);
        return OK;
      },
      { pendingTtlSeconds: 1, storeTimeoutMs: 100 },
    );
    expect(answer(await r.handler(call()))).toEqual([200, '2004800']);
    expect(answer(await r.handler(call({ second: 1 })))).toEqual([409, '4094800']);
    expect(answer(await r.handler(call({ externalId: 'X-2', second: 2 })))).toEqual([200, '2004800']); // the stored answer
    expect(r.handle).toHaveBeenCalledTimes(1);
    expect(r.onError.mock.calls.filter(([e]) => e instanceof StoreError)).toEqual([]);
  });
  it('a stall shorter than the pending TTL never aborts the signal, with synchronous or asynchronous stores', async () => {
    const asyncStore = (): ClaimStore => {
      const inner = createMemoryClaimStore();
      return {
        claim: (k, t) => Promise.resolve(inner.claim(k, t)),
        reserve: (k, t, s) => new Promise((resolve) => setTimeout(() => resolve(inner.reserve(k, t, s)), 5)),
        keep: (k, t, s) => Promise.resolve(inner.keep(k, t, s)),
        release: (k, t) => Promise.resolve(inner.release(k, t)),
      };
    };
    for (const stores of [{}, { replayCache: asyncStore(), externalIds: asyncStore() }]) {
      let aborted: boolean | undefined;
      const r = rig(async (_n) => OK, { pendingTtlSeconds: 1, storeTimeoutMs: 100, idempotency: undefined, ...stores });
      r.handle.mockImplementationOnce(async (_v: unknown, context: { signal: AbortSignal }) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        busy(650);
        await new Promise((resolve) => setTimeout(resolve, 450));
        aborted = context.signal.aborted;
        return OK;
      });
      expect(answer(await r.handler(call()))).toEqual([200, '2004800']);
      expect(aborted).toBe(false);
    }
  });
  it('a renewal still on its way when the call fails is waited for, so it cannot re-create the released reservation', async () => {
    const inner = createMemoryClaimStore();
    let reserves = 0;
    const store = storeWith(inner, {
      // The first reservation answers at once; renewals answer 300 ms later.
      reserve: (k, t, ttl) => (reserves++ === 0 ? inner.reserve(k, t, ttl) : new Promise((resolve) => setTimeout(() => resolve(inner.reserve(k, t, ttl)), 300))),
    });
    const r = rig(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 400)); // a renewal starts at 333 ms
        throw new Error('database down');
      },
      { externalIds: store, pendingTtlSeconds: 1, storeTimeoutMs: 500, idempotency: undefined },
    );
    expect(answer(await r.handler(call()))).toEqual([500, '5004800']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(inner.size).toBe(0);
    expect(answer(await r.handler(call({ second: 1 })))[0]).not.toBe(409);
  });
  it('a complete retried after it landed reports nothing false (memory store: the same token completes twice)', () => {
    const store = createMemoryIdempotencyStore();
    expect(store.begin('k', 't', 15)).toEqual({ state: 'started' });
    const stored = { fingerprint: 'f', status: 200, body: '{}' };
    expect(store.complete('k', 't', stored, 600)).toBe(true);
    expect(store.complete('k', 't', stored, 600)).toBe(true);
    expect(store.complete('k', 'other', stored, 600)).toBe(false);
  });
  it('a numeric key beyond 2^53 skips idempotency (its digits may be lost) and says so; a literal key never meets a hashed one', async () => {
    let key: unknown = 9007199254740993;
    const r = rig(undefined, { idempotency: { key: () => key } });
    expect(answer(await r.handler(call({ externalId: 'K-1', second: 0 })))).toEqual([200, '2004800']);
    expect(answer(await r.handler(call({ externalId: 'K-2', second: 1, body: payment('PAY-2') })))).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(2);
    expect(r.onError.mock.calls.some(([e]) => /not a safe integer/.test((e as Error).message))).toBe(true);
    const long = 'L'.repeat(300);
    key = long;
    expect(answer(await r.handler(call({ externalId: 'K-3', second: 2, body: payment('PAY-3') })))).toEqual([200, '2004800']);
    key = `h:${sha256Hex(long)}`; // the stored form of the long key, as a literal key
    expect(answer(await r.handler(call({ externalId: 'K-4', second: 3, body: payment('PAY-4') })))).toEqual([200, '2004800']);
    expect(r.handle).toHaveBeenCalledTimes(4);
  });
});

describe('onError hears what NICEPAY was answered', () => {
  it('a release that fails after a store failure is reported with the 500 the call got (access token)', async () => {
    const onError = vi.fn();
    const down: ClaimStore = {
      claim: () => Promise.reject(new Error('ECONNREFUSED')),
      reserve: () => Promise.reject(new Error('ECONNREFUSED')),
      keep: () => Promise.reject(new Error('ECONNREFUSED')),
      release: () => Promise.reject(new Error('ECONNREFUSED')),
    };
    const handler = createAccessTokenHandler({ clients: { [CLIENT]: keys.publicKeyPem }, tokenSecret: TOKEN_SECRET, now: () => NOW, replayCache: down, onError });
    const res = await handler({ method: 'POST', headers: signedHeaders(keys.privateKey, CLIENT, formatTimestamp(NOW - 3000)), body: '{"grantType":"client_credentials","additionalInfo":{}}' });
    expect(res.status).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(onError.mock.calls.length).toBeGreaterThanOrEqual(2);
    for (const [, context] of onError.mock.calls) expect(context).toEqual({ status: 500, responseCode: '5007300' });
  });
});

describe('the default stores', () => {
  it('X-EXTERNAL-ID: one store per process and service code, shared by every handler of that endpoint', async () => {
    const make = (serviceCode: string) =>
      createTransactionHandler({ serviceCode, clients: { [CLIENT]: { clientSecret: SECRET } }, tokens: issuer, now: () => NOW, replayCache: false, handle: () => ({ responseCode: `200${serviceCode}00` }) });
    const c = call({ externalId: 'X-DEFAULT-STORE' });
    expect((await make('61')(c)).status).toBe(200);
    expect(answer(await make('61')(call({ externalId: 'X-DEFAULT-STORE', second: 1 })))).toEqual([409, '4096100']);
    // Another endpoint (service code) has its own scope.
    expect((await make('62')(call({ externalId: 'X-DEFAULT-STORE', second: 2 }))).status).toBe(200);
  });
  it('idempotency: one store per process and service code when none is given', async () => {
    const handle = vi.fn(() => ({ responseCode: '2006300' }));
    const make = () =>
      createTransactionHandler({ serviceCode: '63', clients: { [CLIENT]: { clientSecret: SECRET } }, tokens: issuer, now: () => NOW, replayCache: false, idempotency: { key: () => 'same-key' }, handle });
    await make()(call({ externalId: 'I-1' }));
    const again = await make()(call({ externalId: 'I-2', second: 1 }));
    expect(again.status).toBe(200);
    expect(handle).toHaveBeenCalledTimes(1);
  });
});

describe('random money-path sequences (seeded)', () => {
  it('2,000 calls over 40 payments, with failing handle(), retries, replays and bursts: never processed twice, never lost', async () => {
    let seed = 20241113;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    const processed = new Map<string, number>();
    let failing = true;
    const r = rig(
      async () => OK,
      { clockSkewSeconds: 3600 },
    );
    r.handle.mockImplementation(async (v: { body: { paymentRequestId: string } }) => {
      await new Promise((resolve) => setTimeout(resolve, rand(3)));
      const dice = failing ? rand(10) : 9;
      if (dice < 2) throw new Error('database down');
      if (dice < 3) return { responseCode: '5004801', responseMessage: 'Internal Server Error' };
      const id = v.body.paymentRequestId;
      processed.set(id, (processed.get(id) ?? 0) + 1);
      return { ...OK, paymentRequestId: id };
    });
    let second = -3000;
    const sent: Call[] = [];
    const statuses = new Map<number, number>();
    const record = (res: EndpointResponse) => {
      const body = JSON.parse(res.body) as { responseCode: string };
      expect(body.responseCode.startsWith(String(res.status))).toBe(true);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    };
    for (let i = 0; i < 2000; ) {
      const payment_ = `PAY-${rand(40)}`;
      const kind = rand(5);
      let batch: Call[];
      if (kind === 0 && sent.length > 0) {
        batch = [sent[rand(sent.length)] as Call]; // an identical resend (or a replay)
      } else if (kind === 1 && sent.length > 0) {
        const old = sent[rand(sent.length)] as Call; // a replay under a new X-EXTERNAL-ID
        batch = [{ ...old, headers: { ...old.headers, 'X-EXTERNAL-ID': `R-${i}` } }];
      } else if (kind === 2) {
        // a burst: NICEPAY's retries of one payment, each its own id and signature, at once
        batch = Array.from({ length: 1 + rand(5) }, (_, k) => call({ externalId: `B-${i}-${k}`, second: second++, body: payment(payment_) }));
      } else {
        // NICEPAY's retry with the same X-EXTERNAL-ID as an earlier call of this payment, or a new one
        batch = [call({ externalId: rand(2) ? `X-${payment_}` : `N-${i}`, second: second++, body: payment(payment_) })];
      }
      sent.push(...batch);
      i += batch.length;
      for (const res of await Promise.all(batch.map((c) => r.handler(c)))) record(res);
    }
    // Never processed twice.
    for (const [id, count] of processed) expect(count, id).toBe(1);
    // Never lost: once the database is back, a fresh retry of every payment gets its 200.
    failing = false;
    for (let p = 0; p < 40; p++) {
      const res = await r.handler(call({ externalId: `FINAL-${p}`, second: second++, body: payment(`PAY-${p}`) }));
      expect([res.status, JSON.parse(res.body).paymentRequestId]).toEqual([200, `PAY-${p}`]);
    }
    for (const [id, count] of processed) expect(count, id).toBe(1);
    expect(processed.size).toBe(40);
    // The sequence did exercise every branch.
    for (const status of [200, 401, 409, 500]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  });
});

describe('verifyTransactionRequest alone claims nothing (documented)', () => {
  it('the handler\'s keys can be claimed by hand: signatureClaimKey and externalIdClaim', () => {
    const c = call();
    expect(signatureClaimKey(CLIENT, c.headers['X-TIMESTAMP'] as string, c.headers['X-SIGNATURE'] as string)).toMatch(/^sig:[A-Za-z0-9_-]{43}$/);
    expect(externalIdClaim(CLIENT, 'X-1', parseTimestamp('2024-11-13T00:30:00+07:00'), 'Z').day).toBe('2024-11-12');
    expect(() => externalIdClaim(CLIENT, 'X-1', parseTimestamp('2024-11-13T00:30:00+07:00'), '7')).toThrow(TypeError);
  });
});
