// NICEPAY's access-token endpoint in a Hono app, served on Node with @hono/node-server.
//
//   npm run build    (once, in this repository; merchants: npm install nicepay-nico hono @hono/node-server)
//   NICEPAY_CLIENT_KEY=IONPAYTEST NICEPAY_PUBLIC_KEY="$(cat nicepay-public.pem)" \
//   TOKEN_SECRET="$(node -e "console.log(crypto.randomBytes(32).toString('base64'))")" \
//   node examples/hono.mjs
//
// The same app runs on Bun, Deno or Cloudflare Workers: only step 4 (serving) changes.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createFetchHandler } from 'nicepay-nico/fetch';

// 1. Configuration from the environment. Fail at start-up, not on NICEPAY's first call.
function requireEnv(name, hint) {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    console.error(`Missing environment variable ${name}: ${hint}`);
    process.exit(1);
  }
  return value;
}

const clientKey = requireEnv('NICEPAY_CLIENT_KEY', 'the X-CLIENT-KEY NICEPAY sends, e.g. IONPAYTEST');
const publicKey = requireEnv('NICEPAY_PUBLIC_KEY', "NICEPAY's public key: bare base64 or PEM, as NICEPAY sent it");
const tokenSecret = requireEnv('TOKEN_SECRET', 'at least 32 random bytes, e.g. the output of: openssl rand -base64 32');
const sandbox = process.env.NICEPAY_SANDBOX === '1';
const port = Number(process.env.PORT || 3000); // 0: any free port
const host = process.env.HOST || '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0 for any free port), got ${process.env.PORT}`);
  process.exit(1);
}

// 2. The endpoint: (Request) => Promise<Response>. Created once; keys and the secret are
//    checked here, so a wrong key stops the app now.
let accessToken;
try {
  accessToken = createFetchHandler({
    clients: { [clientKey]: publicKey },
    tokenSecret, // built-in stateless tokens, valid 900 s; or issueToken: (ctx) => yourToken
    // NICEPAY's sandbox key is 1024-bit: accept it only when asked to, never in production.
    ...(sandbox ? { minModulusBits: 1024 } : {}),
    // Every refused call goes here (no signature, key or token is in the message).
    onError: (error, { status, responseCode }) => {
      console.error(`access-token ${status} ${responseCode}: ${error instanceof Error ? error.message : String(error)}`);
    },
  });
} catch (error) {
  console.error(`Configuration error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

// 3. The route. Hand over the untouched Request (c.req.raw): the handler reads the raw
//    body itself (at most 16 KiB). Do not call c.req.json() / c.req.text() before it.
const app = new Hono();
app.post('/api/v1.0/access-token/b2b', (c) => accessToken(c.req.raw));

// 4. Serve it on Node. The one "listening on" line is for you (and for the tests).
const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  console.log(`listening on http://${host.includes(':') ? `[${host}]` : host}:${info.port}`);
});

// 5. Stop cleanly on Ctrl-C or when the process manager asks.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections?.();
  });
}
