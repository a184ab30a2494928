/**
 * Evidence of a `probe` or `simulate` run: Markdown for functional-test minutes, JUnit XML
 * for CI. Both come from the same results; tokens and signatures are already redacted in
 * the recorded exchanges, and the client secret and private key never reach them.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { oneLine, UsageError } from './args.js';
import type { Endpoint, RecordedExchange } from './nico.js';
import { escapeControl } from './output.js';
import type { CaseResult } from './probe.js';

/** What a report needs to know about the run. */
export interface RunInfo {
  /** `probe` or `simulate`. */
  readonly command: string;
  readonly toolVersion: string;
  readonly target: Readonly<Partial<Record<Endpoint, string>>>;
  readonly clientKey: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Settings worth recording (signature form, service codes, ...). */
  readonly settings: Readonly<Record<string, string>>;
  readonly cases: readonly CaseResult[];
}

const ENDPOINT_TITLE: Readonly<Record<Endpoint, string>> = { token: 'Access token', inquiry: 'CVS inquiry', payment: 'CVS payment' };

/**
 * Markdown-safe text (a table cell, a list item): control characters escaped, HTML made
 * inert, and Markdown's link, emphasis, code and table characters backslash-escaped, so a
 * server's text cannot add a link, an image or a column to the report.
 */
const cell = (text: string): string =>
  escapeControl(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|!])/g, '\\$1');

/** A fenced block whose fence cannot be closed by the text inside. */
function fenced(text: string, info = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${info}\n${escapeControl(text, true)}\n${fence}`;
}

function exchangeText(exchange: RecordedExchange): string {
  const lines = [`> ${exchange.request.method} ${exchange.request.url}`];
  for (const [name, value] of Object.entries(exchange.request.headers)) lines.push(`> ${name}: ${value}`);
  if (exchange.request.body !== '') lines.push('>', `> ${exchange.request.body}`);
  lines.push('');
  if ('error' in exchange.response) lines.push(`< no answer: ${exchange.response.error} (${exchange.response.ms} ms)`);
  else {
    lines.push(`< HTTP ${exchange.response.status}  (${exchange.response.ms} ms)`);
    for (const [name, value] of Object.entries(exchange.response.headers)) lines.push(`< ${name}: ${value}`);
    if (exchange.response.body !== '') lines.push('<', `< ${exchange.response.body}`);
  }
  return lines.join('\n');
}

const gotText = (result: CaseResult): string =>
  result.verdict === 'skip' ? '-' : result.got.error !== undefined ? result.got.error : `${result.got.status} ${result.got.responseCode ?? '(no responseCode)'}`;

/** The run as Markdown: a header, one table per endpoint, then each case with its exchanges. */
export function markdownReport(info: RunInfo): string {
  const count = (verdict: CaseResult['verdict']): number => info.cases.filter((c) => c.verdict === verdict).length;
  const out: string[] = [
    `# NICO functional test: nicepay-nico ${info.command}`,
    '',
    `| | |`,
    `|---|---|`,
    `| Tool | nicepay-nico ${cell(info.toolVersion)} (\`${info.command}\`) |`,
    ...Object.entries(info.target).map(([endpoint, url]) => `| ${ENDPOINT_TITLE[endpoint as Endpoint]} | ${cell(url ?? '')} |`),
    `| Client (X-CLIENT-KEY / X-PARTNER-ID) | ${cell(info.clientKey)} |`,
    ...Object.entries(info.settings).map(([name, value]) => `| ${cell(name)} | ${cell(value)} |`),
    `| Started | ${info.startedAt} |`,
    `| Finished | ${info.finishedAt} |`,
    `| Result | ${count('fail') === 0 ? 'PASS' : 'FAIL'}: ${info.cases.length} scenarios, ${count('pass')} pass, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skipped |`,
    '',
    'Secrets are not recorded: the client secret and the private key never leave the tool; access tokens and X-SIGNATURE values are redacted to their length.',
  ];
  for (const endpoint of ['token', 'inquiry', 'payment'] as const) {
    const cases = info.cases.filter((c) => c.endpoint === endpoint);
    if (cases.length === 0) continue;
    out.push('', `## ${ENDPOINT_TITLE[endpoint]}`, '', '| # | Scenario | Expected | Actual | Verdict |', '|---|---|---|---|---|');
    cases.forEach((c, i) => out.push(`| ${i + 1} | ${cell(c.name)} | ${cell(c.expected.text)} | ${cell(gotText(c))} | ${c.verdict.toUpperCase()} |`));
    cases.forEach((c, i) => {
      out.push('', `### ${ENDPOINT_TITLE[endpoint]} ${i + 1}. ${cell(c.name)}: ${c.verdict.toUpperCase()}`, '', cell(c.description), '');
      out.push(`- Expected: ${cell(c.expected.text)}`, `- Actual: ${cell(gotText(c))}`);
      for (const problem of c.problems) out.push(`- ${cell(problem)}`);
      for (const exchange of c.exchanges ?? []) out.push('', `Sent ${exchange.at}:`, '', fenced(exchangeText(exchange), 'http'));
    });
  }
  return `${out.join('\n')}\n`;
}

const xml = (text: string): string =>
  escapeControl(text, true)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** The run as JUnit XML: one test suite per endpoint, one test case per scenario. */
export function junitReport(info: RunInfo): string {
  const suites: string[] = [];
  for (const endpoint of ['token', 'inquiry', 'payment'] as const) {
    const cases = info.cases.filter((c) => c.endpoint === endpoint);
    if (cases.length === 0) continue;
    const failures = cases.filter((c) => c.verdict === 'fail').length;
    const skipped = cases.filter((c) => c.verdict === 'skip').length;
    const time = cases.reduce((sum, c) => sum + c.got.ms, 0) / 1000;
    const body = cases.map((c) => {
      const name = xml(`${c.name}`);
      const attrs = `classname="nicepay-nico.${info.command}.${endpoint}" name="${name}" time="${(c.got.ms / 1000).toFixed(3)}"`;
      const detail = xml([`expected: ${c.expected.text}`, `actual: ${gotText(c)}`, ...c.problems].join('\n'));
      if (c.verdict === 'fail') return `    <testcase ${attrs}>\n      <failure message="${xml(oneLine(c.problems[0] ?? 'failed'))}">${detail}</failure>\n    </testcase>`;
      if (c.verdict === 'skip') return `    <testcase ${attrs}>\n      <skipped message="${xml(oneLine(c.problems[0] ?? 'skipped'))}"/>\n    </testcase>`;
      if (c.verdict === 'warn') return `    <testcase ${attrs}>\n      <system-out>${detail}</system-out>\n    </testcase>`;
      return `    <testcase ${attrs}/>`;
    });
    suites.push(
      `  <testsuite name="${xml(`${ENDPOINT_TITLE[endpoint]} (${info.target[endpoint] ?? ''})`)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${info.startedAt}">\n${body.join('\n')}\n  </testsuite>`,
    );
  }
  const failures = info.cases.filter((c) => c.verdict === 'fail').length;
  const skipped = info.cases.filter((c) => c.verdict === 'skip').length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="nicepay-nico ${info.command}" tests="${info.cases.length}" failures="${failures}" errors="0" skipped="${skipped}">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** Write a report file; a {@link UsageError} naming the option when it cannot be written. */
export function writeReport(file: string, option: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (error) {
    throw new UsageError(`cannot write ${option} ${file}: ${oneLine((error as Error).message)}`, { pointToHelp: false });
  }
}
