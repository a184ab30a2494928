import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createAccessTokenVerifier,
  KeyImportError,
  SnapError,
  verifyAccessTokenRequest,
  type AccessTokenVerifyOptions,
} from '../src/index.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const publicBase64 = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');

const CLIENT = 'IONPAYTEST';
const TS = '2024-01-22T15:00:01+07:00';
const NOW = Date.parse(TS);
const BODY = '{"grantType":"client_credentials","additionalInfo":{}}';
const signWith = (key: typeof privateKey, text: string): string => sign('sha256', Buffer.from(text), key).toString('base64');

const options: AccessTokenVerifyOptions = { clients: { [CLIENT]: publicPem, OTHERCLIENT: publicBase64 }, now: NOW };

function request(overrides: Record<string, string | string[] | undefined> = {}, body: string | Uint8Array = BODY) {
  const headers: Record<string, string | string[] | undefined> = {
    'content-type': 'application/json',
    'x-timestamp': TS,
    'x-client-key': CLIENT,
    'x-signature': signWith(privateKey, `${CLIENT}|${TS}`),
    ...overrides,
  };
  return { headers, body };
}

function failure(req: ReturnType<typeof request>, opts: AccessTokenVerifyOptions = options): SnapError {
  try {
    verifyAccessTokenRequest(req, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(SnapError);
    return error as SnapError;
  }
  throw new Error('expected verifyAccessTokenRequest to throw');
}

const answer = (error: SnapError): [number, string, string] => [error.httpStatus, error.responseCode, error.responseMessage];

describe('verifyAccessTokenRequest: success', () => {
  it('returns what it verified', () => {
    const verified = verifyAccessTokenRequest(request(), options);
    expect(verified.clientKey).toBe(CLIENT);
    expect(verified.timestamp).toEqual({ text: TS, epochMs: NOW, offsetMinutes: 420, offset: '+07:00' });
    expect(verified.body).toEqual({ grantType: 'client_credentials', additionalInfo: {} });
    expect(verified.publicKey.bits).toBe(2048);
    expect(verified.signature).toBe(request().headers['x-signature']);
  });
  it('reads header names in any case, string[] values, and Fetch Headers', () => {
    const { headers, body } = request();
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyAccessTokenRequest({ headers: upper, body }, options).clientKey).toBe(CLIENT);
    const arrays = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v as string]]));
    expect(verifyAccessTokenRequest({ headers: arrays, body }, options).clientKey).toBe(CLIENT);
    const fetchHeaders = new Headers(headers as Record<string, string>);
    expect(verifyAccessTokenRequest({ headers: fetchHeaders, body }, options).clientKey).toBe(CLIENT);
  });
  it('takes the body as bytes, with or without additionalInfo, and charset=utf-8', () => {
    expect(verifyAccessTokenRequest(request({}, new TextEncoder().encode(BODY)), options).clientKey).toBe(CLIENT);
    expect(verifyAccessTokenRequest(request({}, ' {"grantType" : "client_credentials"}\n'), options).body.additionalInfo).toEqual({});
    expect(verifyAccessTokenRequest(request({ 'content-type': 'Application/JSON; charset="UTF-8"' }), options).clientKey).toBe(CLIENT);
  });
  it('accepts timestamps at both edges of the window, with milliseconds and Z', () => {
    const at = (ts: string, now: number) =>
      verifyAccessTokenRequest(request({ 'x-timestamp': ts, 'x-signature': signWith(privateKey, `${CLIENT}|${ts}`) }), { ...options, now });
    expect(at(TS, NOW + 300_000).clientKey).toBe(CLIENT);
    expect(at(TS, NOW - 300_000).clientKey).toBe(CLIENT);
    expect(at('2024-01-22T08:00:01.000Z', NOW).timestamp.epochMs).toBe(NOW);
    expect(at(TS, NOW + 10_000).clientKey).toBe(CLIENT);
  });
  it('imports each configured key once, not per request', () => {
    const first = verifyAccessTokenRequest(request(), options).publicKey;
    const second = verifyAccessTokenRequest(request(), { ...options, now: NOW + 1 }).publicKey;
    expect(second).toBe(first);
    const verify = createAccessTokenVerifier(options);
    expect(verify(request()).publicKey).toBe(first);
    expect(verify(request(), { now: NOW - 1000 }).clientKey).toBe(CLIENT);
  });
  it('uses the clock when now is not given', () => {
    const ts = new Date(Date.now()).toISOString();
    const req = request({ 'x-timestamp': ts, 'x-signature': signWith(privateKey, `${CLIENT}|${ts}`) });
    expect(verifyAccessTokenRequest(req, { clients: options.clients }).clientKey).toBe(CLIENT);
  });
});

