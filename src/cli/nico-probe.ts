/**
 * The conformance cases of the calls after the token (CVS inquiry and payment): what
 * NICEPAY may send, and what the protocol requires the merchant to answer. Shared with
 * `simulate`: the context that signs and sends calls ({@link TxContext}) and the judge of
 * an answer ({@link judgeTx}).
 * @module
 */
import { formatTimestamp } from '../protocol/timestamp.js';
import { escapeControl } from './output.js';
import { checkSnapAnswer, describe, PROBE_CASES, runTokenCases, summarize, type CaseResult, type ProbeReport } from './probe.js';
import type { Exchange, OutgoingRequest } from './http.js';
import {
  buildCall,
  fillBody,
  newExternalId,
  redactResult,
  rememberSensitive,
  sendRecorded,
  type CallInit,
  type CallSignature,
  type NicoClient,
  type NicoUrls,
  Stamper,
  type Endpoint,
  type RecordedExchange,
} from './nico.js';

/** A transaction endpoint. */
export type TxEndpoint = 'inquiry' | 'payment';

/** What a case requires of the answer. */
export type TxExpect =
  /** This status, and a responseCode of status + the endpoint's service code + one of `cases`. */
  | { readonly kind: 'answer'; readonly status: number; readonly cases: readonly string[]; readonly also?: { readonly status: number; readonly case: string } }
  /** The call was verified: any answer but a refusal of the request (400xx00-02, 401, 405, 409xx00) or a 5xx. */
  | { readonly kind: 'verified' };

/** What an endpoint has shown so far. */
export interface EndpointState {
  /** The service code: given, or learned from the first well-formed answer. */
  serviceCode: string | undefined;
  /** Set when the endpoint is not a NICO transaction endpoint: why, in one line. */
  wrongKind?: string;
  /** The last valid call: its init and request (for the repeat and replay cases). */
  valid?: { readonly init: CallInit; readonly request: OutgoingRequest; readonly answer?: { status: number; body: string } };
}

/** What the cases need: credentials, the token, the clock, and where to send. */
export interface TxContext {
  readonly urls: NicoUrls;
  readonly client: NicoClient;
  /** A second client the server knows (for the token-of-another-client case). */
  readonly other?: NicoClient;
  /** The token issued to `client`. */
  readonly accessToken: string;
  /** A token the server issued to `client` that has expired. */
  readonly expiredToken?: string;
  /** How calls are signed. */
  readonly signature: CallSignature;
  /** Whether the server also takes RSA `X-PARTNER-ID|X-TIMESTAMP` signatures (one case checks it). */
  readonly alsoRsa: boolean;
  readonly stamper: Stamper;
  readonly timeoutMs: number;
  /** Body templates with placeholders. */
  readonly bodies: Readonly<Record<TxEndpoint, string>>;
  readonly payNo: string;
  readonly state: Record<TxEndpoint, EndpointState>;
  now(): number;
}

/** A fresh, correctly signed call of `endpoint` (new X-EXTERNAL-ID, timestamp, request id). */
export function baseCall(context: TxContext, endpoint: TxEndpoint, overrides: Partial<CallInit> = {}): CallInit {
  const timestamp = context.stamper.next(overrides.signature ?? context.signature);
  return {
    url: context.urls[endpoint],
    body: fillBody(context.bodies[endpoint], { payNo: context.payNo, requestId: `REQ${newExternalId(context.now)}`, timestamp }),
    accessToken: context.accessToken,
    client: context.client,
    externalId: newExternalId(context.now),
    timestamp,
    signature: context.signature,
    ...overrides,
  };
}

/** Send a call and record it. */
export async function sendCall(context: TxContext, init: CallInit, log: RecordedExchange[]): Promise<{ exchange: Exchange; request: OutgoingRequest }> {
  const { request } = buildCall(init);
  return { exchange: await sendRecorded(init.url, request, context.timeoutMs, log), request };
}

/** Send a prepared request and record it. */
export const sendRequest = (context: TxContext, endpoint: TxEndpoint, request: OutgoingRequest, log: RecordedExchange[]): Promise<Exchange> =>
  sendRecorded(context.urls[endpoint], request, context.timeoutMs, log);

