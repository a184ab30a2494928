/**
 * The examples in examples/ run as a merchant runs them: each Node example in its own
 * process against the built package (dist/, imported by the package's own name), called
 * over real HTTP; the Cloudflare Worker bundled with esbuild and run in workerd (Miniflare).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenIssuer, formatTimestamp, parseTimestamp } from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { ACCESS_TOKEN_BODY, makeKeys, signedHeaders, uniqueTimestamp } from './helpers/nicepay.js';
import { makeNicoKeys, writeNicoKeyFiles } from './helpers/nico-servers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PATH = '/api/v1.0/access-token/b2b';
const CLIENT = 'IONPAYTEST';
const SECRET = randomBytes(32).toString('base64');
const CLIENT_SECRET = randomBytes(64).toString('base64');
const keys = makeKeys(2048);

const children = new Set<ChildProcess>();
/** Last resort if the test process goes away without afterAll (e.g. a crash or Ctrl-C). */
const killChildren = (): void => {
  for (const child of children) child.kill('SIGKILL');
};
process.once('exit', killChildren);

beforeAll(() => {
  // `npm test` builds first; a lone `npx vitest run test/examples.test.ts` may not have.
  if (!['index.js', 'node.js', 'fetch.js', 'cli.js'].every((file) => existsSync(`${ROOT}dist/${file}`))) {
    execFileSync('npx', ['tsup'], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  }
}, 130_000);

afterAll(async () => {
  await Promise.all([...children].map(stop));
  process.removeListener('exit', killChildren);
});

// ---------------------------------------------------------------------------------------
// Playing NICEPAY

/** A correctly signed access-token request, timestamped now. */
function signedRequest(key: KeyObject = keys.privateKey, body: string = ACCESS_TOKEN_BODY): { headers: Record<string, string>; body: string } {
  return { headers: signedHeaders(key, CLIENT, uniqueTimestamp()), body };
}

/** The same request with one bit of the (still well-formed) signature flipped. */
function tamperedRequest() {
  const request = signedRequest();
  const signature = Buffer.from(request.headers['X-SIGNATURE'] as string, 'base64');
  signature[100] = (signature[100] as number) ^ 0x01;
  request.headers['X-SIGNATURE'] = signature.toString('base64');
  return request;
}

function withoutTimestamp() {
  const request = signedRequest();
  delete request.headers['X-TIMESTAMP'];
  return request;
}

/** A signed request whose JSON body is exactly `size` bytes. */
function oversizedRequest(size: number) {
  const prefix = '{"grantType":"client_credentials","additionalInfo":{"pad":"';
  const suffix = '"}}';
  return signedRequest(keys.privateKey, prefix + 'x'.repeat(size - prefix.length - suffix.length) + suffix);
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (a framework's own 404 page): `json` stays empty.
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The checks of a successful token answer, shared by every runtime. */
function expectToken(answer: Answer): void {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.json).toMatchObject({ responseCode: '2007300', responseMessage: 'Successful', tokenType: 'Bearer', expiresIn: '900' });
  const check = createAccessTokenIssuer({ secret: SECRET }).verify(answer.json.accessToken as string, Date.now(), CLIENT);
  expect(check).toMatchObject({ valid: true, clientKey: CLIENT });
  expect(answer.headers.get('content-type')).toBe('application/json');
  expect(answer.headers.get('x-client-key')).toBe(CLIENT);
  const timestamp = parseTimestamp(answer.headers.get('x-timestamp') as string);
  expect(timestamp.offset).toBe('+07:00');
  expect(Math.abs(timestamp.epochMs - Date.now())).toBeLessThan(60_000);
}

function expectSnapError(answer: Answer, status: number, responseCode: string, responseMessage?: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.json.responseCode).toBe(responseCode);
  if (responseMessage !== undefined) expect(answer.json.responseMessage).toBe(responseMessage);
  expect(answer.json).not.toHaveProperty('accessToken');
  expect(answer.headers.get('content-type')).toBe('application/json');
  expect(() => parseTimestamp(answer.headers.get('x-timestamp') as string)).not.toThrow();
}

/** Not a token: whatever a framework answers for a route it does not have. */
function expectNoToken(answer: Answer): void {
  expect(answer.status).not.toBe(200);
  expect(answer.status).toBeGreaterThanOrEqual(400);
  expect(answer.text).not.toContain('accessToken');
}

// ---------------------------------------------------------------------------------------
// Running an example

interface Running {
  readonly url: string;
  readonly child: ChildProcess;
  stderr(): string;
}

function exampleEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NICEPAY_CLIENT_KEY', 'NICEPAY_PUBLIC_KEY', 'NICEPAY_CLIENT_SECRET', 'CVS_INQUIRY_SERVICE_CODE', 'CVS_PAYMENT_SERVICE_CODE', 'TOKEN_SECRET', 'NICEPAY_SANDBOX', 'PORT', 'HOST']) {
    delete env[name];
  }
  // The inquiry and payment settings are read by the examples that serve those endpoints (express).
  const transactions = { NICEPAY_CLIENT_SECRET: CLIENT_SECRET, CVS_INQUIRY_SERVICE_CODE: '47', CVS_PAYMENT_SERVICE_CODE: '48' };
  Object.assign(env, { PORT: '0', HOST: '127.0.0.1', NICEPAY_CLIENT_KEY: CLIENT, TOKEN_SECRET: SECRET }, transactions, overrides);
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

