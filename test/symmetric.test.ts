/**
 * The symmetric signature (HMAC-SHA512) and its parts: NICEPAY's published vectors,
 * Wycheproof HMAC-SHA512, node:crypto as an oracle, and property tests of minifyJson.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bodySha256Hex,
  buildAsymmetricBodyStringToSign,
  buildSymmetricStringToSign,
  minifyJson,
  sha256Hex,
  signSymmetric,
  verifySymmetricSignature,
} from '../src/index.js';
import { sha256HexWith } from '../src/protocol/symmetric.js';
import { CRYPTO_PATHS } from './helpers/crypto-paths.js';

const readJson = <T>(path: string): T => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as T;

interface SymmetricVector {
  source: string;
  clientSecret: string;
  stringToSign?: string;
  method?: string;
  path?: string;
  accessToken?: string;
  timestamp?: string;
  rawBody?: string;
  bodySha256Hex?: string;
  signatureBase64: string;
}
const vectors = readJson<{ symmetricSignatures: SymmetricVector[] }>('./vectors/nicepay-symmetric.json').symmetricSignatures;

describe("NICEPAY's symmetric vectors (test/vectors/nicepay-symmetric.json)", () => {
  it.each(CRYPTO_PATHS.map((p) => [p.name, p] as const))('every vector verifies, and fails once changed (%s)', (_name, path) => {
    let checked = 0;
    const crypto = { crypto: path.crypto };
    for (const v of vectors) {
      const stringToSign =
        v.stringToSign ??
        buildSymmetricStringToSign({ method: v.method as string, path: v.path as string, accessToken: v.accessToken as string, body: v.rawBody as string, timestamp: v.timestamp as string, bodyHash: 'as-sent' });
      expect(verifySymmetricSignature(v.clientSecret, stringToSign, v.signatureBase64, crypto), v.source).toBe(true);
      expect(verifySymmetricSignature(v.clientSecret, `${stringToSign} `, v.signatureBase64, crypto)).toBe(false);
      expect(verifySymmetricSignature(`${v.clientSecret}x`, stringToSign, v.signatureBase64, crypto)).toBe(false);
      if (v.rawBody !== undefined) expect(sha256HexWith(path.ops, v.rawBody)).toBe(v.bodySha256Hex);
      checked++;
    }
    expect(checked).toBe(2);
  });

  it('every vector signs and verifies exactly', () => {
    let checked = 0;
    for (const v of vectors) {
      const stringToSign =
        v.stringToSign ??
        buildSymmetricStringToSign({
          method: v.method as string,
          path: v.path as string,
          accessToken: v.accessToken as string,
          body: v.rawBody as string,
          timestamp: v.timestamp as string,
          bodyHash: 'as-sent',
        });
      expect(signSymmetric(v.clientSecret, stringToSign), v.source).toBe(v.signatureBase64);
      expect(verifySymmetricSignature(v.clientSecret, stringToSign, v.signatureBase64)).toBe(true);
      expect(verifySymmetricSignature(v.clientSecret, `${stringToSign} `, v.signatureBase64)).toBe(false);
      expect(verifySymmetricSignature(`${v.clientSecret}x`, stringToSign, v.signatureBase64)).toBe(false);
      checked++;
    }
    expect(checked).toBe(vectors.length);
    expect(checked).toBe(2);
  });

  it('the python-nicepay body was hashed with its spaces: as sent it matches, minified it does not', () => {
    const v = vectors.find((x) => x.rawBody !== undefined) as SymmetricVector;
    expect(sha256Hex(v.rawBody as string)).toBe(v.bodySha256Hex);
    expect(bodySha256Hex(v.rawBody as string, 'as-sent')).toBe(v.bodySha256Hex);
    expect(bodySha256Hex(v.rawBody as string, 'minified')).not.toBe(v.bodySha256Hex);
    expect(bodySha256Hex(v.rawBody as string, 'minified')).toBe(sha256Hex(JSON.stringify(JSON.parse(v.rawBody as string))));
    const minified = buildSymmetricStringToSign({ method: 'POST', path: v.path as string, accessToken: v.accessToken as string, body: v.rawBody as string, timestamp: v.timestamp as string });
    expect(verifySymmetricSignature(v.clientSecret, minified, v.signatureBase64)).toBe(false);
  });

  it('the client secret is used as its literal UTF-8 bytes, even though it looks like base64', () => {
    const v = vectors[0] as SymmetricVector;
    const expected = createHmac('sha512', Buffer.from(v.clientSecret, 'utf8')).update(v.stringToSign as string).digest('base64');
    expect(signSymmetric(v.clientSecret, v.stringToSign as string)).toBe(expected);
  });
});

describe('Wycheproof HMAC-SHA512 (test/vectors/wycheproof/hmac_sha512_test.json)', () => {
  it.each(CRYPTO_PATHS.map((p) => [p.name, p] as const))('every case agrees with its expected result through the provider (%s)', (_name, path) => {
    const file = readJson<{ numberOfTests: number; testGroups: Array<{ tagSize: number; tests: Array<{ tcId: number; key: string; msg: string; tag: string; result: string }> }> }>(
      './vectors/wycheproof/hmac_sha512_test.json',
    );
    const mismatches: number[] = [];
    let checked = 0;
    for (const group of file.testGroups) {
      for (const t of group.tests) {
        const mac = path.ops.hmac('sha512', new Uint8Array(Buffer.from(t.key, 'hex')))(new Uint8Array(Buffer.from(t.msg, 'hex'))).subarray(0, group.tagSize / 8);
        const ok = Buffer.from(mac).toString('hex') === t.tag;
        if (ok !== (t.result === 'valid')) mismatches.push(t.tcId);
        checked++;
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(file.numberOfTests);
  });
});

describe('signSymmetric / verifySymmetricSignature against node:crypto', () => {
  it.each(CRYPTO_PATHS.map((p) => [p.name, p] as const))('both paths agree on random secrets and messages (lone surrogates too); any flipped bit fails (%s)', (_name, path) => {
    for (let i = 0; i < 200; i++) {
      const secret = randomBytes(1 + (i % 90)).toString('base64');
      const message = randomBytes(i * 3).toString('latin1') + 'ü€' + (i % 3 === 0 ? '\ud800x\udfff' : '');
      const signature = createHmac('sha512', Buffer.from(secret)).update(message, 'utf8').digest('base64');
      expect(verifySymmetricSignature(secret, message, signature, { crypto: path.crypto })).toBe(true);
      expect(sha256HexWith(path.ops, message)).toBe(createHash('sha256').update(message, 'utf8').digest('hex'));
      const bytes = Buffer.from(signature, 'base64');
      const bit = (i * 7) % 512;
      bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(verifySymmetricSignature(secret, message, bytes.toString('base64'), { crypto: path.crypto })).toBe(false);
    }
  });

  it('agree on random secrets and messages; any flipped bit fails', () => {
    let flips = 0;
    for (let i = 0; i < 200; i++) {
      const secret = randomBytes(1 + (i % 90)).toString('base64');
      const message = randomBytes(i * 3).toString('latin1') + 'ü€';
      const signature = signSymmetric(secret, message);
      expect(signature).toBe(createHmac('sha512', Buffer.from(secret)).update(message, 'utf8').digest('base64'));
      expect(verifySymmetricSignature(secret, message, signature)).toBe(true);
      const bytes = Buffer.from(signature, 'base64');
      const bit = (i * 7) % 512;
      bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(verifySymmetricSignature(secret, message, bytes.toString('base64'))).toBe(false);
      flips++;
    }
    expect(flips).toBe(200);
  });
  it('returns false, never throws, for malformed signatures; throws for a missing secret', () => {
    const signature = signSymmetric('secret', 'm');
    for (const bad of ['', 'AAAA', signature.slice(0, -2), `${signature} `, signature.replace(/\+/g, '-').replace(/\//g, '_'), 42 as unknown as string, undefined as unknown as string]) {
      expect(verifySymmetricSignature('secret', 'm', bad)).toBe(false);
    }
    expect(() => signSymmetric('', 'm')).toThrow(/clientSecret/);
    expect(() => verifySymmetricSignature(undefined as unknown as string, 'm', signature)).toThrow(/clientSecret/);
  });
});

describe('buildSymmetricStringToSign and the asymmetric body form', () => {
  it('joins the parts with ":" and hashes the minified body by default', () => {
    const body = '{ "a" : 1 }';
    const hash = createHash('sha256').update('{"a":1}').digest('hex');
    expect(buildSymmetricStringToSign({ method: 'POST', path: '/api/v1.0/cvs/inquiry?x=1', accessToken: 'tok', body, timestamp: 'T' })).toBe(
      `POST:/api/v1.0/cvs/inquiry?x=1:tok:${hash}:T`,
    );
    expect(buildAsymmetricBodyStringToSign({ method: 'POST', path: '/p', body, timestamp: 'T' })).toBe(`POST:/p:${hash}:T`);
    expect(buildSymmetricStringToSign({ method: 'POST', path: '/p', accessToken: 't', body: new TextEncoder().encode(body), timestamp: 'T' })).toContain(hash);
  });
  it('an empty body hashes the empty string', () => {
    expect(bodySha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(bodySha256Hex('', 'as-sent')).toBe(bodySha256Hex(''));
  });
  it('refuses missing parts and a body that is not JSON when minifying', () => {
    expect(() => buildSymmetricStringToSign({ method: '', path: '/p', accessToken: 't', body: '{}', timestamp: 'T' })).toThrow(/method/);
    expect(() => buildSymmetricStringToSign({ method: 'POST', path: '/p', accessToken: 't', body: '{', timestamp: 'T' })).toThrow(SyntaxError);
    expect(() => buildSymmetricStringToSign({ method: 'POST', path: '/p', accessToken: 't', body: {} as never, timestamp: 'T' })).toThrow(/raw body/);
  });
});

// ---------------------------------------------------------------------------------------
// minifyJson: property tests over generated JSON.

let seed = 0x2545f491;
const rand = (n: number): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;
const ws = (): string => (rand(3) === 0 ? '' : pick([' ', '  ', '\n', '\r\n', '\t', ' \n\t ']));
const NUMBERS = ['0', '-0', '1', '1.0', '1.50', '1e5', '1E+5', '-2.5e-3', '10000.00', '123456789012345678901234567890', '0.1', '-0.0'];
const STRINGS = ['', 'a b', ' lead', 'trail ', 'tab\\tin', 'quote\\"s', 'back\\\\slash', '\\u00e9\\u0041', 'é ü €', '😀 emoji', 'slash\\/', 'newline\\nesc', '{ \\"not\\": [json] }', ', : ] }'];

function genValue(depth: number): string {
  const kind = depth > 3 ? rand(4) : rand(6);
  switch (kind) {
    case 0: return pick(NUMBERS);
    case 1: return `"${pick(STRINGS)}"`;
    case 2: return pick(['true', 'false', 'null']);
    case 3: return `"${pick(STRINGS)}${pick(STRINGS)}"`;
    case 4: {
      const n = rand(4);
      const items = Array.from({ length: n }, () => `${ws()}${genValue(depth + 1)}${ws()}`);
      return `[${items.join(',')}${n === 0 ? ws() : ''}]`;
    }
    default: {
      const n = rand(4);
      const members = Array.from({ length: n }, (_, i) => `${ws()}"k${i}${pick(['', ' x', 'é'])}"${ws()}:${ws()}${genValue(depth + 1)}${ws()}`);
      return `{${members.join(',')}${n === 0 ? ws() : ''}}`;
    }
  }
}

/** The characters of `text` inside JSON strings, in order (quotes included). */
function stringContents(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    }
  }
  return out;
}

