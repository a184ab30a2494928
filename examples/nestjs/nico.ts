// The three NICO endpoints, configured from the environment: created when the app starts,
// so a missing or wrong key, secret or service code stops it before NICEPAY's first call.
import { createAccessTokenIssuer, createMemoryClaimStore } from 'nicepay-nico';
import { createExpressMiddleware, createExpressTransactionMiddleware, type ExpressMiddleware } from 'nicepay-nico/node';

function requireEnv(name: string, hint: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    console.error(`Missing environment variable ${name}: ${hint}`);
    process.exit(1);
  }
  return value;
}

// Your own code: the bills and the payments (an in-memory toy here; your database in production).
type CvsBody = { readonly paymentCode?: unknown; readonly paymentRequestId?: unknown; readonly paidAmount?: unknown };
const bills = new Map([['8880012345', { customerName: 'Budi', totalAmount: { value: '25000.00', currency: 'IDR' } }]]);
const findBill = async ({ paymentCode }: CvsBody) => {
  const bill = typeof paymentCode === 'string' ? bills.get(paymentCode) : undefined;
  return bill && { paymentCode, ...bill };
};
const markPaid = async ({ paymentCode, paymentRequestId, paidAmount }: CvsBody) => ({ paymentCode, paymentRequestId, paidAmount });

// Every refused call goes to the log, one line each (no signature, key or token is in it).
const logTo = (endpoint: string) => (error: unknown, { status, responseCode }: { status: number; responseCode: string }) => {
  console.error(`${endpoint} ${status} ${responseCode}: ${error instanceof Error ? error.message : String(error)}`);
};

/** The paths NICEPAY calls. */
export const NICO_PATHS = { accessToken: '/api/v1.0/access-token/b2b', inquiry: '/api/v1.0/cvs/inquiry', payment: '/api/v1.0/cvs/payment' } as const;

/** The three endpoints: each an Express middleware, with its `bodyParserErrorHandler`. */
export type NicoEndpoints = Readonly<Record<keyof typeof NICO_PATHS, ExpressMiddleware>>;

export function createNicoEndpoints(): NicoEndpoints {
  const clientKey = requireEnv('NICEPAY_CLIENT_KEY', 'the X-CLIENT-KEY NICEPAY sends, e.g. IONPAYTEST');
  const publicKey = requireEnv('NICEPAY_PUBLIC_KEY', "NICEPAY's public key: bare base64 or PEM, as NICEPAY sent it");
  const clientSecret = requireEnv('NICEPAY_CLIENT_SECRET', 'the client secret NICEPAY signs inquiry and payment with (HMAC-SHA512)');
  const tokenSecret = requireEnv('TOKEN_SECRET', 'at least 32 random bytes, e.g. the output of: openssl rand -base64 32');
  const common = {
    clients: { [clientKey]: { clientSecret } }, // X-PARTNER-ID -> client secret
    tokens: createAccessTokenIssuer({ secret: tokenSecret }), // the tokens the access-token endpoint issues
    externalIds: createMemoryClaimStore(), // X-EXTERNAL-ID once per client per day, across both endpoints
    channelId: (partnerId: string) => `${partnerId}01`, // NICEPAY's CHANNEL-ID: the client id + "01"
  };
  return {
    accessToken: createExpressMiddleware({
      clients: { [clientKey]: publicKey },
      tokenSecret,
      ...(process.env.NICEPAY_SANDBOX === '1' ? { minModulusBits: 1024 } : {}), // NICEPAY's 1024-bit sandbox key, never in production
      onError: logTo('access-token'),
    }),
    inquiry: createExpressTransactionMiddleware<CvsBody>({
      ...common,
      serviceCode: requireEnv('CVS_INQUIRY_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS inquiry'),
      onError: logTo('inquiry'),
      handle: async ({ body }, { answer }) => {
        const bill = await findBill(body);
        return bill ? answer.ok(bill) : answer.fail('bill-not-found'); // 200xx00 / 404xx12
      },
    }),
    payment: createExpressTransactionMiddleware<CvsBody>({
      ...common,
      serviceCode: requireEnv('CVS_PAYMENT_SERVICE_CODE', 'the two-digit service code NICEPAY gave you for CVS payment'),
      idempotency: { key: ({ body }) => body.paymentRequestId }, // a retried payment gets the first answer again
      onError: logTo('payment'),
      handle: async ({ body }, { answer }) => answer.ok(await markPaid(body)),
    }),
  };
}
