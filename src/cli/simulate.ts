/**
 * `simulate`: NICEPAY through the whole NICO flow against a running merchant server, and
 * the calls that move money when something goes wrong: the token, an inquiry, a payment
 * (retried on a 5xx as NICEPAY would), the payment retried after a timeout with the same
 * X-EXTERNAL-ID, then under a new one with the same business key, a duplicate
 * X-EXTERNAL-ID, an expired token, a token of another client.
 * @module
 */
import type { OutgoingRequest } from './http.js';
import { rememberSensitive, Stamper, type CallInit, type NicoUrls } from './nico.js';
import {
  baseCall,
  callWithRetries,
  runTxCase,
  sendCall,
  type EndpointState,
  type TxCase,
  type TxContext,
  type TxEndpoint,
} from './nico-probe.js';
import { PROBE_CASES, runTokenCases, summarize, type CaseResult, type ProbeReport } from './probe.js';
import type { NicoSettings } from './nico-options.js';

/** A step of the story: which endpoint, and the case that plays it. */
export interface SimulateStep {
  readonly endpoint: TxEndpoint;
  readonly case: TxCase;
}

/** What the steps remember of each other. */
interface Story {
  inquiry?: { readonly init: CallInit };
  payment?: { readonly init: CallInit; readonly request: OutgoingRequest; readonly status: number; readonly responseCode: string | null; readonly body: string };
}

const codeOf = (text: string): string | null => {
  try {
    const code = (JSON.parse(text) as { responseCode?: unknown }).responseCode;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
};

/**
 * A final business answer: 2xx, or a 4xx about the transaction itself (403, 404, 409xx01),
 * not a refusal of the request (400, 401, 405, 409xx00) or a server error.
 */
function isBusinessAnswer(status: number, responseCode: string | null): boolean {
  if (status >= 200 && status < 300) return true;
  if (status === 403 || status === 404) return true;
  return status === 409 && responseCode !== null && responseCode.endsWith('01');
}

/** The steps after the token, in order. */
export function simulateSteps(story: Story): SimulateStep[] {
  return [
    {
      endpoint: 'inquiry',
      case: {
        name: 'inquiry',
        description: 'NICEPAY asks about the bill: a correctly signed inquiry with the body (a 5xx is retried with the same X-EXTERNAL-ID)',
        expect: { kind: 'verified' },
        run: async (context, endpoint, log) => {
          const result = await callWithRetries(context, endpoint, baseCall(context, endpoint), log);
          story.inquiry = { init: result.init };
          return result;
        },
      },
    },
    {
      endpoint: 'payment',
      case: {
        name: 'payment',
        description: 'NICEPAY reports the payment: a correctly signed payment (a 5xx is retried with the same X-EXTERNAL-ID, as NICEPAY does)',
        expect: { kind: 'verified' },
        run: async (context, endpoint, log) => {
          const result = await callWithRetries(context, endpoint, baseCall(context, endpoint), log);
          if (result.exchange.ok) {
            story.payment = {
              init: result.init,
              request: result.request,
              status: result.exchange.status,
              responseCode: codeOf(result.exchange.bodyText),
              body: result.exchange.bodyText,
            };
          }
          const notes = [...result.notes];
          if (result.exchange.ok && isBusinessAnswer(result.exchange.status, codeOf(result.exchange.bodyText)) && result.exchange.status >= 400) {
            notes.push('the payment was refused by the business logic: give --pay-no a bill the server knows, or --payment-body');
          }
          return { ...result, notes };
        },
      },
    },
    {
      endpoint: 'payment',
      case: {
        name: 'payment retried after a timeout, same X-EXTERNAL-ID',
        description: 'NICEPAY did not get the answer in time and sends the payment again: same X-EXTERNAL-ID and body, new X-TIMESTAMP and signature',
        expect: { kind: 'answer', status: 409, cases: ['00'] },
        run: (context, endpoint, log) => {
          const previous = story.payment?.init ?? baseCall(context, endpoint);
          return sendCall(context, { ...previous, timestamp: context.stamper.next(previous.signature) }, log);
        },
      },
    },
    {
      endpoint: 'payment',
      case: {
        name: 'payment retried under a new X-EXTERNAL-ID',
        description: 'the same payment (same body, same business key) under a new X-EXTERNAL-ID: the first answer again (or 404xx18), not a second payment',
        expect: { kind: 'verified' },
        expectAt: (context) => {
          // The first answer is the reference only when it was a final business answer; after a
          // refusal or a server error, this call is the first time the payment goes through.
          const first = story.payment;
          const sc = context.state.payment.serviceCode;
          if (first === undefined || first.responseCode === null || sc === undefined || !/^[0-9]{7}$/.test(first.responseCode)) return { kind: 'verified' };
          if (!isBusinessAnswer(first.status, first.responseCode)) return { kind: 'verified' };
          return { kind: 'answer', status: first.status, cases: [first.responseCode.slice(5)], also: { status: 404, case: '18' } };
        },
        run: async (context, endpoint, log) => {
          const previous = story.payment?.init ?? baseCall(context, endpoint);
          const { exchange, request } = await sendCall(context, { ...baseCall(context, endpoint), body: previous.body }, log);
          const warnings: string[] = [];
          const notes: string[] = [];
          const first = story.payment;
          if (exchange.ok && first !== undefined && isBusinessAnswer(first.status, first.responseCode)) {
            if (exchange.status === first.status && exchange.bodyText !== first.body) {
              warnings.push(
                "the answer differs from the first answer to this payment: if the payment was processed a second time, NICEPAY's retries double payments (answer the first final answer again, e.g. with the idempotency option)",
              );
            } else if (exchange.status === first.status) {
              notes.push(
                'the same answer as step 3. The tool sees answers, not your records: check that this payment was recorded once (a server that processes it again and answers the same passes this step)',
              );
            } else if (codeOf(exchange.bodyText) !== null && codeOf(exchange.bodyText)?.slice(5) !== '18') {
              notes.push(
                "a retry of a payment must get the first final answer again (or 404xx18 Inconsistent Request), not a new verdict such as Paid Bill: keep the first answer per business key (the idempotency option, keyed by NICEPAY's payment id)",
              );
            }
          }
          return { exchange, request, warnings, notes };
        },
      },
    },
    {
      endpoint: 'inquiry',
      case: {
        name: 'duplicate X-EXTERNAL-ID',
        description: 'a new inquiry with the X-EXTERNAL-ID of the first inquiry (same day)',
        expect: { kind: 'answer', status: 409, cases: ['00'] },
        run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { externalId: story.inquiry?.init.externalId ?? '00000000000000000000' }), log),
      },
    },
    {
      endpoint: 'inquiry',
      case: {
        name: 'expired token',
        description: 'an inquiry with a token the server issued over 15 minutes ago (--expired-token)',
        expect: { kind: 'answer', status: 401, cases: ['01'] },
        needs: 'expired-token',
        run: (context, endpoint, log) => sendCall(context, baseCall(context, endpoint, { accessToken: context.expiredToken ?? '' }), log),
      },
    },
    {
      endpoint: 'inquiry',
      case: {
        name: 'token of another client',
        description: "the client's token on an inquiry from the other client (its X-PARTNER-ID and signature)",
        expect: { kind: 'answer', status: 401, cases: ['01'] },
        needs: 'other-client',
        run: (context, endpoint, log) => {
          const other = context.other;
          if (other === undefined) throw new Error('no other client');
          return sendCall(context, baseCall(context, endpoint, { client: other, partnerId: other.clientKey }), log);
        },
      },
    },
  ];
}

