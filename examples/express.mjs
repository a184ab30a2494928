// NICEPAY's access-token endpoint in an Express 5 app that also has ordinary JSON routes.
//
//   npm run build    (once, in this repository; merchants: npm install nicepay-nico express)
//   NICEPAY_CLIENT_KEY=IONPAYTEST NICEPAY_PUBLIC_KEY="$(cat nicepay-public.pem)" \
//   TOKEN_SECRET="$(node -e "console.log(crypto.randomBytes(32).toString('base64'))")" \
//   node examples/express.mjs
//
// The one rule: the access-token route needs the RAW body. express.json() turns the body
// into an object, and the middleware then refuses the request (next(error), a 500) with a
// message saying how to fix the setup. So either register the access-token route BEFORE
// app.use(express.json()), as below, or put express.json() only on the routes that need it.
import express from 'express';
import { createExpressMiddleware } from 'nicepay-nico/node';

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

// 2. The access-token middleware. Keys and the secret are checked here, so a wrong key
//    stops the app now instead of failing NICEPAY's call later.
let accessToken;
try {
  accessToken = createExpressMiddleware({
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

const app = express();
app.disable('x-powered-by'); // no need to tell callers what runs the server

// 3. The access-token route FIRST, with no body parser: the middleware reads the raw body
//    itself (at most 16 KiB). With a raw parser it works too:
//      app.post('/api/v1.0/access-token/b2b', express.raw({ type: '*/*' }), accessToken);
app.post('/api/v1.0/access-token/b2b', accessToken);

// 4. Then JSON parsing for every other route. (Or route by route:
//      app.post('/orders', express.json(), (req, res) => { ... });)
app.use(express.json());

// 5. Your other routes. /health answers GET, and echoes a JSON body on POST to show that
//    express.json() is at work here.
app.get('/health', (req, res) => {
  res.json({ status: 'ok' });
});
app.post('/health', (req, res) => {
  res.json({ status: 'ok', received: req.body ?? null });
});

// 6. Serve it. The one "listening on" line is for you (and for the tests).
const server = app.listen(port, host, (error) => {
  if (error) {
    console.error(`Cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  }
  const { port: actualPort } = server.address(); // the real port, also when PORT=0
  console.log(`listening on http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`);
});

// 7. Stop cleanly on Ctrl-C or when the process manager asks.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
