/**
 * Verification of NICEPAY's calls after the token: `POST /api/v1.0/cvs/inquiry` and
 * `POST /api/v1.0/cvs/payment` (Bearer token, X-TIMESTAMP, X-PARTNER-ID, X-EXTERNAL-ID,
 * X-SIGNATURE).
 * @module
 */
import { kindOf } from '../crypto/bytes.js';
import { toPublicKey, type KeyImportOptions, type KeyInput, type RsaPublicKey } from '../crypto/keys.js';
import { verifySignature } from '../crypto/rsa.js';
import { cryptoOps, type CryptoOps, type CryptoProvider } from '../crypto/provider.js';
import { isSnapError, SnapError } from '../errors.js';
import { signatureClaimKeyWith } from './claim-keys.js';
import type { AccessTokenCheck } from './token-check.js';
import { isWellFormedClientKey } from './access-token-request.js';
import { checkRawBody, DEFAULT_MAX_BODY_BYTES, readBodyText, type RawBody } from './body.js';
import { parseJsonObjectLossless } from './lossless-body.js';
import { readHeaders, requireHeader, requireJsonContentType, type HeadersInput } from './headers.js';
import { buildStringToSign } from './string-to-sign.js';
import { timingSafeEqual } from '../crypto/bytes.js';
import { decodeSymmetricSignature, minifyJson, preparedSymmetricMac, sha256HexWith } from './symmetric.js';
import { checkFreshness, parseTimestampField, type ParsedTimestamp } from './timestamp.js';

/**
 * How NICEPAY signs these calls (its pages are ambiguous; see the README).
 * @category Inquiry & payment
 */
export type TransactionSignatureMode =
  /** HMAC-SHA512 with the client secret over `METHOD:path:token:sha256hex(body):X-TIMESTAMP` (SNAP). */
  | 'symmetric'
  /**
   * SHA256withRSA over `X-PARTNER-ID|X-TIMESTAMP` with NICEPAY's public key, as the NICO
   * pages describe. **It signs neither the body, the path, the bearer token nor
   * `X-EXTERNAL-ID`**: a signature proves only that NICEPAY signed this client and second,
   * and it is byte for byte the access-token request's signature for the same second. The
   * handlers' signature replay guard (on by default, shared by every endpoint) is what
   * stops a captured signature from being spent again, on this or another endpoint; it
   * also means two calls of one client stamped in the same second carry the same
   * signature, and only the first is accepted.
   */
  | 'asymmetric'
  /** SHA256withRSA over `METHOD:path:sha256hex(minify(body)):X-TIMESTAMP` (SNAP's notification form). */
  | 'asymmetric-body';

/**
 * What the merchant knows about a client (`X-PARTNER-ID`).
 * @category Inquiry & payment
 */
export interface TransactionClient {
  /** The client secret NICEPAY shares with the merchant, for `symmetric` signatures (its UTF-8 bytes are the key). */
  readonly clientSecret?: string;
  /** NICEPAY's public key, for the `asymmetric` modes. */
  readonly publicKey?: RsaPublicKey | KeyInput;
}

/**
 * Clients by `X-PARTNER-ID`, or a lookup (sync or async).
 * @category Inquiry & payment
 */
export type TransactionClients =
  | Readonly<Record<string, TransactionClient>>
  | ((partnerId: string) => TransactionClient | undefined | Promise<TransactionClient | undefined>);

/**
 * What a stored-token lookup returns for a token it knows.
 * @category Inquiry & payment
 */
export interface StoredToken {
  /** The client key the token was issued to. */
  readonly clientKey: string;
  /** Expiry, epoch ms; a token past it is `401 Invalid Token`. */
  readonly expiresAt?: number;
}

/**
 * How bearer tokens are checked: the stateless issuer (anything with
 * `verify(token, now, expectedClientKey)`, e.g. {@link createAccessTokenIssuer}), or a
 * lookup of stored tokens (sync or async; `undefined` for an unknown token).
 * @category Inquiry & payment
 */
