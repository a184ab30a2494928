import { describe, expect, it, vi } from 'vitest';
import {
  signatureClaimKey,
  createAccessTokenHandler,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  handleAccessTokenRequest,
  parseResponseCode,
  parseTimestamp,
  type AccessTokenHandlerOptions,
  type EndpointResponse,
} from '../src/index.js';
import { ACCESS_TOKEN_BODY, makeKeys, signedHeaders, signText } from './helpers/nicepay.js';

const keys = makeKeys();
const stranger = makeKeys();
const CLIENT = 'IONPAYTEST';
const TS = '2024-01-22T15:00:01+07:00';
const NOW = Date.parse(TS) + 2000;
const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

// The replay guard is on by default with one store per process; most tests here send the
// same signed request many times, so they turn it off, and the guard has its own tests.
const base: AccessTokenHandlerOptions = { clients: { [CLIENT]: keys.publicKeyBase64 }, tokenSecret: SECRET, now: () => NOW, replayCache: false };
const valid = () => ({ method: 'POST', path: '/api/v1.0/access-token/b2b', headers: signedHeaders(keys.privateKey, CLIENT, TS), body: ACCESS_TOKEN_BODY });

const json = (response: EndpointResponse) => JSON.parse(response.body) as Record<string, unknown>;
const expectAnswer = (response: EndpointResponse, status: number, responseCode: string, responseMessage?: string) => {
  expect(response.status).toBe(status);
  const body = json(response);
  expect(body.responseCode).toBe(responseCode);
  if (responseMessage !== undefined) expect(body.responseMessage).toBe(responseMessage);
  expect(response.headers['Content-Type']).toBe('application/json');
  expect(parseTimestamp(response.headers['X-TIMESTAMP'] as string).epochMs).toBe(Math.floor(NOW / 1000) * 1000);
};

describe('createAccessTokenHandler: success', () => {
  it('answers 200 with the token body and the SNAP response headers', async () => {
    const handle = createAccessTokenHandler(base);
    const response = await handle(valid());
    expectAnswer(response, 200, '2007300', 'Successful');
    expect(response.headers['X-CLIENT-KEY']).toBe(CLIENT);
    expect(response.headers['X-TIMESTAMP']).toBe('2024-01-22T15:00:03+07:00');
    const body = json(response);
    expect(Object.keys(body)).toEqual(['responseCode', 'responseMessage', 'accessToken', 'tokenType', 'expiresIn', 'additionalInfo']);
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: '900', additionalInfo: {} });
    // The built-in token verifies with the same secret, for this client, for 900 s.
    const check = createAccessTokenIssuer({ secret: SECRET }).verify(body.accessToken as string, NOW, CLIENT);
    expect(check).toEqual({ valid: true, clientKey: CLIENT, expiresAt: Math.floor(NOW / 1000) * 1000 + 900_000 });
  });
  it('uses issueToken (sync or async) with its context, and the configured expiresIn and offset', async () => {
    const issueToken = vi.fn(async (context: { clientKey: string; now: number; expiresIn: number }) => `tok-${context.clientKey}-${context.expiresIn}`);
    const handle = createAccessTokenHandler({ clients: base.clients, issueToken, now: () => NOW, replayCache: false, expiresIn: 600, timestampOffset: 'Z' });
    const response = await handle(valid());
    expect(json(response)).toMatchObject({ accessToken: 'tok-IONPAYTEST-600', expiresIn: '600' });
    expect(response.headers['X-TIMESTAMP']).toBe('2024-01-22T08:00:03Z');
    expect(issueToken).toHaveBeenCalledTimes(1);
    expect(issueToken.mock.calls[0]?.[0]).toMatchObject({ clientKey: CLIENT, now: NOW, expiresIn: 600 });
  });
  it('looks clients up with a function (sync or async), importing each key once', async () => {
    const lookup = vi.fn(async (clientKey: string) => (clientKey === CLIENT ? keys.publicKeyPem : undefined));
    const handle = createAccessTokenHandler({ ...base, clients: lookup });
    expectAnswer(await handle(valid()), 200, '2007300');
    expectAnswer(await handle(valid()), 200, '2007300');
    expect(lookup).toHaveBeenCalledTimes(2);
    const unknown = { ...valid(), headers: signedHeaders(keys.privateKey, 'NOBODY', TS) };
    expectAnswer(await handle(unknown), 401, '4017300', 'Unauthorized. Unknown X-CLIENT-KEY');
    const sync = createAccessTokenHandler({ ...base, clients: (k) => (k === CLIENT ? keys.publicKeyBase64 : undefined) });
    expectAnswer(await sync(valid()), 200, '2007300');
  });
  it('handleAccessTokenRequest does the same in one call', async () => {
    expectAnswer(await handleAccessTokenRequest(valid(), base), 200, '2007300');
    expectAnswer(await handleAccessTokenRequest({ ...valid(), method: 'GET' }, base), 405, '4057300', 'Requested Function Is Not Supported');
  });
});

