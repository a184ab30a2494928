/**
 * NICEPAY's side of the calls after the token: the CVS inquiry and payment requests signed
 * as NICEPAY signs them, unique X-EXTERNAL-IDs and X-TIMESTAMPs, example bodies, and the
 * record of each exchange (with the token and the signatures redacted) for the reports of
 * `probe` and `simulate`.
 * @module
 */
import type { RsaPrivateKey } from '../crypto/keys.js';
import { signStringToSign } from '../crypto/rsa.js';
import { buildStringToSign } from '../protocol/string-to-sign.js';
import { bodySha256Hex, buildSymmetricStringToSign, signSymmetric, type BodyHashMode } from '../protocol/symmetric.js';
import { formatTimestamp } from '../protocol/timestamp.js';
import { UsageError } from './args.js';
import { send, type Exchange, type OutgoingRequest } from './http.js';

/** NICO's three paths. */
export const NICO_PATHS = {
  token: '/api/v1.0/access-token/b2b',
  inquiry: '/api/v1.0/cvs/inquiry',
  payment: '/api/v1.0/cvs/payment',
} as const;

/** Which endpoint: the access token, the CVS inquiry, the CVS payment. */
export type Endpoint = keyof typeof NICO_PATHS;
export const ENDPOINTS: readonly Endpoint[] = ['token', 'inquiry', 'payment'];

/** Where the three endpoints are. */
export type NicoUrls = Readonly<Record<Endpoint, URL>>;

/**
 * The three URLs from a base URL: an origin (`http://host:3000`), an origin with a prefix
 * (`http://host/merchant`), or the URL of one of the three endpoints (its NICO path is
 * taken off to find the base). `paths` overrides a path (absolute, on the base's origin).
 * @throws {UsageError} for a path that does not start with "/".
 */
export function nicoUrls(base: URL, paths: Partial<Record<Endpoint, string | undefined>> = {}): NicoUrls {
  let prefix = base.pathname.replace(/\/+$/, '');
  for (const path of Object.values(NICO_PATHS)) {
    if (prefix.endsWith(path)) {
      prefix = prefix.slice(0, -path.length);
      break;
    }
  }
  const url = (endpoint: Endpoint): URL => {
    const given = paths[endpoint];
    if (given !== undefined && (!given.startsWith('/') || /^\/[/\\]/.test(given))) {
      throw new UsageError(`--${endpoint}-path must be a path on BASE_URL's server, starting with one "/", got ${JSON.stringify(given)}`);
    }
    const resolved = new URL(given ?? `${prefix}${NICO_PATHS[endpoint]}`, base.origin);
    // The credentials go only where BASE_URL points.
    if (resolved.origin !== base.origin) throw new UsageError(`--${endpoint}-path leaves BASE_URL's server (${resolved.origin})`);
    return resolved;
  };
  return { token: url('token'), inquiry: url('inquiry'), payment: url('payment') };
}

/** The path as sent (the signed `EndpointUrl`): path and query of `url`. */
export const pathOf = (url: URL): string => `${url.pathname}${url.search}`;

/** A client as NICEPAY holds it: the key that signs its access-token requests, and its client secret. */
export interface NicoClient {
  /** X-CLIENT-KEY, and X-PARTNER-ID on the calls after the token. */
  readonly clientKey: string;
  readonly privateKey: RsaPrivateKey;
  /** For HMAC-SHA512 (symmetric) signatures on inquiry and payment. */
  readonly clientSecret?: string;
}

/** How a call after the token is signed: HMAC-SHA512 with the client secret (SNAP symmetric), or SHA256withRSA over `X-PARTNER-ID|X-TIMESTAMP` (NICO pages). */
export type CallSignature = 'hmac' | 'rsa';

/**
 * X-TIMESTAMPs one second apart, so that no two calls of a run carry the same signature by
 * accident (a retry with the same body needs a new second: an HMAC signature does not cover
 * X-EXTERNAL-ID).
 *
 * - For HMAC-signed calls they start 30 s back and count up, never behind the clock minus
 *   30 s: within 30 s of the clock for runs of up to a minute of calls, inside any clock
 *   window of 30 s or more. The bodies carry a new request id, so runs cannot repeat each
 *   other's signatures.
 * - An RSA signature covers only `X-PARTNER-ID|X-TIMESTAMP`: the same second signs the same
 *   way in any call, the access-token request included. So RSA stamps start after the
 *   current second (the token requests' seconds are behind) and count up, and
 *   {@link Stamper.settle} waits until the clock has passed the last one, so a run started
 *   after this one cannot reuse a second.
 */
