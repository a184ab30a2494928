/**
 * An absolute-form request target (`POST http://host/api/v1.0/cvs/inquiry`, RFC 9112
 * §3.2.2) through the node adapters: the signed path is its path, as sent.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSymmetricStringToSign, createAccessTokenIssuer, formatTimestamp, signSymmetric, type TransactionHandlerOptions } from '../src/index.js';
import { createExpressTransactionMiddleware, createNodeTransactionHandler } from '../src/adapters/node.js';

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
beforeAll(async () => {
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