/** The expected answer in words: "409 4094800", "401 40147xx", "verified (2xx or a business 4xx)". */
export function expectedText(expect: TxExpect, serviceCode: string | undefined): string {
  if (expect.kind === 'verified') return 'verified';
  const sc = serviceCode ?? 'xx';
  const main = `${expect.status} ${expect.cases.map((c) => `${expect.status}${sc}${c}`).join('/')}`;
  return expect.also ? `${main} or ${expect.also.status}${sc}${expect.also.case}` : main;
}

const REFUSALS: Readonly<Record<string, string>> = {
  '400-00': 'Bad Request',
  '400-01': 'Invalid Field Format',
  '400-02': 'Invalid Mandatory Field',
  '409-00': 'Conflict (X-EXTERNAL-ID already used)',
};

/**
 * Judge an answer of an inquiry or payment endpoint: well-formed SNAP (see
 * `checkSnapAnswer`), the endpoint's service code (learned from the first well-formed
 * answer when not given), and the expected status and responseCode.
 */
export function judgeTx(
  exchange: Exchange,
  expect: TxExpect,
  state: EndpointState,
  nowMs: number,
  warnIfAccepted?: string,
): Pick<CaseResult, 'got' | 'verdict' | 'problems'> & { expectedText: string; status: number | null; responseCode: string | null } {
  if (!exchange.ok) {
    return {
      got: { status: null, responseCode: null, error: exchange.error, ms: exchange.ms },
      verdict: 'fail',
      problems: [exchange.error],
      expectedText: expectedText(expect, state.serviceCode),
      status: null,
      responseCode: null,
    };
  }
  const check = checkSnapAnswer(exchange, nowMs, state.serviceCode);
  const code = check.responseCode;
  if (state.serviceCode === undefined && code !== null && /^[0-9]{7}$/.test(code) && code.startsWith(String(exchange.status))) {
    state.serviceCode = code.slice(3, 5);
  }
  const sc = state.serviceCode;
  const got = {
    status: check.status,
    responseCode: code,
    responseMessage: check.responseMessage === null ? null : escapeControl(check.responseMessage),
    headers: check.headers,
    body: exchange.bodyText.length > 500 ? `${exchange.bodyText.slice(0, 500)}...` : exchange.bodyText,
    ms: exchange.ms,
  };
  const mismatch: string[] = [];
  const caseOf = code !== null && /^[0-9]{7}$/.test(code) ? code.slice(5) : undefined;
  if (expect.kind === 'answer') {
    const main = check.status === expect.status && (code === null || (caseOf !== undefined && expect.cases.includes(caseOf)));
    const alt = expect.also !== undefined && check.status === expect.also.status && caseOf === expect.also.case;
    if (!main && !alt) {
      if (check.status !== expect.status && !(expect.also && check.status === expect.also.status)) mismatch.push(`HTTP status ${check.status}, expected ${expect.status}`);
      else if (code !== null) mismatch.push(`responseCode ${describe(code)}, expected ${expectedText(expect, sc).replace(/^\d+ /, '')}`);
    }
  } else {
    const key = `${check.status}-${caseOf ?? ''}`;
    if (check.status >= 500) mismatch.push(`answered ${check.status}${code ? ` ${code}` : ''}: a server error, not an answer to the call`);
    else if (check.status === 401) mismatch.push(`refused ${check.status} ${code ?? ''}${check.responseMessage ? ` ${describe(check.responseMessage)}` : ''}: a correctly signed call did not verify`.replace('  ', ' '));
    else if (REFUSALS[key] !== undefined) mismatch.push(`refused ${check.status} ${code}: ${REFUSALS[key]}${check.responseMessage ? ` (${describe(check.responseMessage)})` : ''}`);
    else if (check.status === 405) mismatch.push(`answered 405 ${code ?? ''}: the method is not allowed`);
    else if (check.status < 200 || check.status >= 500 || (check.status >= 300 && check.status < 400)) mismatch.push(`HTTP status ${check.status} is not a SNAP answer`);
  }
  const warnings = check.warnings.map((w) => `warning: ${w}`);
  const base = { got, expectedText: expectedText(expect, sc), status: check.status, responseCode: code };
  if (warnIfAccepted !== undefined && mismatch.length > 0 && check.status >= 200 && check.status < 300 && check.problems.length === 0) {
    return { ...base, verdict: 'warn', problems: [`warning: ${warnIfAccepted}`, ...warnings] };
  }
  const problems = [...mismatch, ...check.problems];
  if (problems.length > 0) return { ...base, verdict: 'fail', problems: [...problems, ...warnings] };
  return { ...base, verdict: warnings.length > 0 ? 'warn' : 'pass', problems: warnings };
}

