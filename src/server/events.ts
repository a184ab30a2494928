/**
 * Observability: one structured {@link CallEvent} per call through the handlers' `onEvent`
 * option, and the console fallback that makes a `500` visible when no `onError` is given.
 * @module
 */
import { kindOf } from '../crypto/bytes.js';
import { isSnapError, SNAP_ERROR_TABLE } from '../errors.js';
import { isStoreError } from './store-error.js';

/**
 * Which handler answered: `'access-token'` ({@link createAccessTokenHandler}, service code
 * `73`) or `'transaction'` ({@link createTransactionHandler}: CVS inquiry or payment, told
 * apart by the event's `serviceCode`, the one you configured).
 * @category Events
 */
export type CallEventEndpoint = 'access-token' | 'transaction';

/**
 * Why the library refused or failed a call: a stable code for dashboards and alerts.
 * `null` in an event means the answer is the success (a token issued) or your own code's
 * answer (`handle()`'s 2xx, 4xx or 5xx, or the stored idempotent answer).
 *
 * Refusals (4xx; `handle()` did not run). The {@link SnapErrorCode} of the same name:
 * - `'METHOD_NOT_ALLOWED'` (405), `'MISSING_MANDATORY_FIELD'`, `'INVALID_FIELD_FORMAT'`
 *   (400, the event's `field` names the header or body field), `'BAD_REQUEST'`,
 *   `'BODY_TOO_LARGE'` (400);
 * - `'INVALID_TOKEN'`, `'TOKEN_NOT_FOUND'`, `'UNKNOWN_CLIENT'`, `'TIMESTAMP_OUT_OF_WINDOW'`,
 *   `'INVALID_SIGNATURE'`, `'REPLAYED_REQUEST'` (the signature was already answered) (401);
 * - `'INCONSISTENT_REQUEST'` (404xx18: the idempotency key was answered for another body).
 *
 * The two kinds of `409 Conflict` (SnapError code `CONFLICT`), told apart:
 * - `'EXTERNAL_ID_CONFLICT'`: the `X-EXTERNAL-ID` was already used by this client on
 *   `X-TIMESTAMP`'s day;
 * - `'IN_FLIGHT'`: the same signature, `X-EXTERNAL-ID` or idempotency key is held by a call
 *   still being processed.
 *
 * Failures (500 General Error; NICEPAY retries):
 * - `'STORE_TIMEOUT'`, `'STORE_FULL'`, `'STORE_FAILED'`: a store (the {@link StoreErrorCode}
 *   of the same name), also when it reached your `handle()` through its aborted `signal`;
 * - `'HANDLE_FAILED'`: your `handle()` threw or rejected;
 * - `'INVALID_ANSWER'`: your `handle()` returned an answer that cannot be sent (it ran: the
 *   call's claims are kept);
 * - `'CALLBACK_FAILED'`: another function of yours threw or returned what it must not: the
 *   `clients` or `tokens` lookup, `tokens.verify`, `issueToken`, `channelId`,
 *   `idempotency.key()`, `now`;
 * - `'GENERAL_ERROR'`: anything else, a programming error: a parsed body instead of the
 *   raw one, a request that is not `{ method, path, headers, body }`, bad options given to
 *   `handleAccessTokenRequest`.
 * @category Events
 */
export type CallEventReason =
  | 'METHOD_NOT_ALLOWED'
  | 'MISSING_MANDATORY_FIELD'
  | 'INVALID_FIELD_FORMAT'
  | 'BAD_REQUEST'
  | 'BODY_TOO_LARGE'
  | 'INVALID_TOKEN'
  | 'TOKEN_NOT_FOUND'
  | 'UNKNOWN_CLIENT'
  | 'TIMESTAMP_OUT_OF_WINDOW'
  | 'INVALID_SIGNATURE'
  | 'REPLAYED_REQUEST'
  | 'EXTERNAL_ID_CONFLICT'
  | 'IN_FLIGHT'
  | 'INCONSISTENT_REQUEST'
  | 'STORE_TIMEOUT'
  | 'STORE_FULL'
  | 'STORE_FAILED'
  | 'HANDLE_FAILED'
  | 'INVALID_ANSWER'
  | 'CALLBACK_FAILED'
  | 'GENERAL_ERROR';

/**
 * Every {@link CallEventReason}, in the order documented there.
 * @category Events
 */
