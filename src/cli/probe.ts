/**
 * The conformance probe: what NICEPAY may send to a merchant's access-token endpoint, and
 * what the protocol requires it to answer. The cases are data ({@link PROBE_CASES}); the
 * runner ({@link runProbe}) sends them one by one and checks every answer
 * ({@link checkAnswer}).
 * @module
 */
import { generateKeyPairSync } from 'node:crypto';
import { importPrivateKey, type RsaPrivateKey } from '../crypto/keys.js';
import { signStringToSign } from '../crypto/rsa.js';
import { buildStringToSign } from '../protocol/string-to-sign.js';
import { formatTimestamp, parseTimestamp } from '../protocol/timestamp.js';
import { oneLine, UsageError } from './args.js';
import { keyFingerprint } from './fingerprint.js';
import type { Exchange, OutgoingRequest } from './http.js';
import { escapeControl } from './output.js';
import { redactResult, sendRecorded, type Endpoint, type RecordedExchange } from './nico.js';

/** The body NICEPAY sends. */
export const ACCESS_TOKEN_BODY = '{"grantType":"client_credentials","additionalInfo":{}}';

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array<ArrayBuffer> => encoder.encode(text);

/** What the probe knows when it builds a request. */
export interface ProbeContext {
  readonly clientKey: string;
  readonly privateKey: RsaPrivateKey;
  /** A throwaway RSA key of the same size, generated on first use. */
  otherKey(): RsaPrivateKey;
  /** Epoch ms. */
  now(): number;
}

/** The answer a case requires. */
export interface Expected {
  readonly status: number;
  readonly responseCode: string;
}

/** One conformance case. */
export interface ProbeCase {
  /** Short, stable name (the `--json` output and the tests use it). */
  readonly name: string;
  /** What is sent, in a sentence. */
  readonly description: string;
  readonly expected: Expected;
  /** The request; `sent` has the requests of the cases already run, by name. */
  build(context: ProbeContext, sent: ReadonlyMap<string, OutgoingRequest>): OutgoingRequest;
  /** When set, a `200 2007300` answer instead of the expected error is a warning with this text, not a failure. */
  readonly acceptIsWarning?: string;
}

/** The headers of an access-token request signed like NICEPAY, and what was signed. */
export function accessTokenRequestHeaders(key: RsaPrivateKey, clientKey: string, timestamp: string): { stringToSign: string; headers: Record<string, string> } {
  const stringToSign = buildStringToSign(clientKey, timestamp);
  return {
    stringToSign,
    headers: {
      'Content-Type': 'application/json',
      'X-TIMESTAMP': timestamp,
      'X-CLIENT-KEY': clientKey,
      'X-SIGNATURE': signStringToSign(key, stringToSign),
    },
  };
}

/** {@link accessTokenRequestHeaders}, with a bad client key or timestamp as a usage error. */
export function signedRequest(key: RsaPrivateKey, clientKey: string, timestamp: string): { stringToSign: string; headers: Record<string, string> } {
  try {
    return accessTokenRequestHeaders(key, clientKey, timestamp);
  } catch (error) {
    throw new UsageError(oneLine((error as Error).message.replace(/^buildStringToSign: /, '')));
  }
}

/** Headers of a correctly signed request at `timestamp`. */
export function signedHeaders(context: ProbeContext, timestamp: string, clientKey = context.clientKey, key = context.privateKey): Record<string, string> {
  return accessTokenRequestHeaders(key, clientKey, timestamp).headers;
}

const now = (context: ProbeContext): string => formatTimestamp(context.now());
const post = (headers: Record<string, string>, body = ACCESS_TOKEN_BODY): OutgoingRequest => ({ method: 'POST', headers, body: bytes(body) });
const without = (headers: Record<string, string>, name: string): Record<string, string> => {
  const { [name]: _dropped, ...rest } = headers;
  return rest;
};