/** Why an endpoint is not a NICO transaction endpoint, in one line; undefined when it may be one. */
export function wrongKind(exchange: Exchange, endpoint: TxEndpoint, path: string): string | undefined {
  if (!exchange.ok) return undefined;
  const contentType = exchange.headers.find(([n]) => n === 'content-type')?.[1] ?? '';
  let code: unknown;
  try {
    code = (JSON.parse(exchange.bodyText) as { responseCode?: unknown }).responseCode;
  } catch {
    code = undefined;
  }
  if (typeof code === 'string' && /^[0-9]{7}$/.test(code) && code.slice(3, 5) === '73') {
    return `${path} answers as an access-token endpoint (responseCode ${code}, service code 73), not the CVS ${endpoint}: is --${endpoint}-path right?`;
  }
  if (exchange.status === 404 && (typeof code !== 'string' || code.slice(3, 5) === '00')) {
    return `nothing at ${path} (HTTP 404${typeof code === 'string' ? ` ${code}` : ''}): is the CVS ${endpoint} endpoint mounted there? (--${endpoint}-path)`;
  }
  if (typeof code !== 'string' && !/json/i.test(contentType)) {
    return `${path} does not answer SNAP JSON (HTTP ${exchange.status}, Content-Type ${describe(contentType)}): not a NICO endpoint, or a proxy or framework answered first`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// The cases.

/** One case of an inquiry or payment endpoint. */
export interface TxCase {
  readonly name: string;
  readonly description: string;
  readonly expect: TxExpect;
  /** What the case needs; without it, it is skipped with the reason. */
  readonly needs?: 'hmac' | 'rsa' | 'expired-token' | 'other-client';
  /** An answer 2xx instead of the refusal is a warning with this text, not a failure. */
  readonly warnIfAccepted?: string;
  /** The expectation, when it depends on earlier answers (it replaces `expect`). */
  expectAt?(context: TxContext): TxExpect;
  /** Send the case's request(s); returns the exchange that is judged, notes for the record, and problems or warnings found on the way. */
  run(context: TxContext, endpoint: TxEndpoint, log: RecordedExchange[]): Promise<{ exchange: Exchange; notes?: string[]; problems?: string[]; warnings?: string[] }>;
}

const refused = (status: number, ...cases: string[]): TxExpect => ({ kind: 'answer', status, cases });
const VERIFIED: TxExpect = { kind: 'verified' };

/** Send a call; on a 5xx, retry it as NICEPAY does (same X-EXTERNAL-ID, new X-TIMESTAMP and signature), up to `retries` times. */
export async function callWithRetries(
  context: TxContext,
  endpoint: TxEndpoint,
  init: CallInit,
  log: RecordedExchange[],
  retries = 2,
): Promise<{ exchange: Exchange; request: OutgoingRequest; init: CallInit; notes: string[]; problems: string[] }> {
  let current = init;
  let { exchange, request } = await sendCall(context, current, log);
  const notes: string[] = [];
  const problems: string[] = [];
  for (let attempt = 1; attempt <= retries && exchange.ok && exchange.status >= 500; attempt++) {
    const failed = exchange.status;
    notes.push(`answered ${failed}; retried as NICEPAY does: the same X-EXTERNAL-ID and body, a new X-TIMESTAMP and signature`);
    current = { ...current, timestamp: context.stamper.next(current.signature) };
    ({ exchange, request } = await sendCall(context, current, log));
    if (exchange.ok && exchange.status === 409) {
      problems.push(
        `the ${endpoint} was answered ${failed}, and its retry with the same X-EXTERNAL-ID was refused 409: the X-EXTERNAL-ID was kept after a server error, so this ${endpoint} can never go through`,
      );
    }
  }
  return { exchange, request, init: current, notes, problems };
}

const tamper = (body: string): string => body.replace(/}\s*$/, ',"tampered":true}');
/** The body re-spaced as python's json.dumps writes it (", " and ": " between tokens, outside strings). */
export function spaced(body: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    out += ch;
    if (inString) {
      if (ch === '\\') out += body[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === ',' || ch === ':') out += ' ';
  }
  return out;
}
const withEscapes = (body: string): string => body.replace(/}\s*$/, ',"probeNote":"caf\\u00e9 \\/ 1.50","probeNumber":12345678901234567890123,"probeAmount":1.50}');

