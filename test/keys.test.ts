/**
 * Key import (every accepted form, every refusal with its code and message), the
 * never-throw contract of verifySignature, and timingSafeEqual.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KeyImportError,
  importPrivateKey,
  importPublicKey,
  signStringToSign,
  timingSafeEqual,
  verifySignature,
} from '../src/index.js';
import type { KeyImportErrorCode, RsaPrivateKey, RsaPublicKey } from '../src/index.js';

// ---------------------------------------------------------------------------------------
// Helpers

const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const toBase64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const b64urlToBigInt = (text: string): bigint => BigInt(`0x${Buffer.from(text, 'base64url').toString('hex')}`);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function bigIntToBytes(value: bigint, length?: number): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const raw = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (length === undefined || raw.length >= length) return raw;
  const out = new Uint8Array(length);
  out.set(raw, length - raw.length);
  return out;
}

function concat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((s, a) => s + a.length, 0));
  let pos = 0;
  for (const a of arrays) {
    out.set(a, pos);
    pos += a.length;
  }
  return out;
}

// Minimal DER writer, for hand-made keys.
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) out.unshift(l & 0xff);
  return [0x80 | out.length, ...out];
}
const tlv = (tag: number, content: Uint8Array): Uint8Array => concat([tag, ...derLength(content.length)], content);
/** Minimal INTEGER encoding of a non-negative value (sign byte added when needed). */
function derUint(value: bigint): Uint8Array {
  let magnitude = value === 0n ? Uint8Array.of(0) : bigIntToBytes(value);
  if ((magnitude[0] as number) & 0x80) magnitude = concat([0], magnitude);
  return tlv(0x02, magnitude);
}
const derSeq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, concat(...parts));
const RSA_ALGORITHM = Uint8Array.from([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
const pkcs1Public = (n: bigint, e: bigint): Uint8Array => derSeq(derUint(n), derUint(e));
const spkiOf = (pkcs1: Uint8Array): Uint8Array => derSeq(RSA_ALGORITHM, tlv(0x03, concat([0], pkcs1)));

function pem(label: string, der: Uint8Array, width = 64, eol = '\n'): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return `-----BEGIN ${label}-----${eol}${lines.join(eol)}${eol}-----END ${label}-----${eol}`;
}

function pemBody(pemText: string): { label: string; der: Uint8Array } {
  const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END/.exec(pemText);
  if (!m) throw new Error('not PEM');
  return { label: m[1] as string, der: Uint8Array.from(Buffer.from((m[2] as string).replace(/\s+/g, ''), 'base64')) };
}

/** Run `f`, which must throw a KeyImportError with `code` and a message matching every regex. */
function expectKeyError(f: () => unknown, code: KeyImportErrorCode, ...patterns: RegExp[]): KeyImportError {
  let thrown: unknown;
  try {
    f();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a KeyImportError').toBeInstanceOf(KeyImportError);
  const error = thrown as KeyImportError;
  expect(error.name).toBe('KeyImportError');
  expect(error.code, error.message).toBe(code);
  for (const pattern of patterns) expect(error.message).toMatch(pattern);
  expect(error).toBeInstanceOf(TypeError); // documented: KeyImportError extends TypeError
  return error;
}

/** Run `f`, which must throw a plain TypeError (not a KeyImportError) matching `pattern`. */
function expectPlainTypeError(f: () => unknown, pattern: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  expect(thrown).not.toBeInstanceOf(KeyImportError);
  expect((thrown as Error).message).toMatch(pattern);
}

function expectSamePublic(key: RsaPublicKey, n: bigint, e: bigint, bits: number): void {
  expect(key.type).toBe('rsa-public');
  expect(key.n).toBe(n);
  expect(key.e).toBe(e);
  expect(key.bits).toBe(bits);
  expect(key.byteLength).toBe(Math.ceil(bits / 8));
}

// ---------------------------------------------------------------------------------------
// Fixtures (generated once per run)

interface RsaFixture {
  publicKey: KeyObject;
  privateKey: KeyObject;
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qi: bigint;
  spkiPem: string;
  pkcs1Pem: string;
  spkiDer: Uint8Array;
  pkcs1Der: Uint8Array;
  pkcs8Pem: string;
  pkcs1PrivatePem: string;
  pkcs8Der: Uint8Array;
  pkcs1PrivateDer: Uint8Array;
}

function rsaFixture(modulusLength: number, publicExponent = 65537): RsaFixture {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength, publicExponent });
  const jwk = privateKey.export({ format: 'jwk' });
  const big = (field: string | undefined): bigint => b64urlToBigInt(field as string);
  return {
    publicKey,
    privateKey,
    n: big(jwk.n),
    e: big(jwk.e),
    d: big(jwk.d),
    p: big(jwk.p),
    q: big(jwk.q),
    dp: big(jwk.dp),
    dq: big(jwk.dq),
    qi: big(jwk.qi),
    spkiPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    pkcs1Pem: publicKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    spkiDer: bytes(publicKey.export({ type: 'spki', format: 'der' })),
    pkcs1Der: bytes(publicKey.export({ type: 'pkcs1', format: 'der' })),
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pkcs1PrivatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    pkcs8Der: bytes(privateKey.export({ type: 'pkcs8', format: 'der' })),
    pkcs1PrivateDer: bytes(privateKey.export({ type: 'pkcs1', format: 'der' })),
  };
}

const rsa2048 = rsaFixture(2048);
const rsa1024 = rsaFixture(1024);

