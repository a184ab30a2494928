/**
 * Strict base64 (RFC 4648 §4, standard alphabet, `=` padding required, no whitespace,
 * zero padding bits) on top of `@scure/base`.
 * @module
 */
import { base64 } from '@scure/base';

/**
 * Decode strict base64. Throws on anything else: URL-safe alphabet, missing or extra
 * padding, whitespace, non-zero padding bits.
 */
export function decodeBase64Strict(text: string): Uint8Array {
  return base64.decode(text);
}

/** Encode bytes as standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return base64.encode(bytes);
}

/** Length of the strict base64 text of `byteLength` bytes. */
export function base64Length(byteLength: number): number {
  return Math.ceil(byteLength / 3) * 4;
}
