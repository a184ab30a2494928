/**
 * Next.js App Router adapter: route-module exports for every HTTP method, with the options
 * taken lazily, so `next build` imports the route without any secret.
 *
 * @example
 * ```ts
 * // app/api/v1.0/access-token/b2b/route.ts
 * import { createNextRouteHandlers } from 'nicepay-nico/next';
 *
 * export const dynamic = 'force-dynamic';
 * export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createNextRouteHandlers(() => ({
 *   clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! }, // read on the first request, not at build
 *   tokenSecret: process.env.TOKEN_SECRET!,
 * }));
 * ```
 * @module nicepay-nico/next
 */
import { formatTimestamp } from '../protocol/timestamp.js';
import { ACCESS_TOKEN_SERVICE_CODE, snapResponse } from '../response-codes.js';
import type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
import type { TransactionHandlerOptions } from '../server/transaction-handler.js';
import { createFetchHandler, createFetchTransactionHandler } from './fetch.js';

/**
 * Options, or a function that returns them (sync or async). The function is called on the
 * first request, not when the route module is imported, and its result is kept: later
 * requests reuse the same handler. When it throws or rejects (or the options are refused),
 * or its promise has not settled within {@link NextRouteInit.optionsTimeoutMs} (default
 * 10 s), nothing is kept and the next request calls it again.
 * @category Adapters
 */
export type LazyOptions<Options> = Options | (() => Options | Promise<Options>);

/**
 * One route handler: what Next.js calls with the request (its second argument is ignored).
 * @category Adapters
 */
export type NextRouteHandler = (request: Request, context?: unknown) => Promise<Response>;

/**
 * A handler for each HTTP method Next.js route modules export; all of them are the same
 * endpoint, which answers anything but `POST` with the SNAP `405`.
 * @category Adapters
 */
export interface NextRouteHandlers {
  readonly GET: NextRouteHandler;
  readonly HEAD: NextRouteHandler;
  readonly POST: NextRouteHandler;
  readonly PUT: NextRouteHandler;
  readonly PATCH: NextRouteHandler;
  readonly DELETE: NextRouteHandler;
  readonly OPTIONS: NextRouteHandler;
}

/**
 * The second argument of {@link createNextRouteHandlers}.
 * @category Adapters
 */
export interface NextRouteInit {
  /**
   * Called with the error when the options function throws or rejects, its promise has not
   * settled within `optionsTimeoutMs`, or the options are refused (the `TypeError` or
   * `RangeError` the handler's creation throws): the request is then answered `500 General
   * Error` and no other `onError` exists yet. Default: `console.error`, one line naming
   * nicepay-nico, once per cause (not on every request); for an error thrown by your
   * options function only its class is printed (its message could hold a secret), for a
   * refusal of the options the package's own message (which never holds option values).
   * Errors it throws are ignored.
   */
  readonly onConfigError?: (error: unknown) => void;
  /**
   * Longest time, in milliseconds, to wait for the options function's promise; default
   * 10 000. Past it, the requests waiting for it are answered `500 General Error`,
   * `onConfigError` gets an `Error` saying so, and the next request calls the function
   * again. A positive number, at most 2147483647.
   */
  readonly optionsTimeoutMs?: number;
}

/**
 * The second argument of {@link createNextTransactionRouteHandlers}.
 * @category Adapters
 */
export interface NextTransactionRouteInit extends NextRouteInit {
  /**
   * The endpoint's service code, for the `500xx00` answered while the options cannot be
   * had (the options carry it otherwise); default `"00"`.
   */
  readonly serviceCode?: string;
}

type FetchHandler = (request: Request) => Promise<Response>;

/** Default of {@link NextRouteInit.optionsTimeoutMs}: 10 000 ms. */
const DEFAULT_OPTIONS_TIMEOUT_MS = 10_000;

/** The longest delay `setTimeout` takes (2^31 - 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Where a configuration failure came from. */
type ConfigFailure = 'options' | 'refused' | 'timeout';

/** A failure of loading the options, with where it came from (for the default log line). */
const failures = new WeakMap<object, ConfigFailure>();

function classOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && /^[A-Za-z_$][\w$]{0,60}$/.test(name)) return name;
    return 'object';
  }
  return typeof error;
}

