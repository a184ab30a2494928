// The NICO configuration the three route files share, read from the environment on the
// FIRST REQUEST (each route passes a function to nicepay-nico/next): `next build` imports the
// route modules without any of these variables, and a missing one is a 500 General Error
// (logged with its name) until it is set, not a failed build.
import { createAccessTokenIssuer } from 'nicepay-nico';

export function requireEnv(name, hint) {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') throw new Error(`Missing environment variable ${name}: ${hint}`);
  return value;
}

// Every refused call goes here (no signature, key or token is in the message).
export const logTo = (endpoint) => (error, { status, responseCode }) => {
  console.error(`${endpoint} ${status} ${responseCode}: ${error instanceof Error ? error.message : String(error)}`);
};

/** The access-token endpoint's options. */
export function accessTokenOptions() {
  return {
    clients: { [requireEnv('NICEPAY_CLIENT_KEY', 'the X-CLIENT-KEY NICEPAY sends, e.g. IONPAYTEST')]: requireEnv('NICEPAY_PUBLIC_KEY', "NICEPAY's public key, base64 or PEM") },
    tokenSecret: requireEnv('TOKEN_SECRET', 'at least 32 random bytes: openssl rand -base64 32'), // built-in stateless tokens
    ...(process.env.NICEPAY_SANDBOX === '1' ? { minModulusBits: 1024 } : {}), // NICEPAY's 1024-bit sandbox key: never in production
    onError: logTo('access-token'),
  };
}

/**
 * What inquiry and payment share: who may call (X-PARTNER-ID -> client secret) and the
 * tokens issued by the access-token route (stateless: the same TOKEN_SECRET verifies them).
 * The replay guard, X-EXTERNAL-ID and idempotency stores are the package's defaults, one
 * per process. Several instances: pass Redis stores here (createRedisClaimStore,
 * createRedisIdempotencyStore).
 */
export function transactionCommon(endpoint) {
  return {
    clients: { [requireEnv('NICEPAY_CLIENT_KEY', 'the X-CLIENT-KEY NICEPAY sends')]: { clientSecret: requireEnv('NICEPAY_CLIENT_SECRET', 'the client secret NICEPAY gave you') } },
    tokens: createAccessTokenIssuer({ secret: requireEnv('TOKEN_SECRET', 'the same secret as the access-token route') }),
    channelId: (partnerId) => `${partnerId}01`, // NICEPAY's CHANNEL-ID: the client id + "01"
    onError: logTo(endpoint),
  };
}

// Your bills: a stand-in for your database (kept on globalThis: Next.js may load this file
// once per route). The probe's and the demo's pay number is known.
const BILLS = Symbol.for('nicepay-nico-example.bills');
globalThis[BILLS] ??= new Map([['8880012345', { customerName: 'Budi Santoso', totalAmount: { value: '25000.00', currency: 'IDR' }, paid: false }]]);
export const bills = globalThis[BILLS];
