/**
 * `nicepay-nico/next`: the route-module helpers with real `Request`s (lazy options, every
 * method, configuration failures), then examples/nextjs/ as a real Next.js 16 app: copied
 * into .tmp/ with a built copy of the package, `next build` with no NICO variable in the
 * environment (nothing is read at import), `next start` on a free port, and the built
 * `nicepay-nico probe` (dist/cli.js) against its three endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { cpSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNextRouteHandlers, createNextTransactionRouteHandlers, type NextRouteHandlers } from '../src/adapters/next.js';
import { createAccessTokenIssuer, parseTimestamp, type AccessTokenHandlerOptions, type TransactionHandlerOptions } from '../src/index.js';
import type { NicoProbeReport } from '../src/cli/nico-probe.js';
import type { NextRequest } from 'next/server';
import { ensureBuilt, runCli } from './helpers/cli.js';
import { ACCESS_TOKEN_BODY, signedHeaders, uniqueTimestamp } from './helpers/nicepay.js';
import { makeNicoKeys, writeNicoKeyFiles, type NicoKeyFiles, type NicoKeys } from './helpers/nico-servers.js';
import { buildPackageCopy, ROOT, type PackageCopy } from './helpers/package-copy.js';

const A = 'IONPAYTEST';
const URL_ = 'https://merchant.example/api/v1.0/access-token/b2b';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
let keys: NicoKeys;

beforeAll(() => {
  keys = makeNicoKeys();
}, 120_000);

const tokenOptions = (): AccessTokenHandlerOptions => ({ clients: { [A]: keys.clients[0].publicKeyPem }, tokenSecret: 'next-test-secret-of-at-least-32-bytes!' });
const signedPost = () =>
  new Request(URL_, { method: 'POST', headers: signedHeaders(createPrivateKey(keys.clients[0].privateKeyPem), A, uniqueTimestamp()), body: ACCESS_TOKEN_BODY });
/** What Next.js passes as the second argument of a route handler. */
const NEXT_CONTEXT = { params: Promise.resolve({}) };

async function snap(response: Response, status: number, responseCode: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(() => parseTimestamp(response.headers.get('x-timestamp') as string)).not.toThrow();
  const json = JSON.parse(text) as Record<string, unknown>;
  expect(json.responseCode).toBe(responseCode);
  return json;
}

/** The type `next build` checks route modules against (next/dist/server/lib/router-utils/typegen.js, Next.js 16). */
type NextHandler = (request: NextRequest, context: { params: Promise<Record<string, never>> }) => Promise<Response | void> | Response | void;
type RouteHandlerConfig = { GET?: NextHandler; POST?: NextHandler; PUT?: NextHandler; PATCH?: NextHandler; DELETE?: NextHandler; HEAD?: NextHandler; OPTIONS?: NextHandler };

