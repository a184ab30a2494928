/**
 * Verification of NICEPAY's `POST /api/v1.0/access-token/b2b` request (service code 73).
 * @module
 */
import { kindOf } from '../crypto/bytes.js';
import { type KeyImportOptions, type KeyInput, type RsaPublicKey, toPublicKey } from '../crypto/keys.js';
import { verifySignature } from '../crypto/rsa.js';
import { cryptoOps, type CryptoProvider } from '../crypto/provider.js';
import { SnapError } from '../errors.js';
import { checkRawBody, DEFAULT_MAX_BODY_BYTES, parseJsonObject, type RawBody } from './body.js';
import { readHeaders, requireHeader, requireJsonContentType, type HeadersInput } from './headers.js';
import { buildStringToSign } from './string-to-sign.js';
import { checkFreshness, parseTimestampField, type ParsedTimestamp } from './timestamp.js';

/**
 * The request as the verification needs it.
 * @category Token
 */
export interface AccessTokenRequest {
  /** Request headers (names in any case). */
  readonly headers: HeadersInput;
  /** The raw body as received: never a parsed object. */
  readonly body: RawBody;
}

/**
 * NICEPAY public keys by client key (`X-CLIENT-KEY`, the merchant id NICEPAY uses).
 * `undefined` is typed so that `process.env.NICEPAY_PUBLIC_KEY` can be given as it is: the
 * handlers refuse it at creation, naming the client (an unset environment variable), and
 * the verifier treats it as an unknown client.
 * @category Token
 */
export type ClientKeys = Readonly<Record<string, RsaPublicKey | KeyInput | undefined>>;

/**
 * Options of {@link verifyAccessTokenRequest}.
 * @category Token
 */
export interface AccessTokenVerifyOptions extends KeyImportOptions {
  /**
   * Each accepted `X-CLIENT-KEY` with the NICEPAY public key that verifies its requests,
   * e.g. `{ IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY }`. Keys may be imported keys or any
   * input of {@link importPublicKey}; they are imported once and cached per `clients` object.
   */
  readonly clients: ClientKeys;
  /**
   * Allowed difference between `X-TIMESTAMP` and the server clock, in seconds, both ways.
   * Default 300. `0` means exact, never "skip".
   */
  readonly clockSkewSeconds?: number;
  /** The server clock: epoch milliseconds or a `Date`. Default: `Date.now()`. */
  readonly now?: number | Date;
  /** Largest body accepted, in bytes. Default 16 KiB. */
  readonly maxBodyBytes?: number;
  /** Require `additionalInfo` in the body (NICEPAY's table marks it mandatory; SNAP, optional). Default `false`. */
  readonly requireAdditionalInfo?: boolean;
  /**
   * The crypto the RSA step runs on: {@link jsCrypto} (pure JavaScript, the default here)
   * or `nodeCrypto` from `nicepay-nico/node` (OpenSSL; the default of the Node, Fastify and
   * Next adapters). Same checks and same verdict either way.
   */
  readonly crypto?: CryptoProvider;
}

/**
 * What {@link verifyAccessTokenRequest} verified.
 * @category Token
 */
export interface VerifiedAccessTokenRequest {
  /** The verified `X-CLIENT-KEY`. */
  readonly clientKey: string;
  /** The parsed `X-TIMESTAMP` (its `text` is the header as received). */
  readonly timestamp: ParsedTimestamp;
  /** `X-SIGNATURE` as received (not secret; useful as a replay-cache key). */
  readonly signature: string;
  /** The public key that verified it. */
  readonly publicKey: RsaPublicKey;
  /** The body's fields. */
  readonly body: {
    readonly grantType: 'client_credentials';
    readonly additionalInfo: Readonly<Record<string, unknown>>;
  };
}

const FN = 'verifyAccessTokenRequest';
const DEFAULT_CLOCK_SKEW_SECONDS = 300;
const MAX_CLIENT_KEY_LENGTH = 128;
const CLIENT_KEY_PATTERN = /^[\x21-\x7e]+$/; // visible ASCII; "|" and "," are refused separately

interface KeyCache {
  readonly minModulusBits: number | undefined;
  readonly keys: Map<string, { readonly input: unknown; readonly key: RsaPublicKey }>;
}
const keyCaches = new WeakMap<object, KeyCache>();

/** The imported key of `clientKey`, importing it once per `clients` object. @internal */
export function lookupKey(clients: ClientKeys, clientKey: string, importOptions: KeyImportOptions): RsaPublicKey | undefined {
  if (!Object.prototype.hasOwnProperty.call(clients, clientKey)) return undefined;
  const input = clients[clientKey];
  if (input === undefined) return undefined;
  let cache = keyCaches.get(clients);
  if (!cache || cache.minModulusBits !== importOptions.minModulusBits) {
    cache = { minModulusBits: importOptions.minModulusBits, keys: new Map() };
    keyCaches.set(clients, cache);
  }
  const cached = cache.keys.get(clientKey);
  if (cached && cached.input === input) return cached.key;
  const key = toPublicKey(input, importOptions, FN);
  cache.keys.set(clientKey, { input, key });
  return key;
}

