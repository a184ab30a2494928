/**
 * The endpoints after the token (CVS inquiry and payment): request object in, response
 * object out, never throws. The merchant's own code gets the verified call and returns the
 * business response body.
 * @module
 */
import { KeyImportError, toPublicKey } from '../crypto/keys.js';
import { isSnapError, SnapError } from '../errors.js';
import { externalIdClaim, offsetMinutes } from '../protocol/claim-keys.js';
import { parseResponseCode } from '../response-codes.js';
import { transactionAnswers, type TransactionAnswer, type TransactionAnswers } from './answers.js';
import { sha256Hex } from '../protocol/symmetric.js';
import {
  checkTransactionOptions,
  verifyTransactionRequest,
  type TransactionRequest,
  type TransactionVerifyOptions,
  type VerifiedTransactionRequest,
} from '../protocol/transaction-request.js';
import { formatTimestamp } from '../protocol/timestamp.js';
import type { EndpointResponse, ErrorContext } from './access-token-handler.js';
import { checkClientIds, quoteId, UNSET_HINT, unsetValue } from './config-checks.js';
import { isWellFormedClientKey } from '../protocol/access-token-request.js';
import { readHeaders } from '../protocol/headers.js';
import { CallObserver, checkOnEvent, fieldOf, reasonOf, withReason, type CallEvent, type CallEventOutcome, type CallEventReason, type CallRecord } from './events.js';
import { createMemoryClaimStore, type ClaimStore } from './claim-store.js';
import { tokensOnCrypto } from './token-issuer.js';
import { cryptoOps, type CryptoProvider } from '../crypto/provider.js';
import { createMemoryIdempotencyStore, type IdempotencyStore } from './idempotency-store.js';
import {
  CallLifecycle,
  checkClaimStore,
  FAILED,
  RAN,
  REFUSED,
  registerWindow,
  checkTiming,
  sharedReplayCache,
  sharedStore,
  signatureClaim,
  type ClaimSpec,
  type Hold,
  type IdempotencyHold,
  type StoreTimingOptions,
} from './lifecycle.js';

/**
 * Idempotent answers: the first final answer to a business key is sent again to every retry.
 * @category Inquiry & payment
 */
export interface IdempotencyOptions<Body extends object = Readonly<Record<string, unknown>>> {
  /**
   * The business key of a call, from the verified request: for a payment, NICEPAY's unique
   * id of it, e.g. `({ body }) => body.paymentRequestId`. A string of any length, or a
   * number or bigint (its decimal text: `12345` and `'12345'` are one key). `undefined`,
   * `null`, `''`, `'undefined'` and `'null'` (an absent field) skip idempotency for that
   * call; so does a number that is not a safe integer (its digits may have been changed by
   * `JSON.parse`; `onError` is told). Anything else (an object, a boolean) is a
   * configuration error: the call is answered `500` and `onError` says why. Sync or async;
   * a throw answers `500`.
   */
  readonly key: (verified: VerifiedTransactionRequest<Body>) => unknown;
  /** Where answers are kept; default one {@link createMemoryIdempotencyStore} per process and service code. Several instances: `createRedisIdempotencyStore`. */
  readonly store?: IdempotencyStore;
  /** How long an answer is kept, seconds; default 86,400 (one day). */
  readonly ttlSeconds?: number;
}

/**
 * The parts of an `AbortSignal` that `handle()` may use. At run time it is the platform's own
 * `AbortSignal` (cast it to pass it on, e.g. to `fetch`); the type is spelled out here so the
 * package's types need neither the DOM library nor `@types/node`.
 * @category Inquiry & payment
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** Why it aborted: a `StoreError`. */
  readonly reason: unknown;
  /** Throws `reason` when aborted. */
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * What `handle()` gets besides the verified call.
 * @category Inquiry & payment
 */
export interface HandleContext {
  /**
   * Aborted when the call's reservations are lost or may have lapsed while `handle()` runs
   * (the store went away for longer than `pendingTtlSeconds`, or lost a key): from then on
   * NICEPAY's retry could be let through elsewhere. A slow `handle()` checks
   * `signal.aborted` (or passes the signal on) before it commits a payment; throwing then
   * answers `500` and releases the call (`signal.throwIfAborted()` does that). Its `reason`
   * is a `StoreError`.
   */
  readonly signal: AbortSignalLike;
  /**
   * Answers for this endpoint's service code: `answer.ok({ ...fields })` and
   * `answer.fail('paid-bill')`, `answer.fail('bill-not-found', 'unknown payment code')`, ...
   * (see {@link BusinessRefusal}).
   */
  readonly answer: TransactionAnswers;
}

