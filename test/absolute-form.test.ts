/**
 * The signed path is the request target exactly as sent, in every adapter:
 * - an absolute-form request target (`POST http://host/api/v1.0/cvs/inquiry`, RFC 9112
 *   §3.2.2) through the node adapters gives its path, as sent;
 * - the Fetch adapter takes the target as sent when the server passes it (`requestTarget`,
 *   here Hono on @hono/node-server), since `request.url` has been re-encoded.
 */
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSymmetricStringToSign, createAccessTokenIssuer, formatTimestamp, signSymmetric, type TransactionHandlerOptions } from '../src/index.js';
import { createExpressTransactionMiddleware, createNodeTransactionHandler } from '../src/adapters/node.js';
import { createFetchTransactionHandler } from '../src/adapters/fetch.js';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/** The parts of Express 5 used here (the package has no Express types). */
interface ExpressApp extends http.RequestListener {
  post(path: string, ...handlers: unknown[]): void;
}
const express = createRequire(import.meta.url)('express') as () => ExpressApp;

const CLIENT = 'IONPAYTEST';
const SECRET = 'client-secret';
const issuer = createAccessTokenIssuer({ secret: 'token-secret-of-at-least-thirty-two-bytes' });
const PATH = "/api/v1.0/cvs/inquiry?ref='A1'";
const options: TransactionHandlerOptions = {
  serviceCode: '47',
  clients: { [CLIENT]: { clientSecret: SECRET } },
  tokens: issuer,
  replayCache: false,
  externalIds: false,
  handle: (v) => ({ responseCode: '2004700', responseMessage: 'Successful', path: v.path }),
};

let second = 0;
function send(port: number, target: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = issuer.issue(CLIENT, Date.now());
  const timestamp = formatTimestamp(Date.now() - 100_000 + 1000 * second++);
  const body = '{"paymentCode":"8880012345"}';
  const signature = signSymmetric(SECRET, buildSymmetricStringToSign({ method: 'POST', path: PATH, accessToken: token, body, timestamp }));
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': timestamp, 'X-PARTNER-ID': CLIENT, 'X-EXTERNAL-ID': `x-${second}`, 'X-SIGNATURE': signature };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: target, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const servers: http.Server[] = [];
const listen = (server: http.Server) =>
  new Promise<number>((resolve) => {
    servers.push(server);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
let nodePort = 0;
let expressPort = 0;
let honoPort = 0;
beforeAll(async () => {
  const inquiry = createFetchTransactionHandler(options);
  const hono = new Hono<{ Bindings: { incoming: http.IncomingMessage } }>();
  hono.post('/as-sent/*', (c) => inquiry(c.req.raw, { requestTarget: c.env.incoming.url?.replace(/^\/as-sent/, '') }));
  hono.post('/api/v1.0/cvs/inquiry', (c) => inquiry(c.req.raw));
  const honoServer = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  servers.push(honoServer);
  await once(honoServer, 'listening');
  honoPort = (honoServer.address() as AddressInfo).port;
  nodePort = await listen(http.createServer(createNodeTransactionHandler(options)));
  const app = express();
  app.post('/api/v1.0/cvs/inquiry', createExpressTransactionMiddleware(options));
  expressPort = await listen(http.createServer(app));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('absolute-form request targets', () => {
  it('node:http: the path of an absolute-form target is the signed path (200), as is origin-form', async () => {
    expect(await send(nodePort, `http://127.0.0.1:${nodePort}${PATH}`)).toEqual({ status: 200, body: expect.objectContaining({ responseCode: '2004700', path: PATH }) });
    expect(await send(nodePort, PATH)).toEqual({ status: 200, body: expect.objectContaining({ path: PATH }) });
  });
  it('Express: the same, never an unauthenticated 500', async () => {
    expect(await send(expressPort, `http://127.0.0.1:${expressPort}${PATH}`)).toEqual({ status: 200, body: expect.objectContaining({ responseCode: '2004700', path: PATH }) });
  });
  it('a path that differs from the signed one is still refused (401)', async () => {
    expect((await send(nodePort, `http://127.0.0.1:${nodePort}/api/v1.0/cvs/inquiry?ref=%27A1%27`)).status).toBe(401);
  });
});

describe('the Fetch adapter', () => {
  it('Hono on @hono/node-server: the target as sent, from request.url (read as text, never re-encoded) or from requestTarget', async () => {
    expect(await send(honoPort, PATH)).toEqual({ status: 200, body: expect.objectContaining({ responseCode: '2004700', path: PATH }) });
    expect(await send(honoPort, `/as-sent${PATH}`)).toEqual({ status: 200, body: expect.objectContaining({ responseCode: '2004700', path: PATH }) });
  });
  it('a runtime that re-encodes request.url (a \' in the query becomes %27): requestTarget gives the target as sent', async () => {
    const inquiry = createFetchTransactionHandler(options);
    const make = () => {
      const token = issuer.issue(CLIENT, Date.now());
      const timestamp = formatTimestamp(Date.now() - 100_000 + 1000 * second++);
      const body = '{"paymentCode":"8880012345"}';
      const signature = signSymmetric(SECRET, buildSymmetricStringToSign({ method: 'POST', path: PATH, accessToken: token, body, timestamp }));
      const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': timestamp, 'X-PARTNER-ID': CLIENT, 'X-EXTERNAL-ID': `f-${second}`, 'X-SIGNATURE': signature };
      return new Request(`http://127.0.0.1${PATH}`, { method: 'POST', headers, body });
    };
    const normalised = make();
    expect(normalised.url).toContain('%27A1%27');
    expect((await inquiry(normalised)).status).toBe(401);
    const withTarget = await inquiry(make(), { requestTarget: PATH });
    expect([withTarget.status, ((await withTarget.json()) as { path: string }).path]).toEqual([200, PATH]);
  });
});