/**
 * An X.509 certificate made by the openssl CLI in a temporary directory. If openssl is not
 * installed, the committed fixture test/fixtures/cert-rsa2048.pem is used instead (see
 * test/fixtures/README.md; its dates do not matter: the importer never checks them).
 */
let certificatePem = '';
/** The private key openssl wrote with the certificate; empty when the fixture is used. */
let certificateKeyPem = '';
let tempDir = '';
beforeAll(() => {
  tempDir = mkdtempSync(join(tmpdir(), 'nicepay-nico-keys-'));
  const keyPath = join(tempDir, 'key.pem');
  const certPath = join(tempDir, 'cert.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-subj', '/CN=test', '-days', '1'], {
      stdio: 'pipe',
    });
    certificatePem = readFileSync(certPath, 'utf8');
    certificateKeyPem = readFileSync(keyPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    certificatePem = readFileSync(new URL('./fixtures/cert-rsa2048.pem', import.meta.url), 'utf8');
  }
}, 60_000);
afterAll(() => {
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------

describe('importPublicKey: every accepted form gives the same key', () => {
  const { n, e } = rsa2048;
  const wrapped = (width: number): string => pem('PUBLIC KEY', rsa2048.spkiDer, width);

  const forms: Array<[string, () => string | Uint8Array]> = [
    ['PEM BEGIN PUBLIC KEY', () => rsa2048.spkiPem],
    ['PEM BEGIN RSA PUBLIC KEY (PKCS#1)', () => rsa2048.pkcs1Pem],
    ['bare base64 SPKI', () => toBase64(rsa2048.spkiDer)],
    ['bare base64 PKCS#1', () => toBase64(rsa2048.pkcs1Der)],
    ['SPKI DER bytes', () => rsa2048.spkiDer],
    ['PKCS#1 DER bytes', () => rsa2048.pkcs1Der],
    ['SPKI DER as a Node Buffer', () => rsa2048.publicKey.export({ type: 'spki', format: 'der' })],
    ['PEM with CRLF line ends', () => rsa2048.spkiPem.replace(/\n/g, '\r\n')],
    ['PKCS#1 PEM with CRLF line ends', () => rsa2048.pkcs1Pem.replace(/\n/g, '\r\n')],
    ['PEM wrapped at 76', () => wrapped(76)],
    ['PEM wrapped at 40', () => wrapped(40)],
    ['PEM body on one line', () => wrapped(100_000)],
    ['PEM all on one line', () => wrapped(100_000).replace(/\n/g, '')],
    ['PEM with surrounding spaces and newlines', () => `  \n\n\t ${rsa2048.spkiPem}\n\n   \t\n`],
    ['PEM with backslash-n instead of newlines', () => rsa2048.spkiPem.replace(/\n/g, '\\n')],
    ['PEM with backslash-r backslash-n', () => rsa2048.spkiPem.replace(/\n/g, '\\r\\n')],
    ['PKCS#1 PEM with backslash-n', () => rsa2048.pkcs1Pem.replace(/\n/g, '\\n')],
    ['base64 wrapped with backslash-n', () => (toBase64(rsa2048.spkiDer).match(/.{1,64}/g) as string[]).join('\\n')],
    ['base64 wrapped with newlines and surrounded by spaces', () => ` ${(toBase64(rsa2048.spkiDer).match(/.{1,64}/g) as string[]).join('\n')} \n`],
    ['PEM text as Uint8Array bytes', () => text(rsa2048.spkiPem)],
    ['PKCS#1 PEM text as Uint8Array bytes', () => text(rsa2048.pkcs1Pem)],
    ['base64 text as Uint8Array bytes', () => text(toBase64(rsa2048.spkiDer))],
    ['hand-built SPKI DER (test helper control)', () => spkiOf(pkcs1Public(n, e))],
    ['hand-built PKCS#1 DER (test helper control)', () => pkcs1Public(n, e)],
  ];

  it.each(forms)('%s', (_, input) => {
    expectSamePublic(importPublicKey(input()), n, e, 2048);
  });

  it('an X.509 certificate (openssl req -x509) imports to its key', () => {
    expect(certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const jwk = new X509Certificate(certificatePem).publicKey.export({ format: 'jwk' });
    const certN = b64urlToBigInt(jwk.n as string);
    const certE = b64urlToBigInt(jwk.e as string);
    expectSamePublic(importPublicKey(certificatePem), certN, certE, 2048);
    expectSamePublic(importPublicKey(certificatePem.replace(/\n/g, '\r\n')), certN, certE, 2048);
    expectSamePublic(importPublicKey(certificatePem.replace(/\n/g, '\\n')), certN, certE, 2048);
    const certDer = pemBody(certificatePem).der;
    expectSamePublic(importPublicKey(certDer), certN, certE, 2048);
    expectSamePublic(importPublicKey(toBase64(certDer)), certN, certE, 2048);
    // ... and it is the key openssl wrote next to it.
    if (certificateKeyPem !== '') expect(importPrivateKey(certificateKeyPem).publicKey.n).toBe(certN);
  });

  it('the result is frozen', () => {
    const key = importPublicKey(rsa2048.spkiPem);
    expect(Object.isFrozen(key)).toBe(true);
  });
});

describe('importPrivateKey: every accepted form gives the same key', () => {
  const f = rsa2048;
  const forms: Array<[string, () => string | Uint8Array]> = [
    ['PKCS#8 PEM (BEGIN PRIVATE KEY)', () => f.pkcs8Pem],
    ['PKCS#1 PEM (BEGIN RSA PRIVATE KEY)', () => f.pkcs1PrivatePem],
    ['bare base64 PKCS#8', () => toBase64(f.pkcs8Der)],
    ['bare base64 PKCS#1', () => toBase64(f.pkcs1PrivateDer)],
    ['PKCS#8 DER bytes', () => f.pkcs8Der],
    ['PKCS#1 DER bytes', () => f.pkcs1PrivateDer],
    ['PKCS#8 PEM with CRLF', () => f.pkcs8Pem.replace(/\n/g, '\r\n')],
    ['PKCS#1 PEM with backslash-n', () => f.pkcs1PrivatePem.replace(/\n/g, '\\n')],
    ['PKCS#8 PEM wrapped at 40 with surrounding spaces', () => `  ${pem('PRIVATE KEY', f.pkcs8Der, 40)}  `],
    ['PKCS#8 PEM text as Uint8Array bytes', () => text(f.pkcs8Pem)],
  ];

  it.each(forms)('%s', (_, input) => {
    const key: RsaPrivateKey = importPrivateKey(input());
    expect(key.type).toBe('rsa-private');
    expect([key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qi]).toEqual([f.n, f.e, f.d, f.p, f.q, f.dp, f.dq, f.qi]);
    expect(key.bits).toBe(2048);
    expect(key.byteLength).toBe(256);
    expectSamePublic(key.publicKey, f.n, f.e, 2048);
  });

  it('a private key whose numbers do not fit together is refused (KEY_PARAMETERS)', () => {
    // RSAPrivateKey with qi + 1 (still a valid DER structure).
    const fields = [0n, f.n, f.e, f.d, f.p, f.q, f.dp, f.dq, f.qi + 1n];
    const der = derSeq(...fields.map(derUint));
    expect(importPrivateKey(derSeq(...[0n, f.n, f.e, f.d, f.p, f.q, f.dp, f.dq, f.qi].map(derUint))).d).toBe(f.d); // control
    expectKeyError(() => importPrivateKey(der), 'KEY_PARAMETERS', /DER bytes/, /do not fit together/, /damaged/);
  });

  it('a public exponent that does not match d is refused (KEY_PARAMETERS)', () => {
    const der = derSeq(...[0n, f.n, 3n, f.d, f.p, f.q, f.dp, f.dq, f.qi].map(derUint));
    expectKeyError(() => importPrivateKey(der), 'KEY_PARAMETERS', /do not fit together/);
  });
});

describe('key text saved with a byte-order mark, and damaged key objects', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pemText = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  it('a PEM file read as bytes with a UTF-8 BOM imports (and as text with U+FEFF)', () => {
    const withBom = concat([0xef, 0xbb, 0xbf], text(pemText));
    expect(importPublicKey(withBom).n).toBe(importPublicKey(pemText).n);
    expect(importPublicKey(`\uFEFF${pemText}`).n).toBe(importPublicKey(pemText).n);
  });
  it('a key object with a negative modulus or exponent is refused (KEY_PARAMETERS), not a RangeError', () => {
    const fake = { type: 'rsa-public', n: -5n, e: 65537n, bits: 2048, byteLength: 256 } as unknown as RsaPublicKey;
    expectKeyError(() => verifySignature(fake, 'x', 'AA=='), 'KEY_PARAMETERS', /not positive/);
    expectKeyError(() => verifySignature({ ...fake, n: 5n, e: -3n } as RsaPublicKey, 'x', 'AA=='), 'KEY_PARAMETERS');
  });
  it('a key object built by hand or from another copy of the package gets the same 2048-bit floor as importPublicKey', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = small.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    const big = (b64url: string) => BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex')}`);
    const handMade = { type: 'rsa-public', n: big(jwk.n), e: big(jwk.e), bits: 1024, byteLength: 128 } as unknown as RsaPublicKey;
    expectKeyError(() => verifySignature(handMade, 'x', 'AA=='), 'KEY_SIZE', /1024 bits; keys under 2048/);
    expectKeyError(() => importPublicKey(small.publicKey.export({ type: 'spki', format: 'pem' }) as string), 'KEY_SIZE', /1024 bits; keys under 2048/);
  });
  it('a truncated base64 key says it looks cut short; an empty one says where to look', () => {
    const b64 = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
    expectKeyError(() => importPublicKey(b64.slice(0, 200)), 'KEY_FORMAT', /cut short/);
    expectKeyError(() => importPublicKey('  '), 'KEY_FORMAT', /environment variable or file/);
  });
});

describe('key refusals: code and message', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });

  it('EC public key -> KEY_ALGORITHM', () => {
    const spkiPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const spkiDer = bytes(ec.publicKey.export({ type: 'spki', format: 'der' }));
    const what = /not an RSA key/;
    const todo = /use the RSA key NICEPAY gave you/;
    expectKeyError(() => importPublicKey(spkiPem), 'KEY_ALGORITHM', /EC \(elliptic-curve\) key \(PEM "BEGIN PUBLIC KEY"\)/, what, todo);
    expectKeyError(() => importPublicKey(spkiDer), 'KEY_ALGORITHM', /EC \(elliptic-curve\) key \(DER bytes\)/, what, todo);
    expectKeyError(() => importPublicKey(toBase64(spkiDer)), 'KEY_ALGORITHM', /EC \(elliptic-curve\) key \(base64 DER\)/, todo);
  });

  it('Ed25519 public and private keys -> KEY_ALGORITHM', () => {
    expectKeyError(
      () => importPublicKey(ed.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      'KEY_ALGORITHM',
      /Ed25519 key \(PEM "BEGIN PUBLIC KEY"\)/,
      /SHA256withRSA/,
      /use the RSA key NICEPAY gave you/,
    );
    expectKeyError(
      () => importPrivateKey(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
      'KEY_ALGORITHM',
      /Ed25519 key \(PEM "BEGIN PRIVATE KEY"\)/,
      /use the RSA key/,
    );
  });

  it('RSA-PSS keys -> KEY_ALGORITHM', () => {
    expectKeyError(
      () => importPublicKey(pss.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      'KEY_ALGORITHM',
      /RSA-PSS key \(PEM "BEGIN PUBLIC KEY"\)/,
      /not an RSA key \(rsaEncryption\)/,
      /SHA256withRSA/,
    );
    expectKeyError(
      () => importPrivateKey(bytes(pss.privateKey.export({ type: 'pkcs8', format: 'der' }))),
      'KEY_ALGORITHM',
      /RSA-PSS key \(DER bytes\)/,
    );
  });

  it('EC private key ("BEGIN EC PRIVATE KEY", SEC1) given to either importer', () => {
    const sec1Pem = ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(sec1Pem).toMatch(/BEGIN EC PRIVATE KEY/);
    expectKeyError(
      () => importPublicKey(sec1Pem),
      'PRIVATE_KEY_GIVEN',
      /private key \(PEM "BEGIN EC PRIVATE KEY"\)/,
      /Pass NICEPAY's public key here/,
    );
    expectKeyError(
      () => importPrivateKey(sec1Pem),
      'KEY_ALGORITHM',
      /EC private key \(PEM "BEGIN EC PRIVATE KEY"\)/,
      /Use an RSA private key/,
    );
    // EC in PKCS#8 ("BEGIN PRIVATE KEY") too.
    const ecPkcs8 = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expectKeyError(() => importPrivateKey(ecPkcs8), 'KEY_ALGORITHM', /EC \(elliptic-curve\) key \(PEM "BEGIN PRIVATE KEY"\)/);
    expectKeyError(() => importPublicKey(ecPkcs8), 'PRIVATE_KEY_GIVEN', /private key/);
  });

  it('RSA private key given to importPublicKey -> PRIVATE_KEY_GIVEN', () => {
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [rsa2048.pkcs8Pem, /\(PEM "BEGIN PRIVATE KEY"\)/],
      [rsa2048.pkcs1PrivatePem, /\(PEM "BEGIN RSA PRIVATE KEY"\)/],
      [toBase64(rsa2048.pkcs8Der), /\(base64 DER\)/],
      [toBase64(rsa2048.pkcs1PrivateDer), /\(base64 DER\)/],
      [rsa2048.pkcs8Der, /\(DER bytes\)/],
      [rsa2048.pkcs1PrivateDer, /\(DER bytes\)/],
    ];
    for (const [input, given] of cases) {
      expectKeyError(
        () => importPublicKey(input),
        'PRIVATE_KEY_GIVEN',
        /this is a private key/,
        given,
        /Pass NICEPAY's public key here/,
        /use importPrivateKey/,
      );
    }
  });

  it('public key or certificate given to importPrivateKey -> PUBLIC_KEY_GIVEN', () => {
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [rsa2048.spkiPem, /public key \(PEM "BEGIN PUBLIC KEY"\)/],
      [rsa2048.pkcs1Pem, /public key \(PEM "BEGIN RSA PUBLIC KEY"\)/],
      [toBase64(rsa2048.spkiDer), /public key \(base64 DER\)/],
      [rsa2048.pkcs1Der, /public key \(DER bytes\)/],
      [certificatePem, /certificate \(PEM "BEGIN CERTIFICATE"\)/],
    ];
    for (const [input, given] of cases) {
      expectKeyError(() => importPrivateKey(input), 'PUBLIC_KEY_GIVEN', given, /signing needs the matching private key/, /BEGIN PRIVATE KEY/);
    }
  });

  it('1024-bit key: refused by default (KEY_SIZE, names minModulusBits), accepted with { minModulusBits: 1024 }', () => {
    for (const input of [rsa1024.spkiPem, toBase64(rsa1024.spkiDer), rsa1024.pkcs1Der]) {
      expectKeyError(() => importPublicKey(input), 'KEY_SIZE', /the RSA key is 1024 bits/, /keys under 2048 bits are refused/, /minModulusBits: 1024/);
    }
    expectKeyError(() => importPrivateKey(rsa1024.pkcs8Pem), 'KEY_SIZE', /1024 bits/, /minModulusBits/);
    expectSamePublic(importPublicKey(rsa1024.spkiPem, { minModulusBits: 1024 }), rsa1024.n, rsa1024.e, 1024);
    expect(importPrivateKey(rsa1024.pkcs8Pem, { minModulusBits: 1024 }).bits).toBe(1024);
    // A 2048-bit key passes a higher explicit minimum only if it is large enough.
    expectKeyError(() => importPublicKey(rsa2048.spkiPem, { minModulusBits: 3072 }), 'KEY_SIZE', /2048 bits/, /under 3072/);
  });

  it('512-bit key: refused even with { minModulusBits: 1024 }', () => {
    const k512 = generateKeyPairSync('rsa', { modulusLength: 512 });
    const spki = bytes(k512.publicKey.export({ type: 'spki', format: 'der' }));
    for (const options of [undefined, { minModulusBits: 1024 }]) {
      expectKeyError(() => importPublicKey(spki, options), 'KEY_SIZE', /the RSA key is 512 bits/, /under 1024 bits are never accepted/);
    }
    expectKeyError(
      () => importPrivateKey(k512.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { minModulusBits: 1024 }),
      'KEY_SIZE',
      /512 bits/,
      /never accepted/,
    );
  });

  it('minModulusBits outside 1024..16384 or not an integer -> TypeError', () => {
    for (const bad of [512, 1023, 1024.5, 16385, Number.NaN, '2048']) {
      const options = { minModulusBits: bad } as unknown as { minModulusBits: number };
      expectPlainTypeError(() => importPublicKey(rsa2048.spkiPem, options), /minModulusBits must be an integer from 1024 to 16384/);
      expectPlainTypeError(() => importPrivateKey(rsa2048.pkcs8Pem, options), /minModulusBits must be an integer/);
    }
    expectPlainTypeError(() => importPublicKey(rsa2048.spkiPem, null as unknown as object), /options must be an object/);
  });

  it('even exponent, e = 1, and other impossible numbers -> KEY_PARAMETERS', () => {
    const n = rsa2048.n; // odd, 2048-bit
    const exponentIssue = /it must be odd and at least 3 \(almost always 65537\)/;
    expectKeyError(() => importPublicKey(pkcs1Public(n, 2n)), 'KEY_PARAMETERS', /DER bytes/, /public exponent is 2;/, exponentIssue);
    expectKeyError(() => importPublicKey(pkcs1Public(n, 65538n)), 'KEY_PARAMETERS', /public exponent is even/, exponentIssue);
    expectKeyError(() => importPublicKey(spkiOf(pkcs1Public(n, 1n))), 'KEY_PARAMETERS', /public exponent is 1;/, exponentIssue);
    expectKeyError(() => importPublicKey(toBase64(pkcs1Public(n, 0n))), 'KEY_PARAMETERS', /base64 DER/, /public exponent is 0;/);
    expectKeyError(() => importPublicKey(pkcs1Public(n, (1n << 300n) + 1n)), 'KEY_PARAMETERS', /larger than 2\^256/);
    expectKeyError(() => importPublicKey(pkcs1Public(n + 1n, 65537n)), 'KEY_PARAMETERS', /modulus is even/, /damaged/);
  });

  it('e = 3 is accepted', () => {
    expectSamePublic(importPublicKey(pkcs1Public(rsa2048.n, 3n)), rsa2048.n, 3n, 2048);
    expectSamePublic(importPublicKey(pem('PUBLIC KEY', spkiOf(pkcs1Public(rsa2048.n, 3n)))), rsa2048.n, 3n, 2048);
  });

  describe('strict DER -> KEY_FORMAT', () => {
    const n = rsa2048.n;
    const nInt = derUint(n);

    it('trailing bytes after the DER', () => {
      for (const extra of [[0x00], [0x05, 0x00], [0x30, 0x00]]) {
        expectKeyError(() => importPublicKey(concat(rsa2048.spkiDer, extra)), 'KEY_FORMAT', /DER bytes is not a valid key/, /unexpected byte\(s\) after the DER structure/);
        expectKeyError(() => importPublicKey(toBase64(concat(rsa2048.spkiDer, extra))), 'KEY_FORMAT', /base64 DER/, /unexpected byte/);
        expectKeyError(() => importPrivateKey(concat(rsa2048.pkcs8Der, extra)), 'KEY_FORMAT', /unexpected byte/);
      }
      expectKeyError(() => importPublicKey(pem('PUBLIC KEY', concat(rsa2048.spkiDer, [0]))), 'KEY_FORMAT', /PEM "BEGIN PUBLIC KEY" is not a valid key/, /unexpected byte/);
    });

    it('non-minimal length encoding (0x81 for a short length)', () => {
      const longFormE = Uint8Array.from([0x02, 0x81, 0x03, 0x01, 0x00, 0x01]);
      expect(importPublicKey(derSeq(nInt, Uint8Array.from([0x02, 0x03, 0x01, 0x00, 0x01]))).e).toBe(65537n); // control
      expectKeyError(() => importPublicKey(derSeq(nInt, longFormE)), 'KEY_FORMAT', /DER bytes is not a valid key/, /long form for a short length/);
      // A length with a leading zero byte (0x82 0x00 0x..).
      const pk = pkcs1Public(n, 65537n);
      const body = pk.subarray(4); // 30 82 01 0a | ...
      const padded = concat([0x30, 0x83, 0x00, pk[2] as number, pk[3] as number], body);
      expectKeyError(() => importPublicKey(padded), 'KEY_FORMAT', /leading zero byte/);
    });

    it('INTEGER with a superfluous leading zero', () => {
      const paddedE = Uint8Array.from([0x02, 0x04, 0x00, 0x01, 0x00, 0x01]);
      expectKeyError(() => importPublicKey(derSeq(nInt, paddedE)), 'KEY_FORMAT', /publicExponent: INTEGER has a superfluous leading zero byte/);
      const paddedN = tlv(0x02, concat([0x00, 0x00], bigIntToBytes(n)));
      expectKeyError(() => importPublicKey(spkiOf(derSeq(paddedN, derUint(65537n)))), 'KEY_FORMAT', /modulus: INTEGER has a superfluous leading zero/);
    });

    it('a negative modulus', () => {
      const negativeN = tlv(0x02, bigIntToBytes(n)); // top bit set, no 00 sign byte
      expect((bigIntToBytes(n)[0] as number) & 0x80).toBe(0x80);
      expectKeyError(() => importPublicKey(derSeq(negativeN, derUint(65537n))), 'KEY_FORMAT', /modulus: negative INTEGER/);
      expectKeyError(() => importPublicKey(toBase64(spkiOf(derSeq(negativeN, derUint(65537n))))), 'KEY_FORMAT', /base64 DER/, /negative INTEGER/);
    });

    it('truncated DER', () => {
      expectKeyError(() => importPublicKey(rsa2048.spkiDer.subarray(0, rsa2048.spkiDer.length - 1)), 'KEY_FORMAT', /longer than the data/);
      expectKeyError(() => importPublicKey(Uint8Array.of(0x30)), 'KEY_FORMAT', /truncated/);
    });
  });

  it('encrypted private keys -> ENCRYPTED_KEY', () => {
    const encrypted = rsa2048.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
    expect(encrypted).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
    for (const importer of [importPrivateKey, importPublicKey]) {
      expectKeyError(() => importer(encrypted), 'ENCRYPTED_KEY', /encrypted private key \(PEM "BEGIN ENCRYPTED PRIVATE KEY"\)/, /decrypt it first/, /openssl pkey/);
    }
    // Legacy OpenSSL encryption of PKCS#1 (Proc-Type: 4,ENCRYPTED).
    const legacy = rsa2048.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'secret' }) as string;
    expect(legacy).toMatch(/Proc-Type: 4,ENCRYPTED/);
    expectKeyError(() => importPrivateKey(legacy), 'ENCRYPTED_KEY', /encrypted private key \(PEM "BEGIN RSA PRIVATE KEY"\)/, /decrypt it first/);
  });

  it('PEM text problems -> KEY_FORMAT', () => {
    const lines = rsa2048.spkiPem.trim().split('\n');
    const truncated = lines.slice(0, -1).join('\n'); // no END line
    expectKeyError(() => importPublicKey(truncated), 'KEY_FORMAT', /has a "-----BEGIN" line but no matching "-----END" line/, /cut short/);
    expectKeyError(() => importPublicKey(truncated.slice(0, 200)), 'KEY_FORMAT', /no matching "-----END"/);
    expectKeyError(
      () => importPublicKey(rsa2048.spkiPem + rsa1024.spkiPem),
      'KEY_FORMAT',
      /holds 2 blocks \(PUBLIC KEY, PUBLIC KEY\)/,
      /pass exactly one key or certificate/,
    );
    expectKeyError(() => importPrivateKey(rsa2048.pkcs8Pem + certificatePem), 'KEY_FORMAT', /2 blocks \(PRIVATE KEY, CERTIFICATE\)/);
    expectKeyError(() => importPublicKey(`key: ${rsa2048.spkiPem}`), 'KEY_FORMAT', /text outside the PEM block/, /pass only the "-----BEGIN PUBLIC KEY-----"/);
    expectKeyError(
      () => importPublicKey(rsa2048.spkiPem.replace('END PUBLIC KEY', 'END RSA PUBLIC KEY')),
      'KEY_FORMAT',
      /begins with "PUBLIC KEY" but ends with "RSA PUBLIC KEY"/,
    );
    expectKeyError(() => importPublicKey(pem('DSA PUBLIC KEY', rsa2048.spkiDer)), 'KEY_FORMAT', /PEM "BEGIN DSA PUBLIC KEY" is not an RSA key/, /expected PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE/);
    expectKeyError(() => importPublicKey(pem('RSA PUBLIC KEY', rsa2048.spkiDer)), 'KEY_FORMAT', /does not match its label/);
    expectKeyError(() => importPublicKey(rsa2048.spkiPem.replace(/\n(.)/, '\n$1!')), 'KEY_FORMAT', /the base64 inside PEM "BEGIN PUBLIC KEY" is damaged/);
  });

  it('garbage text, URL-safe base64, empty input -> KEY_FORMAT', () => {
    const notKey = /neither PEM \("-----BEGIN \.\.\."\) nor standard base64 DER/;
    const todo = /Pass the key exactly as NICEPAY sent it/;
    expectKeyError(() => importPublicKey('this is not a key'), 'KEY_FORMAT', notKey, todo);
    expectKeyError(() => importPublicKey('MIIBIjANBgkqhkiG9w0BAQEF!AAOCAQ8A'), 'KEY_FORMAT', notKey, todo);
    // The first 44 characters of a real key: valid base64, truncated DER.
    expectKeyError(() => importPublicKey('MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'), 'KEY_FORMAT', /base64 DER is not a valid key/, /longer than the data/);
    expectKeyError(() => importPublicKey(Buffer.from(rsa2048.spkiDer).toString('base64url')), 'KEY_FORMAT', notKey);
    expectKeyError(() => importPublicKey(toBase64(Uint8Array.from([1, 2, 3, 4]))), 'KEY_FORMAT', /base64 DER is not a valid key|not an RSA key structure/);
    expectKeyError(() => importPublicKey(toBase64(derSeq(derUint(1n), derUint(2n), derUint(3n)))), 'KEY_FORMAT', /base64 DER is DER, but not an RSA key structure this library knows/);
    expectKeyError(() => importPublicKey(''), 'KEY_FORMAT', /importPublicKey: the key is empty/);
    expectKeyError(() => importPublicKey('  \n\t '), 'KEY_FORMAT', /the key is empty/);
    expectKeyError(() => importPrivateKey(''), 'KEY_FORMAT', /importPrivateKey: the key is empty/);
    expectKeyError(() => importPublicKey(new Uint8Array(0)), 'KEY_FORMAT', /the key is empty \(0 bytes\)/);
    expectKeyError(() => importPublicKey('A'.repeat(70_000)), 'KEY_FORMAT', /70000 characters/, /Pass only the key/);
  });

  it('non-string, non-bytes input -> TypeError', () => {
    const cases: Array<[unknown, RegExp]> = [
      [12345, /got a number/],
      [{}, /got an object/],
      [null, /got null/],
      [undefined, /got undefined/],
      [[0x30], /got an array/],
    ];
    for (const [input, got] of cases) {
      expectPlainTypeError(() => importPublicKey(input as string), /importPublicKey: the key must be PEM or base64 text, or DER bytes \(Uint8Array\)/);
      expectPlainTypeError(() => importPublicKey(input as string), got);
      expectPlainTypeError(() => importPrivateKey(input as string), /importPrivateKey: the key must be PEM or base64 text/);
    }
  });
});

