/**
 * RSA key import: PEM (SPKI, PKCS#1, X.509 certificate, PKCS#8), bare base64 DER as NICEPAY
 * hands keys out, and DER bytes. Strict DER, rsaEncryption only, with errors that say what
 * was given and what to do.
 * @module
 */
import { decodeBase64Strict } from './base64.js';
import { bigIntToBytes, bitLength, bytesToBigInt, kindOf } from './bytes.js';
import {
  DerError,
  TAG,
  bitStringBytes,
  expectTag,
  objectIdentifier,
  readSingle,
  sequence,
  smallInteger,
  unsignedInteger,
  type DerElement,
} from './der.js';

/**
 * An RSA public key, as returned by {@link importPublicKey}.
 * @category Crypto
 */
export interface RsaPublicKey {
  readonly type: 'rsa-public';
  /** Modulus. */
  readonly n: bigint;
  /** Public exponent. */
  readonly e: bigint;
  /** Bit length of the modulus, e.g. `2048`. */
  readonly bits: number;
  /** Byte length of the modulus (and of every signature), e.g. `256`. */
  readonly byteLength: number;
}

/**
 * An RSA private key, as returned by {@link importPrivateKey}.
 * @category Crypto
 */
export interface RsaPrivateKey {
  readonly type: 'rsa-private';
  readonly n: bigint;
  readonly e: bigint;
  readonly d: bigint;
  readonly p: bigint;
  readonly q: bigint;
  readonly dp: bigint;
  readonly dq: bigint;
  readonly qi: bigint;
  readonly bits: number;
  readonly byteLength: number;
  /** The matching public key. */
  readonly publicKey: RsaPublicKey;
}

/**
 * What the key importers accept: PEM or base64 text, or DER bytes.
 * @category Crypto
 */
export type KeyInput = string | Uint8Array;

/**
 * Options of {@link importPublicKey} and {@link importPrivateKey}.
 * @category Crypto
 */
export interface KeyImportOptions {
  /**
   * Smallest modulus accepted, in bits. Default `2048`. NICEPAY's sandbox key is 1024-bit:
   * pass `1024` to accept it (sandbox only). Values under 1024 are refused.
   */
  readonly minModulusBits?: number;
}

/**
 * Stable codes of {@link KeyImportError}.
 * @category Errors
 */
export type KeyImportErrorCode =
  /** Neither PEM nor base64 nor DER of a known structure; or DER that is not strict. */
  | 'KEY_FORMAT'
  /** A key of another algorithm (EC, Ed25519, RSA-PSS, DSA, ...). */
  | 'KEY_ALGORITHM'
  /** A private key where a public key belongs. */
  | 'PRIVATE_KEY_GIVEN'
  /** A public key or certificate where a private key belongs. */
  | 'PUBLIC_KEY_GIVEN'
  /** An encrypted private key. */
  | 'ENCRYPTED_KEY'
  /** Modulus smaller than allowed, or larger than 16384 bits. */
  | 'KEY_SIZE'
  /** Public exponent even, 1, or larger than 2^256; or private parts inconsistent. */
  | 'KEY_PARAMETERS';

/**
 * A key that cannot be imported; `code` says why, `message` says what to do.
 * @category Errors
 */