const missing = (header: string, warnIfAccepted?: string): TxCase => ({
  name: `missing ${header}`,
  description: `a correctly signed call without the ${header} header`,
  expect: refused(400, '02'),
  ...(warnIfAccepted === undefined ? {} : { warnIfAccepted }),
  run: async (context, endpoint, log) => {
    const { request } = buildCall(baseCall(context, endpoint));
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== header));
    return { exchange: await sendRequest(context, endpoint, { ...request, headers }, log) };
  },
});

/** Every case of one transaction endpoint, in the order they run. */
export const TX_CASES: readonly TxCase[] = [
  {
    name: 'valid call',
    description: 'a correctly signed call with the example body, as NICEPAY sends it (a 5xx is retried with the same X-EXTERNAL-ID)',
    expect: VERIFIED,
    run: async (context, endpoint, log) => {
      const result = await callWithRetries(context, endpoint, baseCall(context, endpoint), log);
      const state = context.state[endpoint];
      state.valid = {
        init: result.init,
        request: result.request,
        ...(result.exchange.ok ? { answer: { status: result.exchange.status, body: result.exchange.bodyText } } : {}),
      };
      return result;
    },
  },
  {
    name: 'repeated X-EXTERNAL-ID',
    description: 'a new, correctly signed call with the X-EXTERNAL-ID of the valid call (same day)',
    expect: refused(409, '00'),
    run: async (context, endpoint, log) => {
      const previous = context.state[endpoint].valid?.init.externalId ?? newExternalId(context.now);
      return sendCall(context, baseCall(context, endpoint, { externalId: previous }), log);
    },
  },
  {
    name: 'signature replay, new X-EXTERNAL-ID',
    description: 'the valid call sent again with the same X-TIMESTAMP and X-SIGNATURE, under a new X-EXTERNAL-ID',
    expect: { kind: 'answer', status: 401, cases: ['00'], also: { status: 409, case: '00' } },
    run: async (context, endpoint, log) => {
      const valid = context.state[endpoint].valid?.request ?? buildCall(baseCall(context, endpoint)).request;
      return { exchange: await sendRequest(context, endpoint, { ...valid, headers: { ...valid.headers, 'X-EXTERNAL-ID': newExternalId(context.now) } }, log) };
    },
  },
  missing('Authorization'),
  {
    name: 'garbled Bearer token',
    description: 'the access token with one character changed, correctly signed over it',
    expect: refused(401, '01'),
    run: (context, endpoint, log) => {
      const token = context.accessToken;
      const i = Math.floor(token.length / 2);
      const garbled = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      return sendCall(context, baseCall(context, endpoint, { accessToken: garbled }), log);
    },
  },
  {
    name: 'expired token',
    description: 'a token this server issued that has expired (--expired-token), correctly signed',
    expect: refused(401, '01'),
    needs: 'expired-token',
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { accessToken: context.expiredToken ?? '' }), log),
  },
  {
    name: 'token of another client',
    description: "the client's token on a call from the other client (X-PARTNER-ID and signature of --other-client-key)",
    expect: refused(401, '01'),
    needs: 'other-client',
    run: (context, endpoint, log) => {
      const other = context.other as NicoClient;
      return sendCall(context, baseCall(context, endpoint, { client: other, partnerId: other.clientKey }), log);
    },
  },
  {
    name: 'X-PARTNER-ID mismatch',
    description: "the client's token and signature, with an X-PARTNER-ID the server does not know",
    expect: refused(401, '01', '00'),
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { partnerId: `${context.client.clientKey.slice(0, 100)}-UNKNOWN` }), log),
  },
  {
    name: 'tampered body',
    description: 'signed over the example body, sent with one field added',
    expect: refused(401, '00'),
    needs: 'hmac',
    run: (context, endpoint, log) => {
      const init = baseCall(context, endpoint);
      return sendCall(context, { ...init, signedBody: init.body, body: tamper(init.body) }, log);
    },
  },
  {
    name: 'body hashed as sent',
    description: 'a body with spaces after ":" and "," (python json.dumps), hashed as sent, not minified (must verify)',
    expect: VERIFIED,
    needs: 'hmac',
    run: (context, endpoint, log) => {
      const init = baseCall(context, endpoint);
      return sendCall(context, { ...init, body: spaced(init.body), bodyHash: 'as-sent' }, log);
    },
  },
  {
    name: 'body with escapes and big numbers',
    description: 'a body with \\u00e9, \\/, 1.50 and a 23-digit number, hashed minified (must verify: the bytes received, not a re-serialisation)',
    expect: VERIFIED,
    needs: 'hmac',
    run: (context, endpoint, log) => {
      const init = baseCall(context, endpoint);
      return sendCall(context, { ...init, body: withEscapes(init.body) }, log);
    },
  },
  {
    name: 'RSA signature',
    description: 'signed SHA256withRSA over "X-PARTNER-ID|X-TIMESTAMP" with the private key, as the NICO pages describe (must verify)',
    expect: VERIFIED,
    needs: 'rsa',
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { signature: 'rsa' }), log),
  },
  missing('Content-Type'),
  missing('X-TIMESTAMP'),
  missing('X-PARTNER-ID'),
  missing('X-EXTERNAL-ID'),
  missing('X-SIGNATURE'),
  missing(
    'CHANNEL-ID',
    'accepted a call without CHANNEL-ID: NICEPAY sends it (client id + "01"); checking it (the channelId option) refuses calls that are not from NICEPAY',
  ),
  {
    name: 'malformed X-TIMESTAMP',
    description: 'X-TIMESTAMP "yyyy-MM-dd HH:mm:ss" (no T, no offset), correctly signed',
    expect: refused(400, '01'),
    run: (context, endpoint, log) => {
      const init = baseCall(context, endpoint);
      return sendCall(context, { ...init, timestamp: init.timestamp.slice(0, 19).replace('T', ' ') }, log);
    },
  },
  {
    name: 'stale X-TIMESTAMP',
    description: 'X-TIMESTAMP 10 minutes old, correctly signed',
    expect: refused(401, '00'),
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { timestamp: stampAt(context, -600_000) }), log),
  },
  {
    name: 'future X-TIMESTAMP',
    description: 'X-TIMESTAMP 10 minutes ahead, correctly signed',
    expect: refused(401, '00'),
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { timestamp: stampAt(context, 600_000) }), log),
  },
  {
    name: '41-character X-EXTERNAL-ID',
    description: 'X-EXTERNAL-ID of 41 digits (NICEPAY sends at most 40), correctly signed',
    expect: refused(400, '01'),
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { externalId: `${newExternalId(context.now)}${newExternalId(context.now)}1` }), log),
  },
  {
    name: 'non-JSON body',
    description: 'body paymentCode=8880012345 (a form, not JSON), signed over it as sent',
    expect: refused(400, '00'),
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { body: `paymentCode=${context.payNo}`, bodyHash: 'as-sent' }), log),
  },
  {
    name: 'oversized body',
    description: 'a JSON body padded to 64 KiB, correctly signed',
    expect: refused(400, '00'),
    run: (context, endpoint, log) => {
      const init = baseCall(context, endpoint);
      const padded = init.body.replace(/}\s*$/, `,"padding":"${'x'.repeat(64 * 1024 - init.body.length - 14)}"}`);
      return sendCall(context, { ...init, body: padded }, log);
    },
  },
  {
    name: 'wrong method (GET)',
    description: 'GET with correctly signed headers',
    expect: refused(405, '00'),
    run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { method: 'GET', body: '' }), log),
  },
];

