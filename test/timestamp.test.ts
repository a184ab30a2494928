import { describe, expect, it } from 'vitest';
import { formatTimestamp, parseTimestamp, SnapError } from '../src/index.js';

const expectInvalid = (value: unknown, detail?: RegExp): void => {
  let caught: unknown;
  try {
    parseTimestamp(value as string);
  } catch (error) {
    caught = error;
  }
  expect(caught, `accepted ${JSON.stringify(value)}`).toBeInstanceOf(SnapError);
  const error = caught as SnapError;
  expect(error.code).toBe('INVALID_FIELD_FORMAT');
  expect(error.httpStatus).toBe(400);
  expect(error.responseCode).toBe('4007301');
  expect(error.responseMessage).toBe('Invalid Field Format {X-TIMESTAMP}');
  if (detail) expect(error.message).toMatch(detail);
};

describe('parseTimestamp: accepted forms', () => {
  it.each([
    ['2024-01-22T15:00:01+07:00', Date.UTC(2024, 0, 22, 8, 0, 1), 420, '+07:00'],
    ['2021-11-02T13:14:15.000+07:00', Date.UTC(2021, 10, 2, 6, 14, 15), 420, '+07:00'],
    ['2024-03-05T10:37:16.196Z', Date.UTC(2024, 2, 5, 10, 37, 16, 196), 0, 'Z'],
    ['2024-03-05T10:37:16.1Z', Date.UTC(2024, 2, 5, 10, 37, 16, 100), 0, 'Z'],
    ['2024-03-05T10:37:16.123456789-05:30', Date.UTC(2024, 2, 5, 16, 7, 16, 123), -330, '-05:30'],
    ['2024-02-29T00:00:00+14:00', Date.UTC(2024, 1, 28, 10, 0, 0), 840, '+14:00'],
    ['2000-02-29T23:59:59-14:00', Date.UTC(2000, 2, 1, 13, 59, 59), -840, '-14:00'],
    ['1970-01-01T00:00:00Z', 0, 0, 'Z'],
    // Years under 100 are not shifted to 19xx (as Date.UTC would).
    ['0099-12-31T23:59:59Z', new Date('0099-12-31T23:59:59Z').getTime(), 0, 'Z'],
  ])('%s', (text, epochMs, offsetMinutes, offset) => {
    const parsed = parseTimestamp(text);
    expect(parsed).toEqual({ text, epochMs, offsetMinutes, offset });
  });

  it('agrees with Date.parse on many random valid timestamps', () => {
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(Math.random() * 4102444800000); // 1970..2100
      const offsetMinutes = (Math.floor(Math.random() * 57) - 28) * 30; // ±14:00 in half hours
      const text = formatTimestamp(ms, formatOffset(offsetMinutes));
      const parsed = parseTimestamp(text);
      expect(parsed.epochMs).toBe(Date.parse(text));
      expect(parsed.epochMs).toBe(Math.floor(ms / 1000) * 1000);
      expect(parsed.offsetMinutes).toBe(offsetMinutes);
      checked++;
    }
    expect(checked).toBe(2000);
  });
});