export class KeyImportError extends TypeError {
  override readonly name = 'KeyImportError';
  readonly code: KeyImportErrorCode;
  constructor(code: KeyImportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const ALGORITHM_NAMES: Record<string, string> = {
  '1.2.840.10045.2.1': 'an EC (elliptic-curve) key',
  '1.3.101.112': 'an Ed25519 key',
  '1.3.101.113': 'an Ed448 key',
  '1.3.101.110': 'an X25519 key',
  '1.2.840.113549.1.1.10': 'an RSA-PSS key',
  '1.2.840.10040.4.1': 'a DSA key',
  '1.2.840.113549.1.3.1': 'a Diffie-Hellman key',
};
const MAX_MODULUS_BITS = 16384;
const HARD_MIN_MODULUS_BITS = 1024;
const DEFAULT_MIN_MODULUS_BITS = 2048;
const MAX_INPUT_CHARS = 64 * 1024;

type Structure =
  | { kind: 'spki'; algorithm: string; params: DerElement | undefined; keyBytes: Uint8Array }
  | { kind: 'pkcs1-public'; n: Uint8Array; e: Uint8Array }
  | { kind: 'certificate'; spki: DerElement }
  | { kind: 'pkcs8'; algorithm: string; params: DerElement | undefined; keyBytes: Uint8Array }
  | { kind: 'pkcs1-private'; fields: Uint8Array[] }
  | { kind: 'sec1-ec-private' };

interface Decoded {
  /** What the input looked like, for messages: "PEM \"BEGIN PUBLIC KEY\"", "base64 DER", "DER bytes". */
  readonly given: string;
  readonly der: Uint8Array;
  readonly pemLabel?: string;
}

const validatedPublic = new WeakSet<object>();
const validatedPrivate = new WeakSet<object>();

/**
 * Import an RSA public key (NICEPAY's) from any form it is found in.
 *
 * Accepts: PEM `BEGIN PUBLIC KEY` (SPKI) or `BEGIN RSA PUBLIC KEY` (PKCS#1); an X.509
 * `BEGIN CERTIFICATE` (only its key is used: validity and chain are not checked); bare
 * base64 of SPKI or PKCS#1 DER, as NICEPAY sends it (`MIIB...`, `MIGf...`); DER bytes.
 * Text may have CRLF line ends, wrapped lines, surrounding spaces, or `\n` written as the
 * two characters backslash-n (as environment variables often hold it).
 *
 * Refuses, with a {@link KeyImportError} that says what was given and what to do: other
 * algorithms (EC, Ed25519, RSA-PSS), a private key, moduli under `minModulusBits` (default
 * 2048; NICEPAY's sandbox key is 1024-bit), even exponents or `e = 1`, and DER that is not
 * strict (trailing bytes, non-minimal lengths or integers).
 *
 * Import once at start-up and reuse the result: it is immutable.
 *
 * @throws {@link KeyImportError} for a key it refuses (`code` says why, the message what to
 * do); {@link !TypeError | TypeError} for input that is neither text nor bytes, or a
 * `minModulusBits` that is not an integer from 1024 to 16384.
 *
 * @example
 * ```ts
 * import { importPublicKey } from 'nicepay-nico';
 * import { rsaSandboxKey } from 'nicepay-nico/vectors';
 *
 * const nicepayKey = importPublicKey(process.env.NICEPAY_PUBLIC_KEY!); // "MIIBIjANBg..." as NICEPAY sent it
 * nicepayKey.bits; // 2048
 * const sandboxKey = importPublicKey(rsaSandboxKey.publicKeySpkiBase64, { minModulusBits: 1024 });
 * sandboxKey.bits; // 1024
 * ```
 * @category Crypto
 */
export function importPublicKey(input: KeyInput, options: KeyImportOptions = {}): RsaPublicKey {
  const minBits = checkMinBits(options, 'importPublicKey');
  const decoded = decodeInput(input, 'importPublicKey');
  const structure = classify(decoded, 'importPublicKey');
  const fn = 'importPublicKey';
  switch (structure.kind) {
    case 'spki':
      return publicFromSpki(structure, decoded, minBits);
    case 'certificate':
      return publicFromSpki(parseSpki(structure.spki, decoded, fn), decoded, minBits);
    case 'pkcs1-public':
      return makePublicKey(structure.n, structure.e, decoded, minBits, fn);
    case 'pkcs8':
    case 'pkcs1-private':
    case 'sec1-ec-private':
      throw new KeyImportError(
        'PRIVATE_KEY_GIVEN',
        `importPublicKey: this is a private key (${decoded.given}). Pass NICEPAY's public key here; ` +
          'a private key must never be configured as a verification key. To sign, use importPrivateKey.',
      );
  }
}

/**
 * Import an RSA private key: PEM `BEGIN PRIVATE KEY` (PKCS#8) or `BEGIN RSA PRIVATE KEY`
 * (PKCS#1), their bare base64, or DER bytes; same text tolerance as {@link importPublicKey}.
 * Used to sign like NICEPAY in tests, simulators and the command-line tool.
 *
 * @throws {@link KeyImportError} for a key it refuses (a public key or certificate, an
 * encrypted or non-RSA key, a modulus under `minModulusBits`, numbers that do not fit
 * together); {@link !TypeError | TypeError} as {@link importPublicKey}.
 *
 * @example
 * ```ts
 * import { buildStringToSign, importPrivateKey, signStringToSign } from 'nicepay-nico';
 * import { rsaSandboxKey } from 'nicepay-nico/vectors';
 *
 * // NICEPAY's published 1024-bit sandbox key (PEM text or a DER file's bytes work too)
 * const key = importPrivateKey(rsaSandboxKey.privateKeyPkcs8Base64, { minModulusBits: 1024 });
 * const signature = signStringToSign(key, buildStringToSign('IONPAYTEST', '2024-01-22T15:00:01+07:00'));
 * key.publicKey.bits; // 1024
 * ```
 * @category Crypto
 */
export function importPrivateKey(input: KeyInput, options: KeyImportOptions = {}): RsaPrivateKey {
  const fn = 'importPrivateKey';
  const minBits = checkMinBits(options, fn);
  const decoded = decodeInput(input, fn);
  const structure = classify(decoded, fn);
  switch (structure.kind) {
    case 'pkcs8': {
      if (structure.algorithm !== RSA_ENCRYPTION) throw wrongAlgorithm(structure.algorithm, decoded, fn);
      checkNullParams(structure.params, decoded, fn);
      const inner = wrapDer(() => readSingle(structure.keyBytes), decoded, fn);
      const fields = wrapDer(() => sequence(inner, 'RSAPrivateKey'), decoded, fn);
      return makePrivateKey(pkcs1PrivateFields(fields, decoded, fn), decoded, minBits);
    }
    case 'pkcs1-private':
      return makePrivateKey(structure.fields, decoded, minBits);
    case 'sec1-ec-private':
      throw new KeyImportError('KEY_ALGORITHM', `${fn}: this is an EC private key (${decoded.given}); NICEPAY signs with RSA (SHA256withRSA). Use an RSA private key.`);
    case 'spki':
    case 'pkcs1-public':
    case 'certificate':
      throw new KeyImportError(
        'PUBLIC_KEY_GIVEN',
        `${fn}: this is a ${structure.kind === 'certificate' ? 'certificate' : 'public key'} (${decoded.given}); signing needs the matching private key (PEM "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY").`,
      );
  }
}

/**
 * Return `key` as a validated {@link RsaPublicKey}: an imported key passes through, any
 * other input goes through {@link importPublicKey}.
 * @internal
 */
export function toPublicKey(key: RsaPublicKey | KeyInput, options: KeyImportOptions = {}, fn = 'verifySignature'): RsaPublicKey {
  if (typeof key === 'string' || key instanceof Uint8Array) return importPublicKey(key, options);
  if (typeof key === 'object' && key !== null) {
    // Keys from importPublicKey were checked there, with the caller's minModulusBits.
    if (validatedPublic.has(key)) return key as RsaPublicKey;
    const candidate = key as Partial<RsaPublicKey>;
    if (candidate.type === 'rsa-public' && typeof candidate.n === 'bigint' && typeof candidate.e === 'bigint') {
      if (candidate.n <= 0n || candidate.e <= 0n) {
        throw new KeyImportError('KEY_PARAMETERS', `${fn}: the RsaPublicKey object has a modulus or exponent that is not positive; import the key with importPublicKey.`);
      }
      // A key object from another copy of this package: validate it the same way.
      const n = candidate.n;
      const e = candidate.e;
      // The same floor as importPublicKey (2048 bits unless minModulusBits says otherwise).
      const minBits = checkMinBits(options, fn);
      return makePublicKey(bigIntToBytes(n, byteLen(n)), bigIntToBytes(e, byteLen(e)), { given: 'an RsaPublicKey object' }, minBits, fn);
    }
    if ((key as { type?: unknown }).type === 'rsa-private') {
      throw new KeyImportError('PRIVATE_KEY_GIVEN', `${fn}: this is a private key; pass NICEPAY's public key (or privateKey.publicKey).`);
    }
  }
  throw new TypeError(`${fn}: publicKey must be the result of importPublicKey, PEM/base64 text or DER bytes, got ${kindOf(key)}`);
}

/** @internal Same as {@link toPublicKey} for private keys. */
export function toPrivateKey(key: RsaPrivateKey | KeyInput, options: KeyImportOptions = {}, fn = 'signStringToSign'): RsaPrivateKey {
  if (typeof key === 'string' || key instanceof Uint8Array) return importPrivateKey(key, options);
  if (typeof key === 'object' && key !== null) {
    if (validatedPrivate.has(key)) return key as RsaPrivateKey;
    if ((key as { type?: unknown }).type === 'rsa-public') {
      throw new KeyImportError('PUBLIC_KEY_GIVEN', `${fn}: this is a public key; signing needs the private key (importPrivateKey).`);
    }
  }
  throw new TypeError(`${fn}: privateKey must be the result of importPrivateKey, PEM/base64 text or DER bytes, got ${kindOf(key)}`);
}

const byteLen = (value: bigint): number => Math.max(1, Math.ceil(bitLength(value) / 8));

function checkMinBits(options: KeyImportOptions, fn: string): number {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}: options must be an object`);
  const min = options.minModulusBits ?? DEFAULT_MIN_MODULUS_BITS;
  if (typeof min !== 'number' || !Number.isInteger(min) || min < HARD_MIN_MODULUS_BITS || min > MAX_MODULUS_BITS) {
    throw new TypeError(`${fn}: minModulusBits must be an integer from ${HARD_MIN_MODULUS_BITS} to ${MAX_MODULUS_BITS}, got ${String(min)}`);
  }
  return min;
}

function tooSmall(bits: number, minBits: number, fn: string): KeyImportError {
  const hint =
    bits >= HARD_MIN_MODULUS_BITS
      ? ` NICEPAY's sandbox key is 1024-bit: to accept it, pass { minModulusBits: ${bits} } (sandbox only; production keys are 2048-bit or larger).`
      : ` Keys under ${HARD_MIN_MODULUS_BITS} bits are never accepted.`;
  return new KeyImportError('KEY_SIZE', `${fn}: the RSA key is ${bits} bits; keys under ${minBits} bits are refused.${hint}`);
}

/** Normalise text or bytes into DER plus a description of what was given. */
function decodeInput(input: KeyInput, fn: string): Decoded {
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw new KeyImportError('KEY_FORMAT', `${fn}: the key is empty (0 bytes); read the key file's contents, or pass the key text NICEPAY sent.`);
    // Bytes that are really PEM or base64 text (a file read without an encoding), possibly
    // with a UTF-8 byte-order mark (as some editors save it).
    const bom = input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf ? 3 : 0;
    const text = input.subarray(bom);
    if (text[0] !== TAG.SEQUENCE && text.length <= MAX_INPUT_CHARS && text.every((b) => b >= 0x09 && b < 0x7f)) {
      return decodeInput(new TextDecoder().decode(text), fn);
    }
    return { given: 'DER bytes', der: input };
  }
  if (typeof input !== 'string') {
    throw new TypeError(`${fn}: the key must be PEM or base64 text, or DER bytes (Uint8Array), got ${kindOf(input)}`);
  }
  if (input.length > MAX_INPUT_CHARS) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: the key text is ${input.length} characters; an RSA key is a few thousand at most. Pass only the key.`);
  }
  // `\n` and `\r` written as two characters (environment variables, JSON-escaped configs).
  const text = input.replace(/\\r/g, '').replace(/\\n/g, '\n').replace(/^\uFEFF/, '').trim();
  if (text === '') {
    throw new KeyImportError('KEY_FORMAT', `${fn}: the key is empty; check that the environment variable or file holding NICEPAY's key is set and read.`);
  }
  if (text.includes('-----BEGIN')) return decodePem(text, fn);
  const compact = text.replace(/\s+/g, '');
  let der: Uint8Array;
  try {
    der = decodeBase64Strict(compact);
  } catch (cause) {
    throw new KeyImportError(
      'KEY_FORMAT',
      `${fn}: the key is neither PEM ("-----BEGIN ...") nor standard base64 DER (${(cause as Error).message}). ` +
        'Pass the key exactly as NICEPAY sent it, e.g. "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA..." or a PEM file\'s text.',
      { cause },
    );
  }
  return { given: 'base64 DER', der };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END ([A-Z0-9 ]{1,40})-----/g;

