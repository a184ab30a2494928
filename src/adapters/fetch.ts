/**
 * Fetch adapter: `(request: Request) => Promise<Response>`, for Hono, Next.js route
 * handlers, Cloudflare Workers, Deno and Bun.
 *
 * @example
 * ```ts
 * import { createFetchHandler } from 'nicepay-nico/fetch';
 * const accessToken = createFetchHandler({ clients: { IONPAYTEST: env.NICEPAY_PUBLIC_KEY }, tokenSecret: env.TOKEN_SECRET });
 * // Hono:        app.post('/api/v1.0/access-token/b2b', (c) => accessToken(c.req.raw));
 * // Next.js:     export const POST = accessToken;
 * // Deno / Bun:  Deno.serve(accessToken) / Bun.serve({ fetch: accessToken })
 * ```
 * @module nicepay-nico/fetch
 */
import { nodeCrypto } from '../crypto/native.js';
import { DEFAULT_MAX_BODY_BYTES, joinChunks } from '../protocol/body.js';
import { accessTokenHandlerOf, type AccessTokenHandlerOptions, type EndpointResponse } from '../server/access-token-handler.js';
import { transactionHandlerOf, type TransactionHandlerOptions } from '../server/transaction-handler.js';

/**
 * Read at most `limit + 1` bytes of a body stream: enough for the handler to see that a
 * body is too large without reading all of it.
 */
async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  return joinChunks(chunks, limit + 1);
}

/** Any endpoint of this package: request object in, response object out. */
type Endpoint = (request: { method: string; path: string; headers: Headers; body: Uint8Array }) => Promise<EndpointResponse>;

/**
 * What the Fetch handlers take besides the `Request`.
 * @category Adapters
 */
export interface FetchCallInit {
  /**
   * The request target exactly as it came on the wire (`/api/v1.0/cvs/inquiry?ref='A1'`),
   * when the server has it. A Fetch `Request` only has `request.url`, which the runtime has
   * already normalised (a `'` in the query becomes `%27`), and the symmetric signature
   * covers the path as sent; so pass it where you can, e.g. with `@hono/node-server`:
   * `inquiry(c.req.raw, { requestTarget: c.env.incoming.url })`. Default: the path and
   * query of `request.url`.
   */
  readonly requestTarget?: string | undefined;
}

/** The path and query of a URL, as text (no re-encoding); `/` for anything else. */
function pathOfUrl(url: string): string {
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^#]*)/.exec(url);
  if (!match) return url.startsWith('/') ? url : '/';
  const rest = match[1] ?? '';
  return rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
}

function fetchHandler(endpoint: Endpoint, limit: number): (request: Request, init?: FetchCallInit) => Promise<Response> {
  return async (request, init) => {
    let body: Uint8Array | undefined;
    if (request.bodyUsed) {
      // Read before it got here (e.g. `await request.json()` in a middleware): a setup
      // mistake, not the caller's. The endpoint refuses `undefined` (500) and reports the TypeError.
      body = undefined;
    } else {
      try {
        body = await readLimited(request, limit);
      } catch {
        body = new Uint8Array(0); // an aborted upload: the endpoint answers 400 for the empty body
      }
    }
    // The query is part of the signed path; the target as sent wins over request.url.
    const target = init?.requestTarget;
    const path = typeof target === 'string' && target !== '' ? pathOfUrl(target) : typeof request.url === 'string' ? pathOfUrl(request.url) : '/';
    const result = await endpoint({ method: request.method, path, headers: request.headers, body: body as Uint8Array });
    return new Response(result.body, { status: result.status, headers: result.headers });
  };
}

/**
 * Create a Fetch-API access-token endpoint. Options are those of
 * {@link nicepay-nico!createAccessTokenHandler | createAccessTokenHandler}; the body is read raw, at most `maxBodyBytes + 1` bytes.
 * The returned function resolves to the SNAP answer as a `Response` and never rejects.
 *
 * Crypto: `nodeCrypto` unless `options.crypto` says otherwise, that is the runtime's
 * `node:crypto` on Node, Bun and Cloudflare Workers with `nodejs_compat`, pure JavaScript
 * elsewhere (same verdicts; see "Speed and size" in the README).
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options (see
 * {@link nicepay-nico!createAccessTokenHandler | createAccessTokenHandler}).
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createFetchHandler } from 'nicepay-nico/fetch';
 *
 * const accessToken = createFetchHandler({
 *   clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! },
 *   tokenSecret: process.env.TOKEN_SECRET!, // >= 32 bytes
 * });
 * const app = new Hono();
 * app.all('/api/v1.0/access-token/b2b', (c) => accessToken(c.req.raw)); // all: a GET gets the SNAP 405
 * ```
 * @category Adapters
 */
export function createFetchHandler(options: AccessTokenHandlerOptions): (request: Request, init?: FetchCallInit) => Promise<Response> {
  return fetchHandler(accessTokenHandlerOf(options, nodeCrypto), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

/**
 * Create a Fetch-API endpoint for a call after the token (CVS inquiry or payment); options
 * are those of {@link nicepay-nico!createTransactionHandler | createTransactionHandler}. The signed path is taken from
 * `init.requestTarget` when given (the target as sent), else from `request.url`, which
 * the runtime may have re-encoded (see {@link FetchCallInit}). The returned function never
 * rejects.
 *
 * Crypto as {@link createFetchHandler}: `nodeCrypto` unless `options.crypto` says otherwise.
 *
 * @throws {@link !TypeError | TypeError} at creation for bad options (see
 * {@link nicepay-nico!createTransactionHandler | createTransactionHandler}).
 *
 * @example
 * ```ts
 * import { serve, type HttpBindings } from '@hono/node-server';
 * import { Hono } from 'hono';
 * import { createFetchTransactionHandler } from 'nicepay-nico/fetch';
 *
 * const inquiry = createFetchTransactionHandler({
 *   serviceCode: '47', // the CVS inquiry service code NICEPAY gave you
 *   clients, tokens, externalIds, // shared with the payment endpoint
 *   handle: async ({ body }, { answer }) => answer.ok(await findBill(body)),
 * });
 * const app = new Hono<{ Bindings: HttpBindings }>();
 * // the request target as sent (@hono/node-server has it), so the signed query is checked as sent:
 * app.all('/api/v1.0/cvs/inquiry', (c) => inquiry(c.req.raw, { requestTarget: c.env.incoming.url }));
 * serve(app);
 * ```
 * @category Adapters
 */
export function createFetchTransactionHandler<Body extends object = Readonly<Record<string, unknown>>>(options: TransactionHandlerOptions<Body>): (request: Request, init?: FetchCallInit) => Promise<Response> {
  return fetchHandler(transactionHandlerOf(options, nodeCrypto), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

/** @category Token */
export type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
/** @category Inquiry & payment */
export type { TransactionHandlerOptions } from '../server/transaction-handler.js';