/**
 * Options of {@link createTransactionHandler}.
 * @category Inquiry & payment
 */
export interface TransactionHandlerOptions<Body extends object = Readonly<Record<string, unknown>>> extends Omit<TransactionVerifyOptions, 'now'>, StoreTimingOptions {
  /**
   * Your business logic: gets the verified call (its parsed `body` included) and a
   * {@link HandleContext} (`signal`), and returns the response body, e.g.
   * `{ responseCode: '2004700', responseMessage: 'Successful', ... }`. The `responseCode` is
   * required: a seven-digit string whose first three digits are the HTTP status (2xx, 4xx
   * or 5xx). A 2xx or 4xx answer is final (its claims are kept); a 5xx answer or a throw
   * releases them, so NICEPAY's retry runs `handle` again; an answer that cannot be sent is
   * a `500` that keeps the `X-EXTERNAL-ID` (your code ran). Bigints are sent as digits.
   */
  readonly handle: (request: VerifiedTransactionRequest<Body>, context: HandleContext) => TransactionAnswer | Promise<TransactionAnswer>;
  /** Clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
  /** Offset of the `X-TIMESTAMP` response header; default `"+07:00"`. */
  readonly timestampOffset?: string;
  /**
   * Called with every failure (the internal error behind a 500 included). Errors it throws
   * are ignored. Without it, a 5xx and a store failure are printed to `console.error`, once
   * per cause (this package's own message, or of an error your code threw only its class:
   * nothing secret).
   */
  readonly onError?: (error: unknown, context: ErrorContext) => void | Promise<void>;
  /**
   * Called once per call, success included, with its {@link CallEvent} (status,
   * `responseCode`, a stable `reason` for refusals and failures, `outcome`, `client`,
   * `externalId`, `latencyMs`; never a token, a signature, a secret or the body), once the
   * answer is computed and its claims settled, just before the handler resolves with it. It
   * cannot change the answer: a returned promise is not awaited, and what it throws or
   * rejects goes to `onError` as an {@link OnEventError} (without `onError`, to
   * `console.error` once per cause). Keep it fast: a synchronous hook delays the answer by
   * its own run time (pino's `logger.info` does not block). The event's `serviceCode` tells
   * inquiry from payment; add your own label in the hook if you like:
   * `(event) => logger.info({ ...event, route: 'payment' }, 'nicepay call')`.
   */
  readonly onEvent?: (event: CallEvent) => void | Promise<void>;
  /**
   * The signature replay guard: `(client, X-TIMESTAMP, X-SIGNATURE)` is accepted once
   * within the clock window, across every endpoint that shares the store. Default: the
   * process's own in-memory store, shared by every handler not given one (the access-token
   * handler's too). Several instances: one shared store (`createRedisClaimStore`) for all
   * endpoints. `false` turns the guard off.
   */
  readonly replayCache?: ClaimStore | false;
  /**
   * `X-EXTERNAL-ID` once per client per calendar day (a repeat is `409 Conflict`). Default:
   * one in-memory store per process and service code (the id is unique per endpoint, and
   * every handler of that endpoint shares it); give the inquiry and payment handlers one
   * store to make it unique across both. Several instances: `createRedisClaimStore`.
   * `false` turns the check off.
   */
  readonly externalIds?: ClaimStore | false;
  /** Offset whose calendar day (of `X-TIMESTAMP`) scopes `X-EXTERNAL-ID` uniqueness; default `"+07:00"` (Jakarta). */
  readonly dayOffset?: string;
  /** Idempotent answers (recommended for payments): see {@link IdempotencyOptions}. Off by default. */
  readonly idempotency?: IdempotencyOptions<Body>;
}

/**
 * A transaction endpoint: call it with each request.
 * @category Inquiry & payment
 */
export type TransactionHandler = (request: TransactionRequest) => Promise<EndpointResponse>;

