/**
 * HMAC and base64url helpers on top of `@noble/hashes` and `@scure/base`.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlnopad } from '@scure/base';
import { decodeBase64UrlStrict } from './base64.js';


/**
 * HMAC-SHA256 with a fixed key and a fixed message prefix, keyed once: each call clones
 * the prepared state instead of hashing the key blocks and the prefix again.
 */
export function preparedHmacSha256(key: Uint8Array, prefix: Uint8Array): (message: Uint8Array) => Uint8Array {
  const state = hmac.create(sha256, key).update(prefix);
  return (message) => state.clone().update(message).digest();
}
/** SHA-256. */
export const sha256Bytes = (message: Uint8Array): Uint8Array => sha256(message);

/** base64url without padding (RFC 4648 §5). */
export const encodeBase64Url = (bytes: Uint8Array): string => base64urlnopad.encode(bytes);
/** Strict base64url without padding; throws on anything else. */
export const decodeBase64Url = (text: string): Uint8Array => decodeBase64UrlStrict(text);