function decodePem(text: string, fn: string): Decoded {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: the PEM text has a "-----BEGIN" line but no matching "-----END" line; the key was cut short.`);
  }
  if (blocks.length > 1) {
    throw new KeyImportError(
      'KEY_FORMAT',
      `${fn}: the PEM text holds ${blocks.length} blocks (${blocks.map((b) => b[1]).join(', ')}); pass exactly one key or certificate.`,
    );
  }
  const block = blocks[0] as RegExpMatchArray;
  const [whole, label, body, endLabel] = block as unknown as [string, string, string, string];
  const outside = text.slice(0, block.index) + text.slice((block.index ?? 0) + whole.length);
  if (outside.trim() !== '') {
    throw new KeyImportError('KEY_FORMAT', `${fn}: there is text outside the PEM block; pass only the "-----BEGIN ${label}-----" ... "-----END ${label}-----" lines.`);
  }
  if (label !== endLabel) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: the PEM block begins with "${label}" but ends with "${endLabel}".`);
  }
  const given = `PEM "BEGIN ${label}"`;
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,\s*ENCRYPTED/.test(body)) {
    throw new KeyImportError(
      'ENCRYPTED_KEY',
      `${fn}: this is an encrypted private key (${given}); decrypt it first, e.g. \`openssl pkey -in key.pem -out key.plain.pem\`.`,
    );
  }
  if (!KNOWN_LABELS.has(label)) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: PEM "BEGIN ${label}" is not an RSA key; expected PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE, PRIVATE KEY or RSA PRIVATE KEY.`);
  }
  if (/:/.test(body)) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: the PEM block has header lines ("Name: value"); only plain, unencrypted PEM is accepted.`);
  }
  try {
    return { given, der: decodeBase64Strict(body.replace(/\s+/g, '')), pemLabel: label };
  } catch (cause) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: the base64 inside ${given} is damaged (${(cause as Error).message}).`, { cause });
  }
}

const KNOWN_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY', 'CERTIFICATE', 'PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);
const LABEL_KINDS: Record<string, Structure['kind'][]> = {
  'PUBLIC KEY': ['spki'],
  'RSA PUBLIC KEY': ['pkcs1-public'],
  CERTIFICATE: ['certificate'],
  'PRIVATE KEY': ['pkcs8'],
  'RSA PRIVATE KEY': ['pkcs1-private'],
  'EC PRIVATE KEY': ['sec1-ec-private'],
};

function wrapDer<T>(f: () => T, decoded: Decoded, fn: string): T {
  try {
    return f();
  } catch (cause) {
    if (cause instanceof DerError) {
      const cut = /truncated|longer than the data/.test(cause.message) ? ' The key looks cut short: copy it whole, from the first to the last character.' : '';
      throw new KeyImportError('KEY_FORMAT', `${fn}: ${decoded.given} is not a valid key: ${cause.message}.${cut}`, { cause });
    }
    throw cause;
  }
}

/** Recognise the DER structure by its shape. */
function classify(decoded: Decoded, fn: string): Structure {
  const structure = wrapDer(() => classifyDer(decoded, fn), decoded, fn);
  if (decoded.pemLabel !== undefined && !(LABEL_KINDS[decoded.pemLabel] ?? []).includes(structure.kind)) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: ${decoded.given} holds a ${structure.kind} structure, which does not match its label.`);
  }
  return structure;
}

