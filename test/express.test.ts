/**
 * Express 5 stacks as merchants run them, each a real server on 127.0.0.1:0 with the three
 * NICO endpoints (the library's Express middlewares, `app.all`, built from src/), called
 * over HTTP and played against by the built command (`node dist/cli.js probe`):
 *
 * - a global `app.use(express.json({ verify }))` that keeps `req.rawBody`, with each
 *   endpoint's `bodyParserErrorHandler`: every probe case passes, wrong method included;
 * - a global `app.use(express.json())` without `verify`: every call is answered a SNAP
 *   `500` (JSON, never Express's HTML page), and the message names the route and the fix;
 * - the NICO routes registered before `app.use(express.json())`: every probe case passes.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpressMiddleware, createExpressTransactionMiddleware, RawBodyError, type ExpressMiddleware } from '../src/adapters/node.js';
import { createAccessTokenIssuer, createMemoryClaimStore, createMemoryIdempotencyStore, type TransactionClient } from '../src/index.js';
import { PROBE_CASES } from '../src/cli/probe.js';
import { TX_CASES, type NicoProbeReport } from '../src/cli/nico-probe.js';
import { ensureBuilt, runCli } from './helpers/cli.js';
import { ACCESS_TOKEN_PATH, BILL, DEFAULT_PAY_NO, INQUIRY_PATH, makeNicoKeys, PAYMENT_PATH, writeNicoKeyFiles, type NicoKeyFiles, type NicoKeys } from './helpers/nico-servers.js';

const A = 'IONPAYTEST';
const B = 'OTHERCLIENT';
const VERIFY_FIX = 'app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }))';

let keys: NicoKeys;
let files: NicoKeyFiles;

beforeAll(() => {
  ensureBuilt();
  keys = makeNicoKeys();
  files = writeNicoKeyFiles(keys);
}, 120_000);

afterAll(() => files.remove());

type Body = Readonly<Record<string, unknown>>;

/** The three endpoints, as a merchant configures them; `errors` records what onError got. */
function nicoEndpoints() {
  const tokenSecret = 'express stack test secret, at least 32 bytes long';
  const issuer = createAccessTokenIssuer({ secret: tokenSecret });
  const replayCache = createMemoryClaimStore(); // this app's own, shared by its three endpoints
  const errors: { endpoint: string; error: unknown; status: number; responseCode: string }[] = [];
  const onError = (endpoint: string) => (error: unknown, context: { status: number; responseCode: string }) => void errors.push({ endpoint, error, ...context });
  const clients: Record<string, TransactionClient> = Object.fromEntries(keys.clients.map((c) => [c.clientKey, { clientSecret: c.clientSecret, publicKey: c.publicKeyPem }]));
  const common = { clients, tokens: issuer, replayCache, externalIds: createMemoryClaimStore(), channelId: (partnerId: string) => `${partnerId}01` };
  const accessToken = createExpressMiddleware({
    clients: Object.fromEntries(keys.clients.map((c) => [c.clientKey, c.publicKeyPem])),
    tokenSecret,
    replayCache,
    onError: onError('token'),
  });
  const inquiry = createExpressTransactionMiddleware<Body>({
    ...common,
    serviceCode: '47',
    onError: onError('inquiry'),
    handle: ({ body }, { answer }) => (body.paymentCode === DEFAULT_PAY_NO ? answer.ok({ paymentCode: DEFAULT_PAY_NO, ...BILL }) : answer.fail('bill-not-found')),
  });
  const payment = createExpressTransactionMiddleware<Body>({
    ...common,
    serviceCode: '48',
    onError: onError('payment'),
    idempotency: { key: ({ body }) => body.paymentRequestId, store: createMemoryIdempotencyStore() },
    handle: ({ body }, { answer }) => answer.ok({ paymentCode: body.paymentCode, paymentRequestId: body.paymentRequestId, paidAmount: body.paidAmount }),
  });
  const routes: Readonly<Record<string, ExpressMiddleware>> = { [ACCESS_TOKEN_PATH]: accessToken, [INQUIRY_PATH]: inquiry, [PAYMENT_PATH]: payment };
  return { routes, errors, expiredToken: (clientKey: string) => issuer.issue(clientKey, Date.now() - 16 * 60_000) };
}

interface Stack {
  readonly origin: string;
  readonly errors: ReturnType<typeof nicoEndpoints>['errors'];
  expiredToken(clientKey: string): string;
  close(): Promise<void>;
}

/** Start an Express app; `setup` mounts the routes (and the parsers) in its own order. */
async function startStack(setup: (app: express.Express, routes: ReturnType<typeof nicoEndpoints>['routes']) => void): Promise<Stack> {
  const nico = nicoEndpoints();
  const app = express();
  setup(app, nico.routes);
  // The merchant's own JSON route, which needs the parsed body.
  app.post('/orders', (req, res) => {
    res.json({ received: (req.body as unknown) ?? null });
  });
  const server: http.Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    errors: nico.errors,
    expiredToken: nico.expiredToken,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fileOf = (client: string) => files.clients[client] as { privateKey: string; publicKey: string; clientSecret: string };

/** The probe with everything: both clients, HMAC and one RSA call per endpoint, an expired token. */
async function probe(stack: Stack): Promise<{ code: number | null; report: NicoProbeReport; stdout: string }> {
  const args = [
    'probe', stack.origin,
    '--private-key', fileOf(A).privateKey, '--client-key', A, '--client-secret-file', fileOf(A).clientSecret,
    '--signature', 'both', '--other-client-key', B, '--other-client-secret-file', fileOf(B).clientSecret,
    '--expired-token', stack.expiredToken(A), '--inquiry-service-code', '47', '--payment-service-code', '48', '--json',
  ];
  const result = await runCli(args, {}, 120_000);
  expect(result.stderr).toBe('');
  return { code: result.code, report: JSON.parse(result.stdout) as NicoProbeReport, stdout: result.stdout };
}

const label = (c: { endpoint: string; name: string }): string => `${c.endpoint} ${c.name}`;
const withVerdict = (report: NicoProbeReport, verdict: string): string[] => report.cases.filter((c) => c.verdict === verdict).map(label).sort();

async function post(url: string, body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text };
}