const OK: Expected = { status: 200, responseCode: '2007300' };
const UNAUTHORIZED: Expected = { status: 401, responseCode: '4017300' };
const BAD_REQUEST: Expected = { status: 400, responseCode: '4007300' };
const INVALID_FORMAT: Expected = { status: 400, responseCode: '4007301' };
const MISSING_FIELD: Expected = { status: 400, responseCode: '4007302' };
const NOT_ALLOWED: Expected = { status: 405, responseCode: '4057300' };

const missingHeader = (name: string): ProbeCase => ({
  name: `missing ${name}`,
  description: `a correctly signed request without the ${name} header`,
  expected: MISSING_FIELD,
  build: (context) => post(without(signedHeaders(context, now(context)), name)),
});

/** The size of the oversized body. */
export const OVERSIZED_BODY_BYTES = 64 * 1024;

/** Every case, in the order they run. */
export const PROBE_CASES: readonly ProbeCase[] = [
  {
    name: 'valid request',
    description: 'a correctly signed request, as NICEPAY sends it',
    expected: OK,
    build: (context) => post(signedHeaders(context, now(context))),
  },
  {
    name: 'replay of the valid request',
    description: 'the valid request again, byte for byte',
    expected: UNAUTHORIZED,
    acceptIsWarning:
      'accepted a replay of the valid request: no replay guard. SNAP recommends one (each signed request accepted once within the clock window), but it is not mandatory',
    build: (context, sent) => sent.get('valid request') ?? post(signedHeaders(context, now(context))),
  },
  {
    name: 'tampered signature',
    description: 'the valid request with one base64 character of X-SIGNATURE changed',
    expected: UNAUTHORIZED,
    build: (context) => {
      const headers = signedHeaders(context, now(context));
      const signature = headers['X-SIGNATURE'] as string;
      const i = Math.floor(signature.length / 2);
      headers['X-SIGNATURE'] = signature.slice(0, i) + (signature[i] === 'A' ? 'B' : 'A') + signature.slice(i + 1);
      return post(headers);
    },
  },
  {
    name: 'signature by another key',
    description: 'signed correctly, but with a throwaway RSA key of the same size',
    expected: UNAUTHORIZED,
    build: (context) => post(signedHeaders(context, now(context), context.clientKey, context.otherKey())),
  },
  {
    name: 'X-SIGNATURE not base64',
    description: 'X-SIGNATURE is "not base64!"',
    expected: UNAUTHORIZED,
    build: (context) => post({ ...signedHeaders(context, now(context)), 'X-SIGNATURE': 'not base64!' }),
  },
  {
    name: 'unknown X-CLIENT-KEY',
    description: 'correctly signed with the key, for a client key the server does not know',
    expected: UNAUTHORIZED,
    build: (context) => post(signedHeaders(context, now(context), `${context.clientKey.slice(0, 100)}-UNKNOWN`)),
  },
  missingHeader('Content-Type'),
  missingHeader('X-TIMESTAMP'),
  missingHeader('X-CLIENT-KEY'),
  missingHeader('X-SIGNATURE'),
  {
    name: 'malformed X-TIMESTAMP',
    description: 'X-TIMESTAMP "yyyy-MM-dd HH:mm:ss" (no T, no offset), correctly signed',
    expected: INVALID_FORMAT,
    build: (context) => post(signedHeaders(context, now(context).slice(0, 19).replace('T', ' '))),
  },
  {
    name: 'stale X-TIMESTAMP',
    description: 'X-TIMESTAMP 10 minutes old, correctly signed',
    expected: UNAUTHORIZED,
    build: (context) => post(signedHeaders(context, formatTimestamp(context.now() - 600_000))),
  },
  {
    name: 'future X-TIMESTAMP',
    description: 'X-TIMESTAMP 10 minutes ahead, correctly signed',
    expected: UNAUTHORIZED,
    build: (context) => post(signedHeaders(context, formatTimestamp(context.now() + 600_000))),
  },
  {
    name: 'wrong grantType',
    description: 'body {"grantType":"password","additionalInfo":{}}',
    expected: INVALID_FORMAT,
    build: (context) => post(signedHeaders(context, now(context)), '{"grantType":"password","additionalInfo":{}}'),
  },
  {
    name: 'missing grantType',
    description: 'body {"additionalInfo":{}}',
    expected: MISSING_FIELD,
    build: (context) => post(signedHeaders(context, now(context)), '{"additionalInfo":{}}'),
  },
  {
    name: 'empty body',
    description: 'a correctly signed request with no body',
    expected: BAD_REQUEST,
    build: (context) => post(signedHeaders(context, now(context)), ''),
  },
  {
    name: 'non-JSON body',
    description: 'body grantType=client_credentials (a form, not JSON)',
    expected: BAD_REQUEST,
    build: (context) => post(signedHeaders(context, now(context)), 'grantType=client_credentials'),
  },
  {
    name: 'JSON array body',
    description: 'body [{"grantType":"client_credentials","additionalInfo":{}}]',
    expected: BAD_REQUEST,
    build: (context) => post(signedHeaders(context, now(context)), `[${ACCESS_TOKEN_BODY}]`),
  },
  {
    name: 'wrong Content-Type',
    description: 'Content-Type: text/plain',
    expected: INVALID_FORMAT,
    build: (context) => post({ ...signedHeaders(context, now(context)), 'Content-Type': 'text/plain' }),
  },
  {
    name: 'oversized body',
    description: `a valid JSON body padded to ${OVERSIZED_BODY_BYTES / 1024} KiB`,
    expected: BAD_REQUEST,
    build: (context) => {
      const head = '{"grantType":"client_credentials","additionalInfo":{"padding":"';
      const tail = '"}}';
      return post(signedHeaders(context, now(context)), head + 'x'.repeat(OVERSIZED_BODY_BYTES - head.length - tail.length) + tail);
    },
  },
  {
    name: 'wrong method (GET)',
    description: 'GET with correctly signed headers',
    expected: NOT_ALLOWED,
    build: (context) => ({ method: 'GET', headers: signedHeaders(context, now(context)) }),
  },
];

