/**
 * The Node and Fetch adapters over real HTTP (a node:http server on 127.0.0.1:0) and with
 * real `Request` objects: how they read the body (chunks, limits, aborts, bodies a
 * middleware already read) and what they answer.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFetchHandler } from '../src/adapters/fetch.js';
import {
  createExpressMiddleware,
  createExpressTransactionMiddleware,
  createNodeHandler,
  createNodeTransactionHandler,
  DEFAULT_BODY_TIMEOUT_MS,
  RawBodyError,
} from '../src/adapters/node.js';
import { createAccessTokenIssuer, formatTimestamp, parseTimestamp, type AccessTokenHandlerOptions } from '../src/index.js';
import { ACCESS_TOKEN_BODY, makeKeys, signedHeaders, uniqueTimestamp } from './helpers/nicepay.js';

const keys = makeKeys();
const CLIENT = 'IONPAYTEST';
const SECRET = 'adapter-test-secret-of-at-least-32-bytes';
const PATH = '/api/v1.0/access-token/b2b';
const options: AccessTokenHandlerOptions = { clients: { [CLIENT]: keys.publicKeyPem }, tokenSecret: SECRET };
/** A valid body with multi-byte UTF-8 characters, to split inside a character. */
const UTF8_BODY = '{"grantType":"client_credentials","additionalInfo":{"note":"Pembayaran – Toko Ümit ✓ 🙂"}}';

const freshHeaders = () => signedHeaders(keys.privateKey, CLIENT, uniqueTimestamp());
/** The one-line fix the messages give for express.json(). */
const VERIFY_FIX = 'app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }))';

// ---------------------------------------------------------------------------------------
// A node:http server whose listener each test sets

let current: http.RequestListener = (_req, res) => {
  res.writeHead(500).end('no listener set');
};
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => current(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  server.closeAllConnections(); // no keep-alive connection carries over to the next test
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: Record<string, unknown>;
}

interface RawRequest {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string | number>;
  /** Written one `write()` each, waiting `gapMs` after each one. */
  readonly chunks?: readonly (string | Uint8Array)[];
  readonly gapMs?: number;
  /** `false`: never end the request body (the response must come anyway). */
  readonly end?: boolean;
}

/** One request with node:http `request()`, bounded by a client-side timeout. */
function rawRequest(request: RawRequest, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    // agent: false, a new connection each time: no pooled socket outlives a test.
    const req = http.request({ host: '127.0.0.1', port, agent: false, method: request.method ?? 'POST', path: request.path ?? PATH, headers: request.headers ?? {} });
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
        if (request.end === false) req.destroy();
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`not JSON (status ${res.statusCode}): ${text}`));
        }
      });
    });
    void (async () => {
      for (const chunk of request.chunks ?? []) {
        await new Promise<void>((done) => req.write(chunk, () => done()));
        if (request.gapMs) await new Promise((done) => setTimeout(done, request.gapMs));
      }
      if (request.end !== false) req.end();
    })().catch(reject);
  });
}

function expectToken(answer: RawAnswer): void {
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  expect(answer.json).toMatchObject({ responseCode: '2007300', tokenType: 'Bearer', expiresIn: '900' });
  expect(createAccessTokenIssuer({ secret: SECRET }).verify(answer.json.accessToken as string, Date.now(), CLIENT)).toMatchObject({ valid: true });
  expect(answer.headers['content-type']).toBe('application/json');
  expect(() => parseTimestamp(answer.headers['x-timestamp'] as string)).not.toThrow();
}

function expectSnapError(answer: RawAnswer, status: number, responseCode: string): void {
  expect(answer.status, JSON.stringify(answer.json)).toBe(status);
  expect(answer.json.responseCode).toBe(responseCode);
  expect(answer.json).not.toHaveProperty('accessToken');
  expect(answer.headers['content-type']).toBe('application/json');
}

const validRequest = (): RawRequest => ({ headers: freshHeaders(), chunks: [ACCESS_TOKEN_BODY] });

interface DripAnswer extends RawAnswer {
  /** Body bytes written before the answer came. */
  readonly bytesSent: number;
  /** Time from the answer to the server closing the connection, ms (Infinity: not within 2 s). */
  readonly closedMs: number;
}

/**
 * A slow client: sends the headers (with the body's Content-Length), then one byte of the
 * body every `everyMs`, until an answer comes; then waits (at most 2 s) for the server to
 * close the connection.
 */
