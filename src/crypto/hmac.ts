/**
 * HMAC and base64url helpers on top of `@noble/hashes` and `@scure/base`.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlnopad } from '@scure/base';

/** HMAC-SHA256. */
export const hmacSha256 = (key: Uint8Array, message: Uint8Array): Uint8Array => hmac(sha256, key, message);
/** SHA-256. */
export const sha256Bytes = (message: Uint8Array): Uint8Array => sha256(message);

/** base64url without padding (RFC 4648 §5). */
export const encodeBase64Url = (bytes: Uint8Array): string => base64urlnopad.encode(bytes);
/** Strict base64url without padding; throws on anything else. */
export const decodeBase64Url = (text: string): Uint8Array => base64urlnopad.decode(text);
