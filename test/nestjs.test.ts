/**
 * The NestJS recipe, examples/nestjs/ (NestJS 12 on Express, `NestFactory.create(AppModule,
 * { rawBody: true })`, a controller with `@All` routes calling the library's Express
 * middlewares, and a global filter for the bodies Nest's parser refuses), as a real server:
 * its TypeScript compiled with esbuild (no Nest CLI; `nicepay-nico` resolved to this
 * repository's src/, so no build of dist/ is needed), started in its own process, called
 * over HTTP and played against by the built command (`node dist/cli.js probe`). The
 * example's TypeScript is type-checked too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenIssuer } from '../src/index.js';
import type { NicoProbeReport } from '../src/cli/nico-probe.js';
import { ensureBuilt, ROOT, runCli } from './helpers/cli.js';
import { ACCESS_TOKEN_PATH, INQUIRY_PATH, makeNicoKeys, PAYMENT_PATH, writeNicoKeyFiles, type NicoKeyFiles } from './helpers/nico-servers.js';

const CLIENT = 'IONPAYTEST';
const TOKEN_SECRET = 'nestjs example test secret, at least 32 bytes';
/** Inside the repository, so the compiled example finds @nestjs/* and express in its node_modules. */
const OUT = join(ROOT, '.tmp', `nestjs-example-${process.pid}`);

let files: NicoKeyFiles;
let client: { privateKey: string; publicKey: string; clientSecret: string };
let child: ChildProcess | undefined;
let origin = '';
let stderr = '';

