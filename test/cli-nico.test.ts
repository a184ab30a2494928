/**
 * `nicepay-nico probe` and `simulate` (the built dist/cli.js, as a child process) over the
 * three NICO endpoints: against the library's own server in each signature mode, against
 * servers with one deliberate defect each (the probe fails exactly the cases the defect
 * breaks), and the evidence files. Also `sign --transaction` and `request --transaction`.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, type CliResult } from './helpers/cli.js';
import { BROKEN_NICO_SERVERS, makeNicoKeys, startNicoServer, writeNicoKeyFiles, type NicoKeyFiles, type NicoKeys, type NicoServer } from './helpers/nico-servers.js';
import { PROBE_CASES } from '../src/cli/probe.js';
import { TX_CASES } from '../src/cli/nico-probe.js';
import type { NicoProbeReport } from '../src/cli/nico-probe.js';
import type { SimulateReport } from '../src/cli/simulate.js';

let keys: NicoKeys;
let files: NicoKeyFiles;
const A = 'IONPAYTEST';
const B = 'OTHERCLIENT';

beforeAll(() => {
  ensureBuilt();
  keys = makeNicoKeys();
  files = writeNicoKeyFiles(keys);
}, 120_000);

afterAll(() => files.remove());

const fileOf = (client: string) => files.clients[client] as { privateKey: string; publicKey: string; clientSecret: string };

/** The arguments that give the probe everything: both clients, HMAC (and RSA with `both`), an expired token. */
function fullArgs(server: NicoServer, signature: 'hmac' | 'rsa' | 'both'): string[] {
  const args = ['--private-key', fileOf(A).privateKey, '--client-key', A, '--signature', signature, '--other-client-key', B, '--expired-token', server.expiredToken(A)];
  if (signature === 'rsa') args.push('--other-private-key', fileOf(B).privateKey);
  else args.push('--client-secret-file', fileOf(A).clientSecret, '--other-client-secret-file', fileOf(B).clientSecret);
  return args;
}

async function withServer<T>(start: Promise<NicoServer>, f: (server: NicoServer) => Promise<T>): Promise<T> {
  const server = await start;
  try {
    return await f(server);
  } finally {
    await server.close();
  }
}

const parse = <T>(result: CliResult): T => {
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as T;
};
const label = (c: { endpoint: string; name: string }): string => `${c.endpoint} ${c.name}`;
const failed = (report: NicoProbeReport): string[] => report.cases.filter((c) => c.verdict === 'fail').map(label).sort();

