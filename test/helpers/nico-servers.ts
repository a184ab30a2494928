/**
 * Whole-NICO merchant servers for the CLI's `probe` and `simulate` tests: the access-token,
 * CVS inquiry and CVS payment endpoints on one origin, built with the library exactly as a
 * merchant would (createNodeHandler, createNodeTransactionHandler, answer.ok / answer.fail),
 * and the same server with one deliberate defect each. Every server listens on
 * 127.0.0.1:0.
 *
 * Routing is `app.all`-like: each endpoint answers every method on its path (so a GET gets
 * the SNAP `405`), and any other path gets a JSON `404`
 * `{"responseCode":"4040000","responseMessage":"Not Found"}`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNodeHandler,
  createNodeTransactionHandler,
  type NodeListener,
  type NodeRequestLike,
  type NodeResponseLike,
} from '../../src/adapters/node.js';
import {
  createAccessTokenIssuer,
  createMemoryClaimStore,
  createMemoryIdempotencyStore,
  type AccessTokenIssuer,
  type ClaimStore,
  type TokenVerifier,
  type TransactionClient,
  type TransactionHandlerOptions,
} from '../../src/index.js';
import { decodeSymmetricSignature } from '../../src/protocol/symmetric.js';
import { listen } from './broken-servers.js';

export const ACCESS_TOKEN_PATH = '/api/v1.0/access-token/b2b';
export const INQUIRY_PATH = '/api/v1.0/cvs/inquiry';
export const PAYMENT_PATH = '/api/v1.0/cvs/payment';
/** The service codes the servers use (NICO's pages do not print them; NICEPAY gives them to the merchant). */
export const INQUIRY_SERVICE_CODE = '47';
export const PAYMENT_SERVICE_CODE = '48';
/** The payment code of the one bill the servers know, unless `payNo` says otherwise. */
export const DEFAULT_PAY_NO = '8880012345';
/** The known bill's fields, as the inquiry answers them (plus `paymentCode`). */
export const BILL = { customerName: 'Budi Santoso', totalAmount: { value: '25000.00', currency: 'IDR' } } as const;
/** The answer to a path that is not a NICO endpoint. */
export const NOT_FOUND_BODY = '{"responseCode":"4040000","responseMessage":"Not Found"}';

// --- Keys --------------------------------------------------------------------------------

