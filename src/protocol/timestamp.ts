/**
 * SNAP timestamps: `YYYY-MM-DDTHH:mm:ss[.fraction](Z|±HH:MM)`, parsed strictly.
 * @module
 */
import { SnapError } from '../errors.js';

/**
 * A parsed `X-TIMESTAMP`.
 * @category Protocol
 */
export interface ParsedTimestamp {
  /** The text as given. */
  readonly text: string;
  /** Milliseconds since the Unix epoch (fraction beyond milliseconds truncated). */
  readonly epochMs: number;
  /** Offset from UTC in minutes, e.g. `420` for `+07:00`, `0` for `Z`. */
  readonly offsetMinutes: number;
  /** The offset as written: `"+07:00"`, `"Z"`, ... */
  readonly offset: string;
}

const MAX_LENGTH = 35; // "YYYY-MM-DDTHH:mm:ss" (19) + "." + 9 digits + "+HH:MM" (6)
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const MAX_OFFSET_MINUTES = 14 * 60;

const invalid = (detail: string, field: string): SnapError =>
  new SnapError('INVALID_FIELD_FORMAT', { field, detail: `${field}: ${detail}` });

/** Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** @internal shared by {@link parseTimestamp} and the header checks, which name their field. */
export function parseTimestampField(value: string, field: string): ParsedTimestamp {
  if (typeof value !== 'string') throw invalid(`expected a string, got ${typeof value}`, field);
  if (value.length > MAX_LENGTH) throw invalid(`${value.length} characters, at most ${MAX_LENGTH} expected`, field);
  const m = PATTERN.exec(value);
  if (!m) {
    throw invalid('expected YYYY-MM-DDTHH:mm:ss with an offset, e.g. 2024-01-22T15:00:01+07:00', field);
  }
  const [, y, mo, d, h, mi, s, fraction, offset] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12) throw invalid(`month ${mo} does not exist`, field);
  const monthDays = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day < 1 || day > monthDays) throw invalid(`day ${d} does not exist in ${y}-${mo}`, field);
  if (hour > 23) throw invalid(`hour ${h} is out of range (00-23)`, field);
  if (minute > 59) throw invalid(`minute ${mi} is out of range (00-59)`, field);
  if (second > 59) throw invalid(`second ${s} is out of range (00-59)`, field);
  let offsetMinutes = 0;
  if (offset !== 'Z') {
    const oh = Number(offset.slice(1, 3));
    const om = Number(offset.slice(4, 6));
    if (om > 59) throw invalid(`offset ${offset} has minutes out of range`, field);
    offsetMinutes = (offset[0] === '-' ? -1 : 1) * (oh * 60 + om);
    if (Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) throw invalid(`offset ${offset} is beyond ±14:00`, field);
  }
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const epochMs =
    ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute - offsetMinutes) * 60_000 + second * 1000 + millis;
  return { text: value, epochMs, offsetMinutes, offset };
}

/**
 * Parse a SNAP timestamp strictly: `YYYY-MM-DDTHH:mm:ss`, an optional fraction of 1 to 9
 * digits, then `Z` or `±HH:MM` (at most ±14:00). Everything else is refused: a missing
 * offset, a space instead of `T`, impossible dates (Feb 30, Feb 29 of a common year),
 * hour 24, minute or second 60, surrounding spaces, lowercase `t`/`z`, over-long input.
 *
 * @throws {@link SnapError} `INVALID_FIELD_FORMAT` (`400 / 4007301 Invalid Field Format {X-TIMESTAMP}`).
 *
 * @example
 * ```ts
 * import { parseTimestamp } from 'nicepay-nico';
 *
 * parseTimestamp('2024-01-22T15:00:01+07:00');
 * // { text: '2024-01-22T15:00:01+07:00', epochMs: 1705910401000, offsetMinutes: 420, offset: '+07:00' }
 * ```
 * @category Protocol
 */
export function parseTimestamp(value: string): ParsedTimestamp {
  return parseTimestampField(value, 'X-TIMESTAMP');
}

const OFFSET_PATTERN = /^(?:Z|[+-](\d{2}):(\d{2}))$/;
const FRACTION = /\.(\d+)/;

