/**
 * `nicepay-nico probe` (the built dist/cli.js, as a child process) against the library's own
 * endpoint, against endpoints with one deliberate defect each, and against endpoints that
 * do not answer at all.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, type CliResult } from './helpers/cli.js';
import { PROBE_CASES, type ProbeReport } from '../src/cli/probe.js';
import {
  BROKEN_SERVERS,
  closedPortUrl,
  startGoodServer,
  startServerWithoutReplayGuard,
  startSilentServer,
  type RunningServer,
  type ServerKeys,
} from './helpers/broken-servers.js';

const CLIENT_KEY = 'IONPAYTEST';
const ALL = PROBE_CASES.map((c) => c.name);



let dir: string;
let keyFile: string;
let keys: ServerKeys;

beforeAll(() => {
  ensureBuilt();
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  dir = mkdtempSync(join(tmpdir(), 'nicepay-nico-probe-'));
  keyFile = join(dir, 'nicepay-test-private.pem');
  writeFileSync(keyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  keys = { clientKey: CLIENT_KEY, publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string, privateKey: pair.privateKey };
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function probeJson(url: string, extra: readonly string[] = []): Promise<{ result: CliResult; report: ProbeReport }> {
  const result = await runCli(['probe', url, '--private-key', keyFile, '--client-key', CLIENT_KEY, '--endpoints', 'token', '--json', ...extra]);
  expect(result.stderr).toBe('');
  return { result, report: JSON.parse(result.stdout) as ProbeReport };
}

const names = (report: ProbeReport, verdict: 'pass' | 'fail' | 'warn'): string[] =>
  report.cases.filter((c) => c.verdict === verdict).map((c) => c.name).sort();

async function withServer<T>(start: Promise<RunningServer>, f: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await start;
  try {
    return await f(server);
  } finally {
    await server.close();
  }
}

describe('nicepay-nico probe', () => {
  it('has at least 15 cases, the valid request first and its replay right after', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(15);
    expect(new Set(ALL).size).toBe(ALL.length);
    expect(ALL.slice(0, 2)).toEqual(['valid request', 'replay of the valid request']);
    for (const name of ['tampered signature', 'signature by another key', 'missing Content-Type', 'missing X-TIMESTAMP', 'missing X-CLIENT-KEY',
      'missing X-SIGNATURE', 'malformed X-TIMESTAMP', 'stale X-TIMESTAMP', 'future X-TIMESTAMP', 'wrong grantType', 'missing grantType',
      'non-JSON body', 'JSON array body', 'wrong Content-Type', 'wrong method (GET)', 'oversized body']) {
      expect(ALL).toContain(name);
    }
  });

  it("passes every case against the library's own handler (createNodeHandler with a replay guard)", async () => {
    await withServer(startGoodServer(keys), async (server) => {
      const { result, report } = await probeJson(server.url);
      expect(names(report, 'fail')).toEqual([]);
      expect(names(report, 'warn')).toEqual([]);
      expect(report.summary).toEqual({ total: ALL.length, pass: ALL.length, warn: 0, fail: 0, skip: 0 });
      expect(report.url).toBe(server.url);
      expect(report.cases.map((c) => c.name)).toEqual(ALL);
      const valid = report.cases[0];
      expect(valid?.got).toMatchObject({ status: 200, responseCode: '2007300', headers: { 'content-type': 'application/json', 'x-client-key': CLIENT_KEY } });
      expect(valid?.expected).toEqual({ status: 200, responseCode: '2007300', text: '200 2007300' });
      expect(report.cases.find((c) => c.name === 'replay of the valid request')?.got).toMatchObject({ status: 401, responseCode: '4017300' });
      expect(result.code).toBe(0);
    });
  });

  it('prints a table (case, expected, got, verdict) and a summary', async () => {
    await withServer(startGoodServer(keys), async (server) => {
      const result = await runCli(['probe', server.url, '--private-key', keyFile, '--client-key', CLIENT_KEY, '--endpoints', 'token']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^endpoint\s+case\s+expected\s+got\s+verdict$/m);
      expect(result.stdout).toMatch(/^token\s+valid request\s+200 2007300\s+200 2007300\s+PASS$/m);
      expect(result.stdout).toMatch(/^token\s+wrong method \(GET\)\s+405 4057300\s+405 4057300\s+PASS$/m);
      expect(result.stdout).toContain(`${ALL.length} cases: ${ALL.length} pass, 0 warn, 0 fail`);
      expect(result.stdout).not.toContain('\x1b['); // not a TTY: no colour
    });
  });

  it('warns, and still exits 0, when a replay is accepted (a replay guard is recommended, not mandatory)', async () => {
    await withServer(startServerWithoutReplayGuard(keys), async (server) => {
      const { result, report } = await probeJson(server.url);
      expect(names(report, 'fail')).toEqual([]);
      expect(names(report, 'warn')).toEqual(['replay of the valid request']);
      expect(report.cases[1]?.problems[0]).toMatch(/^warning: accepted a replay/);
      expect(result.code).toBe(0);
    });
  });

  for (const [defect, { fails, start }] of Object.entries(BROKEN_SERVERS)) {
    it(`fails exactly the cases broken by a server that ${defect}`, async () => {
      await withServer(start(keys), async (server) => {
        const { result, report } = await probeJson(server.url);
        expect(names(report, 'fail')).toEqual([...(fails === 'all' ? ALL : fails)].sort());
        expect(names(report, 'warn')).toEqual([]);
        expect(result.code).toBe(1);
        for (const failed of report.cases.filter((c) => c.verdict === 'fail')) expect(failed.problems.length).toBeGreaterThan(0);
      });
    });
  }

  it('says what is wrong in each failed case', async () => {
    await withServer(BROKEN_SERVERS['answers expiresIn as a number'].start(keys), async (server) => {
      const { report } = await probeJson(server.url);
      expect(report.cases[0]?.problems).toEqual(['expiresIn is number 900, must be a string of seconds such as "900"']);
    });
    await withServer(BROKEN_SERVERS['skips the signature check'].start(keys), async (server) => {
      const { report } = await probeJson(server.url);
      expect(report.cases.find((c) => c.name === 'tampered signature')?.problems).toEqual([
        'HTTP status 200, expected 401',
        'responseCode 2007300, expected 4017300',
      ]);
    });
    await withServer(BROKEN_SERVERS['has no X-TIMESTAMP response header'].start(keys), async (server) => {
      const result = await runCli(['probe', server.url, '--private-key', keyFile, '--client-key', CLIENT_KEY, '--endpoints', 'token']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^token\s+valid request\s+200 2007300\s+200 2007300\s+FAIL$/m);
      expect(result.stdout).toContain('  - no X-TIMESTAMP response header');
      expect(result.stdout).toContain(`${ALL.length} cases: 0 pass, 0 warn, ${ALL.length} fail`);
    });
  });

  it('hints at the key when the valid request is refused with 401', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherFile = join(dir, 'other-private.pem');
    writeFileSync(otherFile, other.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const fingerprint = createHash('sha256').update(other.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    await withServer(startGoodServer(keys), async (server) => {
      const result = await runCli(['probe', server.url, '--private-key', otherFile, '--client-key', CLIENT_KEY, '--endpoints', 'token', '--json']);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as ProbeReport;
      expect(names(report, 'fail')).toEqual(['valid request']);
      expect(report.cases[0]?.problems).toEqual([
        'HTTP status 401, expected 200',
        'responseCode 4017300, expected 2007300',
        `hint: a correctly signed request was refused: is X-CLIENT-KEY "IONPAYTEST" configured with the public key of --private-key (RSA 2048 bits, SHA-256 fingerprint ${fingerprint})?`,
      ]);
    });
  });

  it('reports a closed port as a connection failure in every case, without crashing', async () => {
    const url = await closedPortUrl();
    const { result, report } = await probeJson(url);
    expect(result.code).toBe(1);
    expect(report.summary).toEqual({ total: ALL.length, pass: 0, warn: 0, fail: ALL.length, skip: 0 });
    for (const c of report.cases) {
      expect(c.got.status).toBeNull();
      expect(c.got.error).toMatch(/connection refused \(ECONNREFUSED/);
      expect(c.problems).toEqual([c.got.error]);
    }
    const text = await runCli(['probe', url, '--private-key', keyFile, '--client-key', CLIENT_KEY, '--endpoints', 'token']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^token\s+valid request\s+200 2007300\s+connection refused\s+FAIL$/m);
    expect(text.stdout).toMatch(/^FAIL every case: connection refused \(ECONNREFUSED 127\.0\.0\.1:\d+\)$/m);
  });

  it('reports a server that never answers as a timeout in every case (--timeout 300)', async () => {
    await withServer(startSilentServer(), async (server) => {
      const started = Date.now();
      const { result, report } = await probeJson(server.url, ['--timeout', '300']);
      expect(result.code).toBe(1);
      expect(report.summary.fail).toBe(ALL.length);
      for (const c of report.cases) expect(c.got.error).toBe('timeout: no complete answer within 300 ms');
      expect(Date.now() - started).toBeLessThan(ALL.length * 300 + 10_000);
    });
  });
});
