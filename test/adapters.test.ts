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
import { createExpressMiddleware, createNodeHandler, PARSED_BODY_MESSAGE } from '../src/adapters/node.js';
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

  it('answers 500 5007300 for a parsed body, and onError gets a TypeError naming express.raw', async () => {
    const onError = vi.fn();
    const handler = createNodeHandler({ ...options, onError });
    current = (req, res) => {
      void drain(req).then((raw) => {
        Object.assign(req, { body: JSON.parse(raw.toString('utf8')) as unknown, _body: true }); // what express.json() leaves
        return handler(req, res);
      });
    };
    const answer = await rawRequest(validRequest());
    expectSnapError(answer, 500, '5007300');
    expect(answer.json.responseMessage).toBe('General Error');
    expect(onError).toHaveBeenCalledTimes(1);
    const [error, context] = onError.mock.calls[0] as [unknown, unknown];
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toContain('express.raw');
    expect(context).toEqual({ status: 500, responseCode: '5007300' });
  });

  it('answers 500 5007300 (not a hang) when a middleware read the stream and left no req.body', async () => {
    const onError = vi.fn();
    const handler = createNodeHandler({ ...options, onError });
    current = (req, res) => {
      void drain(req).then(() => handler(req, res));
    };
    expectSnapError(await rawRequest(validRequest()), 500, '5007300');
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(TypeError);
  });

  it('answers 405 4057300 for a GET', async () => {
    const handler = createNodeHandler(options);
    current = (req, res) => void handler(req, res);
    const answer = await rawRequest({ method: 'GET', headers: freshHeaders() });
    expectSnapError(answer, 405, '4057300');
    expect(answer.headers['x-client-key']).toBe(CLIENT);
  });
});

// ---------------------------------------------------------------------------------------

/** The parts of Express 5 used here (the package has no Express types). */
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => void;
interface ExpressApp extends http.RequestListener {
  use(...handlers: unknown[]): void;
  post(path: string, ...handlers: unknown[]): void;
}
interface ExpressModule {
  (): ExpressApp;
  json(): Handler;
  raw(options: { type: string }): Handler;
  text(options: { type: string }): Handler;
}
const express = createRequire(import.meta.url)('express') as ExpressModule;

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

  it('with express.json() mounted BEFORE the route: next(TypeError) saying how to keep the raw body', async () => {
    const { errors } = appWith((app) => {
      app.use(express.json());
      app.post(PATH, createExpressMiddleware(options));
    });
    const answer = await rawRequest(validRequest());
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual({ recorded: true }); // the app's error handler answered, not the middleware
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect((errors[0] as TypeError).message).toBe(PARSED_BODY_MESSAGE);
    expect((errors[0] as TypeError).message).toContain("express.raw({ type: '*/*' })");
  });

  it.each([
    ['express.raw', () => express.raw({ type: '*/*' })],
    ['express.text', () => express.text({ type: '*/*' })],
  ] as const)('with %s({ type: "*/*" }) on the route: 200', async (_name, parser) => {
    const { errors } = appWith((app) => app.post(PATH, parser(), createExpressMiddleware(options)));
    expectToken(await rawRequest({ headers: freshHeaders(), chunks: [UTF8_BODY] }));
    expect(errors).toEqual([]);
  });

  it('with a middleware that read the stream and left no req.body: next(TypeError), not a hang', async () => {
    const { errors } = appWith((app) => {
      app.use((req: http.IncomingMessage, _res: unknown, next: () => void) => void drain(req).then(() => next()));
      app.post(PATH, createExpressMiddleware(options));
    });
    expect((await rawRequest(validRequest())).json).toEqual({ recorded: true });
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect((errors[0] as TypeError).message).toContain('already read');
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