// ---------------------------------------------------------------------------------------
// Checking an answer.

/** RFC 6750 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 150;
/** Allowed difference between the response's X-TIMESTAMP and this machine's clock before a warning. */
const CLOCK_WARNING_SECONDS = 300;

/** What was read from an answer. */
export interface Answer {
  readonly status: number;
  readonly responseCode: string | null;
  readonly responseMessage: string | null;
  /** The response headers the protocol defines (null when absent). */
  readonly headers: { readonly 'content-type': string | null; readonly 'x-timestamp': string | null; readonly 'x-client-key': string | null };
  /** Whether the answer claims success (HTTP 200 or responseCode 2007300). */
  readonly success: boolean;
  /** What the protocol forbids. */
  readonly problems: string[];
  /** What it advises against. */
  readonly warnings: string[];
}

/** A value from the server, quoted and cut to 60 characters, safe to print. */
export const describe = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'string'
        ? escapeControl(JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value))
        : typeof value === 'object'
          ? 'an object'
          : `${typeof value} ${String(value)}`;

/** What every SNAP answer is checked for, and what was read from it. */
export interface SnapAnswerCheck extends Answer {
  /** The body, when it is a JSON object. */
  readonly object: Record<string, unknown> | undefined;
}

/**
 * Check what every SNAP answer must have, whatever it answers: JSON content type, an
 * `X-TIMESTAMP` in strict SNAP format, a JSON object body with string `responseCode`
 * (seven digits starting with the HTTP status, and `serviceCode` in the middle when given)
 * and `responseMessage`.
 */