/**
 * Render `epochMs` in the SNAP form, seconds precision, at the given offset (default
 * `+07:00`, Western Indonesia Time), e.g. for the `X-TIMESTAMP` response header.
 *
 * @throws {@link !TypeError | TypeError} when `epochMs` is not a finite number, or `offset`
 * is not `"Z"` or `"±HH:MM"` within ±14:00; {@link !RangeError | RangeError} for a date
 * outside the years 0000-9999.
 *
 * @example
 * ```ts
 * import { formatTimestamp } from 'nicepay-nico';
 *
 * formatTimestamp(1705910401000);          // "2024-01-22T15:00:01+07:00"
 * formatTimestamp(1705910401000, 'Z');     // "2024-01-22T08:00:01Z"
 * ```
 * @category Protocol
 */
export function formatTimestamp(epochMs: number, offset = '+07:00'): string {
  if (typeof epochMs !== 'number' || !Number.isFinite(epochMs)) {
    throw new TypeError(`formatTimestamp: epochMs must be a finite number, got ${String(epochMs)}`);
  }
  const second = Math.floor(epochMs / 1000);
  // Every answer carries the time: the last one is kept, as most answers share their second.
  if (second === last.second && offset === last.offset) return last.text;
  const text = formatSecond(second, offset);
  last = { second, offset, text };
  return text;
}

let last: { readonly second: number; readonly offset: unknown; readonly text: string } = { second: NaN, offset: undefined, text: '' };

function formatSecond(second: number, offset: string): string {
  const m = typeof offset === 'string' ? OFFSET_PATTERN.exec(offset) : null;
  if (!m) throw new TypeError(`formatTimestamp: offset must be "Z" or "±HH:MM", got ${JSON.stringify(offset)}`);
  const offsetMinutes = offset === 'Z' ? 0 : (offset[0] === '-' ? -1 : 1) * (Number(m[1]) * 60 + Number(m[2]));
  if (Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES || Number(m[2] ?? 0) > 59) {
    throw new TypeError(`formatTimestamp: offset ${offset} is beyond ±14:00`);
  }
  const local = new Date(second * 1000 + offsetMinutes * 60_000);
  const year = local.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError('formatTimestamp: the date is outside years 0000-9999');
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${String(year).padStart(4, '0')}-${p2(local.getUTCMonth() + 1)}-${p2(local.getUTCDate())}` +
    `T${p2(local.getUTCHours())}:${p2(local.getUTCMinutes())}:${p2(local.getUTCSeconds())}${offset}`
  );
}

/**
 * Check `timestamp` is within `skewMs` of `nowMs`, both ways; `TIMESTAMP_OUT_OF_WINDOW`
 * (`401 Unauthorized. X-TIMESTAMP is 3605 s behind server time (allowed 300 s)`) otherwise.
 * @internal shared by the access-token and transaction verifications.
 */
export function checkFreshness(timestamp: ParsedTimestamp, nowMs: number, skewMs: number): void {
  const offMs = timestamp.epochMs - nowMs;
  // Compared at the precision of the stamp: one without a fraction stands for its whole
  // second [epochMs, epochMs + 1000), so it is fresh when that second meets the window
  // [now - skew, now + skew]. (With clockSkewSeconds 0, a stamp of the current second.)
  const digits = FRACTION.exec(timestamp.text)?.[1]?.length ?? 0;
  const precisionMs = digits >= 3 ? 1 : 10 ** (3 - digits);
  if (offMs <= skewMs && offMs + precisionMs > -skewMs) return;
  // Whole seconds, unless rounding would show the allowed value itself ("300 s behind (allowed 300 s)").
  const rounded = Math.round(Math.abs(offMs) / 1000);
  const seconds = rounded * 1000 > skewMs ? String(rounded) : (Math.abs(offMs) / 1000).toFixed(3);
  const direction = offMs > 0 ? 'ahead of' : 'behind';
  const allowed = `allowed ${skewMs / 1000} s`;
  throw new SnapError('TIMESTAMP_OUT_OF_WINDOW', {
    reason: `X-TIMESTAMP is ${seconds} s ${direction} server time (${allowed})`,
    detail:
      `X-TIMESTAMP ${timestamp.text} is ${seconds} s ${direction} the server clock (${allowed}).` +
      (Math.abs(Math.abs(offMs) - 7 * 3600_000) <= skewMs ? ' A 7-hour gap usually means a UTC clock stamped with +07:00.' : ''),
  });
}