export const CALL_EVENT_REASONS: readonly CallEventReason[] = /* @__PURE__ */ Object.freeze([
  'METHOD_NOT_ALLOWED',
  'MISSING_MANDATORY_FIELD',
  'INVALID_FIELD_FORMAT',
  'BAD_REQUEST',
  'BODY_TOO_LARGE',
  'INVALID_TOKEN',
  'TOKEN_NOT_FOUND',
  'UNKNOWN_CLIENT',
  'TIMESTAMP_OUT_OF_WINDOW',
  'INVALID_SIGNATURE',
  'REPLAYED_REQUEST',
  'EXTERNAL_ID_CONFLICT',
  'IN_FLIGHT',
  'INCONSISTENT_REQUEST',
  'STORE_TIMEOUT',
  'STORE_FULL',
  'STORE_FAILED',
  'HANDLE_FAILED',
  'INVALID_ANSWER',
  'CALLBACK_FAILED',
  'GENERAL_ERROR',
] as const);

/**
 * What became of a call (the money-path lifecycle, see the README's "Money safety"):
 * - `'answered'`: a final answer, the token issued or your `handle()`'s 2xx or 4xx (or the
 *   stored idempotent answer sent again): the call's claims are kept, it is never processed again;
 * - `'refused'`: refused by a check or a guard (every 4xx of the library), `handle()` not
 *   run; nothing is kept but, after the signature verified, the spent signature;
 * - `'failed'`: a 5xx (your `handle()`'s own 5xx, a throw, a store failure, a programming
 *   error): every claim is released, so NICEPAY's retry is processed;
 * - `'ran'`: your `handle()` ran but its answer could not be sent (`500`,
 *   `'INVALID_ANSWER'`): the claims are kept, so it is not run again.
 * @category Events
 */
export type CallEventOutcome = 'answered' | 'refused' | 'failed' | 'ran';

/**
 * One event per call to a handler, success included, given to its `onEvent` once the answer
 * is computed. Plain data, JSON-serialisable, built fresh for each call.
 *
 * It never holds a token, a signature, a secret, a key or anything of the body: only the
 * fields below. `client` and `externalId` are header values, and are given only when
 * well-formed (and, for `client`, a configured client), so that text a caller put in the
 * wrong header never reaches your logs.
 *
 * @example
 * ```ts
 * {
 *   endpoint: 'transaction', serviceCode: '48', status: 409, responseCode: '4094800',
 *   reason: 'EXTERNAL_ID_CONFLICT', field: null, outcome: 'refused',
 *   client: 'IONPAYTEST', clientVerified: true, externalId: '41807553358950093184162180797837',
 *   idempotentReplay: false, latencyMs: 0.412,
 * }
 * ```
 * @category Events
 */
export interface CallEvent {
  /** Which handler answered (see {@link CallEventEndpoint}). */
  readonly endpoint: CallEventEndpoint;
  /** The endpoint's two-digit SNAP service code: `'73'` for the access token, the configured `serviceCode` otherwise. */
  readonly serviceCode: string;
  /** The HTTP status answered. */
  readonly status: number;
  /** The SNAP `responseCode` answered, seven digits, e.g. `'2007300'`, `'4014800'`. */
  readonly responseCode: string;
  /** Why the library refused or failed the call; `null` for a success or your own code's answer (see {@link CallEventReason}). */
  readonly reason: CallEventReason | null;
  /** The header or body field at fault (`'X-TIMESTAMP'`, `'grantType'`, ...) for `MISSING_MANDATORY_FIELD` and `INVALID_FIELD_FORMAT`; else `null`. */
  readonly field: string | null;
  /** What became of the call (see {@link CallEventOutcome}). */
  readonly outcome: CallEventOutcome;
  /**
   * The client: `X-CLIENT-KEY` (access token) or `X-PARTNER-ID` (inquiry, payment), when
   * present, well-formed (1-128 visible ASCII characters without `|` or `,`) and a
   * configured client (for a `clients` function: one it returned a key or client for in
   * this call); else `null`. An unknown client key is never given: it is the caller's text.
   */
  readonly client: string | null;
  /** `true` once the call passed verification (token, clock and signature): `client` is then authenticated, not only claimed. */
  readonly clientVerified: boolean;
  /** `X-EXTERNAL-ID` when present and well-formed (1 to `maxExternalIdLength` visible ASCII characters); always `null` for the access token. */
  readonly externalId: string | null;
  /** `true` when the answer is the one stored for the idempotency key, sent again without running `handle()`. */
  readonly idempotentReplay: boolean;
  /**
   * Milliseconds from the handler's call (the adapters call it once the body is read) to
   * the answer, claims settled; fractional (`performance.now()`, rounded to 0.001 ms).
   */
  readonly latencyMs: number;
}

