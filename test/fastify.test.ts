/**
 * `nicepay-nico/fastify` in real Fastify 5 servers on 127.0.0.1: the built `nicepay-nico
 * probe` (dist/cli.js) passes every case of the three endpoints; the application's other
 * routes keep Fastify's JSON parsing and error answers; every method and every Fastify
 * error on the plugin's paths is a SNAP answer; and examples/fastify.mjs, run in its own
 * process against a built copy of the package, passes the probe too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { copyFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fastifyNico, NICO_PATHS, type FastifyNicoOptions } from '../src/adapters/fastify.js';
import {
  bodySha256Hex,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  createMemoryIdempotencyStore,
  formatTimestamp,
  parseTimestamp,
  signSymmetric,
  type AccessTokenIssuer,
  type TransactionHandlerOptions,
} from '../src/index.js';
import type { NicoProbeReport } from '../src/cli/nico-probe.js';
import { ensureBuilt, runCli } from './helpers/cli.js';
import { ACCESS_TOKEN_BODY, signedHeaders, uniqueTimestamp } from './helpers/nicepay.js';
import { makeNicoKeys, writeNicoKeyFiles, type NicoKeyFiles, type NicoKeys } from './helpers/nico-servers.js';
import { buildPackageCopy, ROOT, type PackageCopy } from './helpers/package-copy.js';

const A = 'IONPAYTEST';
const B = 'OTHERCLIENT';
let keys: NicoKeys;
let files: NicoKeyFiles;

beforeAll(() => {
  ensureBuilt();
  keys = makeNicoKeys();
  files = writeNicoKeyFiles(keys);
}, 120_000);

afterAll(() => files?.remove());

const fileOf = (client: string) => files.clients[client] as { privateKey: string; publicKey: string; clientSecret: string };
const privateKeyOf = (client: string) => createPrivateKey(keys.clients.find((c) => c.clientKey === client)!.privateKeyPem);

type Body = Readonly<Record<string, unknown>>;

interface Setup {
  readonly tokenSecret: string;
  readonly issuer: AccessTokenIssuer;
  readonly options: FastifyNicoOptions<Body, Body>;
  readonly onError: ReturnType<typeof vi.fn>;
}

/** The plugin's options for both clients, both signature forms, like test/helpers/nico-servers.ts. */
function setup(): Setup {
  const tokenSecret = randomBytes(32).toString('base64');
  const issuer = createAccessTokenIssuer({ secret: tokenSecret });
  const replayCache = createMemoryClaimStore();
  const onError = vi.fn();
  const common = {
    clients: Object.fromEntries(keys.clients.map((c) => [c.clientKey, { clientSecret: c.clientSecret, publicKey: c.publicKeyPem }])),
    tokens: issuer,
    replayCache,
    externalIds: createMemoryClaimStore(),
    channelId: (partnerId: string) => `${partnerId}01`,
    onError,
  } satisfies Omit<TransactionHandlerOptions, 'handle' | 'serviceCode'>;
  return {
    tokenSecret,
    issuer,
    onError,
    options: {
      accessToken: { clients: Object.fromEntries(keys.clients.map((c) => [c.clientKey, c.publicKeyPem])), tokenSecret, replayCache, onError },
      inquiry: {
        ...common,
        serviceCode: '47',
        handle: ({ body }, { answer }) => (body.paymentCode === '8880012345' ? answer.ok({ paymentCode: body.paymentCode }) : answer.fail('bill-not-found')),
      },
      payment: {
        ...common,
        serviceCode: '48',
        idempotency: { key: ({ body }) => body.paymentRequestId, store: createMemoryIdempotencyStore() },
        handle: ({ body }, { answer }) => answer.ok({ paymentRequestId: body.paymentRequestId }),
      },
    },
  };
}

interface Running {
  readonly app: FastifyInstance;
  readonly origin: string;
  readonly port: number;
}

