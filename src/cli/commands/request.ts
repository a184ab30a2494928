/**
 * `nicepay-nico request`: send one access-token request signed like NICEPAY and show the exchange.
 * @module
 */
import { formatTimestamp } from '../../protocol/timestamp.js';
import { COMMON_OPTIONS, loadPrivateKey, parse, parseClientKey, parseTimeout, parseUrl, required } from '../args.js';
import { DEFAULT_TIMEOUT_MS, send } from '../http.js';
import type { Io } from '../main.js';
import { paintFor } from '../output.js';
import { ACCESS_TOKEN_BODY, checkAnswer, signedRequest } from '../probe.js';

export const REQUEST_HELP = `Usage:
  nicepay-nico request URL --private-key FILE --client-key ID [--timestamp T] [--sandbox] [--timeout MS] [--json]

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

Exit codes: 0 the answer is 2007300 (token issued), 1 any other answer or none, 2 bad arguments or key.
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
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
  const url = parseUrl(positionals[0]);
  const clientKey = parseClientKey(values['client-key']);
  const timeoutMs = parseTimeout(values.timeout, DEFAULT_TIMEOUT_MS);
  const key = loadPrivateKey(required(values['private-key'], '--private-key'), '--private-key', values.sandbox === true);
  const timestamp = values.timestamp ?? formatTimestamp(Date.now());
  const { stringToSign, headers } = signedRequest(key, clientKey, timestamp);
  const exchange = await send(url, { method: 'POST', headers, body: new TextEncoder().encode(ACCESS_TOKEN_BODY) }, timeoutMs);
  const answer = exchange.ok ? checkAnswer(exchange, clientKey) : undefined;
  const issued = answer !== undefined && answer.status === 200 && answer.responseCode === '2007300';

  if (values.json) {
    io.out(
      `${JSON.stringify(
        {
          request: { method: 'POST', url: url.href, headers, body: ACCESS_TOKEN_BODY },
          response: exchange.ok ? { status: exchange.status, headers: Object.fromEntries(exchange.headers), body: exchange.bodyText, ms: exchange.ms } : null,
          error: exchange.ok ? null : exchange.error,
          responseCode: answer?.responseCode ?? null,
          issued,
          problems: answer ? [...answer.problems, ...answer.warnings.map((w) => `warning: ${w}`)] : [],
        },
        null,
        2,
      )}\n`,
    );
    return issued ? 0 : 1;
  }

  const paint = paintFor(io.stdout);
  const lines = [paint.dim(`> POST ${url.href}`)];
  for (const [name, value] of Object.entries(headers)) lines.push(paint.dim(`> ${name}: ${value}`));
  lines.push(paint.dim('>'), paint.dim(`> ${ACCESS_TOKEN_BODY}`), '');
  if (!exchange.ok) {
    lines.push(paint.red(`no answer: ${exchange.error}`));
    io.out(`${lines.join('\n')}\n`);
    return 1;
  }
  lines.push(`< HTTP ${exchange.status}${exchange.statusText ? ` ${exchange.statusText}` : ''}  (${exchange.ms} ms)`);
  for (const [name, value] of exchange.headers) lines.push(`< ${name}: ${value}`);
  lines.push('<', `< ${exchange.bodyText}`, '');
  const result = issued ? paint.green('2007300: access token issued') : paint.red(`not a token: ${answer?.status} ${answer?.responseCode ?? '(no responseCode)'}${answer?.responseMessage ? ` ${answer.responseMessage}` : ''}`);
  lines.push(result);
  for (const problem of answer?.problems ?? []) lines.push(`  ${paint.red('problem')}: ${problem}`);
  for (const warning of answer?.warnings ?? []) lines.push(`  ${paint.yellow('warning')}: ${warning}`);
  io.out(`${lines.join('\n')}\n`);
  return issued ? 0 : 1;
}