describe('verifyAccessTokenRequest: each failure has its SNAP answer', () => {
  it.each(['Content-Type', 'X-TIMESTAMP', 'X-CLIENT-KEY', 'X-SIGNATURE'])('missing %s: 400 / 4007302', (name) => {
    expect(answer(failure(request({ [name.toLowerCase()]: undefined })))).toEqual([400, '4007302', `Invalid Mandatory Field {${name}}`]);
    expect(answer(failure(request({ [name.toLowerCase()]: '' })))).toEqual([400, '4007302', `Invalid Mandatory Field {${name}}`]);
  });
  it('malformed timestamp: 400 / 4007301', () => {
    for (const ts of ['2024-01-22 15:00:01+07:00', '2024-01-22T15:00:01', '2023-02-29T10:00:00+07:00', 'now']) {
      const error = failure(request({ 'x-timestamp': ts, 'x-signature': signWith(privateKey, `${CLIENT}|${ts}`) }));
      expect(answer(error)).toEqual([400, '4007301', 'Invalid Field Format {X-TIMESTAMP}']);
    }
  });
  it('a header given twice: 400 / 4007301', () => {
    const sig = request().headers['x-signature'] as string;
    expect(answer(failure(request({ 'x-signature': [sig, sig] })))).toEqual([400, '4007301', 'Invalid Field Format {X-SIGNATURE}']);
    expect(answer(failure(request({ 'x-timestamp': `${TS}, ${TS}` })))).toEqual([400, '4007301', 'Invalid Field Format {X-TIMESTAMP}']);
    const { headers, body } = request();
    const error = failure({ headers: { ...headers, 'X-Client-Key': CLIENT }, body });
    expect(answer(error)).toEqual([400, '4007301', 'Invalid Field Format {X-CLIENT-KEY}']);
    const fetchHeaders = new Headers(headers as Record<string, string>);
    fetchHeaders.append('x-client-key', CLIENT);
    expect(answer(failure({ headers: fetchHeaders as never, body }))).toEqual([400, '4007301', 'Invalid Field Format {X-CLIENT-KEY}']);
  });
  it('Content-Type not JSON: 400 / 4007301', () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=iso-8859-1', 'application/jsonp']) {
      expect(answer(failure(request({ 'content-type': type })))).toEqual([400, '4007301', 'Invalid Field Format {Content-Type}']);
    }
  });
  it('client key with "|" or control characters: 400 / 4007301', () => {
    for (const key of ['ION|PAY', 'ION PAY', 'x'.repeat(129)]) {
      expect(answer(failure(request({ 'x-client-key': key })))).toEqual([400, '4007301', 'Invalid Field Format {X-CLIENT-KEY}']);
    }
  });
  it('body not a JSON object: 400 / 4007300', () => {
    for (const body of ['', 'not json', '[]', '[{"grantType":"client_credentials"}]', 'null', '"client_credentials"', '42', '{"grantType":', new Uint8Array([0x7b, 0xff, 0x7d])]) {
      expect(answer(failure(request({}, body)))).toEqual([400, '4007300', 'Bad Request']);
    }
  });
  it('body over the limit: 400 / 4007300', () => {
    const big = `{"grantType":"client_credentials","additionalInfo":{"pad":"${'x'.repeat(17000)}"}}`;
    const error = failure(request({}, big));
    expect(error.code).toBe('BODY_TOO_LARGE');
    expect(answer(error)).toEqual([400, '4007300', 'Bad Request']);
    expect(verifyAccessTokenRequest(request({}, big), { ...options, maxBodyBytes: 20_000 }).clientKey).toBe(CLIENT);
  });
  it('grantType missing: 400 / 4007302; wrong: 400 / 4007301', () => {
    for (const body of ['{}', '{"additionalInfo":{}}', '{"grantType":""}', '{"grantType":null}']) {
      expect(answer(failure(request({}, body)))).toEqual([400, '4007302', 'Invalid Mandatory Field {grantType}']);
    }
    for (const body of ['{"grantType":"password"}', '{"grantType":"CLIENT_CREDENTIALS"}', '{"grantType":["client_credentials"]}', '{"grantType":1}']) {
      expect(answer(failure(request({}, body)))).toEqual([400, '4007301', 'Invalid Field Format {grantType}']);
    }
  });
  it('additionalInfo not an object: 400 / 4007301; missing only when required: 400 / 4007302', () => {
    for (const info of ['null', '[]', '"x"', '1', 'true']) {
      const body = `{"grantType":"client_credentials","additionalInfo":${info}}`;
      expect(answer(failure(request({}, body)))).toEqual([400, '4007301', 'Invalid Field Format {additionalInfo}']);
    }
    const error = failure(request({}, '{"grantType":"client_credentials"}'), { ...options, requireAdditionalInfo: true });
    expect(answer(error)).toEqual([400, '4007302', 'Invalid Mandatory Field {additionalInfo}']);
  });
  it('unknown client key: 401 / 4017300', () => {
    for (const key of ['UNKNOWN', '__proto__', 'constructor', 'toString', 'ionpaytest']) {
      const error = failure(request({ 'x-client-key': key, 'x-signature': signWith(privateKey, `${key}|${TS}`) }));
      expect(error.code).toBe('UNKNOWN_CLIENT');
      expect(answer(error)).toEqual([401, '4017300', 'Unauthorized. Unknown X-CLIENT-KEY']);
    }
  });
  it('stale and future timestamps: 401 / 4017300, saying by how much', () => {
    const late = failure(request(), { ...options, now: NOW + 301_000 });
    expect(late.code).toBe('TIMESTAMP_OUT_OF_WINDOW');
    expect(answer(late)).toEqual([401, '4017300', 'Unauthorized. X-TIMESTAMP is 301 s behind server time (allowed 300 s)']);
    const early = failure(request(), { ...options, now: NOW - 3600_000 });
    expect(early.responseMessage).toBe('Unauthorized. X-TIMESTAMP is 3600 s ahead of server time (allowed 300 s)');
    // A UTC clock stamped +07:00 is 7 hours off: the log message says so.
    const sdkBug = failure(request(), { ...options, now: NOW + 7 * 3600_000 });
    expect(sdkBug.message).toMatch(/25200 s behind.*UTC clock stamped with \+07:00/);
    expect(failure(request(), { ...options, now: NOW + 61_000, clockSkewSeconds: 60 }).responseMessage).toMatch(/61 s behind .*allowed 60 s/);
  });
  it('clockSkewSeconds 0 means exact, not skip', () => {
    expect(verifyAccessTokenRequest(request(), { ...options, clockSkewSeconds: 0 }).clientKey).toBe(CLIENT);
    expect(failure(request(), { ...options, now: NOW + 1000, clockSkewSeconds: 0 }).code).toBe('TIMESTAMP_OUT_OF_WINDOW');
  });
  it('bad signatures: 401 / 4017300', () => {
    const good = request().headers['x-signature'] as string;
    const flipped = Buffer.from(good, 'base64');
    flipped[10] = (flipped[10] as number) ^ 1;
    const cases = [
      flipped.toString('base64'),
      signWith(other.privateKey, `${CLIENT}|${TS}`), // another key
      signWith(privateKey, `${CLIENT}|2024-01-22T15:00:02+07:00`), // another timestamp
      signWith(privateKey, `OTHERCLIENT|${TS}`), // signed for another client
      good.replace(/=+$/, ''),
      good.replace(/\+/g, '-').replace(/\//g, '_'),
      'AAAA',
      'not base64 at all!',
      'A'.repeat(5000),
    ];
    for (const sig of cases) {
      const error = failure(request({ 'x-signature': sig }));
      expect(error.code).toBe('INVALID_SIGNATURE');
      expect(answer(error)).toEqual([401, '4017300', 'Unauthorized. Signature does not verify']);
    }
  });
  it('never puts the signature or a key into an error', () => {
    const sig = signWith(other.privateKey, `${CLIENT}|${TS}`);
    const error = failure(request({ 'x-signature': sig }));
    for (const text of [error.message, error.responseMessage, JSON.stringify(error.toResponseBody())]) {
      expect(text).not.toContain(sig.slice(0, 16));
      expect(text).not.toContain(publicBase64.slice(40, 60));
    }
  });
});