export class Stamper {
  private lastHmac = 0;
  private lastRsa: number;
  constructor(private readonly now: () => number = Date.now) {
    this.lastRsa = Math.floor(now() / 1000) * 1000;
  }
  /** The next X-TIMESTAMP (SNAP format, +07:00) for a call signed `form`. */
  next(form: CallSignature): string {
    const second = Math.floor(this.now() / 1000) * 1000;
    if (form === 'rsa') {
      this.lastRsa = Math.max(second, this.lastRsa + 1000);
      return formatTimestamp(this.lastRsa);
    }
    this.lastHmac = Math.max(second - 30_000, this.lastHmac + 1000);
    return formatTimestamp(this.lastHmac);
  }
  /** Milliseconds until the clock has passed the last RSA stamp. */
  pendingMs(): number {
    return Math.max(0, this.lastRsa + 1000 - this.now());
  }
  /** Wait {@link Stamper.pendingMs}. */
  async settle(): Promise<void> {
    const ms = this.pendingMs();
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

let externalIdCounter = 0;
/**
 * A new 20-digit X-EXTERNAL-ID (NICEPAY's form, e.g. `41807553358950093184`): the epoch
 * ms, three random digits and a four-digit counter, unique in this run and across runs.
 */
export function newExternalId(now: () => number = Date.now): string {
  externalIdCounter = (externalIdCounter + 1) % 10_000;
  const random = Math.floor(Math.random() * 1000);
  return `${String(now()).padStart(13, '0').slice(-13)}${String(random).padStart(3, '0')}${String(externalIdCounter).padStart(4, '0')}`;
}

/** Placeholders of the body files: `{{payNo}}`, `{{requestId}}` (unique per run), `{{timestamp}}`. */
export interface BodyValues {
  readonly payNo: string;
  readonly requestId: string;
  readonly timestamp: string;
}

/** The built-in inquiry body: an EXAMPLE (NICO's CVS body schema is not published; see examples/nico-bodies.ts). */
export const EXAMPLE_INQUIRY_BODY = '{"paymentCode":"{{payNo}}","inquiryRequestId":"{{requestId}}","trxDateInit":"{{timestamp}}"}';
/** The built-in payment body: an EXAMPLE, the shape `npm run demo` uses. `paymentRequestId` is the business key a retry keeps. */
export const EXAMPLE_PAYMENT_BODY = '{"paymentCode":"{{payNo}}","paymentRequestId":"{{requestId}}","paidAmount":{"value":"25000.00","currency":"IDR"}}';
/** The pay number in the built-in bodies (the bill `npm run demo` knows). */
export const DEFAULT_PAY_NO = '8880012345';

/** Fill the placeholders of a body template (JSON-escaped inside strings). */
export function fillBody(template: string, values: BodyValues): string {
  return template.replace(/\{\{(payNo|requestId|timestamp)\}\}/g, (_, name: keyof BodyValues) => JSON.stringify(values[name]).slice(1, -1));
}

/** A call after the token, as NICEPAY sends it. */
export interface CallInit {
  readonly url: URL;
  /** Default POST. */
  readonly method?: string;
  /** The body sent, exactly. */
  readonly body: string;
  /** The body that was signed, when it differs from the one sent (a tampering case). */
  readonly signedBody?: string;
  readonly accessToken: string | null;
  /** The client whose credentials sign the call. */
  readonly client: NicoClient;
  /** X-PARTNER-ID; default the signer's client key. */
  readonly partnerId?: string;
  readonly externalId: string;
  /** CHANNEL-ID; default client key + "01" (NICEPAY's form); null leaves it out. */
  readonly channelId?: string | null;
  readonly timestamp: string;
  readonly signature: CallSignature;
  /** How the body is hashed for an HMAC signature; default minified (SNAP). */
  readonly bodyHash?: BodyHashMode;
}

/** The signed request of a call, and the stringToSign. */
export function buildCall(init: CallInit): { request: OutgoingRequest; stringToSign: string } {
  const method = init.method ?? 'POST';
  const partnerId = init.partnerId ?? init.client.clientKey;
  const signed = init.signedBody ?? init.body;
  let stringToSign: string;
  let signature: string;
  if (init.signature === 'hmac') {
    if (init.client.clientSecret === undefined) throw new Error(`client ${init.client.clientKey} has no client secret`);
    stringToSign = buildSymmetricStringToSign({
      method,
      path: pathOf(init.url),
      accessToken: init.accessToken ?? '',
      body: signed,
      timestamp: init.timestamp,
      bodyHash: init.bodyHash ?? 'minified',
    });
    signature = signSymmetric(init.client.clientSecret, stringToSign);
  } else {
    stringToSign = buildStringToSign(partnerId, init.timestamp);
    signature = signStringToSign(init.client.privateKey, stringToSign);
  }
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (init.accessToken !== null) headers.Authorization = `Bearer ${init.accessToken}`;
  headers['X-TIMESTAMP'] = init.timestamp;
  headers['X-PARTNER-ID'] = partnerId;
  headers['X-EXTERNAL-ID'] = init.externalId;
  const channel = init.channelId === undefined ? `${partnerId}01` : init.channelId;
  if (channel !== null) headers['CHANNEL-ID'] = channel;
  headers['X-SIGNATURE'] = signature;
  const bytes = new TextEncoder().encode(init.body);
  return { request: { method, headers, ...(method === 'GET' || method === 'HEAD' ? {} : { body: bytes }) }, stringToSign };
}

/** The SHA-256 the server is expected to hash, for the record. */
export const bodyHashOf = (body: string, mode: BodyHashMode): string => {
  try {
    return bodySha256Hex(body, mode);
  } catch {
    return bodySha256Hex(body, 'as-sent');
  }
};

// ---------------------------------------------------------------------------------------
// The record of an exchange, for reports: secrets and signatures redacted.

/** One request and its answer, as the reports show them. */
export interface RecordedExchange {
  /** When the request was sent (ISO 8601, UTC). */
  readonly at: string;
  readonly request: {
    readonly method: string;
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
    /** The body (first 2,000 characters). */
    readonly body: string;
  };
  readonly response:
    | {
        readonly status: number;
        readonly headers: Readonly<Record<string, string>>;
        /** The body (first 2,000 characters), access tokens redacted. */
        readonly body: string;
        readonly ms: number;
      }
    | { readonly error: string; readonly ms: number };
}

const REDACTED_HEADERS = new Set(['authorization', 'x-signature']);
const cut = (text: string, max = 2000): string => (text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text);

/** `Bearer <redacted, 43 characters>` and the like: what is hidden, and how long it was. */
export function redactHeader(name: string, value: string): string {
  if (!REDACTED_HEADERS.has(name.toLowerCase())) return value;
  const bearer = /^(Bearer )(.*)$/i.exec(value);
  if (bearer) return `${bearer[1]}<redacted, ${(bearer[2] ?? '').length} characters>`;
  return `<redacted, ${value.length} characters>`;
}

/** A response body with any `accessToken` value hidden. */
export const redactBody = (text: string): string =>
  text.replace(/("accessToken"\s*:\s*")((?:[^"\\]|\\.)*)"/g, (_, head: string, token: string) => `${head}<redacted, ${token.length} characters>"`);

/** Access tokens and signatures this run sent or received: never shown, wherever a server echoes them. */
const sensitive = new Set<string>();

/** Remember a token or signature (16 characters or more) so that {@link redactKnown} hides it. */
export function rememberSensitive(value: string | undefined): void {
  if (value !== undefined && value.length >= 16) sensitive.add(value);
}

/** `text` with every remembered token and signature replaced by `<redacted, N characters>`. */
export function redactKnown(text: string): string {
  let out = text;
  for (const value of [...sensitive].sort((a, b) => b.length - a.length)) {
    if (out.includes(value)) out = out.split(value).join(`<redacted, ${value.length} characters>`);
  }
  return out;
}

/** Remember the bearer token and the signature a request carries. */
function rememberRequest(request: OutgoingRequest): void {
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'x-signature') rememberSensitive(value);
    else if (lower === 'authorization') rememberSensitive(/^Bearer (.*)$/i.exec(value)?.[1] ?? value);
  }
}

/** Record an exchange for the reports. */
export function record(url: URL | string, request: OutgoingRequest, exchange: Exchange, at: number): RecordedExchange {
  rememberRequest(request);
  if (exchange.ok) {
    try {
      const token = (JSON.parse(exchange.bodyText) as { accessToken?: unknown }).accessToken;
      if (typeof token === 'string') rememberSensitive(token);
    } catch {
      // not JSON: nothing to remember
    }
  }
  const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, redactHeader(name, value)]));
  const body = request.body === undefined ? '' : cut(new TextDecoder().decode(request.body));
  return {
    at: new Date(at).toISOString(),
    request: { method: request.method, url: String(url), headers, body },
    response: exchange.ok
      ? {
          status: exchange.status,
          headers: Object.fromEntries(exchange.headers.map(([n, v]) => [n, redactKnown(redactHeader(n, v))])),
          body: cut(redactKnown(redactBody(exchange.bodyText))),
          ms: exchange.ms,
        }
      : { error: redactKnown(exchange.error), ms: exchange.ms },
  };
}

/** Send and record. */
export async function sendRecorded(url: URL, request: OutgoingRequest, timeoutMs: number, log: RecordedExchange[]): Promise<Exchange> {
  const at = Date.now();
  const exchange = await send(url, request, timeoutMs);
  log.push(record(url, request, exchange, at));
  return exchange;
}

/** A case's result with every remembered token and signature hidden in what the server sent back. */
export function redactResult<R extends { readonly got: object; readonly problems: readonly string[] }>(result: R): R {
  const got = Object.fromEntries(
    Object.entries(result.got).map(([key, value]) => [key, typeof value === 'string' ? redactKnown(key === 'body' ? redactBody(value) : value) : value]),
  );
  return { ...result, got, problems: result.problems.map(redactKnown) };
}
