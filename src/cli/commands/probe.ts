/**
 * `nicepay-nico probe`: the conformance suite against any access-token endpoint.
 * @module
 */
import { COMMON_OPTIONS, loadPrivateKey, parse, parseClientKey, parseTimeout, parseUrl, required } from '../args.js';
import { DEFAULT_TIMEOUT_MS } from '../http.js';
import type { Io } from '../main.js';
import { paintFor, table, type Paint } from '../output.js';
import { PROBE_CASES, runProbe, type CaseResult, type ProbeReport } from '../probe.js';

export const PROBE_HELP = `Usage:
  nicepay-nico probe URL --private-key FILE --client-key ID [--sandbox] [--timeout MS] [--json]

Play NICEPAY against an access-token endpoint, whatever it is written in: ${PROBE_CASES.length} requests, one
after the other, each checked against what the protocol requires (HTTP status,
responseCode, the X-TIMESTAMP / X-CLIENT-KEY / Content-Type response headers, the body's
fields and types). Prints a table: case, expected, got, verdict.

The endpoint must know ID and verify with the public key of --private-key.
The replay case (the valid request sent twice) is a warning, not a failure, when the
second one is accepted: SNAP recommends a replay guard but does not require one.

  URL                  the endpoint, e.g. http://127.0.0.1:3000/api/v1.0/access-token/b2b
                       (a bare origin gets that path)
  --private-key FILE   the RSA private key that signs (NICEPAY's role)
  --client-key ID      X-CLIENT-KEY the endpoint knows
  --sandbox            accept a 1024-bit key (NICEPAY's sandbox key)
  --timeout MS         per request (default ${DEFAULT_TIMEOUT_MS})
  --json               print machine-readable results (for CI)
  -h, --help           this help

Cases:
${PROBE_CASES.map((c) => `  ${c.name.padEnd(30)} ${c.expected.status} ${c.expected.responseCode}`).join('\n')}

Exit codes: 0 every case passes (warnings allowed), 1 any case fails, 2 bad arguments or key.
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'private-key': { type: 'string' },
  'client-key': { type: 'string' },
  sandbox: { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const verdictText = (verdict: CaseResult['verdict'], paint: Paint): string =>
  verdict === 'pass' ? paint.green('PASS') : verdict === 'warn' ? paint.yellow('WARN') : paint.red('FAIL');

/** "401 4017300", or why there was no answer: "timeout", "connection refused". */
const gotText = (result: CaseResult): string =>
  result.got.error === undefined
    ? `${result.got.status} ${result.got.responseCode ?? '-'}`
    : result.got.error.startsWith('timeout')
      ? 'timeout'
      : result.got.error.replace(/ \(.*$/, '');

/** The human-readable report. */
export function formatReport(report: ProbeReport, paint: Paint): string {
  const rows = report.cases.map((r) => [r.name, `${r.expected.status} ${r.expected.responseCode}`, gotText(r), verdictText(r.verdict, paint)]);
  const out = [`${paint.bold('nicepay-nico probe')} ${report.url}  (X-CLIENT-KEY ${report.clientKey})`, '', table(['case', 'expected', 'got', 'verdict'], rows)];
  const notable = report.cases.filter((r) => r.verdict !== 'pass');
  if (notable.length > 0) out.push('');
  const firstError = report.cases[0]?.got.error;
  if (firstError !== undefined && report.cases.every((r) => r.got.error === firstError)) {
    // The same failure everywhere (nothing listening, no answer): say it once.
    out.push(`${verdictText('fail', paint)} every case: ${firstError}`);
    notable.length = 0;
  }
  for (const r of notable) {
    out.push(`${verdictText(r.verdict, paint)} ${paint.bold(r.name)}: ${r.description}`);
    for (const problem of r.problems) out.push(`  - ${problem}`);
    if (r.got.body !== undefined && r.verdict === 'fail') out.push(paint.dim(`    response body: ${r.got.body === '' ? '(empty)' : r.got.body.length > 200 ? `${r.got.body.slice(0, 200)}...` : r.got.body}`));
  }
  const { total, pass, warn, fail } = report.summary;
  const line = `${total} cases: ${pass} pass, ${warn} warn, ${fail} fail`;
  out.push('', fail > 0 ? paint.red(line) : warn > 0 ? paint.yellow(line) : paint.green(line));
  return `${out.join('\n')}\n`;
}

export async function probe(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, 1);
  if (values.help) {
    io.out(PROBE_HELP);
    return 0;
  }
  const url = parseUrl(positionals[0]);
  const clientKey = parseClientKey(values['client-key']);
  const timeoutMs = parseTimeout(values.timeout, DEFAULT_TIMEOUT_MS);
  const privateKey = loadPrivateKey(required(values['private-key'], '--private-key'), '--private-key', values.sandbox === true);
  const paint = paintFor(io.stdout);
  const report = await runProbe(url, { clientKey, privateKey, timeoutMs });
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, paint));
  return report.summary.fail > 0 ? 1 : 0;
}
