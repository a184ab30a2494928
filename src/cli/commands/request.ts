/**
 * `nicepay-nico request`: send one access-token request signed like NICEPAY and show the exchange.
 * @module
 */
import { formatTimestamp } from '../../protocol/timestamp.js';
import { CLIENT_SECRET, COMMON_OPTIONS, loadPrivateKey, parse, parseClientKey, parseTimeout, parseUrl, required, requireSecret, secretOptions, UsageError } from '../args.js';
import { buildCall, DEFAULT_PAY_NO, EXAMPLE_INQUIRY_BODY, EXAMPLE_PAYMENT_BODY, fillBody, newExternalId, NICO_PATHS, type NicoClient } from '../nico.js';
import { checkSnapAnswer } from '../probe.js';
import { minifyJson } from '../../protocol/symmetric.js';
import { readFileFor } from '../args.js';
import { DEFAULT_TIMEOUT_MS, send, type Exchange } from '../http.js';
import type { Io } from '../main.js';
import { escapeControl, jsonText, paintFor, type Paint } from '../output.js';
import { ACCESS_TOKEN_BODY, checkAnswer, signedRequest } from '../probe.js';

export const REQUEST_HELP = `Usage:
  nicepay-nico request URL --private-key FILE --client-key ID [--timestamp T] [--sandbox] [--timeout MS] [--json]
  nicepay-nico request --transaction URL --client-key ID --client-secret-file FILE
                       (--token TOKEN | --private-key FILE [--token-url URL])
                       [--body-file FILE] [--pay-no N] [--external-id ID] [--channel-id ID]
                       [--body-hash minified|as-sent] [--timeout MS] [--json]

Send one access-token request signed like NICEPAY (POST, Content-Type, X-TIMESTAMP,
X-CLIENT-KEY, X-SIGNATURE, body ${ACCESS_TOKEN_BODY})
and print the exchange: request headers and body, response status, headers and body, and
anything in the answer the protocol does not allow.

  URL                  the endpoint, e.g. http://127.0.0.1:3000/api/v1.0/access-token/b2b
                       (a bare origin gets that path)
  --private-key FILE   the RSA private key that signs (NICEPAY's role)
  --client-key ID      X-CLIENT-KEY
  --timestamp T        X-TIMESTAMP to send (default: now, +07:00)
  --sandbox            accept a 1024-bit key (NICEPAY's sandbox key)
  --timeout MS         give up after MS milliseconds (default ${DEFAULT_TIMEOUT_MS})
  --json               print the exchange as JSON
  -h, --help           this help

Transaction mode (--transaction): send one CVS inquiry or payment call signed like NICEPAY
(HMAC-SHA512 with the client secret, every header NICEPAY sends) to URL, e.g.
http://127.0.0.1:3000/api/v1.0/cvs/inquiry, and check the answer is well-formed SNAP.
  --client-key ID      X-PARTNER-ID (and X-CLIENT-KEY of the token request)
  --client-secret-file FILE
                       the client secret; - reads stdin; or NICEPAY_CLIENT_SECRET; or --client-secret S
  --token TOKEN        the access token to use; without it, one is requested first from
                       --token-url (default: URL's origin + /api/v1.0/access-token/b2b)
                       signed with --private-key
  --body-file FILE     the body as sent (default: the built-in example body for an inquiry
                       or payment path; {{payNo}}, {{requestId}}, {{timestamp}} are filled in)
  --pay-no N           the pay number in the body (default 8880012345)
  --external-id ID     X-EXTERNAL-ID (default: a new 20-digit id)
  --channel-id ID      CHANNEL-ID (default: ID + "01")
  --body-hash MODE     minified (SNAP, default) or as-sent

Exit codes: 0 the answer is 2xx with nothing the protocol forbids (token issued, call
answered), 1 any other answer or none, 2 bad arguments or key.
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  transaction: { type: 'boolean' },
  ...secretOptions('client-secret'),
  token: { type: 'string' },
  'token-url': { type: 'string' },
  'body-file': { type: 'string' },
  'pay-no': { type: 'string' },
  'external-id': { type: 'string' },
  'channel-id': { type: 'string' },
  'body-hash': { type: 'string' },
  'private-key': { type: 'string' },
  'client-key': { type: 'string' },
  timestamp: { type: 'string' },
  sandbox: { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function request(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, 1);
  if (values.help) {
    io.out(REQUEST_HELP);
    return 0;
  }
  if (values.transaction) return requestTransaction(values, positionals[0], io);
  const url = parseUrl(positionals[0]);
  const clientKey = parseClientKey(values['client-key']);
  const timeoutMs = parseTimeout(values.timeout, DEFAULT_TIMEOUT_MS);
  const key = loadPrivateKey(required(values['private-key'], '--private-key'), '--private-key', values.sandbox === true);
  const timestamp = values.timestamp ?? formatTimestamp(Date.now());
  const { stringToSign, headers } = signedRequest(key, clientKey, timestamp);
  const exchange = await send(url, { method: 'POST', headers, body: new TextEncoder().encode(ACCESS_TOKEN_BODY) }, timeoutMs);
  const answer = exchange.ok ? checkAnswer(exchange, clientKey) : undefined;
  // Issued: 200 2007300 with nothing the protocol forbids (a token that is a number, no X-CLIENT-KEY, ...).
  const issued = answer !== undefined && answer.status === 200 && answer.responseCode === '2007300' && answer.problems.length === 0;

  if (values.json) {
    io.out(
      `${jsonText(
        {
          request: { method: 'POST', url: url.href, headers, body: ACCESS_TOKEN_BODY },
          response: exchange.ok ? { status: exchange.status, headers: Object.fromEntries(exchange.headers), body: exchange.bodyText, ms: exchange.ms } : null,
          error: exchange.ok ? null : exchange.error,
          responseCode: answer?.responseCode ?? null,
          issued,
          problems: answer ? [...answer.problems, ...answer.warnings.map((w) => `warning: ${w}`)] : [],
        },
        )}\n`,
    );
    return issued ? 0 : 1;
  }

  const paint = paintFor(io.stdout);
  const lines = [paint.dim(`> POST ${url.href}`)];
  // Everything below that came from the server is escaped: no answer can drive the terminal.
  for (const [name, value] of Object.entries(headers)) lines.push(paint.dim(`> ${name}: ${value}`));
  lines.push(paint.dim('>'), paint.dim(`> ${ACCESS_TOKEN_BODY}`), '');
  if (!exchange.ok) {
    lines.push(paint.red(`no answer: ${escapeControl(exchange.error)}`));
    io.out(`${lines.join('\n')}\n`);
    return 1;
  }
  lines.push(...responseLines(exchange, paint));
  const result = issued
    ? paint.green('2007300: access token issued')
    : answer !== undefined && answer.status === 200 && answer.responseCode === '2007300'
      ? paint.red('2007300, but the answer is not what the protocol requires:')
      : paint.red(`not a token: ${answer?.status} ${escapeControl(answer?.responseCode ?? '(no responseCode)')}${answer?.responseMessage ? ` ${escapeControl(answer.responseMessage)}` : ''}`);
  lines.push(result);
  for (const problem of answer?.problems ?? []) lines.push(`  ${paint.red('problem')}: ${escapeControl(problem)}`);
  for (const warning of answer?.warnings ?? []) lines.push(`  ${paint.yellow('warning')}: ${escapeControl(warning)}`);
  io.out(`${lines.join('\n')}\n`);
  return issued ? 0 : 1;
}

/** The answer's lines, every server-supplied character escaped. */
function responseLines(exchange: Extract<Exchange, { ok: true }>, paint: Paint): string[] {
  const lines = [`< HTTP ${exchange.status}${exchange.statusText ? ` ${escapeControl(exchange.statusText)}` : ''}  (${exchange.ms} ms)`];
  for (const [name, value] of exchange.headers) lines.push(`< ${escapeControl(name)}: ${escapeControl(value)}`);
  lines.push('<', `< ${escapeControl(exchange.bodyText)}`);
  if (exchange.truncated) lines.push(paint.yellow(`< (cut at ${exchange.bodyText.length} characters: the body is longer than 1 MiB)`));
  lines.push('');
  return lines;
}

/** `request --transaction`: one inquiry or payment call. */
async function requestTransaction(values: Readonly<Record<string, string | boolean | undefined>>, target: string | undefined, io: Io): Promise<number> {
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const url = parseUrl(target);
  if (url.pathname === '/api/v1.0/access-token/b2b' && target !== undefined && !target.includes('/access-token/')) {
    throw new UsageError('--transaction needs the URL of the inquiry or payment endpoint, e.g. http://127.0.0.1:3000/api/v1.0/cvs/inquiry');
  }
  const clientKey = parseClientKey(str('client-key'));
  const clientSecret = requireSecret(values, CLIENT_SECRET);
  const timeoutMs = parseTimeout(str('timeout'), DEFAULT_TIMEOUT_MS);
  const bodyFile = str('body-file');
  const payNo = str('pay-no') ?? DEFAULT_PAY_NO;
  const timestamp = str('timestamp') ?? formatTimestamp(Date.now());
  const template = bodyFile !== undefined ? new TextDecoder().decode(readFileFor(bodyFile, '--body-file')) : url.pathname.endsWith('/payment') ? EXAMPLE_PAYMENT_BODY : EXAMPLE_INQUIRY_BODY;
  const body = fillBody(template, { payNo, requestId: `REQ${newExternalId()}`, timestamp });
  const mode = str('body-hash') ?? 'minified';
  if (mode !== 'minified' && mode !== 'as-sent') throw new UsageError(`--body-hash must be minified or as-sent, got ${JSON.stringify(mode)}`);
  if (mode === 'minified') {
    try {
      minifyJson(body);
    } catch {
      throw new UsageError(`the body${bodyFile === undefined ? '' : ` (--body-file ${bodyFile})`} is not JSON; use --body-hash as-sent to hash it as it is`, { pointToHelp: false });
    }
  }
  const paint = paintFor(io.stdout);
  const lines: string[] = [];
  let accessToken = str('token');
  if (accessToken === undefined) {
    const keyFile = str('private-key');
    if (keyFile === undefined) throw new UsageError('give --token TOKEN, or --private-key FILE to request a token first');
    const key = loadPrivateKey(keyFile, '--private-key', values.sandbox === true);
    const tokenUrl = str('token-url') === undefined ? new URL(NICO_PATHS.token, url.origin) : parseUrl(str('token-url'), '--token-url');
    const { headers } = signedRequest(key, clientKey, formatTimestamp(Date.now()));
    const exchange = await send(tokenUrl, { method: 'POST', headers, body: new TextEncoder().encode(ACCESS_TOKEN_BODY) }, timeoutMs);
    let token: unknown;
    if (exchange.ok) {
      try {
        token = (JSON.parse(exchange.bodyText) as { accessToken?: unknown }).accessToken;
      } catch {
        token = undefined;
      }
    }
    if (typeof token !== 'string' || token === '') {
      io.out(`${paint.red(`no access token from ${tokenUrl.href}: ${exchange.ok ? `HTTP ${exchange.status} ${escapeControl(exchange.bodyText.slice(0, 200))}` : escapeControl(exchange.error)}`)}\n`);
      return 1;
    }
    accessToken = token;
    lines.push(paint.dim(`(access token obtained from ${tokenUrl.href})`), '');
  }
  const externalId = str('external-id') ?? newExternalId();
  // An HMAC-signed call: the private key (RSA) is not used to sign it.
  const client: NicoClient = { clientKey, privateKey: undefined as never, clientSecret };
  let call;
  try {
    call = buildCall({
      url,
      body,
      accessToken,
      client,
      externalId,
      ...(str('channel-id') === undefined ? {} : { channelId: str('channel-id') as string }),
      timestamp,
      signature: 'hmac',
      bodyHash: mode,
    });
  } catch (error) {
    throw new UsageError(`cannot sign the call: ${(error as Error).message}${mode === 'minified' ? ' (use --body-hash as-sent for a body that is not JSON)' : ''}`);
  }
  const { request: outgoing, stringToSign } = call;
  const exchange = await send(url, outgoing, timeoutMs);
  const answer = exchange.ok ? checkSnapAnswer(exchange, Date.now()) : undefined;
  const ok = answer !== undefined && answer.status >= 200 && answer.status < 300 && answer.problems.length === 0;
  if (values.json) {
    io.out(
      `${jsonText(
        {
          request: { method: outgoing.method, url: url.href, headers: outgoing.headers, body },
          stringToSign,
          response: exchange.ok ? { status: exchange.status, headers: Object.fromEntries(exchange.headers), body: exchange.bodyText, truncated: exchange.truncated, ms: exchange.ms } : null,
          error: exchange.ok ? null : exchange.error,
          responseCode: answer?.responseCode ?? null,
          ok,
          problems: answer ? [...answer.problems, ...answer.warnings.map((w) => `warning: ${w}`)] : [],
        },
        )}\n`,
    );
    return ok ? 0 : 1;
  }
  lines.push(paint.dim(`> ${outgoing.method} ${url.href}`));
  // The token may come from the server: everything is escaped.
  for (const [name, value] of Object.entries(outgoing.headers)) lines.push(paint.dim(`> ${name}: ${escapeControl(value)}`));
  lines.push(paint.dim('>'), paint.dim(`> ${escapeControl(body)}`), paint.dim(`  (stringToSign ${escapeControl(JSON.stringify(stringToSign))})`), '');
  if (!exchange.ok) {
    lines.push(paint.red(`no answer: ${escapeControl(exchange.error)}`));
    io.out(`${lines.join('\n')}\n`);
    return 1;
  }
  lines.push(...responseLines(exchange, paint));
  lines.push(ok ? paint.green(`${answer.status} ${answer.responseCode}: answered`) : paint.red(`${answer?.status} ${escapeControl(answer?.responseCode ?? '(no responseCode)')}${answer?.responseMessage ? ` ${escapeControl(answer.responseMessage)}` : ''}`));
  for (const problem of answer?.problems ?? []) lines.push(`  ${paint.red('problem')}: ${escapeControl(problem)}`);
  for (const warning of answer?.warnings ?? []) lines.push(`  ${paint.yellow('warning')}: ${escapeControl(warning)}`);
  io.out(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}
