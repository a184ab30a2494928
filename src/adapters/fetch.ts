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
import { DEFAULT_MAX_BODY_BYTES } from '../protocol/body.js';
import { createAccessTokenHandler, type AccessTokenHandlerOptions } from '../server/access-token-handler.js';

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
  const out = new Uint8Array(Math.min(total, limit + 1));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, out.length - offset);
    out.set(part, offset);
    offset += part.length;
    if (offset === out.length) break;
  }
  return out;
}

/**
 * Create a Fetch-API access-token endpoint. Options are those of
 * {@link createAccessTokenHandler}; the body is read raw, at most `maxBodyBytes + 1` bytes.
 */
export function createFetchHandler(options: AccessTokenHandlerOptions): (request: Request) => Promise<Response> {
  const handle = createAccessTokenHandler(options);
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (request) => {
    let body: Uint8Array | undefined;
    if (request.bodyUsed) {
      // Read before it got here (e.g. `await request.json()` in a middleware): a setup
      // mistake, not the caller's. The handler refuses `undefined` (500) and reports the TypeError.
      body = undefined;
    } else {
      try {
        body = await readLimited(request, limit);
      } catch {
        body = new Uint8Array(0); // an aborted upload: the handler answers 400 for the empty body
      }
    }
    const path = (() => {
      try {
        return new URL(request.url).pathname;
      } catch {
        return undefined;
      }
    })();
    const result = await handle({ method: request.method, ...(path === undefined ? {} : { path }), headers: request.headers, body: body as Uint8Array });
    return new Response(result.body, { status: result.status, headers: result.headers });
  };
}

export type { AccessTokenHandlerOptions } from '../server/access-token-handler.js';