/**
 * What `onError` gets when the `onEvent` hook threw or rejected: the answer was not
 * changed; `cause` is what the hook threw.
 * @category Errors
 */
export class OnEventError extends Error {
  override readonly name = 'OnEventError';
}

/** `onError`'s context: the answer of the call. */
interface AnswerContext {
  readonly status: number;
  readonly responseCode: string;
}

type OnEvent = (event: CallEvent) => unknown;
type OnError = (error: unknown, context: AnswerContext) => unknown;

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';

/** Reasons set on errors where they are made (a `CONFLICT` is told apart only there). */
const marks = /* @__PURE__ */ new WeakMap<object, CallEventReason>();

/** Mark `error` with the event reason it stands for. Returns `error`. @internal */
export function withReason<E extends object>(error: E, reason: CallEventReason): E {
  marks.set(error, reason);
  return error;
}

const storeReason = (error: { code?: unknown }): CallEventReason =>
  error.code === 'STORE_TIMEOUT' || error.code === 'STORE_FULL' ? error.code : 'STORE_FAILED';

/** The event reason of an error a handler answered. @internal */
export function reasonOf(error: unknown): CallEventReason {
  if (typeof error !== 'object' || error === null) return 'GENERAL_ERROR';
  const marked = marks.get(error);
  if (marked !== undefined) {
    // Your code rethrew a store's failure (say signal.throwIfAborted()): the store is the cause.
    const cause = (error as { cause?: unknown }).cause;
    if ((marked === 'HANDLE_FAILED' || marked === 'CALLBACK_FAILED') && isStoreError(cause)) return storeReason(cause);
    return marked;
  }
  if (isStoreError(error)) return storeReason(error);
  if (isSnapError(error)) {
    const code = (error as { code?: unknown }).code;
    if (code === 'CONFLICT') return 'IN_FLIGHT';
    if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(SNAP_ERROR_TABLE, code) && (CALL_EVENT_REASONS as readonly string[]).includes(code)) {
      return code as CallEventReason;
    }
  }
  return 'GENERAL_ERROR';
}

/** The `field` of a SnapError, for the event. @internal */
export function fieldOf(error: unknown): string | null {
  if (!isSnapError(error)) return null;
  const field = (error as { field?: unknown }).field;
  return typeof field === 'string' ? field : null;
}

/** The outcome of a refusal or failure the library answered (`status` its HTTP status). @internal */
export const outcomeOfStatus = (status: number): CallEventOutcome => (status < 300 ? 'answered' : status < 500 ? 'refused' : 'failed');

const clock = (): number => (typeof performance !== 'undefined' && typeof performance.now === 'function' ? performance.now() : Date.now());

/** What a handler learns about a call as it goes, for its event. @internal */
export interface CallRecord {
  readonly startedAt: number;
  client: string | null;
  clientVerified: boolean;
  externalId: string | null;
  idempotentReplay: boolean;
}

/** How a call was answered, for its event. @internal */
export interface CallAnswer {
  readonly status: number;
  readonly responseCode: string;
  readonly reason: CallEventReason | null;
  readonly field: string | null;
  readonly outcome: CallEventOutcome;
}

const MAX_PRINTED = 64;
const MAX_DESCRIPTION = 600;

/** The causes printed so far, for the whole process (a handler created per request must not print per request). */
const printed = /* @__PURE__ */ new Set<string>();

/**
 * Prints a failure to `console.error`, once per cause (the function, its answer, the reason
 * and the description) for the whole process, at most {@link MAX_PRINTED} causes. Only this
 * package's own messages are printed (they never hold a secret); of an error your code
 * threw, only its class. @internal
 */
export class ConsoleOnce {
  constructor(private readonly fn: string) {}

  print(error: unknown, context: AnswerContext, reason: CallEventReason | 'ON_EVENT'): void {
    try {
      const description = describe(error);
      const key = `${this.fn}|${context.status}|${context.responseCode}|${reason}|${description}`;
      if (printed.has(key) || printed.size > MAX_PRINTED) return;
      printed.add(key);
      const last = printed.size > MAX_PRINTED;
      const console = (globalThis as { console?: { error?: (...args: unknown[]) => void } }).console;
      console?.error?.(
        last
          ? `nicepay-nico: ${this.fn}: more than ${MAX_PRINTED} causes of failure; no more are printed. Give onError(error, context) to see every failure.`
          : `nicepay-nico: ${this.fn} answered ${context.status} ${context.responseCode} (${reason}): ${description}${description.endsWith('.') ? '' : '.'} ` +
              'Each cause is printed once; give onError(error, context) to see every failure.',
      );
    } catch {
      // Printing must never change the answer.
    }
  }
}

