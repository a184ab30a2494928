/**
 * Dialects of the symmetric signature on inquiry and payment calls: `identifyDialect` and
 * `identifyRsaForm` (src/cli/dialects.ts); the generated dialect vectors
 * (test/vectors/nico-dialects.json, made by scripts/make-dialect-vectors.mjs) against the
 * library's own `verifyTransactionRequest`; and `verify --transaction`, called directly
 * with a fake Io (no build).
 */
import { generateKeyPairSync, sign as rsaSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../src/cli/args.js';
import { verify, VERIFY_HELP } from '../src/cli/commands/verify.js';
import { DIALECTS, identifyDialect, identifyRsaForm, parseJsonTree, phpJsonEncode, pythonJsonDumps, type DialectReport } from '../src/cli/dialects.js';
import type { Io } from '../src/cli/main.js';
import { importPublicKey, type RsaPublicKey } from '../src/crypto/keys.js';
import { isSnapError, type SnapError } from '../src/errors.js';
import { signSymmetric } from '../src/protocol/symmetric.js';
import { parseTimestamp } from '../src/protocol/timestamp.js';
import { verifyTransactionRequest } from '../src/protocol/transaction-request.js';
import { transactionDialects, vectors, type TransactionDialectVector } from '../src/vectors.js';
import dialectFile from './vectors/nico-dialects.json';

const VECTORS = dialectFile.transactionDialects as readonly TransactionDialectVector[];
const byId = (id: string): TransactionDialectVector => VECTORS.find((v) => v.id === id) as TransactionDialectVector;
const PARTNER_ID = 'IONPAYTEST';

/** The vector as identifyDialect's input. */
const captured = (v: TransactionDialectVector) => ({
  method: v.method,
  path: v.path,
  accessToken: v.accessToken,
  timestamp: v.timestamp,
  body: v.rawBody,
  signature: v.signatureBase64,
  clientSecret: v.clientSecret,
  ...(v.receivedAt === undefined ? {} : { receivedAt: parseTimestamp(v.receivedAt).epochMs }),
});

/** The library's own verification of a vector, as a correct NICO server runs it. */
function verifyVector(v: TransactionDialectVector) {
  return verifyTransactionRequest(
    {
      method: v.method,
      path: v.path,
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${v.accessToken}`,
        'X-TIMESTAMP': v.timestamp,
        'X-PARTNER-ID': PARTNER_ID,
        'X-EXTERNAL-ID': '41807553358950093184',
        'X-SIGNATURE': v.signatureBase64,
      },
      body: v.rawBody,
    },
    {
      serviceCode: '47',
      signature: 'symmetric',
      clients: { [PARTNER_ID]: { clientSecret: v.clientSecret } },
      tokens: (token) => (token === v.accessToken ? { clientKey: PARTNER_ID } : undefined),
      now: parseTimestamp(v.receivedAt ?? v.timestamp).epochMs,
    },
  );
}

describe('the dialect vectors (test/vectors/nico-dialects.json)', () => {
  it('are exactly what scripts/make-dialect-vectors.mjs generates now', async () => {
    const script = new URL('../scripts/make-dialect-vectors.mjs', import.meta.url).href;
    const { renderDialectVectors, makeDialectVectors } = (await import(script)) as { renderDialectVectors(): string; makeDialectVectors(): unknown };
    expect(readFileSync(new URL('./vectors/nico-dialects.json', import.meta.url), 'utf8')).toBe(renderDialectVectors());
    expect(makeDialectVectors()).toEqual(dialectFile);
  });

  it('are one per dialect: every symmetric dialect and the clock one, once each', () => {
    const ids = VECTORS.map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
    const symmetric = Object.keys(DIALECTS).filter((id) => !id.startsWith('rsa-'));
    expect([...ids].sort()).toEqual([...symmetric, 'utc-as-jakarta'].sort());
    expect(VECTORS.filter((v) => v.verdict === 'accept').map((v) => v.id)).toEqual(['minified', 'as-sent']);
  });

  it("say they are generated, not NICEPAY's, and use an obvious test secret", () => {
    expect(dialectFile.source).toMatch(/scripts\/make-dialect-vectors\.mjs.*NOT published by NICEPAY/);
    for (const v of VECTORS) {
      expect(v.source).toBe(dialectFile.source);
      expect(v.clientSecret).toMatch(/^TEST-ONLY-/);
    }
  });

  it('cover a body with "/", a non-ASCII character, ": " and ", ", a query string and an empty body', () => {
    expect(VECTORS.some((v) => v.rawBody.includes('/') && /[^\x00-\x7f]/.test(v.rawBody))).toBe(true);
    expect(VECTORS.some((v) => v.rawBody.includes('": "') && v.rawBody.includes('", "'))).toBe(true);
    expect(VECTORS.some((v) => v.path.includes('?'))).toBe(true);
    expect(VECTORS.some((v) => v.rawBody === '')).toBe(true);
  });

  it('are exposed by src/vectors.ts as vectors.transactionDialects and transactionDialects', () => {
    expect(vectors.transactionDialects).toEqual(VECTORS);
    expect(transactionDialects).toBe(vectors.transactionDialects);
    expect(vectors.sources).toContain('test/vectors/nico-dialects.json');
    expect(vectors.description).toMatch(/transactionDialects are the exception/);
  });

  it.each(VECTORS.map((v) => [v.id, v] as const))('%s: the library signs the same signature as node:crypto did', (_id, v) => {
    expect(signSymmetric(v.clientSecret, v.stringToSign)).toBe(v.signatureBase64);
  });

  it.each(VECTORS.filter((v) => v.id !== 'utc-as-jakarta').map((v) => [v.id, v] as const))('%s: identifyDialect names this dialect first', (_id, v) => {
    const report = identifyDialect(captured(v));
    expect(report.matches[0]?.id).toBe(v.id);
    expect(report.matches[0]?.stringToSign).toBe(v.stringToSign);
    expect(report.matches.every((m) => m.id === v.id)).toBe(true);
    expect(report.verifies).toBe(v.verdict === 'accept');
    expect(report.accepted).toBe(v.verdict === 'accept');
    expect(report.matches[0]?.accepted).toBe(v.verdict === 'accept');
  });

  it('utc-as-jakarta: identifyDialect finds the signature right (minified) and the clock 7 hours behind', () => {
    const v = byId('utc-as-jakarta');
    const report = identifyDialect(captured(v));
    expect(report.matches.map((m) => m.id)).toEqual(['minified', 'as-sent']); // a compact body: the two are one
    expect(report.verifies).toBe(true);
    expect(report.accepted).toBe(false);
    expect(report.clock).toEqual({ offsetSeconds: -25200, fresh: false, utcAsJakarta: true });
    expect(report.hints.join('\n')).toMatch(/7 h 0 min behind the time received: a UTC clock stamped \+07:00 \(utc-as-jakarta/);
    // Without receivedAt, nothing to say about the clock.
    const { receivedAt: _, ...noClock } = captured(v);
    expect(identifyDialect(noClock)).toMatchObject({ verifies: true, accepted: true, clock: undefined, hints: [] });
  });

  it.each(VECTORS.map((v) => [v.id, v.verdict, v] as const))('%s: verifyTransactionRequest (symmetric) must %s it', async (_id, verdict, v) => {
    if (verdict === 'accept') {
      const verified = await verifyVector(v);
      expect(verified.signatureMode).toBe('symmetric');
      expect(verified.bodyHash).toBe(v.id);
      return;
    }
    const error = (await verifyVector(v).then(
      () => undefined,
      (e: unknown) => e,
    )) as SnapError;
    expect(isSnapError(error)).toBe(true);
    expect(error.httpStatus).toBe(401);
    expect(error.code).toBe(v.id === 'utc-as-jakarta' ? 'TIMESTAMP_OUT_OF_WINDOW' : 'INVALID_SIGNATURE');
  });
});

describe('identifyDialect', () => {
  const base = byId('upper-hex');
  const secret = base.clientSecret;
  const sign = (stringToSign: string, key = secret): string => signSymmetric(key, stringToSign);
  const at = (v: TransactionDialectVector, overrides: Partial<ReturnType<typeof captured>>) => identifyDialect({ ...captured(v), ...overrides });
  const sts = (hash: string, token = base.accessToken, method = 'POST', path = base.path): string => `${method}:${path}:${token}:${hash}:${base.timestamp}`;
  const compactHash = (identifyDialect(captured(base)) as DialectReport).bodySha256Hex.asSent;

  it('names both minified and as-sent when a compact body makes them one', () => {
    const report = at(base, { signature: sign(sts(compactHash)) });
    expect(report.matches.map((m) => m.id)).toEqual(['minified', 'as-sent']);
    expect(report).toMatchObject({ verifies: true, accepted: true, hints: [] });
  });

  it('accepts a Uint8Array body the same as its text', () => {
    const v = byId('as-sent');
    expect(identifyDialect({ ...captured(v), body: new TextEncoder().encode(v.rawBody) }).matches[0]?.id).toBe('as-sent');
  });

  it('never returns the client secret', () => {
    for (const v of VECTORS) expect(JSON.stringify(identifyDialect(captured(v)))).not.toContain(v.clientSecret);
  });

  it('hints: not base64, base64url, whitespace, and the length of an RSA signature', () => {
    expect(at(base, { signature: 'notbase64!' }).hints).toContain('X-SIGNATURE is not standard base64 (A-Z a-z 0-9 + /, = padding, length a multiple of 4)');
    const good = sign(sts(compactHash));
    const url = at(base, { signature: good.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') });
    expect(url.verifies).toBe(false);
    expect(url.hints.join('\n')).toMatch(/base64url/);
    expect(url.hints.join('\n')).toMatch(/it DOES verify with X-SIGNATURE converted from base64url to base64 \(as minified\)/);
    expect(at(base, { signature: good.replace(/\+/g, ' ') }).hints.join('\n')).toMatch(/it DOES verify with "\+" for the spaces in X-SIGNATURE/);
    const rsaLength = at(base, { signature: Buffer.alloc(256, 7).toString('base64') });
    expect(rsaLength.hints.join('\n')).toMatch(/256 bytes, the size of an RSA-2048 signature: this call uses the RSA form/);
    expect(at(base, { signature: Buffer.alloc(40, 7).toString('base64') }).hints.join('\n')).toMatch(/40 bytes, but an HMAC-SHA512 signature is 64 bytes \(88 base64 characters\)/);
  });

  it('hints: another secret, token or timestamp when a well-formed signature matches nothing', () => {
    const report = at(base, { clientSecret: 'another-secret' });
    expect(report.matches).toEqual([]);
    expect(report.hints).toEqual([
      'X-SIGNATURE is a well-formed HMAC-SHA512 signature but no known dialect reproduces it: another client secret signed it, or another access token, X-TIMESTAMP, method, path or body than the ones given here',
    ]);
  });

  it('hints: "Bearer <token>" signed, the method in another case, the body file\'s final line break', () => {
    expect(at(base, { signature: sign(sts(compactHash, `Bearer ${base.accessToken}`)) }).hints.join('\n')).toMatch(
      /it DOES verify over "Bearer <token>" \(as minified\): the sender signed the whole Authorization value/,
    );
    expect(at(base, { signature: sign(sts(compactHash, base.accessToken, 'post')) }).hints.join('\n')).toMatch(/it DOES verify with the method "post"/);
    // A python body with a final line break: json.dumps of it is the body without one (a
    // refused dialect matches), but the likelier story is the file's line break.
    const asSent = byId('as-sent');
    const newline = at(asSent, { body: `${asSent.rawBody}\n` });
    expect(newline.matches.map((m) => m.id)).toEqual(['python-json-dumps']);
    expect(newline.hints.join('\n')).toMatch(
      /it DOES verify without the final line break of the body \(as as-sent\)/,
    );
  });

  it('hints: a base64-looking secret decoded as the HMAC key', async () => {
    const b64Secret = 'c2VjcmV0LWtleS1ieXRlcw==';
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha512', Buffer.from(b64Secret, 'base64')).update(sts(compactHash)).digest('base64');
    expect(at(base, { clientSecret: b64Secret, signature }).hints.join('\n')).toMatch(/it DOES verify with the client secret base64-decoded as the HMAC key \(as minified\)/);
  });

  it('refuses a call whose signature verifies but whose timestamp, clock or body a correct server refuses', () => {
    const loose = at(base, { timestamp: '2024-11-13 09:54:37', signature: sign(`POST:${base.path}:${base.accessToken}:${compactHash}:2024-11-13 09:54:37`) });
    expect(loose).toMatchObject({ verifies: true, accepted: false });
    expect(loose.hints.join('\n')).toMatch(/X-TIMESTAMP is not strict SNAP format/);
    const fresh = at(base, { signature: sign(sts(compactHash)), receivedAt: parseTimestamp(base.timestamp).epochMs + 120_000 });
    expect(fresh).toMatchObject({ accepted: true, clock: { offsetSeconds: -120, fresh: true, utcAsJakarta: false } });
    const jakartaAsUtc = at(base, { signature: sign(sts(compactHash)), receivedAt: parseTimestamp(base.timestamp).epochMs - 7 * 3600_000 + 60_000 });
    expect(jakartaAsUtc.clock).toMatchObject({ fresh: false, utcAsJakarta: true });
    expect(jakartaAsUtc.hints.join('\n')).toMatch(/ahead of the time received: a Jakarta clock stamped Z/);
    const stale = at(base, { signature: sign(sts(compactHash)), receivedAt: parseTimestamp(base.timestamp).epochMs + 3600_000 });
    expect(stale.hints.join('\n')).toMatch(/X-TIMESTAMP is 1 h 0 min behind the time received \(allowed 300 s\)/);
    const notJson = at(base, { body: 'a=1&b=2', signature: sign(sts(identifyDialect({ ...captured(base), body: 'a=1&b=2' }).bodySha256Hex.asSent)) });
    expect(notJson).toMatchObject({ verifies: true, accepted: false, matches: [{ id: 'as-sent' }] });
    expect(notJson.hints.join('\n')).toMatch(/the body is not JSON .*: a correct server answers 400 Bad Request/);
    const array = at(base, { body: '[1]', signature: sign(sts(identifyDialect({ ...captured(base), body: '[1]' }).bodySha256Hex.asSent)) });
    expect(array.hints).toEqual(['the body is JSON but not an object: a correct server answers 400 Bad Request']);
  });

  it('nicepay-prefix: also when the received path has the prefix and the signed one has not', () => {
    const signature = sign(sts(compactHash));
    expect(at(base, { path: `/nicepay${base.path}`, signature }).matches.map((m) => m.id)).toEqual(['nicepay-prefix']);
  });

  it('throws a TypeError for a missing part', () => {
    expect(() => identifyDialect({ ...captured(base), clientSecret: '' })).toThrow(/clientSecret must be a non-empty string/);
    expect(() => identifyDialect({ ...captured(base), body: undefined as unknown as string })).toThrow(/body must be the raw body/);
  });
});

describe('the re-serialisers match python and PHP', () => {
  it('python json.dumps(json.loads(...)), as CPython 3 prints it', () => {
    const dumps = (text: string): string => pythonJsonDumps(parseJsonTree(text));
    // Expected values printed by CPython 3.
    expect(dumps('{"storeName":"Café Kopi 1/2","n":{"a":[]}}')).toBe('{"storeName": "Caf\\u00e9 Kopi 1/2", "n": {"a": []}}');
    expect(dumps('[1.5,10000.0,1e16,1e15,1.5e-7,0.0001,0.00001,-0.0,123456789012345678901234567890,1e400,2.5e-5,12345.678e10,1e22,5e-324]')).toBe(
      '[1.5, 10000.0, 1e+16, 1000000000000000.0, 1.5e-07, 0.0001, 1e-05, -0.0, 123456789012345678901234567890, Infinity, 2.5e-05, 123456780000000.0, 1e+22, 5e-324]',
    );
    expect(dumps('[-0, 1E5, 1e-5, "\\u007f\\u0000\\ud83d\\ude00 \\/"]')).toBe('[0, 100000.0, 1e-05, "\\u007f\\u0000\\ud83d\\ude00 /"]');
    expect(dumps('{"a":1,"b":2,"a":3,"1":4}')).toBe('{"a": 3, "b": 2, "1": 4}');
  });

  it("PHP json_encode's default escapes", () => {
    expect(phpJsonEncode(parseJsonTree('{ "u": "Café 1/2 😀", "q": "\\"\\\\\\n", "n": 1.50 }'))).toBe('{"u":"Caf\\u00e9 1\\/2 \\ud83d\\ude00","q":"\\"\\\\\\n","n":1.50}');
  });
});

describe('identifyRsaForm', () => {
  let key: RsaPublicKey;
  let privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'];
  const v = byId('upper-hex');
  const rsa = (text: string): string => rsaSign('sha256', Buffer.from(text), privateKey).toString('base64');
  const input = (signature: string) => ({ method: 'POST', path: v.path, partnerId: PARTNER_ID, timestamp: v.timestamp, body: v.rawBody, signature, publicKey: key });

  beforeAll(() => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey;
    key = importPublicKey(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  });

  it('X-PARTNER-ID|X-TIMESTAMP (the NICO pages): accepted', () => {
    const report = identifyRsaForm(input(rsa(`${PARTNER_ID}|${v.timestamp}`)));
    expect(report).toMatchObject({ form: 'rsa', verifies: true, accepted: true, matches: [{ id: 'rsa-partner-timestamp' }], expectedStringToSign: `${PARTNER_ID}|${v.timestamp}` });
  });

  it("SNAP's asymmetric body form, minified: named rsa-body", () => {
    const hash = identifyDialect(captured(v)).bodySha256Hex.minified as string;
    expect(identifyRsaForm(input(rsa(`POST:${v.path}:${hash}:${v.timestamp}`))).matches.map((m) => m.id)).toEqual(['rsa-body']);
  });

  it('a 64-byte signature: the symmetric form; another key: its size', () => {
    expect(identifyRsaForm(input(v.signatureBase64)).hints.join('\n')).toMatch(/64 bytes, an HMAC-SHA512 signature: this call uses the symmetric form/);
    expect(identifyRsaForm(input(Buffer.alloc(128, 1).toString('base64'))).hints.join('\n')).toMatch(/128 bytes but every signature of this 2048-bit key is 256 bytes.*1024-bit/);
    const wrong = identifyRsaForm(input(rsa(`${PARTNER_ID}|2024-01-01T00:00:00+07:00`)));
    expect(wrong).toMatchObject({ verifies: false, matches: [] });
    expect(wrong.hints.join('\n')).toMatch(/well-formed for this key but matches no RSA form/);
  });
});

describe('verify --transaction (the command function, with a fake Io)', () => {
  let dir: string;
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    const fake: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t), stdout: {} };
    return { fake, out, err, text: () => out.join('') + err.join('') };
  };
  const file = (name: string, content: string | Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const args = (v: TransactionDialectVector, bodyFile: string): string[] => [
    '--transaction', '--path', v.path, '--token', v.accessToken, '--timestamp', v.timestamp, '--signature', v.signatureBase64, '--body-file', bodyFile,
  ];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nicepay-nico-dialects-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('as-sent, the secret from a file: exit 0, the dialect named, the secret never printed', () => {
    const v = byId('as-sent');
    const run = io();
    const code = verify([...args(v, file('as-sent.json', v.rawBody)), '--client-secret-file', file('secret.txt', `${v.clientSecret}\n`)], run.fake);
    expect(code).toBe(0);
    const output = run.out.join('');
    expect(output).toMatch(/^signature verifies: a correct NICO server accepts the call\n/);
    expect(output).toContain(
      "  dialect       as-sent: the sender hashed the body as sent (NICEPAY's SDKs, e.g. python json.dumps with spaces); a correct NICO server accepts it\n",
    );
    expect(output).toContain(`  stringToSign  ${JSON.stringify(v.stringToSign)}`);
    expect(output).toMatch(/body SHA-256 {2}[0-9a-f]{64} minified; [0-9a-f]{64} as sent \(\d+ bytes\)/);
    expect(run.text()).not.toContain(v.clientSecret);
  });

  it('php-escapes, the secret from NICEPAY_CLIENT_SECRET: exit 1, refused, what the sender must do', () => {
    const v = byId('php-escapes');
    vi.stubEnv('NICEPAY_CLIENT_SECRET', v.clientSecret);
    const run = io();
    expect(verify(args(v, file('php.json', v.rawBody)), run.fake)).toBe(1);
    const output = run.out.join('');
    expect(output).toMatch(/^signature does NOT verify as a correct NICO server checks it \(401 Unauthorized\)\n/);
    expect(output).toContain('php-escapes: the sender hashed the body with PHP json_encode escapes');
    expect(output).toContain('a correct NICO server refuses it; the sender must sign the bytes it sends');
    expect(output).toMatch(/ {2}stringToSign {2}"POST:.*" {2}\(\d+ characters; signed by the sender\)\n/);
    expect(output).toMatch(/ {2}expected {6}"POST:.*" {2}\(\d+ characters; what a correct NICO server checks: the body minified, or as sent\)\n/);
    expect(output).toMatch(/ {2}body SHA-256 {2}[0-9a-f]{64} {2}\(minified = as sent, \d+ bytes\)\n/);
    expect(run.text()).not.toContain(v.clientSecret);
  });

  it.each(VECTORS.map((v) => [v.id, v] as const))('%s: --client-secret and --json: the dialect and the exit code of the verdict', (_id, v) => {
    const run = io();
    const extra = v.receivedAt === undefined ? [] : ['--received-at', v.receivedAt];
    const code = verify([...args(v, file(`${v.id}.json`, v.rawBody)), '--client-secret', v.clientSecret, ...extra, '--json'], run.fake);
    expect(code).toBe(v.verdict === 'accept' ? 0 : 1);
    const json = JSON.parse(run.out.join('')) as { accepted: boolean; dialect: string; algorithm: string; signature: string };
    expect(json.accepted).toBe(v.verdict === 'accept');
    expect(json.dialect).toBe(v.id === 'utc-as-jakarta' ? 'minified' : v.id);
    expect(json.algorithm).toBe('HMAC-SHA512');
    expect(json.signature).toBe(v.signatureBase64);
    expect(run.text()).not.toContain(v.clientSecret);
  });

  it('utc-as-jakarta with --received-at: exit 1, the clock named', () => {
    const v = byId('utc-as-jakarta');
    const run = io();
    const code = verify([...args(v, file('utc.json', v.rawBody)), '--client-secret', v.clientSecret, '--received-at', v.receivedAt as string], run.fake);
    expect(code).toBe(1);
    const output = run.out.join('');
    expect(output).toMatch(/^signature verifies, but a correct NICO server refuses the call\n/);
    expect(output).toContain('  clock         X-TIMESTAMP is 25200 s behind --received-at (allowed 300 s)');
    expect(output).toMatch(/hint {10}X-TIMESTAMP is 7 h 0 min behind the time received: a UTC clock stamped \+07:00 \(utc-as-jakarta/);
  });

  it('--authorization "Bearer TOKEN" instead of --token; the method defaults to POST', () => {
    const v = byId('minified');
    const run = io();
    const argv = ['--transaction', '--path', v.path, '--authorization', `Bearer ${v.accessToken}`, '--timestamp', v.timestamp, '--signature', v.signatureBase64];
    expect(verify([...argv, '--body-file', file('min.json', v.rawBody), '--client-secret', v.clientSecret], run.fake)).toBe(0);
    expect(run.out.join('')).toContain('dialect       minified: the sender hashed the body minified');
  });

  it('no match: the hints, the signature and exit 1', () => {
    const v = byId('minified');
    const run = io();
    expect(verify([...args(v, file('min2.json', v.rawBody)), '--client-secret', 'not-the-secret'], run.fake)).toBe(1);
    const output = run.out.join('');
    expect(output).toMatch(/^signature does NOT verify: no known dialect reproduces it\n/);
    expect(output).toContain(`  X-SIGNATURE   ${JSON.stringify(v.signatureBase64)}  (88 characters)`);
    expect(output).toContain('hint          X-SIGNATURE is a well-formed HMAC-SHA512 signature but no known dialect reproduces it');
    expect(output).not.toContain('not-the-secret');
  });

  it('the RSA form with --public-key and --partner-id', () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const v = byId('upper-hex');
    const signature = rsaSign('sha256', Buffer.from(`${PARTNER_ID}|${v.timestamp}`), pair.privateKey).toString('base64');
    const keyFile = file('public.pem', pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const run = io();
    const argv = ['--transaction', '--public-key', keyFile, '--partner-id', PARTNER_ID, '--path', v.path, '--timestamp', v.timestamp, '--signature', signature];
    expect(verify([...argv, '--body-file', file('rsa.json', v.rawBody)], run.fake)).toBe(0);
    const output = run.out.join('');
    expect(output).toContain('dialect       rsa-partner-timestamp: the sender signed "X-PARTNER-ID|X-TIMESTAMP" with SHA256withRSA');
    expect(output).toContain(`stringToSign  "${PARTNER_ID}|${v.timestamp}"`);
    expect(output).toMatch(/public key {4}RSA 2048 bits, SHA-256 fingerprint/);
    // --client-key is taken for --partner-id, as sign --transaction takes it.
    const alias = io();
    expect(verify([...argv.map((a) => (a === '--partner-id' ? '--client-key' : a)), '--body-file', file('rsa.json', v.rawBody), '--json'], alias.fake)).toBe(0);
    expect(JSON.parse(alias.out.join(''))).toMatchObject({ accepted: true, form: 'rsa', algorithm: 'SHA256withRSA', dialect: 'rsa-partner-timestamp', key: { bits: 2048 } });
  });

  it('bad arguments are a UsageError (exit 2 from main)', () => {
    const v = byId('minified');
    const run = io();
    const body = file('min3.json', v.rawBody);
    const usage = (argv: string[], message: RegExp): void => {
      expect(() => verify(argv, run.fake)).toThrow(UsageError);
      expect(() => verify(argv, run.fake)).toThrow(message);
    };
    vi.stubEnv('NICEPAY_CLIENT_SECRET', undefined);
    usage(['--transaction', '--token', 't', '--timestamp', v.timestamp, '--signature', 'x', '--client-secret', 's'], /--path is required/);
    usage(['--transaction', '--path', 'api/v1.0/cvs/inquiry', '--token', 't', '--timestamp', v.timestamp, '--signature', 'x', '--client-secret', 's'], /--path must be the relative path/);
    usage([...args(v, body)], /the client secret is required: --client-secret-file FILE/);
    usage([...args(v, body), '--client-secret', 's', '--client-secret-file', body], /give --client-secret or --client-secret-file, not both/);
    usage([...args(v, body), '--client-secret', 's', '--public-key', body], /not both/);
    usage([...args(v, body), '--public-key', body, '--client-key', 'IONPAYTEST', '--partner-id', 'IONPAYTEST'], /give --partner-id or --client-key, not both/);
    usage([...args(v, body), '--public-key', body], /--partner-id is required/);
    usage([...args(v, body), '--public-key', body, '--partner-id', 'A|B'], /--partner-id must not contain "\|"/);
    usage([...args(v, body), '--client-secret', 's', '--authorization', 'Basic abc'], /--authorization and --token|give --token or --authorization, not both/);
    usage(['--transaction', '--path', v.path, '--authorization', 'Basic abc', '--timestamp', v.timestamp, '--signature', 'x', '--client-secret', 's'], /--authorization must be "Bearer TOKEN"/);
    usage([...args(v, body), '--client-secret', 's', '--received-at', 'yesterday'], /--received-at must be a SNAP timestamp/);
    usage([...args(v, body), '--client-secret', 's', '--method', 'PO ST'], /--method must be an HTTP method/);
    usage([...args(v, join(dir, 'missing.json')), '--client-secret', 's'], /cannot read --body-file .*missing\.json: no such file/);
    usage(['--path', v.path, '--client-key', 'IONPAYTEST', '--timestamp', v.timestamp, '--signature', 'x'], /--path is for --transaction \(an inquiry or payment call\); add --transaction/);
    expect(run.text()).toBe('');
  });

  it('--help documents --transaction; the access-token mode is unchanged', () => {
    const run = io();
    expect(verify(['--help'], run.fake)).toBe(0);
    expect(run.out.join('')).toBe(VERIFY_HELP);
    expect(VERIFY_HELP).toMatch(/nicepay-nico verify --transaction --path PATH --token TOKEN/);
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const timestamp = '2024-01-22T15:00:01+07:00';
    const signature = rsaSign('sha256', Buffer.from(`IONPAYTEST|${timestamp}`), pair.privateKey).toString('base64');
    const keyFile = file('at-public.pem', pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const ok = io();
    expect(verify(['--public-key', keyFile, '--client-key', 'IONPAYTEST', '--timestamp', timestamp, '--signature', signature], ok.fake)).toBe(0);
    expect(ok.out.join('')).toMatch(/^signature verifies\n {2}checked {7}SHA256withRSA/);
  });
});