describe('verifyAccessTokenRequest: caller mistakes are TypeErrors with directions', () => {
  it('refuses a parsed body, saying to pass the raw one', () => {
    const parsed = { grantType: 'client_credentials', additionalInfo: {} };
    expect(() => verifyAccessTokenRequest({ headers: request().headers, body: parsed as never }, options)).toThrow(
      /raw body as received.*got an object.*express\.raw/s,
    );
    expect(() => verifyAccessTokenRequest({ headers: request().headers, body: undefined as never }, options)).toThrow(/request.text\(\)/);
  });
  it('refuses bad options', () => {
    expect(() => verifyAccessTokenRequest(request(), { clients: [] as never })).toThrow(/options.clients must be an object/);
    expect(() => verifyAccessTokenRequest(request(), { ...options, clockSkewSeconds: -1 })).toThrow(/clockSkewSeconds/);
    expect(() => verifyAccessTokenRequest(request(), { ...options, now: Number.NaN })).toThrow(/options.now/);
    expect(() => verifyAccessTokenRequest(request(), { ...options, maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
    expect(() => verifyAccessTokenRequest({ headers: null as never, body: BODY }, options)).toThrow(/headers/);
  });
  it('a bad configured key fails at configuration with createAccessTokenVerifier', () => {
    expect(() => createAccessTokenVerifier({ clients: { A: 'not a key' } })).toThrow(KeyImportError);
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => createAccessTokenVerifier({ clients: { A: ecKey } })).toThrow(/EC \(elliptic-curve\) key/);
  });
  it('the 1024-bit sandbox key needs the opt-in, and the message names it', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const clients = { [CLIENT]: small.publicKey.export({ type: 'spki', format: 'pem' }) as string };
    const req = request({ 'x-signature': signWith(small.privateKey, `${CLIENT}|${TS}`) });
    expect(() => verifyAccessTokenRequest(req, { clients, now: NOW })).toThrow(/minModulusBits: 1024/);
    expect(verifyAccessTokenRequest(req, { clients, now: NOW, minModulusBits: 1024 }).publicKey.bits).toBe(1024);
  });
});