describe('probe: all three endpoints', () => {
  for (const [mode, signature] of [
    ['auto', 'both'],
    ['symmetric', 'hmac'],
    ['asymmetric', 'rsa'],
  ] as const) {
    it(`passes every case against the library's own server (signature mode ${mode}, --signature ${signature})`, async () => {
      await withServer(startNicoServer(keys, { signature: mode }), async (server) => {
        // An RSA run ends by waiting until the clock has passed its last X-TIMESTAMP (about one second per RSA call).
        const result = await runCli(['probe', server.origin, ...fullArgs(server, signature), '--json'], {}, 120_000);
        const report = parse<NicoProbeReport>(result);
        expect(failed(report)).toEqual([]);
        expect(report.cases.filter((c) => c.verdict === 'warn').map(label)).toEqual([]);
        const skipped = report.cases.filter((c) => c.verdict === 'skip').map(label).sort();
        // HMAC-only cases cannot run when every call is RSA-signed, and the RSA case only runs with --signature both.
        const expectedSkips =
          signature === 'rsa'
            ? ['body hashed as sent', 'body with escapes and big numbers', 'tampered body', 'RSA signature'].flatMap((n) => [`inquiry ${n}`, `payment ${n}`]).sort()
            : signature === 'hmac'
              ? ['inquiry RSA signature', 'payment RSA signature']
              : [];
        expect(skipped).toEqual(expectedSkips);
        expect(report.summary.total).toBe(PROBE_CASES.length + 2 * TX_CASES.length);
        expect(report.serviceCodes).toEqual({ inquiry: '47', payment: '48' });
        expect(result.code).toBe(0);
      });
    }, 150_000);
  }

  for (const [name, defect] of Object.entries(BROKEN_NICO_SERVERS)) {
    const fails: Record<string, string[]> = {
      'does not bind the token to X-PARTNER-ID': ['inquiry token of another client', 'payment token of another client'],
      'ignores X-EXTERNAL-ID repeats': ['inquiry repeated X-EXTERNAL-ID', 'payment repeated X-EXTERNAL-ID'],
      'hashes a re-serialised body': ['body hashed as sent', 'body with escapes and big numbers'].flatMap((n) => [`inquiry ${n}`, `payment ${n}`]),
      'accepts stale timestamps': ['stale X-TIMESTAMP', 'future X-TIMESTAMP'].flatMap((n) => [`inquiry ${n}`, `payment ${n}`]),
      'answers 500 and keeps the X-EXTERNAL-ID': ['payment valid call'],
      'answers expiresIn as a number': ['token valid request'],
    };
    it(`fails exactly the cases broken by a server that ${name}`, async () => {
      await withServer(defect.start(keys), async (server) => {
        const result = await runCli(['probe', server.origin, ...fullArgs(server, 'both'), '--json']);
        const report = parse<NicoProbeReport>(result);
        expect(failed(report)).toEqual((fails[name] ?? ['(no expectation)']).sort());
        expect(result.code).toBe(1);
      });
    }, 60_000);
  }

  it('names the re-serialised body when the bodies with spaces and escapes fail and the compact one verifies', async () => {
    await withServer(BROKEN_NICO_SERVERS['hashes a re-serialised body'].start(keys), async (server) => {
      const result = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'inquiry']);
      expect(result.stdout).toMatch(/hint: the compact body verifies, the body with spaces and the body with escapes do not: the server hashes a re-serialised body/);
    });
  }, 60_000);

  it('says the service codes were learned, not checked, unless they are given', async () => {
    await withServer(startNicoServer(keys), async (server) => {
      const learned = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'inquiry,payment']);
      expect(learned.stdout).toMatch(/service codes learned from the answers, not checked: inquiry 47, payment 48\. Give the ones NICEPAY assigned you/);
      const wrong = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'inquiry', '--inquiry-service-code', '25', '--json']);
      const report = parse<NicoProbeReport>(wrong);
      expect(report.cases.find((c) => c.endpoint === 'inquiry' && c.name === 'valid call')?.problems).toContain('responseCode 2004700 has service code 47, not this endpoint\'s 25');
    });
  }, 60_000);

  it('says why a retried payment can never go through when the X-EXTERNAL-ID is kept after a 500', async () => {
    await withServer(BROKEN_NICO_SERVERS['answers 500 and keeps the X-EXTERNAL-ID'].start(keys), async (server) => {
      const result = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'payment']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/FAIL payment: valid call/);
      expect(result.stdout).toMatch(/answered 500, and its retry with the same X-EXTERNAL-ID was refused 409: the X-EXTERNAL-ID was kept after a server error/);
    });
  }, 60_000);

  it('retries a payment answered 500 with the same X-EXTERNAL-ID, as NICEPAY does, and passes when the retry goes through', async () => {
    await withServer(startNicoServer(keys, { failFirstPayment: true }), async (server) => {
      const result = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'payment', '--json']);
      const report = parse<NicoProbeReport>(result);
      const valid = report.cases.find((c) => c.endpoint === 'payment' && c.name === 'valid call');
      expect(valid?.verdict).toBe('pass');
      expect(valid?.problems.join('\n')).toMatch(/note: answered 500; retried as NICEPAY does/);
      expect(valid?.exchanges?.map((e) => ('status' in e.response ? e.response.status : 0))).toEqual([500, 200]);
      expect(valid?.exchanges?.[0]?.request.headers['X-EXTERNAL-ID']).toBe(valid?.exchanges?.[1]?.request.headers['X-EXTERNAL-ID']);
      expect(result.code).toBe(0);
    });
  }, 60_000);

  it('recognises a wrong kind of endpoint and says it in one line', async () => {
    await withServer(startNicoServer(keys), async (server) => {
      const swapped = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'token', '--token-path', '/api/v1.0/cvs/inquiry']);
      expect(swapped.code).toBe(1);
      expect(swapped.stdout).toMatch(/answers with service code 47 .*not the access-token endpoint/);
      expect(swapped.stdout.match(/^FAIL/gm)).toHaveLength(1);

      const inquiryAtToken = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'inquiry', '--inquiry-path', '/api/v1.0/access-token/b2b', '--json']);
      const report = parse<NicoProbeReport>(inquiryAtToken);
      const inquiry = report.cases.filter((c) => c.endpoint === 'inquiry');
      expect(inquiry[0]?.problems).toEqual([expect.stringMatching(/answers as an access-token endpoint .*service code 73/)]);
      expect(inquiry.slice(1).every((c) => c.verdict === 'skip')).toBe(true);

      const nothing = await runCli(['probe', server.origin, ...fullArgs(server, 'hmac'), '--endpoints', 'payment', '--payment-path', '/nope']);
      expect(nothing.stdout).toMatch(/nothing at \/nope \(HTTP 404 4040000\)/);
    });
  }, 60_000);

  it('writes the run as Markdown and JUnit, with no secret, token or signature in them', async () => {
    await withServer(startNicoServer(keys), async (server) => {
      const md = join(files.dir, 'probe.md');
      const xml = join(files.dir, 'probe.xml');
      const result = await runCli(['probe', server.origin, ...fullArgs(server, 'both'), '--report', md, '--junit', xml]);
      expect(result.code).toBe(0);
      const markdown = readFileSync(md, 'utf8');
      const junit = readFileSync(xml, 'utf8');
      expect(markdown).toMatch(/^# NICO functional test: nicepay-nico probe/);
      expect(markdown).toContain(`| CVS payment | ${server.origin}/api/v1.0/cvs/payment |`);
      expect(markdown).toMatch(/\| Result \| PASS: \d+ scenarios/);
      expect(markdown).toMatch(/\| 2 \| repeated X-EXTERNAL-ID \| 409 4094700 \| 409 4094700 \| PASS \|/);
      expect(markdown).toContain('X-SIGNATURE: <redacted, 88 characters>');
      expect(junit).toMatch(/<testsuites name="nicepay-nico probe" tests="\d+" failures="0" errors="0" skipped="0">/);
      expect(junit.match(/<testsuite /g)).toHaveLength(3);
      for (const secret of [readFileSync(fileOf(A).clientSecret, 'utf8'), readFileSync(fileOf(B).clientSecret, 'utf8'), server.expiredToken(A).slice(0, 40)]) {
        expect(markdown).not.toContain(secret);
        expect(junit).not.toContain(secret);
        expect(result.stdout).not.toContain(secret);
      }
      // No access token or signature value: every Authorization and X-SIGNATURE is redacted.
      expect(markdown).not.toMatch(/^> Authorization: Bearer (?!<redacted)/m);
      expect(markdown).not.toMatch(/^> X-SIGNATURE: (?!<redacted)/m);
      expect(markdown).not.toMatch(/"accessToken":"(?!<redacted)/);
    });
  }, 60_000);
});