function dripRequest(body: string, everyMs: number, path = PATH, headers: Record<string, string> = freshHeaders()): Promise<DripAnswer> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const req = http.request({ host: '127.0.0.1', port, agent: false, method: 'POST', path, headers: { ...headers, 'Content-Length': bytes.length } });
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < bytes.length) req.write(bytes.subarray(sent, ++sent));
    }, everyMs);
    const timer = setTimeout(() => {
      clearInterval(drip);
      req.destroy(new Error('no answer within 5000 ms'));
    }, 5000);
    req.on('error', (error) => {
      clearInterval(drip);
      clearTimeout(timer);
      if (!answered) reject(error); // after the answer: the write into the closed connection
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      clearInterval(drip);
      clearTimeout(timer);
      const bytesSent = sent;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const at = Date.now();
        const socket = req.socket as NonNullable<typeof req.socket>;
        const done = (closedMs: number) => {
          req.destroy();
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) as Record<string, unknown>, bytesSent, closedMs });
          } catch {
            reject(new Error(`not JSON (status ${res.statusCode}): ${text}`));
          }
        };
        if (socket.destroyed || socket.readyState === 'closed') return done(0);
        const wait = setTimeout(() => done(Number.POSITIVE_INFINITY), 2000);
        socket.once('close', () => {
          clearTimeout(wait);
          done(Date.now() - at);
        });
      });
    });
    req.flushHeaders();
  });
}