describe('createNextRouteHandlers', () => {
  it("satisfies the route-module type Next.js checks (type-checked by `npm run typecheck`)", () => {
    const token = createNextRouteHandlers(tokenOptions) satisfies RouteHandlerConfig;
    const inquiry = createNextTransactionRouteHandlers<{ readonly paymentCode: string }>(() => ({
      serviceCode: '47',
      clients: {},
      tokens: createAccessTokenIssuer({ secret: 'next-test-secret-of-at-least-32-bytes!' }),
      handle: ({ body }, { answer }) => answer.ok({ code: body.paymentCode }),
    })) satisfies RouteHandlerConfig;
    expect(typeof token.POST).toBe('function');
    expect(typeof inquiry.POST).toBe('function');
  });

  it('calls the options function on the first request only, once for concurrent requests, and keeps the handler', async () => {
    const options = vi.fn(tokenOptions);
    const route: NextRouteHandlers = createNextRouteHandlers(options);
    expect(Object.keys(route).sort()).toEqual([...METHODS].sort());
    expect(options).not.toHaveBeenCalled(); // nothing read at import
    const answers = await Promise.all([route.POST(signedPost(), NEXT_CONTEXT), route.GET(new Request(URL_), NEXT_CONTEXT), route.POST(signedPost())]);
    await snap(answers[0] as Response, 200, '2007300');
    await snap(answers[1] as Response, 405, '4057300');
    await snap(answers[2] as Response, 200, '2007300');
    await snap(await route.PUT(new Request(URL_, { method: 'PUT', body: '{}' })), 405, '4057300');
    expect(options).toHaveBeenCalledTimes(1);
  });

  it('answers every method but POST with the SNAP 405, and takes options as an object or an async function', async () => {
    for (const route of [createNextRouteHandlers(tokenOptions()), createNextRouteHandlers(async () => tokenOptions())]) {
      for (const method of METHODS.filter((m) => m !== 'POST')) {
        const response = await route[method](new Request(URL_, { method }), NEXT_CONTEXT);
        expect(response.status).toBe(405);
        if (method !== 'HEAD') await snap(response, 405, '4057300');
      }
      const token = await snap(await route.POST(signedPost(), NEXT_CONTEXT), 200, '2007300');
      expect(createAccessTokenIssuer({ secret: tokenOptions().tokenSecret as string }).verify(token.accessToken as string, Date.now(), A)).toMatchObject({ valid: true });
    }
  });

  it('answers 500 5007300 while the options cannot be had, tells onConfigError, and tries again on the next request', async () => {
    let secret: string | undefined;
    const onConfigError = vi.fn();
    const route = createNextRouteHandlers(
      () => {
        if (secret === undefined) throw new Error('Missing environment variable TOKEN_SECRET');
        return { ...tokenOptions(), tokenSecret: secret };
      },
      { onConfigError },
    );
    const failed = await snap(await route.POST(signedPost()), 500, '5007300');
    expect(failed).toEqual({ responseCode: '5007300', responseMessage: 'General Error' });
    expect(onConfigError).toHaveBeenCalledWith(expect.objectContaining({ message: 'Missing environment variable TOKEN_SECRET' }));
    secret = 'too short'; // refused by createAccessTokenHandler (it throws): not kept either
    await snap(await route.POST(signedPost()), 500, '5007300');
    expect((onConfigError.mock.calls[1]?.[0] as Error).message).toMatch(/tokenSecret|secret/);
    secret = 'next-test-secret-of-at-least-32-bytes!';
    await snap(await route.POST(signedPost()), 200, '2007300');
    expect(onConfigError).toHaveBeenCalledTimes(2);
  });

  it('logs a configuration failure with console.error by default, once per cause, with only the class of an error from the options function', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const route = createNextRouteHandlers(() => Promise.reject(new Error('vault down: postgres://u:s3cret@h')));
      for (let i = 0; i < 3; i++) await snap(await route.POST(signedPost()), 500, '5007300');
      expect(error).toHaveBeenCalledTimes(1);
      const line = String(error.mock.calls[0]?.[0]);
      expect(line).toContain('nicepay-nico');
      expect(line).toContain('the options function threw Error');
      expect(error.mock.calls.flat().join(' ')).not.toContain('s3cret');
      // The package's own refusal of the options is printed with its message, once.
      const refused = createNextRouteHandlers(() => ({ ...tokenOptions(), tokenSecret: 'too short' }));
      for (let i = 0; i < 2; i++) await snap(await refused.POST(signedPost()), 500, '5007300');
      expect(error).toHaveBeenCalledTimes(2);
      expect(String(error.mock.calls[1]?.[0])).toMatch(/TypeError|RangeError/);
      expect(String(error.mock.calls[1]?.[0])).not.toContain('too short');
    } finally {
      error.mockRestore();
    }
  });

  it('answers 500 when the options promise never settles within optionsTimeoutMs, tells onConfigError, and tries again on the next request', async () => {
    let calls = 0;
    const onConfigError = vi.fn();
    const route = createNextRouteHandlers(
      () => {
        calls++;
        return calls === 1 ? new Promise<never>(() => undefined) : tokenOptions();
      },
      { onConfigError, optionsTimeoutMs: 50 },
    );
    await snap(await route.POST(signedPost()), 500, '5007300');
    expect(onConfigError).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringContaining('within 50 ms') }));
    await snap(await route.POST(signedPost()), 200, '2007300');
    expect(calls).toBe(2);
    expect(() => createNextRouteHandlers(tokenOptions, { optionsTimeoutMs: 0 })).toThrow(/optionsTimeoutMs/);
  });

  it('refuses options that are neither an object nor a function, and a bad init, at creation', () => {
    expect(() => createNextRouteHandlers(undefined as never)).toThrow(TypeError);
    expect(() => createNextRouteHandlers(tokenOptions, { onConfigError: 'log' as never })).toThrow(/onConfigError/);
    expect(() => createNextTransactionRouteHandlers(() => ({}) as never, { serviceCode: '4' })).toThrow(/two digits/);
  });
});

