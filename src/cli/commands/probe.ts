/**
 * `nicepay-nico probe`: the conformance suite against a merchant's NICO endpoints (access
 * token, CVS inquiry, CVS payment), whatever they are written in.
 * @module
 */
import { COMMON_OPTIONS, parse, UsageError } from '../args.js';
import type { Io } from '../main.js';
import { ENDPOINTS, type Endpoint } from '../nico.js';
import { learnedServiceCodesNote, NICO_OPTIONS, NICO_OPTIONS_HELP, parseBaseUrl, readNicoSettings, toolVersion } from '../nico-options.js';
import { runNicoProbe, TX_CASES, type NicoProbeReport } from '../nico-probe.js';
import { escapeControl, paintFor, table, type Paint, jsonText } from '../output.js';
import { PROBE_CASES, type CaseResult } from '../probe.js';
import { junitReport, markdownReport, writeReport, type RunInfo } from '../report.js';

export const PROBE_HELP = `Usage:
  nicepay-nico probe BASE_URL --private-key FILE --client-key ID
                     [--client-secret-file FILE] [--endpoints token,inquiry,payment] [options]

Play NICEPAY against a merchant's NICO endpoints, whatever they are written in: the
access-token cases, then, with the token obtained, the inquiry and payment cases. Every
answer is checked against what the protocol requires (HTTP status, responseCode with the
endpoint's service code, the X-TIMESTAMP / X-CLIENT-KEY / Content-Type response headers,
the body's fields and types). Prints a table: endpoint, case, expected, got, verdict.

The server must know ID, verify its access-token requests with the public key of
--private-key, and verify inquiry and payment with the client secret (or the public key).
It should be a test environment: the probe makes real inquiry and payment calls.

  BASE_URL                    e.g. http://127.0.0.1:3000
  --endpoints LIST            which endpoints' cases run (default token,inquiry,payment);
                              inquiry or payment alone still request a token first

${NICO_OPTIONS_HELP}

The replay case of the access token and the missing CHANNEL-ID case are warnings, not
failures, when accepted: SNAP recommends them but does not require them.

Access-token cases (${PROBE_CASES.length}):
${PROBE_CASES.map((c) => `  ${c.name.padEnd(36)} ${c.expected.status} ${c.expected.responseCode}`).join('\n')}

Inquiry and payment cases (${TX_CASES.length} each; xx is the endpoint's service code):
${TX_CASES.map((c) => `  ${c.name.padEnd(36)} ${c.expect.kind === 'verified' ? 'verified' : `${c.expect.status} ${c.expect.status}xx${c.expect.cases.join('/')}`}${c.needs ? `  (needs ${c.needs})` : ''}`).join('\n')}

Exit codes: 0 every case passes (warnings and skips allowed), 1 any case fails, 2 bad arguments or key.
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...NICO_OPTIONS,
  endpoints: { type: 'string' },
} as const;

const verdictText = (verdict: CaseResult['verdict'], paint: Paint): string =>
  verdict === 'pass' ? paint.green('PASS') : verdict === 'warn' ? paint.yellow('WARN') : verdict === 'skip' ? paint.dim('SKIP') : paint.red('FAIL');

/** "401 4017300", or why there was no answer: "timeout", "connection refused". */
const gotText = (result: CaseResult): string =>
  result.verdict === 'skip'
    ? '-'
    : result.got.error === undefined
      ? `${result.got.status} ${result.got.responseCode === null ? '-' : escapeControl(result.got.responseCode)}`
      : result.got.error.startsWith('timeout')
        ? 'timeout'
        : escapeControl(result.got.error.replace(/ \(.*$/, ''));

/** The human-readable report. */
export function formatReport(report: NicoProbeReport | (Omit<NicoProbeReport, 'target' | 'endpoints' | 'serviceCodes' | 'startedAt' | 'finishedAt'> & Partial<NicoProbeReport>), paint: Paint): string {
  const rows = report.cases.map((r) => [r.endpoint, r.name, r.expected.text, gotText(r), verdictText(r.verdict, paint)]);
  const target = report.target === undefined ? report.url : report.target.token.replace(/\/api\/v1\.0\/access-token\/b2b$/, '');
  const out = [`${paint.bold('nicepay-nico probe')} ${escapeControl(target)}  (client ${escapeControl(report.clientKey)})`, '', table(['endpoint', 'case', 'expected', 'got', 'verdict'], rows)];
  const notable = report.cases.filter((r) => r.verdict === 'fail' || r.verdict === 'warn' || (r.verdict === 'pass' && r.problems.length > 0));
  if (notable.length > 0) out.push('');
  const firstError = report.cases[0]?.got.error;
  const answered = report.cases.filter((r) => r.verdict !== 'skip');
  if (firstError !== undefined && answered.every((r) => r.got.error === firstError)) {
    // The same failure everywhere (nothing listening, no answer): say it once.
    out.push(`${verdictText('fail', paint)} every case: ${escapeControl(firstError)}`);
    notable.length = 0;
  }
  for (const r of notable) {
    out.push(`${r.verdict === 'pass' ? paint.green('NOTE') : verdictText(r.verdict, paint)} ${paint.bold(`${r.endpoint}: ${r.name}`)}: ${r.description}`);
    for (const problem of r.problems) out.push(`  - ${escapeControl(problem)}`);
    if (r.got.body !== undefined && r.verdict === 'fail') {
      const body = r.got.body === '' ? '(empty)' : r.got.body.length > 200 ? `${r.got.body.slice(0, 200)}...` : r.got.body;
      out.push(paint.dim(`    response body: ${escapeControl(body)}`));
    }
  }
  const skipped = report.cases.filter((r) => r.verdict === 'skip');
  const reasons = [...new Set(skipped.map((r) => r.problems[0] ?? ''))].filter((reason) => !reason.includes('see the first case'));
  for (const reason of reasons) {
    const which = skipped.filter((r) => r.problems[0] === reason).map((r) => `${r.endpoint} ${r.name}`);
    out.push(`${verdictText('skip', paint)} ${which.join(', ')}: ${reason.replace(/^skipped: /, '')}`);
  }
  const { total, pass, warn, fail, skip } = report.summary;
  const line = `${total} cases: ${pass} pass, ${warn} warn, ${fail} fail${skip > 0 ? `, ${skip} skipped` : ''}`;
  out.push('', fail > 0 ? paint.red(line) : warn > 0 ? paint.yellow(line) : paint.green(line));
  return `${out.join('\n')}\n`;
}

function parseEndpoints(value: string | undefined): Endpoint[] {
  if (value === undefined) return [...ENDPOINTS];
  const list = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const unknown = list.find((part) => !(ENDPOINTS as readonly string[]).includes(part));
  if (unknown !== undefined || list.length === 0) throw new UsageError(`--endpoints is a comma-separated list of token, inquiry, payment; got ${JSON.stringify(value)}`);
  return ENDPOINTS.filter((e) => list.includes(e));
}

export async function probe(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, 1);
  if (values.help) {
    io.out(PROBE_HELP);
    return 0;
  }
  const base = parseBaseUrl(positionals[0]);
  const endpoints = parseEndpoints(values.endpoints);
  const settings = readNicoSettings(values, base, endpoints.some((e) => e !== 'token'));
  const paint = paintFor(io.stdout);
  const report = await runNicoProbe({
    ...settings,
    endpoints,
    onSettle: (ms) => {
      if (ms > 1000 && !values.json) io.out(paint.dim(`(waiting ${Math.ceil(ms / 1000)} s: an RSA signature covers only X-PARTNER-ID|X-TIMESTAMP, so a next run must not reuse this run's seconds)\n`));
    },
  });
  const info: RunInfo = {
    command: 'probe',
    toolVersion: toolVersion(),
    target: report.target,
    clientKey: report.clientKey,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    settings: {
      Endpoints: endpoints.join(', '),
      'Inquiry and payment signature': settings.signature === 'rsa' ? 'SHA256withRSA over X-PARTNER-ID|X-TIMESTAMP' : `HMAC-SHA512 (SNAP symmetric)${settings.alsoRsa ? ', and one RSA-signed call' : ''}`,
      'Service codes': Object.entries(report.serviceCodes).map(([e, c]) => `${e} ${c}`).join(', ') || '-',
    },
    cases: report.cases,
  };
  if (settings.report !== undefined) writeReport(settings.report, '--report', markdownReport(info));
  if (settings.junit !== undefined) writeReport(settings.junit, '--junit', junitReport(info));
  const note = learnedServiceCodesNote(settings.serviceCodes, report.serviceCodes);
  io.out(values.json ? `${jsonText({ ...report, tool: { name: 'nicepay-nico', version: info.toolVersion } })}\n` : `${formatReport(report, paint)}${note === undefined ? '' : `${paint.dim(note)}\n`}`);
  return report.summary.fail > 0 ? 1 : 0;
}
