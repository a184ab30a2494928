// The whole NICO flow on one node:http server: the access token, then CVS inquiry and payment.
// Run: NICEPAY_PUBLIC_KEY=... NICEPAY_CLIENT_SECRET=... TOKEN_SECRET=... node examples/nico-server.mjs
// Plain JavaScript, type-checked as strict TypeScript (checkJs) by the package checks.
import http from 'node:http';
import { createAccessTokenIssuer, createMemoryClaimStore } from 'nicepay-nico';
import { createNodeHandler, createNodeTransactionHandler } from 'nicepay-nico/node';

/** An environment variable; unset gives '', which the handlers refuse at start-up, naming the client. @param {string} name */
const env = (name) => process.env[name] ?? '';
const CLIENT = process.env.NICEPAY_CLIENT_KEY ?? 'IONPAYTEST'; // NICEPAY's client id for you
const tokenSecret = env('TOKEN_SECRET'); // >= 32 bytes, shared by every instance

// Your own code: the bills and the payments (an in-memory toy here; your database in production).
// The body is NICEPAY's, not validated by the library (NICO's CVS fields are not published): check what you use.
const bills = new Map([['8880012345', { customerName: 'Budi', totalAmount: { value: '25000.00', currency: 'IDR' } }]]);
const payments = new Map();
/** @param {Readonly<Record<string, unknown>>} body */
const findBill = async (body) => {
  const bill = typeof body.paymentCode === 'string' ? bills.get(body.paymentCode) : undefined;
  return bill && { paymentCode: body.paymentCode, ...bill };
};
/** @param {Readonly<Record<string, unknown>>} body */
const markPaid = async (body) => {
  payments.set(String(body.paymentRequestId), body.paidAmount);
  return { paymentCode: body.paymentCode, paidAmount: body.paidAmount };
};

// 1. The access token: NICEPAY signs with its private key; you verify with its public key.
const accessToken = createNodeHandler({ clients: { [CLIENT]: env('NICEPAY_PUBLIC_KEY') }, tokenSecret });

// 2. The calls that carry the token, signed with the client secret.
const common = {
  clients: { [CLIENT]: { clientSecret: env('NICEPAY_CLIENT_SECRET') } }, // X-PARTNER-ID -> client secret
  tokens: createAccessTokenIssuer({ secret: tokenSecret }), // the tokens issued in step 1
  externalIds: createMemoryClaimStore(), // X-EXTERNAL-ID once per client per day, across both endpoints
  channelId: (/** @type {string} */ partnerId) => `${partnerId}01`, // NICEPAY's CHANNEL-ID: the client id + "01"
};
const inquiry = createNodeTransactionHandler({
  ...common,
  serviceCode: process.env.CVS_INQUIRY_SERVICE_CODE ?? '47', // the two digits NICEPAY gives you
  handle: async ({ body }, { answer }) => {
    const bill = await findBill(body); // your code, your fields
    return bill ? answer.ok(bill) : answer.fail('bill-not-found'); // 200xx00 / 404xx12, this endpoint's code
  },
});
const payment = createNodeTransactionHandler({
  ...common,
  serviceCode: process.env.CVS_PAYMENT_SERVICE_CODE ?? '48',
  idempotency: { key: ({ body }) => body.paymentRequestId }, // a retry of a payment gets the first answer again
  handle: async ({ body }, { answer }) => answer.ok(await markPaid(body)),
});

// Each handler answers every method on its path (a GET gets the SNAP 405); other paths get a JSON 404.
/** @type {Record<string, http.RequestListener>} */
const routes = { '/api/v1.0/access-token/b2b': accessToken, '/api/v1.0/cvs/inquiry': inquiry, '/api/v1.0/cvs/payment': payment };
/** @type {http.RequestListener} */
const notFound = (req, res) => {
  res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"responseCode":"4040000","responseMessage":"Not Found"}');
};
const server = http.createServer((req, res) => (routes[(req.url ?? '').split('?')[0] ?? ''] ?? notFound)(req, res));
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(`NICO endpoints on http://127.0.0.1:${port}`);
});
