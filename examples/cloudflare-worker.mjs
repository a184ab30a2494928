// NICEPAY's access-token endpoint as a Cloudflare Worker (module syntax).
//
// wrangler.toml:
//   name = "nicepay-nico"
//   main = "examples/cloudflare-worker.mjs"   # or your own copy of this file
//   compatibility_date = "2025-01-01"
//   [vars]
//   NICEPAY_CLIENT_KEY = "IONPAYTEST"
//   # NICEPAY_SANDBOX = "1"                   # only to accept NICEPAY's 1024-bit sandbox key
// Secrets (never in wrangler.toml):
//   npx wrangler secret put NICEPAY_PUBLIC_KEY
//   npx wrangler secret put TOKEN_SECRET       # at least 32 random bytes
//
// No Node compatibility flag is needed: the package uses no node: modules.
import { createFetchHandler } from 'nicepay-nico/fetch';

const ACCESS_TOKEN_PATH = '/api/v1.0/access-token/b2b';

// 1. The handler is created once per isolate and reused by every request: keys are
//    imported (and checked) once, not on every call. The environment of a Worker does
//    not change within an isolate, so caching on the first env seen is safe.
let accessToken;

function accessTokenHandler(env) {
  if (accessToken) return accessToken;
  for (const name of ['NICEPAY_CLIENT_KEY', 'NICEPAY_PUBLIC_KEY', 'TOKEN_SECRET']) {
    if (typeof env[name] !== 'string' || env[name].trim() === '') {
      // Thrown on the first request: the Worker answers 500 and the message is in the logs.
      throw new Error(`Missing Worker variable or secret ${name}`);
    }
  }
  accessToken = createFetchHandler({
    clients: { [env.NICEPAY_CLIENT_KEY]: env.NICEPAY_PUBLIC_KEY },
    tokenSecret: env.TOKEN_SECRET, // built-in stateless tokens, valid 900 s
    // NICEPAY's sandbox key is 1024-bit: accept it only when asked to, never in production.
    ...(env.NICEPAY_SANDBOX === '1' ? { minModulusBits: 1024 } : {}),
    // Every refused call goes to the Worker's logs (no signature, key or token is in the message).
    onError: (error, { status, responseCode }) => {
      console.error(`access-token ${status} ${responseCode}: ${error instanceof Error ? error.message : String(error)}`);
    },
  });
  return accessToken;
}

export default {
  // 2. Route by path; the handler itself answers 405 for a method other than POST. It
  //    reads the raw body (at most 16 KiB) from the untouched Request.
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === ACCESS_TOKEN_PATH) return accessTokenHandler(env)(request);
    return new Response('Not Found', { status: 404 });
  },
};