export function checkSnapAnswer(exchange: Extract<Exchange, { ok: true }>, nowMs = Date.now(), serviceCode?: string): SnapAnswerCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  const header = (name: string): string | null => exchange.headers.find(([n]) => n === name)?.[1] ?? null;
  const headers = { 'content-type': header('content-type'), 'x-timestamp': header('x-timestamp'), 'x-client-key': header('x-client-key') };

  const contentType = headers['content-type'];
  if (contentType === null) problems.push('no Content-Type response header (must be application/json)');
  else if (!isJsonContentType(contentType)) problems.push(`Content-Type response header is ${JSON.stringify(contentType)}, not application/json`);

  const timestamp = headers['x-timestamp'];
  if (timestamp === null) problems.push('no X-TIMESTAMP response header');
  else {
    try {
      const parsed = parseTimestamp(timestamp);
      const aheadSeconds = Math.round((parsed.epochMs - nowMs) / 1000);
      if (Math.abs(aheadSeconds) > CLOCK_WARNING_SECONDS) {
        const hint = Math.abs(Math.abs(aheadSeconds) - 25_200) < CLOCK_WARNING_SECONDS ? ' (a UTC clock labelled +07:00?)' : '';
        warnings.push(`X-TIMESTAMP response header ${timestamp} is ${Math.abs(aheadSeconds)} s ${aheadSeconds > 0 ? 'ahead of' : 'behind'} this machine's clock${hint}`);
      }
    } catch {
      problems.push(`X-TIMESTAMP response header ${JSON.stringify(timestamp)} is not strict SNAP format (yyyy-MM-ddTHH:mm:ss+07:00)`);
    }
  }

  let body: unknown;
  let parsedOk = false;
  try {
    body = JSON.parse(exchange.bodyText);
    parsedOk = true;
  } catch {
    problems.push(
      exchange.truncated
        ? `response body is longer than ${exchange.bodyText.length} characters (cut there, not read further)`
        : exchange.bodyText === ''
          ? 'empty response body (must be a JSON object)'
          : `response body is not JSON: ${describe(exchange.bodyText)}`,
    );
  }
  let responseCode: string | null = null;
  let responseMessage: string | null = null;
  const object = parsedOk && typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  if (parsedOk && !object) problems.push(`response body is ${describe(body)}, not a JSON object`);
  if (object) {
    const code = object.responseCode;
    if (typeof code !== 'string') problems.push(code === undefined ? 'no responseCode in the body' : `responseCode is ${describe(code)}, not a string`);
    else {
      responseCode = code;
      if (!/^[0-9]{7}$/.test(code)) problems.push(`responseCode ${describe(code)} is not 7 digits`);
      else if (code.slice(0, 3) !== String(exchange.status)) problems.push(`responseCode ${code} does not start with the HTTP status ${exchange.status}`);
      else if (serviceCode !== undefined && code.slice(3, 5) !== serviceCode) problems.push(`responseCode ${code} has service code ${code.slice(3, 5)}, not this endpoint's ${serviceCode}`);
    }
    const message = object.responseMessage;
    if (typeof message !== 'string') problems.push(message === undefined ? 'no responseMessage in the body' : `responseMessage is ${describe(message)}, not a string`);
    else responseMessage = message;
  }
  const success = exchange.status === 200 || (responseCode !== null && responseCode.startsWith('200'));
  return { status: exchange.status, responseCode, responseMessage, headers, success, problems, warnings, object };
}

/**
 * Check an access-token answer against the protocol, whatever it answers: what
 * {@link checkSnapAnswer} checks with service code 73 allowed anywhere; on success also
 * `X-CLIENT-KEY`, the token (1-150 RFC 6750 characters), `tokenType` "Bearer", `expiresIn`
 * a string of digits.
 */
