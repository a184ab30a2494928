/**
 * The endpoints after the token (CVS inquiry and payment): request object in, response
 * object out, never throws. The merchant's own code gets the verified call and returns the
 * business response body.
 * @module
 */
import { isSnapError, SnapError } from '../errors.js';
import {
  checkTransactionOptions,
  verifyTransactionRequest,
  type TransactionRequest,
  type TransactionVerifyOptions,
  type VerifiedTransactionRequest,
} from '../protocol/transaction-request.js';
import { formatTimestamp } from '../protocol/timestamp.js';
import type { EndpointResponse, ErrorContext } from './access-token-handler.js';

/** Options of {@link createTransactionHandler}. */
export interface TransactionHandlerOptions extends Omit<TransactionVerifyOptions, 'now'> {
  /**
   * Your business logic: gets the verified call (its parsed `body` included) and returns the
   * response body, e.g. `{ responseCode: '2004700', responseMessage: 'Successful', ... }`.
   * The HTTP status is the first three digits of a seven-digit `responseCode` (200 without one).
   */
  readonly handle: (request: VerifiedTransactionRequest) => Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>>;
  /** Clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
  /** Offset of the `X-TIMESTAMP` response header; default `"+07:00"`. */
  readonly timestampOffset?: string;
  /** Called with every failure (the internal error behind a 500 included). Errors it throws are ignored. */
  readonly onError?: (error: unknown, context: ErrorContext) => void | Promise<void>;
}

/** A transaction endpoint: call it with each request. */
export type TransactionHandler = (request: TransactionRequest) => Promise<EndpointResponse>;

const FN = 'createTransactionHandler';

function report(onError: TransactionHandlerOptions['onError'], error: unknown, context: ErrorContext): void {
  if (!onError) return;
  try {
    const result = onError(error, context);
    if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, () => undefined);
  } catch {
    // An observer must not change the answer.
  }
}

/**
 * Create a CVS inquiry or payment endpoint. Each request is verified with
 * {@link verifyTransactionRequest}; a verified one goes to your `handle`, whose result is
 * sent with `Content-Type: application/json` and `X-TIMESTAMP`. Every failure is its SNAP
 * answer for the endpoint's `serviceCode`; a method other than POST is `405 / 405xx00`; an
 * error in your own code (`handle`, lookups, the stores) is `500 / 500xx00 General Error`
 * with nothing of it in the response (it goes to `onError`). Never throws or rejects.
 *
 * @throws {TypeError} at creation for bad options.
 *
 * @example
 * ```ts
 * const inquiry = createTransactionHandler({
 *   serviceCode: '47', // the CVS inquiry service code NICEPAY gave you
 *   clients: { IONPAYTEST: { clientSecret: process.env.NICEPAY_CLIENT_SECRET! } },
 *   tokens: createAccessTokenIssuer({ secret: process.env.TOKEN_SECRET! }),
 *   externalIds: createMemoryClaimStore(),
 *   handle: async ({ body }) => ({ responseCode: '2004700', responseMessage: 'Successful', ...(await findBill(body)) }),
 * });
 * const { status, headers, body } = await inquiry({ method: 'POST', path: '/api/v1.0/cvs/inquiry', headers: req.headers, body: rawBody });
 * ```
 */
export function createTransactionHandler(options: TransactionHandlerOptions): TransactionHandler {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${FN}: options must be an object`);
  const { handle, onError } = options;
  if (typeof handle !== 'function') throw new TypeError(`${FN}: handle(verified) must be a function returning the response body`);
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError(`${FN}: onError must be a function`);
  const clock = options.now ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError(`${FN}: now must be a function returning epoch ms`);
  const offset = options.timestampOffset ?? '+07:00';
  formatTimestamp(0, offset); // validates the offset now
  const verifyOptions: TransactionVerifyOptions = { ...options, now: 0 };
  const serviceCode = probeOptions(verifyOptions);

  const respond = (status: number, body: object, now: number): EndpointResponse => ({
    status,
    headers: { 'Content-Type': 'application/json', 'X-TIMESTAMP': formatTimestamp(now, offset) },
    body: JSON.stringify(body),
  });
  const fail = (error: unknown, now: number): EndpointResponse => {
    const failure = isSnapError(error) ? (error as SnapError).withServiceCode(serviceCode) : new SnapError('GENERAL_ERROR', { serviceCode, cause: error });
    report(onError, error, { status: failure.httpStatus, responseCode: failure.responseCode });
    return respond(failure.httpStatus, failure.toResponseBody(), now);
  };

  return async function handleTransaction(request: TransactionRequest): Promise<EndpointResponse> {
    let now = Date.now();
    try {
      now = clock();
      if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError(`${FN}: now() returned ${String(now)}`);
      if (typeof request !== 'object' || request === null) throw new TypeError(`${FN}: request must be { method, path, headers, body }`);
      if (request.method !== 'POST') {
        throw new SnapError('METHOD_NOT_ALLOWED', { serviceCode, detail: `method ${String(request.method).slice(0, 16)} is not allowed; NICEPAY sends POST` });
      }
      const verified = await verifyTransactionRequest(request, { ...verifyOptions, now });
      let body: unknown;
      try {
        body = await handle(verified);
      } catch (cause) {
        throw new SnapError('GENERAL_ERROR', { serviceCode, detail: 'handle() failed', cause });
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new TypeError(`${FN}: handle() must return the response body as an object, got ${body === null ? 'null' : typeof body}`);
      }
      const code = (body as { responseCode?: unknown }).responseCode;
      const status = typeof code === 'string' && /^[1-5][0-9]{6}$/.test(code) ? Number(code.slice(0, 3)) : 200;
      return respond(status, body, now);
    } catch (error) {
      return fail(error, Number.isFinite(now) ? now : Date.now());
    }
  };
}

/** The verification options checked once at creation (so mistakes surface at start-up); returns the service code. */
function probeOptions(options: TransactionVerifyOptions): string {
  const { sc, mode } = checkTransactionOptions(options);
  if (typeof options.clients === 'object') {
    const needs = mode === 'symmetric' ? 'clientSecret' : 'publicKey';
    for (const [partnerId, client] of Object.entries(options.clients)) {
      if (typeof client !== 'object' || client === null || (client as Record<string, unknown>)[needs] === undefined) {
        throw new TypeError(`${FN}: client ${JSON.stringify(partnerId)} needs a ${needs} for ${mode} signatures`);
      }
    }
  }
  return sc;
}