/** Split bytes into pieces of `size`. */
function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** Settles with the handler's promise, or rejects when it has not settled within `ms`. */
function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Read a node request stream to its end. */
async function drain(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------

describe('createNodeHandler over real HTTP', () => {
  it('reads a body that arrives in many small chunks, split inside UTF-8 characters', async () => {
    const handler = createNodeHandler(options);
    let dataEvents = 0;
    current = (req, res) => {
      req.on('data', () => dataEvents++); // counts what the adapter sees, without changing it
      void handler(req, res);
    };
    const bytes = new TextEncoder().encode(UTF8_BODY);
    const chunks = pieces(bytes, 7);
    expect(chunks.length).toBeGreaterThan(10);
    // Some pieces end inside a multi-byte character: decoding chunk by chunk would break it.
    expect(chunks.map((chunk) => new TextDecoder().decode(chunk)).join('')).not.toBe(UTF8_BODY);
    expectToken(await rawRequest({ headers: freshHeaders(), chunks, gapMs: 2 }));
    expect(dataEvents).toBeGreaterThan(2);
  });

  it('answers 400 4007300 for a body over maxBodyBytes (1024), and still answers after', async () => {
    const handler = createNodeHandler({ ...options, maxBodyBytes: 1024 });
    current = (req, res) => void handler(req, res);
    const big = new Uint8Array(1024 * 1024).fill(0x20); // 1 MiB, with Content-Length
    const answer = await rawRequest({ headers: { ...freshHeaders(), 'Content-Length': big.length }, chunks: [big] });
    expectSnapError(answer, 400, '4007300');
    expect(answer.json.responseMessage).toBe('Bad Request');
    expectToken(await rawRequest(validRequest()));
  });

  it('answers an oversized body without waiting for the rest of it (the client never ends it)', async () => {
    const handler = createNodeHandler({ ...options, maxBodyBytes: 1024 });
    current = (req, res) => void handler(req, res);
    // 4 KiB of a declared 1 MiB, then nothing: the response must not wait for the rest.
    const answer = await rawRequest({ headers: { ...freshHeaders(), 'Content-Length': 1024 * 1024 }, chunks: [new Uint8Array(4096).fill(0x20)], end: false });
    expectSnapError(answer, 400, '4007300');
  });

  it('survives a client that aborts mid-body: the handler settles, the next request gets 200', async () => {
    const handler = createNodeHandler(options);
    const settled: Promise<void>[] = [];
    let firstData!: () => void;
    const gotData = new Promise<void>((resolve) => (firstData = resolve));
    current = (req, res) => {
      req.once('data', () => firstData());
      settled.push(handler(req, res));
    };
    const aborted = http.request({ host: '127.0.0.1', port, agent: false, method: 'POST', path: PATH, headers: { ...freshHeaders(), 'Content-Length': 1000 } });
    const clientError = new Promise<Error>((resolve) => aborted.on('error', resolve));
    aborted.write('{"grantType":"client_credentials","additionalInfo":{"pad":"');
    await withinMs(gotData, 5000, 'the first body chunk');
    aborted.destroy();
    await clientError;
    expect(settled).toHaveLength(1);
    await withinMs(settled[0] as Promise<void>, 5000, 'the handler of the aborted request');
    expectToken(await rawRequest(validRequest()));
  });

  it('settles for a request that was aborted before the adapter got it', async () => {
    const handler = createNodeHandler(options);
    let settled: Promise<void> | undefined;
    let handed!: () => void;
    const wasHanded = new Promise<void>((resolve) => (handed = resolve));
    current = (req, res) => {
      // A slow middleware: the client is gone before the adapter sees the request.
      req.once('close', () => {
        settled = handler(req, res);
        handed();
      });
    };
    const aborted = http.request({ host: '127.0.0.1', port, agent: false, method: 'POST', path: PATH, headers: { ...freshHeaders(), 'Content-Length': 1000 } });
    aborted.on('error', () => undefined);
    aborted.write('{"grantType":');
    setTimeout(() => aborted.destroy(), 20);
    await withinMs(wasHanded, 5000, 'the close of the aborted request');
    await withinMs(settled as Promise<void>, 5000, 'the handler of the aborted request');
  });

  it.each([
    ['a Buffer', (raw: Buffer) => raw],
    ['a string', (raw: Buffer) => raw.toString('utf8')],
  ] as const)('uses a raw body a middleware already read into req.body (%s)', async (_kind, toBody) => {
    const handler = createNodeHandler(options);
    current = (req, res) => {
      void drain(req).then((raw) => {
        // The stream has ended: the adapter must take req.body, not wait for the stream.
        (req as { body?: unknown }).body = toBody(raw);
        return handler(req, res);
      });
    };
    expectToken(await rawRequest({ headers: freshHeaders(), chunks: [UTF8_BODY] }));
  });

  it('checks req.body, not the stream, when a raw body was given', async () => {
    const handler = createNodeHandler(options);
    current = (req, res) => {
      void drain(req).then(() => {
        (req as { body?: unknown }).body = Buffer.from('{"grantType":"password"}');
        return handler(req, res);
      });
    };
    const answer = await rawRequest(validRequest());
    expectSnapError(answer, 400, '4007301');
    expect(answer.json.responseMessage).toBe('Invalid Field Format {grantType}');
  });

  it('answers 500 5007300 for a parsed body without its raw bytes; onError gets a RawBodyError naming the route and the one-line fix', async () => {
    const onError = vi.fn();
    const handler = createNodeHandler({ ...options, onError });
    current = (req, res) => {
      void drain(req).then((raw) => {
        Object.assign(req, { body: JSON.parse(raw.toString('utf8')) as unknown, _body: true }); // what express.json() leaves
        return handler(req, res);
      });
    };
    const answer = await rawRequest({ ...validRequest(), path: `${PATH}?from=test` });
    expectSnapError(answer, 500, '5007300');
    expect(answer.json.responseMessage).toBe('General Error');
    expect(onError).toHaveBeenCalledTimes(1);
    const [error, context] = onError.mock.calls[0] as [unknown, unknown];
    expect(error).toBeInstanceOf(RawBodyError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ reason: 'parsed', route: PATH, fix: VERIFY_FIX });
    const message = (error as Error).message;
    expect(message).toContain(`POST ${PATH}:`); // the route, without its query
    expect(message).not.toContain('from=test');
    expect(message).toContain('express.json() ran before this handler');
    expect(message).toContain(`Fix, one line: ${VERIFY_FIX}`);
    expect(message).toContain('NestFactory.create(AppModule, { rawBody: true })');
    expect(context).toEqual({ status: 500, responseCode: '5007300' });
  });

  it('names express.urlencoded() when the parsed body was a form', async () => {
    const onError = vi.fn();
    const handler = createNodeHandler({ ...options, onError });
    current = (req, res) => {
      void drain(req).then(() => {
        Object.assign(req, { body: { grantType: 'client_credentials' }, _body: true });
        return handler(req, res);
      });
    };
    const headers = { ...freshHeaders(), 'Content-Type': 'application/x-www-form-urlencoded' };
    expectSnapError(await rawRequest({ headers, chunks: ['grantType=client_credentials'] }), 500, '5007300');
    expect((onError.mock.calls[0]?.[0] as RawBodyError).fix).toBe('app.use(express.urlencoded({ verify: (req, _res, buf) => { req.rawBody = buf; } }))');
  });

  it('answers 500 5007300 (not a hang) when a middleware read the stream and left no req.body', async () => {
    const onError = vi.fn();
    const handler = createNodeHandler({ ...options, onError });
    current = (req, res) => {
      void drain(req).then(() => handler(req, res));
    };
    expectSnapError(await rawRequest(validRequest()), 500, '5007300');
    const error = onError.mock.calls[0]?.[0] as RawBodyError;
    expect(error).toBeInstanceOf(RawBodyError);
    expect(error.reason).toBe('consumed');
    expect(error.message).toContain(`POST ${PATH}: a middleware before this handler read the body`);
    expect(error.message).toContain(VERIFY_FIX);
  });

  it.each([
    ['a Buffer', (raw: Buffer): unknown => raw],
    ['a string', (raw: Buffer): unknown => raw.toString('utf8')],
    ['a Uint8Array', (raw: Buffer): unknown => new Uint8Array(raw)],
  ] as const)('uses req.rawBody kept by a verify hook (%s), next to the parsed req.body', async (_kind, toRaw) => {
    const handler = createNodeHandler(options);
    current = (req, res) => {
      void drain(req).then((raw) => {
        // What express.json({ verify: (req, _res, buf) => { req.rawBody = buf } }) leaves.
        Object.assign(req, { rawBody: toRaw(raw), body: JSON.parse(raw.toString('utf8')) as unknown });
        return handler(req, res);
      });
    };
    expectToken(await rawRequest({ headers: freshHeaders(), chunks: [UTF8_BODY] }));
  });

  it('takes req.rawBody over req.body: the bytes signed are the ones checked', async () => {
    const handler = createNodeHandler(options);
    current = (req, res) => {
      void drain(req).then((raw) => {
        Object.assign(req, { rawBody: Buffer.from('{"grantType":"password"}'), body: raw });
        return handler(req, res);
      });
    };
    const answer = await rawRequest(validRequest());
    expectSnapError(answer, 400, '4007301');
  });

  it('takes a parsed body of a request with Content-Length: 0 as the empty body (400 4007300, not 500)', async () => {
    const onError = vi.fn();
    const handler = createNodeHandler({ ...options, onError });
    current = (req, res) => {
      void drain(req).then(() => {
        Object.assign(req, { body: {}, _body: true }); // express.json() makes {} of an empty body
        return handler(req, res);
      });
    };
    const answer = await rawRequest({ headers: { ...freshHeaders(), 'Content-Length': 0 } });
    expectSnapError(answer, 400, '4007300');
    expect(onError.mock.calls[0]?.[0]).not.toBeInstanceOf(RawBodyError);
  });

  it('answers 405 4057300 to a GET whose body a parser already took', async () => {
    const handler = createNodeHandler(options);
    current = (req, res) => {
      void drain(req).then(() => {
        Object.assign(req, { body: { any: 'thing' }, _body: true });
        return handler(req, res);
      });
    };
    expectSnapError(await rawRequest({ method: 'GET', headers: { ...freshHeaders(), 'Content-Length': 2 }, chunks: ['{}'] }), 405, '4057300');
  });

  it('answers 400 4007300 with Connection: close to a client that drips its body slower than bodyTimeoutMs', async () => {
    const onError = vi.fn();
    const handler = createNodeHandler({ ...options, onError, bodyTimeoutMs: 300 });
    const settled: Promise<void>[] = [];
    current = (req, res) => void settled.push(handler(req, res));
    const started = Date.now();
    const answer = await dripRequest(ACCESS_TOKEN_BODY, 100);
    const elapsed = Date.now() - started;
    expectSnapError(answer, 400, '4007300');
    expect(answer.json.responseMessage).toBe('Bad Request');
    expect(answer.headers.connection).toBe('close');
    expect(answer.bytesSent).toBeLessThan(ACCESS_TOKEN_BODY.length); // answered before the body was complete
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
    expect(answer.closedMs).toBeLessThan(1000); // the server closed the connection after its answer
    await withinMs(settled[0] as Promise<void>, 1000, 'the handler');
    const [error, context] = onError.mock.calls[0] as [Error, unknown];
    expect(error.message).toMatch(new RegExp(`^nicepay-nico: POST ${PATH.replace(/[.]/g, '\\.')}: the request body did not arrive within 300 ms \\(bodyTimeoutMs; \\d+ bytes received\\)$`));
    expect(context).toEqual({ status: 400, responseCode: '4007300' });
    expectToken(await rawRequest(validRequest())); // and the next request is served
  });

  it('answers a body that arrives within bodyTimeoutMs, however slowly it starts', async () => {
    const handler = createNodeHandler({ ...options, bodyTimeoutMs: 2000 });
    current = (req, res) => void handler(req, res);
    const chunks = pieces(new TextEncoder().encode(ACCESS_TOKEN_BODY), 10);
    expectToken(await rawRequest({ headers: freshHeaders(), chunks, gapMs: 50 }));
  });

  it('checks bodyTimeoutMs at creation, default 10 s', () => {
    expect(DEFAULT_BODY_TIMEOUT_MS).toBe(10_000);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '5000']) {
      expect(() => createNodeHandler({ ...options, bodyTimeoutMs: bad as number })).toThrow(/^createNodeHandler: bodyTimeoutMs must be a positive number of milliseconds/);
    }
    expect(() => createExpressMiddleware({ ...options, bodyTimeoutMs: 1 })).not.toThrow();
  });

  it('uses the endpoint\'s service code for its own refusals: a slow inquiry body is 400 4004700', async () => {
    const issuer = createAccessTokenIssuer({ secret: SECRET });
    const inquiry = createNodeTransactionHandler({
      serviceCode: '47',
      clients: { [CLIENT]: { clientSecret: 'x'.repeat(64) } },
      tokens: issuer,
      bodyTimeoutMs: 200,
      handle: (_verified, { answer }) => answer.ok(),
    });
    current = (req, res) => void inquiry(req, res);
    const answer = await dripRequest('{"paymentCode":"8880012345"}', 100, '/api/v1.0/cvs/inquiry');
    expectSnapError(answer, 400, '4004700');
    expect(answer.headers['x-timestamp']).toBeDefined();
  });

  it('answers 405 4057300 for a GET', async () => {
    const handler = createNodeHandler(options);
    current = (req, res) => void handler(req, res);
    const answer = await rawRequest({ method: 'GET', headers: freshHeaders() });
    expectSnapError(answer, 405, '4057300');
    expect(answer.headers['x-client-key']).toBe(CLIENT);
  });
});