/** A Fastify app with the plugin and ordinary routes, listening on 127.0.0.1:0. */
async function start(register: (app: FastifyInstance) => Promise<unknown>, fastifyOptions: { bodyLimit?: number } = {}): Promise<Running> {
  const app = Fastify({ logger: false, ...fastifyOptions });
  await register(app);
  app.get('/health', async () => ({ status: 'ok' }));
  app.post('/orders', async (request) => ({ received: request.body, type: typeof request.body }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, origin: `http://127.0.0.1:${port}`, port };
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  json(): Record<string, unknown>;
}

/** One request with node:http (a request target exactly as given, a body in pieces), bounded by a timeout. */
function request(
  port: number,
  init: { method?: string; path: string; headers?: Record<string, string | number>; chunks?: readonly (string | Uint8Array)[]; end?: boolean },
  timeoutMs = 10_000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, method: init.method ?? 'POST', path: init.path, headers: init.headers ?? {} });
    const timer = setTimeout(() => req.destroy(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        if (init.end === false) req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
      });
    });
    for (const chunk of init.chunks ?? []) req.write(chunk);
    if (init.end !== false) req.end();
  });
}

function expectSnap(answer: Answer, status: number, responseCode: string): Record<string, unknown> {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toBe('application/json');
  expect(() => parseTimestamp(answer.headers['x-timestamp'] as string)).not.toThrow();
  const json = answer.json();
  expect(json.responseCode).toBe(responseCode);
  expect(typeof json.responseMessage).toBe('string');
  return json;
}

const tokenRequest = (body = ACCESS_TOKEN_BODY) => ({ path: NICO_PATHS.accessToken, headers: signedHeaders(privateKeyOf(A), A, uniqueTimestamp()), chunks: [body] });