describe('createAccessTokenHandler: every failure is its SNAP answer, never a throw', () => {
  const handle = createAccessTokenHandler(base);
  const withHeaders = (change: Record<string, string | undefined>) => {
    const request = valid();
    const headers: Record<string, string | undefined> = { ...request.headers, ...change };
    return { ...request, headers };
  };
  it.each([
    ['missing X-TIMESTAMP', withHeaders({ 'X-TIMESTAMP': undefined }), 400, '4007302', 'Invalid Mandatory Field {X-TIMESTAMP}'],
    ['missing X-CLIENT-KEY', withHeaders({ 'X-CLIENT-KEY': undefined }), 400, '4007302', 'Invalid Mandatory Field {X-CLIENT-KEY}'],
    ['missing X-SIGNATURE', withHeaders({ 'X-SIGNATURE': undefined }), 400, '4007302', 'Invalid Mandatory Field {X-SIGNATURE}'],
    ['missing Content-Type', withHeaders({ 'Content-Type': undefined }), 400, '4007302', 'Invalid Mandatory Field {Content-Type}'],
    ['malformed timestamp', withHeaders({ 'X-TIMESTAMP': '2024-01-22 15:00:01' }), 400, '4007301', 'Invalid Field Format {X-TIMESTAMP}'],
    ['wrong Content-Type', withHeaders({ 'Content-Type': 'text/plain' }), 400, '4007301', 'Invalid Field Format {Content-Type}'],
    ['tampered signature', withHeaders({ 'X-SIGNATURE': signText(keys.privateKey, `${CLIENT}|2024-01-22T15:00:02+07:00`) }), 401, '4017300', 'Unauthorized. Signature does not verify'],
    ['foreign signature', withHeaders({ 'X-SIGNATURE': signText(stranger.privateKey, `${CLIENT}|${TS}`) }), 401, '4017300', 'Unauthorized. Signature does not verify'],
    ['unknown client', { ...valid(), headers: signedHeaders(keys.privateKey, 'NOBODY', TS) }, 401, '4017300', 'Unauthorized. Unknown X-CLIENT-KEY'],
    ['stale timestamp', { ...valid(), headers: signedHeaders(keys.privateKey, CLIENT, '2024-01-22T14:50:00+07:00') }, 401, '4017300', 'Unauthorized. X-TIMESTAMP is 603 s behind server time (allowed 300 s)'],
    ['future timestamp', { ...valid(), headers: signedHeaders(keys.privateKey, CLIENT, '2024-01-22T15:10:00+07:00') }, 401, '4017300', 'Unauthorized. X-TIMESTAMP is 597 s ahead of server time (allowed 300 s)'],
    ['non-JSON body', { ...valid(), body: 'grantType=client_credentials' }, 400, '4007300', 'Bad Request'],
    ['array body', { ...valid(), body: '[]' }, 400, '4007300', 'Bad Request'],
    ['wrong grantType', { ...valid(), body: '{"grantType":"password"}' }, 400, '4007301', 'Invalid Field Format {grantType}'],
    ['missing grantType', { ...valid(), body: '{"additionalInfo":{}}' }, 400, '4007302', 'Invalid Mandatory Field {grantType}'],
    ['oversized body', { ...valid(), body: `{"grantType":"client_credentials","x":"${'a'.repeat(16 * 1024)}"}` }, 400, '4007300', 'Bad Request'],
    ['GET', { ...valid(), method: 'GET' }, 405, '4057300', 'Requested Function Is Not Supported'],
    ['PUT', { ...valid(), method: 'PUT' }, 405, '4057300', undefined],
  ] as const)('%s', async (_name, request, status, code, message) => {
    const response = await handle(request as never);
    expectAnswer(response, status, code, message);
  });
  it('echoes a well-formed X-CLIENT-KEY on failures, and no other header value', async () => {
    const response = await handle({ ...valid(), body: '[]' });
    expect(response.headers['X-CLIENT-KEY']).toBe(CLIENT);
    const bad = await handle(withHeaders({ 'X-CLIENT-KEY': 'A|B' }));
    expect(bad.headers['X-CLIENT-KEY']).toBeUndefined();
  });
  it('a failing client lookup or issueToken answers 500 General Error, leaking nothing, and goes to onError', async () => {
    const onError = vi.fn();
    const secretMessage = 'db password hunter2 at 10.0.0.5';
    const lookupFails = createAccessTokenHandler({ ...base, clients: async () => { throw new Error(secretMessage); }, onError });
    const issueFails = createAccessTokenHandler({ clients: base.clients, now: base.now!, replayCache: false, issueToken: () => { throw new Error(secretMessage); }, onError });
    const tooLong = createAccessTokenHandler({ clients: base.clients, now: base.now!, replayCache: false, issueToken: () => 'x'.repeat(151), onError });
    for (const h of [lookupFails, issueFails, tooLong]) {
      const response = await h(valid());
      expectAnswer(response, 500, '5007300', 'General Error');
      expect(response.body).not.toContain('hunter2');
      expect(JSON.stringify(response.headers)).not.toContain('hunter2');
    }
    expect(onError).toHaveBeenCalledTimes(3);
    expect(String((onError.mock.calls[0]?.[0] as Error).cause)).toContain(secretMessage);
    expect(onError.mock.calls[0]?.[1]).toEqual({ status: 500, responseCode: '5007300' });
  });
  it('a parsed body is a 500 whose error says to pass the raw body', async () => {
    const onError = vi.fn();
    const h = createAccessTokenHandler({ ...base, onError });
    expectAnswer(await h({ ...valid(), body: { grantType: 'client_credentials' } as never }), 500, '5007300');
    expect(String(onError.mock.calls[0]?.[0])).toMatch(/raw body/);
  });
  it('onError sees SNAP failures too, and cannot break the answer', async () => {
    const seen: string[] = [];
    const h = createAccessTokenHandler({ ...base, onError: (error, context) => { seen.push(context.responseCode); throw new Error('observer broke'); } });
    expectAnswer(await h({ ...valid(), method: 'GET' }), 405, '4057300');
    const rejecting = createAccessTokenHandler({ ...base, onError: async () => { throw new Error('async observer broke'); } });
    expectAnswer(await rejecting({ ...valid(), body: '[]' }), 400, '4007300');
    expect(seen).toEqual(['4057300']);
  });
  it('a broken clock or a broken request object is a 500, not a throw', async () => {
    const broken = createAccessTokenHandler({ ...base, now: () => Number.NaN });
    const response = await broken(valid());
    expect(response.status).toBe(500);
    expect(json(response)).toEqual({ responseCode: '5007300', responseMessage: 'General Error' });
    expect(parseTimestamp(response.headers['X-TIMESTAMP'] as string).offset).toBe('+07:00');
    const h = createAccessTokenHandler(base);
    for (const request of [null, undefined, 42, { method: 'POST' }, { method: 'POST', headers: null, body: '' }]) {
      const response = await h(request as never);
      expect(response.status).toBe(500);
      expect(json(response).responseCode).toBe('5007300');
    }
  });
});

