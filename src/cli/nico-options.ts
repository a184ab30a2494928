/**
 * The options `probe` and `simulate` share: where the endpoints are, NICEPAY's credentials
 * for the client (and an optional second client), how calls are signed, the bodies.
 * @module
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { minifyJson } from '../protocol/symmetric.js';
import {
  CLIENT_SECRET,
  oneLine,
  loadPrivateKey,
  parseClientKey,
  parseTimeout,
  readFileFor,
  readSecret,
  required,
  secretOptions,
  UsageError,
  type SecretSource,
} from './args.js';
import { DEFAULT_TIMEOUT_MS } from './http.js';
import { DEFAULT_PAY_NO, ENDPOINTS, EXAMPLE_INQUIRY_BODY, EXAMPLE_PAYMENT_BODY, fillBody, nicoUrls, type CallSignature, type Endpoint, type NicoClient, type NicoUrls } from './nico.js';
import type { TxEndpoint } from './nico-probe.js';

/** The other client's secret. */
export const OTHER_CLIENT_SECRET: SecretSource = { option: 'other-client-secret', env: 'NICEPAY_OTHER_CLIENT_SECRET' };

/** The option table. */
export const NICO_OPTIONS = {
  'private-key': { type: 'string' },
  'client-key': { type: 'string' },
  ...secretOptions('client-secret'),
  signature: { type: 'string' },
  sandbox: { type: 'boolean' },
  'token-path': { type: 'string' },
  'inquiry-path': { type: 'string' },
  'payment-path': { type: 'string' },
  'inquiry-service-code': { type: 'string' },
  'payment-service-code': { type: 'string' },
  'inquiry-body': { type: 'string' },
  'payment-body': { type: 'string' },
  'pay-no': { type: 'string' },
  'other-client-key': { type: 'string' },
  ...secretOptions('other-client-secret'),
  'other-private-key': { type: 'string' },
  'expired-token': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  junit: { type: 'string' },
} as const;

/** The help text of the shared options. */
export const NICO_OPTIONS_HELP = `NICEPAY's credentials for the client (what NICEPAY holds, in a test environment):
  --private-key FILE          the RSA private key that signs the access-token requests
  --client-key ID             X-CLIENT-KEY, and X-PARTNER-ID on inquiry and payment
  --client-secret-file FILE   the client secret for HMAC-SHA512 signatures (- reads stdin);
                              or the environment variable NICEPAY_CLIENT_SECRET;
                              or --client-secret S (visible in ps and shell history)
  --signature FORM            how inquiry and payment are signed: hmac (SNAP symmetric, with
                              the client secret; the default), rsa (SHA256withRSA over
                              "X-PARTNER-ID|X-TIMESTAMP" with --private-key), or both (hmac,
                              and one call RSA-signed that must verify too). RSA runs end by
                              waiting until the clock passes their last X-TIMESTAMP, so the
                              next run cannot repeat a signature
  --sandbox                   accept a 1024-bit key (NICEPAY's sandbox key)

Where (BASE_URL is an origin, an origin with a prefix, or one endpoint's URL):
  --token-path P, --inquiry-path P, --payment-path P
                              paths on BASE_URL's origin (defaults: BASE_URL's path +
                              /api/v1.0/access-token/b2b, /api/v1.0/cvs/inquiry, /api/v1.0/cvs/payment)
  --inquiry-service-code NN, --payment-service-code NN
                              the service codes NICEPAY gave you (default: learned from the
                              first answer of each endpoint, then held to it)

Bodies (NICO's CVS body schema is not published; the built-in ones are examples):
  --inquiry-body FILE, --payment-body FILE
                              JSON templates; {{payNo}}, {{requestId}} (new for each call)
                              and {{timestamp}} are filled in
  --pay-no N                  the pay number in the bodies (default ${DEFAULT_PAY_NO})

More cases:
  --other-client-key ID       a second client the server knows; with its secret
                              (--other-client-secret-file FILE, NICEPAY_OTHER_CLIENT_SECRET,
                              --other-client-secret S) or --other-private-key FILE (rsa)
  --expired-token TOKEN       a token the server issued to --client-key over 15 minutes ago
                              (save one from a run, or mint one: with this library's tokens,
                              createAccessTokenIssuer({ secret }).issue(ID, Date.now() - 16 * 60_000))

Output:
  --timeout MS                per request (default ${DEFAULT_TIMEOUT_MS})
  --json                      print the results as JSON
  --report FILE               write the run as Markdown (scenarios, expected, actual, each
                              request and answer with tokens and signatures redacted)
  --junit FILE                write the run as JUnit XML (for CI)`;

