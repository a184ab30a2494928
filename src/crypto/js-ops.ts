/**
 * The pure JavaScript operations behind {@link jsCrypto} (`@noble/hashes`), one function
 * each, so a bundle takes only those its code calls: `verifySignature` alone needs none of
 * them (its pure RSA step is in `rsa.ts`).
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8 } from './bytes.js';
import { encodeBase64Url } from './hmac.js';
import type { CryptoOps, HmacHash } from './provider.js';

/** SHA-256 of the UTF-8 bytes of `text`, lowercase hex. @internal */
export const jsSha256Hex = (text: string): string => bytesToHex(sha256(utf8(text)));
/** SHA-256 of bytes. @internal */
export const jsSha256 = (bytes: Uint8Array): Uint8Array => sha256(bytes);
/** SHA-256 of the UTF-8 bytes of `text`, base64url without padding. @internal */
export const jsSha256Base64Url = (text: string): string => encodeBase64Url(sha256(utf8(text)));

/** HMAC keyed once (and `prefix` hashed once): each call clones the prepared state. @internal */
export function jsHmac(hash: HmacHash, key: Uint8Array, prefix?: Uint8Array): (message: string | Uint8Array) => Uint8Array {
  const state = hmac.create(hash === 'sha256' ? sha256 : sha512, key);
  if (prefix !== undefined) state.update(prefix);
  return (message) => state.clone().update(typeof message === 'string' ? utf8(message) : message).digest();
}

/** All of them, for `nodeCrypto` where the runtime has no `node:crypto`. @internal */
export const JS_OPS: CryptoOps = {
  sha256Hex: jsSha256Hex,
  sha256: jsSha256,
  sha256Base64Url: jsSha256Base64Url,
  hmac: jsHmac,
  rsaSha256: () => undefined, // the pure RSA step is the library's own encode-then-compare (rsa.ts)
};
