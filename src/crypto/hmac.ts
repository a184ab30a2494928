/**
 * base64url helpers (HMAC and SHA-256 live in the crypto providers: `provider.ts`, `native.ts`).
 * @module
 */
import { base64urlnopad } from '@scure/base';
import { decodeBase64UrlStrict } from './base64.js';


/** base64url without padding (RFC 4648 §5). */
export const encodeBase64Url = (bytes: Uint8Array): string => base64urlnopad.encode(bytes);
/** Strict base64url without padding; throws on anything else. */
export const decodeBase64Url = (text: string): Uint8Array => decodeBase64UrlStrict(text);