/** What the shared options say. */
export interface NicoSettings {
  readonly urls: NicoUrls;
  readonly client: NicoClient;
  readonly other?: NicoClient;
  readonly expiredToken?: string;
  readonly signature: CallSignature;
  readonly alsoRsa: boolean;
  readonly bodies: Readonly<Record<TxEndpoint, string>>;
  readonly payNo: string;
  readonly serviceCodes: Partial<Record<TxEndpoint, string>>;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly report?: string;
  readonly junit?: string;
}

/** A client id NICEPAY sends as a header: 1-128 visible ASCII characters. */
const visibleId = (value: string, option: string): string => {
  if (!/^[\x21-\x7e]{1,128}$/.test(value)) throw new UsageError(`${option} must be 1-128 visible ASCII characters (it is sent as a header), got ${JSON.stringify(value)}`);
  return value;
};

/** A body template must give JSON once its placeholders are filled in (checked before any request is sent). */
function checkTemplate(template: string, option: string): void {
  const filled = fillBody(template, { payNo: DEFAULT_PAY_NO, requestId: 'REQ00000000000000000000', timestamp: '2024-01-01T00:00:00+07:00' });
  try {
    minifyJson(filled);
    JSON.parse(filled);
  } catch (error) {
    throw new UsageError(`${option} is not JSON once {{payNo}}, {{requestId}} and {{timestamp}} are filled in: ${oneLine((error as Error).message)}`, { pointToHelp: false });
  }
}

/** Fail now, not after the run, when a report file cannot be written. */
function checkWritable(file: string | undefined, option: string): void {
  if (file === undefined) return;
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch {
    throw new UsageError(`cannot write ${option} ${file}: its directory does not exist or is not writable`, { pointToHelp: false });
  }
}

const serviceCode = (value: string | undefined, option: string): string | undefined => {
  if (value === undefined) return undefined;
  if (!/^[0-9]{2}$/.test(value)) throw new UsageError(`${option} must be two digits (the service code NICEPAY gave you), got ${JSON.stringify(value)}`);
  return value;
};

function bodyTemplate(file: string | undefined, option: string, fallback: string): string {
  if (file === undefined) return fallback;
  const text = new TextDecoder().decode(readFileFor(file, option));
  return text.replace(/\r?\n$/, '');
}

