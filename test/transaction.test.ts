/**
 * The calls after the token: verifyTransactionRequest and createTransactionHandler, every
 * check with its exact response code (service code 47 here), plus a mutation fuzz.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  buildAsymmetricBodyStringToSign,
  buildStringToSign,
  buildSymmetricStringToSign,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  createTransactionHandler,
  formatTimestamp,
  parseResponseCode,
  BUSINESS_REFUSALS,
  KeyImportError,
  snapResponse,
  signatureClaimKey,
  signSymmetric,
  SnapError,
  verifyTransactionRequest,
  type EndpointResponse,
  type TransactionAnswer,
  type TransactionAnswers,
  type TransactionVerifyOptions,
} from '../src/index.js';
import type { DemoPaymentBodyExample } from '../examples/nico-bodies.js';
import { makeKeys, signText } from './helpers/nicepay.js';

const CLIENT = 'IONPAYTEST';
const SECRET = '33F49GnCMS1mFYlGXisbUDzVf2ATWCl9k3R++d5hDd3Frmuos/XLx8XhXpe+LDYAbpGKZYSwtlyyLOtS/8aD7A==';
const TOKEN_SECRET = 'token-secret-of-at-least-thirty-two-bytes';
const NOW = Date.UTC(2024, 10, 12, 19, 54, 37); // 2024-11-13T02:54:37+07:00
const TS = formatTimestamp(NOW);
const PATH = '/api/v1.0/cvs/inquiry';
const BODY = '{ "partnerServiceId": "  888", "customerNo": "12345", "trxDateInit": "2024-11-13T02:54:37+07:00", "amount": { "value": "10000.00", "currency": "IDR" } }';
const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
const TOKEN = issuer.issue(CLIENT, NOW - 60_000);
const keys = makeKeys();

const options = (extra: Partial<TransactionVerifyOptions> = {}): TransactionVerifyOptions => ({
  serviceCode: '47',
  clients: { [CLIENT]: { clientSecret: SECRET, publicKey: keys.publicKeyPem } },
  tokens: issuer,
  now: NOW,
  ...extra,
});

function signedRequest(change: { headers?: Record<string, string | undefined>; body?: string; path?: string; method?: string; token?: string; bodyHash?: 'minified' | 'as-sent' } = {}) {
  const body = change.body ?? BODY;
  const path = change.path ?? PATH;
  const method = change.method ?? 'POST';
  const token = change.token ?? TOKEN;
  const stringToSign = buildSymmetricStringToSign({ method, path, accessToken: token, body, timestamp: TS, bodyHash: change.bodyHash ?? 'minified' });
  const headers: Record<string, string | undefined> = {
    'Content-Type': 'application/json',
    Authorization: `Bearer ${token}`,
    'X-TIMESTAMP': TS,
    'X-PARTNER-ID': CLIENT,
    'X-EXTERNAL-ID': '41807553358950093184162180797837',
    'CHANNEL-ID': '95221',
    'X-SIGNATURE': signSymmetric(SECRET, stringToSign),
    ...change.headers,
  };
  return { method, path, headers, body };
}

async function failure(request: ReturnType<typeof signedRequest>, opts = options()): Promise<SnapError> {
  try {
    await verifyTransactionRequest(request, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(SnapError);
    return error as SnapError;
  }
  throw new Error('expected a SnapError');
}
const answer = (e: SnapError): [number, string, string] => [e.httpStatus, e.responseCode, e.responseMessage];

describe('verifyTransactionRequest: success', () => {
  it('verifies a symmetric call and hands over the parsed body', async () => {
    const v = await verifyTransactionRequest(signedRequest(), options());
    expect(v).toMatchObject({ clientKey: CLIENT, accessToken: TOKEN, externalId: '41807553358950093184162180797837', channelId: '95221', signatureMode: 'symmetric', bodyHash: 'minified', method: 'POST', path: PATH });
    expect(v.body).toEqual(JSON.parse(BODY));
    expect(v.rawBody).toBe(BODY);
    expect(v.timestamp.epochMs).toBe(NOW);
  });
  it('accepts the body hashed as sent (NICEPAY SDKs) as well as minified (SNAP)', async () => {
    expect((await verifyTransactionRequest(signedRequest({ bodyHash: 'as-sent' }), options())).bodyHash).toBe('as-sent');
  });
  it('signs the path with its query, and bytes bodies', async () => {
    expect((await verifyTransactionRequest(signedRequest({ path: `${PATH}?a=1&b=2` }), options())).path).toBe(`${PATH}?a=1&b=2`);
    const r = signedRequest();
    expect((await verifyTransactionRequest({ ...r, body: new TextEncoder().encode(BODY) as never }, options())).body).toEqual(JSON.parse(BODY));
  });
  it('auto (the default): the signature\'s length and the client\'s credentials choose the one form verified', async () => {
    const rsa = signText(keys.privateKey, buildStringToSign(CLIENT, TS));
    // Both credentials: HMAC-SHA512 (64 bytes) or SHA256withRSA over X-PARTNER-ID|X-TIMESTAMP.
    expect((await verifyTransactionRequest(signedRequest(), options())).signatureMode).toBe('symmetric');
    expect((await verifyTransactionRequest(signedRequest({ headers: { 'X-SIGNATURE': rsa } }), options())).signatureMode).toBe('asymmetric');
    // Only a client secret: an RSA signature is refused, and the detail says why.
    const secretOnly = options({ clients: { [CLIENT]: { clientSecret: SECRET } } });
    const noKey = await failure(signedRequest({ headers: { 'X-SIGNATURE': rsa } }), secretOnly);
    expect(answer(noKey)).toEqual([401, '4014700', 'Unauthorized. Signature does not verify']);
    expect(noKey.message).toMatch(/not an HMAC-SHA512 signature \(64 bytes\), and the client has no publicKey/);
    // Only a public key: an HMAC signature is refused.
    const keyOnly = options({ clients: { [CLIENT]: { publicKey: keys.publicKeyPem } } });
    expect((await failure(signedRequest(), keyOnly)).message).toMatch(/HMAC-SHA512 signature \(64 bytes\), but the client has no clientSecret/);
    expect((await verifyTransactionRequest(signedRequest({ headers: { 'X-SIGNATURE': rsa } }), keyOnly)).signatureMode).toBe('asymmetric');
    // A bad signature of either form is refused with its form named.
    expect((await failure(signedRequest({ headers: { 'X-SIGNATURE': signSymmetric('wrong', 'x') } }))).message).toMatch(/\(auto: symmetric\) does not verify/);
    expect((await failure(signedRequest({ headers: { 'X-SIGNATURE': signText(keys.privateKey, 'other') } }))).message).toMatch(/\(auto: asymmetric\) does not verify/);
  });
  it('asymmetric mode: SHA256withRSA over X-PARTNER-ID|X-TIMESTAMP', async () => {
    const r = signedRequest({ headers: { 'X-SIGNATURE': signText(keys.privateKey, buildStringToSign(CLIENT, TS)) } });
    expect((await verifyTransactionRequest(r, options({ signature: 'asymmetric' }))).signatureMode).toBe('asymmetric');
    expect(answer(await failure(signedRequest(), options({ signature: 'asymmetric' })))).toEqual([401, '4014700', 'Unauthorized. Signature does not verify']);
  });
  it('asymmetric-body mode: SHA256withRSA over METHOD:path:sha256(minify(body)):X-TIMESTAMP', async () => {
    const stringToSign = buildAsymmetricBodyStringToSign({ method: 'POST', path: PATH, body: BODY, timestamp: TS });
    const r = signedRequest({ headers: { 'X-SIGNATURE': signText(keys.privateKey, stringToSign) } });
    expect((await verifyTransactionRequest(r, options({ signature: 'asymmetric-body' }))).signatureMode).toBe('asymmetric-body');
    const other = signedRequest({ headers: { 'X-SIGNATURE': signText(keys.privateKey, buildStringToSign(CLIENT, TS)) } });
    expect((await failure(other, options({ signature: 'asymmetric-body' }))).code).toBe('INVALID_SIGNATURE');
  });
  it('stored tokens through a lookup (sync or async)', async () => {
    const stored = new Map([[TOKEN, { clientKey: CLIENT, expiresAt: NOW + 1000 }]]);
    expect((await verifyTransactionRequest(signedRequest(), options({ tokens: async (t) => stored.get(t) }))).clientKey).toBe(CLIENT);
    expect((await verifyTransactionRequest(signedRequest(), options({ tokens: (t) => stored.get(t) }))).clientKey).toBe(CLIENT);
  });
});

describe('verifyTransactionRequest: each check has its exact answer', () => {
  it('missing Authorization: 400 / 4004702 Invalid Mandatory Field {Authorization}', async () => {
    expect(answer(await failure(signedRequest({ headers: { Authorization: undefined } })))).toEqual([400, '4004702', 'Invalid Mandatory Field {Authorization}']);
  });
  it.each(['X-TIMESTAMP', 'X-PARTNER-ID', 'X-EXTERNAL-ID', 'X-SIGNATURE', 'Content-Type'])('missing %s: 400 / 4004702', async (name) => {
    expect(answer(await failure(signedRequest({ headers: { [name]: undefined } })))).toEqual([400, '4004702', `Invalid Mandatory Field {${name}}`]);
  });
  it('channelId: a CHANNEL-ID per client (NICEPAY: client id + "01"), mandatory when configured', async () => {
    const nicepayStyle = options({ channelId: (partnerId) => `${partnerId}01` });
    expect((await verifyTransactionRequest(signedRequest({ headers: { 'CHANNEL-ID': 'IONPAYTEST01' } }), nicepayStyle)).channelId).toBe('IONPAYTEST01');
    expect(answer(await failure(signedRequest({ headers: { 'CHANNEL-ID': '95221' } }), nicepayStyle))).toEqual([400, '4004701', 'Invalid Field Format {CHANNEL-ID}']);
    expect(answer(await failure(signedRequest({ headers: { 'CHANNEL-ID': undefined } }), nicepayStyle))).toEqual([400, '4004702', 'Invalid Mandatory Field {CHANNEL-ID}']);
    expect((await verifyTransactionRequest(signedRequest(), options({ channelId: '95221' }))).channelId).toBe('95221');
    expect((await verifyTransactionRequest(signedRequest({ headers: { 'CHANNEL-ID': 'anything' } }), options({ channelId: () => undefined }))).channelId).toBe('anything');
    await expect(verifyTransactionRequest(signedRequest(), options({ channelId: 5 as never }))).rejects.toThrow(/channelId/);
    // The function is asked only once the token and the client are verified: a caller without
    // credentials gets its 401, never the function's own failure (a 500).
    const lookup = vi.fn((partnerId: string) => {
      if (partnerId !== CLIENT) throw new Error(`no channel for ${partnerId}`);
      return `${partnerId}01`;
    });
    const strict = options({ channelId: lookup });
    const stranger = signedRequest({ headers: { 'X-PARTNER-ID': 'NOBODY', 'CHANNEL-ID': 'x', Authorization: 'Bearer not-a-token' } });
    expect((await failure(stranger, strict)).code).toBe('INVALID_TOKEN');
    expect(lookup).not.toHaveBeenCalled();
  });
  it('CHANNEL-ID is mandatory only when required', async () => {
    expect((await verifyTransactionRequest(signedRequest({ headers: { 'CHANNEL-ID': undefined } }), options())).channelId).toBeUndefined();
    expect(answer(await failure(signedRequest({ headers: { 'CHANNEL-ID': undefined } }), options({ requireChannelId: true })))).toEqual([400, '4004702', 'Invalid Mandatory Field {CHANNEL-ID}']);
  });
  it('malformed X-TIMESTAMP, X-EXTERNAL-ID over 40 characters (or maxExternalIdLength), bad X-PARTNER-ID: 400 / 4004701', async () => {
    expect(answer(await failure(signedRequest({ headers: { 'X-TIMESTAMP': '2024-11-13 02:54:37' } })))).toEqual([400, '4004701', 'Invalid Field Format {X-TIMESTAMP}']);
    expect(answer(await failure(signedRequest({ headers: { 'X-EXTERNAL-ID': 'x'.repeat(41) } })))).toEqual([400, '4004701', 'Invalid Field Format {X-EXTERNAL-ID}']);
    expect((await verifyTransactionRequest(signedRequest({ headers: { 'X-EXTERNAL-ID': 'x'.repeat(40) } }), options())).externalId).toHaveLength(40);
    // SNAP's 36, as an option.
    expect(answer(await failure(signedRequest({ headers: { 'X-EXTERNAL-ID': 'x'.repeat(37) } }), options({ maxExternalIdLength: 36 })))).toEqual([400, '4004701', 'Invalid Field Format {X-EXTERNAL-ID}']);
    expect((await failure(signedRequest({ headers: { 'X-EXTERNAL-ID': 'x'.repeat(41) } }))).message).toMatch(/1-40 visible ASCII characters \(got 41 characters\)/);
    await expect(verifyTransactionRequest(signedRequest(), options({ maxExternalIdLength: 0 }))).rejects.toThrow(/maxExternalIdLength/);
    expect(answer(await failure(signedRequest({ headers: { 'X-EXTERNAL-ID': 'has space' } })))).toEqual([400, '4004701', 'Invalid Field Format {X-EXTERNAL-ID}']);
    expect(answer(await failure(signedRequest({ headers: { 'X-PARTNER-ID': 'A|B' } })))).toEqual([400, '4004701', 'Invalid Field Format {X-PARTNER-ID}']);
  });
  it('body not a JSON object: 400 / 4004700 Bad Request (signed, so it gets that far)', async () => {
    for (const body of ['', 'x', '[]', 'null', '"text"']) {
      expect(answer(await failure(signedRequest({ body, bodyHash: 'as-sent' }))), body).toEqual([400, '4004700', 'Bad Request']);
    }
  });
  it('cheap checks first: the body is parsed only after the token, the client, the clock and the signature', async () => {
    // A body the parser refuses (a key twice): without a valid token, signature or clock it
    // is refused for those first, so it was never parsed; signed, the parse refuses it.
    const twice = '{"amount":"1.00","amount":"99999.00"}';
    const other = createAccessTokenIssuer({ secret: 'another-secret-of-at-least-32-bytes!!' });
    expect((await failure(signedRequest({ body: twice, token: other.issue(CLIENT, NOW) }))).code).toBe('INVALID_TOKEN');
    expect((await failure({ ...signedRequest(), body: twice })).code).toBe('INVALID_SIGNATURE');
    expect((await failure(signedRequest({ body: twice }), options({ now: NOW + 400_000 }))).code).toBe('TIMESTAMP_OUT_OF_WINDOW');
    const signed = await failure(signedRequest({ body: twice }));
    expect(answer(signed)).toEqual([400, '4004700', 'Bad Request']);
    expect(signed.message).toMatch(/gives a key twice with different values/);
    // Deep nesting is refused (400) before any parse, never a crash; moderate nesting is parsed.
    const deep = (n: number) => `{"a":${'['.repeat(n)}${']'.repeat(n)}}`;
    expect((await failure(signedRequest({ body: deep(8000) }))).message).toMatch(/nested 8001 levels deep; at most 64/); // 16 KiB, the default limit
    expect((await failure(signedRequest({ body: deep(64) }))).message).toMatch(/nested 65 levels deep/);
    expect((await verifyTransactionRequest(signedRequest({ body: deep(63) }), options())).body).toHaveProperty('a');
    // Brackets inside strings do not count.
    expect((await verifyTransactionRequest(signedRequest({ body: `{"note":"${'['.repeat(100)}\\"${'{'.repeat(100)}"}` }), options())).body).toHaveProperty('note');
  });
  it('a lossless body: a number JSON.parse cannot hold exactly keeps its digits, as a string', async () => {
    const body = '{"customerNo":12345678901234567890,"amount":10000.00,"tiny":1e-400,"count":3,"ratio":0.1}';
    const v = await verifyTransactionRequest(signedRequest({ body }), options());
    expect(v.body).toEqual({ customerNo: '12345678901234567890', amount: 10000, tiny: '1e-400', count: 3, ratio: 0.1 });
  });
  it('token not Bearer, malformed, bad MAC, expired or another client: 401 / 4014701 Invalid Token (B2B)', async () => {
    const other = createAccessTokenIssuer({ secret: 'another-secret-of-at-least-32-bytes!!' });
    const cases: Array<Record<string, string>> = [
      { Authorization: `Basic ${TOKEN}` },
      { Authorization: TOKEN },
      { Authorization: 'Bearer' },
      { Authorization: 'Bearer not.a-token' },
      { Authorization: `Bearer ${other.issue(CLIENT, NOW)}` }, // bad MAC
      { Authorization: `Bearer ${issuer.issue(CLIENT, NOW - 901_000)}` }, // expired
      { Authorization: `Bearer ${issuer.issue('OTHERCLIENT', NOW)}` }, // another client
    ];
    for (const headers of cases) {
      const error = await failure(signedRequest({ headers }));
      expect(error.code, headers.Authorization).toBe('INVALID_TOKEN');
      expect(answer(error)).toEqual([401, '4014701', 'Invalid Token (B2B)']);
    }
  });
  it('a stored-token lookup that does not know the token: 401 / 4014703 Token Not Found (B2B)', async () => {
    expect(answer(await failure(signedRequest(), options({ tokens: async () => undefined })))).toEqual([401, '4014703', 'Token Not Found (B2B)']);
    expect(answer(await failure(signedRequest(), options({ tokens: () => ({ clientKey: CLIENT, expiresAt: NOW }) })))).toEqual([401, '4014701', 'Invalid Token (B2B)']);
    expect(answer(await failure(signedRequest(), options({ tokens: () => ({ clientKey: 'SOMEONE' }) })))).toEqual([401, '4014701', 'Invalid Token (B2B)']);
  });
  it('X-PARTNER-ID must be the token\'s client', async () => {
    const error = await failure(signedRequest({ headers: { 'X-PARTNER-ID': 'OTHERCLIENT' } }));
    expect(answer(error)).toEqual([401, '4014701', 'Invalid Token (B2B)']);
    expect(error.message).toMatch(/another client than X-PARTNER-ID/);
  });
  it('stale or future X-TIMESTAMP: 401 / 4014700', async () => {
    expect(answer(await failure(signedRequest(), options({ now: NOW + 301_000 })))).toEqual([401, '4014700', 'Unauthorized. X-TIMESTAMP is 301 s behind server time (allowed 300 s)']);
    expect(answer(await failure(signedRequest(), options({ now: NOW - 400_000 })))).toEqual([401, '4014700', 'Unauthorized. X-TIMESTAMP is 400 s ahead of server time (allowed 300 s)']);
  });
  it('clockSkewSeconds 0 accepts a stamp of the current second at every arrival offset within it (compared at the stamp\'s precision)', async () => {
    for (let ms = 0; ms < 1000; ms += 37) {
      expect((await verifyTransactionRequest(signedRequest(), options({ clockSkewSeconds: 0, now: NOW + ms }))).externalId, `+${ms} ms`).toBeDefined();
    }
    expect(answer(await failure(signedRequest(), options({ clockSkewSeconds: 0, now: NOW + 1000 })))).toEqual([401, '4014700', 'Unauthorized. X-TIMESTAMP is 1 s behind server time (allowed 0 s)']);
    expect(answer(await failure(signedRequest(), options({ clockSkewSeconds: 0, now: NOW - 1 })))).toEqual([401, '4014700', 'Unauthorized. X-TIMESTAMP is 0.001 s ahead of server time (allowed 0 s)']);
  });
  it('never says "300 s behind (allowed 300 s)": a millisecond stamp just outside the window shows its exact distance', async () => {
    const ts = `${TS.slice(0, 19)}.000${TS.slice(19)}`;
    const stringToSign = buildSymmetricStringToSign({ method: 'POST', path: PATH, accessToken: TOKEN, body: BODY, timestamp: ts });
    const r = signedRequest({ headers: { 'X-TIMESTAMP': ts, 'X-SIGNATURE': signSymmetric(SECRET, stringToSign) } });
    expect(answer(await failure(r, options({ now: NOW + 300_400 })))).toEqual([401, '4014700', 'Unauthorized. X-TIMESTAMP is 300.400 s behind server time (allowed 300 s)']);
    expect((await verifyTransactionRequest(r, options({ now: NOW + 300_000 }))).timestamp.text).toBe(ts);
  });
  it('a body with a UTF-8 byte-order mark: 400 / 4004700, and the detail names the BOM', async () => {
    for (const body of [`\uFEFF${BODY}`, new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(BODY)])]) {
      const error = await failure({ ...signedRequest(), body: body as never });
      expect(answer(error)).toEqual([400, '4004700', 'Bad Request']);
      expect(error.message).toMatch(/byte-order mark \(EF BB BF\)/);
    }
  });
  it('a token-bound client that is not configured: 401 / 4014700', async () => {
    const token = issuer.issue('GHOST', NOW);
    const r = signedRequest({ token, headers: { 'X-PARTNER-ID': 'GHOST' } });
    expect(answer(await failure(r))).toEqual([401, '4014700', 'Unauthorized. Unknown X-PARTNER-ID']);
  });
  it('bad symmetric signatures: 401 / 4014700', async () => {
    const good = signedRequest();
    const changes = [
      { ...good, body: BODY.replace('10000.00', '10000.01') }, // body changed
      { ...good, path: `${PATH}?x=1` }, // path changed
      { ...good, headers: { ...good.headers, 'X-SIGNATURE': signSymmetric('wrong-secret', 'x') } },
      { ...good, headers: { ...good.headers, 'X-SIGNATURE': (good.headers['X-SIGNATURE'] as string).replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) } },
      { ...good, headers: { ...good.headers, 'X-SIGNATURE': 'not base64' } },
    ];
    for (const r of changes) expect(answer(await failure(r))).toEqual([401, '4014700', 'Unauthorized. Signature does not verify']);
  });
  it('checks only: the same call verifies twice, and its signature claim key is handed over', async () => {
    const first = await verifyTransactionRequest(signedRequest(), options());
    const again = await verifyTransactionRequest(signedRequest(), options());
    expect(again.signatureClaimKey).toBe(first.signatureClaimKey);
    expect(first.signatureClaimKey).toBe(signatureClaimKey(CLIENT, TS, signedRequest().headers['X-SIGNATURE'] as string));
  });
});

describe('verifyTransactionRequest: the caller\'s mistakes are TypeErrors', () => {
  it('refuses bad options and a parsed body', async () => {
    await expect(verifyTransactionRequest(signedRequest(), { ...options(), serviceCode: '4' })).rejects.toThrow(/two-digit SNAP service code/);
    await expect(verifyTransactionRequest(signedRequest(), { ...options(), tokens: {} as never })).rejects.toThrow(/token issuer/);
    await expect(verifyTransactionRequest(signedRequest(), { ...options(), signature: 'hmac' as never })).rejects.toThrow(/symmetric/);
    await expect(verifyTransactionRequest({ ...signedRequest(), body: JSON.parse(BODY) as never }, options())).rejects.toThrow(/raw body/);
    await expect(verifyTransactionRequest({ ...signedRequest(), path: 'api/v1.0' }, options())).rejects.toThrow(/relative path/);
    await expect(verifyTransactionRequest(signedRequest(), options({ clients: { [CLIENT]: {} } }))).rejects.toThrow(/neither a clientSecret nor a publicKey/);
    await expect(verifyTransactionRequest(signedRequest(), options({ signature: 'symmetric', clients: { [CLIENT]: {} } }))).rejects.toThrow(/no clientSecret/);
    // Claims belong to the handler: an externalIds option here is refused, never silently ignored.
    await expect(verifyTransactionRequest(signedRequest(), { ...options(), externalIds: createMemoryClaimStore() } as never)).rejects.toThrow(/pass externalIds to createTransactionHandler/);
  });
});

// ---------------------------------------------------------------------------------------

describe('createTransactionHandler', () => {
  const json = (r: EndpointResponse) => JSON.parse(r.body) as Record<string, unknown>;
  // The replay guard is on by default (one store per process) and X-EXTERNAL-ID uniqueness
  // too (one store per process and service code); these tests send one signed call many
  // times, so they turn both off. The guards have their own tests (test/money-path.test.ts).
  const base = { ...options(), now: () => NOW, replayCache: false as const, externalIds: false as const };

  it('hands the verified call to handle() and sends its body with the SNAP headers', async () => {
    const handle = vi.fn(async (v: { body: Record<string, unknown> }) => ({ responseCode: '2004700', responseMessage: 'Successful', virtualAccountData: { customerNo: v.body.customerNo } }));
    const h = createTransactionHandler({ ...base, handle });
    const r = await h(signedRequest());
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ responseCode: '2004700', responseMessage: 'Successful', virtualAccountData: { customerNo: '12345' } });
    expect(r.headers).toEqual({ 'Content-Type': 'application/json', 'X-TIMESTAMP': TS });
    expect(handle).toHaveBeenCalledTimes(1);
  });
  it('takes the HTTP status from the responseCode handle() returns', async () => {
    const h = createTransactionHandler({ ...base, handle: () => ({ responseCode: '4044712', responseMessage: 'Invalid Bill/Virtual Account' }) });
    expect((await h(signedRequest())).status).toBe(404);
    // An answer without a SNAP responseCode is never sent: 500, and onError names the mistake.
    const onError = vi.fn();
    const plain = createTransactionHandler({ ...base, onError, handle: () => ({ ok: true }) as never });
    expect((await plain(signedRequest())).status).toBe(500);
    expect((onError.mock.calls[0]?.[0] as Error).message).toMatch(/returned an answer without responseCode; it must return the response body/);
  });
  it('answer helpers, scoped to the endpoint: ok(fields) and fail(reason, detail?) with their SNAP codes', async () => {
    const cases: Array<[(a: TransactionAnswers) => TransactionAnswer, number, Record<string, unknown>]> = [
      [(a) => a.ok({ paymentNo: 'P-1' }), 200, { responseCode: '2004700', responseMessage: 'Successful', paymentNo: 'P-1' }],
      [(a) => a.fail('bill-not-found'), 404, { responseCode: '4044712', responseMessage: 'Invalid Bill/Virtual Account' }],
      [(a) => a.fail('bill-not-found', 'unknown payment code'), 404, { responseCode: '4044712', responseMessage: 'Invalid Bill/Virtual Account unknown payment code' }],
      [(a) => a.fail('invalid-bill'), 404, { responseCode: '4044719', responseMessage: 'Invalid Bill/Virtual Account' }],
      [(a) => a.fail('paid-bill'), 404, { responseCode: '4044714', responseMessage: 'Paid Bill' }],
      [(a) => a.fail('invalid-amount', undefined, { expected: '25000.00' }), 404, { responseCode: '4044713', responseMessage: 'Invalid Amount', expected: '25000.00' }],
      [(a) => a.fail('transaction-expired'), 403, { responseCode: '4034700', responseMessage: 'Transaction Expired' }],
      [(a) => a.fail('transaction-not-found'), 404, { responseCode: '4044701', responseMessage: 'Transaction Not Found' }],
      [(a) => a.fail('inconsistent-request'), 404, { responseCode: '4044718', responseMessage: 'Inconsistent Request' }],
      [(a) => a.fail('feature-not-allowed', 'CVS disabled'), 403, { responseCode: '4034701', responseMessage: 'Feature Not Allowed CVS disabled' }],
      [(a) => a.fail('exceeds-amount-limit'), 403, { responseCode: '4034702', responseMessage: 'Exceeds Transaction Amount Limit' }],
      [(a) => a.fail('suspected-fraud'), 403, { responseCode: '4034703', responseMessage: 'Suspected Fraud' }],
      [(a) => a.fail('do-not-honor'), 403, { responseCode: '4034705', responseMessage: 'Do Not Honor' }],
    ];
    expect(cases.map(([, , b]) => (b as { responseCode: string }).responseCode.slice(5))).toHaveLength(Object.keys(BUSINESS_REFUSALS).length + 2);
    for (const [make, status, body] of cases) {
      const h = createTransactionHandler({ ...base, handle: (_v, { answer }) => make(answer) });
      const r = await h(signedRequest());
      expect([r.status, JSON.parse(r.body)]).toEqual([status, body]);
    }
    // snapResponse() is a valid answer too (it type-checks as one).
    const viaSnap = createTransactionHandler({ ...base, handle: () => snapResponse({ httpStatus: 404, serviceCode: '47', caseCode: '14' }) });
    expect(JSON.parse((await viaSnap(signedRequest())).body)).toEqual({ responseCode: '4044714', responseMessage: 'Paid Bill' });
    // Misuse is the merchant's error: 500.
    const onError = vi.fn();
    const unknown = createTransactionHandler({ ...base, onError, handle: (_v, { answer }) => answer.fail('lost' as never) });
    expect((await unknown(signedRequest())).status).toBe(500);
    expect((onError.mock.calls[0]?.[0] as Error).message).toMatch(/unknown reason "lost"; one of bill-not-found/);
    const overriding = createTransactionHandler({ ...base, onError, handle: (_v, { answer }) => answer.ok({ responseCode: '2004800' }) });
    expect((await overriding(signedRequest())).status).toBe(500);
    for (const bad of [['a'], 'x', null]) {
      const misuse = createTransactionHandler({ ...base, onError, handle: (_v, { answer }) => answer.ok(bad as never) });
      expect((await misuse(signedRequest())).status).toBe(500);
    }
    expect(String(onError.mock.calls.at(-1)?.[0])).toMatch(/fields must be a plain object of your own fields, got null/);
    // A long detail (built from request data, say) is cut to SNAP's 150 characters, never an answer the handler refuses.
    const long = createTransactionHandler({ ...base, handle: (_v, { answer }) => answer.fail('bill-not-found', `no bill for customer ${'9'.repeat(130)}`) });
    const cut = await long(signedRequest());
    expect([cut.status, JSON.parse(cut.body).responseMessage.length]).toEqual([404, 150]);
  });
  it('a typed body: createTransactionHandler<Body>() gives handle() and idempotency.key() the shape you expect (types only)', async () => {
    const h = createTransactionHandler<DemoPaymentBodyExample>({
      ...base,
      idempotency: { key: ({ body }) => body.paymentRequestId },
      handle: ({ body }, { answer }) => answer.ok({ code: body.paymentCode, amount: body.paidAmount.value }),
    });
    const body = '{"paymentCode":"888","paymentRequestId":"PAY-T","paidAmount":{"value":"25000.00","currency":"IDR"}}';
    const r = await h(signedRequest({ body }));
    expect(JSON.parse(r.body)).toEqual({ responseCode: '2004700', responseMessage: 'Successful', code: '888', amount: '25000.00' });
    // @ts-expect-error a field the shape does not have
    createTransactionHandler<DemoPaymentBodyExample>({ ...base, handle: ({ body }, { answer }) => answer.ok({ x: body.notAField }) });
  });
  it('a handle() that throws is 500 / 5004700 General Error, with nothing leaked; onError sees it', async () => {
    const onError = vi.fn();
    const h = createTransactionHandler({ ...base, onError, handle: () => { throw new Error('db password hunter2'); } });
    const r = await h(signedRequest());
    expect(r.status).toBe(500);
    expect(json(r)).toEqual({ responseCode: '5004700', responseMessage: 'General Error' });
    expect(r.body).not.toContain('hunter2');
    // onError gets the merchant's own error, as thrown.
    expect((onError.mock.calls[0]?.[0] as Error).message).toBe('db password hunter2');
    const bad = createTransactionHandler({ ...base, handle: () => 'text' as never });
    expect((await bad(signedRequest())).status).toBe(500);
    const lookupFails = createTransactionHandler({ ...base, tokens: async () => { throw new Error('redis down'); }, handle: () => ({ responseCode: '2004700' }) });
    expect(json(await lookupFails(signedRequest())).responseCode).toBe('5004700');
  });
  it('answers every failure with its code for the endpoint, and 405 for other methods', async () => {
    const h = createTransactionHandler({ ...base, handle: () => ({ responseCode: '2004700' }) });
    expect(json(await h(signedRequest({ headers: { Authorization: undefined } })))).toEqual({ responseCode: '4004702', responseMessage: 'Invalid Mandatory Field {Authorization}' });
    const get = await h({ ...signedRequest(), method: 'GET' });
    expect([get.status, json(get).responseCode]).toEqual([405, '4054700']);
  });
  it('two handler instances sharing one store reject a repeated X-EXTERNAL-ID', async () => {
    const externalIds = createMemoryClaimStore({ now: () => NOW });
    const a = createTransactionHandler({ ...base, externalIds, handle: () => ({ responseCode: '2004700' }) });
    const b = createTransactionHandler({ ...base, externalIds, handle: () => ({ responseCode: '2004700' }) });
    expect((await a(signedRequest())).status).toBe(200);
    const repeat = await b(signedRequest());
    expect([repeat.status, json(repeat).responseCode]).toEqual([409, '4094700']);
  });
  it('refuses bad options at creation', () => {
    expect(() => createTransactionHandler({ ...base, handle: undefined as never })).toThrow(/handle/);
    expect(() => createTransactionHandler({ ...base, serviceCode: 'xx', handle: () => ({ responseCode: '2004700' }) })).toThrow(/service code/);
    expect(() => createTransactionHandler({ ...base, clients: { A: {} }, handle: () => ({ responseCode: '2004700' }) })).toThrow(/needs a clientSecret/);
    expect(() => createTransactionHandler({ ...base, signature: 'asymmetric', clients: { A: { clientSecret: 's' } }, handle: () => ({ responseCode: '2004700' }) })).toThrow(/needs a publicKey/);
  });
  it('imports and checks the clients\' public keys at creation, not on every call', () => {
    const small = makeKeys(1024);
    const make = (publicKey: string, extra = {}) => () =>
      createTransactionHandler({ ...base, signature: 'asymmetric', clients: { [CLIENT]: { publicKey } }, handle: () => ({ responseCode: '2004700' }), ...extra });
    expect(make('MIIBnot-a-key')).toThrow(KeyImportError);
    expect(make(small.publicKeyPem)).toThrow(/client "IONPAYTEST".*1024 bits; keys under 2048/);
    expect(make(small.publicKeyPem, { minModulusBits: 1024 })).not.toThrow();
    expect(make(keys.publicKeyPem)).not.toThrow();
  });

  it('mutation fuzz: thousands of broken calls, never a throw, always a well-formed SNAP answer', async () => {
    const onError = vi.fn();
    const h = createTransactionHandler({ ...base, externalIds: createMemoryClaimStore({ now: () => NOW }), onError, handle: () => ({ responseCode: '2004700', responseMessage: 'Successful' }) });
    let s = 12345;
    const rand = (n: number) => {
      s = (s * 1103515245 + 12345) >>> 0;
      return (s >>> 16) % n;
    };
    const junk = ['', ' ', ',', 'Bearer', 'Bearer  x', '{}', '[]', '\u0000', 'é', 'x'.repeat(300), '2024-02-30T00:00:00Z', '=', '"'];
    const statuses = new Map<number, number>();
    const N = 3000;
    for (let i = 0; i < N; i++) {
      const r = signedRequest({ headers: { 'X-EXTERNAL-ID': `id-${i}` } }) as { method: string; path: string; headers: Record<string, unknown>; body: unknown };
      for (let m = 1 + rand(3); m > 0; m--) {
        const names = Object.keys(r.headers);
        const name = names[rand(names.length)] as string;
        switch (rand(8)) {
          case 0: r.headers = { ...r.headers, [name]: undefined }; break;
          case 1: r.headers = { ...r.headers, [name]: junk[rand(junk.length)] }; break;
          case 2: r.headers = { ...r.headers, [name]: [String(r.headers[name]), 'x'] }; break;
          case 3: r.body = String(r.body).slice(0, rand(String(r.body).length)); break;
          case 4: r.body = junk[rand(junk.length)]; break;
          case 5: r.path = rand(2) ? `${r.path}?q=${rand(9)}` : 'no-slash'; break;
          case 6: r.method = ['GET', 'post', 'PUT', ''][rand(4)] as string; break;
          default: r.body = [undefined, null, {}, 5][rand(4)]; break;
        }
      }
      const response = await h(r as never);
      const body = JSON.parse(response.body) as { responseCode: string; responseMessage: unknown };
      expect(body.responseCode.startsWith(String(response.status))).toBe(true);
      expect(parseResponseCode(body.responseCode).serviceCode).toBe('47');
      expect(typeof body.responseMessage).toBe('string');
      expect(response.headers['X-TIMESTAMP']).toBe(TS);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
    for (const status of [400, 401, 405, 500]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    expect([...statuses.values()].reduce((a, b) => a + b)).toBe(N);
    // Every 500 is a programming error of the caller (non-raw body, bad path), reported.
    expect(onError.mock.calls.filter(([, c]) => (c as { status: number }).status === 500).every(([e]) => e instanceof TypeError)).toBe(true);
  });
});