export type TokenVerifier =
  | { verify(token: string, now?: number, expectedClientKey?: string): AccessTokenCheck }
  | ((token: string) => StoredToken | undefined | Promise<StoredToken | undefined>);

/**
 * Options of {@link verifyTransactionRequest}.
 * @category Inquiry & payment
 */
export interface TransactionVerifyOptions extends KeyImportOptions {
  /**
   * The endpoint's two-digit SNAP service code, e.g. the one NICEPAY gave you for CVS
   * inquiry. Required: the NICO pages do not print the CVS service codes.
   */
  readonly serviceCode: string | number;
  /** Clients by `X-PARTNER-ID`, each with its client secret and/or NICEPAY public key. */
  readonly clients: TransactionClients;
  /** The bearer-token check. */
  readonly tokens: TokenVerifier;
  /**
   * Signature mode; default `"auto"`: each call's form is told by its signature's length
   * (64 bytes: `symmetric` HMAC-SHA512; the public key's size: `asymmetric` SHA256withRSA
   * over `X-PARTNER-ID|X-TIMESTAMP`, the NICO pages' form) and the credentials configured
   * for its client (`clientSecret`, `publicKey`); that one form is verified and reported in
   * `verified.signatureMode`. A client configured with only one credential accepts only
   * its form. Pin a mode to accept only that one.
   */
  readonly signature?: TransactionSignatureMode | 'auto';
  /** The server clock: epoch ms or a `Date`; default `Date.now()`. */
  readonly now?: number | Date;
  /** Allowed clock difference, seconds, both ways; default 300. 0 means exact. */
  readonly clockSkewSeconds?: number;
  /** Largest body accepted, bytes; default 16 KiB. */
  readonly maxBodyBytes?: number;
  /**
   * Longest `X-EXTERNAL-ID` accepted, characters; default 40 (NICEPAY prints String(40);
   * SNAP says 36). Longer ones are `400 / 400xx01 Invalid Field Format {X-EXTERNAL-ID}`.
   */
  readonly maxExternalIdLength?: number;
  /** Require the `CHANNEL-ID` header (SNAP); default `false`. */
  readonly requireChannelId?: boolean;
  /**
   * The `CHANNEL-ID` each client must send: a value, or a function of `X-PARTNER-ID`
   * (`undefined`: no check for that client). NICEPAY's convention is the client id followed
   * by `"01"`: `(partnerId) => \`${partnerId}01\``. When given, `CHANNEL-ID` is mandatory
   * (`400xx02`) and another value is `400xx01 Invalid Field Format {CHANNEL-ID}`. A function
   * is asked only once the token and the client are verified (a throw is a 500).
   */
  readonly channelId?: string | ((partnerId: string) => string | undefined);
  /**
   * The crypto the signature and body hash run on: {@link jsCrypto} (pure JavaScript, the
   * default here) or `nodeCrypto` from `nicepay-nico/node` (the default of the Node, Fastify
   * and Next adapters). Same checks and same verdict either way.
   */
  readonly crypto?: CryptoProvider;
}

/**
 * A call after the token, as the adapters hand it over.
 * @category Inquiry & payment
 */
export interface TransactionRequest {
  /** HTTP method as sent. */
  readonly method: string;
  /** Relative path as requested, query included when present (it is signed). */
  readonly path: string;
  readonly headers: HeadersInput;
  /** The raw body as received. */
  readonly body: RawBody;
}

/**
 * What {@link verifyTransactionRequest} verified. `Body` is the shape you expect of the
 * body, for your editor's sake only: nothing checks the fields (NICEPAY does not publish
 * the CVS body schema; `examples/nico-bodies.ts` has example shapes, not NICEPAY's).
 * @category Inquiry & payment
 */