/** Start `node examples/<name>.mjs` and wait for its `listening on` line. */
function startExample(name: string, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<Running> {
  const child = spawn(process.execPath, [`examples/${name}.mjs`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise<Running>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stop(child);
      reject(new Error(`examples/${name}.mjs ${why}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`printed no "listening on" line within ${timeoutMs} ms`), timeoutMs);
    child.on('error', (error) => fail(`could not start: ${error.message}`));
    child.on('exit', (code, signal) => fail(`exited before listening (code ${code}, signal ${signal})`));
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      const match = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(stdout);
      if (match && Number(match[2]) > 0) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ url: match[1] as string, child, stderr: () => stderr });
      }
    });
  });
}

/** Run an example that must refuse to start; resolves with its exit code and output. */
function runToExit(name: string, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [`examples/${name}.mjs`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(child);
      reject(new Error(`examples/${name}.mjs did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within 3 s. */
function stop(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function post(url: string, request: { headers: Record<string, string>; body: string }): Promise<Answer> {
  return answerOf(await fetch(url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(10_000) }));
}

// ---------------------------------------------------------------------------------------
// The Node examples

const NODE_EXAMPLES = [
  // Each is given NICEPAY's key in another accepted form.
  { name: 'node-http', publicKey: keys.publicKeyBase64, getAnswer: 'method' },
  { name: 'express', publicKey: keys.publicKeyPem.replace(/\n/g, '\\n'), getAnswer: 'method' }, // app.all: the SNAP 405
  { name: 'hono', publicKey: keys.publicKeyPem, getAnswer: 'framework' },
] as const;

for (const example of NODE_EXAMPLES) {
  describe(`examples/${example.name}.mjs`, () => {
    let server: Running;
    let url: string;
    beforeAll(async () => {
      server = await startExample(example.name, exampleEnv({ NICEPAY_PUBLIC_KEY: example.publicKey }));
      url = server.url + PATH;
    }, 30_000);
    afterAll(async () => {
      if (server) await stop(server.child);
    });

    it('(a) answers a correctly signed request with a token that verifies', async () => {
      expectToken(await post(url, signedRequest()));
    });

    it('(b) refuses a tampered signature: 401 4017300', async () => {
      expectSnapError(await post(url, tamperedRequest()), 401, '4017300', 'Unauthorized. Signature does not verify');
    });

    it('(c) refuses a request without X-TIMESTAMP: 400 4007302', async () => {
      expectSnapError(await post(url, withoutTimestamp()), 400, '4007302', 'Invalid Mandatory Field {X-TIMESTAMP}');
    });

    it('(d) gives no token to a GET', async () => {
      const { headers } = signedRequest();
      const answer = await answerOf(await fetch(url, { method: 'GET', headers, signal: AbortSignal.timeout(10_000) }));
      if (example.getAnswer === 'method') expectSnapError(answer, 405, '4057300');
      else expectNoToken(answer); // the route is POST-only: the framework's own 404
    });

    it('(e) refuses a 100 KiB body with 400 4007300, then still answers', async () => {
      expectSnapError(await post(url, oversizedRequest(100 * 1024)), 400, '4007300', 'Bad Request');
      expectToken(await post(url, signedRequest()));
      expect(server.child.exitCode).toBeNull();
    });

    if (example.name === 'express') {
      it('keeps express.json() working for the other routes (/health)', async () => {
        const get = await answerOf(await fetch(server.url + '/health', { signal: AbortSignal.timeout(10_000) }));
        expect(get.status).toBe(200);
        expect(get.json).toEqual({ status: 'ok' });
        const posted = await post(server.url + '/health', { headers: { 'Content-Type': 'application/json' }, body: '{"order":"A-1","amount":10000}' });
        expect(posted.status).toBe(200);
        expect(posted.json).toEqual({ status: 'ok', received: { order: 'A-1', amount: 10000 } });
      });

      it('answers a body the global express.json() refuses (not JSON) with the SNAP 400, not an HTML page', async () => {
        expectSnapError(await post(url, signedRequest(keys.privateKey, 'grantType=client_credentials')), 400, '4007300', 'Bad Request');
      });

      it('passes the probe on its three endpoints (access token, CVS inquiry, CVS payment), the wrong method included', async () => {
        const nicoKeys = makeNicoKeys();
        const keyFiles = writeNicoKeyFiles(nicoKeys);
        const client = keyFiles.clients[CLIENT] as { privateKey: string; publicKey: string; clientSecret: string };
        const env = exampleEnv({ NICEPAY_PUBLIC_KEY: readFileSync(client.publicKey, 'utf8'), NICEPAY_CLIENT_SECRET: readFileSync(client.clientSecret, 'utf8') });
        const nico = await startExample('express', env);
        try {
          const args = ['--private-key', client.privateKey, '--client-key', CLIENT, '--client-secret-file', client.clientSecret, '--inquiry-service-code', '47', '--payment-service-code', '48'];
          const probe = await runCli(['probe', nico.url, ...args], {}, 60_000);
          expect(probe.stdout).toMatch(/wrong method \(GET\)/);
          expect(probe.stdout).toMatch(/71 cases: 65 pass, 0 warn, 0 fail, 6 skipped/);
          expect(probe.code).toBe(0);
          expect(nico.stderr()).not.toMatch(/RawBodyError|ran before this handler/);
        } finally {
          await stop(nico.child);
          keyFiles.remove();
        }
      }, 90_000);
    }

    it('logs the refused calls on stderr through onError', () => {
      expect(server.stderr()).toMatch(/^access-token 401 4017300: .*signature does not verify/im);
      expect(server.stderr()).toMatch(/^access-token 400 4007300: .*larger than 16384 bytes/m);
      expect(server.stderr()).not.toContain(SECRET);
    });
  });
}

describe('examples: configuration', () => {
  it.each(['node-http', 'express', 'hono'])('%s fails fast, naming the missing variable', async (name) => {
    const result = await runToExit(name, exampleEnv({ NICEPAY_PUBLIC_KEY: undefined }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NICEPAY_PUBLIC_KEY');
    expect(result.stdout).not.toContain('listening on');
  });

  it('refuses a TOKEN_SECRET under 32 bytes at start-up', async () => {
    const result = await runToExit('node-http', exampleEnv({ NICEPAY_PUBLIC_KEY: keys.publicKeyBase64, TOKEN_SECRET: 'too-short' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/at least 32/);
  });

  describe("NICEPAY's 1024-bit sandbox key", () => {
    const sandboxKeys = makeKeys(1024);
    it('is refused at start-up without NICEPAY_SANDBOX=1', async () => {
      const result = await runToExit('node-http', exampleEnv({ NICEPAY_PUBLIC_KEY: sandboxKeys.publicKeyBase64 }));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/1024/);
      expect(result.stdout).not.toContain('listening on');
    });
    it('is accepted with NICEPAY_SANDBOX=1', async () => {
      const server = await startExample('node-http', exampleEnv({ NICEPAY_PUBLIC_KEY: sandboxKeys.publicKeyPem, NICEPAY_SANDBOX: '1' }));
      try {
        expectToken(await post(server.url + PATH, signedRequest(sandboxKeys.privateKey)));
      } finally {
        await stop(server.child);
      }
    }, 30_000);
  });
});

// ---------------------------------------------------------------------------------------
// The Cloudflare Worker, in workerd

describe('examples/cloudflare-worker.mjs (esbuild + Miniflare)', () => {
  // Typed loosely: Miniflare's own Request/Response types are undici's, not the DOM's.
  let mf: { dispatchFetch(url: string, init?: object): Promise<Response>; dispose(): Promise<void> } | undefined;
  let bundle = '';
  const WORKER_URL = `http://127.0.0.1${PATH}`;

  beforeAll(async () => {
    const esbuild = await import('esbuild');
    const { Miniflare } = await import('miniflare');
    const result = await esbuild.build({
      entryPoints: ['examples/cloudflare-worker.mjs'],
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      conditions: ['worker', 'browser'],
      mainFields: ['module', 'main'],
      logLevel: 'silent',
      // `nicepay-nico/fetch` resolves through the package's own name (the file is inside
      // the package), to dist/fetch.js.
    });
    bundle = result.outputFiles[0]?.text ?? '';
    mf = new Miniflare({
      modules: true,
      script: bundle,
      compatibilityDate: '2025-01-01',
      bindings: { NICEPAY_PUBLIC_KEY: keys.publicKeyBase64, NICEPAY_CLIENT_KEY: CLIENT, TOKEN_SECRET: SECRET },
    }) as unknown as NonNullable<typeof mf>;
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
  });

  const dispatch = async (url: string, init: { method: string; headers?: Record<string, string>; body?: string }) =>
    answerOf(await (mf as NonNullable<typeof mf>).dispatchFetch(url, init));

  it('bundles the built package without any node: module', () => {
    expect(bundle).toContain('Signature does not verify'); // the package's code is in the bundle, not left as an import
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:/);
    expect(bundle).not.toMatch(/from\s*["']nicepay-nico/);
  });

  it('(a) answers a correctly signed request with a token that verifies', async () => {
    expectToken(await dispatch(WORKER_URL, { method: 'POST', ...signedRequest() }));
  });

  it('(b) refuses a tampered signature: 401 4017300', async () => {
    expectSnapError(await dispatch(WORKER_URL, { method: 'POST', ...tamperedRequest() }), 401, '4017300', 'Unauthorized. Signature does not verify');
  });

  it('(c) refuses a request without X-TIMESTAMP: 400 4007302', async () => {
    expectSnapError(await dispatch(WORKER_URL, { method: 'POST', ...withoutTimestamp() }), 400, '4007302', 'Invalid Mandatory Field {X-TIMESTAMP}');
  });

  it('answers 405 4057300 for a GET of the access-token path', async () => {
    expectSnapError(await dispatch(WORKER_URL, { method: 'GET', headers: signedRequest().headers }), 405, '4057300');
  });

  it('answers 404 for any other path', async () => {
    const answer = await dispatch('http://127.0.0.1/api/v1.0/other', { method: 'POST', ...signedRequest() });
    expect(answer.status).toBe(404);
    expect(answer.text).not.toContain('accessToken');
  });
});