/** One of NICEPAY's clients: NICEPAY's role signs with the private key and the client secret; the server knows the public key and the secret. */
export interface NicoClientKeys {
  readonly clientKey: string;
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`), RSA-2048. */
  readonly privateKeyPem: string;
  /** SPKI PEM (`BEGIN PUBLIC KEY`). */
  readonly publicKeyPem: string;
  /** The client secret for HMAC-SHA512 signatures (base64 of 64 random bytes, like NICEPAY's). */
  readonly clientSecret: string;
}

/** The two clients every server knows: `IONPAYTEST` first, then `OTHERCLIENT`. */
export interface NicoKeys {
  readonly clients: readonly [NicoClientKeys, NicoClientKeys];
}

export const CLIENT_KEYS = ['IONPAYTEST', 'OTHERCLIENT'] as const;

let generated: NicoKeys | undefined;

function generateClient(clientKey: string): NicoClientKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    clientKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    clientSecret: randomBytes(64).toString('base64'),
  };
}

/** The keys of `IONPAYTEST` and `OTHERCLIENT`, generated once per process (RSA key generation is slow). */
export function makeNicoKeys(): NicoKeys {
  generated ??= { clients: [generateClient(CLIENT_KEYS[0]), generateClient(CLIENT_KEYS[1])] };
  return generated;
}

/** The keys of one client. @throws {Error} for a client the keys do not have. */
export function nicoClient(keys: NicoKeys, clientKey: string): NicoClientKeys {
  const client = keys.clients.find((c) => c.clientKey === clientKey);
  if (!client) throw new Error(`no keys for client ${clientKey}`);
  return client;
}

/** Where {@link writeNicoKeyFiles} put one client's files. */
export interface NicoClientFiles {
  readonly privateKey: string;
  readonly publicKey: string;
  /** The client secret alone, no trailing newline. */
  readonly clientSecret: string;
}

export interface NicoKeyFiles {
  readonly dir: string;
  /** By client key. */
  readonly clients: Readonly<Record<string, NicoClientFiles>>;
  /** Delete the directory. */
  remove(): void;
}

/**
 * Write each client's private key, public key and client secret to files (the CLI reads
 * files): `<dir>/<CLIENT>-private.pem`, `<CLIENT>-public.pem`, `<CLIENT>-client-secret.txt`.
 * Default `dir`: a new temporary directory.
 */
export function writeNicoKeyFiles(keys: NicoKeys, dir: string = mkdtempSync(join(tmpdir(), 'nicepay-nico-keys-'))): NicoKeyFiles {
  const clients: Record<string, NicoClientFiles> = {};
  for (const client of keys.clients) {
    const files: NicoClientFiles = {
      privateKey: join(dir, `${client.clientKey}-private.pem`),
      publicKey: join(dir, `${client.clientKey}-public.pem`),
      clientSecret: join(dir, `${client.clientKey}-client-secret.txt`),
    };
    writeFileSync(files.privateKey, client.privateKeyPem, { mode: 0o600 });
    writeFileSync(files.publicKey, client.publicKeyPem);
    writeFileSync(files.clientSecret, client.clientSecret, { mode: 0o600 });
    clients[client.clientKey] = files;
  }
  return { dir, clients, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// --- The good server ---------------------------------------------------------------------

/** The transaction signature modes a server can be started with. */
export type NicoSignatureMode = 'auto' | 'symmetric' | 'asymmetric';

export interface NicoServerOptions {
  /**
   * Signature mode of the inquiry and payment endpoints; default `'auto'`. The clients are
   * configured with what the mode needs: `'symmetric'` the client secret only,
   * `'asymmetric'` the public key only, `'auto'` both (each call then verifies in the form
   * its signature has).
   */
  readonly signature?: NicoSignatureMode;
  /** The first payment call that reaches `handle()` throws (a database down once): `500`, and the X-EXTERNAL-ID is released. */
  readonly failFirstPayment?: boolean;
  /** The payment code of the known bill; default {@link DEFAULT_PAY_NO}. */
  readonly payNo?: string;
}

/** A payment the merchant's `handle()` recorded. */
export interface ProcessedPayment {
  readonly clientKey: string;
  readonly externalId: string;
  readonly paymentCode: unknown;
  readonly paymentRequestId: unknown;
  readonly paidAmount: unknown;
}

export interface NicoServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
  /** Every payment `handle()` processed, in order (a copy). */
  processedPayments(): readonly ProcessedPayment[];
  /** A token of this server's secret for `clientKey`, issued 16 minutes ago: expired one minute ago. */
  expiredToken(clientKey: string): string;
}

/** What a defect may change; everything else is the good server's. */
interface Variant {
  /** The bearer-token check of the transaction endpoints, from the server's issuer. */
  readonly tokens?: (issuer: AccessTokenIssuer) => TokenVerifier;
  /** The X-EXTERNAL-ID store shared by inquiry and payment. */
  readonly externalIds?: () => ClaimStore;
  /** `clockSkewSeconds` of the transaction endpoints only. */
  readonly transactionClockSkewSeconds?: number;
  readonly failFirstPayment?: boolean;
  readonly wrapAccessToken?: (listener: NodeListener) => NodeListener;
  readonly wrapTransaction?: (listener: NodeListener) => NodeListener;
}

type Body = Readonly<Record<string, unknown>>;

function clientsFor(keys: NicoKeys, mode: NicoSignatureMode): Record<string, TransactionClient> {
  const clients: Record<string, TransactionClient> = {};
  for (const { clientKey, publicKeyPem, clientSecret } of keys.clients) {
    clients[clientKey] =
      mode === 'symmetric' ? { clientSecret } : mode === 'asymmetric' ? { publicKey: publicKeyPem } : { clientSecret, publicKey: publicKeyPem };
  }
  return clients;
}

async function startVariant(keys: NicoKeys, options: NicoServerOptions, variant: Variant): Promise<NicoServer> {
  const mode = options.signature ?? 'auto';
  const payNo = options.payNo ?? DEFAULT_PAY_NO;
  const tokenSecret = randomBytes(32).toString('base64');
  const issuer = createAccessTokenIssuer({ secret: tokenSecret });
  // One signature replay store for the three endpoints of this server (not the process's
  // default one, which every server of the test process would share).
  const replayCache = createMemoryClaimStore();

  const accessToken = createNodeHandler({
    clients: Object.fromEntries(keys.clients.map((c) => [c.clientKey, c.publicKeyPem])),
    tokenSecret,
    replayCache,
  });

  const common = {
    clients: clientsFor(keys, mode),
    signature: mode,
    tokens: variant.tokens ? variant.tokens(issuer) : issuer,
    replayCache,
    externalIds: variant.externalIds ? variant.externalIds() : createMemoryClaimStore(), // across both endpoints
    channelId: (partnerId: string) => `${partnerId}01`,
    ...(variant.transactionClockSkewSeconds === undefined ? {} : { clockSkewSeconds: variant.transactionClockSkewSeconds }),
  } satisfies Omit<TransactionHandlerOptions, 'handle' | 'serviceCode'>;

  const inquiry = createNodeTransactionHandler<Body>({
    ...common,
    serviceCode: INQUIRY_SERVICE_CODE,
    handle: ({ body }, { answer }) =>
      typeof body.paymentCode === 'string' && body.paymentCode === payNo
        ? answer.ok({ paymentCode: payNo, ...(body.inquiryRequestId === undefined ? {} : { inquiryRequestId: body.inquiryRequestId }), ...BILL })
        : answer.fail('bill-not-found'),
  });

  const processed: ProcessedPayment[] = [];
  let failNext = variant.failFirstPayment ?? options.failFirstPayment ?? false;
  const payment = createNodeTransactionHandler<Body>({
    ...common,
    serviceCode: PAYMENT_SERVICE_CODE,
    // This server's own store: the default one is shared by every payment handler of the process.
    idempotency: { key: ({ body }) => body.paymentRequestId, store: createMemoryIdempotencyStore() },
    handle: ({ body, clientKey, externalId }, { answer }) => {
      if (failNext) {
        failNext = false;
        throw new Error('database connection refused'); // 500; the library releases the X-EXTERNAL-ID
      }
      const { paymentCode, paymentRequestId, paidAmount } = body;
      processed.push({ clientKey, externalId, paymentCode, paymentRequestId, paidAmount });
      return answer.ok({ paymentCode, paymentRequestId, paidAmount });
    },
  });

  const wrapT = variant.wrapTransaction ?? ((l: NodeListener) => l);
  const routes: Readonly<Record<string, NodeListener>> = {
    [ACCESS_TOKEN_PATH]: variant.wrapAccessToken ? variant.wrapAccessToken(accessToken) : accessToken,
    [INQUIRY_PATH]: wrapT(inquiry),
    [PAYMENT_PATH]: wrapT(payment),
  };

  const running = await listen((req: http.IncomingMessage, res: http.ServerResponse) => {
    const route = Object.prototype.hasOwnProperty.call(routes, pathOf(req.url)) ? routes[pathOf(req.url)] : undefined;
    if (!route) {
      req.resume();
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(NOT_FOUND_BODY);
      return;
    }
    route(req, res).catch(() => res.destroy());
  });

  return {
    origin: `http://127.0.0.1:${running.port}`,
    port: running.port,
    close: running.close,
    processedPayments: () => processed.slice(),
    expiredToken: (clientKey) => issuer.issue(clientKey, Date.now() - 16 * 60_000),
  };
}