describe('createNodeHandler never rejects', () => {
  it.each(['rawBody', 'body'] as const)('a req.%s getter that throws: SNAP 500 5007300, onError and onEvent once, the promise resolves', async (prop) => {
    const onError = vi.fn();
    const onEvent = vi.fn();
    const handler = createNodeHandler({ ...options, onError, onEvent });
    let settled: Promise<unknown> = Promise.resolve();
    current = (req, res) => {
      Object.defineProperty(req, prop, {
        get() {
          throw new Error(`lazy ${prop} failed`);
        },
      });
      settled = handler(req, res);
    };
    const answer = await rawRequest(validRequest());
    expectSnapError(answer, 500, '5007300');
    expect(answer.json).toEqual({ responseCode: '5007300', responseMessage: 'General Error' });
    await expect(withinMs(settled, 1000, 'the listener')).resolves.toBeUndefined();
    expect(onError).toHaveBeenCalledTimes(1);
    expect((onError.mock.calls[0]?.[0] as Error).message).toBe(`lazy ${prop} failed`);
    expect(onEvent).toHaveBeenCalledTimes(1);
  });

  it('a res.writeHead that throws: the connection is closed, the promise resolves', async () => {
    const handler = createNodeHandler({ ...options, onError: () => undefined });
    let settled: Promise<unknown> = Promise.resolve();
    current = (req, res) => {
      res.writeHead = () => {
        throw new Error('writeHead failed');
      };
      settled = handler(req, res);
    };
    await expect(rawRequest(validRequest())).rejects.toThrow(/socket hang up|ECONNRESET/);
    await expect(withinMs(settled, 1000, 'the listener')).resolves.toBeUndefined();
  });

  it('a request whose headers cannot be read, and a response without destroy(): still resolves', async () => {
    const handler = createNodeHandler({ ...options, onError: () => undefined });
    const req = {
      method: 'POST',
      url: PATH,
      get headers(): never {
        throw new Error('headers failed');
      },
      rawBody: ACCESS_TOKEN_BODY,
      on: () => undefined,
      removeListener: () => undefined,
    };
    const written: unknown[] = [];
    await expect(handler(req, { writeHead: (status) => written.push(status), end: (body) => written.push(JSON.parse(body)) })).resolves.toBeUndefined();
    expect(written).toEqual([500, { responseCode: '5007300', responseMessage: 'General Error' }]);
    const throwing = () => {
      throw new Error('no');
    };
    await expect(handler(req, { writeHead: throwing, end: () => undefined })).resolves.toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------

/** The parts of Express 5 used here (typed loosely: the handlers are the package's, not Express's). */
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => void;
interface ExpressApp extends http.RequestListener {
  use(...handlers: unknown[]): void;
  post(path: string, ...handlers: unknown[]): void;
  all(path: string, ...handlers: unknown[]): void;
}
interface ExpressModule {
  (): ExpressApp;
  json(options?: { verify?: (req: http.IncomingMessage & { rawBody?: unknown }, res: http.ServerResponse, buf: Buffer) => void; limit?: number }): Handler;
  raw(options: { type: string }): Handler;
  text(options: { type: string }): Handler;
}
const express = createRequire(import.meta.url)('express') as ExpressModule;
/** express.json() with the verify hook that keeps the raw body. */
const jsonKeepingRaw = (toRaw: (buf: Buffer) => unknown = (buf) => buf, limit?: number) =>
  express.json({ verify: (req, _res, buf) => void (req.rawBody = toRaw(buf)), ...(limit === undefined ? {} : { limit }) });

describe('createExpressMiddleware in Express 5', () => {
  /** An app whose error handler records what reached it. */
  function appWith(setup: (app: ExpressApp) => void): { app: ExpressApp; errors: unknown[] } {
    const app = express();
    const errors: unknown[] = [];
    setup(app);
    app.use((error: unknown, _req: http.IncomingMessage, res: http.ServerResponse, _next: unknown) => {
      errors.push(error);
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"recorded":true}');
    });
    current = app;
    return { app, errors };
  }

  it('with no body parser on the route: 200', async () => {
    const { errors } = appWith((app) => app.post(PATH, createExpressMiddleware(options)));
    expectToken(await rawRequest(validRequest()));
    expect(errors).toEqual([]);
  });

  it.each([
    ['a Buffer', (buf: Buffer): unknown => buf],
    ['a string', (buf: Buffer): unknown => buf.toString('utf8')],
  ] as const)('after a global express.json({ verify }) that keeps req.rawBody as %s: 200', async (_kind, toRaw) => {
    const { errors } = appWith((app) => {
      app.use(jsonKeepingRaw(toRaw));
      app.all(PATH, createExpressMiddleware(options));
    });
    expectToken(await rawRequest({ headers: freshHeaders(), chunks: [UTF8_BODY] }));
    expect(errors).toEqual([]);
  });

  it('after a global express.json() without verify: its own SNAP 500 5007300 (no next(error), no HTML), onError names the route and the fix', async () => {
    const onError = vi.fn();
    const { errors } = appWith((app) => {
      app.use(express.json());
      app.all(PATH, createExpressMiddleware({ ...options, onError }));
    });
    const answer = await rawRequest(validRequest());
    expectSnapError(answer, 500, '5007300');
    expect(answer.json).toEqual({ responseCode: '5007300', responseMessage: 'General Error' });
    expect(errors).toEqual([]); // the app's error handler was not involved
    const error = onError.mock.calls[0]?.[0] as RawBodyError;
    expect(error).toBeInstanceOf(RawBodyError);
    expect(error.message).toContain(`POST ${PATH}: express.json() ran before this handler`);
    expect(error.message).toContain(`Fix, one line: ${VERIFY_FIX}`);
  });

  it('without onError, console.error prints the same message, route and fix included, once per route', async () => {
    const print = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      appWith((app) => {
        app.use(express.json());
        app.all(PATH, createExpressMiddleware(options));
      });
      expectSnapError(await rawRequest(validRequest()), 500, '5007300');
      expectSnapError(await rawRequest(validRequest()), 500, '5007300');
      const printed = print.mock.calls.map((args) => args.map(String).join(' ')).filter((line) => line.includes('ran before this handler'));
      expect(printed).toHaveLength(1);
      expect(printed[0]).toContain(`POST ${PATH}: express.json() ran before this handler`);
      expect(printed[0]).toContain(`Fix, one line: ${VERIFY_FIX}`);
    } finally {
      print.mockRestore();
    }
  });

  it('on the inquiry route, the message names the inquiry route (and 500 5004700)', async () => {
    const onError = vi.fn();
    const INQUIRY = '/api/v1.0/cvs/inquiry';
    appWith((app) => {
      app.use(express.json());
      app.all(
        INQUIRY,
        createExpressTransactionMiddleware({
          serviceCode: '47',
          clients: { [CLIENT]: { clientSecret: 'x'.repeat(64) } },
          tokens: createAccessTokenIssuer({ secret: SECRET }),
          onError,
          handle: (_verified, { answer }) => answer.ok(),
        }),
      );
    });
    const answer = await rawRequest({ path: INQUIRY, headers: { 'Content-Type': 'application/json' }, chunks: ['{"paymentCode":"8880012345"}'] });
    expectSnapError(answer, 500, '5004700');
    const message = (onError.mock.calls[0]?.[0] as Error).message;
    expect(message).toContain(`POST ${INQUIRY}:`);
    expect(message).not.toContain('access-token');
  });

  it('answers a GET 405 4057300 with app.all, after express.json()', async () => {
    appWith((app) => {
      app.use(express.json());
      app.all(PATH, createExpressMiddleware(options));
    });
    expectSnapError(await rawRequest({ method: 'GET', headers: freshHeaders() }), 405, '4057300');
  });

  it('without bodyParserErrorHandler, a body express.json() refuses never reaches the route (the problem it solves)', async () => {
    const { errors } = appWith((app) => {
      app.use(jsonKeepingRaw());
      app.all(PATH, createExpressMiddleware(options));
    });
    const answer = await rawRequest({ headers: freshHeaders(), chunks: ['grantType=client_credentials'] });
    expect(answer.json).toEqual({ recorded: true });
    expect((errors[0] as { type?: unknown }).type).toBe('entity.parse.failed');
  });

  it.each([
    ['not JSON', 'entity.parse.failed', () => jsonKeepingRaw(), 'grantType=client_credentials', /could not parse the body \(entity\.parse\.failed\)$/],
    ['JSON but not strict (a number)', 'entity.parse.failed', () => express.json(), '12345', /\(entity\.parse\.failed\)$/],
    ['over the parser\'s limit', 'entity.too.large', () => jsonKeepingRaw(undefined, 100), ACCESS_TOKEN_BODY.replace('{}', `{"pad":"${'x'.repeat(200)}"}`), /larger than its limit of 100 bytes \(entity\.too\.large\)$/],
  ] as const)('bodyParserErrorHandler answers a body express.json() refused (%s): 400 4007300 SNAP JSON', async (_name, type, parser, body, detail) => {
    const onError = vi.fn();
    const { errors } = appWith((app) => {
      const accessToken = createExpressMiddleware({ ...options, onError });
      app.use(parser());
      app.all(PATH, accessToken);
      app.use(PATH, accessToken.bodyParserErrorHandler);
    });
    const answer = await rawRequest({ headers: freshHeaders(), chunks: [body] });
    expectSnapError(answer, 400, '4007300');
    expect(answer.json.responseMessage).toBe('Bad Request');
    expect(errors).toEqual([]);
    const [error, context] = onError.mock.calls[0] as [Error, unknown];
    expect(error.message).toMatch(new RegExp(`^nicepay-nico: POST ${PATH.replace(/[.]/g, '\\.')}: the body parser before this handler `));
    expect(error.message).toMatch(detail);
    expect(error.message).toContain(type);
    expect(context).toEqual({ status: 400, responseCode: '4007300' });
    // The app still answers: a token with the verify hook; without it, the raw body is missing.
    const next = await rawRequest(validRequest());
    if (type === 'entity.parse.failed' && body === '12345') expectSnapError(next, 500, '5007300');
    else expectToken(next);
  });

  it.each([
    ['a 4xx status (403, no type)', Object.assign(new Error('forbidden'), { status: 403 }), 400, '4007300', '(HTTP 403)'],
    ['a typed error (request.aborted)', Object.assign(new Error('request aborted'), { type: 'request.aborted', status: 400 }), 400, '4007300', '(request.aborted)'],
    ['any other error', new Error('a middleware bug'), 500, '5007300', 'a middleware bug'],
  ] as const)('bodyParserErrorHandler answers every error as SNAP: %s', async (_name, thrown, status, code, inMessage) => {
    const onError = vi.fn();
    const onEvent = vi.fn();
    const accessToken = createExpressMiddleware({ ...options, onError, onEvent });
    const { errors } = appWith((app) => {
      app.use(PATH, (_req: unknown, _res: unknown, next: (error: unknown) => void) => next(thrown));
      app.all(PATH, accessToken);
      app.use(PATH, accessToken.bodyParserErrorHandler);
    });
    expectSnapError(await rawRequest(validRequest()), status, code);
    expect(errors).toEqual([]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect((onError.mock.calls[0]?.[0] as Error).message).toContain(inMessage);
    expect(onEvent).toHaveBeenCalledTimes(1);
    expect(accessToken.bodyParserErrorHandler.length).toBe(4); // Express calls it with errors only for length 4
  });

  it('bodyParserErrorHandler answers a gzip body that does not inflate, and a verify hook that throws: 400 4007300', async () => {
    const onError = vi.fn();
    const { errors } = appWith((app) => {
      const accessToken = createExpressMiddleware({ ...options, onError });
      app.use(
        express.json({
          verify: (req, _res, buf) => {
            if (req.headers['x-fail-verify'] === '1') throw new Error(`verify refused ${buf.length} bytes`);
            req.rawBody = buf;
          },
        }),
      );
      app.all(PATH, accessToken);
      app.use(PATH, accessToken.bodyParserErrorHandler);
    });
    const gzip = await rawRequest({ headers: { ...freshHeaders(), 'Content-Encoding': 'gzip' }, chunks: [Buffer.from('not gzip at all, garbage')] });
    expectSnapError(gzip, 400, '4007300');
    const verify = await rawRequest({ headers: { ...freshHeaders(), 'X-Fail-Verify': '1' }, chunks: [ACCESS_TOKEN_BODY] });
    expectSnapError(verify, 400, '4007300');
    expect(errors).toEqual([]);
    const messages = onError.mock.calls.map(([error]) => (error as Error).message);
    expect(messages).toHaveLength(2);
    expect(messages[1]).toContain('(entity.verify.failed)');
    expect(messages.join('\n')).not.toContain('verify refused'); // nothing of the hook's message (or the body) is quoted
    expectToken(await rawRequest(validRequest()));
  });

  it('a req.body getter that throws under Express: SNAP 500 5007300, never next(error)', async () => {
    const onError = vi.fn();
    const { errors } = appWith((app) => {
      app.use((req: http.IncomingMessage, _res: unknown, next: () => void) => {
        Object.defineProperty(req, 'body', {
          get() {
            throw new Error('boom body');
          },
        });
        next();
      });
      app.all(PATH, createExpressMiddleware({ ...options, onError }));
    });
    expectSnapError(await rawRequest(validRequest()), 500, '5007300');
    expect(errors).toEqual([]);
    expect((onError.mock.calls[0]?.[0] as Error).message).toBe('boom body');
  });

  it('bodyParserErrorHandler takes a parser error wrapped as cause (NestJS 12), and a GET gets 405', async () => {
    const accessToken = createExpressMiddleware(options);
    appWith((app) => {
      app.use(PATH, (_req: unknown, _res: unknown, next: (error: unknown) => void) =>
        next(Object.assign(new Error('Bad Request'), { status: 400, cause: Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed', status: 400 }) })),
      );
      app.use(PATH, accessToken.bodyParserErrorHandler);
    });
    expectSnapError(await rawRequest(validRequest()), 400, '4007300');
    expectSnapError(await rawRequest({ method: 'GET', headers: freshHeaders() }), 405, '4057300');
  });

  it.each([
    ['express.raw', () => express.raw({ type: '*/*' })],
    ['express.text', () => express.text({ type: '*/*' })],
  ] as const)('with %s({ type: "*/*" }) on the route: 200', async (_name, parser) => {
    const { errors } = appWith((app) => app.post(PATH, parser(), createExpressMiddleware(options)));
    expectToken(await rawRequest({ headers: freshHeaders(), chunks: [UTF8_BODY] }));
    expect(errors).toEqual([]);
  });

  it('with a middleware that read the stream and left no req.body: its own SNAP 500, not a hang', async () => {
    const onError = vi.fn();
    const { errors } = appWith((app) => {
      app.use((req: http.IncomingMessage, _res: unknown, next: () => void) => void drain(req).then(() => next()));
      app.post(PATH, createExpressMiddleware({ ...options, onError }));
    });
    expectSnapError(await rawRequest(validRequest()), 500, '5007300');
    expect(errors).toEqual([]);
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(RawBodyError);
    expect((onError.mock.calls[0]?.[0] as Error).message).toContain('a middleware before this handler read the body');
  });
});

// ---------------------------------------------------------------------------------------

describe('createFetchHandler with Request objects', () => {
  const URL_ = `https://merchant.example${PATH}`;
  /** `duplex` is required by Node for a stream body; the DOM typings do not know it yet. */
  const streamRequest = (body: ReadableStream<Uint8Array>, headers = freshHeaders()) =>
    new Request(URL_, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);

  async function answerOf(response: Response) {
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
  }

  it('reads a stream body of several chunks, split inside UTF-8 characters: 200', async () => {
    const chunks = pieces(new TextEncoder().encode(UTF8_BODY), 5);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[pulled++];
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await answerOf(await createFetchHandler(options)(streamRequest(body)));
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    expect(response.json).toMatchObject({ responseCode: '2007300', tokenType: 'Bearer', expiresIn: '900' });
    expect(createAccessTokenIssuer({ secret: SECRET }).verify(response.json.accessToken as string, Date.now(), CLIENT)).toMatchObject({ valid: true });
    expect(pulled).toBeGreaterThan(chunks.length); // every chunk, then the end
    expect(response.headers.get('Content-Type')).toBe('application/json');
    expect(() => parseTimestamp(response.headers.get('X-TIMESTAMP') as string)).not.toThrow();
    expect(response.headers.get('X-CLIENT-KEY')).toBe(CLIENT);
  });

  it('answers 400 4007300 for a body over the limit without reading the whole stream', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL_CHUNKS = 160; // 10 MiB
    let pulled = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled === TOTAL_CHUNKS) return controller.close();
        pulled++;
        controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = await answerOf(await createFetchHandler(options)(streamRequest(body)));
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ responseCode: '4007300', responseMessage: 'Bad Request' });
    expect(pulled).toBeLessThan(10); // 16 KiB limit: one 64 KiB chunk is already over it
    expect(cancelled).toBe(true);
  });

  it('answers 400 4007300 for an upload that fails mid-stream', async () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new Error('connection reset'));
        sent = true;
        controller.enqueue(new TextEncoder().encode('{"grantType":'));
      },
    });
    const response = await answerOf(await createFetchHandler(options)(streamRequest(body)));
    expect(response.status).toBe(400);
    expect(response.json.responseCode).toBe('4007300');
  });

  it('answers 500 5007300 for a Request whose body was already read, and reports a TypeError', async () => {
    const onError = vi.fn();
    const request = new Request(URL_, { method: 'POST', headers: freshHeaders(), body: ACCESS_TOKEN_BODY });
    await request.json(); // e.g. a middleware that parsed it first
    const response = await answerOf(await createFetchHandler({ ...options, onError })(request));
    expect(response.status).toBe(500);
    expect(response.json).toEqual({ responseCode: '5007300', responseMessage: 'General Error' });
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(TypeError);
  });

  it('answers 405 4057300 for a GET, with the SNAP response headers', async () => {
    const response = await createFetchHandler(options)(new Request(URL_, { method: 'GET', headers: freshHeaders() }));
    const answer = await answerOf(response);
    expect(answer.status).toBe(405);
    expect(answer.json.responseCode).toBe('4057300');
    expect(answer.headers.get('Content-Type')).toBe('application/json');
    expect(parseTimestamp(answer.headers.get('X-TIMESTAMP') as string).offset).toBe('+07:00');
    expect(answer.headers.get('X-CLIENT-KEY')).toBe(CLIENT);
  });

  it('answers 200 for a plain string body (the common case)', async () => {
    const request = new Request(URL_, { method: 'POST', headers: freshHeaders(), body: ACCESS_TOKEN_BODY });
    const response = await answerOf(await createFetchHandler(options)(request));
    expect(response.status).toBe(200);
    expect(response.json.responseCode).toBe('2007300');
  });
});
