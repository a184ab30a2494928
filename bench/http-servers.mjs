#!/usr/bin/env node
/**
 * A server child of bench/http.bench.mjs: `node bench/http-servers.mjs MODE`. Each mode serves
 * both the access-token path and `/api/v1.0/cvs/inquiry` on one server on 127.0.0.1:0.
 *
 *   handwritten  node:http + node:crypto, the checks a competent merchant writes by hand
 *   node         createNodeHandler + createNodeTransactionHandler (nicepay-nico/node)
 *   express      Express 5 with createExpressMiddleware + createExpressTransactionMiddleware
 *   fastify      Fastify 5 with the fastifyNico plugin (nicepay-nico/fastify)
 *
 * Environment: NICEPAY_PUBLIC_KEY (PEM), TOKEN_SECRET, CLIENT_KEY, CLIENT_SECRET, and NICO_DIST
 * (the built package; default ../dist next to this file).
 * Prints `port N` once listening. On each `mark` line on stdin it prints one JSON line:
 * `{"cpuUs": user+system µs so far, "served": responses finished so far, "rss": bytes}`.
 * Exits on SIGTERM.
 */
import { createServer } from 'node:http';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { handwrittenEndpoints } from './handwritten.mjs';

const [mode] = process.argv.slice(2);
const { NICEPAY_PUBLIC_KEY: publicKeyPem, TOKEN_SECRET: tokenSecret, CLIENT_KEY: clientKey, CLIENT_SECRET: clientSecret } = process.env;
const dist = resolve(process.env.NICO_DIST ?? resolve(dirname(fileURLToPath(import.meta.url)), '../dist'));
const load = (file) => import(pathToFileURL(resolve(dist, file)).href);
const TOKEN_PATH = '/api/v1.0/access-token/b2b';
const INQUIRY_PATH = '/api/v1.0/cvs/inquiry';
const bill = { customerName: 'Budi', totalAmount: { value: '25000.00', currency: 'IDR' } };

// ---------------------------------------------------------------------------------------
// What a merchant writes by hand (bench/handwritten.mjs), behind node:http.
function handwritten() {
  const send = (res, status, headers, body) => res.writeHead(status, headers).end(body);
  const { token, inquiry } = handwrittenEndpoints({ publicKeyPem, tokenSecret, clientKey, clientSecret, bill }, send);
  const notFound = { 'Content-Type': 'application/json' };
  const routes = { [TOKEN_PATH]: token, [INQUIRY_PATH]: inquiry };
  return (req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { if ((size += c.length) <= 16_384) chunks.push(c); });
    req.on('end', () => {
      const route = routes[req.url.split('?')[0]];
      if (!route) return send(res, 404, notFound, '{"responseCode":"4040000","responseMessage":"Not Found"}');
      if (size > 16_384) return send(res, 400, notFound, '{"responseCode":"4000000","responseMessage":"Bad Request"}');
      try { route(req, res, Buffer.concat(chunks).toString('utf8')); } catch { send(res, 500, notFound, '{"responseCode":"5000000","responseMessage":"General Error"}'); }
    });
  };
}

// ---------------------------------------------------------------------------------------
// The package: defaults, except the access token's replay guard (the load repeats one signed
// token request). The inquiry keeps every default guard (signature replay, X-EXTERNAL-ID).
async function packageOptions() {
  const { createAccessTokenIssuer } = await load('index.js');
  const accessToken = { clients: { [clientKey]: publicKeyPem }, tokenSecret, replayCache: false };
  const inquiry = {
    clients: { [clientKey]: { clientSecret } },
    tokens: createAccessTokenIssuer({ secret: tokenSecret }),
    channelId: (partnerId) => `${partnerId}01`,
    serviceCode: '47',
    handle: ({ body }, { answer }) => answer.ok({ paymentCode: body.paymentCode, ...bill }),
  };
  return { accessToken, inquiry };
}

let server;
if (mode === 'handwritten') {
  server = createServer(handwritten());
} else if (mode === 'node') {
  const { createNodeHandler, createNodeTransactionHandler } = await load('node.js');
  const options = await packageOptions();
  const routes = { [TOKEN_PATH]: createNodeHandler(options.accessToken), [INQUIRY_PATH]: createNodeTransactionHandler(options.inquiry) };
  server = createServer((req, res) => {
    const route = routes[req.url.split('?')[0]];
    if (route) route(req, res);
    else res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"responseCode":"4040000","responseMessage":"Not Found"}');
  });
} else if (mode === 'core') {
  // The core handlers (with nodeCrypto, as the adapters default) behind the ten lines of
  // node:http a merchant would write around them: what the node adapter itself costs.
  const { createAccessTokenHandler, createTransactionHandler } = await load('index.js');
  const { nodeCrypto } = await load('node.js');
  const options = await packageOptions();
  const routes = {
    [TOKEN_PATH]: createAccessTokenHandler({ ...options.accessToken, crypto: nodeCrypto }),
    [INQUIRY_PATH]: createTransactionHandler({ ...options.inquiry, crypto: nodeCrypto }),
  };
  server = createServer((req, res) => {
    const route = routes[req.url.split('?')[0]];
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const answer = await route({ method: req.method, path: req.url, headers: req.headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
} else if (mode === 'express') {
  const { default: express } = await import('express');
  const { createExpressMiddleware, createExpressTransactionMiddleware } = await load('node.js');
  const options = await packageOptions();
  const app = express();
  app.disable('x-powered-by');
  app.all(TOKEN_PATH, createExpressMiddleware(options.accessToken));
  app.all(INQUIRY_PATH, createExpressTransactionMiddleware(options.inquiry));
  server = createServer(app);
} else if (mode === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const { fastifyNico } = await load('fastify.js');
  const options = await packageOptions();
  const app = Fastify({ logger: false });
  await app.register(fastifyNico, options);
  await app.ready();
  server = app.server;
} else {
  console.error('usage: node bench/http-servers.mjs handwritten|node|core|express|fastify');
  process.exit(2);
}

let served = 0;
const finished = () => served++;
server.on('request', (_req, res) => res.once('finish', finished));
server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'mark') return;
  const { user, system } = process.cpuUsage();
  console.log(JSON.stringify({ cpuUs: user + system, userUs: user, served, rss: process.memoryUsage.rss() }));
});
process.on('SIGTERM', () => process.exit(0));