/** The path of a request target, without its query (an absolute-form target gives its path). */
function pathOf(url: string | undefined): string {
  const target = (url ?? '/').replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '');
  return target.split('?')[0] ?? '';
}

/**
 * The library as a merchant uses it: createNodeHandler for the token (built-in stateless
 * tokens, `tokenSecret`), createNodeTransactionHandler for inquiry (`'47'`) and payment
 * (`'48'`) with the token issuer of the same secret, one X-EXTERNAL-ID store shared by both,
 * one signature replay store shared by all three, `channelId: (p) => p + '01'`, and
 * idempotent payments keyed by `paymentRequestId`. Inquiry answers the bill for `payNo`
 * and `404 4044712` otherwise; payment answers `2004800` echoing `paymentCode`,
 * `paymentRequestId` and `paidAmount`, and records the payment.
 */
export const startNicoServer = (keys: NicoKeys, options: NicoServerOptions = {}): Promise<NicoServer> => startVariant(keys, options, {});

// --- The broken servers ------------------------------------------------------------------

/**
 * Read the whole body, then hand the listener `req.body` as a raw string or bytes (the
 * adapters take a raw body already read, as `express.raw()` leaves it).
 */
function withBody(listener: NodeListener, rewrite: (req: http.IncomingMessage, body: Buffer) => string | Uint8Array): NodeListener {
  return (req, res) =>
    new Promise<void>((resolve, reject) => {
      const incoming = req as unknown as http.IncomingMessage;
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', reject);
      incoming.on('end', () => {
        const withRaw = Object.assign(incoming, { body: rewrite(incoming, Buffer.concat(chunks)) }) as NodeRequestLike;
        listener(withRaw, res).then(resolve, reject);
      });
    });
}