describe('createAccessTokenHandler: replay guard', () => {
  it('accepts a signed request once within the window; a repeat is 401 / 4017300', async () => {
    const replayCache = createMemoryClaimStore();
    const reserve = vi.spyOn(replayCache, 'reserve');
    const keep = vi.spyOn(replayCache, 'keep');
    const handle = createAccessTokenHandler({ ...base, replayCache });
    const request = valid();
    expectAnswer(await handle(request), 200, '2007300');
    expectAnswer(await handle(request), 401, '4017300', 'Unauthorized. Request already used');
    // A fresh signature (new timestamp) is a new request.
    const next = { ...valid(), headers: signedHeaders(keys.privateKey, CLIENT, '2024-01-22T15:00:02+07:00') };
    expectAnswer(await handle(next), 200, '2007300');
    // Reserved while in flight (15 s), then kept until the timestamp leaves the widest window
    // any endpoint may have, at least 15 minutes: (ts + 900 s - now) + 1 s.
    const key = signatureClaimKey(CLIENT, TS, valid().headers['X-SIGNATURE'] as string);
    expect(key).toMatch(/^sig:[A-Za-z0-9_-]{43}$/);
    expect(reserve.mock.calls[0]).toEqual([key, expect.any(String), 15]);
    expect(keep.mock.calls[0]).toEqual([key, reserve.mock.calls[0]?.[1], 899]);
  });
  it('is on by default, one store per process shared by every handler', async () => {
    const ts = '2024-01-22T15:00:09+07:00';
    const request = { ...valid(), headers: signedHeaders(keys.privateKey, CLIENT, ts) };
    const { replayCache: _off, ...defaults } = base;
    const a = createAccessTokenHandler(defaults);
    const b = createAccessTokenHandler(defaults);
    expectAnswer(await a(request), 200, '2007300');
    expectAnswer(await b(request), 401, '4017300', 'Unauthorized. Request already used');
  });
  it('an issueToken that fails releases the signature: the identical resend is processed', async () => {
    let fail = true;
    const replayCache = createMemoryClaimStore();
    const handle = createAccessTokenHandler({
      clients: base.clients,
      now: () => NOW,
      replayCache,
      issueToken: () => {
        if (fail) throw new Error('token table down');
        return 'token-1';
      },
    });
    expectAnswer(await handle(valid()), 500, '5007300');
    expect(replayCache.size).toBe(0);
    fail = false;
    expectAnswer(await handle(valid()), 200, '2007300');
    expectAnswer(await handle(valid()), 401, '4017300');
  });
  it('shares one store between handler instances', async () => {
    const replayCache = createMemoryClaimStore();
    const a = createAccessTokenHandler({ ...base, replayCache });
    const b = createAccessTokenHandler({ ...base, replayCache });
    const request = valid();
    expectAnswer(await a(request), 200, '2007300');
    expectAnswer(await b(request), 401, '4017300');
  });
  it('only verified requests reach the store; a failing store is a 500', async () => {
    const claim = vi.fn(async () => true);
    const handle = createAccessTokenHandler({ ...base, replayCache: { claim } });
    await handle({ ...valid(), headers: { ...valid().headers, 'X-SIGNATURE': signText(stranger.privateKey, `${CLIENT}|${TS}`) } });
    expect(claim).not.toHaveBeenCalled();
    const failing = createAccessTokenHandler({ ...base, replayCache: { claim: async () => { throw new Error('redis down'); } } });
    expectAnswer(await failing(valid()), 500, '5007300');
  });
});

