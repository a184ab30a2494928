/**
 * `SnapError` and the one table that maps each failure to its SNAP answer. No other file
 * chooses an HTTP status or a response code.
 *
 * @module
 */
import { ACCESS_TOKEN_SERVICE_CODE, snapResponse, type SnapResponseBody } from './response-codes.js';

/**
 * Stable codes of {@link SnapError}, for `switch (error.code)`. Each maps to exactly one
 * row of the SNAP table (see {@link SNAP_ERROR_TABLE}).
 * @category Errors
 */
export type SnapErrorCode =
  /** The request is not parseable: body not JSON, not a JSON object, not UTF-8. `400 xx 00`. */
  | 'BAD_REQUEST'
  /** The body is larger than the endpoint accepts. `400 xx 00`. */
  | 'BODY_TOO_LARGE'
  /** A present header or body field has the wrong format. `400 xx 01 Invalid Field Format {field}`. */
  | 'INVALID_FIELD_FORMAT'
  /** A mandatory header or body field is missing or empty. `400 xx 02 Invalid Mandatory Field {field}`. */
  | 'MISSING_MANDATORY_FIELD'
  /** `X-CLIENT-KEY` is not a configured client. `401 xx 00 Unauthorized. [reason]`. */
  | 'UNKNOWN_CLIENT'
  /** `X-TIMESTAMP` is outside the allowed clock window. `401 xx 00`. */
  | 'TIMESTAMP_OUT_OF_WINDOW'
  /** `X-SIGNATURE` does not verify under the client's public key. `401 xx 00`. */
  | 'INVALID_SIGNATURE'
  /** The same signed request was already accepted. `401 xx 00`. */
  | 'REPLAYED_REQUEST'
  /** The bearer token is not a valid token: not Bearer, malformed, bad MAC, expired, or another client's. `401 xx 01 Invalid Token (B2B)`. */
  | 'INVALID_TOKEN'
  /** A stored-token lookup does not know the token. `401 xx 03 Token Not Found (B2B)`. */
  | 'TOKEN_NOT_FOUND'
  /**
   * `X-EXTERNAL-ID` was already used by this client today, or the same call (signature,
   * `X-EXTERNAL-ID` or idempotency key) is still being processed. `409 xx 00 Conflict`.
   */
  | 'CONFLICT'
  /**
   * An idempotency key (say `paymentRequestId`) was already answered for another body.
   * `404 xx 18 Inconsistent Request`.
   */
  | 'INCONSISTENT_REQUEST'
  /** The HTTP method is not POST. `405 xx 00 Requested Function Is Not Supported`. */
  | 'METHOD_NOT_ALLOWED'
  /** The merchant's own code failed; nothing of it is sent. `500 xx 00 General Error`. */
  | 'GENERAL_ERROR';

/**
 * How one {@link SnapErrorCode} is answered.
 * @category Errors
 */
export interface SnapErrorMapping {
  readonly httpStatus: number;
  readonly caseCode: string;
}

/**
 * The one table from failure to SNAP answer (HTTP status and case code; the service code
 * is the endpoint's, `73` for the access token).
 * @category Errors
 */
export const SNAP_ERROR_TABLE: Readonly<Record<SnapErrorCode, SnapErrorMapping>> = Object.freeze({
  BAD_REQUEST: { httpStatus: 400, caseCode: '00' },
  BODY_TOO_LARGE: { httpStatus: 400, caseCode: '00' },
  INVALID_FIELD_FORMAT: { httpStatus: 400, caseCode: '01' },
  MISSING_MANDATORY_FIELD: { httpStatus: 400, caseCode: '02' },
  UNKNOWN_CLIENT: { httpStatus: 401, caseCode: '00' },
  TIMESTAMP_OUT_OF_WINDOW: { httpStatus: 401, caseCode: '00' },
  INVALID_SIGNATURE: { httpStatus: 401, caseCode: '00' },
  REPLAYED_REQUEST: { httpStatus: 401, caseCode: '00' },
  INVALID_TOKEN: { httpStatus: 401, caseCode: '01' },
  TOKEN_NOT_FOUND: { httpStatus: 401, caseCode: '03' },
  CONFLICT: { httpStatus: 409, caseCode: '00' },
  INCONSISTENT_REQUEST: { httpStatus: 404, caseCode: '18' },
  METHOD_NOT_ALLOWED: { httpStatus: 405, caseCode: '00' },
  GENERAL_ERROR: { httpStatus: 500, caseCode: '00' },
});

