/**
 * Fastify adapter (Fastify 5): one plugin that registers NICEPAY's NICO endpoints, the
 * access token and, when their options are given, CVS inquiry and payment.
 *
 * The plugin is encapsulated (no `fastify-plugin`): everything it sets up stays inside its
 * own scope. There it replaces Fastify's body parsers with one that keeps the raw bytes
 * (the signatures cover the body as sent), so the rest of the application keeps Fastify's
 * normal JSON parsing. Each endpoint answers every method Fastify routes (`GET` gets the
 * SNAP `405`), and a Fastify error on these routes (a bad `Content-Type`, an error thrown by
 * an application hook) is answered as a SNAP error too, never as Fastify's own error JSON.
 *
 * Fastify is not a dependency of this package: the plugin is typed by the few members it
 * uses, so `nicepay-nico/fastify` imports nothing from `fastify`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { fastifyNico } from 'nicepay-nico/fastify';
 *
 * const app = Fastify();
 * await app.register(fastifyNico, {
 *   accessToken: { clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! }, tokenSecret: process.env.TOKEN_SECRET! },
 *   inquiry: { ...common, serviceCode: '47', handle: ({ body }, { answer }) => answer.ok(findBill(body)) },
 *   payment: { ...common, serviceCode: '48', idempotency: { key: ({ body }) => body.paymentRequestId }, handle: pay },
 * });
 * app.post('/orders', async (request) => request.body); // still parsed JSON
 * await app.listen({ port: 3000 });
 * ```
 * @module nicepay-nico/fastify
 */
import { SnapError } from '../errors.js';
import { nodeCrypto } from '../crypto/native.js';
import { deadline } from '../server/deadlines.js';
import { isWellFormedClientKey } from '../protocol/access-token-request.js';
import { DEFAULT_MAX_BODY_BYTES, joinChunks, type RawBody } from '../protocol/body.js';
import { formatTimestamp } from '../protocol/timestamp.js';
import { ACCESS_TOKEN_SERVICE_CODE, snapResponse } from '../response-codes.js';
import { accessTokenHandlerOf, type AccessTokenHandlerOptions, type EndpointResponse, type ErrorContext } from '../server/access-token-handler.js';
import { transactionHandlerOf, type TransactionHandlerOptions } from '../server/transaction-handler.js';

/**
 * The default paths of the three endpoints, as NICEPAY calls them.
 * @category Adapters
 */
export const NICO_PATHS = Object.freeze({
  accessToken: '/api/v1.0/access-token/b2b',
  inquiry: '/api/v1.0/cvs/inquiry',
  payment: '/api/v1.0/cvs/payment',
} as const);

/**
 * Options of {@link fastifyNico}, given as the second argument of `app.register()`
 * (Fastify's own `prefix` works as usual and is put before every path).
 *
 * `Inquiry` and `Payment` are the body types your `handle` functions get (default: a plain
 * JSON object).
 * @category Adapters
 */
export type FastifyNicoOptions<Inquiry extends object = Readonly<Record<string, unknown>>, Payment extends object = Readonly<Record<string, unknown>>> = {
  /** The access-token endpoint (required): options of {@link nicepay-nico!createAccessTokenHandler | createAccessTokenHandler}. */
  readonly accessToken: AccessTokenHandlerOptions;
  /** The CVS inquiry endpoint, registered only when given: options of {@link nicepay-nico!createTransactionHandler | createTransactionHandler}. */
  readonly inquiry?: TransactionHandlerOptions<Inquiry> | undefined;
  /** The CVS payment endpoint, registered only when given: options of {@link nicepay-nico!createTransactionHandler | createTransactionHandler}. */
  readonly payment?: TransactionHandlerOptions<Payment> | undefined;
  /**
   * Paths of the endpoints, each starting with `/`; defaults {@link NICO_PATHS}:
   * `/api/v1.0/access-token/b2b`, `/api/v1.0/cvs/inquiry`, `/api/v1.0/cvs/payment`.
   */
  readonly paths?: { readonly accessToken?: string; readonly inquiry?: string; readonly payment?: string } | undefined;
  /**
   * Longest time, in milliseconds, to receive a request body on the plugin's paths, from
   * the moment the plugin starts reading it; default 10 000 (like the Node adapters'
   * `bodyTimeoutMs`). A client that has not sent the whole body by then is answered
   * `400 / 400xx00 Bad Request` with `Connection: close` and its connection is closed
   * (Fastify's own `requestTimeout` is 0, no limit, by default). A positive number, at most
   * 2147483647.
   */
  readonly bodyTimeoutMs?: number | undefined;
};

