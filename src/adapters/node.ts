/**
 * Node adapters: a `node:http` request listener and an Express (4 or 5) middleware, for the
 * access token and for the calls after it (CVS inquiry and payment). They fit a server with
 * or without a body parser in front.
 *
 * The signatures cover the body exactly as sent, so each adapter takes the raw body from the
 * first of:
 * 1. `req.rawBody` (a `Uint8Array`, such as Node's `Buffer`, or a string): what a body
 *    parser's `verify` hook keeps, `express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } })`,
 *    and what NestJS keeps with `NestFactory.create(AppModule, { rawBody: true })`;
 * 2. a raw `req.body` (`Uint8Array` or string): `express.raw()` / `express.text()`;
 * 3. the request stream, which the adapter reads itself: at most `maxBodyBytes` (over it:
 *    `400`), within `bodyTimeoutMs` (default 10 s; a slower client gets `400`).
 *
 * A body a parser turned into an object without keeping the raw bytes, or a stream an
 * earlier middleware read, cannot be checked: the call is answered `500 General Error`
 * (SNAP JSON, never an HTML page) and `onError` gets a {@link RawBodyError} naming the
 * route and the one-line fix. Each endpoint answers every method (`app.all`): a `GET` gets
 * the SNAP `405`.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { createNodeHandler, createExpressMiddleware } from 'nicepay-nico/node';
 * const options = { clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! }, tokenSecret: process.env.TOKEN_SECRET! };
 * http.createServer(createNodeHandler(options)).listen(3000);
 * // Express, with or without app.use(express.json({ verify })) before it:
 * const accessToken = createExpressMiddleware(options);
 * app.all('/api/v1.0/access-token/b2b', accessToken);
 * app.use('/api/v1.0/access-token/b2b', accessToken.bodyParserErrorHandler); // after express.json()
 * ```
 * @module nicepay-nico/node
 */
import { SnapError } from '../errors.js';
import { nodeCrypto } from '../crypto/native.js';
import { deadline } from '../server/deadlines.js';
import { DEFAULT_MAX_BODY_BYTES, joinChunks, type RawBody } from '../protocol/body.js';
import { accessTokenHandlerOf, type AccessTokenHandlerOptions, type EndpointResponse } from '../server/access-token-handler.js';
import { transactionHandlerOf, type TransactionHandlerOptions } from '../server/transaction-handler.js';

/**
 * The parts of `http.IncomingMessage` (or an Express or NestJS request) the adapters use.
 * Structural, so a request typed by any `@types/node` from 20 on, `@types/express` 4 or 5,
 * or NestJS's `RawBodyRequest` fits.
 * @category Adapters
 */