/** The default `onConfigError`: one `console.error` line per cause, never a message of the merchant's code. */
function defaultConfigError(): (error: unknown) => void {
  const seen = new Set<string>();
  return (error) => {
    const source = typeof error === 'object' && error !== null ? failures.get(error) : undefined;
    const name = classOf(error);
    // The package's own messages (a refusal of the options, the time limit) hold no values.
    const own = source === 'timeout' || (source === 'refused' && (error instanceof TypeError || error instanceof RangeError));
    const what = own
      ? `${name}: ${String((error as Error).message).slice(0, 500)}`
      : source === 'refused'
        ? `the options were refused with ${name} (message not printed; pass init.onConfigError to see it)`
        : `the options function threw ${name} (message not printed; pass init.onConfigError to see it)`;
    if (seen.has(what)) return;
    if (seen.size < 100) seen.add(what);
    console.error(`nicepay-nico: the route options could not be loaded; answered 500 General Error (logged once): ${what}`);
  };
}

/** `error` marked with where it came from; a non-object is wrapped. */
function failure(error: unknown, source: ConfigFailure): unknown {
  if (typeof error === 'object' && error !== null) {
    if (!failures.has(error)) failures.set(error, source);
    return error;
  }
  return error;
}

function routeHandlers<Options>(options: LazyOptions<Options>, create: (options: Options) => FetchHandler, serviceCode: string, init: NextRouteInit | undefined, fn: string): NextRouteHandlers {
  if (typeof options !== 'function' && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${fn}: options must be the handler options or a function returning them`);
  }
  const onConfigError = init?.onConfigError ?? defaultConfigError();
  if (typeof onConfigError !== 'function') throw new TypeError(`${fn}: init.onConfigError must be a function`);
  const timeoutMs = init?.optionsTimeoutMs ?? DEFAULT_OPTIONS_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > MAX_TIMEOUT_MS) {
    throw new TypeError(`${fn}: init.optionsTimeoutMs must be a positive number of milliseconds, at most ${MAX_TIMEOUT_MS}; got ${typeof timeoutMs === 'number' ? String(timeoutMs) : typeof timeoutMs}`);
  }
  let pending: Promise<FetchHandler> | undefined;

  /** The options function's result, within the time limit. */
  const load = (): Promise<Options> =>
    new Promise<Options>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`${fn}: the options function's promise did not settle within ${timeoutMs} ms (init.optionsTimeoutMs); the next request calls it again`);
        failures.set(error, 'timeout');
        reject(error);
      }, timeoutMs);
      const done = (): void => clearTimeout(timer);
      try {
        Promise.resolve((options as () => Options | Promise<Options>)()).then(
          (value) => {
            done();
            resolve(value);
          },
          (error: unknown) => {
            done();
            reject(failure(error, 'options'));
          },
        );
      } catch (error) {
        done();
        reject(failure(error, 'options'));
      }
    });

  const handler = (): Promise<FetchHandler> => {
    if (!pending) {
      const made = (async () => {
        const given = typeof options === 'function' ? await load() : options;
        try {
          return create(given);
        } catch (error) {
          throw failure(error, 'refused');
        }
      })();
      pending = made;
      made.catch(() => {
        if (pending === made) pending = undefined; // not kept: the next request tries again
      });
    }
    return pending;
  };

  const unavailable = (error: unknown): Response => {
    try {
      onConfigError(error);
    } catch {
      // An observer must not change the answer.
    }
    const body = snapResponse({ httpStatus: 500, serviceCode, caseCode: '00' });
    return new Response(JSON.stringify(body), {
      status: 500,
      headers: { 'Content-Type': 'application/json', 'X-TIMESTAMP': formatTimestamp(Date.now()) },
    });
  };

  // Next.js passes `{ params }` as the second argument: never hand it to the Fetch handler.
  const route: NextRouteHandler = async (request) => {
    let endpoint: FetchHandler;
    try {
      endpoint = await handler();
    } catch (error) {
      return unavailable(error);
    }
    return endpoint(request);
  };
  return Object.freeze({ GET: route, HEAD: route, POST: route, PUT: route, PATCH: route, DELETE: route, OPTIONS: route });
}