function classifyDer(decoded: Decoded, fn: string): Structure {
  const outer = readSingle(decoded.der);
  const children = sequence(outer, 'key');
  const tags = children.map((c) => c.tag);
  const shape = tags.join(',');
  // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING }
  if (shape === `${TAG.SEQUENCE},${TAG.BIT_STRING}`) return parseSpki(outer, decoded, fn);
  // RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }
  if (shape === `${TAG.INTEGER},${TAG.INTEGER}`) {
    return { kind: 'pkcs1-public', n: unsignedInteger(children[0], 'modulus'), e: unsignedInteger(children[1], 'publicExponent') };
  }
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
  if (shape === `${TAG.SEQUENCE},${TAG.SEQUENCE},${TAG.BIT_STRING}`) {
    const tbs = sequence(children[0], 'tbsCertificate');
    let i = tbs[0]?.tag === TAG.CONTEXT_0 ? 1 : 0; // [0] EXPLICIT version
    expectTag(tbs[i++], TAG.INTEGER, 'serialNumber');
    for (const what of ['signature', 'issuer', 'validity', 'subject']) expectTag(tbs[i++], TAG.SEQUENCE, what);
    return { kind: 'certificate', spki: expectTag(tbs[i], TAG.SEQUENCE, 'subjectPublicKeyInfo') };
  }
  // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING, [0] attributes, [1] publicKey }
  if (tags[0] === TAG.INTEGER && tags[1] === TAG.SEQUENCE && tags[2] === TAG.OCTET_STRING && children.length <= 5) {
    const version = smallInteger(children[0], 'version');
    if (version > 1) throw new DerError(`PrivateKeyInfo version ${version} is unknown`);
    const alg = sequence(children[1], 'privateKeyAlgorithm');
    if (alg.length > 2) throw new DerError('AlgorithmIdentifier has extra fields');
    return { kind: 'pkcs8', algorithm: objectIdentifier(alg[0], 'algorithm'), params: alg[1], keyBytes: (children[2] as DerElement).content };
  }
  // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qi }
  if (children.length === 9 && tags.every((t) => t === TAG.INTEGER)) {
    return { kind: 'pkcs1-private', fields: pkcs1PrivateFields(children, decoded, fn) };
  }
  // ECPrivateKey ::= SEQUENCE { version 1, OCTET STRING, [0] params, [1] publicKey }
  if (tags[0] === TAG.INTEGER && tags[1] === TAG.OCTET_STRING) return { kind: 'sec1-ec-private' };
  throw new KeyImportError(
    'KEY_FORMAT',
    `${fn}: ${decoded.given} is DER, but not an RSA key structure this library knows (SubjectPublicKeyInfo, RSAPublicKey, X.509 certificate, PKCS#8, RSAPrivateKey).`,
  );
}