/** Every NICO route: app.all (every method answered, a GET gets the SNAP 405), then its error handler for the parser. */
function mountNico(app: express.Express, routes: ReturnType<typeof nicoEndpoints>['routes']): void {
  for (const [path, handler] of Object.entries(routes)) {
    app.all(path, handler);
    app.use(path, handler.bodyParserErrorHandler);
  }
}

describe('Express 5 with a global express.json({ verify }) that keeps req.rawBody', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack((app, routes) => {
      app.use(express.json({ verify: (req, _res, buf) => void ((req as { rawBody?: Buffer }).rawBody = buf) }));
      mountNico(app, routes);
    });
  });
  afterAll(() => stack?.close());

  it('passes every probe case on all three endpoints, the wrong method (GET) and the non-JSON body included', async () => {
    const { code, report } = await probe(stack);
    expect(withVerdict(report, 'fail')).toEqual([]);
    expect(withVerdict(report, 'warn')).toEqual([]);
    expect(withVerdict(report, 'skip')).toEqual([]);
    expect(report.summary.total).toBe(PROBE_CASES.length + 2 * TX_CASES.length);
    const passed = withVerdict(report, 'pass');
    for (const name of ['token wrong method (GET)', 'inquiry wrong method (GET)', 'payment wrong method (GET)', 'token non-JSON body', 'inquiry non-JSON body', 'payment non-JSON body']) {
      expect(passed).toContain(name);
    }
    expect(code).toBe(0);
    expect(stack.errors.filter((e) => e.error instanceof RawBodyError)).toEqual([]);
  }, 150_000);

  it('keeps express.json() working for the merchant\'s other routes', async () => {
    const answer = await post(`${stack.origin}/orders`, '{"order":"A-1","amount":10000}');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ received: { order: 'A-1', amount: 10000 } });
  });
});

describe('Express 5 with a global express.json() WITHOUT verify', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack((app, routes) => {
      app.use(express.json());
      mountNico(app, routes);
    });
  });
  afterAll(() => stack?.close());

  it.each([
    ['token', ACCESS_TOKEN_PATH, '5007300'],
    ['inquiry', INQUIRY_PATH, '5004700'],
    ['payment', PAYMENT_PATH, '5004800'],
  ] as const)('%s: a JSON call is answered a SNAP 500 (JSON, not HTML), and onError names the route and the one-line fix', async (endpoint, path, responseCode) => {
    const before = stack.errors.length;
    const answer = await post(stack.origin + path, '{"grantType":"client_credentials","additionalInfo":{}}');
    expect(answer.status).toBe(500);
    expect(answer.contentType).toBe('application/json');
    expect(JSON.parse(answer.text)).toEqual({ responseCode, responseMessage: 'General Error' });
    const reported = stack.errors.slice(before);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ endpoint, status: 500, responseCode });
    const error = reported[0]?.error as RawBodyError;
    expect(error).toBeInstanceOf(RawBodyError);
    expect(error.route).toBe(path);
    expect(error.fix).toBe(VERIFY_FIX);
    expect(error.message).toBe(
      `nicepay-nico: POST ${path}: express.json() ran before this handler and parsed the body without keeping the raw bytes the signature covers. ` +
        `Fix, one line: ${VERIFY_FIX} (NestJS: NestFactory.create(AppModule, { rawBody: true })), or register this route before app.use(express.json()).`,
    );
  });

  it('still answers a GET with the SNAP 405 and a non-JSON body with the SNAP 400', async () => {
    const get = await fetch(stack.origin + INQUIRY_PATH, { signal: AbortSignal.timeout(10_000) });
    expect(get.status).toBe(405);
    expect(await get.json()).toEqual({ responseCode: '4054700', responseMessage: 'Requested Function Is Not Supported' });
    const form = await post(stack.origin + PAYMENT_PATH, 'paymentCode=8880012345');
    expect(form.status).toBe(400);
    expect(JSON.parse(form.text)).toEqual({ responseCode: '4004800', responseMessage: 'Bad Request' });
  });

  it('fails the probe on the valid calls, each answered 500 with the SNAP body', async () => {
    const { code, report } = await probe(stack);
    expect(code).toBe(1);
    const valid = report.cases.find((c) => c.endpoint === 'token' && c.name === 'valid request');
    expect(valid?.verdict).toBe('fail');
    expect(valid?.problems.join('\n')).toMatch(/500/);
    expect(withVerdict(report, 'pass')).toContain('token wrong method (GET)');
  }, 150_000);
});

describe('Express 5 with the NICO routes registered before app.use(express.json())', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack((app, routes) => {
      for (const [path, handler] of Object.entries(routes)) app.all(path, handler);
      app.use(express.json());
    });
  });
  afterAll(() => stack?.close());

  it('passes every probe case, and the other routes still get parsed JSON', async () => {
    const { code, report } = await probe(stack);
    expect(withVerdict(report, 'fail')).toEqual([]);
    expect(withVerdict(report, 'warn')).toEqual([]);
    expect(code).toBe(0);
    const answer = await post(`${stack.origin}/orders`, '{"order":"A-2"}');
    expect(JSON.parse(answer.text)).toEqual({ received: { order: 'A-2' } });
  }, 150_000);
});