describe('minifyJson', () => {
  it('property: parses to the same value, is idempotent, leaves strings and numbers untouched (5,000 generated documents)', () => {
    let checked = 0;
    for (let i = 0; i < 5000; i++) {
      const text = `${ws()}${genValue(0)}${ws()}`;
      const min = minifyJson(text);
      expect(JSON.parse(min)).toEqual(JSON.parse(text));
      expect(minifyJson(min)).toBe(min);
      expect(stringContents(min)).toBe(stringContents(text));
      // Only whitespace was removed, none of it inside strings.
      expect(min.length).toBeLessThanOrEqual(text.length);
      expect(min.replace(/"(?:[^"\\]|\\.)*"/g, '""')).not.toMatch(/[ \t\r\n]/);
      checked++;
    }
    expect(checked).toBe(5000);
  });
  it('keeps number spellings, escapes and key order exactly as sent', () => {
    expect(minifyJson('{ "b": 1.0, "a": 1e5, "c": "\\u00e9", "d": [ 1 , 2 ] }')).toBe('{"b":1.0,"a":1e5,"c":"\\u00e9","d":[1,2]}');
    expect(minifyJson(' "a  b" ')).toBe('"a  b"');
    expect(minifyJson('\n\t[ ]\r\n')).toBe('[]');
  });
  it('refuses malformed JSON instead of guessing', () => {
    const bad = [
      '', ' ', '{', '}', '[1,]', '{"a":1,}', '{"a" 1}', '{a:1}', "{'a':1}", '[1 2]', '01', '1.', '.5', '+1', '1e', '--1',
      '"unterminated', '"bad \\x escape"', '"bad \\u12 escape"', '"tab\tinside"', 'tru', 'nul', 'True', '{"a":1}{}', '[] []',
      '\uFEFF{}', '{"a":1}x', 'NaN', 'Infinity', '[1,,2]', '{"a":}', '\u00a0{}',
    ];
    for (const text of bad) {
      expect(() => minifyJson(text), JSON.stringify(text)).toThrow(SyntaxError);
      // JSON.parse agrees that these are not JSON (the BOM and NBSP too).
      expect(() => JSON.parse(text), JSON.stringify(text)).toThrow();
    }
    expect(() => minifyJson(1 as unknown as string)).toThrow(TypeError);
  });
  it('says where the JSON breaks', () => {
    expect(() => minifyJson('{"a": [1, 2,, 3]}')).toThrow(/position 12/);
  });
  it('handles deep nesting without recursion', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(minifyJson(deep)).toBe(deep);
  });
});