/**
 * The Fastify instance as the plugin's signature states it: any object with these methods,
 * which every Fastify 5 instance has. (The plugin relies on Fastify 5's documented
 * behaviour of each; the loose parameter types only keep `fastify` out of this package's
 * types.)
 * @category Adapters
 */
export interface FastifyInstanceLike {
  route(...args: never[]): unknown;
  addContentTypeParser(...args: never[]): unknown;
  removeAllContentTypeParsers(...args: never[]): unknown;
}

/**
 * The plugin's type: `app.register(fastifyNico, options)`.
 * @category Adapters
 */
export type FastifyNicoPlugin = <Inquiry extends object = Readonly<Record<string, unknown>>, Payment extends object = Readonly<Record<string, unknown>>>(
  instance: FastifyInstanceLike,
  options: FastifyNicoOptions<Inquiry, Payment>,
) => Promise<void>;

// --- The parts of Fastify 5 the plugin uses ----------------------------------------------

/** A Node readable stream: the request's body. */
interface BodyStream {
  readonly readableEnded?: boolean;
  readonly destroyed?: boolean;
  on(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  resume?(): unknown;
}

interface Request {
  readonly method: string;
  readonly url: string;
  readonly originalUrl?: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: unknown;
  readonly raw: BodyStream & { readonly url?: string };
}

interface Reply {
  readonly sent: boolean;
  code(status: number): Reply;
  headers(values: Readonly<Record<string, string>>): Reply;
  send(payload: Uint8Array): Reply;
}

type Handler = (request: Request, reply: Reply) => void;
type ErrorHandler = (error: unknown, request: Request, reply: Reply) => void;

interface Instance {
  /** Fastify 5: every method it routes, those added with `addHttpMethod` included. */
  readonly supportedMethods?: readonly string[];
  route(options: { method: string[]; url: string; handler: Handler; errorHandler: ErrorHandler }): unknown;
  addContentTypeParser(contentType: '*', parser: (request: Request, payload: BodyStream) => Promise<RawBody | Unfinished | undefined>): unknown;
  removeAllContentTypeParsers(): unknown;
}

/** The methods Fastify 5 routes by default, when the instance does not list its own. */
const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY'];

const encoder = new TextEncoder();

/** Default of {@link FastifyNicoOptions.bodyTimeoutMs}: 10 000 ms, as the Node adapters. */
const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/** The longest delay `setTimeout` takes (2^31 - 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

// --- Reading the raw body ----------------------------------------------------------------

/**
 * A body not read to its end: over the limit (`body` has `limit + 1` bytes), or not
 * received within the time limit (`timedOut`). The answer closes the connection.
 */
class Unfinished {
  constructor(
    readonly body: Uint8Array,
    readonly timedOut: boolean,
    readonly received: number,
  ) {}
}

/**
 * Read the body stream, keeping at most `limit + 1` bytes (enough for the endpoint to see
 * that it is too large); resolves when the stream ends, and with what arrived when it fails
 * or closes early. Over the limit or after `timeoutMs`, resolves with {@link Unfinished}
 * (the rest is drained and discarded until the answer closes the connection). A stream
 * that already ended gives `undefined`: the endpoint refuses it (`500`) and tells `onError`.
 */
function readRaw(stream: BodyStream, limit: number, timeoutMs: number): Promise<Uint8Array | Unfinished | undefined> {
  if (stream.readableEnded === true) return Promise.resolve(undefined);
  if (stream.destroyed === true) return Promise.resolve(new Uint8Array(0));
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const stop = (unfinished: boolean, timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      cancel();
      stream.removeListener('data', onData);
      stream.removeListener('end', finish);
      stream.removeListener('close', finish);
      stream.removeListener('error', finish);
      const body = joinChunks(chunks, limit + 1);
      if (!unfinished) {
        resolve(body);
        return;
      }
      stream.on('error', () => undefined); // the rest is discarded, errors too
      stream.resume?.();
      resolve(new Unfinished(body, timedOut, total));
    };
    const finish = (): void => stop(false, false);
    const onData = (chunk: Uint8Array | string): void => {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      total += bytes.length;
      if (total - bytes.length <= limit) chunks.push(bytes);
      if (total > limit) stop(true, false);
    };
    const cancel = deadline(timeoutMs, () => stop(true, true));
    stream.on('data', onData);
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
}

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** The request target as sent, query included (the symmetric signature covers it). */
function pathOf(request: Request): string {
  const url = request.originalUrl ?? request.raw.url ?? request.url;
  if (typeof url !== 'string') return '/';
  const absolute = ABSOLUTE_FORM.exec(url);
  if (!absolute) return url;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

// --- Answers -----------------------------------------------------------------------------

function send(reply: Reply, result: EndpointResponse, close = false): void {
  if (reply.sent) return;
  // `close`: the body was not read to its end. With `Connection: close` Node ends the
  // connection once the answer is written (destroying it at once would reset it before the
  // client reads the answer), so the rest of the body is never read.
  // Bytes, not a string: Fastify sends them as they are (a string would get
  // "; charset=utf-8" added to the Content-Type, and go through a reply serializer).
  reply
    .code(result.status)
    .headers(close ? { ...result.headers, Connection: 'close' } : result.headers)
    .send(encoder.encode(result.body));
}

function report(onError: ((error: unknown, context: ErrorContext) => void | Promise<void>) | undefined, error: unknown, context: ErrorContext): void {
  if (typeof onError !== 'function') return;
  try {
    const result = onError(error, context);
    if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, () => undefined);
  } catch {
    // An observer must not change the answer.
  }
}

/** The SNAP row for an error's HTTP status: the status itself where the table has a general row, else 400 or 500. */
function rowFor(status: number): { httpStatus: number; caseCode: string } {
  switch (status) {
    case 400:
    case 401:
    case 405:
    case 409:
    case 429:
    case 504:
      return { httpStatus: status, caseCode: '00' };
    case 403:
      return { httpStatus: 403, caseCode: '01' }; // Feature Not Allowed
    default:
      return status >= 400 && status < 500 ? { httpStatus: 400, caseCode: '00' } : { httpStatus: 500, caseCode: '00' };
  }
}

function statusOf(error: unknown): number {
  const status = typeof error === 'object' && error !== null ? ((error as { statusCode?: unknown }).statusCode ?? (error as { status?: unknown }).status) : undefined;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

/** Fastify's errors about the body or its Content-Type: the endpoint itself answers those. */
function isBodyError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('FST_ERR_CTP_') || code === 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE');
}

/** One endpoint as the routes use it. */
interface Endpoint {
  readonly run: (request: { method: string; path: string; headers: Request['headers']; body: RawBody }) => Promise<EndpointResponse>;
  readonly limit: number;
  readonly timeoutMs: number;
  readonly serviceCode: string;
  readonly timestampOffset: string;
  readonly echoClientKey: boolean;
  readonly onError: ((error: unknown, context: ErrorContext) => void | Promise<void>) | undefined;
}

function headerValue(headers: Request['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** A SNAP error answer of this endpoint for an error the endpoint never saw. */
function fallback(endpoint: Endpoint, request: Request, error: unknown): EndpointResponse {
  const row = rowFor(statusOf(error));
  const body = snapResponse({ ...row, serviceCode: endpoint.serviceCode });
  report(endpoint.onError, error, { status: row.httpStatus, responseCode: body.responseCode });
  let timestamp: string;
  try {
    timestamp = formatTimestamp(Date.now(), endpoint.timestampOffset);
  } catch {
    timestamp = formatTimestamp(Date.now());
  }
  const clientKey = endpoint.echoClientKey ? headerValue(request.headers, 'x-client-key') : undefined;
  return {
    status: row.httpStatus,
    headers: {
      'Content-Type': 'application/json',
      'X-TIMESTAMP': timestamp,
      ...(clientKey !== undefined && isWellFormedClientKey(clientKey) ? { 'X-CLIENT-KEY': clientKey } : {}),
    },
    body: JSON.stringify(body),
  };
}

function bodyOf(request: Request): RawBody | Unfinished {
  const body = request.body;
  if (body instanceof Unfinished) return body;
  // No body at all (no Content-Type and no Content-Length): an empty one. Anything else
  // that is not raw (another hook replaced it) goes to the endpoint, which refuses it
  // with a 500 and tells onError.
  return body === undefined || body === null ? new Uint8Array(0) : (body as RawBody);
}

function routeFor(endpoint: Endpoint): { handler: Handler; errorHandler: ErrorHandler } {
  const answer = async (request: Request, reply: Reply, body: RawBody | Unfinished | undefined): Promise<void> => {
    const path = pathOf(request);
    if (!(body instanceof Unfinished)) {
      send(reply, await endpoint.run({ method: request.method, path, headers: request.headers, body: body as RawBody }));
      return;
    }
    // Not read to its end: over the limit (the endpoint answers 400, it has limit + 1
    // bytes) or too slow (refused 400 Bad Request through the endpoint, which reads the
    // method first: its onError and onEvent see it). Another method gets its 405.
    let result: EndpointResponse;
    if (body.timedOut && request.method === 'POST') {
      const route = path.split('?')[0] ?? '/';
      const detail = `nicepay-nico: POST ${route.length > 100 ? `${route.slice(0, 100)}...` : route}: the request body did not arrive within ${endpoint.timeoutMs} ms (bodyTimeoutMs; ${body.received} bytes received)`;
      const error = new SnapError('BAD_REQUEST', { detail });
      result = await endpoint.run({
        get method(): string {
          throw error;
        },
        path,
        headers: request.headers,
        body: '',
      });
    } else {
      result = await endpoint.run({ method: request.method, path, headers: request.headers, body: body.timedOut ? '' : body.body });
    }
    send(reply, result, true);
  };
  const guard = (request: Request, reply: Reply, work: () => Promise<void>): void => {
    work().catch((error: unknown) => {
      try {
        send(reply, fallback(endpoint, request, error));
      } catch {
        // The connection is gone: nothing to answer.
      }
    });
  };
  return {
    // Not async: the handler answers through reply.send, and Fastify waits for it.
    handler: (request, reply) => guard(request, reply, () => answer(request, reply, bodyOf(request))),
    errorHandler: (error, request, reply) =>
      guard(request, reply, async () => {
        if (!isBodyError(error)) {
          send(reply, fallback(endpoint, request, error));
          return;
        }
        // Fastify refused the body before the handler (e.g. a Content-Type it cannot read):
        // the body is still unread, and the endpoint gives the SNAP answer for it.
        const given = request.body;
        const body = typeof given === 'string' || given instanceof Uint8Array ? given : await readRaw(request.raw, endpoint.limit, endpoint.timeoutMs);
        await answer(request, reply, body);
      }),
  };
}

function checkPath(path: unknown, name: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`fastifyNico: paths.${name} must be a path starting with "/", got ${typeof path === 'string' ? JSON.stringify(path.slice(0, 40)) : typeof path}`);
  return path;
}

function twoDigits(serviceCode: string | number): string {
  return typeof serviceCode === 'number' ? String(serviceCode).padStart(2, '0') : serviceCode;
}

/**
 * The Fastify 5 plugin: `await app.register(fastifyNico, options)` registers
 *
 * - `accessToken` (required) on `/api/v1.0/access-token/b2b`,
 * - `inquiry` (when given) on `/api/v1.0/cvs/inquiry`,
 * - `payment` (when given) on `/api/v1.0/cvs/payment`,
 *
 * each on every method Fastify routes (its `supportedMethods`: DELETE, GET, HEAD, OPTIONS,
 * PATCH, POST, PUT, TRACE, QUERY, and any added with `addHttpMethod` before the plugin is
 * registered), so a `GET` gets the SNAP `405 / 405xx00`; paths from `options.paths`, after
 * Fastify's `prefix`. Methods Fastify does not route at all (e.g. `PROPFIND` without
 * `addHttpMethod`) never reach the plugin: the application's not-found handler answers them.
 *
 * The plugin is encapsulated. In its scope only:
 * - every body, whatever its Content-Type (or none), is read raw, at most `maxBodyBytes + 1`
 *   bytes (default 16 KiB), and handed to the endpoint as bytes; a larger body is answered
 *   `400 / 400xx00` with `Connection: close` without reading the rest, whatever Fastify's
 *   `bodyLimit` is; so is a body not received within `bodyTimeoutMs` (default 10 s);
 * - each route has its own error handler: Fastify's errors about the body (a Content-Type
 *   it cannot parse) go to the endpoint, which answers them; any other error on these
 *   routes (e.g. thrown by an application-wide `onRequest` hook) is answered as the SNAP
 *   error of its status (400, 401, 403 → `403xx01`, 405, 409, 429, 504 as they are, other
 *   4xx as `400xx00`, anything else `500xx00 General Error`) with `X-TIMESTAMP` (and the
 *   received `X-CLIENT-KEY` on the access-token path), and the error goes to that endpoint's
 *   `onError`.
 * Other routes of the application keep Fastify's parsers and error handler. (So do not wrap
 * the plugin in `fastify-plugin`: that would lift its raw-body parser into the parent scope.)
 *
 * Answers are sent as bytes with the endpoint's headers, so `Content-Type` is exactly
 * `application/json`. The handlers are created (and the options checked) when the plugin
 * is registered, so a wrong key or secret fails `app.ready()` / `app.listen()`.
 *
 * Requires Fastify 5 (declared in the plugin's metadata; Fastify refuses to load it
 * elsewhere).
 *
 * @throws {@link !TypeError | TypeError} (as the rejection of `app.register` / `app.ready()`)
 * for bad options: those of {@link nicepay-nico!createAccessTokenHandler | createAccessTokenHandler} and
 * {@link nicepay-nico!createTransactionHandler | createTransactionHandler}, a missing `accessToken`, or a path that does not start
 * with `/`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { fastifyNico, type TransactionHandlerOptions } from 'nicepay-nico/fastify';
 *
 * const payment: TransactionHandlerOptions = {
 *   serviceCode: '48', clients, tokens, externalIds, // shared with inquiry
 *   idempotency: { key: ({ body }) => body.paymentRequestId },
 *   handle: pay,
 * };
 * const app = Fastify();
 * await app.register(fastifyNico, {
 *   accessToken: { clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! }, tokenSecret: process.env.TOKEN_SECRET! },
 *   inquiry: { serviceCode: '47', clients, tokens, externalIds, handle: inquire },
 *   payment,
 * });
 * ```
 * @category Adapters
 */
export const fastifyNico: FastifyNicoPlugin = async (instance, options) => {
  const app = instance as unknown as Instance;
  if (typeof options !== 'object' || options === null || typeof options.accessToken !== 'object' || options.accessToken === null) {
    throw new TypeError('fastifyNico: options.accessToken is required: the options of createAccessTokenHandler');
  }
  const paths = options.paths ?? {};
  const timeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > MAX_TIMEOUT_MS) {
    throw new TypeError(`fastifyNico: bodyTimeoutMs must be a positive number of milliseconds, at most ${MAX_TIMEOUT_MS}; got ${typeof timeoutMs === 'number' ? String(timeoutMs) : typeof timeoutMs}`);
  }
  const routes: { path: string; endpoint: Endpoint }[] = [];

  const token = options.accessToken;
  routes.push({
    path: checkPath(paths.accessToken ?? NICO_PATHS.accessToken, 'accessToken'),
    endpoint: {
      run: accessTokenHandlerOf(token, nodeCrypto),
      limit: token.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      timeoutMs,
      serviceCode: ACCESS_TOKEN_SERVICE_CODE,
      timestampOffset: token.timestampOffset ?? '+07:00',
      echoClientKey: true,
      onError: token.onError,
    },
  });
  for (const name of ['inquiry', 'payment'] as const) {
    const given = options[name] as TransactionHandlerOptions<object> | undefined;
    if (given === undefined) continue;
    routes.push({
      path: checkPath(paths[name] ?? NICO_PATHS[name], name),
      endpoint: {
        run: transactionHandlerOf(given, nodeCrypto) as Endpoint['run'],
        limit: given.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        timeoutMs,
        serviceCode: twoDigits(given.serviceCode),
        timestampOffset: given.timestampOffset ?? '+07:00',
        echoClientKey: false,
        onError: given.onError as Endpoint['onError'],
      },
    });
  }

  // This scope's parsers: one for every Content-Type, keeping the raw bytes.
  const limit = Math.max(...routes.map((r) => r.endpoint.limit));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload) => readRaw(payload, limit, timeoutMs));

  // Every method Fastify routes: the endpoint answers all but POST with the SNAP 405.
  const methods = Array.isArray(app.supportedMethods) && app.supportedMethods.length > 0 ? [...app.supportedMethods] : [...METHODS];
  for (const { path, endpoint } of routes) {
    app.route({ method: methods, url: path, ...routeFor(endpoint) });
  }
};

// Fastify reads these: the plugin's name (in logs and `app.hasPlugin('nicepay-nico')`) and
// the Fastify versions it works with. No `skip-override`: the plugin stays encapsulated.
Object.defineProperty(fastifyNico, Symbol.for('fastify.display-name'), { value: 'nicepay-nico' });
Object.defineProperty(fastifyNico, Symbol.for('plugin-meta'), { value: Object.freeze({ name: 'nicepay-nico', fastify: '5.x' }) });

/** @category Token */
export type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
/** @category Inquiry & payment */
export type { TransactionHandlerOptions } from '../server/transaction-handler.js';