/** The listener's answer, changed by `rewrite` before it is sent. */
function rewriteAnswer(
  listener: NodeListener,
  rewrite: (answer: { status: number; headers: Record<string, string>; body: string }) => { status: number; headers: Record<string, string>; body: string },
): NodeListener {
  return async (req, res) => {
    let status = 0;
    let headers: Record<string, string> = {};
    let body: string | undefined;
    const capture: NodeResponseLike = {
      writeHead: (s, h) => {
        status = s;
        headers = h;
      },
      end: (b) => {
        body = b;
      },
    };
    await listener(req, capture);
    if (body === undefined) return;
    const out = rewrite({ status, headers, body });
    res.writeHead(out.status, out.headers);
    res.end(out.body);
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** An X-EXTERNAL-ID store with `claim` only (no reserve / keep / release) that remembers every id for good. */
function rememberEveryId(): ClaimStore {
  const taken = new Set<string>();
  return {
    claim: (key) => {
      if (taken.has(key)) return false;
      taken.add(key);
      return true;
    },
  };
}

export interface BrokenNicoServer {
  /** Start it; `options` as {@link startNicoServer}'s, except what the defect itself sets. */
  start(keys: NicoKeys, options?: NicoServerOptions): Promise<NicoServer>;
}

/** The good server with exactly one defect each, made by configuring or wrapping the library. */
export const BROKEN_NICO_SERVERS = {
  /**
   * A token issued to IONPAYTEST is accepted on a call whose X-PARTNER-ID is OTHERCLIENT
   * (signed with OTHERCLIENT's credentials). Made with a `tokens` verifier that checks the
   * token (format, MAC, expiry) but drops the expected client, so the issuer never compares
   * the token's client with X-PARTNER-ID.
   */
  'does not bind the token to X-PARTNER-ID': {
    start: (keys, options = {}) =>
      startVariant(keys, options, {
        tokens: (issuer) => ({ verify: (token: string, now?: number) => issuer.verify(token, now) }),
      }),
  },
  /**
   * A repeated X-EXTERNAL-ID the same day is processed again instead of `409 Conflict`.
   * Made with an X-EXTERNAL-ID store whose `claim` always returns `true` (and no
   * reserve / keep / release). The signature replay guard still works, so only a call
   * signed anew with a used X-EXTERNAL-ID gets through; a payment retried with the same
   * `paymentRequestId` still gets the stored answer (idempotency), one with a new
   * `paymentRequestId` is processed again.
   */
  'ignores X-EXTERNAL-ID repeats': {
    start: (keys, options = {}) => startVariant(keys, options, { externalIds: () => ({ claim: () => true }) }),
  },
  /**
   * The body hash of symmetric (HMAC-SHA512) signatures is taken over
   * `JSON.stringify(JSON.parse(body))` instead of the bytes received. Made with a wrapper
   * that, for a call whose X-SIGNATURE is an HMAC-SHA512 one (64 bytes) and whose body is
   * JSON, hands the real handler the re-serialised body as the raw body; the signature was
   * made over the original, so it verifies only when the re-serialisation equals the body
   * (hashed as sent) or its minified form (hashed as SNAP says). So:
   * - a compact `JSON.stringify` body (what most tests send) still passes;
   * - escapes (`\/`, `\u00e9`) and numbers such as `1.50` or `1e3` fail (`401 4014700`),
   *   hashed minified or as sent;
   * - whitespace outside strings fails when hashed as sent, and passes when hashed minified
   *   (minifying and re-serialising then give the same text).
   * Calls signed with RSA (`asymmetric`, which signs no body) and bodies that are not JSON
   * go through unchanged, so `handle()` never sees a changed body and nothing but the
   * signature check differs.
   */
  'hashes a re-serialised body': {
    start: (keys, options = {}) =>
      startVariant(keys, options, {
        wrapTransaction: (listener) =>
          withBody(listener, (req, raw) => {
            if (decodeSymmetricSignature(req.headers['x-signature']) === undefined) return raw;
            try {
              return JSON.stringify(JSON.parse(strictUtf8.decode(raw)));
            } catch {
              return raw; // not UTF-8 or not JSON: the handler refuses it as before
            }
          }),
      }),
  },
  /**
   * Accepts an X-TIMESTAMP up to a day old (or ahead) on the inquiry and payment endpoints:
   * `clockSkewSeconds: 86400` there (the access-token endpoint keeps the default 300 s).
   */
  'accepts stale timestamps': {
    start: (keys, options = {}) => startVariant(keys, options, { transactionClockSkewSeconds: 86_400 }),
  },
  /**
   * The first payment call fails with a `500` (as with `failFirstPayment`), but its
   * X-EXTERNAL-ID stays taken: the X-EXTERNAL-ID store has `claim` only (no reserve, keep
   * or release) and remembers every id, so the library has nothing to release. NICEPAY's
   * retry with the same X-EXTERNAL-ID gets `409 4094800` and the payment never goes through.
   */
  'answers 500 and keeps the X-EXTERNAL-ID': {
    start: (keys, options = {}) => startVariant(keys, options, { failFirstPayment: true, externalIds: rememberEveryId }),
  },
  /**
   * The access-token endpoint answers `"expiresIn": 900` (a number) instead of `"900"`.
   * Made by rewriting the library's 200 answer; the token itself, and the inquiry and
   * payment endpoints, are unchanged.
   */
  'answers expiresIn as a number': {
    start: (keys, options = {}) =>
      startVariant(keys, options, {
        wrapAccessToken: (listener) =>
          rewriteAnswer(listener, (answer) => {
            if (answer.status !== 200) return answer;
            const body = JSON.parse(answer.body) as Record<string, unknown>;
            return { ...answer, body: JSON.stringify({ ...body, expiresIn: Number(body.expiresIn) }) };
          }),
      }),
  },
} as const satisfies Record<string, BrokenNicoServer>;

export type BrokenNicoServerName = keyof typeof BROKEN_NICO_SERVERS;