/**
 * What {@link SnapError} takes besides its code.
 * @category Errors
 */
export interface SnapErrorInit {
  /** The header or body field at fault, e.g. `"X-TIMESTAMP"`; fills `{field}`. */
  readonly field?: string;
  /**
   * Short reason sent to the caller after `Unauthorized.`, e.g. `"Signature does not verify"`.
   * Never a secret, a signature or a value the caller sent.
   */
  readonly reason?: string;
  /** Longer explanation for the merchant's logs (`error.message`); never sent. */
  readonly detail?: string;
  /** Two-digit service code; default `"73"` (access token B2B). */
  readonly serviceCode?: string;
  /** The underlying error, if any (kept for the merchant's logs, never sent). */
  readonly cause?: unknown;
}

/**
 * A failure with its SNAP answer. Thrown by the verification functions; the endpoint
 * handler turns it into the response `{ status: httpStatus, body: { responseCode, responseMessage } }`.
 *
 * `message` is for the merchant's logs; `responseMessage` is what the caller sees. Neither
 * ever contains a secret or a signature.
 *
 * @example
 * ```ts
 * try {
 *   verifyAccessTokenRequest(request, options);
 * } catch (error) {
 *   if (error instanceof SnapError) {
 *     // error.code === 'MISSING_MANDATORY_FIELD', error.httpStatus === 400,
 *     // error.responseCode === '4007302', error.responseMessage === 'Invalid Mandatory Field {X-TIMESTAMP}'
 *     return json(error.httpStatus, error.toResponseBody());
 *   }
 *   throw error;
 * }
 * ```
 * @category Errors
 */
export class SnapError extends Error {
  override readonly name = 'SnapError';
  /** Stable code, for `switch`. */
  readonly code: SnapErrorCode;
  /** HTTP status to answer with. */
  readonly httpStatus: number;
  /** Seven-digit SNAP response code, e.g. `"4007302"`. */
  readonly responseCode: string;
  /** SNAP response message, e.g. `"Invalid Mandatory Field {X-TIMESTAMP}"`. */
  readonly responseMessage: string;
  /** The header or body field at fault, when there is one. */
  readonly field: string | undefined;
  /** The reason sent after `Unauthorized.`, when there is one. */
  readonly reason: string | undefined;
  /** Two-digit service code of the endpoint. */
  readonly serviceCode: string;

  constructor(code: SnapErrorCode, init: SnapErrorInit = {}) {
    const mapping = SNAP_ERROR_TABLE[code];
    if (!mapping) throw new TypeError(`unknown SnapError code ${String(code)}`);
    const serviceCode = init.serviceCode ?? ACCESS_TOKEN_SERVICE_CODE;
    const { responseCode, responseMessage } = snapResponse({
      httpStatus: mapping.httpStatus,
      serviceCode,
      caseCode: mapping.caseCode,
      ...(init.field !== undefined ? { detail: init.field } : init.reason !== undefined ? { detail: init.reason } : {}),
    });
    super(init.detail ?? responseMessage, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.httpStatus = mapping.httpStatus;
    this.responseCode = responseCode;
    this.responseMessage = responseMessage;
    this.field = init.field;
    this.reason = init.reason;
    this.serviceCode = serviceCode;
  }

  /** The same failure answered for another endpoint (service code), e.g. `"24"`. */
  withServiceCode(serviceCode: string): SnapError {
    if (serviceCode === this.serviceCode) return this;
    return new SnapError(this.code, {
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      detail: this.message,
      serviceCode,
      ...(this.cause === undefined ? {} : { cause: this.cause }),
    });
  }

  /** The SNAP error body: `{ responseCode, responseMessage }`. */
  toResponseBody(): SnapResponseBody {
    return { responseCode: this.responseCode, responseMessage: this.responseMessage };
  }
}

/**
 * `true` when `value` is a {@link SnapError}, also across copies of this package.
 *
 * @example
 * ```ts
 * import { isSnapError, parseTimestamp } from 'nicepay-nico';
 *
 * try {
 *   parseTimestamp('2024-01-22 15:00:01+07:00'); // a space instead of T
 * } catch (error) {
 *   if (isSnapError(error)) error.responseCode; // "4007301" (Invalid Field Format {X-TIMESTAMP})
 * }
 * ```
 * @category Errors
 */
export function isSnapError(value: unknown): value is SnapError {
  return (
    value instanceof SnapError ||
    (typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'SnapError' &&
      typeof (value as { responseCode?: unknown }).responseCode === 'string')
  );
}