export interface VerifiedTransactionRequest<Body extends object = Readonly<Record<string, unknown>>> {
  /** `X-PARTNER-ID`, the verified client (the token's client). */
  readonly clientKey: string;
  /** The bearer token. */
  readonly accessToken: string;
  /** `X-EXTERNAL-ID`. */
  readonly externalId: string;
  /** `CHANNEL-ID`, when sent. */
  readonly channelId: string | undefined;
  /** The parsed `X-TIMESTAMP`. */
  readonly timestamp: ParsedTimestamp;
  /** The signature mode that verified. */
  readonly signatureMode: TransactionSignatureMode;
  /** For symmetric signatures: whether the body was hashed minified (SNAP) or as sent (NICEPAY's SDKs). */
  readonly bodyHash: 'minified' | 'as-sent' | undefined;
  readonly method: string;
  readonly path: string;
  /**
   * The body, parsed losslessly: a JSON object whose fields are the merchant's to check. A
   * number a JavaScript number cannot hold exactly (`12345678901234567890`) is a string of
   * its exact digits; every other number is a number.
   */
  readonly body: Readonly<Body>;
  /** The raw body as received. */
  readonly rawBody: RawBody;
  /**
   * The signature claim key of this call ({@link signatureClaimKey}): the same for an
   * access-token request with the same client, `X-TIMESTAMP` and `X-SIGNATURE`. The
   * handler's replay guard claims it; when you verify calls yourself, claim it too.
   */
  readonly signatureClaimKey: string;
  /**
   * Lower-case hex SHA-256 of the body with whitespace outside strings removed (SNAP's body
   * hash, signed in the body modes): two bodies that differ only in whitespace have the
   * same. The handler's idempotency fingerprint.
   */
  readonly bodySha256: string;
}

const FN = 'verifyTransactionRequest';
/** Default `maxExternalIdLength`: NICEPAY prints X-EXTERNAL-ID as String(40) (SNAP says 36). */
const DEFAULT_MAX_EXTERNAL_ID_LENGTH = 40;
const MAX_TOKEN_LENGTH = 2048;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const BEARER = /^Bearer +([^\s]+)$/i;

const invalidToken = (detail: string): SnapError => new SnapError('INVALID_TOKEN', { detail });

/** Check the options; returns them normalised. @internal shared with the transaction handler. */
export function checkTransactionOptions(options: TransactionVerifyOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${FN}: options must be an object`);
  const sc = typeof options.serviceCode === 'number' ? String(options.serviceCode).padStart(2, '0') : options.serviceCode;
  if (typeof sc !== 'string' || !/^[0-9]{2}$/.test(sc)) {
    throw new TypeError(`${FN}: options.serviceCode must be the endpoint's two-digit SNAP service code (NICEPAY gives it to you), got ${String(options.serviceCode)}`);
  }
  const { clients, tokens } = options;
  if (typeof clients !== 'function' && (typeof clients !== 'object' || clients === null || Array.isArray(clients))) {
    throw new TypeError(`${FN}: options.clients must be { [partnerId]: { clientSecret, publicKey } } or a lookup function`);
  }
  if (typeof tokens !== 'function' && typeof (tokens as { verify?: unknown } | undefined)?.verify !== 'function') {
    throw new TypeError(`${FN}: options.tokens must be a token issuer (createAccessTokenIssuer) or a stored-token lookup function`);
  }
  const mode = options.signature ?? 'auto';
  if (mode !== 'auto' && mode !== 'symmetric' && mode !== 'asymmetric' && mode !== 'asymmetric-body') {
    throw new TypeError(`${FN}: options.signature must be "auto", "symmetric", "asymmetric" or "asymmetric-body"`);
  }
  const skew = options.clockSkewSeconds ?? 300;
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0) throw new TypeError(`${FN}: options.clockSkewSeconds must be a non-negative number`);
  const now = options.now === undefined ? Date.now() : options.now instanceof Date ? options.now.getTime() : options.now;
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError(`${FN}: options.now must be epoch milliseconds or a valid Date`);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new TypeError(`${FN}: options.maxBodyBytes must be a positive integer`);
  if ((options as { externalIds?: unknown }).externalIds !== undefined) {
    throw new TypeError(
      `${FN}: checks only and claims nothing, so it does not take externalIds: pass externalIds to createTransactionHandler, ` +
        'which reserves the X-EXTERNAL-ID for the call and releases it when the answer is 5xx (or claim externalIdClaim(...).key in your own store)',
    );
  }
  if (options.channelId !== undefined && typeof options.channelId !== 'function' && (typeof options.channelId !== 'string' || options.channelId === '')) {
    throw new TypeError(`${FN}: options.channelId must be the CHANNEL-ID to require, or a function (partnerId) => CHANNEL-ID`);
  }
  const maxExternalIdLength = options.maxExternalIdLength ?? DEFAULT_MAX_EXTERNAL_ID_LENGTH;
  if (!Number.isInteger(maxExternalIdLength) || maxExternalIdLength < 1 || maxExternalIdLength > 256) {
    throw new TypeError(`${FN}: options.maxExternalIdLength must be an integer from 1 to 256`);
  }
  const ops = cryptoOps(options.crypto, FN);
  return { sc, mode, skewMs: skew * 1000, nowMs: now, maxBodyBytes, maxExternalIdLength, ops };
}