function parseSpki(element: DerElement, decoded: Decoded, fn: string): Extract<Structure, { kind: 'spki' }> {
  return wrapDer(() => {
    const [algorithm, key, ...rest] = sequence(element, 'SubjectPublicKeyInfo');
    if (rest.length > 0) throw new DerError('SubjectPublicKeyInfo has extra fields');
    const alg = sequence(algorithm, 'AlgorithmIdentifier');
    if (alg.length > 2) throw new DerError('AlgorithmIdentifier has extra fields');
    return { kind: 'spki' as const, algorithm: objectIdentifier(alg[0], 'algorithm'), params: alg[1], keyBytes: bitStringBytes(key, 'subjectPublicKey') };
  }, decoded, fn);
}

function wrongAlgorithm(oid: string, decoded: Decoded, fn: string): KeyImportError {
  const name = ALGORITHM_NAMES[oid] ?? `a key of algorithm ${oid}`;
  return new KeyImportError(
    'KEY_ALGORITHM',
    `${fn}: this is ${name} (${decoded.given}), not an RSA key (rsaEncryption). NICEPAY signs with SHA256withRSA: use the RSA key NICEPAY gave you.`,
  );
}

function checkNullParams(params: DerElement | undefined, decoded: Decoded, fn: string): void {
  if (!params || params.tag !== TAG.NULL || params.content.length !== 0) {
    throw new KeyImportError('KEY_FORMAT', `${fn}: ${decoded.given}: rsaEncryption parameters must be NULL.`);
  }
}

