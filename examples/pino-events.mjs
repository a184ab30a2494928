// NICEPAY's NICO endpoints on a plain node:http server, every call logged by pino as one
// JSON line: the handlers' onEvent gives one structured event per call, success included.
//
//   npm run build    (once, in this repository; merchants: npm install nicepay-nico pino)
//   NICEPAY_CLIENT_KEY=IONPAYTEST NICEPAY_PUBLIC_KEY="$(cat nicepay-public.pem)" \
//   TOKEN_SECRET="$(node -e "console.log(crypto.randomBytes(32).toString('base64'))")" \
//   node examples/pino-events.mjs
//
// With NICEPAY_CLIENT_SECRET, CVS_INQUIRY_SERVICE_CODE and CVS_PAYMENT_SERVICE_CODE set, it
// also answers POST /api/v1.0/cvs/inquiry and /api/v1.0/cvs/payment (a toy bill table).
//
// Each call is one line on stdout, e.g.
//   {"level":30,"time":1731466800000,"pid":4242,"hostname":"web-1","endpoint":"access-token",
//    "serviceCode":"73","status":401,"responseCode":"4017300","reason":"INVALID_SIGNATURE",
//    "field":null,"outcome":"refused","client":"IONPAYTEST","clientVerified":false,
//    "externalId":null,"idempotentReplay":false,"latencyMs":0.41,"route":"access-token",
//    "msg":"nicepay call"}
// An event never holds a token, a signature, a secret or the body, so it can go to any log.
import http from 'node:http';
import pino from 'pino';
import { createAccessTokenIssuer } from 'nicepay-nico';
import { createNodeHandler, createNodeTransactionHandler } from 'nicepay-nico/node';

const logger = pino(); // JSON lines on stdout; in production add pino's redact or transport options as you like

// 1. Configuration from the environment. Fail at start-up, not on NICEPAY's first call.
function requireEnv(name, hint) {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    logger.fatal({ variable: name }, `Missing environment variable ${name}: ${hint}`);
    process.exit(1);
  }
  return value;
}

const clientKey = requireEnv('NICEPAY_CLIENT_KEY', 'the X-CLIENT-KEY NICEPAY sends, e.g. IONPAYTEST');
const publicKey = requireEnv('NICEPAY_PUBLIC_KEY', "NICEPAY's public key: bare base64 or PEM, as NICEPAY sent it");
const tokenSecret = requireEnv('TOKEN_SECRET', 'at least 32 random bytes, e.g. the output of: openssl rand -base64 32');
const clientSecret = process.env.NICEPAY_CLIENT_SECRET;
const sandbox = process.env.NICEPAY_SANDBOX === '1';
const port = Number(process.env.PORT || 3000); // 0: any free port
const host = process.env.HOST || '127.0.0.1';

// 2. The observers. onEvent: one line per call. onError: the internal error behind a 500
//    (the event already says what was refused, so refusals are not logged twice).
const observe = (route) => ({
  onEvent: (event) => logger.info({ ...event, route }, 'nicepay call'),
  onError: (error, { status, responseCode }) => {
    if (status >= 500 || error?.name === 'StoreError' || error?.name === 'OnEventError') {
      logger.error({ err: error, status, responseCode, route }, 'nicepay failure');
    }
  },
});

// 3. The endpoints. Keys and secrets are checked here, so a wrong one stops the server now.
const routes = {};
try {
  routes['/api/v1.0/access-token/b2b'] = createNodeHandler({
    clients: { [clientKey]: publicKey },
    tokenSecret,
    ...(sandbox ? { minModulusBits: 1024 } : {}), // NICEPAY's sandbox key is 1024-bit
    ...observe('access-token'),
  });
  if (clientSecret !== undefined) {
    const bills = new Map([['8880012345', { value: '25000.00', currency: 'IDR' }]]); // your database
    const common = {
      clients: { [clientKey]: { clientSecret } },
      tokens: createAccessTokenIssuer({ secret: tokenSecret }),
    };
    routes['/api/v1.0/cvs/inquiry'] = createNodeTransactionHandler({
      ...common,
      serviceCode: requireEnv('CVS_INQUIRY_SERVICE_CODE', 'the two-digit inquiry service code NICEPAY gave you'),
      handle: ({ body }, { answer }) => {
        const amount = bills.get(String(body.paymentCode));
        return amount ? answer.ok({ paymentCode: body.paymentCode, totalAmount: amount }) : answer.fail('bill-not-found');
      },
      ...observe('inquiry'),
    });
    routes['/api/v1.0/cvs/payment'] = createNodeTransactionHandler({
      ...common,
      serviceCode: requireEnv('CVS_PAYMENT_SERVICE_CODE', 'the two-digit payment service code NICEPAY gave you'),
      idempotency: { key: ({ body }) => body.paymentRequestId }, // a retry of a payment gets the same answer
      handle: ({ body }, { answer }) => {
        const amount = bills.get(String(body.paymentCode));
        if (!amount) return answer.fail('bill-not-found');
        return body.paidAmount?.value === amount.value ? answer.ok({ paymentCode: body.paymentCode }) : answer.fail('invalid-amount');
      },
      ...observe('payment'),
    });
  }
} catch (error) {
  logger.fatal({ err: error }, 'configuration error');
  process.exit(1);
}

// 4. Serve them; anything else is a plain 404.
const server = http.createServer((req, res) => {
  const route = routes[(req.url ?? '/').split('?')[0]];
  if (route) return route(req, res);
  res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
});
server.listen(port, host, () => {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${server.address().port}`;
  logger.info({ url, routes: Object.keys(routes) }, `listening on ${url}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
