/**
 * The drop-in access-token endpoint: request object in, response object out, never throws.
 * @module
 */
import { KeyImportError, toPublicKey, type KeyImportOptions, type KeyInput, type RsaPublicKey } from '../crypto/keys.js';
import { SnapError, isSnapError } from '../errors.js';
import {
  checkAccessTokenRequest,
  finishAccessTokenVerification,
  isWellFormedClientKey,
  lookupKey,
  unknownClient,
  type ClientKeys,
  type VerifiedAccessTokenRequest,
} from '../protocol/access-token-request.js';
import { DEFAULT_MAX_BODY_BYTES, type RawBody } from '../protocol/body.js';
import { readHeaders, type HeadersInput } from '../protocol/headers.js';
import { formatTimestamp } from '../protocol/timestamp.js';
import { createTokenResponse } from '../protocol/token-response.js';
import { signatureClaimKeyWith } from '../protocol/claim-keys.js';
import { cryptoOps, type CryptoProvider } from '../crypto/provider.js';
import type { ClaimStore } from './claim-store.js';
import { CallLifecycle, checkClaimStore, checkTiming, FAILED, registerWindow, sharedReplayCache, signatureClaim, type Hold, type StoreTimingOptions } from './lifecycle.js';
import { issuerFromOption, type TokenSecret } from './token-issuer.js';
import { ACCESS_TOKEN_SERVICE_CODE } from '../response-codes.js';
import { checkClientIds, quoteId, UNSET_HINT, unsetValue } from './config-checks.js';
import { CallObserver, checkOnEvent, ConsoleOnce, fieldOf, outcomeOfStatus, reasonOf, withReason, type CallEvent, type CallEventReason, type CallRecord } from './events.js';

/**
 * An HTTP request, as the adapters hand it over.
 * @category Adapters
 */
export interface EndpointRequest {
  /** HTTP method, e.g. `"POST"`. */
  readonly method: string;
  /** Request path (for logs; routing is the framework's job). */
  readonly path?: string;
  /** Request headers, names in any case. */
  readonly headers: HeadersInput;
  /** The raw body as received. */
  readonly body: RawBody;
}

/**
 * An HTTP response for the adapters to write.
 * @category Adapters
 */
export interface EndpointResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text. */
  readonly body: string;
}

/**
 * Looks up NICEPAY's public key for a client key; `undefined` for an unknown client.
 * @category Token
 */
export type ClientKeyLookup = (
  clientKey: string,
) => RsaPublicKey | KeyInput | undefined | Promise<RsaPublicKey | KeyInput | undefined>;

/**
 * What `issueToken` gets.
 * @category Token
 */
export interface IssueTokenContext {
  /** The verified client key. */
  readonly clientKey: string;
  /** The handler's clock, epoch ms. */
  readonly now: number;
  /** The `expiresIn` the response will announce, in seconds. */
  readonly expiresIn: number;
  /** Everything that was verified. */
  readonly request: VerifiedAccessTokenRequest;
}

/**
 * What `onError` gets besides the error.
 * @category Errors
 */
export interface ErrorContext {
  /** The status answered. */
  readonly status: number;
  /** The SNAP response code answered. */
  readonly responseCode: string;
}

/**
 * Options of {@link createAccessTokenHandler}. Give `issueToken` or `tokenSecret`.
 * @category Token
 */