const FN = 'createTransactionHandler';
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** The merchant's own code threw: answered `500 General Error`; `onError` gets `cause`, the error as thrown. */
class MerchantCodeFailure extends SnapError {
  constructor(what: string, serviceCode: string, cause: unknown) {
    super('GENERAL_ERROR', { serviceCode, detail: `${what} failed`, cause });
    withReason(this, what === 'handle()' ? 'HANDLE_FAILED' : 'CALLBACK_FAILED');
  }
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';

/**
 * Runs one of the merchant's lookups given to the verification (`clients`, `tokens`), sync or
 * async: what it throws or rejects becomes a 500 whose event reason is `CALLBACK_FAILED`,
 * except a `SnapError`, which is answered as it is (as before).
 */
function guarded<T>(what: string, serviceCode: string, f: () => T): T {
  const wrap = (cause: unknown): unknown => (isSnapError(cause) ? cause : new MerchantCodeFailure(what, serviceCode, cause));
  let result: T;
  try {
    result = f();
  } catch (cause) {
    throw wrap(cause);
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(undefined, (cause: unknown) => {
      throw wrap(cause);
    }) as T;
  }
  return result;
}

/** {@link guarded} for a function that answers synchronously (`channelId`, `tokens.verify`, the clock): its result is not touched. */
function guardedSync<T>(what: string, serviceCode: string, f: () => T): T {
  try {
    return f();
  } catch (cause) {
    throw isSnapError(cause) ? cause : new MerchantCodeFailure(what, serviceCode, cause);
  }
}

/** Runs the merchant's code; whatever it throws becomes a 500 General Error with the cause kept. */
async function merchantCode<T>(what: string, serviceCode: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (cause) {
    throw new MerchantCodeFailure(what, serviceCode, cause);
  }
}

/**
 * Create a CVS inquiry or payment endpoint. Each request is verified with
 * {@link verifyTransactionRequest}; then the call's claims are reserved (the signature
 * replay guard, `X-EXTERNAL-ID` once per client per day, and the idempotency key when
 * configured), a verified call goes to your `handle`, and the claims follow its answer:
 * **kept** for a final answer (2xx, 4xx), **released** for a 5xx answer or a throw, so a
 * failed call leaves no trace and NICEPAY's retry is processed. A duplicate of a call in
 * flight is `409` and never reaches `handle`.
 *
 * Every answer has `Content-Type: application/json` and `X-TIMESTAMP`. Every failure is its
 * SNAP answer for the endpoint's `serviceCode`; a method other than POST is `405 / 405xx00`;
 * an error in your own code (`handle`, lookups) or a store that fails or does not answer
 * within `storeTimeoutMs` is `500 / 500xx00 General Error`, with nothing of it in the
 * response (it goes to `onError`; without it, to `console.error`, once per cause). Never
 * throws or rejects. Each call, whatever its answer, gives `onEvent` one {@link CallEvent}.
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options, among them what an
 * unset environment variable makes: `client "IONPAYTEST": the client is undefined (an unset
 * environment variable?)`, `client "IONPAYTEST": the clientSecret is undefined (an unset
 * environment variable?)`, a client id `"undefined"`, an empty `clients`.
 * @throws {@link KeyImportError} at creation for a client's `publicKey` that cannot be
 * imported, naming the client.
 *
 * @example
 * ```ts
 * import { createAccessTokenIssuer, createTransactionHandler } from 'nicepay-nico';
 *
 * const payment = createTransactionHandler({
 *   serviceCode: '48', // the CVS payment service code NICEPAY gave you
 *   clients: { IONPAYTEST: { clientSecret: process.env.NICEPAY_CLIENT_SECRET! } },
 *   tokens: createAccessTokenIssuer({ secret: process.env.TOKEN_SECRET! }),
 *   idempotency: { key: ({ body }) => body.paymentRequestId },
 *   handle: async ({ body }) => ({ responseCode: '2004800', responseMessage: 'Successful', ...(await markPaid(body)) }),
 * });
 * // node:http, the raw body collected as a string or Buffer:
 * const { status, headers, body } = await payment({ method: req.method!, path: req.url!, headers: req.headers, body: rawBody });
 * res.writeHead(status, headers).end(body);
 * ```
 * @category Inquiry & payment
 */
/** The options of {@link createTransactionHandler} that the verification reads. */
const VERIFY_OPTION_KEYS = [
  'serviceCode', 'clients', 'tokens', 'signature', 'clockSkewSeconds', 'maxBodyBytes', 'maxExternalIdLength', 'requireChannelId', 'channelId', 'minModulusBits',
] as const satisfies readonly (keyof TransactionVerifyOptions)[];

export function createTransactionHandler<Body extends object = Readonly<Record<string, unknown>>>(options: TransactionHandlerOptions<Body>): TransactionHandler {
  return transactionHandlerOf(options, undefined);
}

/**
 * {@link createTransactionHandler} with the crypto used when `options.crypto` is not given
 * (the adapters' `nodeCrypto`), without copying `options` (a copy would lose inherited
 * options and getters). @internal
 */
export function transactionHandlerOf<Body extends object = Readonly<Record<string, unknown>>>(
  options: TransactionHandlerOptions<Body>,
  defaultCrypto: CryptoProvider | undefined,
): TransactionHandler {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${FN}: options must be an object`);
  const crypto = options.crypto === undefined ? defaultCrypto : options.crypto; // null is refused, as any non-provider
  cryptoOps(crypto, FN); // a bad provider is named by this function, before the verification's checks
  const { handle, onError, idempotency } = options;
  const onEvent = checkOnEvent(options.onEvent, FN);
  if (typeof handle !== 'function') throw new TypeError(`${FN}: handle(verified) must be a function returning the response body`);
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError(`${FN}: onError must be a function`);
  const clock = options.now ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError(`${FN}: now must be a function returning epoch ms`);
  const offset = options.timestampOffset ?? '+07:00';
  formatTimestamp(0, offset); // validates the offset now
  const dayOffset = options.dayOffset ?? '+07:00';
  offsetMinutes(dayOffset, `${FN}: dayOffset`);
  // The verification's options, read one by one: inherited options and getters (a config
  // class) count as much as own properties, and nothing else is passed on.
  const verifyOnly: Record<string, unknown> = {};
  for (const key of VERIFY_OPTION_KEYS) {
    const value = (options as unknown as Record<string, unknown>)[key];
    if (value !== undefined) verifyOnly[key] = value;
  }
  const verifyOptions = { ...verifyOnly, now: 0, ...(crypto === undefined ? {} : { crypto }) } as unknown as TransactionVerifyOptions;
  const { serviceCode, skewMs, maxExternalIdLength } = probeOptions(verifyOptions);
  const observer = new CallObserver(FN, 'transaction', serviceCode, onEvent, onError);
  // The merchant's functions the verification calls, guarded: a throw is a 500 whose event says CALLBACK_FAILED.
  const { clients, channelId } = verifyOptions;
  // An issuer of this package verifies on the handler's crypto, as every other check of the call.
  const tokens = tokensOnCrypto(verifyOptions.tokens, cryptoOps(crypto, FN));
  /** The configured client secrets (of a `clients` map), which an event must never show, whatever header carries them. */
  const clientSecrets = new Set(
    typeof clients === 'object' && clients !== null
      ? Object.values(clients).flatMap((client) => (typeof client?.clientSecret === 'string' ? [client.clientSecret] : []))
      : [],
  );
  const verifyBase: TransactionVerifyOptions = {
    ...verifyOptions,
    tokens:
      typeof tokens === 'function'
        ? (token: string) => guarded('the tokens lookup', serviceCode, () => tokens(token))
        : { verify: (token: string, at?: number, expected?: string) => guardedSync('tokens.verify()', serviceCode, () => tokens.verify(token, at, expected)) },
    ...(typeof channelId === 'function' ? { channelId: (partnerId: string) => guardedSync('channelId()', serviceCode, () => channelId(partnerId)) } : {}),
  };
  /** The verification options of one call: its clock, and a clients lookup that tells the event the client is known. */
  const verifyOptionsOf = (now: number, call: CallRecord): TransactionVerifyOptions => {
    if (typeof clients !== 'function') return { ...verifyBase, now };
    return {
      ...verifyBase,
      now,
      clients: async (partnerId: string) => {
        const client = await guarded('the clients lookup', serviceCode, () => clients(partnerId));
        if (client !== undefined && client !== null) call.client = partnerId;
        return client;
      },
    };
  };
  /** For the event of a call that failed verification: X-PARTNER-ID when a configured client, X-EXTERNAL-ID when well-formed. */
  const headersOf = (request: TransactionRequest, call: CallRecord): void => {
    try {
      if (typeof request !== 'object' || request === null) return;
      const headers = readHeaders(request.headers, FN);
      const read = (name: string): string | undefined => {
        try {
          return headers.get(name);
        } catch {
          return undefined; // given twice
        }
      };
      const partnerId = read('X-PARTNER-ID');
      if (call.client === null && partnerId !== undefined && isWellFormedClientKey(partnerId) && typeof clients === 'object' && Object.prototype.hasOwnProperty.call(clients, partnerId)) {
        call.client = partnerId;
      }
      const externalId = read('X-EXTERNAL-ID');
      if (call.externalId === null && externalId !== undefined && externalId.length <= maxExternalIdLength && VISIBLE_ASCII.test(externalId)) {
        // Never a credential, even one sent in the wrong header.
        const authorization = read('Authorization');
        const credentials = [read('X-SIGNATURE'), authorization, authorization?.replace(/^Bearer +/i, '')];
        if (!credentials.includes(externalId) && !clientSecrets.has(externalId)) call.externalId = externalId;
      }
    } catch {
      // Headers that cannot be read: the event goes without them.
    }
  };
  const replayCache = checkClaimStore(options.replayCache, 'replayCache', FN) ?? sharedReplayCache();
  if (replayCache) registerWindow(replayCache, skewMs);
  const externalIds = checkClaimStore(options.externalIds, 'externalIds', FN) ?? sharedStore(`externalIds:${serviceCode}`, () => createMemoryClaimStore());
  const idem = checkIdempotency(idempotency, serviceCode);
  const { timeoutMs, pendingSeconds } = checkTiming(options, FN);
  const lifecycle = new CallLifecycle(timeoutMs, pendingSeconds);
  const answers = transactionAnswers(serviceCode);

  const respond = (status: number, body: string, now: number): EndpointResponse => ({
    status,
    headers: { 'Content-Type': 'application/json', 'X-TIMESTAMP': formatTimestamp(now, offset) },
    body,
  });
  /** The answer to a failure, after its one event. */
  const fail = (error: unknown, now: number, call: CallRecord, outcome?: CallEventOutcome): EndpointResponse => {
    const failure = isSnapError(error) ? (error as SnapError).withServiceCode(serviceCode) : new SnapError('GENERAL_ERROR', { serviceCode, cause: error });
    // onError gets the merchant's own error as it was thrown (handle(), idempotency.key(), the lookups).
    observer.report(error instanceof MerchantCodeFailure ? error.cause : error, { status: failure.httpStatus, responseCode: failure.responseCode }, error);
    const status = failure.httpStatus;
    return done(respond(status, JSON.stringify(failure.toResponseBody()), now), call, failure.responseCode, reasonOf(error), fieldOf(failure), outcome ?? (status < 500 ? 'refused' : 'failed'));
  };
  const done = (response: EndpointResponse, call: CallRecord, responseCode: string, reason: CallEventReason | null, field: string | null, outcome: CallEventOutcome): EndpointResponse => {
    observer.end(call, { status: response.status, responseCode, reason, field, outcome });
    return response;
  };

  const claimsOf = (verified: VerifiedTransactionRequest, now: number): ClaimSpec[] => {
    const specs: ClaimSpec[] = [];
    if (replayCache) specs.push(signatureClaim(replayCache, verified.signatureClaimKey, verified.timestamp.epochMs, skewMs, now));
    if (externalIds) {
      const { key, day, endOfDayMs } = externalIdClaim(verified.clientKey, verified.externalId, verified.timestamp, dayOffset);
      specs.push({
        store: externalIds,
        label: 'externalIds',
        key,
        keepSeconds: Math.max(1, Math.ceil((endOfDayMs + skewMs - now) / 1000)),
        keepWhenRefused: false,
        refuse: (state) => {
          const id = `X-EXTERNAL-ID ${JSON.stringify(verified.externalId)} of ${JSON.stringify(verified.clientKey)}`;
          const conflict = new SnapError('CONFLICT', {
            detail: state === 'pending' ? `${id} is in use by a call still being processed; this one was not run` : `${id} was already used on ${day} (X-TIMESTAMP's day at ${dayOffset})`,
          });
          return withReason(conflict, state === 'pending' ? 'IN_FLIGHT' : 'EXTERNAL_ID_CONFLICT');
        },
      });
    }
    return specs;
  };

  return async function handleTransaction(request: TransactionRequest): Promise<EndpointResponse> {
    const call = observer.begin();
    let now = Date.now();
    let holds: Hold[] = [];
    let held: IdempotencyHold | undefined;
    let answer: { status: number; body: string; responseCode: string } | undefined;
    // The answer this call gets, for what onError hears later (a release or keep that fails).
    const answered = { status: 500, responseCode: `500${serviceCode}00` };
    const later = (error: unknown) => observer.report(error, { status: answered.status, responseCode: answered.responseCode });
    try {
      now = guardedSync('now()', serviceCode, clock);
      if (typeof now !== 'number' || !Number.isFinite(now)) throw withReason(new TypeError(`${FN}: now() returned ${String(now)}, not epoch ms`), 'CALLBACK_FAILED');
      if (typeof request !== 'object' || request === null) throw new TypeError(`${FN}: request must be { method, path, headers, body }`);
      if (request.method !== 'POST') {
        throw new SnapError('METHOD_NOT_ALLOWED', { serviceCode, detail: `method ${String(request.method).slice(0, 16)} is not allowed; NICEPAY sends POST` });
      }
      const verified = await verifyTransactionRequest(request, verifyOptionsOf(now, call));
      call.client = verified.clientKey;
      call.clientVerified = true;
      // Never a credential, even one sent as X-EXTERNAL-ID (which no signature covers).
      if (verified.externalId !== verified.accessToken && !clientSecrets.has(verified.externalId)) call.externalId = verified.externalId;
      holds = await lifecycle.reserve(claimsOf(verified, now), later);

      if (idem) {
        const key = idempotencyKey(await merchantCode('idempotency.key()', serviceCode, () => idem.key(verified as VerifiedTransactionRequest<Body>)), later);
        if (key !== undefined) {
          const fingerprint = verified.bodySha256;
          const outcome = await lifecycle.begin({ store: idem.store, key: `idem:${serviceCode}:${verified.clientKey}:${key}`, fingerprint, ttlSeconds: idem.ttlSeconds }, later);
          if ('answer' in outcome) {
            // The same request was answered before: the same answer again, handle() not run.
            answer = { status: outcome.answer.status, body: outcome.answer.body, responseCode: responseCodeOf(outcome.answer.body) };
            call.idempotentReplay = true;
          } else {
            held = outcome.hold;
          }
        }
      }

      if (answer === undefined) {
        const lease = lifecycle.renew(holds, held, later);
        let result: unknown;
        try {
          const context: HandleContext = {
            answer: answers,
            get signal() {
              return lease.signal; // made on first read
            },
          };
          result = await merchantCode('handle()', serviceCode, () => handle(verified as VerifiedTransactionRequest<Body>, context));
        } finally {
          const renewing = lease.stop();
          if (renewing) await renewing;
        }
        answer = checkAnswer(result, serviceCode);
      }
      const { status } = answer;
      answered.status = status;
      answered.responseCode = answer.responseCode;
      // A final answer keeps the claims (and stores the answer); a 5xx releases them.
      await lifecycle.settle(holds, held, status < 500 ? { kind: 'answered', status, body: answer.body } : FAILED, later);
      return done(respond(status, answer.body, now), call, answer.responseCode, null, null, status < 500 ? 'answered' : 'failed');
    } catch (error) {
      if (!call.clientVerified) headersOf(request, call);
      if (error instanceof InvalidAnswerError) {
        // handle() returned, so the merchant's code ran (it may have committed): the call
        // keeps its X-EXTERNAL-ID and signature, never to run twice; there is no answer to store.
        await lifecycle.settle(holds, held, RAN, later);
        return fail(error, now, call, 'ran');
      }
      if (holds.length > 0 || held) {
        // A guard's refusal (409 in flight, 404xx18) spends the signature; anything else releases all.
        const refused = isSnapError(error) && (error as SnapError).httpStatus < 500;
        answered.status = refused ? (error as SnapError).httpStatus : 500;
        answered.responseCode = refused ? (error as SnapError).withServiceCode(serviceCode).responseCode : `500${serviceCode}00`;
        await lifecycle.settle(holds, held, refused ? REFUSED : FAILED, later);
      }
      return fail(error, Number.isFinite(now) ? now : Date.now(), call);
    }
  };
}

