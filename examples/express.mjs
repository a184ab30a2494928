// NICEPAY's three NICO endpoints (access token, CVS inquiry, CVS payment) in an Express 5
// app that parses JSON for every route with a global express.json(), the usual setup.
//
//   npm run build    (once, in this repository; merchants: npm install nicepay-nico express)
//   NICEPAY_CLIENT_KEY=IONPAYTEST NICEPAY_PUBLIC_KEY="$(cat nicepay-public.pem)" \
//   NICEPAY_CLIENT_SECRET="$(cat client-secret.txt)" \
//   CVS_INQUIRY_SERVICE_CODE=47 CVS_PAYMENT_SERVICE_CODE=48 \
//   TOKEN_SECRET="$(node -e "console.log(crypto.randomBytes(32).toString('base64'))")" \
//   node examples/express.mjs
//
// The one rule: NICEPAY's signatures cover the body exactly as sent, so the endpoints need
// the RAW body. A global express.json() turns it into an object; its verify hook keeps the
// bytes in req.rawBody, which the endpoints use (step 4). Without the hook every NICEPAY
// call is answered a SNAP 500 and onError says which line to change. (Or register the
// NICO routes before app.use(express.json()): they then read the body themselves.)
import express from 'express';
import { createAccessTokenIssuer, createMemoryClaimStore } from 'nicepay-nico';
import { createExpressMiddleware, createExpressTransactionMiddleware } from 'nicepay-nico/node';

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
const clientSecret = requireEnv('NICEPAY_CLIENT_SECRET', 'the client secret NICEPAY signs inquiry and payment with (HMAC-SHA512)');
const inquiryServiceCode = requireEnv('CVS_INQUIRY_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS inquiry');
const paymentServiceCode = requireEnv('CVS_PAYMENT_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS payment');
const tokenSecret = requireEnv('TOKEN_SECRET', 'at least 32 random bytes, e.g. the output of: openssl rand -base64 32');
const sandbox = process.env.NICEPAY_SANDBOX === '1';
const port = Number(process.env.PORT || 3000); // 0: any free port
const host = process.env.HOST || '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0 for any free port), got ${process.env.PORT}`);
  process.exit(1);
}

// Your own code: the bills and the payments (an in-memory toy here; your database in production).
const bills = new Map([['8880012345', { customerName: 'Budi', totalAmount: { value: '25000.00', currency: 'IDR' } }]]);
const findBill = async ({ paymentCode }) => (bills.has(paymentCode) ? { paymentCode, ...bills.get(paymentCode) } : undefined);
const markPaid = async ({ paymentCode, paymentRequestId, paidAmount }) => ({ paymentCode, paymentRequestId, paidAmount });

// Every refused call goes to the log, one line each (no signature, key or token is in it).
const logTo = (endpoint) => (error, { status, responseCode }) => {
  console.error(`${endpoint} ${status} ${responseCode}: ${error instanceof Error ? error.message : String(error)}`);
};

// 2. The three endpoints. Keys, secrets and service codes are checked here, so a wrong one
//    stops the app now instead of failing NICEPAY's call later.
let accessToken, inquiry, payment;
try {
  accessToken = createExpressMiddleware({
    clients: { [clientKey]: publicKey },
    tokenSecret, // built-in stateless tokens, valid 900 s; or issueToken: (ctx) => yourToken
    // NICEPAY's sandbox key is 1024-bit: accept it only when asked to, never in production.
    ...(sandbox ? { minModulusBits: 1024 } : {}),
    onError: logTo('access-token'),
  });
  const common = {
    clients: { [clientKey]: { clientSecret } }, // X-PARTNER-ID -> client secret
    tokens: createAccessTokenIssuer({ secret: tokenSecret }), // the tokens issued above
    externalIds: createMemoryClaimStore(), // X-EXTERNAL-ID once per client per day, across both endpoints
    channelId: (partnerId) => `${partnerId}01`, // NICEPAY's CHANNEL-ID: the client id + "01"
  };
  inquiry = createExpressTransactionMiddleware({
    ...common,
    serviceCode: inquiryServiceCode,
    onError: logTo('inquiry'),
    handle: async ({ body }, { answer }) => {
      const bill = await findBill(body); // your code, your fields
      return bill ? answer.ok(bill) : answer.fail('bill-not-found'); // 200xx00 / 404xx12
    },
  });
  payment = createExpressTransactionMiddleware({
    ...common,
    serviceCode: paymentServiceCode,
    idempotency: { key: ({ body }) => body.paymentRequestId }, // a retried payment gets the first answer again
    onError: logTo('payment'),
    handle: async ({ body }, { answer }) => answer.ok(await markPaid(body)),
  });
} catch (error) {
  console.error(`Configuration error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const app = express();
app.disable('x-powered-by'); // no need to tell callers what runs the server

// 3. JSON parsing for every route, keeping the raw bytes in req.rawBody for the signatures.
app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }));

// 4. The NICO routes. app.all, not app.post: every method is answered, a GET with the SNAP
//    405. The error handler after each answers a body express.json() refused (not JSON,
//    over its limit) as SNAP 400 JSON; without it NICEPAY would get Express's HTML page.
const nico = { '/api/v1.0/access-token/b2b': accessToken, '/api/v1.0/cvs/inquiry': inquiry, '/api/v1.0/cvs/payment': payment };
for (const [path, handler] of Object.entries(nico)) {
  app.all(path, handler);
  app.use(path, handler.bodyParserErrorHandler);
}

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