/** An X-TIMESTAMP `offsetMs` from now, on a second no other call uses. */
const stampAt = (context: TxContext, offsetMs: number): string => formatTimestamp(Date.parse(context.stamper.next(context.signature)) + offsetMs);

/** Why a case cannot run with what was given, or undefined. */
export function missingNeed(testCase: TxCase, context: Pick<TxContext, 'signature' | 'alsoRsa' | 'expiredToken' | 'other'>): string | undefined {
  switch (testCase.needs) {
    case 'hmac':
      return context.signature === 'hmac' ? undefined : 'the RSA form signs neither the body nor the path (HMAC only)';
    case 'rsa':
      if (context.signature === 'rsa') return 'every call is RSA-signed already (--signature rsa)';
      return context.alsoRsa ? undefined : 'give --signature both when the server takes RSA signatures too';
    case 'expired-token':
      return context.expiredToken === undefined ? 'give --expired-token TOKEN (a token this server issued over 15 minutes ago)' : undefined;
    case 'other-client':
      return context.other === undefined ? "give --other-client-key ID and that client's secret (or --other-private-key) to check tokens are bound to their client" : undefined;
    default:
      return undefined;
  }
}

/** Run every case of one endpoint. */
export async function runTxCases(
  context: TxContext,
  endpoint: TxEndpoint,
  onResult: (result: CaseResult) => void,
  cases: readonly TxCase[] = TX_CASES,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const testCase of cases) {
    let result = await runTxCase(context, endpoint, testCase, testCase === cases[0]);
    if (testCase.name === 'body with escapes and big numbers') result = withReserialisationHint(result, results);
    results.push(result);
    onResult(result);
  }
  return results;
}

