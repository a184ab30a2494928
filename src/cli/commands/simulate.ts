/**
 * `nicepay-nico simulate`: NICEPAY through the whole NICO flow against a running server.
 * @module
 */
import { COMMON_OPTIONS, parse } from '../args.js';
import type { Io } from '../main.js';
import type { RecordedExchange } from '../nico.js';
import { learnedServiceCodesNote, NICO_OPTIONS, NICO_OPTIONS_HELP, parseBaseUrl, readNicoSettings, toolVersion } from '../nico-options.js';
import { escapeControl, paintFor, type Paint, jsonText } from '../output.js';
import type { CaseResult } from '../probe.js';
import { junitReport, markdownReport, writeReport } from '../report.js';
import { runSimulate } from '../simulate.js';

export const SIMULATE_HELP = `Usage:
  nicepay-nico simulate BASE_URL --private-key FILE --client-key ID --client-secret-file FILE [options]

Play NICEPAY through the whole NICO flow against a running merchant server, printing each
exchange and a verdict per step:

  1. access token       POST /api/v1.0/access-token/b2b, signed with the private key
  2. inquiry            the inquiry body, with the token
  3. payment            the payment body; a 5xx is retried with the same X-EXTERNAL-ID, as
                        NICEPAY does (the retry must go through: 409 means the id was kept)
  4. payment retried after a timeout, same X-EXTERNAL-ID      409 Conflict
  5. payment retried under a new X-EXTERNAL-ID (same body)    the first answer again
                                                              (or 404xx18), never a second payment
  6. duplicate X-EXTERNAL-ID on an inquiry                    409 Conflict
  7. expired token (with --expired-token)                     401xx01
  8. token of another client (with --other-client-key)        401xx01

Run it against a test environment: it makes a real payment call.

  BASE_URL                    e.g. http://127.0.0.1:3000

${NICO_OPTIONS_HELP}

Exit codes: 0 every answer is what the protocol requires (warnings and skips allowed),
1 any answer is not, 2 bad arguments or key.
`;

const OPTIONS = { ...COMMON_OPTIONS, ...NICO_OPTIONS } as const;

const verdictText = (verdict: CaseResult['verdict'], paint: Paint): string =>
  verdict === 'pass' ? paint.green('PASS') : verdict === 'warn' ? paint.yellow('WARN') : verdict === 'skip' ? paint.dim('SKIP') : paint.red('FAIL');

/** One exchange, readable: the request (redacted) and the answer, indented. */
function exchangeLines(exchange: RecordedExchange, paint: Paint): string[] {
  const url = new URL(exchange.request.url);
  const lines = [paint.dim(`   > ${exchange.request.method} ${escapeControl(`${url.pathname}${url.search}`)}`)];
  for (const [name, value] of Object.entries(exchange.request.headers)) {
    if (name === 'Content-Type') continue;
    lines.push(paint.dim(`   > ${name}: ${escapeControl(value)}`));
  }
  if (exchange.request.body !== '') lines.push(paint.dim(`   > ${escapeControl(exchange.request.body.length > 300 ? `${exchange.request.body.slice(0, 300)}...` : exchange.request.body)}`));
  if ('error' in exchange.response) lines.push(`   < no answer: ${escapeControl(exchange.response.error)}`);
  else {
    const stamp = exchange.response.headers['x-timestamp'];
    lines.push(`   < HTTP ${exchange.response.status}${stamp === undefined ? '' : `  X-TIMESTAMP: ${escapeControl(stamp)}`}  (${exchange.response.ms} ms)`);
    if (exchange.response.body !== '') lines.push(`   < ${escapeControl(exchange.response.body.length > 500 ? `${exchange.response.body.slice(0, 500)}...` : exchange.response.body)}`);
  }
  return lines;
}

/** A step as printed: title, exchanges, verdict and what is wrong. */
export function formatStep(result: CaseResult, index: number, paint: Paint): string {
  const title = result.endpoint === 'token' || result.name.startsWith(result.endpoint) ? result.name : `${result.endpoint}: ${result.name}`;
  const lines = [paint.bold(`${index}. ${title}`), paint.dim(`   ${result.description}`)];
  for (const exchange of result.exchanges ?? []) lines.push(...exchangeLines(exchange, paint));
  lines.push(`   ${verdictText(result.verdict, paint)} expected ${result.expected.text}`);
  for (const problem of result.problems) lines.push(`   - ${escapeControl(problem)}`);
  return `${lines.join('\n')}\n`;
}

export async function simulate(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, 1);
  if (values.help) {
    io.out(SIMULATE_HELP);
    return 0;
  }
  const base = parseBaseUrl(positionals[0]);
  const settings = readNicoSettings(values, base, true);
  const paint = paintFor(io.stdout);
  const signature = settings.signature === 'rsa' ? 'SHA256withRSA over X-PARTNER-ID|X-TIMESTAMP' : 'HMAC-SHA512 (SNAP symmetric)';
  if (!settings.json) {
    io.out(`${paint.bold('nicepay-nico simulate')} ${escapeControl(base.href.replace(/\/$/, ''))}  (client ${escapeControl(settings.client.clientKey)}, inquiry and payment signed ${signature})\n\n`);
  }
  let index = 0;
  const report = await runSimulate(
    settings,
    (result) => {
      index += 1;
      if (!settings.json) io.out(`${formatStep(result, index, paint)}\n`);
    },
    Date.now,
    (ms) => {
      if (ms > 1000 && !settings.json) io.out(paint.dim(`(waiting ${Math.ceil(ms / 1000)} s: an RSA signature covers only X-PARTNER-ID|X-TIMESTAMP, so a next run must not reuse this run's seconds)\n`));
    },
  );
  const info = {
    command: 'simulate',
    toolVersion: toolVersion(),
    target: report.target,
    clientKey: report.clientKey,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    settings: {
      'Inquiry and payment signature': signature,
      'Service codes': Object.entries(report.serviceCodes).map(([e, c]) => `${e} ${c}`).join(', ') || '-',
    },
    cases: report.cases,
  };
  if (settings.report !== undefined) writeReport(settings.report, '--report', markdownReport(info));
  if (settings.junit !== undefined) writeReport(settings.junit, '--junit', junitReport(info));
  if (settings.json) {
    io.out(`${jsonText({ ...report, tool: { name: 'nicepay-nico', version: info.toolVersion } })}\n`);
  } else {
    const { total, pass, warn, fail, skip } = report.summary;
    const line = `${total} steps: ${pass} pass, ${warn} warn, ${fail} fail${skip > 0 ? `, ${skip} skipped` : ''}`;
    io.out(`${fail > 0 ? paint.red(`${line}: some answers are not what the protocol requires`) : warn > 0 ? paint.yellow(line) : paint.green(`${line}: every answer is what the protocol requires`)}\n`);
    const note = learnedServiceCodesNote(settings.serviceCodes, report.serviceCodes);
    if (note !== undefined) io.out(`${paint.dim(note)}\n`);
  }
  return report.summary.fail > 0 ? 1 : 0;
}
