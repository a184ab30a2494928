/**
 * A key's fingerprint, to tell keys apart in messages.
 * @module
 */
import { createHash, createPublicKey } from 'node:crypto';
import { bigIntToBytes } from '../crypto/bytes.js';
import type { RsaPublicKey } from '../crypto/keys.js';

/** SHA-256 of the key's SPKI DER, lower-case hex: the same as `openssl pkey -pubin -outform DER | sha256sum`. */
export function keyFingerprint(key: RsaPublicKey): string {
  const b64url = (value: bigint): string => Buffer.from(bigIntToBytes(value, Math.max(1, Math.ceil(value.toString(16).length / 2)))).toString('base64url');
  const der = createPublicKey({ key: { kty: 'RSA', n: b64url(key.n), e: b64url(key.e) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}