export interface AccessTokenHandlerOptions extends KeyImportOptions, StoreTimingOptions {
  /** `{ [clientKey]: nicepayPublicKey }`, or a function (sync or async) for many clients. Keys are imported once. */
  readonly clients: ClientKeys | ClientKeyLookup;
  /** Make the token yourself (sync or async), e.g. to store it. At most 150 RFC 6750 characters. */
  readonly issueToken?: (context: IssueTokenContext) => string | Promise<string>;
  /** Or use built-in stateless tokens ({@link createAccessTokenIssuer}) with this secret (an array rotates: the first signs). */
  readonly tokenSecret?: TokenSecret | readonly TokenSecret[];
  /** Clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
  /** Allowed clock difference, seconds, both ways; default 300. */
  readonly clockSkewSeconds?: number;
  /** Token lifetime announced in `expiresIn`, seconds; default 900. */
  readonly expiresIn?: number;
  /** Largest body accepted, bytes; default 16 KiB. */
  readonly maxBodyBytes?: number;
  /** Require `additionalInfo` in the body; default `false`. */
  readonly requireAdditionalInfo?: boolean;
  /**
   * The signature replay guard: each signed request (client key, `X-TIMESTAMP`, signature)
   * is accepted once within the clock window; a repeat is `401 / 4017300`. Default: the
   * process's own in-memory store, shared by every handler not given one (the inquiry and
   * payment handlers' too), so an access-token signature can never be spent on another
   * endpoint. Several instances: one shared store (`createRedisClaimStore`) for all
   * endpoints. `false` turns the guard off.
   */
  readonly replayCache?: ClaimStore | false;
  /** Offset of the `X-TIMESTAMP` response header; default `"+07:00"`. */
  readonly timestampOffset?: string;
  /**
   * Called with every failure (never the response body's secrets), the internal error
   * behind a 500 included. Errors it throws are ignored. Without it, a 5xx and a store
   * failure are printed to `console.error`, once per cause (this package's own message, or
   * of an error your code threw only its class: nothing secret).
   */
  readonly onError?: (error: unknown, context: ErrorContext) => void | Promise<void>;
  /**
   * Called once per call, success included, with its {@link CallEvent} (status,
   * `responseCode`, a stable `reason` for refusals and failures, `outcome`, `client`,
   * `latencyMs`; never a token, a signature, a secret or the body), once the answer is
   * computed and just before the handler resolves with it. It cannot change the answer: a
   * returned promise is not awaited, and what it throws or rejects goes to `onError` as an
   * {@link OnEventError} (without `onError`, to `console.error` once per cause). Keep it
   * fast: a synchronous hook delays the answer by its own run time (pino's `logger.info`
   * does not block).
   */
  readonly onEvent?: (event: CallEvent) => void | Promise<void>;
  /**
   * The crypto the signature check and the replay guard's hash run on: {@link jsCrypto}
   * (pure JavaScript; the default of this core handler, on every runtime) or `nodeCrypto`
   * from `nicepay-nico/node` (OpenSSL; the default of the Node, Fastify and Next
   * adapters). Same checks and same verdict either way.
   */
  readonly crypto?: CryptoProvider;
}

/**
 * An access-token endpoint: call it with each request.
 * @category Token
 */
export type AccessTokenHandler = (request: EndpointRequest) => Promise<EndpointResponse>;

const FN = 'createAccessTokenHandler';
const MAX_LOOKUP_CACHE = 256;

/** Import keys returned by a lookup function once: by identity for objects, by text for strings. */
function createKeyResolver(clients: ClientKeys | ClientKeyLookup, importOptions: KeyImportOptions) {
  if (typeof clients !== 'function') {
    return (clientKey: string): RsaPublicKey | undefined => lookupKey(clients, clientKey, importOptions);
  }
  const byText = new Map<string, RsaPublicKey>();
  const byObject = new WeakMap<object, RsaPublicKey>();
  return async (clientKey: string): Promise<RsaPublicKey | undefined> => {
    const input = await clients(clientKey);
    if (input === undefined || input === null) return undefined;
    if (typeof input === 'string') {
      let key = byText.get(input);
      if (!key) {
        key = toPublicKey(input, importOptions, FN);
        if (byText.size >= MAX_LOOKUP_CACHE) byText.delete(byText.keys().next().value as string);
        byText.set(input, key);
      }
      return key;
    }
    if (typeof input === 'object') {
      let key = byObject.get(input);
      if (!key) {
        key = toPublicKey(input, importOptions, FN);
        byObject.set(input, key);
      }
      return key;
    }
    return toPublicKey(input, importOptions, FN);
  };
}

/** Wraps the merchant's own code: whatever it throws becomes a 500 General Error. */
class MerchantCodeError extends Error {
  override readonly name = 'MerchantCodeError';
}

async function merchantCode<T>(what: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (cause) {
    throw withReason(new MerchantCodeError(`${what} failed`, { cause }), 'CALLBACK_FAILED');
  }
}

/** Prints the failures of `handleAccessTokenRequest` with bad options, once per cause for the whole process. */
const setupPrinter = /* @__PURE__ */ new ConsoleOnce('handleAccessTokenRequest');

/**
 * Checks a `clients` map at creation: configured ids, no unset public key, every key
 * imported (a bad key fails now, naming its client, not on NICEPAY's first call).
 */
