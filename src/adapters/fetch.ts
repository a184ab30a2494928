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
 * @module
 */
import { DEFAULT_MAX_BODY_BYTES, joinChunks } from '../protocol/body.js';
import { createAccessTokenHandler, type AccessTokenHandlerOptions, type EndpointResponse } from '../server/access-token-handler.js';
import { createTransactionHandler, type TransactionHandlerOptions } from '../server/transaction-handler.js';

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

function fetchHandler(endpoint: Endpoint, limit: number): (request: Request) => Promise<Response> {
  return async (request) => {
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
    let path = '/';
    try {
      const url = new URL(request.url);
      path = url.pathname + url.search; // the query is part of the signed path
    } catch {
      // a relative or odd URL: keep "/"
    }
    const result = await endpoint({ method: request.method, path, headers: request.headers, body: body as Uint8Array });
    return new Response(result.body, { status: result.status, headers: result.headers });
  };
}

/**
 * Create a Fetch-API access-token endpoint. Options are those of
 * {@link createAccessTokenHandler}; the body is read raw, at most `maxBodyBytes + 1` bytes.
 */
export function createFetchHandler(options: AccessTokenHandlerOptions): (request: Request) => Promise<Response> {
  return fetchHandler(createAccessTokenHandler(options), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

/**
 * Create a Fetch-API endpoint for a call after the token (CVS inquiry or payment); options
 * are those of {@link createTransactionHandler}.
 *
 * @example
 * ```ts
 * app.post('/api/v1.0/cvs/inquiry', (c) => inquiry(c.req.raw)); // Hono
 * ```
 */
export function createFetchTransactionHandler<Body extends object = Readonly<Record<string, unknown>>>(options: TransactionHandlerOptions<Body>): (request: Request) => Promise<Response> {
  return fetchHandler(createTransactionHandler(options), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
}

export type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
export type { TransactionHandlerOptions } from '../server/transaction-handler.js';