function publicFromSpki(spki: Extract<Structure, { kind: 'spki' }>, decoded: Decoded, minBits: number): RsaPublicKey {
  const fn = 'importPublicKey';
  if (spki.algorithm !== RSA_ENCRYPTION) throw wrongAlgorithm(spki.algorithm, decoded, fn);
  checkNullParams(spki.params, decoded, fn);
  const [n, e] = wrapDer(() => {
    const fields = sequence(readSingle(spki.keyBytes), 'RSAPublicKey');
    if (fields.length !== 2) throw new DerError('RSAPublicKey must have exactly two INTEGERs');
    return [unsignedInteger(fields[0], 'modulus'), unsignedInteger(fields[1], 'publicExponent')] as const;
  }, decoded, fn);
  return makePublicKey(n, e, decoded, minBits, fn);
}

function checkPublicParameters(n: bigint, e: bigint, decoded: Pick<Decoded, 'given'>, minBits: number, fn: string): number {
  const bits = bitLength(n);
  if (bits > MAX_MODULUS_BITS) throw new KeyImportError('KEY_SIZE', `${fn}: the RSA key is ${bits} bits; more than ${MAX_MODULUS_BITS} is not accepted.`);
  if (bits < minBits) throw tooSmall(bits, minBits, fn);
  if ((n & 1n) === 0n) throw new KeyImportError('KEY_PARAMETERS', `${fn}: ${decoded.given}: the RSA modulus is even, which no RSA key has; the key is damaged.`);
  if (e < 3n || (e & 1n) === 0n) {
    throw new KeyImportError('KEY_PARAMETERS', `${fn}: ${decoded.given}: the public exponent is ${e < 1000n ? String(e) : 'even'}; it must be odd and at least 3 (almost always 65537).`);
  }
  if (bitLength(e) > 256 || e >= n) {
    throw new KeyImportError('KEY_PARAMETERS', `${fn}: ${decoded.given}: the public exponent is larger than 2^256 or than the modulus; the key is damaged.`);
  }
  return bits;
}

