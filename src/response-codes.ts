/**
 * The SNAP response-code table (Bank Indonesia, *Standar Teknis dan Keamanan* v1.0.2) as
 * typed data, plus a parser and a composer.
 *
 * A SNAP `responseCode` is seven digits: the HTTP status (3), the service code (2, `73` for
 * the B2B access token) and the case code (2). Messages are verbatim from the standard,
 * including its own spellings ("Cardholer", "Opearation"); `{field}`, `[reason]`,
 * `[Reason]` and `[info]` are placeholders.
 *
 * @module
 */

/**
 * One row of the SNAP table: an HTTP status, a case code and the standard message.
 * @category Protocol
 */
export interface SnapResponseCodeEntry {
  /** HTTP status, e.g. `401`. */
  readonly httpStatus: number;
  /** Two-digit case code, e.g. `"00"`. */
  readonly caseCode: string;
  /** The standard's message, placeholders included, e.g. `"Unauthorized. [reason]"`. */
  readonly message: string;
}

const table = (httpStatus: number, messages: readonly string[]): SnapResponseCodeEntry[] =>
  messages.map((message, i) => ({ httpStatus, caseCode: String(i).padStart(2, '0'), message }));

/**
 * Every response code of the SNAP table, in the standard's order.
 *
 * @example
 * ```ts
 * import { SNAP_RESPONSE_CODES } from 'nicepay-nico';
 *
 * SNAP_RESPONSE_CODES.find((c) => c.httpStatus === 401 && c.caseCode === '01')?.message;
 * // "Invalid Token (B2B)"
 * ```
 * @category Protocol
 */
export const SNAP_RESPONSE_CODES: readonly SnapResponseCodeEntry[] = Object.freeze([
  ...table(200, ['Successful']),
  ...table(202, ['Request In Progress']),
  ...table(400, ['Bad Request', 'Invalid Field Format {field}', 'Invalid Mandatory Field {field}']),
  ...table(401, [
    'Unauthorized. [reason]',
    'Invalid Token (B2B)',
    'Invalid Customer Token',
    'Token Not Found (B2B)',
    'Customer Token Not Found',
  ]),
  ...table(403, [
    'Transaction Expired',
    'Feature Not Allowed [Reason]',
    'Exceeds Transaction Amount Limit',
    'Suspected Fraud',
    'Activity Count Limit Exceeded',
    'Do Not Honor',
    'Feature Not Allowed At This Time. [reason]',
    'Card Blocked',
    'Card Expired',
    'Dormant Account',
    'Need To Set Token Limit',
    'OTP Blocked',
    'OTP Lifetime Expired',
    'OTP Sent To Cardholer',
    'Insufficient Funds',
    'Transaction Not Permitted.[reason]',
    'Suspend Transaction',
    'Token Limit Exceeded',
    'Inactive Card/Account/Customer',
    'Merchant Blacklisted',
    'Merchant Limit Exceed',
    'Set Limit Not Allowed',
    'Token Limit Invalid',
    'Account Limit Exceed',
  ]),
  ...table(404, [
    'Invalid Transaction Status',
    'Transaction Not Found',
    'Invalid Routing',
    'Bank Not Supported By Switch',
    'Transaction Cancelled',
    'Merchant Is Not Registered For Card Registration Services',
    'Need To Request OTP',
    'Journey Not Found',
    'Invalid Merchant',
    'No Issuer',
    'Invalid API Transition',
    'Invalid Card/Account/Customer [info]/Virtual Account',
    'Invalid Bill/Virtual Account [Reason]',
    'Invalid Amount',
    'Paid Bill',
    'Invalid OTP',
    'Partner Not Found',
    'Invalid Terminal',
    'Inconsistent Request',
    'Invalid Bill/Virtual Account',
  ]),
  ...table(405, ['Requested Function Is Not Supported', 'Requested Opearation Is Not Allowed']),
  ...table(409, ['Conflict', 'Duplicate partnerReferenceNo']),
  ...table(429, ['Too Many Requests']),
  ...table(500, ['General Error', 'Internal Server Error', 'External Server Error']),
  ...table(504, ['Timeout']),
].map((entry) => Object.freeze(entry)));

const byKey = new Map<string, SnapResponseCodeEntry>(
  SNAP_RESPONSE_CODES.map((entry) => [`${entry.httpStatus}${entry.caseCode}`, entry]),
);

/**
 * Service code of NICEPAY's `POST /api/v1.0/access-token/b2b`.
 * @category Protocol
 */
export const ACCESS_TOKEN_SERVICE_CODE = '73';

/**
 * A response code taken apart.
 * @category Protocol
 */
export interface ParsedResponseCode extends SnapResponseCodeEntry {
  /** The seven digits, e.g. `"4017300"`. */
  readonly responseCode: string;
  /** Two-digit service code, e.g. `"73"`. */
  readonly serviceCode: string;
}

const twoDigits = (value: number | string, name: string): string => {
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value).padStart(2, '0') : value;
  if (typeof text !== 'string' || !/^[0-9]{2}$/.test(text)) {
    throw new TypeError(`${name} must be two digits (00-99) or an integer 0-99, got ${describe(value)}`);
  }
  return text;
};