/**
 * The idempotency key as stored: `s:<key>`, or `h:<SHA-256 hex>` for a key over 200
 * characters (so any length works and the two forms never meet). `undefined` skips
 * idempotency: an absent value, `''`, and the strings `'undefined'` and `'null'` (what
 * `String()` makes of an absent field). A number is its decimal text (`12345` and
 * `'12345'` are one key); a number that is not a safe integer skips (its digits were lost
 * when the body was parsed), reported through `report`.
 * @throws {TypeError} for a value that cannot be a key (an object, a boolean).
 */
function idempotencyKey(value: unknown, report: (error: unknown) => void): string | undefined {
  if (value === undefined || value === null || value === '' || value === 'undefined' || value === 'null') return undefined;
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    report(
      new TypeError(
        `${FN}: idempotency.key() returned the number ${String(value)}, which is not a safe integer: JSON.parse may have changed its digits, ` +
          'so idempotency is skipped for this call. Return the field as a string (or an id that fits in 2^53).',
      ),
    );
    return undefined;
  }
  const key = typeof value === 'string' ? value : typeof value === 'bigint' || typeof value === 'number' ? String(value) : undefined;
  if (key === undefined) {
    throw new TypeError(
      `${FN}: idempotency.key() returned ${Array.isArray(value) ? 'an array' : typeof value}; ` +
        'it must return a string or a number (say body.paymentRequestId), or undefined to skip idempotency for the call',
    );
  }
  return key.length > 200 ? `h:${sha256Hex(key)}` : `s:${key}`;
}