describe('simulate', () => {
  for (const [mode, signature] of [
    ['symmetric', 'hmac'],
    ['asymmetric', 'rsa'],
  ] as const) {
    it(`plays the whole flow against the library's own server, every step as the protocol requires (${mode})`, async () => {
      await withServer(startNicoServer(keys, { signature: mode, failFirstPayment: true }), async (server) => {
        const result = await runCli(['simulate', server.origin, ...fullArgs(server, signature)]);
        expect(result.stderr).toBe('');
        expect(result.stdout).toMatch(/^1\. access token$/m);
        expect(result.stdout).toMatch(/^4\. payment retried after a timeout, same X-EXTERNAL-ID\n[^\n]*\n(   [<>][^\n]*\n)+   PASS expected 409 4094800/m);
        expect(result.stdout).toMatch(/note: answered 500; retried as NICEPAY does/);
        expect(result.stdout).toMatch(/8 steps: 8 pass, 0 warn, 0 fail: every answer is what the protocol requires/);
        // The tool sees answers only, and says so where a double payment would look the same.
        expect(result.stdout).toMatch(/note: the same answer as step 3\. The tool sees answers, not your records/);
        expect(result.stdout).not.toContain(readFileSync(fileOf(A).clientSecret, 'utf8'));
        expect(result.code).toBe(0);
        // The payment answered 500, retried, retried again after a "timeout", then under a new X-EXTERNAL-ID: processed once.
        expect(server.processedPayments()).toHaveLength(1);
      });
    }, 60_000);
  }

  it('--json, --report and --junit', async () => {
    await withServer(startNicoServer(keys), async (server) => {
      const md = join(files.dir, 'simulate.md');
      const xml = join(files.dir, 'simulate.xml');
      const result = await runCli(['simulate', server.origin, ...fullArgs(server, 'hmac'), '--json', '--report', md, '--junit', xml]);
      const report = parse<SimulateReport>(result);
      expect(report.cases.map((c) => c.name)).toEqual([
        'access token',
        'inquiry',
        'payment',
        'payment retried after a timeout, same X-EXTERNAL-ID',
        'payment retried under a new X-EXTERNAL-ID',
        'duplicate X-EXTERNAL-ID',
        'expired token',
        'token of another client',
      ]);
      expect(report.summary).toEqual({ total: 8, pass: 8, warn: 0, fail: 0, skip: 0 });
      expect(readFileSync(md, 'utf8')).toMatch(/^# NICO functional test: nicepay-nico simulate/);
      expect(readFileSync(xml, 'utf8')).toMatch(/<testsuites name="nicepay-nico simulate" tests="8" failures="0"/);
      expect(result.code).toBe(0);
    });
  }, 60_000);

  it('fails the steps a server that ignores X-EXTERNAL-ID repeats gets wrong', async () => {
    await withServer(BROKEN_NICO_SERVERS['ignores X-EXTERNAL-ID repeats'].start(keys), async (server) => {
      const report = parse<SimulateReport>(await runCli(['simulate', server.origin, ...fullArgs(server, 'hmac'), '--json']));
      expect(report.cases.filter((c) => c.verdict === 'fail').map((c) => c.name)).toEqual(['payment retried after a timeout, same X-EXTERNAL-ID', 'duplicate X-EXTERNAL-ID']);
    });
  }, 60_000);

  it('fails the payment of a server that answers 500 and keeps the X-EXTERNAL-ID, and says why', async () => {
    await withServer(BROKEN_NICO_SERVERS['answers 500 and keeps the X-EXTERNAL-ID'].start(keys), async (server) => {
      const result = await runCli(['simulate', server.origin, ...fullArgs(server, 'hmac')]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^3\. payment\n(.*\n)*?   FAIL expected verified\n   - the payment was answered 500, and its retry with the same X-EXTERNAL-ID was refused 409/m);
      // Only step 5 (the same payment under a new X-EXTERNAL-ID) got through: the first time it
      // does, so it is judged on its own, not against the refused step 3.
      expect(server.processedPayments()).toHaveLength(1);
      expect(result.stdout).toMatch(/^5\. payment retried under a new X-EXTERNAL-ID\n(.*\n)*?   PASS expected verified/m);
      expect(result.stdout).not.toContain('refused by the business logic');
    });
  }, 60_000);
});

describe('sign and request --transaction', () => {
  it("sign --transaction prints a curl whose headers the library's own endpoint accepts, once", async () => {
    await withServer(startNicoServer(keys), async (server) => {
      const token = await tokenFor(server);
      const bodyFile = join(files.dir, 'inquiry.json');
      writeFileSync(bodyFile, '{"paymentCode":"8880012345"}');
      const signed = await runCli(
        ['sign', '--transaction', '--partner-id', A, '--token', token, '--path', '/api/v1.0/cvs/inquiry', '--body-file', bodyFile, '--json'],
        { NICEPAY_CLIENT_SECRET: readFileSync(fileOf(A).clientSecret, 'utf8') },
      );
      const { headers } = parse<{ headers: Record<string, string> }>(signed);
      expect(Object.keys(headers)).toEqual(['Content-Type', 'Authorization', 'X-TIMESTAMP', 'X-PARTNER-ID', 'X-EXTERNAL-ID', 'CHANNEL-ID', 'X-SIGNATURE']);
      const send = () => fetch(`${server.origin}/api/v1.0/cvs/inquiry`, { method: 'POST', headers, body: readFileSync(bodyFile) });
      const first = await send();
      expect([first.status, ((await first.json()) as { responseCode: string }).responseCode]).toEqual([200, '2004700']);
      const again = await send();
      expect(again.status).toBe(401);
    });
  }, 60_000);

  it('request --transaction gets a token, sends one inquiry, and reads the secret from stdin', async () => {
    await withServer(startNicoServer(keys), async (server) => {
      const result = await runCli(
        ['request', '--transaction', `${server.origin}/api/v1.0/cvs/payment`, '--client-key', A, '--client-secret-file', fileOf(A).clientSecret, '--private-key', fileOf(A).privateKey, '--json'],
      );
      const out = parse<{ ok: boolean; responseCode: string; request: { headers: Record<string, string> } }>(result);
      expect([out.ok, out.responseCode]).toEqual([true, '2004800']);
      expect(out.request.headers['X-PARTNER-ID']).toBe(A);
      expect(result.code).toBe(0);
      expect(server.processedPayments()).toHaveLength(1);
    });
  }, 60_000);
});

describe('secrets', () => {
  const base = ['probe', 'http://127.0.0.1:9', '--client-key', A];
  it('--client-secret and --client-secret-file together, an empty secret file, or no secret for HMAC: one line, exit 2', async () => {
    const empty = join(files.dir, 'empty-secret');
    writeFileSync(empty, '\n');
    const both = await runCli([...base, '--private-key', fileOf(A).privateKey, '--client-secret', 'x', '--client-secret-file', fileOf(A).clientSecret]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringMatching(/give --client-secret or --client-secret-file, not both/)]);
    const blank = await runCli([...base, '--private-key', fileOf(A).privateKey, '--client-secret-file', empty]);
    expect([blank.code, blank.stderr]).toEqual([2, expect.stringMatching(/--client-secret-file .* is empty/)]);
    const none = await runCli([...base, '--private-key', fileOf(A).privateKey]);
    expect([none.code, none.stderr]).toEqual([2, expect.stringMatching(/needs the client secret: --client-secret-file FILE \(or - for stdin\), NICEPAY_CLIENT_SECRET=/)]);
    rmSync(empty);
  });
});

async function tokenFor(server: NicoServer): Promise<string> {
  const result = await runCli(['request', `${server.origin}/api/v1.0/access-token/b2b`, '--private-key', fileOf(A).privateKey, '--client-key', A, '--json']);
  const out = parse<{ response: { body: string } }>(result);
  return (JSON.parse(out.response.body) as { accessToken: string }).accessToken;
}