const describe = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value.slice(0, 20)) : typeof value === 'number' ? String(value) : typeof value;

/**
 * Take a seven-digit SNAP response code apart and look up its standard message.
 *
 * @throws {@link !RangeError | RangeError} when `responseCode` is not seven digits, or its
 * HTTP status and case code are not in the SNAP table.
 *
 * @example
 * ```ts
 * import { parseResponseCode } from 'nicepay-nico';
 *
 * parseResponseCode('4017300');
 * // { responseCode: '4017300', httpStatus: 401, serviceCode: '73', caseCode: '00',
 * //   message: 'Unauthorized. [reason]' }
 * ```
 * @category Protocol
 */
export function parseResponseCode(responseCode: string): ParsedResponseCode {
  if (typeof responseCode !== 'string' || !/^[0-9]{7}$/.test(responseCode)) {
    throw new RangeError(`responseCode must be seven digits (HTTP status, service code, case code), got ${describe(responseCode)}`);
  }
  const status = responseCode.slice(0, 3);
  const caseCode = responseCode.slice(5, 7);
  const entry = byKey.get(status + caseCode);
  if (!entry) {
    throw new RangeError(`responseCode ${responseCode}: HTTP ${status} with case code ${caseCode} is not in the SNAP table`);
  }
  return { responseCode, httpStatus: entry.httpStatus, serviceCode: responseCode.slice(3, 5), caseCode, message: entry.message };
}

/**
 * What {@link snapResponse} takes.
 * @category Protocol
 */
export interface SnapResponseInit {
  /** HTTP status of a row of the SNAP table, e.g. `400`. */
  readonly httpStatus: number;
  /** Service code, e.g. `73` or `"73"`. */
  readonly serviceCode: number | string;
  /** Case code, e.g. `2` or `"02"`. */
  readonly caseCode: number | string;
  /**
   * Text for the message's placeholder (`{field}`, `[reason]`, ...). Omitted: the
   * placeholder is dropped, e.g. `"Unauthorized."`.
   */
  readonly detail?: string;
}

/**
 * The two fields every SNAP response body starts with.
 * @category Protocol
 */
export type SnapResponseBody = {
  readonly responseCode: string;
  readonly responseMessage: string;
};

/**
 * Compose a SNAP `responseCode` and `responseMessage` for any service code.
 *
 * @throws {@link !RangeError | RangeError} when the HTTP status and case code are not in the
 * SNAP table; {@link !TypeError | TypeError} when the service code or case code is not two
 * digits (`"00"`-`"99"`) or an integer 0-99.
 *
 * @example
 * ```ts
 * import { snapResponse } from 'nicepay-nico';
 *
 * snapResponse({ httpStatus: 400, serviceCode: 73, caseCode: 2, detail: 'X-TIMESTAMP' });
 * // { responseCode: '4007302', responseMessage: 'Invalid Mandatory Field {X-TIMESTAMP}' }
 * snapResponse({ httpStatus: 401, serviceCode: '24', caseCode: '01' });
 * // { responseCode: '4012401', responseMessage: 'Invalid Token (B2B)' }
 * ```
 * @category Protocol
 */
export function snapResponse(init: SnapResponseInit): SnapResponseBody {
  const service = twoDigits(init.serviceCode, 'serviceCode');
  const caseCode = twoDigits(init.caseCode, 'caseCode');
  const entry = byKey.get(`${init.httpStatus}${caseCode}`);
  if (!entry) {
    throw new RangeError(`HTTP ${String(init.httpStatus)} with case code ${caseCode} is not in the SNAP table`);
  }
  return {
    responseCode: `${entry.httpStatus}${service}${caseCode}`,
    responseMessage: fillPlaceholder(entry.message, init.detail),
  };
}

/**
 * Fill the placeholder of a standard message. `{field}` keeps its braces, as NICEPAY
 * writes it (`Invalid Mandatory Field {X-TIMESTAMP}`); `[reason]` loses its brackets.
 */
function fillPlaceholder(message: string, detail: string | undefined): string {
  const match = /\{field\}|\[(?:reason|Reason|info)\]/.exec(message);
  if (!match) return message;
  const before = message.slice(0, match.index);
  const after = message.slice(match.index + match[0].length);
  if (detail === undefined || detail === '') return (before.trimEnd() + after).trimEnd();
  const filled = match[0] === '{field}' ? `{${detail}}` : detail;
  const sep = before === '' || before.endsWith(' ') ? '' : ' ';
  return before + sep + filled + after;
}

/**
 * Compose only the seven-digit code.
 *
 * @throws {@link !RangeError | RangeError} or {@link !TypeError | TypeError}, as
 * {@link snapResponse}.
 *
 * @example
 * ```ts
 * import { snapResponseCode } from 'nicepay-nico';
 *
 * snapResponseCode(401, 73, 0); // "4017300"
 * snapResponseCode(200, '47', '00'); // "2004700"
 * ```
 * @category Protocol
 */
export function snapResponseCode(httpStatus: number, serviceCode: number | string, caseCode: number | string): string {
  return snapResponse({ httpStatus, serviceCode, caseCode }).responseCode;
}