/** What to print of an error: this package's message; of someone else's error, its class only. */
function describe(error: unknown): string {
  const marked = typeof error === 'object' && error !== null ? marks.get(error) : undefined;
  const cause = typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  if (marked === 'HANDLE_FAILED' || marked === 'CALLBACK_FAILED' || error instanceof OnEventError) {
    // Your code's error: its message is yours and may hold anything, so only its class is printed.
    const what = error instanceof Error ? error.message : 'your code failed';
    if (cause === undefined && error instanceof Error && !(error instanceof OnEventError)) return clip(what); // this package's own message
    const inner = isStoreError(cause) ? `a StoreError ${String((cause as { code?: unknown }).code)}: ${String((cause as Error).message)}` : classOf(cause);
    return clip(`${what}: it threw ${inner}`);
  }
  if (error instanceof Error || isSnapError(error) || isStoreError(error)) {
    const e = error as Error & { code?: unknown };
    // A store's own error (the Redis client's, say) is not this package's: its class only.
    const storeCause = isStoreError(error) && cause instanceof Error && !isStoreError(cause) ? ` (cause: ${classOf(cause)})` : '';
    return clip(`${e.name}${typeof e.code === 'string' ? ` ${e.code}` : ''}: ${e.message}${storeCause}`);
  }
  return `a thrown ${kindOf(error)}`;
}

function classOf(value: unknown): string {
  if (value instanceof Error) return `${/^[AEIOU]/.test(value.name) ? 'an' : 'a'} ${value.name} (its message is not printed: give onError to see it)`;
  return kindOf(value);
}

const clip = (text: string): string => (text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION)}...` : text);

/**
 * A handler's observers: `onEvent` once per call, `onError` for every failure (or the
 * console, once per cause, for a 5xx or a store failure when there is no `onError`).
 * Neither can change an answer or throw into the handler. @internal
 */
export class CallObserver {
  private readonly console: ConsoleOnce;

  constructor(
    fn: string,
    private readonly endpoint: CallEventEndpoint,
    private readonly serviceCode: string,
    private readonly onEvent: OnEvent | undefined,
    private readonly onError: OnError | undefined,
    printer?: ConsoleOnce,
  ) {
    this.console = printer ?? new ConsoleOnce(fn);
  }

  /** A call begins (its latency counts from here). */
  begin(): CallRecord {
    return { startedAt: clock(), client: null, clientVerified: false, externalId: null, idempotentReplay: false };
  }

  /**
   * A failure: to `onError` as `error`; without `onError`, printed once per cause when the
   * answer is a 5xx or the failure a store's. `source` is the error as the handler holds
   * it (your code's error wrapped), for the reason and the printed description.
   */
  report(error: unknown, context: AnswerContext, source: unknown = error): void {
    if (this.onError) {
      try {
        const result = this.onError(error, context);
        if (isThenable(result)) (result as Promise<unknown>).then(undefined, () => undefined);
      } catch {
        // An observer must not change the answer.
      }
      return;
    }
    if (context.status >= 500 || isStoreError(source)) this.console.print(source, context, reasonOf(source));
  }

  /** The call was answered: its one event. Never throws. */
  end(record: CallRecord, answer: CallAnswer): void {
    const onEvent = this.onEvent;
    if (!onEvent) return;
    let event: CallEvent;
    try {
      event = {
        endpoint: this.endpoint,
        serviceCode: this.serviceCode,
        status: answer.status,
        responseCode: answer.responseCode,
        reason: answer.reason,
        field: answer.field,
        outcome: answer.outcome,
        client: record.client,
        clientVerified: record.clientVerified,
        externalId: record.externalId,
        idempotentReplay: record.idempotentReplay,
        latencyMs: Math.round((clock() - record.startedAt) * 1000) / 1000,
      };
    } catch {
      return;
    }
    const failed = (cause: unknown) => {
      const error = new OnEventError('onEvent threw or rejected; the answer was not changed', { cause });
      const context = { status: answer.status, responseCode: answer.responseCode };
      if (this.onError) this.report(error, context);
      else this.console.print(error, context, 'ON_EVENT');
    };
    try {
      const result = onEvent(event);
      if (isThenable(result)) (result as Promise<unknown>).then(undefined, failed);
    } catch (cause) {
      failed(cause);
    }
  }
}

/** `onEvent`, checked at creation. @internal */
export function checkOnEvent(value: unknown, fn: string): OnEvent | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new TypeError(`${fn}: onEvent must be a function (event) => void, e.g. (event) => logger.info(event, 'nicepay call')`);
  return value as OnEvent;
}