/** Read the shared options. `needsTransactions`: whether inquiry or payment calls are made. */
export function readNicoSettings(
  values: Readonly<Record<string, string | boolean | undefined>>,
  base: URL,
  needsTransactions: boolean,
  env: Readonly<Record<string, string | undefined>> = process.env,
): NicoSettings {
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const sandbox = values.sandbox === true;
  const clientKey = visibleId(parseClientKey(str('client-key')), '--client-key');
  const privateKey = loadPrivateKey(required(str('private-key'), '--private-key'), '--private-key', sandbox);
  const clientSecret = readSecret(values, CLIENT_SECRET, env);
  // HMAC unless asked otherwise: a forgotten secret must not switch to RSA silently.
  const form = str('signature') ?? 'hmac';
  if (form !== 'hmac' && form !== 'rsa' && form !== 'both') throw new UsageError(`--signature must be hmac, rsa or both, got ${JSON.stringify(form)}`);
  if (needsTransactions && form !== 'rsa' && clientSecret === undefined) {
    throw new UsageError(
      `--signature ${form} needs the client secret: --client-secret-file FILE (or - for stdin), NICEPAY_CLIENT_SECRET=..., or --client-secret S (or --signature rsa when the server takes RSA signatures)`,
    );
  }
  const client: NicoClient = { clientKey, privateKey, ...(clientSecret === undefined ? {} : { clientSecret }) };

  let other: NicoClient | undefined;
  const otherKey = str('other-client-key');
  const otherSecret = readSecret(values, OTHER_CLIENT_SECRET, env);
  const otherPrivate = str('other-private-key');
  const otherGiven = ['other-client-secret', 'other-client-secret-file', 'other-private-key'].some((name) => values[name] !== undefined);
  if (otherKey === undefined && otherGiven) {
    throw new UsageError("the other client's secret or key needs --other-client-key ID");
  }
  if (otherKey !== undefined) {
    const key = visibleId(parseClientKey(otherKey, '--other-client-key'), '--other-client-key');
    if (key === clientKey) throw new UsageError('--other-client-key must be another client than --client-key');
    if (form === 'rsa' ? otherPrivate === undefined : otherSecret === undefined) {
      throw new UsageError(
        form === 'rsa'
          ? '--other-client-key needs --other-private-key FILE (calls are RSA-signed)'
          : '--other-client-key needs its secret: --other-client-secret-file FILE, NICEPAY_OTHER_CLIENT_SECRET=..., or --other-client-secret S',
      );
    }
    other = {
      clientKey: key,
      privateKey: otherPrivate === undefined ? privateKey : loadPrivateKey(otherPrivate, '--other-private-key', sandbox),
      ...(otherSecret === undefined ? {} : { clientSecret: otherSecret }),
    };
  }

  const expiredToken = str('expired-token');
  if (expiredToken === '') throw new UsageError('--expired-token is empty');
  const payNo = str('pay-no') ?? DEFAULT_PAY_NO;
  if (payNo === '' || /[\u0000-\u001f"\\]/.test(payNo)) throw new UsageError(`--pay-no must be plain text, got ${JSON.stringify(payNo)}`);
  const paths: Partial<Record<Endpoint, string>> = {};
  for (const endpoint of ENDPOINTS) {
    const path = str(`${endpoint}-path`);
    if (path !== undefined) paths[endpoint] = path;
  }
  const bodies = {
    inquiry: bodyTemplate(str('inquiry-body'), '--inquiry-body', EXAMPLE_INQUIRY_BODY),
    payment: bodyTemplate(str('payment-body'), '--payment-body', EXAMPLE_PAYMENT_BODY),
  };
  checkTemplate(bodies.inquiry, '--inquiry-body');
  checkTemplate(bodies.payment, '--payment-body');
  checkWritable(str('report'), '--report');
  checkWritable(str('junit'), '--junit');
  const inquiryCode = serviceCode(str('inquiry-service-code'), '--inquiry-service-code');
  const paymentCode = serviceCode(str('payment-service-code'), '--payment-service-code');
  return {
    urls: nicoUrls(base, paths),
    client,
    ...(other === undefined ? {} : { other }),
    ...(expiredToken === undefined ? {} : { expiredToken }),
    signature: form === 'rsa' ? 'rsa' : 'hmac',
    alsoRsa: form === 'both',
    bodies,
    payNo,
    serviceCodes: { ...(inquiryCode === undefined ? {} : { inquiry: inquiryCode }), ...(paymentCode === undefined ? {} : { payment: paymentCode }) },
    timeoutMs: parseTimeout(str('timeout'), DEFAULT_TIMEOUT_MS),
    json: values.json === true,
    ...(str('report') === undefined ? {} : { report: str('report') as string }),
    ...(str('junit') === undefined ? {} : { junit: str('junit') as string }),
  };
}

/** The tool's version (package.json next to dist/). */
export function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A base URL: http(s), any path (an origin, a prefix, or one endpoint's URL). */
export function parseBaseUrl(value: string | undefined): URL {
  if (value === undefined || value === '') throw new UsageError('BASE_URL is required (e.g. http://127.0.0.1:3000)');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`BASE_URL ${JSON.stringify(value)} is not a URL (e.g. http://127.0.0.1:3000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`BASE_URL must be http:// or https://, got ${JSON.stringify(value)}`);
  if (url.username !== '' || url.password !== '') throw new UsageError('BASE_URL must not carry a user name or password (user:password@): NICO endpoints take none');
  return url;
}

/**
 * A line saying which service codes were learned from the answers rather than given, or
 * undefined: a server that answers with the wrong codes consistently passes otherwise.
 */
export function learnedServiceCodesNote(given: Partial<Record<TxEndpoint, string>>, used: Partial<Record<TxEndpoint, string>>): string | undefined {
  const learned = (['inquiry', 'payment'] as const).filter((e) => given[e] === undefined && used[e] !== undefined);
  if (learned.length === 0) return undefined;
  return `service codes learned from the answers, not checked: ${learned.map((e) => `${e} ${used[e]}`).join(', ')}. Give the ones NICEPAY assigned you (${learned.map((e) => `--${e}-service-code`).join(', ')}) to hold the run to them.`;
}
