/**
 * The access-token stringToSign: `X-CLIENT-KEY + "|" + X-TIMESTAMP`, both as received.
 * @module
 */

/**
 * Build the access-token stringToSign, byte for byte: `clientKey + "|" + timestamp`.
 * Neither value is re-formatted: pass the header values exactly as received.
 *
 * @throws {@link !TypeError | TypeError} for a non-string or empty value, or a client key
 * containing `|` (the result would be ambiguous).
 *
 * @example
 * ```ts
 * import { buildStringToSign } from 'nicepay-nico';
 *
 * buildStringToSign('IONPAYTEST', '2024-01-22T15:00:01+07:00');
 * // "IONPAYTEST|2024-01-22T15:00:01+07:00"
 * ```
 * @category Crypto
 */
export function buildStringToSign(clientKey: string, timestamp: string): string {
  if (typeof clientKey !== 'string' || clientKey === '') {
    throw new TypeError(`buildStringToSign: clientKey must be a non-empty string, got ${clientKey === '' ? 'an empty string' : typeof clientKey}`);
  }
  if (typeof timestamp !== 'string' || timestamp === '') {
    throw new TypeError(`buildStringToSign: timestamp must be a non-empty string, got ${timestamp === '' ? 'an empty string' : typeof timestamp}`);
  }
  if (clientKey.includes('|')) {
    throw new TypeError('buildStringToSign: clientKey must not contain "|", the separator of the stringToSign');
  }
  return `${clientKey}|${timestamp}`;
}