/** The whole run, as `--json` prints it. */
export interface SimulateReport extends ProbeReport {
  readonly target: Readonly<Record<'token' | TxEndpoint, string>>;
  readonly serviceCodes: Readonly<Partial<Record<TxEndpoint, string>>>;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** Play NICEPAY through the flow. Never throws for a failing server. */
export async function runSimulate(
  settings: Pick<NicoSettings, 'client' | 'other' | 'expiredToken' | 'signature' | 'alsoRsa' | 'bodies' | 'payNo' | 'serviceCodes' | 'timeoutMs'> & { readonly urls: NicoUrls },
  onResult: (result: CaseResult) => void = () => undefined,
  now: () => number = Date.now,
  onSettle: (ms: number) => void = () => undefined,
): Promise<SimulateReport> {
  const startedAt = new Date(now()).toISOString();
  rememberSensitive(settings.expiredToken);
  let accessToken: string | undefined;
  const results = await runTokenCases(settings.urls.token, {
    clientKey: settings.client.clientKey,
    privateKey: settings.client.privateKey,
    timeoutMs: settings.timeoutMs,
    cases: PROBE_CASES.slice(0, 1),
    onResult: (result) => onResult({ ...result, name: 'access token', description: 'NICEPAY asks for an access token, signed with its private key' }),
    now,
    onToken: (token) => (accessToken = token),
  });
  if (results[0] !== undefined) results[0] = { ...results[0], name: 'access token', description: 'NICEPAY asks for an access token, signed with its private key' };
  const state: Record<TxEndpoint, EndpointState> = {
    inquiry: { serviceCode: settings.serviceCodes.inquiry },
    payment: { serviceCode: settings.serviceCodes.payment },
  };
  if (accessToken === undefined) {
    const result: CaseResult = {
      endpoint: 'inquiry',
      name: 'inquiry and payment',
      description: 'the calls after the token',
      expected: { status: null, responseCode: null, text: '-' },
      got: { status: null, responseCode: null, ms: 0 },
      verdict: 'fail',
      problems: ['no access token: NICEPAY cannot call inquiry or payment without one (see the access-token step)'],
      exchanges: [],
    };
    results.push(result);
    onResult(result);
  } else {
    const context: TxContext = {
      urls: settings.urls,
      client: settings.client,
      ...(settings.other === undefined ? {} : { other: settings.other }),
      accessToken,
      ...(settings.expiredToken === undefined ? {} : { expiredToken: settings.expiredToken }),
      signature: settings.signature,
      alsoRsa: false,
      stamper: new Stamper(now),
      timeoutMs: settings.timeoutMs,
      bodies: settings.bodies,
      payNo: settings.payNo,
      state,
      now,
    };
    const seen = new Set<TxEndpoint>();
    for (const step of simulateSteps({})) {
      const result = await runTxCase(context, step.endpoint, step.case, !seen.has(step.endpoint));
      seen.add(step.endpoint);
      results.push(result);
      onResult(result);
    }
    onSettle(context.stamper.pendingMs());
    await context.stamper.settle();
  }
  return {
    url: settings.urls.token.href,
    clientKey: settings.client.clientKey,
    target: { token: settings.urls.token.href, inquiry: settings.urls.inquiry.href, payment: settings.urls.payment.href },
    serviceCodes: Object.fromEntries(Object.entries(state).flatMap(([e, s]) => (s.serviceCode === undefined ? [] : [[e, s.serviceCode]]))),
    startedAt,
    finishedAt: new Date(now()).toISOString(),
    cases: results,
    summary: summarize(results),
  };
}