/** HMAC-SHA512 keyed with each client's secret, once per client object (and provider). */
const symmetricMacs = /* @__PURE__ */ new WeakMap<object, { secret: string; ops: CryptoOps | undefined; mac: (stringToSign: string) => Uint8Array }>();

function clientMac(client: TransactionClient, secret: string, ops: CryptoOps | undefined): (stringToSign: string) => Uint8Array {
  const cached = symmetricMacs.get(client);
  if (cached && cached.secret === secret && cached.ops === ops) return cached.mac;
  const mac = preparedSymmetricMac(secret, ops);
  symmetricMacs.set(client, { secret, ops, mac });
  return mac;
}

/** Imported public keys of transaction clients, once per client object. */
const publicKeys = /* @__PURE__ */ new WeakMap<object, { input: unknown; key: RsaPublicKey }>();

function clientPublicKey(client: TransactionClient, options: KeyImportOptions): RsaPublicKey {
  const cached = publicKeys.get(client);
  if (cached && cached.input === client.publicKey) return cached.key;
  if (client.publicKey === undefined) throw new TypeError(`${FN}: this client has no publicKey, which the asymmetric signature modes need`);
  const key = toPublicKey(client.publicKey, options, FN);
  publicKeys.set(client, { input: client.publicKey, key });
  return key;
}

/**
 * The form `auto` verifies for one call: a signature of 64 bytes (88 base64 characters) is
 * HMAC-SHA512 when the client has a `clientSecret`; any other is SHA256withRSA over
 * `X-PARTNER-ID|X-TIMESTAMP` when it has a `publicKey`. Whatever the client lacks is the
 * form that cannot verify (`INVALID_SIGNATURE`, whose detail names it).
 */
function autoForm(client: TransactionClient, partnerId: string, signature: string): 'symmetric' | 'asymmetric' {
  const hasSecret = typeof client.clientSecret === 'string' && client.clientSecret !== '';
  const hasKey = client.publicKey !== undefined;
  if (!hasSecret && !hasKey) {
    throw new TypeError(`${FN}: client ${JSON.stringify(partnerId)} has neither a clientSecret nor a publicKey, so no signature can verify`);
  }
  const looksSymmetric = decodeSymmetricSignature(signature) !== undefined;
  if (looksSymmetric && hasSecret) return 'symmetric';
  if (!looksSymmetric && hasKey) return 'asymmetric';
  throw new SnapError('INVALID_SIGNATURE', {
    reason: 'Signature does not verify',
    detail: `X-SIGNATURE (auto) is ${looksSymmetric ? 'an HMAC-SHA512 signature (64 bytes), but the client has no clientSecret' : `not an HMAC-SHA512 signature (64 bytes)${hasKey ? '' : ', and the client has no publicKey for SHA256withRSA'}`} for X-PARTNER-ID ${JSON.stringify(partnerId)}`,
  });
}

