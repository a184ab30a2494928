/**
 * The README's code runs as written: its whole-flow example is examples/nico-server.mjs,
 * included verbatim, and that file is started here and played against by the command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, runCli } from './helpers/cli.js';
import { makeNicoKeys, writeNicoKeyFiles, type NicoKeyFiles } from './helpers/nico-servers.js';

const readme = readFileSync(`${ROOT}README.md`, 'utf8');

/** The README blocks introduced by `<!-- include: examples/FILE -->`, with the file they name. */
function includedBlocks(): { file: string; block: string }[] {
  return [...readme.matchAll(/<!-- include: (examples\/[\w.-]+) -->\n```\w*\n([\s\S]*?)```/g)].map((m) => ({ file: m[1] as string, block: m[2] as string }));
}

let files: NicoKeyFiles;
beforeAll(() => {
  ensureBuilt();
  files = writeNicoKeyFiles(makeNicoKeys());
}, 120_000);
afterAll(() => files.remove());

describe('README', () => {
  it('includes examples verbatim where it says so, and the whole-flow example is one of them', () => {
    const blocks = includedBlocks();
    expect(blocks.map((b) => b.file)).toContain('examples/nico-server.mjs');
    for (const { file, block } of blocks) expect(block).toBe(readFileSync(`${ROOT}${file}`, 'utf8'));
  });

  it('the whole-flow example, started as written, passes simulate and probe', async () => {
    const client = files.clients.IONPAYTEST as { privateKey: string; publicKey: string; clientSecret: string };
    const env = {
      ...process.env,
      NICEPAY_PUBLIC_KEY: readFileSync(client.publicKey, 'utf8'),
      NICEPAY_CLIENT_SECRET: readFileSync(client.clientSecret, 'utf8'),
      TOKEN_SECRET: 'a token secret of at least thirty-two bytes, for this test only',
      PORT: '0',
    };
    const child: ChildProcess = spawn(process.execPath, ['examples/nico-server.mjs'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const origin = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match) resolve(match[1] as string);
        });
        child.once('exit', (code) => reject(new Error(`the example exited with ${code}: ${out}`)));
      });
      const nicepay = ['--private-key', client.privateKey, '--client-key', 'IONPAYTEST', '--client-secret-file', client.clientSecret, '--inquiry-service-code', '47', '--payment-service-code', '48'];
      const simulate = await runCli(['simulate', origin, ...nicepay]);
      expect(simulate.stdout).toMatch(/8 steps: 6 pass, 0 warn, 0 fail, 2 skipped: every answer is what the protocol requires/);
      expect(simulate.code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // a new second for the next token request
      const probe = await runCli(['probe', origin, ...nicepay]);
      expect(probe.stdout).toMatch(/71 cases: 65 pass, 0 warn, 0 fail, 6 skipped/);
      expect(probe.code).toBe(0);
    } finally {
      child.kill();
    }
  }, 60_000);
});
