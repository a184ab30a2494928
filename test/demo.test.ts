/** `npm run demo` is the README's main job: it must work and tell the truth. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const root = new URL('..', import.meta.url).pathname;

beforeAll(() => {
  if (!existsSync(`${root}dist/index.js`) || !existsSync(`${root}dist/node.js`)) {
    spawnSync('npx', ['tsup'], { cwd: root, stdio: 'ignore' });
  }
});

describe('npm run demo', () => {
  it('plays the whole story against a real local server and exits 0', () => {
    const run = spawnSync(process.execPath, ['scripts/demo.mjs'], { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/listening|endpoints on http:\/\/127\.0\.0\.1:\d+/);
    expect(run.stdout).toMatch(/1\. A valid request[\s\S]*< HTTP 200[\s\S]*"responseCode":"2007300"[\s\S]*token check: valid for IONPAYTEST/);
    expect(run.stdout).toMatch(/2\. [^\n]*signature[\s\S]*?< HTTP 401[\s\S]*?Unauthorized\. Signature does not verify/);
    expect(run.stdout).toMatch(/3\. A stale timestamp[\s\S]*?< HTTP 401[\s\S]*?X-TIMESTAMP is 6\d\d s behind/);
    expect(run.stdout).toMatch(/4\. A missing X-TIMESTAMP[\s\S]*?< HTTP 400[\s\S]*?Invalid Mandatory Field \{X-TIMESTAMP\}/);
    expect(run.stdout).toMatch(/5\. [^\n]*replayed[\s\S]*?< HTTP 401[\s\S]*?Request already used/);
    expect(run.stdout).toMatch(/6\. CVS inquiry[\s\S]*?< HTTP 200[\s\S]*?"responseCode":"2004700"/);
    expect(run.stdout).toMatch(/7\. CVS payment while[^\n]*handle\(\) throws[\s\S]*?< HTTP 500[\s\S]*?"responseCode":"5004800","responseMessage":"General Error"/);
    expect(run.stdout).toMatch(/8\. NICEPAY's retry: same X-EXTERNAL-ID[\s\S]*?< HTTP 200[\s\S]*?"responseCode":"2004800"/);
    expect(run.stdout).toMatch(/9\. [^\n]*same X-EXTERNAL-ID[\s\S]*?< HTTP 409[\s\S]*?"responseCode":"4094800","responseMessage":"Conflict"/);
    expect(run.stdout).toMatch(/10\. [^\n]*replayed[\s\S]*?< HTTP 401[\s\S]*?"responseCode":"4014800","responseMessage":"Unauthorized\. Request already used"/);
    expect(run.stdout).toMatch(/11\. [^\n]*new X-EXTERNAL-ID[\s\S]*?< HTTP 200[\s\S]*?"responseCode":"2004800"/);
    expect(run.stdout).toContain('payments recorded by the merchant: 1 (processed exactly once)');
    expect(run.stdout).toMatch(/12\. [^\n]*expired[\s\S]*?< HTTP 401[\s\S]*?"responseCode":"4014701","responseMessage":"Invalid Token \(B2B\)"/);
    expect(run.stdout).toContain('every answer as the protocol requires (14/14 checks');
    expect(run.stdout).not.toContain('UNEXPECTED');
  });

  it('--serve keeps a server running and prints simulate and probe commands and a curl command that work', async () => {
    const child = spawn(process.execPath, ['scripts/demo.mjs', '--serve', '--port', '0'], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    try {
      let output = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no curl command printed:\n${output}`)), 20_000);
        child.stdout.on('data', (chunk: string) => {
          output += chunk;
          if (/-d '.*'/.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
      });
      // Replay the printed curl command with fetch: same URL, headers and body.
      const url = /curl -i -X POST (\S+)/.exec(output)?.[1] as string;
      const headers = Object.fromEntries([...output.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [m[1] as string, m[2] as string]));
      const body = /-d '(.*)'/.exec(output)?.[1] as string;
      expect(Object.keys(headers).sort()).toEqual(['Content-Type', 'X-CLIENT-KEY', 'X-SIGNATURE', 'X-TIMESTAMP']);
      const response = await fetch(url, { method: 'POST', headers, body });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { responseCode: string }).responseCode).toBe('2007300');
      // Once: the replay guard refuses the same request again.
      const again = await fetch(url, { method: 'POST', headers, body });
      expect(again.status).toBe(401);
      // The printed commands, run as printed (with the built command for `npx nicepay-nico`).
      const command = (name: string): string[] => {
        const printed = new RegExp(`^npx nicepay-nico ${name} .*(?:\\n {2}.*)*`, 'm').exec(output)?.[0] ?? '';
        return printed.replace(/\\/g, ' ').split(/\s+/).filter((word) => word !== '').slice(2);
      };
      const simulate = await runCli(command('simulate'));
      expect(simulate.stderr).toBe('');
      expect(simulate.stdout).toMatch(/8 steps: 7 pass, 0 warn, 0 fail, 1 skipped: every answer is what the protocol requires/); // one client: no token of another client
      expect(simulate.code).toBe(0);
      const probeArgs = command('probe');
      expect(probeArgs).toContain('--report');
      const report = join(mkdtempSync(join(tmpdir(), 'nicepay-nico-demo-')), 'nico-report.md');
      probeArgs[probeArgs.indexOf('--report') + 1] = report;
      await new Promise((resolve) => setTimeout(resolve, 1100)); // a new second for the token request
      const probe = await runCli(probeArgs);
      expect(probe.stdout).toMatch(/71 cases: 67 pass, 0 warn, 0 fail, 4 skipped/);
      expect(probe.code).toBe(0);
      expect(readFileSync(report, 'utf8')).toMatch(/\| Result \| PASS: 71 scenarios/);
    } finally {
      child.kill('SIGINT');
    }
  });
});