/** The CHANNEL-ID expected from a client, if any. */
function channelOf(option: TransactionVerifyOptions['channelId'], partnerId: string): string | undefined {
  if (option === undefined) return undefined;
  const value = typeof option === 'function' ? option(partnerId) : option;
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new TypeError(`${FN}: options.channelId must be a string or a function returning a string (or undefined), got ${typeof value}`);
  }
  return value;
}

async function lookupClient(clients: TransactionClients, partnerId: string): Promise<TransactionClient | undefined> {
  if (typeof clients === 'function') return (await clients(partnerId)) ?? undefined;
  return Object.prototype.hasOwnProperty.call(clients, partnerId) ? clients[partnerId] : undefined;
}

async function checkToken(tokens: TokenVerifier, token: string, nowMs: number, partnerId: string): Promise<void> {
  if (typeof tokens === 'function') {
    const stored = await tokens(token);
    if (stored === undefined || stored === null) {
      throw new SnapError('TOKEN_NOT_FOUND', { detail: 'the bearer token is not a stored token' });
    }
    if (typeof stored.clientKey !== 'string') throw new TypeError(`${FN}: the token lookup must return { clientKey, expiresAt? } or undefined`);
    if (stored.expiresAt !== undefined && nowMs >= stored.expiresAt) throw invalidToken('the bearer token has expired');
    if (stored.clientKey !== partnerId) throw invalidToken('the bearer token was issued to another client than X-PARTNER-ID');
    return;
  }
  const check = tokens.verify(token, nowMs, partnerId);
  if (!check.valid) {
    const why = { MALFORMED: 'is malformed', BAD_MAC: 'does not verify', EXPIRED: 'has expired', OTHER_CLIENT: 'was issued to another client than X-PARTNER-ID' }[check.reason];
    throw invalidToken(`the bearer token ${why ?? 'is not valid'}`);
  }
}

/**
 * Verify one of NICEPAY's calls after the token (CVS inquiry or payment), everything around
 * the body: the bearer token, `X-TIMESTAMP` (strict and fresh), `X-PARTNER-ID` (the token's
 * client), `X-EXTERNAL-ID` (at most `maxExternalIdLength`, default 40, characters), `X-SIGNATURE` in the configured mode,
 * and a JSON-object body, which it returns parsed for the merchant's own code. Every
 * answer uses the endpoint's `serviceCode`:
 *
 * - missing `Authorization` or another mandatory header: `400 / 400xx02 Invalid Mandatory Field {name}`;
 * - malformed header (timestamp, `X-EXTERNAL-ID` over 40 characters, ...): `400 / 400xx01`;
 * - body not a JSON object: `400 / 400xx00 Bad Request`;
 * - token not `Bearer`, malformed, bad MAC, expired, or another client's: `401 / 401xx01 Invalid Token (B2B)`;
 * - stored-token lookup does not know it: `401 / 401xx03 Token Not Found (B2B)`;
 * - stale or future timestamp, unknown client, signature that does not verify: `401 / 401xx00 Unauthorized. [reason]`.
 *
 * **It checks only, and claims nothing.** Called directly, it does not refuse a replayed
 * signature or a repeated `X-EXTERNAL-ID`: a verified call can be verified again.
 * {@link createTransactionHandler} adds the money-path guards (the signature replay guard,
 * `X-EXTERNAL-ID` once per client per day, idempotent answers) with their reserve, keep and
 * release lifecycle. Verifying yourself, claim `verified.signatureClaimKey` and
 * `externalIdClaim(...)` in your own store before acting on the call, and free them when
 * you answer 5xx.
 *
 * Asynchronous because token and client lookups may be.
 *
 * @throws {@link SnapError} (as a rejection) for a request that fails a check, with the
 * answer above.
 * @throws {@link !TypeError | TypeError} (as a rejection) for the caller's mistakes (a parsed
 * body, bad options, a client without the secret or key the mode needs, an `externalIds`
 * option, which belongs to the handler). Errors of the caller's own lookups propagate as
 * they are.
 *
 * @example
 * ```ts
 * import { createAccessTokenIssuer, verifyTransactionRequest } from 'nicepay-nico';
 *
 * const tokens = createAccessTokenIssuer({ secret: process.env.TOKEN_SECRET! }); // the access-token endpoint's tokenSecret
 * const verified = await verifyTransactionRequest(
 *   { method: 'POST', path: '/api/v1.0/cvs/inquiry', headers, body: rawBody },
 *   { serviceCode: '47', clients: { IONPAYTEST: { clientSecret: process.env.NICEPAY_CLIENT_SECRET! } }, tokens },
 * );
 * verified.body; // the inquiry fields, for your own code
 * ```
 * @category Inquiry & payment
 */