/**
 * The access-token endpoint (`POST /api/v1.0/access-token/b2b`) as a Next.js App Router
 * route module: `export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } =
 * createNextRouteHandlers(() => options)` in `app/api/v1.0/access-token/b2b/route.ts`.
 *
 * `options` are those of {@link createFetchHandler} (so of `createAccessTokenHandler`), or a
 * function returning them (see {@link LazyOptions}): nothing is read or checked until the
 * first request, so `next build` needs no secret. Every exported method is the same
 * endpoint: `POST` is the call, any other method is answered `405 / 4057300` (a method the
 * module does not export gets Next.js's own empty `405`, hence export them all). While the
 * options cannot be had, every request is answered `500 / 5007300 General Error` and
 * `init.onConfigError` gets the error.
 *
 * The signed path is taken from `request.url` (Next.js gives no raw request target): fine
 * for NICEPAY's paths, which have no query.
 *
 * @throws {@link !TypeError | TypeError} when `options` is neither an object nor a function,
 * or `init.onConfigError` is not a function (bad option values are found on the first
 * request, see above).
 *
 * @example
 * ```ts
 * // app/api/v1.0/access-token/b2b/route.ts
 * import { createNextRouteHandlers } from 'nicepay-nico/next';
 *
 * export const dynamic = 'force-dynamic'; // never prerendered
 * export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createNextRouteHandlers(() => ({
 *   clients: { [process.env.NICEPAY_CLIENT_KEY!]: process.env.NICEPAY_PUBLIC_KEY! },
 *   tokenSecret: process.env.TOKEN_SECRET!,
 * }));
 * ```
 * @category Adapters
 */
export function createNextRouteHandlers(options: LazyOptions<AccessTokenHandlerOptions>, init?: NextRouteInit): NextRouteHandlers {
  return routeHandlers(options, createFetchHandler, ACCESS_TOKEN_SERVICE_CODE, init, 'createNextRouteHandlers');
}

/**
 * A call after the token (CVS inquiry or payment) as a Next.js App Router route module, e.g.
 * in `app/api/v1.0/cvs/inquiry/route.ts`. Options are those of
 * {@link createFetchTransactionHandler} (so of `createTransactionHandler`), or a function
 * returning them, called on the first request and kept (see {@link LazyOptions}). Every
 * method but `POST` is answered `405 / 405xx00`. While the options cannot be had, every
 * request is answered `500 General Error` with `init.serviceCode` (default `"00"`), and
 * `init.onConfigError` gets the error.
 *
 * Keep stores shared by both endpoints (`externalIds`, a Redis `replayCache`) in a module
 * both route files import; each route module is its own instance otherwise.
 *
 * @throws {@link !TypeError | TypeError} when `options` is neither an object nor a function,
 * `init.onConfigError` is not a function, or `init.serviceCode` is not two digits.
 *
 * @example
 * ```ts
 * // app/api/v1.0/cvs/payment/route.ts
 * import { createNextTransactionRouteHandlers } from 'nicepay-nico/next';
 * import { nicoCommon } from '../../../../../lib/nico'; // clients, tokens, externalIds
 * export const dynamic = 'force-dynamic';
 * export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createNextTransactionRouteHandlers(() => ({
 *   ...nicoCommon(),
 *   serviceCode: process.env.CVS_PAYMENT_SERVICE_CODE!,
 *   idempotency: { key: ({ body }) => body.paymentRequestId },
 *   handle: async ({ body }, { answer }) => answer.ok(await markPaid(body)),
 * }), { serviceCode: '48' });
 * ```
 * @category Adapters
 */
export function createNextTransactionRouteHandlers<Body extends object = Readonly<Record<string, unknown>>>(
  options: LazyOptions<TransactionHandlerOptions<Body>>,
  init?: NextTransactionRouteInit,
): NextRouteHandlers {
  const serviceCode = init?.serviceCode ?? '00';
  if (typeof serviceCode !== 'string' || !/^[0-9]{2}$/.test(serviceCode)) {
    throw new TypeError(`createNextTransactionRouteHandlers: init.serviceCode must be two digits, got ${String(serviceCode).slice(0, 20)}`);
  }
  return routeHandlers(options, (o: TransactionHandlerOptions<Body>) => createFetchTransactionHandler(o), serviceCode, init, 'createNextTransactionRouteHandlers');
}

/** @category Token */
export type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
/** @category Inquiry & payment */
export type { TransactionHandlerOptions } from '../server/transaction-handler.js';