/** An answer of `handle()` that cannot be sent: a programming error, named for `onError`. */
class InvalidAnswerError extends TypeError {
  override readonly name = 'InvalidAnswerError';
  constructor(message: string) {
    super(message);
    withReason(this, 'INVALID_ANSWER');
  }
}

/**
 * `handle()`'s result as an answer to send: an object whose `responseCode` is a seven-digit
 * string of the SNAP table with a 2xx, 4xx or 5xx HTTP part and the endpoint's service
 * code, and whose `responseMessage` is a string of at most 150 characters (when absent, the
 * SNAP table's message for the code is added, unless it has a part to fill), serialised as
 * JSON (bigints as digits).
 * @throws {InvalidAnswerError} naming the mistake and the fix.
 */
function checkAnswer(result: unknown, serviceCode: string): { status: number; body: string; responseCode: string } {
  const invalid = (what: string) =>
    new InvalidAnswerError(
      `${FN}: handle() returned ${what}; it must return the response body, an object with a seven-digit string responseCode ` +
        "whose first three digits are its HTTP status (2xx, 4xx or 5xx), e.g. { responseCode: '2004800', responseMessage: 'Successful', ... }. " +
        'NICEPAY was answered 500; the call keeps its X-EXTERNAL-ID (your code ran), so it is not run again under that id.',
    );
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw invalid(result === null ? 'null' : Array.isArray(result) ? 'an array' : typeof result);
  }
  // The checks read what NICEPAY would get (the serialised body: own enumerable fields,
  // after any toJSON), never the object's own view of itself.
  let body: string | undefined;
  try {
    try {
      body = JSON.stringify(result);
    } catch {
      // A bigint (JSON.stringify refuses it) is sent as its digits; a replacer costs every
      // answer a call per value, so it runs only for the answers that need it.
      body = JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    }
  } catch (error) {
    throw invalid(`a body that cannot be serialised as JSON (${error instanceof Error ? error.message.slice(0, 80) : 'error'})`);
  }
  if (typeof body !== 'string' || !body.startsWith('{')) throw invalid('a body that does not serialise to a JSON object');
  const sent = JSON.parse(body) as { responseCode?: unknown; responseMessage?: unknown };
  const code = sent.responseCode;
  if (typeof code !== 'string' || !/^[245][0-9]{6}$/.test(code)) {
    throw invalid(code === undefined ? 'an answer without responseCode' : `responseCode ${typeof code === 'string' ? JSON.stringify(code.slice(0, 12)) : `as a ${typeof code}`}`);
  }
  if (code.slice(3, 5) !== serviceCode) {
    throw invalid(`responseCode ${code}, whose service code ${code.slice(3, 5)} is not this endpoint's (${serviceCode}): was it answered by the other endpoint's code?`);
  }
  let snapMessage: string;
  try {
    snapMessage = parseResponseCode(code).message;
  } catch {
    throw invalid(`responseCode ${code}, which is not in the SNAP table (HTTP ${code.slice(0, 3)} has no case code ${code.slice(5, 7)}; see SNAP_RESPONSE_CODES)`);
  }
  const message = sent.responseMessage;
  if (message === undefined && /[[{]/.test(snapMessage)) {
    throw invalid(`responseCode ${code} without a responseMessage; its SNAP message has a part to fill ("${snapMessage}"): give responseMessage, e.g. with snapResponse()`);
  }
  if (message !== undefined && (typeof message !== 'string' || message.length > 150)) {
    throw invalid(typeof message === 'string' ? `a responseMessage of ${message.length} characters (SNAP allows 150)` : `responseMessage as a ${typeof message}`);
  }
  // No responseMessage: the SNAP table's own for the code (one without a part to fill), appended as text.
  if (message === undefined) body = `${body.slice(0, -1)}${body === '{}' ? '' : ','}"responseMessage":${JSON.stringify(snapMessage)}}`;
  return { status: Number(code.slice(0, 3)), body, responseCode: code };
}

/** The `responseCode` of a JSON answer, or `''`. */
function responseCodeOf(body: string): string {
  try {
    const code = (JSON.parse(body) as { responseCode?: unknown }).responseCode;
    return typeof code === 'string' ? code : '';
  } catch {
    return '';
  }
}

function checkIdempotency<Body extends object>(idempotency: IdempotencyOptions<Body> | undefined, serviceCode: string): { key: IdempotencyOptions<Body>['key']; store: IdempotencyStore; ttlSeconds: number } | undefined {
  if (idempotency === undefined) return undefined;
  if (typeof idempotency !== 'object' || idempotency === null || typeof idempotency.key !== 'function') {
    throw new TypeError(`${FN}: idempotency must be { key(verified), store?, ttlSeconds? }, e.g. { key: ({ body }) => body.paymentRequestId }`);
  }
  const store = idempotency.store ?? sharedStore(`idempotency:${serviceCode}`, () => createMemoryIdempotencyStore());
  for (const method of ['begin', 'complete', 'release'] as const) {
    if (typeof (store as unknown as Record<string, unknown>)[method] !== 'function') {
      throw new TypeError(`${FN}: idempotency.store must have begin, complete and release (createMemoryIdempotencyStore, createRedisIdempotencyStore)`);
    }
  }
  const ttlSeconds = idempotency.ttlSeconds ?? 86_400;
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 1e9) {
    throw new TypeError(`${FN}: idempotency.ttlSeconds must be a number of seconds, at least 1`);
  }
  return { key: idempotency.key, store, ttlSeconds };
}

