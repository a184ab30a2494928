/**
 * Byte helpers: UTF-8, constant-time comparison, big-endian integers.
 * @module
 */
const encoder = /* @__PURE__ */ new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as in every Web API). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Compare two byte arrays in time that depends only on their lengths, never on where they
 * differ. Lengths are not secret here (they are fixed by the key or the algorithm).
 *
 * @throws {@link !TypeError | TypeError} when either argument is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from 'nicepay-nico';
 *
 * timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])); // false
 * ```
 * @category Crypto
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) {
    throw new TypeError('timingSafeEqual takes two Uint8Array values');
  }
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

const HEX_BYTE = /* @__PURE__ */ Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Unsigned big-endian bytes to a bigint (empty -> 0n). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let hex = '0x';
  for (let i = 0; i < bytes.length; i++) hex += HEX_BYTE[bytes[i] as number];
  return BigInt(hex);
}

/** Lower-case hex of a non-negative bigint, left-padded to exactly `length` bytes. */
export function bigIntToHex(value: bigint, length: number): string {
  if (value < 0n) throw new RangeError('expected a non-negative bigint');
  const hex = value.toString(16);
  if (hex.length > length * 2) throw new RangeError(`bigint does not fit ${length} bytes`);
  return hex.padStart(length * 2, '0');
}

/** A non-negative bigint to exactly `length` big-endian bytes. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  const hex = bigIntToHex(value, length);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const HEX_CODES = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]); // '0'-'9', 'a'-'f'

/**
 * Lower-case hex of bytes, as one flat string (built from character codes rather than by
 * concatenation, which V8 keeps as a chain of pieces several times the size of the text:
 * these strings are stored, e.g. as idempotency fingerprints).
 */
export function bytesToHex(bytes: Uint8Array): string {
  if (bytes.length > 4096) {
    let hex = '';
    for (let i = 0; i < bytes.length; i++) hex += HEX_BYTE[bytes[i] as number];
    return hex;
  }
  const codes = new Array<number>(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    codes[2 * i] = HEX_CODES[b >> 4] as number;
    codes[2 * i + 1] = HEX_CODES[b & 15] as number;
  }
  return String.fromCharCode.apply(null, codes);
}

/**
 * Compare two strings in time that depends only on their lengths. Used on hex encodings of
 * fixed length.
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Inverse of `a` modulo `m` (extended Euclid); throws when none exists. */
export function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('no modular inverse');
  return ((oldS % m) + m) % m;
}

/** Number of bits of a positive bigint. */
export function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/** `Object.prototype.toString` tag, for error messages about the wrong kind of value. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
