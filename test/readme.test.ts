/**
 * The README's code runs as written: its whole-flow example is examples/nico-server.mjs,
 * included verbatim, and that file is started here and played against by the command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, runCli } from './helpers/cli.js';
import { makeNicoKeys, writeNicoKeyFiles, type NicoKeyFiles } from './helpers/nico-servers.js';
import { findRedisServer, startRedisServer, type RedisServerProcess } from './helpers/redis.js';

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

/** Every other js and ts block of the README, with the line it starts on. */
function codeBlocks(): { line: number; lang: string; code: string }[] {
  const blocks: { line: number; lang: string; code: string }[] = [];
  for (const m of readme.matchAll(/(<!-- include: [^>]+ -->\n)?```(js|ts)\n([\s\S]*?)```/g)) {
    if (m[1] !== undefined) continue; // an examples/ file, run by its own test
    blocks.push({ line: readme.slice(0, m.index).split('\n').length + 1, lang: m[2] as string, code: m[3] as string });
  }
  return blocks;
}

/**
 * Run a block as a program (ts through esbuild, types stripped), inside the repository so
 * `nicepay-nico` resolves to the built package. It passes when it exits 0 with nothing on
 * stderr, or, for a server, is still running without an error after `graceMs`.
 */
async function runBlock(file: string, env: NodeJS.ProcessEnv, graceMs = 2500): Promise<{ code: number | null; stderr: string; running: boolean }> {
  const child = spawn(process.execPath, [file], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill();
      resolve({ code: null, stderr, running: true });
    }, graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, running: false });
    });
  });
}

describe('README', () => {
  it('every js and ts block runs as written (servers keep running, the rest exit 0), with nothing on stderr', async () => {
    const client = files.clients.IONPAYTEST as { publicKey: string; clientSecret: string };
    const redisBin = findRedisServer();
    let redis: RedisServerProcess | undefined;
    if (redisBin !== undefined) redis = await startRedisServer(redisBin);
    const dir = `${ROOT}.tmp/readme-blocks`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const env = {
      ...process.env,
      NICEPAY_PUBLIC_KEY: readFileSync(client.publicKey, 'utf8'),
      NICEPAY_CLIENT_SECRET: readFileSync(client.clientSecret, 'utf8'),
      TOKEN_SECRET: 'a token secret of at least thirty-two bytes, for this test only',
      OLD_TOKEN_SECRET: 'the previous token secret, also thirty-two bytes or more',
      PORT: '0',
      ...(redis === undefined ? {} : { REDIS_URL: `redis://127.0.0.1:${redis.port}` }),
    };
    const blocks = codeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const failures: string[] = [];
    try {
      for (const [i, block] of blocks.entries()) {
        if (block.code.includes('ioredis') && redis === undefined) {
          if (process.env.CI) failures.push(`README line ${block.line}: no redis-server to run the Redis block`);
          continue;
        }
        const js = block.lang === 'ts' ? transformSync(block.code, { loader: 'ts', format: 'esm' }).code : block.code;
        const file = `${dir}/block-${i + 1}.mjs`;
        writeFileSync(file, js);
        const result = await runBlock(file, env);
        if (result.stderr !== '' || (!result.running && result.code !== 0)) {
          failures.push(`README line ${block.line} (${block.lang}): ${result.running ? 'running' : `exit ${result.code}`}: ${result.stderr.slice(0, 400)}`);
        }
      }
    } finally {
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(failures).toEqual([]);
  }, 120_000);

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