describe('createAccessTokenHandler: configuration errors surface at creation', () => {
  it.each([
    [{ clients: base.clients }, /exactly one of issueToken/],
    [{ clients: base.clients, tokenSecret: SECRET, issueToken: () => 'x' }, /exactly one/],
    [{ clients: base.clients, tokenSecret: 'short' }, /at least 32/],
    [{ clients: [] , tokenSecret: SECRET }, /clients must be/],
    [{ clients: { A: 'not a key' }, tokenSecret: SECRET }, /neither PEM/],
    [{ ...base, clockSkewSeconds: -1 }, /clockSkewSeconds/],
    [{ ...base, expiresIn: 0 }, /expiresIn/],
    [{ ...base, maxBodyBytes: -5 }, /maxBodyBytes/],
    [{ ...base, timestampOffset: '+7' }, /offset/],
    [{ ...base, replayCache: {} }, /replayCache/],
    [{ ...base, onError: 'log' }, /onError/],
  ])('%#', (options, message) => {
    expect(() => createAccessTokenHandler(options as never)).toThrow(message);
  });
  it('handleAccessTokenRequest turns bad options into a 500 for onError', async () => {
    const onError = vi.fn();
    const response = await handleAccessTokenRequest(valid(), { clients: base.clients, onError } as never);
    expect(response.status).toBe(500);
    expect(json(response).responseCode).toBe('5007300');
    expect(String(onError.mock.calls[0]?.[0])).toMatch(/exactly one of issueToken/);
  });
});

