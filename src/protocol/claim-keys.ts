/**
 * The keys under which a call is claimed once: its signature (across every NICO endpoint)
 * and its `X-EXTERNAL-ID` (per client per calendar day). Pure: the stores that hold them
 * live in `server/`.
 * @module
 */
import type { CryptoOps } from '../crypto/provider.js';
import { jsSha256Base64Url } from '../crypto/js-ops.js';
import type { ParsedTimestamp } from './timestamp.js';

const OFFSET = /^(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * The signature claim key of a signed NICO call: `"sig:"` + base64url(SHA-256(`clientKey|X-TIMESTAMP|X-SIGNATURE`)),
 * 47 characters. An access-token request and an inquiry or payment with the same client,
 * `X-TIMESTAMP` and `X-SIGNATURE` get the same key, so one store refuses a signature spent
 * on one endpoint when it comes back on another.
 *
 * @throws {@link !TypeError | TypeError} when an argument is not a string.
 *
 * @example
 * ```ts
 * import { signatureClaimKey } from 'nicepay-nico';
 *
 * // X-SIGNATURE as received:
 * signatureClaimKey('IONPAYTEST', '2024-01-22T15:00:01+07:00', signature); // "sig:" and 43 base64url characters
 * ```
 * @category Stores
 */
export function signatureClaimKey(clientKey: string, timestamp: string, signature: string): string {
  if (typeof clientKey !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') {
    throw new TypeError('signatureClaimKey: clientKey, timestamp and signature must be strings');
  }
  return signatureClaimKeyWith(undefined, clientKey, timestamp, signature);
}

/** {@link signatureClaimKey} on a provider's operations (checked strings). @internal */
export function signatureClaimKeyWith(ops: CryptoOps | undefined, clientKey: string, timestamp: string, signature: string): string {
  const text = `${clientKey}|${timestamp}|${signature}`;
  return `sig:${ops ? ops.sha256Base64Url(text) : jsSha256Base64Url(text)}`;
}

/** Minutes east of UTC of `"Z"` / `"±HH:MM"`. @throws {TypeError} for anything else. @internal */
export function offsetMinutes(offset: unknown, what: string): number {
  const m = typeof offset === 'string' ? OFFSET.exec(offset) : null;
  if (!m || Number(m[3] ?? 0) > 59 || Number(m[2] ?? 0) > 14) throw new TypeError(`${what} must be "Z" or "±HH:MM" (at most ±14:00), got ${JSON.stringify(offset)}`);
  return m[1] === undefined ? 0 : (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

let lastOffset: { readonly text: unknown; readonly minutes: number } = { text: undefined, minutes: 0 };
let lastDay: { readonly number: number; readonly text: string } = { number: NaN, text: '' };

function offsetOnce(dayOffset: string): number {
  const minutes = offsetMinutes(dayOffset, 'externalIdClaim: dayOffset');
  lastOffset = { text: dayOffset, minutes };
  return minutes;
}

/**
 * What {@link externalIdClaim} returns.
 * @category Stores
 */
export interface ExternalIdClaim {
  /** `"xid:<clientKey>:<YYYY-MM-DD>:<X-EXTERNAL-ID>"`. */
  readonly key: string;
  /** The calendar day of `X-TIMESTAMP` at `dayOffset`, `YYYY-MM-DD`. */
  readonly day: string;
  /** When that day ends, epoch ms. */
  readonly endOfDayMs: number;
}

/**
 * The `X-EXTERNAL-ID` claim of a call: SNAP makes `X-EXTERNAL-ID` unique per client "in the
 * same day", and the day is the calendar day of the call's own `X-TIMESTAMP` at `dayOffset`
 * (default `+07:00`, Jakarta), never the server's clock: the same signed call sent at
 * 23:59:58 and again after midnight has the same key.
 *
 * @throws {@link !TypeError | TypeError} for a `dayOffset` that is not `"Z"` or `"±HH:MM"`
 * (at most ±14:00).
 *
 * @example
 * ```ts
 * import { externalIdClaim, parseTimestamp } from 'nicepay-nico';
 *
 * externalIdClaim('IONPAYTEST', '41807553358950093184', parseTimestamp('2024-11-13T23:59:58+07:00'));
 * // { key: 'xid:IONPAYTEST:2024-11-13:41807553358950093184', day: '2024-11-13', endOfDayMs: 1731517200000 }
 * ```
 * @category Stores
 */
export function externalIdClaim(clientKey: string, externalId: string, timestamp: ParsedTimestamp, dayOffset = '+07:00'): ExternalIdClaim {
  const offsetMs = (dayOffset === lastOffset.text ? lastOffset.minutes : offsetOnce(dayOffset)) * 60_000;
  const local = timestamp.epochMs + offsetMs;
  const dayNumber = Math.floor(local / 86_400_000);
  // Calls come in day after day: the last day's text is kept.
  if (dayNumber !== lastDay.number) lastDay = { number: dayNumber, text: new Date(dayNumber * 86_400_000).toISOString().slice(0, 10) };
  const day = lastDay.text;
  const endOfDayMs = (dayNumber + 1) * 86_400_000 - offsetMs;
  return { key: `xid:${clientKey}:${day}:${externalId}`, day, endOfDayMs };
}