/** Compile examples/nestjs/main.ts and what it imports into one ESM file; npm packages stay imports. */
async function compileExample(): Promise<string> {
  const esbuild = await import('esbuild');
  const outfile = join(OUT, 'main.mjs');
  await esbuild.build({
    entryPoints: [join(ROOT, 'examples/nestjs/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    // Nest's decorators, as `nest build` compiles them (no decorator metadata: the example injects by token).
    tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
    plugins: [
      {
        name: 'nicepay-nico-from-src',
        setup(build) {
          build.onResolve({ filter: /^nicepay-nico(\/node)?$/ }, (args) => ({ path: join(ROOT, 'src', args.path === 'nicepay-nico' ? 'index.ts' : 'adapters/node.ts') }));
          build.onResolve({ filter: /^[^./]/ }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  return outfile;
}

function exampleEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NICEPAY_CLIENT_KEY: CLIENT,
    NICEPAY_PUBLIC_KEY: readFileSync(client.publicKey, 'utf8'),
    NICEPAY_CLIENT_SECRET: readFileSync(client.clientSecret, 'utf8'),
    TOKEN_SECRET,
    CVS_INQUIRY_SERVICE_CODE: '47',
    CVS_PAYMENT_SERVICE_CODE: '48',
    PORT: '0',
    HOST: '127.0.0.1',
    NICEPAY_SANDBOX: undefined,
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

beforeAll(async () => {
  ensureBuilt(); // the command
  files = writeNicoKeyFiles(makeNicoKeys());
  client = files.clients[CLIENT] as typeof client;
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const main = await compileExample();
  child = spawn(process.execPath, [main], { cwd: ROOT, env: exampleEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  origin = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within 20 s\n${out}\n${stderr}`)), 20_000);
    child?.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child?.once('exit', (code) => reject(new Error(`the example exited (${code}) before listening\n${out}\n${stderr}`)));
  });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  files?.remove();
  rmSync(OUT, { recursive: true, force: true });
});

const label = (c: { endpoint: string; name: string }): string => `${c.endpoint} ${c.name}`;

describe('examples/nestjs (NestJS 12, rawBody: true)', () => {
  it('passes every probe case on all three endpoints, the wrong method (GET) and the non-JSON body included', async () => {
    const expired = createAccessTokenIssuer({ secret: TOKEN_SECRET }).issue(CLIENT, Date.now() - 16 * 60_000);
    const args = ['--private-key', client.privateKey, '--client-key', CLIENT, '--client-secret-file', client.clientSecret, '--expired-token', expired];
    const result = await runCli(['probe', origin, ...args, '--inquiry-service-code', '47', '--payment-service-code', '48', '--json'], {}, 120_000);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as NicoProbeReport;
    expect(report.cases.filter((c) => c.verdict === 'fail').map(label)).toEqual([]);
    expect(report.cases.filter((c) => c.verdict === 'warn').map(label)).toEqual([]);
    // The example knows one client and takes HMAC signatures only.
    expect(report.cases.filter((c) => c.verdict === 'skip').map(label).sort()).toEqual(
      ['inquiry RSA signature', 'inquiry token of another client', 'payment RSA signature', 'payment token of another client'],
    );
    const passed = report.cases.filter((c) => c.verdict === 'pass').map(label);
    for (const name of ['token wrong method (GET)', 'inquiry wrong method (GET)', 'payment wrong method (GET)', 'token non-JSON body', 'inquiry non-JSON body', 'payment non-JSON body']) {
      expect(passed).toContain(name);
    }
    expect(result.code).toBe(0);
    expect(stderr).not.toMatch(/RawBodyError|ran before this handler/);
  }, 150_000);

  it.each([
    [ACCESS_TOKEN_PATH, '4057300'],
    [INQUIRY_PATH, '4054700'],
    [PAYMENT_PATH, '4054800'],
  ])('answers a GET of %s with the SNAP 405 JSON', async (path, responseCode) => {
    const response = await fetch(origin + path, { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(((await response.json()) as { responseCode: string }).responseCode).toBe(responseCode);
  });

  it('answers the spellings Express routes to the controller too (trailing slash, other case): the SNAP 405, never a hang', async () => {
    for (const path of [`${INQUIRY_PATH}/`, PAYMENT_PATH.toUpperCase()]) {
      const response = await fetch(origin + path, { signal: AbortSignal.timeout(5_000) });
      expect(response.status).toBe(405);
      expect(((await response.json()) as { responseCode: string }).responseCode).toMatch(/^4054[78]00$/);
    }
  });

  it('answers a body Nest\'s parser refuses on a NICO route (not JSON, bad gzip) with the SNAP 400, and leaves the other routes to Nest', async () => {
    const headers = { 'Content-Type': 'application/json' };
    const nico = await fetch(origin + INQUIRY_PATH, { method: 'POST', headers, body: 'paymentCode=8880012345', signal: AbortSignal.timeout(10_000) });
    expect(nico.status).toBe(400);
    expect(await nico.json()).toEqual({ responseCode: '4004700', responseMessage: 'Bad Request' });
    const gzip = await fetch(origin + PAYMENT_PATH, { method: 'POST', headers: { ...headers, 'Content-Encoding': 'gzip' }, body: 'not gzip at all', signal: AbortSignal.timeout(10_000) });
    expect(gzip.status).toBe(400);
    expect(await gzip.json()).toEqual({ responseCode: '4004800', responseMessage: 'Bad Request' });
    const other = await fetch(`${origin}/health`, { method: 'POST', headers, body: 'not json', signal: AbortSignal.timeout(10_000) });
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' }); // Nest's own answer
    const parsed = await fetch(`${origin}/health`, { method: 'POST', headers, body: '{"order":"A-1"}', signal: AbortSignal.timeout(10_000) });
    expect(await parsed.json()).toEqual({ status: 'ok', received: { order: 'A-1' } });
  });

  it('type-checks as TypeScript (strict, experimentalDecorators), against @types/express and this package\'s types', () => {
    const config = join(OUT, 'tsconfig.json');
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          experimentalDecorators: true,
          skipLibCheck: true,
          types: ['node'],
          lib: ['es2022', 'dom'],
          paths: { 'nicepay-nico': [join(ROOT, 'src/index.ts')], 'nicepay-nico/node': [join(ROOT, 'src/adapters/node.ts')] },
        },
        files: ['main.ts', 'app.module.ts', 'nico.controller.ts', 'nico.ts'].map((f) => join(ROOT, 'examples/nestjs', f)),
      }),
    );
    const tsc = spawnSyncText(join(ROOT, 'node_modules/.bin/tsc'), ['-p', config]);
    expect(tsc.output).toBe('');
    expect(tsc.status).toBe(0);
  }, 60_000);

  it('stops at start-up, naming a missing variable', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [join(OUT, 'main.mjs')], { cwd: ROOT, env: exampleEnv({ NICEPAY_CLIENT_SECRET: undefined }), stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
      c.on('close', (code) => resolve({ code, stderr: err }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Missing environment variable NICEPAY_CLIENT_SECRET');
  }, 30_000);
});

function spawnSyncText(command: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}