/** An inquiry call signed with HMAC-SHA512 over `path` exactly as given (query included). */
function inquiryCall(issuer: AccessTokenIssuer, path: string, body = '{"paymentCode":"8880012345"}') {
  const accessToken = issuer.issue(A, Date.now());
  const timestamp = formatTimestamp(Date.now());
  const secret = keys.clients[0].clientSecret;
  const stringToSign = `POST:${path}:${accessToken}:${bodySha256Hex(body, 'minified')}:${timestamp}`;
  return {
    path,
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${accessToken}`,
      'X-TIMESTAMP': timestamp,
      'X-PARTNER-ID': A,
      'X-EXTERNAL-ID': randomBytes(8).toString('hex'),
      'X-SIGNATURE': signSymmetric(secret, stringToSign),
      'CHANNEL-ID': `${A}01`,
    },
    chunks: [body],
  };
}

// ---------------------------------------------------------------------------------------

describe('fastifyNico in a Fastify 5 app', () => {
  let s: Setup;
  let server: Running;
  beforeAll(async () => {
    s = setup();
    server = await start(async (app) => app.register(fastifyNico, s.options));
  });
  afterAll(async () => {
    await server?.app.close();
  });

  it('passes `nicepay-nico probe` on all three endpoints (both clients, HMAC and RSA, an expired token): no failure, warning or skip', async () => {
    const args = ['probe', server.origin, '--private-key', fileOf(A).privateKey, '--client-key', A, '--signature', 'both'];
    args.push('--client-secret-file', fileOf(A).clientSecret, '--other-client-key', B, '--other-client-secret-file', fileOf(B).clientSecret);
    args.push('--expired-token', s.issuer.issue(A, Date.now() - 16 * 60_000), '--inquiry-service-code', '47', '--payment-service-code', '48', '--json');
    const result = await runCli(args, {}, 120_000);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as NicoProbeReport;
    const not = (verdict: string) => report.cases.filter((c) => c.verdict === verdict).map((c) => `${c.endpoint} ${c.name}: ${c.problems?.join('; ')}`);
    expect(not('fail')).toEqual([]);
    expect(not('warn')).toEqual([]);
    expect(not('skip')).toEqual([]);
    expect(report.cases.length).toBeGreaterThan(60);
    expect(result.code).toBe(0);
  }, 150_000);

  it("keeps Fastify's JSON parsing and error answers on the application's other routes", async () => {
    const posted = await request(server.port, { path: '/orders', headers: { 'Content-Type': 'application/json' }, chunks: ['{"order":"A-1","amount":10000}'] });
    expect(posted.status).toBe(200);
    expect(posted.json()).toEqual({ received: { order: 'A-1', amount: 10000 }, type: 'object' });
    const bad = await request(server.port, { path: '/orders', headers: { 'Content-Type': 'application/json' }, chunks: ['{not json'] });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }); // Fastify's own answer
    expect((await request(server.port, { method: 'GET', path: '/health' })).json()).toEqual({ status: 'ok' });
    expect(await server.app.hasPlugin('nicepay-nico')).toBe(true);
  });

  it.each([
    [NICO_PATHS.accessToken, '4057300'],
    [NICO_PATHS.inquiry, '4054700'],
    [NICO_PATHS.payment, '4054800'],
  ])('answers every other method on %s with the SNAP 405 (%s)', async (path, responseCode) => {
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
      expectSnap(await request(server.port, { method, path }), 405, responseCode);
    }
    const head = await request(server.port, { method: 'HEAD', path });
    expect(head.status).toBe(405);
    expect(head.headers['content-type']).toBe('application/json');
    expect(head.text).toBe('');
  });

  it('answers a token request whatever its Content-Type, with the SNAP answer (never Fastify 415)', async () => {
    const withType = (type: string | undefined) => {
      const r = tokenRequest();
      if (type === undefined) delete r.headers['Content-Type'];
      else r.headers['Content-Type'] = type;
      return r;
    };
    expectSnap(await request(server.port, withType('application/xml')), 400, '4007301');
    expectSnap(await request(server.port, withType('text/plain')), 400, '4007301');
    expectSnap(await request(server.port, withType(';;')), 400, '4007301'); // Fastify: invalid media type
    expectSnap(await request(server.port, withType(undefined)), 400, '4007302');
    const ok = expectSnap(await request(server.port, withType('application/json; charset=utf-8')), 200, '2007300');
    expect(s.issuer.verify(ok.accessToken as string, Date.now(), A)).toMatchObject({ valid: true });
  });

  it('answers a body over maxBodyBytes with 400 4007300 (not Fastify 413), even when the client never finishes it', async () => {
    const big = new Uint8Array(200 * 1024).fill(0x20);
    const r = tokenRequest();
    expectSnap(await request(server.port, { ...r, headers: { ...r.headers, 'Content-Length': big.length }, chunks: [big] }), 400, '4007300');
    const never = tokenRequest();
    expectSnap(await request(server.port, { ...never, headers: { ...never.headers, 'Content-Length': 1024 * 1024 }, chunks: [new Uint8Array(20 * 1024).fill(0x20)], end: false }), 400, '4007300');
    expectSnap(await request(server.port, tokenRequest()), 200, '2007300'); // and still answers
  });

  it("verifies the path exactly as sent, query included (a ' that a URL parser would re-encode)", async () => {
    const answer = await request(server.port, inquiryCall(s.issuer, `${NICO_PATHS.inquiry}?ref='A1'&x=%7e`));
    expectSnap(answer, 200, '2004700');
  });
});

describe('fastifyNico: scope, options and errors', () => {
  it("ignores the application's bodyLimit for its own routes (the endpoint's maxBodyBytes rules)", async () => {
    const s = setup();
    const server = await start(async (app) => app.register(fastifyNico, s.options), { bodyLimit: 16 });
    try {
      expectSnap(await request(server.port, tokenRequest()), 200, '2007300');
      const orders = await request(server.port, { path: '/orders', headers: { 'Content-Type': 'application/json' }, chunks: ['{"order":"A-1","amount":10000}'] });
      expect(orders.status).toBe(413); // the application's own routes keep their limit
    } finally {
      await server.app.close();
    }
  });

  it('answers an error thrown by an application-wide hook as the SNAP error of its status, and tells onError', async () => {
    const s = setup();
    const server = await start(async (app) => {
      app.addHook('onRequest', async (req) => {
        const limited = req.headers['x-test-limit'];
        if (limited === '429') throw Object.assign(new Error('rate limited'), { statusCode: 429 });
        if (limited === 'boom') throw new Error('boom');
      });
      await app.register(fastifyNico, s.options);
    });
    try {
      const r = tokenRequest();
      const limited = await request(server.port, { ...r, headers: { ...r.headers, 'X-Test-Limit': '429' } });
      expectSnap(limited, 429, '4297300');
      expect(limited.headers['x-client-key']).toBe(A);
      expect(s.onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'rate limited' }), { status: 429, responseCode: '4297300' });
      const boom = await request(server.port, { ...inquiryCall(s.issuer, NICO_PATHS.inquiry), headers: { ...inquiryCall(s.issuer, NICO_PATHS.inquiry).headers, 'X-Test-Limit': 'boom' } });
      expect(expectSnap(boom, 500, '5004700')).toEqual({ responseCode: '5004700', responseMessage: 'General Error' });
      expect(boom.headers['x-client-key']).toBeUndefined();
      // The application's other routes keep Fastify's own error answer.
      const health = await request(server.port, { method: 'GET', path: '/health', headers: { 'X-Test-Limit': '429' } });
      expect(health.status).toBe(429);
      expect(health.json()).toMatchObject({ statusCode: 429, message: 'rate limited' });
    } finally {
      await server.app.close();
    }
  });

  it("registers under Fastify's prefix and options.paths; inquiry and payment only when given", async () => {
    const s = setup();
    const server = await start(async (app) =>
      app.register(fastifyNico, { accessToken: s.options.accessToken, inquiry: s.options.inquiry, paths: { inquiry: '/cvs/inq' }, prefix: '/nicepay' }),
    );
    try {
      expectSnap(await request(server.port, { ...tokenRequest(), path: `/nicepay${NICO_PATHS.accessToken}` }), 200, '2007300');
      expectSnap(await request(server.port, inquiryCall(s.issuer, '/nicepay/cvs/inq')), 200, '2004700');
      expect((await request(server.port, { method: 'GET', path: `/nicepay${NICO_PATHS.payment}` })).status).toBe(404); // no payment options
      expect((await request(server.port, { method: 'GET', path: NICO_PATHS.accessToken })).status).toBe(404);
    } finally {
      await server.app.close();
    }
  });

  const good = () => ({ clients: { [A]: keys.clients[0].publicKeyPem }, tokenSecret: 'x'.repeat(32) });
  it.each([
    ['no accessToken', () => ({}) as FastifyNicoOptions, /options\.accessToken is required/],
    ['a public key that is not a key', () => ({ accessToken: { ...good(), clients: { [A]: 'not a key' } } }), /createAccessTokenHandler/],
    ['a short tokenSecret', () => ({ accessToken: { ...good(), tokenSecret: 'short' } }), /32/],
    ['a path without /', () => ({ accessToken: good(), paths: { accessToken: 'token' } }), /paths\.accessToken/],
    [
      'inquiry without serviceCode',
      () => ({ accessToken: good(), inquiry: { clients: { [A]: { clientSecret: keys.clients[0].clientSecret } }, tokens: { verify: () => ({ valid: false }) }, handle: () => ({ responseCode: '2004700' }) } as never }),
      /serviceCode/,
    ],
  ] as const)('refuses %s at start-up (app.ready() rejects)', async (_name, options, message) => {
    const app = Fastify({ logger: false });
    app.register(fastifyNico, options() as FastifyNicoOptions);
    await expect(app.ready()).rejects.toThrow(message);
    await app.close().catch(() => undefined);
  });

  it('answers methods added with addHttpMethod before it is registered', async () => {
    const s = setup();
    const server = await start(async (app) => {
      app.addHttpMethod('PROPFIND', { hasBody: true });
      await app.register(fastifyNico, s.options);
    });
    try {
      expectSnap(await request(server.port, { method: 'PROPFIND', path: NICO_PATHS.payment, headers: { 'Content-Type': 'application/xml' }, chunks: ['<propfind/>'] }), 405, '4054800');
    } finally {
      await server.app.close();
    }
  });

  describe('bodyTimeoutMs and bodies not read to their end', () => {
    /**
     * Raw HTTP/1.1 over a socket: the head, then `write(socket)` for the body. Resolves with
     * what the server sent once it ends the connection (or rejects after `timeoutMs`).
     */
    const raw = (port: number, head: string, write: (socket: net.Socket) => void, timeoutMs = 5_000) =>
      new Promise<{ text: string; ms: number }>((resolve, reject) => {
        const t0 = Date.now();
        let text = '';
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(head);
          write(socket);
        });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`connection still open after ${timeoutMs} ms; received: ${text.slice(0, 200)}`));
        }, timeoutMs);
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve({ text, ms: Date.now() - t0 });
        });
      });
    const headOf = (path: string, headers: Record<string, string>, framing: string) =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}${framing}\r\n`;
    const expectClosed400 = (text: string, responseCode: string) => {
      expect(text.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      expect(text).toMatch(/\r\nconnection: close\r\n/i);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ responseCode });
    };

    let s: Setup;
    let server: Running;
    const events: { status: number; reason: string | null }[] = [];
    beforeAll(async () => {
      s = setup();
      const onEvent = (e: { status: number; reason: string | null }) => void events.push(e);
      server = await start(async (app) =>
        app.register(fastifyNico, {
          ...s.options,
          accessToken: { ...s.options.accessToken, onEvent },
          inquiry: { ...s.options.inquiry!, onEvent },
          bodyTimeoutMs: 300,
        }),
      );
    });
    afterAll(async () => {
      await server?.app.close();
    });

    it('answers a short Content-Length 400 with Connection: close after bodyTimeoutMs, with one event, and closes the connection', async () => {
      const before = events.length;
      const r = tokenRequest();
      const answer = await raw(server.port, headOf(r.path, r.headers, 'Content-Length: 100\r\n'), (socket) => socket.write('{"gr'));
      expectClosed400(answer.text, '4007300');
      expect(answer.ms).toBeGreaterThanOrEqual(250);
      expect(events.slice(before)).toEqual([expect.objectContaining({ status: 400, reason: 'BAD_REQUEST' })]);
      expect(s.onError).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringContaining('within 300 ms') }), { status: 400, responseCode: '4007300' });
      expectSnap(await request(server.port, tokenRequest()), 200, '2007300');
    });

    it('answers a dripping client 400 with Connection: close after bodyTimeoutMs', async () => {
      const call = inquiryCall(s.issuer, NICO_PATHS.inquiry);
      let timer: ReturnType<typeof setInterval> | undefined;
      const answer = await raw(server.port, headOf(call.path, call.headers, 'Content-Length: 1000\r\n'), (socket) => {
        timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(' ')), 50);
      });
      clearInterval(timer);
      expectClosed400(answer.text, '4004700');
      expectSnap(await request(server.port, inquiryCall(s.issuer, NICO_PATHS.inquiry)), 200, '2004700');
    });

    it('answers an endless chunked body over maxBodyBytes 400 with Connection: close, and stops reading it', async () => {
      const r = tokenRequest();
      let sent = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      const answer = await raw(server.port, headOf(r.path, r.headers, 'Transfer-Encoding: chunked\r\n'), (socket) => {
        const chunk = `4000\r\n${'x'.repeat(0x4000)}\r\n`;
        timer = setInterval(() => {
          if (socket.destroyed || socket.writableEnded) return clearInterval(timer);
          socket.write(chunk);
          sent += 0x4000;
        }, 2);
      });
      clearInterval(timer);
      expectClosed400(answer.text, '4007300');
      expect(sent).toBeLessThan(4 * 1024 * 1024);
      expectSnap(await request(server.port, tokenRequest()), 200, '2007300');
    });

    it('refuses a bodyTimeoutMs that is not a positive number', async () => {
      for (const bodyTimeoutMs of [0, -1, Number.NaN, 2 ** 31, '10' as unknown as number]) {
        const app = Fastify({ logger: false });
        await expect(app.register(fastifyNico, { ...setup().options, bodyTimeoutMs }).ready()).rejects.toThrow(/bodyTimeoutMs must be a positive number/);
        await app.close();
      }
    });
  });

  it('is typed for app.register (type-checked by `npm run typecheck`)', async () => {
    const app = Fastify({ logger: false });
    const s = setup();
    app.register(fastifyNico, { ...s.options, prefix: '/x' });
    // Body types of your own, with an instantiation expression.
    const { handle: _h, ...inquiryRest } = s.options.inquiry!;
    app.register(fastifyNico<{ readonly paymentCode: string }>, {
      accessToken: s.options.accessToken,
      inquiry: { ...inquiryRest, handle: ({ body }, { answer }) => answer.ok({ code: body.paymentCode.toUpperCase() }) },
    });
    // @ts-expect-error accessToken is required
    app.register(fastifyNico, { inquiry: s.options.inquiry });
    // @ts-expect-error paths are strings
    app.register(fastifyNico, { ...s.options, paths: { accessToken: 1 } });
    await app.close();
  });
});