function makePublicKey(nBytes: Uint8Array, eBytes: Uint8Array, decoded: Pick<Decoded, 'given'>, minBits: number, fn: string): RsaPublicKey {
  const n = bytesToBigInt(nBytes);
  const e = bytesToBigInt(eBytes);
  const bits = checkPublicParameters(n, e, decoded, minBits, fn);
  const key: RsaPublicKey = Object.freeze({ type: 'rsa-public', n, e, bits, byteLength: Math.ceil(bits / 8) });
  validatedPublic.add(key);
  return key;
}

function pkcs1PrivateFields(fields: DerElement[], decoded: Decoded, fn: string): Uint8Array[] {
  return wrapDer(() => {
    if (fields.length !== 9) {
      throw new DerError(fields.length > 9 ? 'multi-prime RSA keys are not supported' : 'RSAPrivateKey must have nine INTEGERs');
    }
    const version = smallInteger(fields[0], 'version');
    if (version !== 0) throw new DerError(`RSAPrivateKey version ${version} (multi-prime) is not supported`);
    return fields.slice(1).map((f, i) => unsignedInteger(f, `RSAPrivateKey field ${i + 1}`));
  }, decoded, fn);
}

function makePrivateKey(fields: Uint8Array[], decoded: Decoded, minBits: number): RsaPrivateKey {
  const fn = 'importPrivateKey';
  const [n, e, d, p, q, dp, dq, qi] = fields.map(bytesToBigInt) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const bits = checkPublicParameters(n, e, decoded, minBits, fn);
  const consistent =
    p > 1n && q > 1n && p * q === n && d > 0n && d < n &&
    dp === d % (p - 1n) && dq === d % (q - 1n) && (qi * q) % p === 1n &&
    (e * dp) % (p - 1n) === 1n && (e * dq) % (q - 1n) === 1n;
  if (!consistent) {
    throw new KeyImportError('KEY_PARAMETERS', `${fn}: ${decoded.given}: the private key's numbers do not fit together (n != p*q, or e, d, dp, dq, qi wrong); the key is damaged.`);
  }
  const publicKey: RsaPublicKey = Object.freeze({ type: 'rsa-public', n, e, bits, byteLength: Math.ceil(bits / 8) });
  validatedPublic.add(publicKey);
  const key: RsaPrivateKey = Object.freeze({ type: 'rsa-private', n, e, d, p, q, dp, dq, qi, bits, byteLength: publicKey.byteLength, publicKey });
  validatedPrivate.add(key);
  return key;
}