function checkOptions(options: AccessTokenVerifyOptions): { skewMs: number; nowMs: number; maxBodyBytes: number; importOptions: KeyImportOptions } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${FN}: options must be an object with clients`);
  const { clients } = options;
  if (typeof clients !== 'object' || clients === null || Array.isArray(clients)) {
    throw new TypeError(`${FN}: options.clients must be an object mapping X-CLIENT-KEY to NICEPAY's public key, got ${kindOf(clients)}`);
  }
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0) {
    throw new TypeError(`${FN}: options.clockSkewSeconds must be a non-negative number of seconds, got ${String(skew)}`);
  }
  const now = options.now === undefined ? Date.now() : options.now instanceof Date ? options.now.getTime() : options.now;
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new TypeError(`${FN}: options.now must be epoch milliseconds or a valid Date`);
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new TypeError(`${FN}: options.maxBodyBytes must be a positive integer`);
  }
  const importOptions = options.minModulusBits === undefined ? {} : { minModulusBits: options.minModulusBits };
  cryptoOps(options.crypto, FN);
  return { skewMs: skew * 1000, nowMs: now, maxBodyBytes, importOptions };
}

/** The request's parts after the header and body checks, before client, clock and signature. @internal */
export interface CheckedAccessTokenRequest {
  readonly clientKey: string;
  readonly timestampText: string;
  readonly timestamp: ParsedTimestamp;
  readonly signature: string;
  readonly body: VerifiedAccessTokenRequest['body'];
}

/**
 * Phase 1, no key needed: presence and format of the headers, then the body.
 * @internal shared with the endpoint handler, which looks the client up asynchronously.
 */
export function checkAccessTokenRequest(
  request: AccessTokenRequest,
  limits: { readonly maxBodyBytes: number; readonly requireAdditionalInfo?: boolean | undefined },
): CheckedAccessTokenRequest {
  if (typeof request !== 'object' || request === null) throw new TypeError(`${FN}: request must be { headers, body }`);
  checkRawBody(request.body, FN);
  const headers = readHeaders(request.headers, FN);

  requireJsonContentType(headers);
  const timestampText = requireHeader(headers, 'X-TIMESTAMP');
  const clientKey = requireHeader(headers, 'X-CLIENT-KEY');
  const signature = requireHeader(headers, 'X-SIGNATURE');
  const timestamp = parseTimestampField(timestampText, 'X-TIMESTAMP');
  if (!isWellFormedClientKey(clientKey)) {
    throw new SnapError('INVALID_FIELD_FORMAT', {
      field: 'X-CLIENT-KEY',
      detail: `X-CLIENT-KEY must be 1-${MAX_CLIENT_KEY_LENGTH} visible ASCII characters without "|"`,
    });
  }

  const body = parseJsonObject(request.body, limits.maxBodyBytes);
  const grantType = body.grantType;
  if (grantType === undefined || grantType === null || grantType === '') {
    throw new SnapError('MISSING_MANDATORY_FIELD', { field: 'grantType', detail: 'body field grantType is missing' });
  }
  if (grantType !== 'client_credentials') {
    throw new SnapError('INVALID_FIELD_FORMAT', { field: 'grantType', detail: 'body field grantType must be "client_credentials"' });
  }
  const additionalInfo = body.additionalInfo;
  if (additionalInfo === undefined && limits.requireAdditionalInfo === true) {
    throw new SnapError('MISSING_MANDATORY_FIELD', { field: 'additionalInfo', detail: 'body field additionalInfo is missing' });
  }
  if (additionalInfo !== undefined && (typeof additionalInfo !== 'object' || additionalInfo === null || Array.isArray(additionalInfo))) {
    throw new SnapError('INVALID_FIELD_FORMAT', { field: 'additionalInfo', detail: `body field additionalInfo must be an object, got ${kindOf(additionalInfo)}` });
  }
  return {
    clientKey,
    timestampText,
    timestamp,
    signature,
    body: { grantType, additionalInfo: (additionalInfo ?? {}) as Readonly<Record<string, unknown>> },
  };
}

/** `true` for a client key this library can use: 1-128 visible ASCII characters, no `|` or `,`. @internal */
export function isWellFormedClientKey(clientKey: string): boolean {
  return clientKey.length <= MAX_CLIENT_KEY_LENGTH && CLIENT_KEY_PATTERN.test(clientKey) && !clientKey.includes('|') && !clientKey.includes(',');
}