export interface NodeRequestLike {
  readonly method?: string | undefined;
  /** The request target; Express's `originalUrl` is preferred when present. */
  readonly url?: string | undefined;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Set by body parsers. A raw `Uint8Array` (`Buffer`) or string is used; a parsed object is not. */
  readonly body?: unknown;
  /**
   * The raw body, kept by a body parser's `verify` hook or by NestJS's `rawBody: true`: a
   * `Uint8Array` (Node's `Buffer`) or a string. Used first when present.
   */
  readonly rawBody?: unknown;
  readonly readableEnded?: boolean;
  readonly destroyed?: boolean;
  on(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  // Overloads by event name, like on(): a single (event: string, listener: (...args) => void)
  // signature does not accept the IncomingMessage of @types/node 25 and later (TS2769).
  removeListener(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  removeListener(event: 'end' | 'close', listener: () => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  resume?(): unknown;
}

/**
 * The parts of `http.ServerResponse` (or an Express response) the adapters use.
 * @category Adapters
 */
export interface NodeResponseLike {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
  readonly headersSent?: boolean;
  /** Called when the answer cannot be written (`writeHead` or `end` threw): closes the connection instead of leaving the client waiting. */
  destroy?(): unknown;
}

/**
 * Options of the Node adapters, besides the endpoint's own options.
 * @category Adapters
 */
export interface NodeAdapterOptions {
  /**
   * Longest time, in milliseconds, to receive the request body from the moment the adapter
   * starts reading the stream; default {@link DEFAULT_BODY_TIMEOUT_MS} (10 000). A client
   * that has not sent the whole body by then is answered `400 / 400xx00 Bad Request` (SNAP
   * has no timeout code for a client) with `Connection: close`, instead of holding the
   * connection until Node's `requestTimeout` (300 s). Not used when the raw body was
   * already read (`req.rawBody`, a raw `req.body`). A positive number, at most 2147483647.
   */
  readonly bodyTimeoutMs?: number;
}

/**
 * Default of {@link NodeAdapterOptions.bodyTimeoutMs}: 10 000 ms.
 * @category Adapters
 */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/** The longest delay `setTimeout` takes (2^31 - 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The raw body cannot be had: a body parser turned it into an object without keeping the
 * bytes (`reason: 'parsed'`), or an earlier middleware read the stream and kept nothing
 * (`'consumed'`). The call is answered `500 General Error` and this error goes to `onError`.
 * Its message names the route and the middleware, and gives the one-line fix, e.g.
 * `nicepay-nico: POST /api/v1.0/cvs/inquiry: express.json() ran before this handler and
 * parsed the body without keeping the raw bytes the signature covers. Fix, one line:
 * app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } })) (NestJS:
 * NestFactory.create(AppModule, { rawBody: true })), or register this route before
 * app.use(express.json()).`
 * @category Errors
 */
export class RawBodyError extends TypeError {
  override readonly name = 'RawBodyError';
  /** `'parsed'`: a parser made an object of the body; `'consumed'`: a middleware read the stream and kept nothing. */
  readonly reason: 'parsed' | 'consumed';
  /** The request's path, without the query (at most 100 characters). */
  readonly route: string;
  /** The one line that fixes it, e.g. `app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }))`. */
  readonly fix: string;

  constructor(reason: 'parsed' | 'consumed', method: string, route: string, parser: string) {
    const fix = `app.use(${parser}({ verify: (req, _res, buf) => { req.rawBody = buf; } }))`;
    super(
      reason === 'parsed'
        ? `nicepay-nico: ${method} ${route}: ${parser}() ran before this handler and parsed the body without keeping the raw bytes the signature covers. ` +
            `Fix, one line: ${fix} (NestJS: NestFactory.create(AppModule, { rawBody: true })), or register this route before app.use(${parser}()).`
        : `nicepay-nico: ${method} ${route}: a middleware before this handler read the body and kept no raw bytes (req.rawBody) for the signature. ` +
            `Fix, one line: register this route before that middleware, or keep the bytes: ${fix}.`,
    );
    this.reason = reason;
    this.route = route;
    this.fix = fix;
  }
}

const encoder = new TextEncoder();

const isRaw = (value: unknown): value is RawBody => typeof value === 'string' || value instanceof Uint8Array;

/** One header's value as text (`''` when absent). */
function headerOf(req: NodeRequestLike, name: string): string {
  const value = req.headers[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : '';
}

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The path as requested, query included (the symmetric signature covers it), byte for byte
 * as sent. An absolute-form request target (`POST http://host/api/v1.0/cvs/inquiry`, RFC
 * 9112 §3.2.2) gives its path and query, without re-encoding anything.
 */
function pathOf(req: NodeRequestLike): string {
  const url = (req as { originalUrl?: unknown }).originalUrl ?? req.url;
  if (typeof url !== 'string') return '/';
  if (url.charCodeAt(0) === 0x2f) return url; // origin form, "/...": as it is (nearly every request)
  const absolute = ABSOLUTE_FORM.exec(url);
  if (!absolute) return url;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** The route for messages: method and path without the query, cut to 16 and 100 characters. */
function routeOf(req: NodeRequestLike): { method: string; route: string } {
  const path = pathOf(req).split('?')[0] ?? '/';
  return { method: (req.method ?? '?').slice(0, 16), route: path.length > 100 ? `${path.slice(0, 100)}...` : path };
}

function rawBodyError(req: NodeRequestLike, reason: 'parsed' | 'consumed'): RawBodyError {
  const { method, route } = routeOf(req);
  const parser = /urlencoded/i.test(headerOf(req, 'content-type')) ? 'express.urlencoded' : 'express.json';
  return new RawBodyError(reason, method, route, parser);
}

/** The raw body, or why there is none; `close`: the stream was not read to its end. */
type Got = { readonly body: RawBody; readonly close?: boolean } | { readonly error: Error; readonly close?: boolean };

/**
 * Read the body stream, keeping at most `limit + 1` bytes; settles when the stream ends,
 * is over the limit, fails or closes, or when `timeoutMs` has passed.
 */
function readBody(req: NodeRequestLike, limit: number, timeoutMs: number): Promise<Got> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const stop = (got: Got): void => {
      if (settled) return;
      settled = true;
      cancel();
      req.removeListener('data', onData);
      req.removeListener('end', finish);
      req.removeListener('close', finish);
      req.removeListener('error', finish);
      if (got.close === true) req.resume?.(); // discard the rest; the answer closes the connection
      resolve(got);
    };
    const finish = (): void => stop({ body: joinChunks(chunks, limit + 1) });
    const onData = (chunk: Uint8Array | string): void => {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      total += bytes.length;
      if (total - bytes.length <= limit) chunks.push(bytes);
      if (total > limit) stop({ body: joinChunks(chunks, limit + 1), close: true });
    };
    const cancel = deadline(timeoutMs, () => {
      const { method, route } = routeOf(req);
      const detail = `nicepay-nico: ${method} ${route}: the request body did not arrive within ${timeoutMs} ms (bodyTimeoutMs; ${total} bytes received)`;
      stop({ error: new SnapError('BAD_REQUEST', { detail }), close: true });
    });
    req.on('data', onData);
    req.on('end', finish);
    req.on('close', finish);
    req.on('error', finish);
  });
}

async function rawBodyOf(req: NodeRequestLike, limit: number, timeoutMs: number): Promise<Got> {
  if (isRaw(req.rawBody)) return { body: req.rawBody };
  const given = req.body;
  if (isRaw(given)) return { body: given };
  const parsed = given !== undefined && given !== null && ((req as { _body?: unknown })._body === true || req.readableEnded === true);
  // A stream that already ended emits no more 'end' or 'close': waiting for them would never
  // settle (and never answer).
  if (parsed || req.readableEnded === true) {
    // Content-Length: 0 leaves nothing to keep: the raw body is known.
    if (headerOf(req, 'content-length').trim() === '0' && headerOf(req, 'transfer-encoding') === '') return { body: '' };
    return { error: rawBodyError(req, parsed ? 'parsed' : 'consumed') };
  }
  if (req.destroyed === true) return { body: new Uint8Array(0) }; // aborted before we got here
  return readBody(req, limit, timeoutMs);
}

/** Any endpoint of this package: request object in, response object out. */
type Endpoint = (request: { readonly method: string; readonly path: string; readonly headers: NodeRequestLike['headers']; readonly body: RawBody }) => Promise<EndpointResponse>;

/** What an adapter needs of its endpoint. */
interface Adapter {
  readonly endpoint: Endpoint;
  /** `maxBodyBytes`. */
  readonly limit: number;
  /** `bodyTimeoutMs`. */
  readonly timeoutMs: number;
}

const call = (adapter: Adapter, req: NodeRequestLike, body: RawBody): Promise<EndpointResponse> =>
  adapter.endpoint({ method: req.method ?? '', path: pathOf(req), headers: req.headers, body });

/**
 * The endpoint's answer to a call refused before it: `error` is thrown by the request's
 * `method`, which both endpoints read first, inside the code that turns failures into
 * answers. So the refusal gets the endpoint's own answer, response headers, service code,
 * `onError` and `onEvent`: a `SnapError` its SNAP answer (`400 / 400xx00` for
 * `BAD_REQUEST`), anything else `500 / 500xx00 General Error`.
 */
function refuse(adapter: Adapter, req: NodeRequestLike, error: unknown): Promise<EndpointResponse> {
  // A request whose url or headers cannot be read (a throwing getter) is still answered.
  let path = '/';
  let headers: NodeRequestLike['headers'] = {};
  try {
    path = pathOf(req);
    headers = req.headers;
  } catch {
    // keep the defaults
  }
  return adapter.endpoint({
    get method(): string {
      throw error;
    },
    path,
    headers,
    body: '',
  });
}

/** The last resort when even the endpoint failed: a SNAP 500 without the service code. */
const GENERAL_ERROR: EndpointResponse = {
  status: 500,
  headers: { 'Content-Type': 'application/json' },
  body: '{"responseCode":"5000000","responseMessage":"General Error"}',
};

/** {@link refuse}, which never rejects. */
async function refuseSafely(adapter: Adapter, req: NodeRequestLike, error: unknown): Promise<EndpointResponse> {
  try {
    return await refuse(adapter, req, error);
  } catch {
    return GENERAL_ERROR;
  }
}

/** Write the answer; when that throws, close the connection rather than leave the client waiting. Never throws. */
function write(res: NodeResponseLike, result: EndpointResponse, close: boolean | undefined): void {
  try {
    if (res.headersSent === true) return;
    // The endpoint's headers object is its own, made for this answer: written as it is.
    res.writeHead(result.status, close === true ? { ...result.headers, Connection: 'close' } : result.headers);
    res.end(result.body);
  } catch {
    try {
      res.destroy?.();
    } catch {
      // nothing left to do
    }
  }
}

/** Read the body, call the endpoint and write its answer. Never rejects: a failure on the way is answered `500`. */
async function serve(adapter: Adapter, req: NodeRequestLike, res: NodeResponseLike): Promise<void> {
  let result: EndpointResponse;
  let close: boolean | undefined;
  try {
    const got = await rawBodyOf(req, adapter.limit, adapter.timeoutMs);
    close = got.close;
    result =
      'body' in got
        ? await call(adapter, req, got.body)
        : req.method !== 'POST'
          ? await call(adapter, req, '') // 405 whatever the body
          : await refuse(adapter, req, got.error);
  } catch (error) {
    // A request that cannot be read (a throwing rawBody, body or headers getter): 500 General Error, through onError.
    result = await refuseSafely(adapter, req, error);
    close = true;
  }
  write(res, result, close);
}

// ---------------------------------------------------------------------------------------
// Errors of a body parser that runs before the route (express.json(), NestJS's parsers)

/** The body parsers' errors ({@link ExpressMiddleware.bodyParserErrorHandler}), by their `type`. */
const PARSER_ERRORS: Readonly<Record<string, string>> = {
  'entity.parse.failed': 'could not parse the body',
  'entity.too.large': 'refused the body as larger than its limit',
  'charset.unsupported': 'refused the charset of the body',
  'encoding.unsupported': 'refused the Content-Encoding of the body',
};

/** What {@link parserErrorOf} finds: the `type` and `limit` of a body parser's error, or a 4xx status. */
interface ParserError {
  readonly type: string;
  readonly limit?: unknown;
}

/** A `type` or `code` fit to quote in a message: short, plain characters. */
const PLAIN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A body parser's error, or another refusal of the request: `error` itself, or its `cause`
 * (NestJS 12 wraps it in an HttpException). A known `type` first; else any string `type`
 * (body-parser's `request.aborted`, `entity.verify.failed`, ...) or a 4xx `status` /
 * `statusCode` (body-parser's zlib errors have no `type`). `undefined`: not the client's
 * fault, answered `500`.
 */
function parserErrorOf(error: unknown): ParserError | undefined {
  let e = error;
  let found: ParserError | undefined;
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const { type, status, statusCode, code } = e as { type?: unknown; status?: unknown; statusCode?: unknown; code?: unknown };
    if (typeof type === 'string' && Object.prototype.hasOwnProperty.call(PARSER_ERRORS, type)) return e as ParserError;
    if (found === undefined) {
      const httpStatus = typeof status === 'number' ? status : statusCode;
      if (typeof type === 'string') found = { type: PLAIN.test(type) ? type : 'unknown type' };
      else if (typeof httpStatus === 'number' && httpStatus >= 400 && httpStatus <= 499) {
        found = { type: typeof code === 'string' && PLAIN.test(code) ? `${code}, HTTP ${httpStatus}` : `HTTP ${httpStatus}` };
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return found;
}

/**
 * A body parser refused the body before the route ran: answered as a refusal, `400 /
 * 400xx00 Bad Request` (`405` for another method than POST), never processed further: the
 * middleware between the parser and the route did not run for it. Never rejects.
 */
async function answerParserError(adapter: Adapter, req: NodeRequestLike, res: NodeResponseLike, parserError: ParserError): Promise<void> {
  let result: EndpointResponse;
  let close = true;
  try {
    // The parser may have left the body unread (a charset it refuses): close after answering.
    close = req.readableEnded !== true;
    if (req.method !== 'POST') {
      result = await call(adapter, req, '');
    } else {
      const { method, route } = routeOf(req);
      const limit = typeof parserError.limit === 'number' ? ` of ${parserError.limit} bytes` : '';
      const what = PARSER_ERRORS[parserError.type] ?? 'refused the body';
      const detail = `nicepay-nico: ${method} ${route}: the body parser before this handler ${what}${parserError.type === 'entity.too.large' ? limit : ''} (${parserError.type})`;
      result = await refuse(adapter, req, new SnapError(parserError.type === 'entity.too.large' ? 'BODY_TOO_LARGE' : 'BAD_REQUEST', { detail }));
    }
  } catch (error) {
    result = await refuseSafely(adapter, req, error);
  }
  write(res, result, close);
}

/** An error that is not a refusal of the request (a middleware's bug): `500 / 500xx00 General Error`, the error to `onError`. Never rejects. */
async function answerOtherError(adapter: Adapter, req: NodeRequestLike, res: NodeResponseLike, error: unknown): Promise<void> {
  let close = true;
  try {
    close = req.readableEnded !== true;
  } catch {
    // keep close
  }
  write(res, await refuseSafely(adapter, req, error), close);
}

// ---------------------------------------------------------------------------------------
// The adapters

/**
 * A `node:http` request listener; the promise settles once the answer is written, and never rejects.
 * @category Adapters
 */
export type NodeListener = (req: NodeRequestLike, res: NodeResponseLike) => Promise<void>;

/**
 * An Express request handler.
 * @category Adapters
 */
export type ExpressHandler = (req: NodeRequestLike, res: NodeResponseLike, next: (error?: unknown) => void) => void;

/**
 * An Express error-handling middleware (four parameters).
 * @category Adapters
 */
export type ExpressErrorHandler = (error: unknown, req: NodeRequestLike, res: NodeResponseLike, next: (error?: unknown) => void) => void;

/**
 * The Express middleware of one endpoint, with its error handler for body parsers that run before it.
 * @category Adapters
 */
export interface ExpressMiddleware extends ExpressHandler {
  /**
   * Error-handling middleware (four parameters) for the same endpoint. A body parser that
   * runs before the route and refuses the body (`express.json()`: not JSON, over its
   * limit, an unsupported charset or encoding) calls `next(error)`, and Express skips every
   * route: without this, NICEPAY gets Express's HTML error page. Mount it at the endpoint's
   * path after the parser: `app.use('/api/v1.0/cvs/inquiry', inquiry.bodyParserErrorHandler)`.
   * It answers every error that reaches it as SNAP JSON, never Express's HTML page: a body
   * parser's error (one with a `type`: not JSON, over its limit, an unsupported charset or
   * encoding, a `verify` hook that threw, an aborted request) or one with a 4xx `status`
   * (a gzip body that does not inflate) gets `400 / 400xx00 Bad Request` (`405` for another
   * method than POST); any other error `500 / 500xx00 General Error`. Each goes to `onError`
   * and `onEvent` once. Only when the answer was already sent is the error passed on with
   * `next(error)`. Also takes a parser's error wrapped as `cause` (NestJS 12's
   * `BadRequestException`), for an exception filter.
   */
  readonly bodyParserErrorHandler: ExpressErrorHandler;
}

/**
 * Create an endpoint from the options (given as they are: a copy would lose inherited
 * options and getters; the endpoint ignores the adapter's own `bodyTimeoutMs`), and check
 * the adapter's own.
 */
function adapterOf<O extends object>(fn: string, options: O & NodeAdapterOptions, create: (options: O) => Endpoint): Adapter {
  const given = typeof options === 'object' && options !== null ? options : undefined;
  const endpoint = create(options); // throws its TypeError for bad options first
  const timeoutMs = given?.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > MAX_TIMEOUT_MS) {
    throw new TypeError(`${fn}: bodyTimeoutMs must be a positive number of milliseconds, at most ${MAX_TIMEOUT_MS}; got ${String(timeoutMs)}`);
  }
  const maxBodyBytes = (given as { maxBodyBytes?: unknown } | undefined)?.maxBodyBytes;
  return { endpoint, limit: typeof maxBodyBytes === 'number' ? maxBodyBytes : DEFAULT_MAX_BODY_BYTES, timeoutMs };
}

function nodeListener(adapter: Adapter): NodeListener {
  return (req, res) => serve(adapter, req, res);
}

function expressMiddleware(adapter: Adapter): ExpressMiddleware {
  const handler: ExpressHandler = (req, res) => {
    void serve(adapter, req, res); // never rejects: every failure is answered as SNAP
  };
  // Four parameters: Express calls a middleware with errors only when its length is 4.
  const bodyParserErrorHandler: ExpressErrorHandler = (error, req, res, next) => {
    let sent = true;
    try {
      sent = res.headersSent === true;
    } catch {
      // keep sent: let Express close the connection
    }
    if (sent) {
      next(error); // too late for an answer: Express closes the connection
      return;
    }
    const parserError = parserErrorOf(error);
    void (parserError === undefined ? answerOtherError(adapter, req, res, error) : answerParserError(adapter, req, res, parserError));
  };
  return Object.assign(handler, { bodyParserErrorHandler });
}

/**
 * A `node:http` request listener for the access-token endpoint:
 * `http.createServer(createNodeHandler(options))`. Options: the endpoint's
 * ({@link nicepay-nico!createAccessTokenHandler | createAccessTokenHandler}) and `bodyTimeoutMs` ({@link NodeAdapterOptions}).
 * The raw body comes from `req.rawBody`, a raw `req.body` or the stream (see the module).
 * A body parsed without its raw bytes, or a stream read by someone else, is answered
 * `500 / 5007300 General Error` and `onError` gets a {@link RawBodyError}.
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options (the endpoint's, or
 * `bodyTimeoutMs`); {@link nicepay-nico!KeyImportError | KeyImportError} for a public key
 * that cannot be imported.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createNodeHandler } from 'nicepay-nico/node';
 *
 * const accessToken = createNodeHandler({
 *   clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! },
 *   tokenSecret: process.env.TOKEN_SECRET!, // >= 32 bytes
 * });
 * createServer(accessToken).listen(3000); // every path is the access-token endpoint (a GET gets the SNAP 405)
 * ```
 * @category Adapters
 */
export function createNodeHandler(options: AccessTokenHandlerOptions & NodeAdapterOptions): NodeListener {
  return nodeListener(adapterOf('createNodeHandler', options, (o: AccessTokenHandlerOptions) => accessTokenHandlerOf(o, nodeCrypto)));
}

/**
 * An Express (4 or 5) middleware for the access-token endpoint:
 * `app.all('/api/v1.0/access-token/b2b', createExpressMiddleware(options))` (`all`: a GET
 * gets the SNAP `405`). Works with no body parser before it, with `express.raw()` /
 * `express.text()`, and after `express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } })`
 * (or NestJS's `rawBody: true`). After a parser that keeps no raw bytes it answers
 * `500 / 5007300` (SNAP JSON, never `next(error)`) and `onError` gets a {@link RawBodyError}
 * naming the route and the fix. With a parser before it, also mount its
 * {@link ExpressMiddleware.bodyParserErrorHandler}.
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options (the endpoint's, or
 * `bodyTimeoutMs`); {@link nicepay-nico!KeyImportError | KeyImportError} for a public key
 * that cannot be imported.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createExpressMiddleware } from 'nicepay-nico/node';
 *
 * const app = express();
 * app.use(express.json({ verify: (req, _res, buf) => Object.assign(req, { rawBody: buf }) })); // keeps the raw bytes
 * const accessToken = createExpressMiddleware({
 *   clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! },
 *   tokenSecret: process.env.TOKEN_SECRET!,
 * });
 * app.all('/api/v1.0/access-token/b2b', accessToken);
 * app.use('/api/v1.0/access-token/b2b', accessToken.bodyParserErrorHandler); // the parser's refusals as SNAP 400
 * ```
 * @category Adapters
 */
export function createExpressMiddleware(options: AccessTokenHandlerOptions & NodeAdapterOptions): ExpressMiddleware {
  return expressMiddleware(adapterOf('createExpressMiddleware', options, (o: AccessTokenHandlerOptions) => accessTokenHandlerOf(o, nodeCrypto)));
}

/**
 * A `node:http` request listener for a call after the token (CVS inquiry or payment); see
 * {@link nicepay-nico!createTransactionHandler | createTransactionHandler}. The path passed on includes the query, as it is signed.
 * Same raw-body rules as {@link createNodeHandler}; refusals use the endpoint's service code
 * (`500xx00`, `400xx00`).
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options (the endpoint's, or
 * `bodyTimeoutMs`); {@link nicepay-nico!KeyImportError | KeyImportError} for a public key
 * that cannot be imported.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createAccessTokenIssuer } from 'nicepay-nico';
 * import { createNodeTransactionHandler } from 'nicepay-nico/node';
 *
 * const inquiry = createNodeTransactionHandler({
 *   serviceCode: '47', // the CVS inquiry service code NICEPAY gave you
 *   clients: { IONPAYTEST: { clientSecret: process.env.NICEPAY_CLIENT_SECRET! } },
 *   tokens: createAccessTokenIssuer({ secret: process.env.TOKEN_SECRET! }), // the access-token endpoint's tokenSecret
 *   handle: async ({ body }, { answer }) => answer.ok(await findBill(body)),
 * });
 * createServer((req, res) => {
 *   if (req.url?.startsWith('/api/v1.0/cvs/inquiry')) void inquiry(req, res);
 *   else res.writeHead(404).end();
 * }).listen(3000);
 * ```
 * @category Adapters
 */
export function createNodeTransactionHandler<Body extends object = Readonly<Record<string, unknown>>>(
  options: TransactionHandlerOptions<Body> & NodeAdapterOptions,
): NodeListener {
  return nodeListener(adapterOf('createNodeTransactionHandler', options, (o: TransactionHandlerOptions<Body>) => transactionHandlerOf(o, nodeCrypto)));
}

/**
 * An Express middleware for a call after the token:
 * `app.all('/api/v1.0/cvs/inquiry', createExpressTransactionMiddleware(options))`; same
 * raw-body rules as {@link createExpressMiddleware}, with the endpoint's service code.
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options (the endpoint's, or
 * `bodyTimeoutMs`); {@link nicepay-nico!KeyImportError | KeyImportError} for a public key
 * that cannot be imported.
 *
 * @example
 * ```ts
 * import { createExpressTransactionMiddleware } from 'nicepay-nico/node';
 *
 * const payment = createExpressTransactionMiddleware({
 *   serviceCode: '48', // the CVS payment service code NICEPAY gave you
 *   clients, tokens, externalIds, // shared with the inquiry endpoint
 *   idempotency: { key: ({ body }) => body.paymentRequestId },
 *   handle: async ({ body }, { answer }) => answer.ok(await markPaid(body)),
 * });
 * app.all('/api/v1.0/cvs/payment', payment);
 * app.use('/api/v1.0/cvs/payment', payment.bodyParserErrorHandler); // with a body parser before it
 * ```
 * @category Adapters
 */
export function createExpressTransactionMiddleware<Body extends object = Readonly<Record<string, unknown>>>(
  options: TransactionHandlerOptions<Body> & NodeAdapterOptions,
): ExpressMiddleware {
  return expressMiddleware(adapterOf('createExpressTransactionMiddleware', options, (o: TransactionHandlerOptions<Body>) => transactionHandlerOf(o, nodeCrypto)));
}

/** @category Token */
export type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
/** @category Inquiry & payment */
export type { TransactionHandlerOptions } from '../server/transaction-handler.js';
/** @category Crypto */
export { nodeCrypto } from '../crypto/native.js';