export function checkAnswer(exchange: Extract<Exchange, { ok: true }>, clientKey: string, nowMs = Date.now()): Answer {
  const { object, ...common } = checkSnapAnswer(exchange, nowMs);
  const { problems, headers, responseCode } = common;
  const success = exchange.status === 200 || responseCode === '2007300';
  if (success && object) {
    const token = object.accessToken;
    if (typeof token !== 'string' || token === '') problems.push(token === undefined ? 'no accessToken in the body' : `accessToken is ${describe(token)}, not a non-empty string`);
    else {
      if (token.length > MAX_TOKEN_LENGTH) problems.push(`accessToken is ${token.length} characters; NICO allows at most ${MAX_TOKEN_LENGTH}`);
      if (!B64TOKEN.test(token)) problems.push('accessToken has characters outside RFC 6750 (A-Z a-z 0-9 - . _ ~ + / and trailing =)');
    }
    if (object.tokenType !== 'Bearer') problems.push(`tokenType is ${describe(object.tokenType)}, must be "Bearer"`);
    const expiresIn = object.expiresIn;
    if (typeof expiresIn !== 'string') problems.push(`expiresIn is ${describe(expiresIn)}, must be a string of seconds such as "900"`);
    else if (!/^[1-9][0-9]*$/.test(expiresIn)) problems.push(`expiresIn ${JSON.stringify(expiresIn)} is not a positive whole number of seconds`);
    const info = object.additionalInfo;
    if (info !== undefined && (typeof info !== 'object' || info === null || Array.isArray(info))) problems.push(`additionalInfo is ${describe(info)}, must be an object`);
    if (headers['x-client-key'] === null) problems.push('no X-CLIENT-KEY response header on success');
    else if (headers['x-client-key'] !== clientKey) problems.push(`X-CLIENT-KEY response header is ${describe(headers['x-client-key'])}, not the client key ${JSON.stringify(clientKey)}`);
  }
  return { ...common, success };
}

