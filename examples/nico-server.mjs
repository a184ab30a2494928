// The whole NICO flow on one node:http server: the access token, then CVS inquiry and payment.
// Run: NICEPAY_PUBLIC_KEY=... NICEPAY_CLIENT_SECRET=... TOKEN_SECRET=... node examples/nico-server.mjs
import http from 'node:http';
import { createAccessTokenIssuer, createMemoryClaimStore } from 'nicepay-nico';
import { createNodeHandler, createNodeTransactionHandler } from 'nicepay-nico/node';

const CLIENT = process.env.NICEPAY_CLIENT_KEY ?? 'IONPAYTEST'; // NICEPAY's client id for you
const tokenSecret = process.env.TOKEN_SECRET; // >= 32 bytes, shared by every instance

// Your own code: the bills and the payments (an in-memory toy here; your database in production).
const bills = new Map([['8880012345', { customerName: 'Budi', totalAmount: { value: '25000.00', currency: 'IDR' } }]]);
const payments = new Map();
const findBill = async (body) => (bills.has(body.paymentCode) ? { paymentCode: body.paymentCode, ...bills.get(body.paymentCode) } : undefined);
const markPaid = async (body) => {
  payments.set(body.paymentRequestId, body.paidAmount);
  return { paymentCode: body.paymentCode, paidAmount: body.paidAmount };
};

// 1. The access token: NICEPAY signs with its private key; you verify with its public key.
const accessToken = createNodeHandler({ clients: { [CLIENT]: process.env.NICEPAY_PUBLIC_KEY }, tokenSecret });

// 2. The calls that carry the token, signed with the client secret.
const common = {
  clients: { [CLIENT]: { clientSecret: process.env.NICEPAY_CLIENT_SECRET } }, // X-PARTNER-ID -> client secret
  tokens: createAccessTokenIssuer({ secret: tokenSecret }), // the tokens issued in step 1
  externalIds: createMemoryClaimStore(), // X-EXTERNAL-ID once per client per day, across both endpoints
  channelId: (partnerId) => `${partnerId}01`, // NICEPAY's CHANNEL-ID: the client id + "01"
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
const routes = { '/api/v1.0/access-token/b2b': accessToken, '/api/v1.0/cvs/inquiry': inquiry, '/api/v1.0/cvs/payment': payment };
const notFound = (req, res) => res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"responseCode":"4040000","responseMessage":"Not Found"}');
const server = http.createServer((req, res) => (routes[(req.url ?? '').split('?')[0]] ?? notFound)(req, res));
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => console.log(`NICO endpoints on http://127.0.0.1:${server.address().port}`));