describe('createNextTransactionRouteHandlers', () => {
  const transactionOptions = (): TransactionHandlerOptions => ({
    serviceCode: '47',
    clients: { [A]: { clientSecret: keys.clients[0].clientSecret } },
    tokens: createAccessTokenIssuer({ secret: 'next-test-secret-of-at-least-32-bytes!' }),
    handle: (_verified, { answer }) => answer.ok(),
  });

  it('answers the SNAP 405 of its service code for every method but POST, options taken lazily', async () => {
    const options = vi.fn(transactionOptions);
    const route = createNextTransactionRouteHandlers(options);
    expect(options).not.toHaveBeenCalled();
    await snap(await route.GET(new Request('https://merchant.example/api/v1.0/cvs/inquiry'), NEXT_CONTEXT), 405, '4054700');
    await snap(await route.DELETE(new Request('https://merchant.example/api/v1.0/cvs/inquiry', { method: 'DELETE' })), 405, '4054700');
    // A POST without credentials: the endpoint's own refusal.
    const post = new Request('https://merchant.example/api/v1.0/cvs/inquiry', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(await snap(await route.POST(post), 400, '4004702')).toEqual({ responseCode: '4004702', responseMessage: 'Invalid Mandatory Field {Authorization}' });
    expect(options).toHaveBeenCalledTimes(1);
  });

  it("answers 500 with init.serviceCode (default 00) while the options cannot be had", async () => {
    const onConfigError = vi.fn();
    const fail = () => {
      throw new Error('no secret');
    };
    await snap(await createNextTransactionRouteHandlers(fail, { onConfigError }).POST(new Request('https://m.example/x', { method: 'POST' })), 500, '5000000');
    await snap(await createNextTransactionRouteHandlers(fail, { onConfigError, serviceCode: '48' }).POST(new Request('https://m.example/x', { method: 'POST' })), 500, '5004800');
    expect(onConfigError).toHaveBeenCalledTimes(2);
  });
});

// ---------------------------------------------------------------------------------------
// examples/nextjs/ as a real Next.js app: next build, next start, the probe.

const NICO_ENV = ['NICEPAY_CLIENT_KEY', 'NICEPAY_PUBLIC_KEY', 'NICEPAY_CLIENT_SECRET', 'TOKEN_SECRET', 'CVS_INQUIRY_SERVICE_CODE', 'CVS_PAYMENT_SERVICE_CODE', 'NICEPAY_SANDBOX'];
const NEXT_BIN = join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');

/** The environment without any NICO variable, and without telemetry. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NO_COLOR: '1' };
  for (const name of NICO_ENV) delete env[name];
  delete env.NODE_OPTIONS; // vitest's own loader options are not for the child
  delete env.PORT;
  return env;
}

const children = new Set<ChildProcess>();
/** Last resort if the test process goes away without afterAll. */
const killChildren = (): void => {
  for (const child of children) if (child.pid) process.kill(-child.pid, 'SIGKILL');
};

/** Run a command to its end in its own process group; rejects on a non-zero exit or after `timeoutMs`. */
function runToEnd(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish within ${timeoutMs} ms\n${output}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(output);
      else reject(new Error(`${args.join(' ')} exited ${code}\n${output}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface NextServer {
  readonly origin: string;
  readonly child: ChildProcess;
  output(): string;
}

/** `next start` on a free port of 127.0.0.1; resolves once it answers HTTP. */
async function nextStart(cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<NextServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited (${child.exitCode})\n${output}`);
    try {
      await fetch(`${origin}/api/v1.0/access-token/b2b`, { method: 'GET', signal: AbortSignal.timeout(2000) });
      return { origin, child, output: () => output };
    } catch {
      if (Date.now() > deadline) {
        await stop(child);
        throw new Error(`next start did not answer within ${timeoutMs} ms\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** SIGTERM to the process group, SIGKILL after 5 s. */
async function stop(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

describe('examples/nextjs/ in Next.js 16 (next build && next start, built copy of the package)', () => {
  let copy: PackageCopy;
  let files: NicoKeyFiles;
  let server: NextServer | undefined;
  let buildOutput = '';
  const tokenSecret = randomBytes(32).toString('base64');

  beforeAll(async () => {
    process.once('exit', killChildren);
    ensureBuilt();
    files = writeNicoKeyFiles(keys);
    copy = buildPackageCopy('next-example');
    for (const entry of ['app', 'lib', 'next.config.mjs']) cpSync(join(ROOT, 'examples', 'nextjs', entry), join(copy.appDir, entry), { recursive: true });
    // No NICO variable at build time: the route modules must not read any when imported.
    buildOutput = await runToEnd([NEXT_BIN, 'build'], copy.appDir, baseEnv(), 240_000);
    const env = {
      ...baseEnv(),
      NICEPAY_CLIENT_KEY: A,
      NICEPAY_PUBLIC_KEY: keys.clients[0].publicKeyPem,
      NICEPAY_CLIENT_SECRET: keys.clients[0].clientSecret,
      TOKEN_SECRET: tokenSecret,
      CVS_INQUIRY_SERVICE_CODE: '47',
      CVS_PAYMENT_SERVICE_CODE: '48',
    };
    server = await nextStart(copy.appDir, env);
  }, 360_000);

  afterAll(async () => {
    if (server) await stop(server.child);
    await Promise.all([...children].map(stop));
    process.removeListener('exit', killChildren);
    files?.remove();
    if (copy) rmSync(copy.dir, { recursive: true, force: true });
  }, 30_000);

  it('builds without any NICO variable, the three routes dynamic', () => {
    for (const path of ['/api/v1.0/access-token/b2b', '/api/v1.0/cvs/inquiry', '/api/v1.0/cvs/payment']) {
      expect(buildOutput).toMatch(new RegExp(`ƒ ${path.replace(/\./g, '\\.')}$`, 'm'));
    }
  });

  it('passes `nicepay-nico probe` on all three endpoints (HMAC, an expired token)', async () => {
    const issuer = createAccessTokenIssuer({ secret: tokenSecret });
    const client = files.clients[A] as { privateKey: string; clientSecret: string };
    const args = ['probe', (server as NextServer).origin, '--private-key', client.privateKey, '--client-key', A, '--client-secret-file', client.clientSecret];
    args.push('--expired-token', issuer.issue(A, Date.now() - 16 * 60_000), '--inquiry-service-code', '47', '--payment-service-code', '48', '--json');
    const result = await runCli(args, {}, 120_000);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as NicoProbeReport;
    const not = (verdict: string) => report.cases.filter((c) => c.verdict === verdict).map((c) => `${c.endpoint} ${c.name}`);
    expect(not('fail')).toEqual([]);
    expect(not('warn')).toEqual([]);
    // One client, HMAC only: the cases that need a second client or an RSA-signed call cannot run.
    expect(not('skip').sort()).toEqual(['inquiry RSA signature', 'inquiry token of another client', 'payment RSA signature', 'payment token of another client']);
    expect(result.code).toBe(0);
    expect((server as NextServer).output()).toMatch(/^access-token 401 4017300: /m); // onError logs the refusals
  }, 150_000);

  it.each(['/api/v1.0/access-token/b2b', '/api/v1.0/cvs/inquiry', '/api/v1.0/cvs/payment'])('answers every exported method but POST on %s with the SNAP 405', async (path) => {
    const code = path.endsWith('b2b') ? '4057300' : path.endsWith('inquiry') ? '4054700' : '4054800';
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      await snap(await fetch((server as NextServer).origin + path, { method, signal: AbortSignal.timeout(10_000) }), 405, code);
    }
    const head = await fetch((server as NextServer).origin + path, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    expect(head.status).toBe(405);
    expect(head.headers.get('content-type')).toBe('application/json');
  });

  it('answers 500 General Error (SNAP) and logs the variable when one is missing at run time', async () => {
    const env = { ...baseEnv(), NICEPAY_CLIENT_KEY: A, NICEPAY_PUBLIC_KEY: keys.clients[0].publicKeyPem }; // no TOKEN_SECRET
    const broken = await nextStart(copy.appDir, env);
    try {
      const response = await fetch(`${broken.origin}/api/v1.0/access-token/b2b`, { method: 'POST', body: ACCESS_TOKEN_BODY, signal: AbortSignal.timeout(10_000) });
      expect(await snap(response, 500, '5007300')).toEqual({ responseCode: '5007300', responseMessage: 'General Error' });
      await new Promise((resolve) => setTimeout(resolve, 200)); // the log line may follow the answer
      // The default onConfigError prints only the class of an error thrown by the options
      // function (its message could hold a secret).
      expect(broken.output()).toContain('the options function threw Error');
    } finally {
      await stop(broken.child);
    }
  }, 60_000);
});
