import { describe, expect, it } from 'vitest';
import {
  SNAP_ERROR_TABLE,
  SNAP_RESPONSE_CODES,
  SnapError,
  isSnapError,
  parseResponseCode,
  snapResponse,
  snapResponseCode,
  type SnapErrorCode,
} from '../src/index.js';

describe('SNAP_RESPONSE_CODES', () => {
  it('holds the whole table of the spec, in order, with the standard spellings', () => {
    const count = (status: number): number => SNAP_RESPONSE_CODES.filter((c) => c.httpStatus === status).length;
    expect([200, 202, 400, 401, 403, 404, 405, 409, 429, 500, 504].map(count)).toEqual([1, 1, 3, 5, 24, 20, 2, 2, 1, 3, 1]);
    expect(SNAP_RESPONSE_CODES).toHaveLength(63);
    const message = (status: number, caseCode: string): string | undefined =>
      SNAP_RESPONSE_CODES.find((c) => c.httpStatus === status && c.caseCode === caseCode)?.message;
    expect(message(403, '13')).toBe('OTP Sent To Cardholer');
    expect(message(403, '23')).toBe('Account Limit Exceed');
    expect(message(404, '19')).toBe('Invalid Bill/Virtual Account');
    expect(message(405, '01')).toBe('Requested Opearation Is Not Allowed');
    expect(message(401, '03')).toBe('Token Not Found (B2B)');
    expect(Object.isFrozen(SNAP_RESPONSE_CODES)).toBe(true);
  });
});

describe('parseResponseCode', () => {
  it('takes a code apart', () => {
    expect(parseResponseCode('4017300')).toEqual({
      responseCode: '4017300',
      httpStatus: 401,
      serviceCode: '73',
      caseCode: '00',
      message: 'Unauthorized. [reason]',
    });
    expect(parseResponseCode('2007300').message).toBe('Successful');
    expect(parseResponseCode('4092400')).toMatchObject({ httpStatus: 409, serviceCode: '24', message: 'Conflict' });
  });
  it('round-trips every row for several service codes', () => {
    for (const entry of SNAP_RESPONSE_CODES) {
      for (const service of ['73', '24', '47']) {
        const code = snapResponseCode(entry.httpStatus, service, entry.caseCode);
        expect(parseResponseCode(code)).toEqual({ ...entry, responseCode: code, serviceCode: service });
      }
    }
  });
  it('refuses malformed and unknown codes', () => {
    for (const bad of ['401730', '40173000', '401730a', ' 4017300', '', 4017300 as unknown as string]) {
      expect(() => parseResponseCode(bad)).toThrow(/seven digits/);
    }
    expect(() => parseResponseCode('4017305')).toThrow(/not in the SNAP table/);
    expect(() => parseResponseCode('3027300')).toThrow(RangeError);
  });
});

describe('snapResponse', () => {
  it('fills {field} with braces and [reason] without brackets', () => {
    expect(snapResponse({ httpStatus: 400, serviceCode: 73, caseCode: 2, detail: 'X-TIMESTAMP' })).toEqual({
      responseCode: '4007302',
      responseMessage: 'Invalid Mandatory Field {X-TIMESTAMP}',
    });
    expect(snapResponse({ httpStatus: 401, serviceCode: '73', caseCode: '00', detail: 'Signature does not verify' }).responseMessage).toBe(
      'Unauthorized. Signature does not verify',
    );
    expect(snapResponse({ httpStatus: 403, serviceCode: 73, caseCode: 15, detail: 'limit' }).responseMessage).toBe('Transaction Not Permitted. limit');
  });
  it('drops an unfilled placeholder', () => {
    expect(snapResponse({ httpStatus: 401, serviceCode: 73, caseCode: 0 }).responseMessage).toBe('Unauthorized.');
    expect(snapResponse({ httpStatus: 400, serviceCode: 73, caseCode: 1 }).responseMessage).toBe('Invalid Field Format');
    expect(snapResponse({ httpStatus: 404, serviceCode: 73, caseCode: 11 }).responseMessage).toBe('Invalid Card/Account/Customer/Virtual Account');
  });
  it('composes for any service code', () => {
    expect(snapResponse({ httpStatus: 401, serviceCode: '24', caseCode: '01' })).toEqual({ responseCode: '4012401', responseMessage: 'Invalid Token (B2B)' });
    expect(snapResponseCode(200, 5, 0)).toBe('2000500');
  });
  it('refuses bad parts', () => {
    expect(() => snapResponseCode(401, 100, 0)).toThrow(/serviceCode must be two digits/);
    expect(() => snapResponseCode(401, '7', 0)).toThrow(/serviceCode/);
    expect(() => snapResponseCode(401, 73, -1)).toThrow(/caseCode/);
    expect(() => snapResponseCode(401, 73, 1.5)).toThrow(/caseCode/);
    expect(() => snapResponseCode(418, 73, 0)).toThrow(/not in the SNAP table/);
  });
});