// ---------------------------------------------------------------------------------------
// examples/fastify.mjs, in its own process, against a built copy of the package.

describe('examples/fastify.mjs (built copy of the package)', () => {
  let copy: PackageCopy;
  let child: ChildProcess | undefined;
  let origin = '';
  let stderr = '';
  const tokenSecret = randomBytes(32).toString('base64');

  beforeAll(async () => {
    copy = buildPackageCopy('fastify-example');
    copyFileSync(join(ROOT, 'examples', 'fastify.mjs'), join(copy.appDir, 'fastify.mjs'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NICEPAY_CLIENT_KEY: A,
      NICEPAY_PUBLIC_KEY: keys.clients[0].publicKeyPem,
      NICEPAY_CLIENT_SECRET: keys.clients[0].clientSecret,
      TOKEN_SECRET: tokenSecret,
      CVS_INQUIRY_SERVICE_CODE: '47',
      CVS_PAYMENT_SERVICE_CODE: '48',
      PORT: '0',
      HOST: '127.0.0.1',
    };
    delete env.NICEPAY_SANDBOX;
    const started = spawn(process.execPath, ['fastify.mjs'], { cwd: copy.appDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    origin = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`no "listening on" line within 20 s\n${stdout}\n${stderr}`)), 20_000);
      started.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`examples/fastify.mjs exited (${code}) before listening\n${stdout}\n${stderr}`));
      });
      started.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
        if (match) {
          clearTimeout(timer);
          started.removeAllListeners('exit');
          resolve(match[1] as string);
        }
      });
    });
  }, 240_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (copy) rmSync(copy.dir, { recursive: true, force: true });
  });

  it('passes `nicepay-nico probe` on all three endpoints (HMAC)', async () => {
    const issuer = createAccessTokenIssuer({ secret: tokenSecret });
    const args = ['probe', origin, '--private-key', fileOf(A).privateKey, '--client-key', A, '--client-secret-file', fileOf(A).clientSecret];
    args.push('--expired-token', issuer.issue(A, Date.now() - 16 * 60_000), '--inquiry-service-code', '47', '--payment-service-code', '48', '--json');
    const result = await runCli(args, {}, 120_000);
    const report = JSON.parse(result.stdout) as NicoProbeReport;
    const not = (verdict: string) => report.cases.filter((c) => c.verdict === verdict).map((c) => `${c.endpoint} ${c.name}`);
    expect(not('fail')).toEqual([]);
    expect(not('warn')).toEqual([]);
    // One client, HMAC only: the cases that need a second client or an RSA-signed call cannot run.
    expect(not('skip').sort()).toEqual(['inquiry RSA signature', 'inquiry token of another client', 'payment RSA signature', 'payment token of another client']);
    expect(result.code).toBe(0);
    expect(stderr).toMatch(/^access-token 401 4017300: /m); // onError logs the refusals
  }, 150_000);

  it('keeps JSON parsing on /orders', async () => {
    const answer = await fetch(`${origin}/orders`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"order":"A-1"}', signal: AbortSignal.timeout(10_000) });
    expect(await answer.json()).toEqual({ status: 'ok', received: { order: 'A-1' } });
  });
});