export async function verifyTransactionRequest(request: TransactionRequest, options: TransactionVerifyOptions): Promise<VerifiedTransactionRequest> {
  const opts = checkTransactionOptions(options);
  try {
    return await verify(request, options, opts);
  } catch (error) {
    throw isSnapError(error) ? (error as SnapError).withServiceCode(opts.sc) : error;
  }
}

async function verify(
  request: TransactionRequest,
  options: TransactionVerifyOptions,
  { sc, mode, skewMs, nowMs, maxBodyBytes, maxExternalIdLength, ops }: ReturnType<typeof checkTransactionOptions>,
): Promise<VerifiedTransactionRequest> {
  if (typeof request !== 'object' || request === null) throw new TypeError(`${FN}: request must be { method, path, headers, body }`);
  checkRawBody(request.body, FN);
  if (typeof request.method !== 'string' || request.method === '') throw new TypeError(`${FN}: request.method must be the HTTP method`);
  if (typeof request.path !== 'string' || !request.path.startsWith('/')) {
    throw new TypeError(`${FN}: request.path must be the relative path as requested (query included), e.g. "/api/v1.0/cvs/inquiry"`);
  }
  const headers = readHeaders(request.headers, FN);

  // 1. Presence and format of the headers.
  requireJsonContentType(headers);
  const authorization = requireHeader(headers, 'Authorization');
  const timestampText = requireHeader(headers, 'X-TIMESTAMP');
  const partnerId = requireHeader(headers, 'X-PARTNER-ID');
  const externalId = requireHeader(headers, 'X-EXTERNAL-ID');
  const signature = requireHeader(headers, 'X-SIGNATURE');
  const channelId = options.requireChannelId === true || options.channelId !== undefined ? requireHeader(headers, 'CHANNEL-ID') : headers.get('CHANNEL-ID');
  const timestamp = parseTimestampField(timestampText, 'X-TIMESTAMP');
  if (!isWellFormedClientKey(partnerId)) {
    throw new SnapError('INVALID_FIELD_FORMAT', { field: 'X-PARTNER-ID', detail: 'X-PARTNER-ID must be 1-128 visible ASCII characters without "|"' });
  }
  if (externalId.length > maxExternalIdLength || !VISIBLE_ASCII.test(externalId)) {
    throw new SnapError('INVALID_FIELD_FORMAT', {
      field: 'X-EXTERNAL-ID',
      detail: `X-EXTERNAL-ID must be 1-${maxExternalIdLength} visible ASCII characters (got ${externalId.length > maxExternalIdLength ? `${externalId.length} characters` : 'other characters'})`,
    });
  }
  const bearer = BEARER.exec(authorization);
  if (!bearer || (bearer[1] as string).length > MAX_TOKEN_LENGTH) {
    throw invalidToken('Authorization must be "Bearer <access token>"');
  }
  const accessToken = bearer[1] as string;

  // 2. The body's cheap checks (size, byte-order mark, UTF-8). It is parsed only after the
  // token, the client, the clock and the signature: a caller without credentials costs no parse.
  const text = readBodyText(request.body, maxBodyBytes, sc);

  // 3. The token, bound to X-PARTNER-ID.
  await checkToken(options.tokens, accessToken, nowMs, partnerId);

  // 4. The client.
  const client = await lookupClient(options.clients, partnerId);
  if (client === undefined || client === null) {
    throw new SnapError('UNKNOWN_CLIENT', { reason: 'Unknown X-PARTNER-ID', detail: `X-PARTNER-ID ${JSON.stringify(partnerId)} is not a configured client` });
  }
  if (typeof client !== 'object') throw new TypeError(`${FN}: a client must be { clientSecret?, publicKey? }, got ${kindOf(client)}`);

  // The CHANNEL-ID configured for this client (asked only now that the client is known).
  const expectedChannel = channelOf(options.channelId, partnerId);
  if (expectedChannel !== undefined && channelId !== expectedChannel) {
    throw new SnapError('INVALID_FIELD_FORMAT', { field: 'CHANNEL-ID', detail: 'CHANNEL-ID is not the one configured for this client (channelId option)' });
  }

  // 5. Freshness, both ways.
  checkFreshness(timestamp, nowMs, skewMs);

  // 6. The signature. SNAP's body hash (minified) is computed once: it is signed in the body
  // modes and handed over as `bodySha256` (the idempotency fingerprint).
  let bodyHash: VerifiedTransactionRequest['bodyHash'];
  let minified: string;
  try {
    minified = text === '' ? '' : minifyJson(text);
  } catch (cause) {
    throw new SnapError('BAD_REQUEST', { serviceCode: sc, detail: 'request body is not valid JSON', cause });
  }
  const bodySha256 = sha256HexWith(ops, minified);
  let verified = false;
  const form = mode === 'auto' ? autoForm(client, partnerId, signature) : mode;
  if (form === 'symmetric') {
    if (typeof client.clientSecret !== 'string' || client.clientSecret === '') {
      throw new TypeError(`${FN}: client ${JSON.stringify(partnerId)} has no clientSecret, which symmetric signatures need`);
    }
    // SNAP hashes the minified body; NICEPAY's SDKs hash it as sent. The minified form is
    // checked first; the body as sent only when it differs and the first did not verify.
    const given = decodeSymmetricSignature(signature);
    if (given !== undefined) {
      const mac = clientMac(client, client.clientSecret, ops);
      const prefix = `${request.method}:${request.path}:${accessToken}:`;
      if (timingSafeEqual(mac(`${prefix}${bodySha256}:${timestampText}`), given)) {
        verified = true;
        bodyHash = 'minified';
      } else {
        const asSent = sha256HexWith(ops, request.body);
        if (asSent !== bodySha256 && timingSafeEqual(mac(`${prefix}${asSent}:${timestampText}`), given)) {
          verified = true;
          bodyHash = 'as-sent';
        }
      }
    }
  } else {
    const key = clientPublicKey(client, options.minModulusBits === undefined ? {} : { minModulusBits: options.minModulusBits });
    const stringToSign = form === 'asymmetric' ? buildStringToSign(partnerId, timestampText) : `${request.method}:${request.path}:${bodySha256}:${timestampText}`;
    verified = verifySignature(key, stringToSign, signature, options);
  }
  if (!verified) {
    throw new SnapError('INVALID_SIGNATURE', {
      reason: 'Signature does not verify',
      detail: `X-SIGNATURE (${mode === 'auto' ? `auto: ${form}` : form}) does not verify for X-PARTNER-ID ${JSON.stringify(partnerId)}`,
    });
  }

  // 7. The body: a JSON object, for the merchant's own code.
  const body = parseJsonObjectLossless(text, sc);

  return {
    clientKey: partnerId,
    accessToken,
    externalId,
    channelId,
    timestamp,
    signatureMode: form,
    bodyHash,
    method: request.method,
    path: request.path,
    body,
    rawBody: request.body,
    signatureClaimKey: signatureClaimKeyWith(ops, partnerId, timestampText, signature),
    bodySha256,
  };
}