describe('SnapError', () => {
  it('maps every code through the one table to a row of the SNAP table', () => {
    for (const code of Object.keys(SNAP_ERROR_TABLE) as SnapErrorCode[]) {
      const error = new SnapError(code, { field: 'X', reason: 'r' });
      const mapping = SNAP_ERROR_TABLE[code];
      expect(error.httpStatus).toBe(mapping.httpStatus);
      expect(error.responseCode).toBe(`${mapping.httpStatus}73${mapping.caseCode}`);
      expect(error.responseCode.startsWith(String(error.httpStatus))).toBe(true);
      expect(parseResponseCode(error.responseCode).httpStatus).toBe(error.httpStatus);
    }
  });
  it('answers the access-token failures as the spec requires', () => {
    const cases: Array<[SnapErrorCode, { field?: string; reason?: string }, number, string, string]> = [
      ['MISSING_MANDATORY_FIELD', { field: 'X-TIMESTAMP' }, 400, '4007302', 'Invalid Mandatory Field {X-TIMESTAMP}'],
      ['INVALID_FIELD_FORMAT', { field: 'X-TIMESTAMP' }, 400, '4007301', 'Invalid Field Format {X-TIMESTAMP}'],
      ['BAD_REQUEST', {}, 400, '4007300', 'Bad Request'],
      ['BODY_TOO_LARGE', {}, 400, '4007300', 'Bad Request'],
      ['UNKNOWN_CLIENT', { reason: 'Unknown X-CLIENT-KEY' }, 401, '4017300', 'Unauthorized. Unknown X-CLIENT-KEY'],
      ['TIMESTAMP_OUT_OF_WINDOW', { reason: 'late' }, 401, '4017300', 'Unauthorized. late'],
      ['INVALID_SIGNATURE', { reason: 'Signature does not verify' }, 401, '4017300', 'Unauthorized. Signature does not verify'],
      ['REPLAYED_REQUEST', {}, 401, '4017300', 'Unauthorized.'],
      ['METHOD_NOT_ALLOWED', {}, 405, '4057300', 'Requested Function Is Not Supported'],
      ['GENERAL_ERROR', {}, 500, '5007300', 'General Error'],
    ];
    for (const [code, init, status, responseCode, responseMessage] of cases) {
      const error = new SnapError(code, init);
      expect([error.code, error.httpStatus, error.responseCode, error.responseMessage]).toEqual([code, status, responseCode, responseMessage]);
      expect(error.toResponseBody()).toEqual({ responseCode, responseMessage });
    }
  });
  it('keeps the log message apart from the wire message, and takes a service code', () => {
    const error = new SnapError('INVALID_FIELD_FORMAT', { field: 'grantType', detail: 'grantType must be client_credentials', serviceCode: '24' });
    expect(error.message).toBe('grantType must be client_credentials');
    expect(error.responseCode).toBe('4002401');
    expect(error.field).toBe('grantType');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SnapError');
    expect(isSnapError(error)).toBe(true);
    expect(isSnapError(new Error('x'))).toBe(false);
    expect(isSnapError({ name: 'SnapError', responseCode: '4007300' })).toBe(true);
    expect(() => new SnapError('NOPE' as SnapErrorCode)).toThrow(/unknown SnapError code/);
  });
});