/** The error for a client key that is not configured. @internal */
export function unknownClient(clientKey: string): SnapError {
  return new SnapError('UNKNOWN_CLIENT', {
    reason: 'Unknown X-CLIENT-KEY',
    detail: `X-CLIENT-KEY ${JSON.stringify(clientKey)} is not a configured client`,
  });
}

/**
 * Phase 2: the clock window, both ways, then the RSA signature.
 * @internal shared with the endpoint handler.
 */
export function finishAccessTokenVerification(
  checked: CheckedAccessTokenRequest,
  publicKey: RsaPublicKey,
  clock: { readonly nowMs: number; readonly skewMs: number },
  crypto?: { readonly crypto?: CryptoProvider },
): VerifiedAccessTokenRequest {
  const { timestamp, clientKey } = checked;
  checkFreshness(timestamp, clock.nowMs, clock.skewMs);
  if (!verifySignature(publicKey, buildStringToSign(clientKey, checked.timestampText), checked.signature, crypto)) {
    throw new SnapError('INVALID_SIGNATURE', {
      reason: 'Signature does not verify',
      detail: `X-SIGNATURE does not verify for X-CLIENT-KEY ${JSON.stringify(clientKey)} with its configured NICEPAY public key`,
    });
  }
  return { clientKey, timestamp, signature: checked.signature, publicKey, body: checked.body };
}

/**
 * Verify NICEPAY's access-token request, completely: headers (`Content-Type`,
 * `X-TIMESTAMP`, `X-CLIENT-KEY`, `X-SIGNATURE`), the body, the client key, the timestamp's
 * freshness and the signature over `X-CLIENT-KEY|X-TIMESTAMP`.
 *
 * Checks run cheapest first: header presence and format, body, client key, clock window,
 * then the RSA signature.
 *
 * @returns what was verified.
 * @throws {@link SnapError} with the SNAP answer of the first failure:
 * - missing header or body field: `400 / 4007302 Invalid Mandatory Field {name}`;
 * - malformed one (timestamp, `grantType` not `client_credentials`, `additionalInfo` not an
 *   object, a header given twice, `Content-Type` not JSON): `400 / 4007301 Invalid Field Format {name}`;
 * - body not a JSON object, or over `maxBodyBytes`: `400 / 4007300 Bad Request`;
 * - unknown client key, timestamp outside the window, signature that does not verify:
 *   `401 / 4017300 Unauthorized. [reason]`.
 * @throws {@link !TypeError | TypeError} for the caller's mistakes: a parsed body instead of
 * the raw one, bad options, a configured key that cannot be imported ({@link KeyImportError}).
 *
 * @example
 * ```ts
 * import { verifyAccessTokenRequest } from 'nicepay-nico';
 *
 * // node:http, the raw body collected as a string or Buffer:
 * const verified = verifyAccessTokenRequest(
 *   { headers: req.headers, body: rawBody },
 *   { clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! } },
 * );
 * verified.clientKey; // "IONPAYTEST"
 * ```
 * @category Token
 */
export function verifyAccessTokenRequest(request: AccessTokenRequest, options: AccessTokenVerifyOptions): VerifiedAccessTokenRequest {
  const { skewMs, nowMs, maxBodyBytes, importOptions } = checkOptions(options);
  const checked = checkAccessTokenRequest(request, { maxBodyBytes, requireAdditionalInfo: options.requireAdditionalInfo });
  const publicKey = lookupKey(options.clients, checked.clientKey, importOptions);
  if (!publicKey) throw unknownClient(checked.clientKey);
  return finishAccessTokenVerification(checked, publicKey, { nowMs, skewMs }, options);
}

/**
 * Prepare a verifier for one configuration: every configured key is imported now, so a bad
 * key fails at start-up rather than on NICEPAY's first request. The returned function
 * verifies as {@link verifyAccessTokenRequest} (and throws as it does); its second argument
 * overrides the clock.
 *
 * @throws {@link KeyImportError} for a configured key that cannot be imported;
 * {@link !TypeError | TypeError} for bad options.
 *
 * @example
 * ```ts
 * import { createAccessTokenVerifier } from 'nicepay-nico';
 *
 * const verify = createAccessTokenVerifier({ clients: { IONPAYTEST: process.env.NICEPAY_PUBLIC_KEY! } });
 * // in a Fetch handler:
 * const verified = verify({ headers: request.headers, body: await request.text() }); // clock: Date.now()
 * verify({ headers, body: rawBody }, { now: Date.parse('2024-01-22T15:00:01+07:00') }); // clock injected
 * ```
 * @category Token
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifyOptions,
): (request: AccessTokenRequest, overrides?: { readonly now?: number | Date }) => VerifiedAccessTokenRequest {
  const { importOptions } = checkOptions(options);
  for (const clientKey of Object.keys(options.clients)) lookupKey(options.clients, clientKey, importOptions);
  return (request, overrides) =>
    verifyAccessTokenRequest(request, overrides?.now === undefined ? options : { ...options, now: overrides.now });
}