/**
 * The body with spaces and the body with escapes both refused 401, while the compact valid
 * call verified: the pattern of a server that hashes a re-serialised body. Say so.
 */
function withReserialisationHint(result: CaseResult, earlier: readonly CaseResult[]): CaseResult {
  const valid = earlier.find((r) => r.name === 'valid call');
  const spacedCase = earlier.find((r) => r.name === 'body hashed as sent');
  if (result.verdict !== 'fail' || result.got.status !== 401 || valid?.verdict !== 'pass' || spacedCase?.verdict !== 'fail' || spacedCase.got.status !== 401) return result;
  return {
    ...result,
    problems: [
      ...result.problems,
      'hint: the compact body verifies, the body with spaces and the body with escapes do not: the server hashes a re-serialised body (JSON.stringify(JSON.parse(raw)), or a framework\'s parsed body), not the bytes received. Hash the raw body, minified or as sent',
    ],
  };
}

/**
 * Run one case and judge it. `first`: the endpoint's first call, whose answer also tells
 * whether the endpoint is a NICO transaction endpoint at all (then the others are skipped).
 */
export async function runTxCase(context: TxContext, endpoint: TxEndpoint, testCase: TxCase, first: boolean): Promise<CaseResult> {
  const state = context.state[endpoint];
  const path = `${context.urls[endpoint].pathname}${context.urls[endpoint].search}`;
  const base = { endpoint, name: testCase.name, description: testCase.description };
  const skip = state.wrongKind ?? missingNeed(testCase, context);
  if (skip !== undefined) {
    return {
      ...base,
      expected: { status: null, responseCode: null, text: expectedText(testCase.expect, state.serviceCode) },
      got: { status: null, responseCode: null, ms: 0 },
      verdict: 'skip',
      problems: [state.wrongKind !== undefined ? `skipped: not a NICO ${endpoint} endpoint (see its first case)` : `skipped: ${skip}`],
      exchanges: [],
    };
  }
  const log: RecordedExchange[] = [];
  let ran: Awaited<ReturnType<TxCase['run']>>;
  try {
    ran = await testCase.run(context, endpoint, log);
  } catch (error) {
    // A bug of the tool, not of the server: say so, and go on with the other cases.
    ran = { exchange: { ok: false, error: `internal error of nicepay-nico: ${(error as Error).message}`, ms: 0 } };
  }
  const expect = testCase.expectAt?.(context) ?? testCase.expect;
  const judged = judgeTx(ran.exchange, expect, state, context.now(), testCase.warnIfAccepted);
  const warnings = (ran.warnings ?? []).map((w) => `warning: ${w}`);
  let problems = [...(ran.problems ?? []), ...judged.problems, ...warnings];
  let verdict: CaseResult['verdict'] =
    ran.problems !== undefined && ran.problems.length > 0 ? 'fail' : judged.verdict === 'pass' && warnings.length > 0 ? 'warn' : judged.verdict;
  if (first) {
    const kind = wrongKind(ran.exchange, endpoint, path);
    if (kind !== undefined) {
      state.wrongKind = kind;
      problems = [kind];
      verdict = 'fail';
    }
  }
  return redactResult({
    ...base,
    expected: {
      status: expect.kind === 'answer' ? expect.status : null,
      responseCode: expect.kind === 'answer' && state.serviceCode !== undefined ? `${expect.status}${state.serviceCode}${expect.cases[0]}` : null,
      text: judged.expectedText,
    },
    got: judged.got,
    verdict,
    problems: [...problems, ...(ran.notes ?? []).map((n) => `note: ${n}`)],
    exchanges: log,
  });
}