// ---------------------------------------------------------------------------------------

describe('verifySignature: false for every malformed signature, never a throw', () => {
  const key = importPublicKey(rsa2048.spkiPem);
  const message = 'IONPAYTEST|2024-01-22T15:00:01+07:00';
  const sigBytes = new Uint8Array(nodeSign('sha256', Buffer.from(message), rsa2048.privateKey));
  const sig = toBase64(sigBytes);
  const k = 256;

  it('control: the well-formed signature verifies, and only for its message', () => {
    expect(sig).toHaveLength(344);
    expect(sig.endsWith('==')).toBe(true);
    expect(verifySignature(key, message, sig)).toBe(true);
    expect(verifySignature(rsa2048.spkiPem, message, sig)).toBe(true); // key text is accepted too
    expect(verifySignature(key, `${message} `, sig)).toBe(false);
  });

  it('non-string signature', () => {
    for (const bad of [undefined, null, 12345, {}, [], sigBytes, Buffer.from(sig)]) {
      expect(verifySignature(key, message, bad as unknown as string)).toBe(false);
    }
  });

  it('empty string', () => {
    expect(verifySignature(key, message, '')).toBe(false);
  });

  it('URL-safe alphabet version of a valid signature', () => {
    // Find a message whose signature has both + and / (almost every 2048-bit one does).
    let m = message;
    let s = sig;
    for (let i = 0; !(s.includes('+') && s.includes('/')); i++) {
      m = `${message}#${i}`;
      s = nodeSign('sha256', Buffer.from(m), rsa2048.privateKey).toString('base64');
    }
    expect(verifySignature(key, m, s)).toBe(true);
    const urlSafe = s.replace(/\+/g, '-').replace(/\//g, '_');
    expect(urlSafe).not.toBe(s);
    expect(verifySignature(key, m, urlSafe)).toBe(false);
    expect(verifySignature(key, m, urlSafe.replace(/=+$/, ''))).toBe(false); // base64url as usually written
    expect(verifySignature(key, m, s.replace('+', '-'))).toBe(false); // a single substitution
  });

  it('padding removed, padding extra, non-zero padding bits', () => {
    expect(verifySignature(key, message, sig.replace(/=+$/, ''))).toBe(false);
    expect(verifySignature(key, message, sig.slice(0, -1))).toBe(false);
    expect(verifySignature(key, message, `${sig}=`)).toBe(false);
    expect(verifySignature(key, message, `${sig}==`)).toBe(false);
    // 256 bytes = 85 groups + 1 byte: the character before "==" holds 4 padding bits that must be 0.
    const last = sig.charAt(sig.length - 3);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const withPaddingBit = `${sig.slice(0, -3)}${alphabet.charAt(alphabet.indexOf(last) | 1)}==`;
    expect(withPaddingBit).not.toBe(sig);
    expect(Buffer.from(withPaddingBit, 'base64').equals(Buffer.from(sigBytes))).toBe(true); // same bytes to a lax decoder
    expect(verifySignature(key, message, withPaddingBit)).toBe(false);
  });

  it('whitespace or newline inserted', () => {
    const variants = [
      ` ${sig}`,
      `${sig} `,
      `${sig}\n`,
      `${sig}\r\n`,
      `${sig.slice(0, 100)} ${sig.slice(100)}`,
      `${sig.slice(0, 76)}\n${sig.slice(76)}`,
      `${sig.slice(0, 76)}\r\n${sig.slice(76)}`,
      `${sig.slice(0, 100)}\t${sig.slice(101)}`, // same length, one character replaced by a tab
      (sig.match(/.{1,64}/g) as string[]).join('\n'),
    ];
    for (const v of variants) expect(verifySignature(key, message, v)).toBe(false);
  });

  it('wrong length: one byte short, one byte long, a leading zero byte', () => {
    expect(verifySignature(key, message, toBase64(sigBytes.subarray(1)))).toBe(false);
    expect(verifySignature(key, message, toBase64(sigBytes.subarray(0, k - 1)))).toBe(false);
    expect(verifySignature(key, message, toBase64(concat(sigBytes, [0])))).toBe(false);
    expect(verifySignature(key, message, toBase64(concat([0], sigBytes)))).toBe(false);
    expect(verifySignature(key, message, toBase64(concat(sigBytes, sigBytes)))).toBe(false);
  });

  it('s = n, s > n, s + n (the same value mod n), all-zero, s = 1', () => {
    const s = BigInt(`0x${Buffer.from(sigBytes).toString('hex')}`);
    const n = rsa2048.n;
    expect(verifySignature(key, message, toBase64(bigIntToBytes(n, k)))).toBe(false);
    expect(verifySignature(key, message, toBase64(bigIntToBytes(n + 1n, k)))).toBe(false);
    expect(verifySignature(key, message, toBase64(bigIntToBytes((1n << 2048n) - 1n, k)))).toBe(false);
    expect(verifySignature(key, message, toBase64(new Uint8Array(k)))).toBe(false);
    expect(verifySignature(key, message, toBase64(bigIntToBytes(1n, k)))).toBe(false);
    // s + n is congruent to s: a verifier that reduces mod n instead of refusing s >= n accepts it.
    // Find a message whose signature leaves room for s + n in k bytes (usually within a few
    // tries: OpenSSL's n is below 2^2048 by a fair margin, so s < 2^2048 - n is common).
    let found = false;
    for (let i = 0; i < 3000 && !found; i++) {
      const m = `${message}/${i}`;
      const si = BigInt(`0x${nodeSign('sha256', Buffer.from(m), rsa2048.privateKey).toString('hex')}`);
      if (si + n >= 1n << 2048n) continue;
      found = true;
      expect(verifySignature(key, m, toBase64(bigIntToBytes(si, k)))).toBe(true); // control
      expect(verifySignature(key, m, toBase64(bigIntToBytes(si + n, k)))).toBe(false);
    }
    expect(found).toBe(true);
    expect(s < n).toBe(true);
  });

  it('throws TypeError for a non-key publicKey, KeyImportError for a private key', () => {
    for (const bad of [12345, {}, null, undefined, [], { type: 'rsa-public' }]) {
      expectPlainTypeError(() => verifySignature(bad as unknown as RsaPublicKey, message, sig), /verifySignature: publicKey must be the result of importPublicKey/);
    }
    const priv = importPrivateKey(rsa2048.pkcs8Pem);
    expectKeyError(() => verifySignature(priv as unknown as RsaPublicKey, message, sig), 'PRIVATE_KEY_GIVEN', /this is a private key/, /privateKey\.publicKey/);
    expect(verifySignature(priv.publicKey, message, sig)).toBe(true);
    // Key text goes through importPublicKey, with its refusals.
    expectKeyError(() => verifySignature(rsa2048.pkcs8Pem, message, sig), 'PRIVATE_KEY_GIVEN', /private key/);
    expectKeyError(() => verifySignature('garbage', message, sig), 'KEY_FORMAT', /neither PEM/);
  });

  it('throws TypeError for a non-string stringToSign', () => {
    for (const bad of [undefined, null, 12345, {}, text(message)]) {
      expectPlainTypeError(() => verifySignature(key, bad as unknown as string, sig), /verifySignature: stringToSign must be a string/);
    }
  });

  it('a key object from another copy of the package is validated, not trusted', () => {
    const foreign = { type: 'rsa-public', n: rsa2048.n, e: rsa2048.e, bits: 2048, byteLength: 256 } as const;
    expect(verifySignature(foreign, message, sig)).toBe(true);
    expectKeyError(() => verifySignature({ ...foreign, e: 4n }, message, sig), 'KEY_PARAMETERS', /public exponent is 4/);
  });

  it('signStringToSign refuses a public key (PUBLIC_KEY_GIVEN) and non-string input (TypeError)', () => {
    expectKeyError(() => signStringToSign(key as unknown as RsaPrivateKey, message), 'PUBLIC_KEY_GIVEN', /this is a public key/, /importPrivateKey/);
    const priv = importPrivateKey(rsa2048.pkcs8Pem);
    expectPlainTypeError(() => signStringToSign(priv, 42 as unknown as string), /stringToSign must be a string/);
    expect(signStringToSign(priv, message)).toBe(sig);
  });
});

describe('timingSafeEqual', () => {
  it('compares contents', () => {
    expect(timingSafeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(timingSafeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(timingSafeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(0, 2, 3))).toBe(false);
    expect(timingSafeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(timingSafeEqual(Uint8Array.of(0x80), Uint8Array.of(0x00))).toBe(false);
    expect(timingSafeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2))).toBe(false);
    expect(timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
    expect(timingSafeEqual(new Uint8Array(0), Uint8Array.of(0))).toBe(false);
    const big = new Uint8Array(4096).fill(7);
    const other = big.slice();
    expect(timingSafeEqual(big, other)).toBe(true);
    other[4095] = 6;
    expect(timingSafeEqual(big, other)).toBe(false);
    // Subarray views compare by their own contents.
    const backing = Uint8Array.of(9, 1, 2, 9);
    expect(timingSafeEqual(backing.subarray(1, 3), Uint8Array.of(1, 2))).toBe(true);
  });

  it('throws TypeError for non-Uint8Array arguments', () => {
    expectPlainTypeError(() => timingSafeEqual([1, 2] as unknown as Uint8Array, Uint8Array.of(1, 2)), /two Uint8Array values/);
    expectPlainTypeError(() => timingSafeEqual(Uint8Array.of(1), 'a' as unknown as Uint8Array), /two Uint8Array values/);
    expectPlainTypeError(() => timingSafeEqual(null as unknown as Uint8Array, null as unknown as Uint8Array), /two Uint8Array values/);
  });
});