function isJsonContentType(value: string): boolean {
  const [type = '', ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((param) => !param.startsWith('charset=') || param.slice(8).replace(/^"(.*)"$/, '$1') === 'utf-8');
}

// ---------------------------------------------------------------------------------------
// Running the cases.

/** One case's outcome, as `--json` prints it. */
export interface CaseResult {
  /** Which endpoint the case calls. */
  readonly endpoint: Endpoint;
  readonly name: string;
  readonly description: string;
  /**
   * The answer required: an exact status and responseCode, or (status and responseCode null)
   * any answer that verifies the call; `text` says it in words ("409 4094800", "verified").
   */
  readonly expected: { readonly status: number | null; readonly responseCode: string | null; readonly text: string };
  readonly got: {
    readonly status: number | null;
    readonly responseCode: string | null;
    readonly responseMessage?: string | null;
    readonly headers?: Answer['headers'];
    /** The response body (first 500 characters). */
    readonly body?: string;
    /** Why there was no answer (timeout, connection error). */
    readonly error?: string;
    readonly ms: number;
  };
  /** `skip`: the case could not run with what was given (the reason is in `problems`). */
  readonly verdict: 'pass' | 'fail' | 'warn' | 'skip';
  /** What is wrong (fail), advised against (warn, prefixed "warning: "), or noted ("note: "). */
  readonly problems: readonly string[];
  /** The requests sent and the answers, with tokens and signatures redacted (for `--report`). */
  readonly exchanges?: readonly RecordedExchange[];
}

/** The whole run. */
export interface ProbeReport {
  readonly url: string;
  readonly clientKey: string;
  readonly cases: readonly CaseResult[];
  readonly summary: { readonly total: number; readonly pass: number; readonly warn: number; readonly fail: number; readonly skip: number };
}

/** What {@link runProbe} needs. */
export interface ProbeOptions {
  readonly clientKey: string;
  readonly privateKey: RsaPrivateKey;
  readonly timeoutMs: number;
  /** Default: {@link PROBE_CASES}. */
  readonly cases?: readonly ProbeCase[];
  /** Called after each case (progress output). */
  readonly onResult?: (result: CaseResult) => void;
  /** Clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
}

/** Judge one exchange for one case. */
export function judge(testCase: ProbeCase, exchange: Exchange, clientKey: string, nowMs = Date.now()): CaseResult {
  const { status, responseCode } = testCase.expected;
  const base = { endpoint: 'token' as const, name: testCase.name, description: testCase.description, expected: { status, responseCode, text: `${status} ${responseCode}` } };
  if (!exchange.ok) {
    return { ...base, got: { status: null, responseCode: null, error: exchange.error, ms: exchange.ms }, verdict: 'fail', problems: [exchange.error] };
  }
  const answer = checkAnswer(exchange, clientKey, nowMs);
  const got = {
    status: answer.status,
    responseCode: answer.responseCode,
    responseMessage: answer.responseMessage,
    headers: answer.headers,
    body: exchange.bodyText.length > 500 ? `${exchange.bodyText.slice(0, 500)}...` : exchange.bodyText,
    ms: exchange.ms,
  };
  const mismatch: string[] = [];
  if (answer.status !== testCase.expected.status) mismatch.push(`HTTP status ${answer.status}, expected ${testCase.expected.status}`);
  if (answer.responseCode !== null && answer.responseCode !== testCase.expected.responseCode) {
    mismatch.push(`responseCode ${answer.responseCode}, expected ${testCase.expected.responseCode}`);
  }
  const warnings = answer.warnings.map((w) => `warning: ${w}`);
  if (testCase.acceptIsWarning !== undefined && mismatch.length > 0 && answer.status === 200 && answer.responseCode === '2007300' && answer.problems.length === 0) {
    return { ...base, got, verdict: 'warn', problems: [`warning: ${testCase.acceptIsWarning}`, ...warnings] };
  }
  const problems = [...mismatch, ...answer.problems];
  if (problems.length > 0) return { ...base, got, verdict: 'fail', problems: [...problems, ...warnings] };
  return { ...base, got, verdict: warnings.length > 0 ? 'warn' : 'pass', problems: warnings };
}

/** Run the cases one after the other against `url`. Never throws for a failing server. */
export async function runProbe(url: URL | string, options: ProbeOptions): Promise<ProbeReport> {
  const results = await runTokenCases(url, options);
  return { url: String(url), clientKey: options.clientKey, cases: results, summary: summarize(results) };
}

/** Count the verdicts. */
export function summarize(results: readonly CaseResult[]): ProbeReport['summary'] {
  const count = (verdict: CaseResult['verdict']): number => results.filter((r) => r.verdict === verdict).length;
  return { total: results.length, pass: count('pass'), warn: count('warn'), fail: count('fail'), skip: count('skip') };
}

/** Why `path` is not an access-token endpoint, in one line; undefined when it may be one. */
export function tokenWrongKind(exchange: Exchange, path: string): string | undefined {
  if (!exchange.ok) return undefined;
  let code: unknown;
  try {
    code = (JSON.parse(exchange.bodyText) as { responseCode?: unknown }).responseCode;
  } catch {
    code = undefined;
  }
  const contentType = exchange.headers.find(([n]) => n === 'content-type')?.[1] ?? '';
  if (typeof code === 'string' && /^[0-9]{7}$/.test(code) && code.slice(3, 5) !== '73' && code.slice(3, 5) !== '00') {
    return `${path} answers with service code ${code.slice(3, 5)} (responseCode ${code}), not 73: it looks like an inquiry or payment endpoint, not the access-token endpoint (--token-path)`;
  }
  if (exchange.status === 404 && (typeof code !== 'string' || code.slice(3, 5) === '00')) {
    return `nothing at ${path} (HTTP 404${typeof code === 'string' ? ` ${code}` : ''}): is the access-token endpoint mounted there? (--token-path)`;
  }
  if (typeof code !== 'string' && !/json/i.test(contentType)) {
    return `${path} does not answer SNAP JSON (HTTP ${exchange.status}, Content-Type ${describe(contentType)}): not a NICO endpoint, or a proxy or framework answered first`;
  }
  return undefined;
}

/** Run the access-token cases one after the other against `url`; never throws for a failing server. */
export async function runTokenCases(
  url: URL | string,
  options: ProbeOptions & {
    readonly onToken?: (accessToken: string) => void;
    /** Whether a valid request refused 401 is signed again in the next second, once (default true). */
    readonly retryFirstInNextSecond?: boolean;
  },
): Promise<CaseResult[]> {
  const clock = options.now ?? Date.now;
  let other: RsaPrivateKey | undefined;
  const context: ProbeContext = {
    clientKey: options.clientKey,
    privateKey: options.privateKey,
    now: clock,
    otherKey: () => (other ??= throwawayKey(options.privateKey.bits)),
  };
  const sent = new Map<string, OutgoingRequest>();
  const results: CaseResult[] = [];
  const target = new URL(url);
  let wrongKind: string | undefined;
  for (const testCase of options.cases ?? PROBE_CASES) {
    if (wrongKind !== undefined) {
      const { status, responseCode } = testCase.expected;
      const skipped: CaseResult = {
        endpoint: 'token',
        name: testCase.name,
        description: testCase.description,
        expected: { status, responseCode, text: `${status} ${responseCode}` },
        got: { status: null, responseCode: null, ms: 0 },
        verdict: 'skip',
        problems: ['skipped: not an access-token endpoint (see the first case)'],
        exchanges: [],
      };
      results.push(skipped);
      options.onResult?.(skipped);
      continue;
    }
    let request = testCase.build(context, sent);
    const log: RecordedExchange[] = [];
    let exchange = await sendRecorded(target, request, options.timeoutMs, log);
    let retried = false;
    if (testCase === PROBE_CASES[0] && exchange.ok && exchange.status === 401 && options.retryFirstInNextSecond !== false) {
      // An RSA signature over X-CLIENT-KEY|X-TIMESTAMP repeats within one second: a run right
      // after another (a probe after a simulate) may send a request the server already saw.
      // NICEPAY would sign again in a new second; so does the probe, once.
      await new Promise((resolve) => setTimeout(resolve, 1000 - (clock() % 1000) + 5));
      request = testCase.build(context, sent);
      exchange = await sendRecorded(target, request, options.timeoutMs, log);
      retried = true;
    }
    sent.set(testCase.name, request);
    let result: CaseResult = { ...judge(testCase, exchange, options.clientKey, clock()), exchanges: log };
    if (retried && result.verdict !== 'fail') {
      result = {
        ...result,
        problems: [...result.problems, 'note: answered 401 first, then accepted when signed again in the next second (the first request had an X-TIMESTAMP, so a signature, the server had seen: an earlier run in the same second?)'],
      };
    }
    if (testCase === PROBE_CASES[0]) {
      wrongKind = tokenWrongKind(exchange, `${target.pathname}${target.search}`);
      if (wrongKind !== undefined) result = { ...result, verdict: 'fail', problems: [wrongKind] };
      else if (result.verdict === 'fail' && result.got.status === 401) {
        const key = options.privateKey.publicKey;
        result = {
          ...result,
          problems: [
            ...result.problems,
            `hint: a correctly signed request was refused: is X-CLIENT-KEY ${JSON.stringify(options.clientKey)} configured with the public key of --private-key (RSA ${key.bits} bits, SHA-256 fingerprint ${keyFingerprint(key)})?`,
          ],
        };
      }
      if (exchange.ok) {
        try {
          const token = (JSON.parse(exchange.bodyText) as { accessToken?: unknown }).accessToken;
          if (typeof token === 'string' && token !== '') options.onToken?.(token);
        } catch {
          // no token: the transaction cases say so
        }
      }
    }
    result = redactResult(result);
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

/** A fresh RSA key of `bits` bits (node:crypto), imported for signing. */
export function throwawayKey(bits: number): RsaPrivateKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: Math.max(1024, bits) });
  return importPrivateKey(new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })), { minModulusBits: 1024 });
}
