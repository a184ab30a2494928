/**
 * Byte helpers: UTF-8, constant-time comparison, big-endian integers.
 * @module
 */
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';

const encoder = /* @__PURE__ */ new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as in every Web API). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Compare two byte arrays in time that depends only on their lengths, never on where they
 * differ. Lengths are not secret here (they are fixed by the key or the algorithm).
 *
 * @example
 * ```ts
 * timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
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

/** Unsigned big-endian bytes to a bigint (empty -> 0n). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : bytesToNumberBE(bytes);
}

/** A non-negative bigint to exactly `length` big-endian bytes. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  return numberToBytesBE(value, length);
}

/** Number of bits of a positive bigint. */
export function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/** `Object.prototype.toString` tag, for error messages about the wrong kind of value. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