/** The verification options checked once at creation (so mistakes surface at start-up); returns the service code. */
function probeOptions(options: TransactionVerifyOptions): { serviceCode: string; skewMs: number; maxExternalIdLength: number } {
  const { sc, mode, skewMs, maxExternalIdLength } = checkTransactionOptions(options);
  if (typeof options.clients === 'object') {
    checkClientIds(options.clients, FN, 'X-PARTNER-ID');
    for (const [partnerId, client] of Object.entries(options.clients)) {
      if (client === undefined) {
        throw new TypeError(`${FN}: client ${quoteId(partnerId)}: the client is undefined ${UNSET_HINT}; it must be { clientSecret?, publicKey? }`);
      }
      if (typeof client !== 'object' || client === null) {
        throw new TypeError(`${FN}: client ${JSON.stringify(partnerId)} must be { clientSecret?, publicKey? }, got ${client === null ? 'null' : typeof client}`);
      }
      // { clientSecret: process.env.NICEPAY_CLIENT_SECRET } with the variable unset (or set to nothing).
      for (const name of ['clientSecret', 'publicKey'] as const) {
        if (!Object.prototype.hasOwnProperty.call(client, name)) continue;
        const unset = unsetValue((client as Record<string, unknown>)[name]);
        if (unset !== undefined) throw new TypeError(`${FN}: client ${quoteId(partnerId)}: the ${name} is ${unset} ${UNSET_HINT}`);
      }
      if (client.clientSecret !== undefined && typeof client.clientSecret !== 'string') {
        throw new TypeError(`${FN}: client ${quoteId(partnerId)}: the clientSecret must be a string (its UTF-8 bytes are the HMAC key), got ${typeof client.clientSecret}`);
      }
      // A secret read from a file keeps its final line break, and no NICEPAY signature would ever verify.
      if (typeof client.clientSecret === 'string' && client.clientSecret !== client.clientSecret.trim()) {
        throw new TypeError(
          `${FN}: client ${quoteId(partnerId)}: the clientSecret starts or ends with whitespace (a line break read from a file?); its exact UTF-8 bytes are the HMAC key, so no signature would verify: trim it`,
        );
      }
      if (mode === 'auto') {
        if (client.clientSecret === undefined && client.publicKey === undefined) {
          throw new TypeError(`${FN}: client ${JSON.stringify(partnerId)} needs a clientSecret (HMAC-SHA512 signatures) or a publicKey (SHA256withRSA), or both`);
        }
      } else {
        const needs = mode === 'symmetric' ? 'clientSecret' : 'publicKey';
        if ((client as unknown as Record<string, unknown>)[needs] === undefined) {
          throw new TypeError(`${FN}: client ${JSON.stringify(partnerId)} needs a ${needs} for ${mode} signatures`);
        }
      }
      // A public key is imported and checked now (KeyImportError at start-up, not a 500 on every call).
      if (client.publicKey !== undefined) {
        try {
          toPublicKey(client.publicKey, options.minModulusBits === undefined ? {} : { minModulusBits: options.minModulusBits }, FN);
        } catch (error) {
          if (!(error instanceof KeyImportError)) throw error;
          throw new KeyImportError(error.code, `${FN}: the publicKey of client ${JSON.stringify(partnerId)}: ${error.message}`, { cause: error });
        }
      }
    }
  }
  return { serviceCode: sc, skewMs, maxExternalIdLength };
}
