// NICEPAY's NICO endpoints (access token, CVS inquiry, CVS payment) in a Fastify 5 app that
// also has ordinary JSON routes.
//
//   npm run build    (once, in this repository; merchants: npm install nicepay-nico fastify)
//   NICEPAY_CLIENT_KEY=IONPAYTEST NICEPAY_PUBLIC_KEY="$(cat nicepay-public.pem)" \
//   NICEPAY_CLIENT_SECRET="..." CVS_INQUIRY_SERVICE_CODE=47 CVS_PAYMENT_SERVICE_CODE=48 \
//   TOKEN_SECRET="$(node -e "console.log(crypto.randomBytes(32).toString('base64'))")" \
//   node examples/fastify.mjs
//
// The plugin is encapsulated: inside it, every body is read raw (the signatures cover the
// bytes as sent); outside it, Fastify parses JSON as usual (see /orders below). Each
// endpoint answers every method with a SNAP body (a GET gets 405 4057300), and Fastify's own
// errors on those paths become SNAP errors too.
import Fastify from 'fastify';
import { createAccessTokenIssuer, createMemoryClaimStore } from 'nicepay-nico';
import { fastifyNico } from 'nicepay-nico/fastify';

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
const clientSecret = requireEnv('NICEPAY_CLIENT_SECRET', 'the client secret NICEPAY gave you (HMAC-SHA512 signatures of inquiry and payment)');
const tokenSecret = requireEnv('TOKEN_SECRET', 'at least 32 random bytes, e.g. the output of: openssl rand -base64 32');
const inquiryServiceCode = requireEnv('CVS_INQUIRY_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS inquiry');
const paymentServiceCode = requireEnv('CVS_PAYMENT_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS payment');
const sandbox = process.env.NICEPAY_SANDBOX === '1';
const port = Number(process.env.PORT || 3000); // 0: any free port
const host = process.env.HOST || '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0 for any free port), got ${process.env.PORT}`);
  process.exit(1);
}

// Every refused call goes here (no signature, key or token is in the message).
const logTo = (endpoint) => (error, { status, responseCode }) => {
  console.error(`${endpoint} ${status} ${responseCode}: ${error instanceof Error ? error.message : String(error)}`);
};

// 2. Your bills: a stand-in for your database. The probe's and the demo's pay number is known.
const bills = new Map([['8880012345', { customerName: 'Budi Santoso', totalAmount: { value: '25000.00', currency: 'IDR' }, paid: false }]]);

// 3. The calls after the token share these: who may call (X-PARTNER-ID -> client secret),
//    the tokens issued by the access-token endpoint, one X-EXTERNAL-ID store for both.
const common = {
  clients: { [clientKey]: { clientSecret } },
  tokens: createAccessTokenIssuer({ secret: tokenSecret }),
  externalIds: createMemoryClaimStore(), // X-EXTERNAL-ID once per client per day, across both endpoints
  channelId: (partnerId) => `${partnerId}01`, // NICEPAY's CHANNEL-ID: the client id + "01"
};

const app = Fastify({ logger: false });

// 4. The plugin: three routes. The options are checked when it is registered, so a wrong
//    key or secret stops the app at start-up (app.listen rejects).
app.register(fastifyNico, {
  accessToken: {
    clients: { [clientKey]: publicKey },
    tokenSecret, // built-in stateless tokens, valid 900 s
    ...(sandbox ? { minModulusBits: 1024 } : {}), // NICEPAY's 1024-bit sandbox key: never in production
    onError: logTo('access-token'),
  },
  inquiry: {
    ...common,
    serviceCode: inquiryServiceCode,
    onError: logTo('inquiry'),
    handle: ({ body }, { answer }) => {
      const bill = typeof body.paymentCode === 'string' ? bills.get(body.paymentCode) : undefined;
      if (!bill) return answer.fail('bill-not-found');
      if (bill.paid) return answer.fail('paid-bill');
      return answer.ok({ paymentCode: body.paymentCode, customerName: bill.customerName, totalAmount: bill.totalAmount });
    },
  },
  payment: {
    ...common,
    serviceCode: paymentServiceCode,
    onError: logTo('payment'),
    idempotency: { key: ({ body }) => body.paymentRequestId }, // NICEPAY's retry gets the same answer
    handle: ({ body }, { answer }) => {
      const bill = typeof body.paymentCode === 'string' ? bills.get(body.paymentCode) : undefined;
      if (!bill) return answer.fail('bill-not-found');
      if (bill.paid) return answer.fail('paid-bill');
      bill.paid = true;
      return answer.ok({ paymentCode: body.paymentCode, paymentRequestId: body.paymentRequestId, paidAmount: body.paidAmount });
    },
  },
});

// 5. Your other routes, with Fastify's normal JSON parsing.
app.get('/health', async () => ({ status: 'ok' }));
app.post('/orders', async (request) => ({ status: 'ok', received: request.body ?? null }));

// 6. Serve it. The one "listening on" line is for you (and for the tests).
try {
  await app.listen({ port, host });
} catch (error) {
  console.error(`Cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const { port: actualPort } = app.server.address(); // the real port, also when PORT=0
console.log(`listening on http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`);

// 7. Stop cleanly on Ctrl-C or when the process manager asks.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