describe('mutation fuzz', () => {
  const rand = (n: number) => Math.floor(Math.random() * n);
  const pick = <T>(items: readonly T[]): T => items[rand(items.length)] as T;
  const junk = ['', ' ', ',', '|', 'null', '{}', '[]', '\u0000', '\uffff', '\ud800', 'é', '2024-02-30T00:00:00Z', 'A'.repeat(300), '=', '+/', '"', '\\n'];

  function mutateString(value: string): string {
    switch (rand(7)) {
      case 0: return value.slice(0, rand(value.length + 1));
      case 1: return value + pick(junk);
      case 2: { const i = rand(value.length + 1); return value.slice(0, i) + String.fromCharCode(rand(0x3000)) + value.slice(i + 1); }
      case 3: return pick(junk);
      case 4: return value.toUpperCase();
      case 5: return value.split('').reverse().join('');
      default: { const i = rand(value.length + 1); return value.slice(0, i) + value.slice(i, i + rand(20)).repeat(rand(4)) + value.slice(i); }
    }
  }

  it('thousands of randomly broken requests: never a throw, always a well-formed SNAP answer', async () => {
    const onError = vi.fn();
    const handle = createAccessTokenHandler({ ...base, onError, replayCache: createMemoryClaimStore() });
    const statuses = new Map<number, number>();
    const N = 5000;
    for (let i = 0; i < N; i++) {
      const request: { method: string; headers: Record<string, unknown>; body: unknown } = { ...valid() };
      const mutations = 1 + rand(3);
      for (let m = 0; m < mutations; m++) {
        const target = rand(10);
        const names = Object.keys(request.headers);
        if (target < 5) {
          const name = pick(names);
          const headers = { ...request.headers };
          const action = rand(5);
          if (action === 0) delete headers[name];
          else if (action === 1) headers[name] = [String(headers[name]), String(headers[name])];
          else if (action === 2) headers[mutateString(name)] = headers[name];
          else headers[name] = mutateString(String(headers[name]));
          request.headers = headers;
        } else if (target < 8) {
          request.body = rand(4) === 0 ? new TextEncoder().encode(mutateString(String(request.body))) : mutateString(typeof request.body === 'string' ? request.body : ACCESS_TOKEN_BODY);
        } else if (target === 8) {
          request.method = pick(['GET', 'post', 'POST', 'DELETE', '', 'PATCH']);
        } else {
          request.body = pick([undefined, null, 42, {}, [], { grantType: 'client_credentials' }, new ArrayBuffer(4)]);
        }
      }
      let response: EndpointResponse;
      try {
        response = await handle(request as never);
      } catch (error) {
        throw new Error(`handler threw for mutation ${i}: ${String(error)}`);
      }
      const body = json(response);
      expect(Object.keys(body).slice(0, 2)).toEqual(['responseCode', 'responseMessage']);
      const code = body.responseCode as string;
      expect(code.startsWith(String(response.status)), `${code} vs ${response.status}`).toBe(true);
      expect(parseResponseCode(code).httpStatus).toBe(response.status);
      expect(typeof body.responseMessage).toBe('string');
      expect(response.headers['Content-Type']).toBe('application/json');
      expect(response.headers['X-TIMESTAMP']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
    // The fuzz reached every kind of answer.
    for (const status of [400, 401, 405, 500]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(N);
    // 500s come only from bodies that are not raw (programming errors), each reported.
    expect(onError.mock.calls.filter(([, c]) => (c as { status: number }).status === 500).every(([e]) => e instanceof TypeError)).toBe(true);
  });
});