function checkClientKeyMap(clients: ClientKeys, importOptions: KeyImportOptions): void {
  checkClientIds(clients, FN, 'X-CLIENT-KEY');
  for (const clientKey of Object.keys(clients)) {
    const unset = unsetValue(clients[clientKey]);
    if (unset !== undefined) throw new TypeError(`${FN}: client ${quoteId(clientKey)}: the public key is ${unset} ${UNSET_HINT}`);
    try {
      lookupKey(clients, clientKey, importOptions);
    } catch (error) {
      const message = `${FN}: the public key of client ${quoteId(clientKey)}: ${error instanceof Error ? error.message : String(error)}`;
      if (error instanceof KeyImportError) throw new KeyImportError(error.code, message, { cause: error });
      if (error instanceof TypeError) throw new TypeError(message, { cause: error });
      throw error;
    }
  }
}

/** The request's X-CLIENT-KEY, when present and well-formed, to echo on errors. */
function echoClientKey(headers: HeadersInput): string | undefined {
  try {
    const value = readHeaders(headers, FN).get('X-CLIENT-KEY');
    return value !== undefined && isWellFormedClientKey(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Create the `POST /api/v1.0/access-token/b2b` endpoint. The returned function takes
 * `{ method, path?, headers, body }` and resolves to `{ status, headers, body }`; it never
 * throws or rejects.
 *
 * - Success: `200` with the {@link createTokenResponse} body.
 * - Every failure: its SNAP error (see {@link SnapError}), e.g. `401 / 4017300`, `405 / 4057300`
 *   for a method other than POST, `400 / 4007300` for a body over `maxBodyBytes`.
 * - A failure in your own code (`clients` lookup, `issueToken`, the replay store) or a
 *   programming error such as a parsed body: `500 / 5007300 General Error`, with nothing of
 *   the error in the response; the error goes to `onError` (without it, to `console.error`,
 *   once per cause).
 * - Each call, whatever its answer, gives `onEvent` one {@link CallEvent}.
 *
 * Every response has `Content-Type: application/json` and `X-TIMESTAMP`; `X-CLIENT-KEY`
 * too (the verified key, or on failure the one received when well-formed).
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options (so mistakes surface at
 * start-up), among them what an unset environment variable makes: `client "IONPAYTEST": the
 * public key is undefined (an unset environment variable?)`, a client key `"undefined"`, an
 * empty `clients`, `tokenSecret is undefined (an unset environment variable?)`,
 * `tokenSecret[1] is 12 bytes; at least 32 are required`.
 * @throws {@link KeyImportError} at creation for a public key that cannot be imported, naming
 * its client.
 *
 * @example
 * ```ts
 * import { createAccessTokenHandler } from 'nicepay-nico';
 *
 * const handle = createAccessTokenHandler({
 *   clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! },
 *   tokenSecret: process.env.TOKEN_SECRET!, // >= 32 bytes
 * });
 * // node:http, the raw body collected as a string or Buffer:
 * const { status, headers, body } = await handle({ method: req.method!, headers: req.headers, body: rawBody });
 * res.writeHead(status, headers).end(body);
 * ```
 * @category Token
 */
export function createAccessTokenHandler(options: AccessTokenHandlerOptions): AccessTokenHandler {
  return accessTokenHandlerOf(options, undefined);
}

/**
 * {@link createAccessTokenHandler} with the crypto used when `options.crypto` is not given
 * (the adapters' `nodeCrypto`), without copying `options` (a copy would lose inherited
 * options and getters). @internal
 */
export function accessTokenHandlerOf(options: AccessTokenHandlerOptions, defaultCrypto: CryptoProvider | undefined): AccessTokenHandler {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${FN}: options must be an object`);
  const { clients, issueToken, tokenSecret, onError, replayCache } = options;
  const onEvent = checkOnEvent(options.onEvent, FN);
  if (typeof clients !== 'function' && (typeof clients !== 'object' || clients === null || Array.isArray(clients))) {
    throw new TypeError(`${FN}: clients must be { [clientKey]: nicepayPublicKey } or a function clientKey => key`);
  }
  if (issueToken === undefined && tokenSecret === undefined && Object.prototype.hasOwnProperty.call(options, 'tokenSecret')) {
    throw new TypeError(`${FN}: tokenSecret is undefined ${UNSET_HINT}; give tokenSecret (at least 32 bytes) or issueToken`);
  }
  if ((issueToken === undefined) === (tokenSecret === undefined)) {
    throw new TypeError(`${FN}: give exactly one of issueToken (your own tokens) or tokenSecret (built-in stateless tokens)`);
  }
  if (issueToken !== undefined && typeof issueToken !== 'function') throw new TypeError(`${FN}: issueToken must be a function`);
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError(`${FN}: onError must be a function`);
  const replayStore = checkClaimStore(replayCache, 'replayCache', FN) ?? sharedReplayCache();
  const { timeoutMs, pendingSeconds } = checkTiming(options, FN);
  const lifecycle = new CallLifecycle(timeoutMs, pendingSeconds);
  const crypto = options.crypto === undefined ? defaultCrypto : options.crypto; // null is refused, as any non-provider
  const ops = cryptoOps(crypto, FN);
  const cryptoOption = { crypto } as { readonly crypto?: CryptoProvider };
  const clock = options.now ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError(`${FN}: now must be a function returning epoch ms`);
  const skew = options.clockSkewSeconds ?? 300;
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0) throw new TypeError(`${FN}: clockSkewSeconds must be a non-negative number`);
  if (replayStore) registerWindow(replayStore, skew * 1000);
  const expiresIn = options.expiresIn ?? 900;
  if (!Number.isInteger(expiresIn) || expiresIn < 1) throw new TypeError(`${FN}: expiresIn must be a positive whole number of seconds`);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new TypeError(`${FN}: maxBodyBytes must be a positive integer`);
  const offset = options.timestampOffset ?? '+07:00';
  formatTimestamp(0, offset); // validates the offset now
  const importOptions: KeyImportOptions = options.minModulusBits === undefined ? {} : { minModulusBits: options.minModulusBits };
  if (typeof clients === 'object') checkClientKeyMap(clients, importOptions);
  const resolveKey = createKeyResolver(clients, importOptions);
  const issuer = tokenSecret === undefined ? undefined : issuerFromOption(tokenSecret, 'tokenSecret', expiresIn, FN, ops);
  const observer = new CallObserver(FN, 'access-token', ACCESS_TOKEN_SERVICE_CODE, onEvent, onError);
  /** Whether a client key is one of the `clients` map (a lookup function tells only when asked). */
  const configured = (clientKey: string): boolean =>
    typeof clients === 'object' && Object.prototype.hasOwnProperty.call(clients, clientKey) && clients[clientKey] !== undefined;
  const limits = { maxBodyBytes, requireAdditionalInfo: options.requireAdditionalInfo };
  const skewMs = skew * 1000;

  const respond = (status: number, body: object, now: number, clientKey: string | undefined): EndpointResponse => ({
    status,
    headers: {
      'Content-Type': 'application/json',
      'X-TIMESTAMP': formatTimestamp(now, offset),
      ...(clientKey === undefined ? {} : { 'X-CLIENT-KEY': clientKey }),
    },
    body: JSON.stringify(body),
  });

  return async function handleAccessToken(request: EndpointRequest): Promise<EndpointResponse> {
    const call = observer.begin();
    /** The answer, after its one event. */
    const done = (response: EndpointResponse, responseCode: string, reason: CallEventReason | null, field: string | null): EndpointResponse => {
      observer.end(call, { status: response.status, responseCode, reason, field, outcome: outcomeOfStatus(response.status) });
      return response;
    };
    let now: number;
    try {
      let value: number;
      try {
        value = clock();
      } catch (cause) {
        throw withReason(new MerchantCodeError('now() failed', { cause }), 'CALLBACK_FAILED');
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) throw withReason(new TypeError(`${FN}: now() returned ${String(value)}, not epoch ms`), 'CALLBACK_FAILED');
      now = value;
    } catch (error) {
      now = Date.now();
      const failure = new SnapError('GENERAL_ERROR', { cause: error });
      observer.report(error instanceof MerchantCodeError ? error.cause : error, { status: failure.httpStatus, responseCode: failure.responseCode }, error);
      return done(respond(failure.httpStatus, failure.toResponseBody(), now, undefined), failure.responseCode, 'CALLBACK_FAILED', null);
    }
    let holds: Hold[] = [];
    // The answer this call gets, for what onError hears later (a release or keep that fails).
    const answered: ErrorContext & { status: number; responseCode: string } = { status: 500, responseCode: '5007300' };
    const reporter = (error: unknown) => observer.report(error, { status: answered.status, responseCode: answered.responseCode });
    try {
      if (typeof request !== 'object' || request === null) throw new TypeError(`${FN}: request must be { method, headers, body }`);
      if (request.method !== 'POST') {
        throw new SnapError('METHOD_NOT_ALLOWED', { detail: `method ${String(request.method).slice(0, 16)} is not allowed; NICEPAY sends POST` });
      }
      const checked = checkAccessTokenRequest(request, limits);
      const publicKey = await merchantCode('clients lookup', () => resolveKey(checked.clientKey));
      if (!publicKey) throw unknownClient(checked.clientKey);
      call.client = checked.clientKey; // a configured client (or one the lookup knows)
      const verified = finishAccessTokenVerification(checked, publicKey, { nowMs: now, skewMs }, cryptoOption);
      call.clientVerified = true;
      if (replayStore) {
        const key = signatureClaimKeyWith(ops, checked.clientKey, checked.timestampText, checked.signature);
        holds = await lifecycle.reserve([signatureClaim(replayStore, key, checked.timestamp.epochMs, skewMs, now)], reporter);
      }
      const context: IssueTokenContext = { clientKey: verified.clientKey, now, expiresIn, request: verified };
      const accessToken = issuer
        ? issuer.issue(verified.clientKey, now)
        : await merchantCode('issueToken', () => (issueToken as NonNullable<typeof issueToken>)(context));
      const body = createTokenResponse({ accessToken, expiresIn });
      // The token goes out: the signature is spent for good.
      answered.status = 200;
      answered.responseCode = body.responseCode;
      if (holds.length > 0) await lifecycle.settle(holds, undefined, { kind: 'answered', status: 200, body: '' }, reporter);
      return done(respond(200, body, now, verified.clientKey), body.responseCode, null, null);
    } catch (error) {
      const failure = isSnapError(error) ? error : new SnapError('GENERAL_ERROR', { cause: error });
      answered.status = failure.httpStatus;
      answered.responseCode = failure.responseCode;
      // Only a failure after the reservation gets here with holds (issueToken): release them.
      if (holds.length > 0) await lifecycle.settle(holds, undefined, FAILED, reporter);
      observer.report(error, { status: failure.httpStatus, responseCode: failure.responseCode });
      const echoed = typeof request === 'object' && request !== null ? echoClientKey(request.headers) : undefined;
      if (call.client === null && echoed !== undefined && configured(echoed)) call.client = echoed;
      return done(respond(failure.httpStatus, failure.toResponseBody(), now, echoed), failure.responseCode, reasonOf(error), fieldOf(failure));
    }
  };
}

const handlers = /* @__PURE__ */ new WeakMap<object, AccessTokenHandler>();

/**
 * One-call form of {@link createAccessTokenHandler}: the handler is created once per
 * `options` object and reused. Never throws: bad options answer `500` and go to `onError`.
 *
 * @example
 * ```ts
 * import { handleAccessTokenRequest } from 'nicepay-nico';
 *
 * // one options object, kept: its handler is created on the first call and reused
 * const options = { clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! }, tokenSecret: process.env.TOKEN_SECRET! };
 * // in a Fetch handler:
 * const { status, headers, body } = await handleAccessTokenRequest(
 *   { method: request.method, headers: request.headers, body: await request.text() },
 *   options,
 * );
 * return new Response(body, { status, headers });
 * ```
 * @category Token
 */
export async function handleAccessTokenRequest(request: EndpointRequest, options: AccessTokenHandlerOptions): Promise<EndpointResponse> {
  let handler = typeof options === 'object' && options !== null ? handlers.get(options) : undefined;
  if (!handler) {
    try {
      handler = createAccessTokenHandler(options);
    } catch (error) {
      const given = typeof options === 'object' && options !== null ? options : undefined;
      const observer = new CallObserver(
        'handleAccessTokenRequest',
        'access-token',
        ACCESS_TOKEN_SERVICE_CODE,
        typeof given?.onEvent === 'function' ? given.onEvent : undefined,
        typeof given?.onError === 'function' ? given.onError : undefined,
        setupPrinter,
      );
      const call: CallRecord = observer.begin();
      const failure = new SnapError('GENERAL_ERROR', { cause: error });
      observer.report(error, { status: failure.httpStatus, responseCode: failure.responseCode });
      observer.end(call, { status: failure.httpStatus, responseCode: failure.responseCode, reason: 'GENERAL_ERROR', field: null, outcome: 'failed' });
      return {
        status: failure.httpStatus,
        headers: { 'Content-Type': 'application/json', 'X-TIMESTAMP': formatTimestamp(Date.now()) },
        body: JSON.stringify(failure.toResponseBody()),
      };
    }
    handlers.set(options, handler);
  }
  return handler(request);
}