// ---------------------------------------------------------------------------------------
// The whole probe: the access-token cases, then inquiry and payment with the token obtained.

/** What {@link runNicoProbe} needs. */
export interface NicoProbeOptions {
  readonly urls: NicoUrls;
  readonly client: NicoClient;
  readonly other?: NicoClient;
  readonly expiredToken?: string;
  readonly signature: CallSignature;
  readonly alsoRsa: boolean;
  /** Which endpoints' cases run; inquiry or payment without token still sends the valid token request. */
  readonly endpoints: readonly Endpoint[];
  readonly serviceCodes?: Partial<Record<TxEndpoint, string>>;
  readonly bodies: Readonly<Record<TxEndpoint, string>>;
  readonly payNo: string;
  readonly timeoutMs: number;
  readonly onResult?: (result: CaseResult) => void;
  /** Called before the wait that keeps RSA stamps from being reused by a next run (ms to wait). */
  readonly onSettle?: (ms: number) => void;
  readonly now?: () => number;
}

/** The whole run, as `--json` prints it. */
export interface NicoProbeReport extends ProbeReport {
  readonly target: Readonly<Record<Endpoint, string>>;
  readonly endpoints: readonly Endpoint[];
  /** The service codes used: given, or learned from the answers. */
  readonly serviceCodes: Readonly<Partial<Record<TxEndpoint, string>>>;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** Probe the three endpoints. Never throws for a failing server. */
export async function runNicoProbe(options: NicoProbeOptions): Promise<NicoProbeReport> {
  const now = options.now ?? Date.now;
  rememberSensitive(options.expiredToken);
  const startedAt = new Date(now()).toISOString();
  const onResult = options.onResult ?? (() => undefined);
  let accessToken: string | undefined;
  const transactions = options.endpoints.filter((e): e is TxEndpoint => e !== 'token');
  const tokenCases = options.endpoints.includes('token') ? PROBE_CASES : PROBE_CASES.slice(0, 1);
  const results = await runTokenCases(options.urls.token, {
    clientKey: options.client.clientKey,
    privateKey: options.client.privateKey,
    timeoutMs: options.timeoutMs,
    cases: tokenCases,
    onResult,
    now,
    onToken: (token) => (accessToken = token),
  });
  const state: Record<TxEndpoint, EndpointState> = {
    inquiry: { serviceCode: options.serviceCodes?.inquiry },
    payment: { serviceCode: options.serviceCodes?.payment },
  };
  if (transactions.length > 0 && accessToken === undefined) {
    for (const endpoint of transactions) {
      const result: CaseResult = {
        endpoint,
        name: 'all cases',
        description: `the ${endpoint} cases`,
        expected: { status: null, responseCode: null, text: '-' },
        got: { status: null, responseCode: null, ms: 0 },
        verdict: 'fail',
        problems: [`no access token: the valid access-token request got none (see its case), and every ${endpoint} call needs one`],
        exchanges: [],
      };
      results.push(result);
      onResult(result);
    }
  } else if (accessToken !== undefined) {
    const context: TxContext = {
      urls: options.urls,
      client: options.client,
      ...(options.other === undefined ? {} : { other: options.other }),
      accessToken,
      ...(options.expiredToken === undefined ? {} : { expiredToken: options.expiredToken }),
      signature: options.signature,
      alsoRsa: options.alsoRsa,
      stamper: new Stamper(now),
      timeoutMs: options.timeoutMs,
      bodies: options.bodies,
      payNo: options.payNo,
      state,
      now,
    };
    for (const endpoint of transactions) results.push(...(await runTxCases(context, endpoint, onResult)));
    options.onSettle?.(context.stamper.pendingMs());
    await context.stamper.settle();
  }
  return {
    url: options.urls.token.href,
    clientKey: options.client.clientKey,
    target: { token: options.urls.token.href, inquiry: options.urls.inquiry.href, payment: options.urls.payment.href },
    endpoints: options.endpoints,
    serviceCodes: Object.fromEntries(Object.entries(state).flatMap(([e, s]) => (s.serviceCode === undefined ? [] : [[e, s.serviceCode]]))),
    startedAt,
    finishedAt: new Date(now()).toISOString(),
    cases: results,
    summary: summarize(results),
  };
}
