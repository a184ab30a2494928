/** Test helpers: play NICEPAY with node:crypto (an independent signer). */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface TestKeys {
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
  readonly publicKeyBase64: string;
}

export function makeKeys(modulusLength = 2048): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return {
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    publicKeyBase64: (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
  };
}

export const signText = (key: KeyObject, text: string): string => sign('sha256', Buffer.from(text), key).toString('base64');

export const ACCESS_TOKEN_BODY = '{"grantType":"client_credentials","additionalInfo":{}}';

/** Headers of a correctly signed access-token request. */
export function signedHeaders(key: KeyObject, clientKey: string, timestamp: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'X-TIMESTAMP': timestamp,
    'X-CLIENT-KEY': clientKey,
    'X-SIGNATURE': signText(key, `${clientKey}|${timestamp}`),
  };
}

let lastStamp = 0;

/**
 * A timestamp within the clock window that no other call of this test process used: the
 * replay guard is on by default, and two requests signed in the same second carry the same
 * signature, so tests that play NICEPAY stamp each request with its own second. The
 * seconds count up from 250 s before now, so hundreds of calls stay inside the default
 * window (300 s both ways).
 */
export function uniqueTimestamp(now = Date.now()): string {
  const ms = Math.max(Math.floor(now / 1000) * 1000 - 250_000, lastStamp + 1000);
  lastStamp = ms;
  // formatTimestamp lives in src/; keep this helper independent of it.
  const local = new Date(ms + 7 * 3600_000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${local.getUTCFullYear()}-${p2(local.getUTCMonth() + 1)}-${p2(local.getUTCDate())}T${p2(local.getUTCHours())}:${p2(local.getUTCMinutes())}:${p2(local.getUTCSeconds())}+07:00`;
}