const formatOffset = (minutes: number): string => {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

describe('parseTimestamp: refused', () => {
  it.each([
    ['missing offset', '2024-01-22T15:00:01', /offset/],
    ['space instead of T', '2024-01-22 15:00:01+07:00', /offset|YYYY/],
    ['lowercase t', '2024-01-22t15:00:01+07:00', undefined],
    ['lowercase z', '2024-01-22T15:00:01z', undefined],
    ['Feb 30', '2024-02-30T10:00:00+07:00', /day 30 does not exist/],
    ['Feb 29 of a common year', '2023-02-29T10:00:00+07:00', /day 29 does not exist in 2023-02/],
    ['Feb 29 of 1900 (not a leap year)', '1900-02-29T10:00:00Z', /day 29/],
    ['April 31', '2024-04-31T10:00:00+07:00', /day 31/],
    ['day 00', '2024-04-00T10:00:00+07:00', /day 00/],
    ['month 13', '2024-13-01T10:00:00+07:00', /month 13/],
    ['month 00', '2024-00-01T10:00:00+07:00', /month 00/],
    ['hour 24', '2024-01-22T24:00:00+07:00', /hour 24/],
    ['minute 60', '2024-01-22T15:60:00+07:00', /minute 60/],
    ['second 60 (leap second)', '2024-01-22T15:00:60+07:00', /second 60/],
    ['offset +14:01', '2024-01-22T15:00:01+14:01', /beyond/],
    ['offset -15:00', '2024-01-22T15:00:01-15:00', /beyond/],
    ['offset minutes 60', '2024-01-22T15:00:01+07:60', /minutes/],
    ['offset without colon', '2024-01-22T15:00:01+0700', undefined],
    ['offset hours only', '2024-01-22T15:00:01+07', undefined],
    ['leading space', ' 2024-01-22T15:00:01+07:00', undefined],
    ['trailing space', '2024-01-22T15:00:01+07:00 ', undefined],
    ['trailing newline', '2024-01-22T15:00:01+07:00\n', undefined],
    ['empty fraction', '2024-01-22T15:00:01.+07:00', undefined],
    ['ten fraction digits', '2024-01-22T15:00:01.1234567890+07:00', undefined],
    ['comma fraction', '2024-01-22T15:00:01,123+07:00', undefined],
    ['no seconds', '2024-01-22T15:00+07:00', undefined],
    ['two-digit year', '24-01-22T15:00:01+07:00', undefined],
    ['five-digit year', '+02024-01-22T15:00:01+07:00', undefined],
    ['unicode digits', '２０２４-01-22T15:00:01+07:00', undefined],
    ['epoch number as text', '1705910401', undefined],
    ['empty', '', undefined],
  ])('%s', (_name, value, detail) => expectInvalid(value, detail));

  it('non-strings', () => {
    for (const value of [undefined, null, 1705910401000, new Date(), {}]) expectInvalid(value, /expected a string/);
  });

  it('bounds its work on very long input', () => {
    const long = '2024-01-22T15:00:01' + '.'.padEnd(1_000_000, '1') + '+07:00';
    // The length is checked before any pattern runs.
    expectInvalid(long, /1000025 characters, at most 35/);
  });
});

describe('formatTimestamp', () => {
  it('renders the SNAP form at +07:00 by default, seconds precision', () => {
    expect(formatTimestamp(Date.UTC(2024, 0, 22, 8, 0, 1, 999))).toBe('2024-01-22T15:00:01+07:00');
    expect(formatTimestamp(Date.UTC(2024, 0, 22, 20, 0, 1))).toBe('2024-01-23T03:00:01+07:00');
  });
  it('renders other offsets and Z', () => {
    expect(formatTimestamp(Date.UTC(2024, 0, 22, 8, 0, 1), 'Z')).toBe('2024-01-22T08:00:01Z');
    expect(formatTimestamp(Date.UTC(2024, 0, 1, 2, 0, 0), '-05:30')).toBe('2023-12-31T20:30:00-05:30');
  });
  it('round-trips through parseTimestamp', () => {
    const ms = Date.UTC(2025, 5, 30, 23, 59, 59);
    for (const offset of ['+07:00', '+08:00', '+09:00', 'Z', '-14:00', '+14:00']) {
      expect(parseTimestamp(formatTimestamp(ms, offset)).epochMs).toBe(ms);
    }
  });
  it('refuses bad input', () => {
    expect(() => formatTimestamp(Number.NaN)).toThrow(TypeError);
    expect(() => formatTimestamp('2024' as unknown as number)).toThrow(/finite number/);
    expect(() => formatTimestamp(0, '+0700')).toThrow(/offset must be/);
    expect(() => formatTimestamp(0, '+15:00')).toThrow(/beyond/);
    expect(() => formatTimestamp(0, '+07:75')).toThrow(/beyond/);
  });
});
