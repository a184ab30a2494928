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
