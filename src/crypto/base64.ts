/**
 * Strict base64 (RFC 4648 §4, standard alphabet, `=` padding required, no whitespace,
 * zero padding bits) and base64url without padding (§5).
 *
 * Decoding is this file's own table loop: it runs on every signed call (X-SIGNATURE, the
 * Bearer token's two parts), where `@scure/base`'s general radix conversion cost several
 * microseconds per call (`npm run bench`). `test/base64.test.ts` checks it against
 * `@scure/base` as the oracle, on the RFC vectors and on random and mutated input.
 * Encoding stays on `@scure/base`.
 * @module
 */
import { base64 } from '@scure/base';

/** Value of each character code below 128 in the standard (`+/`) and URL-safe (`-_`) alphabets; -1 elsewhere. */
const STANDARD = /* @__PURE__ */ alphabet('+/');
const URL_SAFE = /* @__PURE__ */ alphabet('-_');

function alphabet(last2: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  const chars = `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789${last2}`;
  for (let i = 0; i < 64; i++) table[chars.charCodeAt(i)] = i;
  return table;
}

/** The 6-bit value of `text[i]`, or -1 for anything outside `table`'s alphabet. */
function sextet(table: Int8Array, text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? (table[c] as number) : -1;
}

/**
 * Decode `text` of `chars` data characters (no padding), whose unused low bits must be zero.
 * @throws {SyntaxError} for a character outside the alphabet or non-zero padding bits.
 */
function decodeChars(table: Int8Array, text: string, chars: number, what: string): Uint8Array {
  const rest = chars % 4;
  if (rest === 1) throw new SyntaxError(`${what}: invalid length`);
  const out = new Uint8Array(((chars - rest) / 4) * 3 + (rest === 0 ? 0 : rest - 1));
  let o = 0;
  let i = 0;
  for (const whole = chars - rest; i < whole; i += 4) {
    const a = sextet(table, text, i);
    const b = sextet(table, text, i + 1);
    const c = sextet(table, text, i + 2);
    const d = sextet(table, text, i + 3);
    if ((a | b | c | d) < 0) throw new SyntaxError(`${what}: invalid character`);
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (rest > 0) {
    const a = sextet(table, text, i);
    const b = sextet(table, text, i + 1);
    const c = rest === 3 ? sextet(table, text, i + 2) : 0;
    if ((a | b | c) < 0) throw new SyntaxError(`${what}: invalid character`);
    // The bits after the last whole byte must be zero (one encoding per byte string).
    if (rest === 2 ? (b & 0x0f) !== 0 : (c & 0x03) !== 0) throw new SyntaxError(`${what}: non-zero padding bits`);
    out[o++] = (a << 2) | (b >>> 4);
    if (rest === 3) out[o++] = ((b & 0x0f) << 4) | (c >>> 2);
  }
  return out;
}

/**
 * Decode strict base64. Throws on anything else: URL-safe alphabet, missing or extra
 * padding, whitespace, non-zero padding bits.
 * @throws {SyntaxError} for anything but strict base64.
 */
export function decodeBase64Strict(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('base64: expected a string');
  if (text.length % 4 !== 0) throw new SyntaxError('base64: length is not a multiple of 4');
  let chars = text.length;
  if (chars > 0 && text.charCodeAt(chars - 1) === 0x3d) chars--;
  if (chars > 0 && text.charCodeAt(chars - 1) === 0x3d) chars--;
  // Exactly the padding that completes the last group: "xx==", "xxx=".
  if (text.length - chars !== (4 - (chars % 4)) % 4) throw new SyntaxError('base64: wrong padding');
  return decodeChars(STANDARD, text, chars, 'base64');
}

/** Encode bytes as standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return base64.encode(bytes);
}

/**
 * Decode base64url without padding (RFC 4648 §5), strictly: no `=`, no standard-alphabet
 * `+` or `/`, zero padding bits.
 * @throws {SyntaxError} for anything else.
 */
export function decodeBase64UrlStrict(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('base64url: expected a string');
  return decodeChars(URL_SAFE, text, text.length, 'base64url');
}

/** Length of the strict base64 text of `byteLength` bytes. */
export function base64Length(byteLength: number): number {
  return Math.ceil(byteLength / 3) * 4;
}
