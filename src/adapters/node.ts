/**
 * Node adapters: a `node:http` request listener and an Express middleware. Both read the
 * raw body themselves (or take a raw `Buffer`/string body already read) and refuse a body
 * already parsed into an object.
 *
 * @example
 * ```ts
 * import { createNodeHandler, createExpressMiddleware } from 'nicepay-nico/node';
 * const options = { clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! }, tokenSecret: process.env.TOKEN_SECRET! };
 * http.createServer(createNodeHandler(options)).listen(3000);
 * // Express: app.post('/api/v1.0/access-token/b2b', createExpressMiddleware(options));
 * ```
 * @module
 */
import { DEFAULT_MAX_BODY_BYTES, joinChunks } from '../protocol/body.js';
import { createAccessTokenHandler, type AccessTokenHandlerOptions, type EndpointResponse } from '../server/access-token-handler.js';
import { createTransactionHandler, type TransactionHandlerOptions } from '../server/transaction-handler.js';

/** The parts of `http.IncomingMessage` (or an Express request) the adapter uses. */
export interface NodeRequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Set by body parsers. A raw `Buffer`/string is used; a parsed object is refused. */
  readonly body?: unknown;
  readonly readableEnded?: boolean;
  readonly destroyed?: boolean;
  on(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  resume?(): unknown;
}

/** The parts of `http.ServerResponse` the adapter uses. */
export interface NodeResponseLike {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
  readonly headersSent?: boolean;
}

const encoder = new TextEncoder();

/** The message for a body that a parser already turned into an object. */
export const PARSED_BODY_MESSAGE =
  'nicepay-nico: the request body was already parsed into an object, but the access-token endpoint needs the raw body. ' +
  'Mount it before express.json(), or give this route a raw parser: ' +
  "app.post('/api/v1.0/access-token/b2b', express.raw({ type: '*/*' }), createExpressMiddleware(options)).";

/** The message for a body stream an earlier middleware read without leaving the raw body in `req.body`. */
const CONSUMED_BODY_MESSAGE =
  'nicepay-nico: the request body stream was already read by an earlier middleware, which left no raw body in req.body. ' +
  'Mount the access-token route before that middleware, or give this route a raw parser: ' +
  "app.post('/api/v1.0/access-token/b2b', express.raw({ type: '*/*' }), createExpressMiddleware(options)).";

/** Read the body stream, keeping at most `limit + 1` bytes; resolves when the stream ends or is over the limit. */
function readBody(req: NodeRequestLike, limit: number): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      req.removeListener('end', finish);
      req.removeListener('close', finish);
      req.removeListener('error', finish);
      if (total > limit) req.resume?.(); // drain and discard the rest
      resolve(joinChunks(chunks, limit + 1));
    };
    const onData = (chunk: Uint8Array | string): void => {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      total += bytes.length;
      if (total - bytes.length <= limit) chunks.push(bytes);
      if (total > limit) finish();
    };
    req.on('data', onData);
    req.on('end', finish);
    req.on('close', finish);
    req.on('error', finish);
  });
}

type RawResult = { readonly body: string | Uint8Array } | { readonly parsed: true } | { readonly consumed: true };

async function rawBodyOf(req: NodeRequestLike, limit: number): Promise<RawResult> {
  const given = req.body;
  if (typeof given === 'string' || given instanceof Uint8Array) return { body: given };
  const parserRan = (req as { _body?: unknown })._body === true || req.readableEnded === true;
  if (given !== undefined && given !== null && parserRan) return { parsed: true };
  // A stream that already ended or was destroyed emits no more 'end' or 'close': waiting
  // for them would never settle (and never answer).
  if (req.readableEnded === true) return { consumed: true };
  if (req.destroyed === true) return { body: new Uint8Array(0) }; // aborted before we got here
  return { body: await readBody(req, limit) };
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
  const absolute = ABSOLUTE_FORM.exec(url);
  if (!absolute) return url;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Any endpoint of this package: request object in, response object out. */
type Endpoint = (request: { method: string; path: string; headers: NodeRequestLike['headers']; body: string | Uint8Array }) => Promise<EndpointResponse>;

/** A `node:http` request listener. */
export type NodeListener = (req: NodeRequestLike, res: NodeResponseLike) => Promise<void>;
/** An Express request handler. */
export type ExpressHandler = (req: NodeRequestLike, res: NodeResponseLike, next: (error?: unknown) => void) => void;

function write(res: NodeResponseLike, result: EndpointResponse): void {
  if (!res.headersSent) {
    res.writeHead(result.status, result.headers);
    res.end(result.body);
  }
}

function nodeListener(endpoint: Endpoint, limit: number): NodeListener {
  return async (req, res) => {
    const raw = await rawBodyOf(req, limit);
    // A parsed body goes to the endpoint as is, and a body already read by someone else as
    // `undefined`: the endpoint refuses both (500) and reports the TypeError.
    const body = 'body' in raw ? raw.body : 'parsed' in raw ? (req.body as never) : (undefined as never);
    write(res, await endpoint({ method: req.method ?? '', path: pathOf(req), headers: req.headers, body }));
  };
}

function expressHandler(endpoint: Endpoint, limit: number): ExpressHandler {
  return (req, res, next) => {
    void (async () => {
      const raw = await rawBodyOf(req, limit);
      if (!('body' in raw)) {
        next(new TypeError('parsed' in raw ? PARSED_BODY_MESSAGE : CONSUMED_BODY_MESSAGE));
        return;
      }
      write(res, await endpoint({ method: req.method ?? '', path: pathOf(req), headers: req.headers, body: raw.body }));
    })().catch(next);
  };
}

/**
 * A `node:http` request listener for the access-token endpoint:
 * `http.createServer(createNodeHandler(options))`.
 * A body already parsed into an object, or a body stream something else already read
 * without leaving the raw body in `req.body`, answers `500 General Error` and `onError`
 * gets a `TypeError` saying how to keep the raw body.
 */
export function createNodeHandler(options: AccessTokenHandlerOptions): NodeListener {
  return nodeListener(createAccessTokenHandler(options), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

/**
 * An Express (4 or 5) handler for the access-token endpoint:
 * `app.post('/api/v1.0/access-token/b2b', createExpressMiddleware(options))`.
 * Works with no body parser on the route, or with `express.raw()` / `express.text()`. A body
 * already parsed into an object (`express.json()` ran first), or a body stream an earlier
 * middleware read without leaving the raw body in `req.body`, is a setup mistake: it goes
 * to `next(error)` with a message that says how to keep the raw body.
 */
export function createExpressMiddleware(options: AccessTokenHandlerOptions): ExpressHandler {
  return expressHandler(createAccessTokenHandler(options), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

/**
 * A `node:http` request listener for a call after the token (CVS inquiry or payment); see
 * {@link createTransactionHandler}. The path passed on includes the query, as it is signed.
 */
export function createNodeTransactionHandler<Body extends object = Readonly<Record<string, unknown>>>(options: TransactionHandlerOptions<Body>): NodeListener {
  return nodeListener(createTransactionHandler(options), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

/**
 * An Express handler for a call after the token:
 * `app.post('/api/v1.0/cvs/inquiry', createExpressTransactionMiddleware(options))`; same
 * raw-body rules as {@link createExpressMiddleware}.
 */
export function createExpressTransactionMiddleware<Body extends object = Readonly<Record<string, unknown>>>(options: TransactionHandlerOptions<Body>): ExpressHandler {
  return expressHandler(createTransactionHandler(options), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

export type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
export type { TransactionHandlerOptions } from '../server/transaction-handler.js';
