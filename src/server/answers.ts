/**
 * Answers for the merchant's `handle()`, scoped to the endpoint's service code: the success
 * and the business refusals a NICO merchant has (bill not found, already paid, wrong
 * amount, expired, ...), each its row of the SNAP table.
 * @module
 */
import { snapResponse, type SnapResponseBody } from '../response-codes.js';

/**
 * What `handle()` returns: the response body, with its SNAP `responseCode` (seven digits,
 * the endpoint's service code) and `responseMessage` (at most 150 characters; filled from
 * the SNAP table when absent and the table's message has no part to fill), plus the
 * merchant's own fields.
 * @category Inquiry & payment
 */
export type TransactionAnswer = {
  readonly responseCode: string;
  readonly responseMessage?: string;
  readonly [field: string]: unknown;
};

/**
 * The business refusals of a NICO merchant, for {@link TransactionAnswers.fail}.
 * @category Inquiry & payment
 */
export type BusinessRefusal =
  /** The payment code / bill is not known: `404xx12 Invalid Bill/Virtual Account [Reason]`. */
  | 'bill-not-found'
  /** The bill exists but cannot be paid: `404xx19 Invalid Bill/Virtual Account`. */
  | 'invalid-bill'
  /** The bill was paid already: `404xx14 Paid Bill`. */
  | 'paid-bill'
  /** The amount does not match the bill: `404xx13 Invalid Amount`. */
  | 'invalid-amount'
  /** The bill or transaction has expired: `403xx00 Transaction Expired`. */
  | 'transaction-expired'
  /** No such transaction: `404xx01 Transaction Not Found`. */
  | 'transaction-not-found'
  /** The same request id came with other data: `404xx18 Inconsistent Request`. */
  | 'inconsistent-request'
  /** Not allowed for this merchant or bill: `403xx01 Feature Not Allowed [Reason]`. */
  | 'feature-not-allowed'
  /** Over an amount limit: `403xx02 Exceeds Transaction Amount Limit`. */
  | 'exceeds-amount-limit'
  /** Refused as suspected fraud: `403xx03 Suspected Fraud`. */
  | 'suspected-fraud'
  /** Refused, no other reason given: `403xx05 Do Not Honor`. */
  | 'do-not-honor';

/**
 * Each {@link BusinessRefusal} with its SNAP row (HTTP status and case code).
 * @category Inquiry & payment
 */
export const BUSINESS_REFUSALS: Readonly<Record<BusinessRefusal, { readonly httpStatus: number; readonly caseCode: string }>> = /* @__PURE__ */ Object.freeze({
  'bill-not-found': { httpStatus: 404, caseCode: '12' },
  'invalid-bill': { httpStatus: 404, caseCode: '19' },
  'paid-bill': { httpStatus: 404, caseCode: '14' },
  'invalid-amount': { httpStatus: 404, caseCode: '13' },
  'transaction-expired': { httpStatus: 403, caseCode: '00' },
  'transaction-not-found': { httpStatus: 404, caseCode: '01' },
  'inconsistent-request': { httpStatus: 404, caseCode: '18' },
  'feature-not-allowed': { httpStatus: 403, caseCode: '01' },
  'exceeds-amount-limit': { httpStatus: 403, caseCode: '02' },
  'suspected-fraud': { httpStatus: 403, caseCode: '03' },
  'do-not-honor': { httpStatus: 403, caseCode: '05' },
});

/**
 * The answers `handle()` gets, for its endpoint's service code.
 * @category Inquiry & payment
 */
export interface TransactionAnswers {
  /**
   * Success: `{ responseCode: '200xx00', responseMessage: 'Successful', ...fields }`.
   * @throws {@link !TypeError | TypeError} when `fields` sets `responseCode` or `responseMessage`.
   */
  ok<F extends Readonly<Record<string, unknown>>>(fields?: F): SnapResponseBody & F;
  /**
   * A business refusal (see {@link BusinessRefusal}), e.g. `fail('paid-bill')` is
   * `{ responseCode: '404xx14', responseMessage: 'Paid Bill' }`. `detail` fills the
   * message's `[Reason]` when it has one (`fail('bill-not-found', 'unknown payment code')`:
   * `Invalid Bill/Virtual Account unknown payment code`; a message over SNAP's 150
   * characters is cut); a reason whose message has no such part ignores it. It is sent to
   * NICEPAY, so never put a secret in it. `fields` are added to the body.
   * @throws {@link !TypeError | TypeError} for an unknown reason.
   */
  fail<F extends Readonly<Record<string, unknown>>>(reason: BusinessRefusal, detail?: string, fields?: F): SnapResponseBody & F;
}

function checkFields(fields: unknown, where: string): void {
  if (fields === undefined) return;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new TypeError(`${where}: fields must be a plain object of your own fields, got ${fields === null ? 'null' : Array.isArray(fields) ? 'an array' : typeof fields}`);
  }
  if (Object.prototype.hasOwnProperty.call(fields, 'responseCode') || Object.prototype.hasOwnProperty.call(fields, 'responseMessage')) {
    throw new TypeError(`${where}: fields must not set responseCode or responseMessage`);
  }
}

/** The answers for `serviceCode`. @internal created once per handler. */
export function transactionAnswers(serviceCode: string): TransactionAnswers {
  const success = snapResponse({ httpStatus: 200, serviceCode, caseCode: '00' });
  const refusals = new Map<string, SnapResponseBody>();
  return {
    ok(fields) {
      checkFields(fields, 'answer.ok(fields)');
      return { ...success, ...(fields ?? {}) } as never;
    },
    fail(reason, detail, fields) {
      checkFields(fields, 'answer.fail(reason, detail, fields)');
      if (detail !== undefined && typeof detail !== 'string') throw new TypeError(`answer.fail(reason, detail): detail must be a string, got ${typeof detail}`);
      const row = Object.prototype.hasOwnProperty.call(BUSINESS_REFUSALS, reason) ? BUSINESS_REFUSALS[reason] : undefined;
      if (!row) throw new TypeError(`answer.fail(reason): unknown reason ${JSON.stringify(String(reason)).slice(0, 40)}; one of ${Object.keys(BUSINESS_REFUSALS).join(', ')}`);
      let body: SnapResponseBody | undefined = detail === undefined ? refusals.get(reason) : undefined;
      if (!body) {
        body = snapResponse({ ...row, serviceCode, ...(detail === undefined ? {} : { detail }) });
        // SNAP allows 150 characters: a long detail is cut, never an answer the handler refuses.
        if (body.responseMessage.length > 150) body = { responseCode: body.responseCode, responseMessage: body.responseMessage.slice(0, 150) };
        if (detail === undefined) refusals.set(reason, body);
      }
      return { ...body, ...(fields ?? {}) } as never;
    },
  };
}
