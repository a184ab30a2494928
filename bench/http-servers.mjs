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
import { createHash, createHmac, createPublicKey, randomBytes, timingSafeEqual, verify } from 'node:crypto';
import { createServer } from 'node:http';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [mode] = process.argv.slice(2);
const { NICEPAY_PUBLIC_KEY: publicKeyPem, TOKEN_SECRET: tokenSecret, CLIENT_KEY: clientKey, CLIENT_SECRET: clientSecret } = process.env;
const dist = resolve(process.env.NICO_DIST ?? resolve(dirname(fileURLToPath(import.meta.url)), '../dist'));
const load = (file) => import(pathToFileURL(resolve(dist, file)).href);
const TOKEN_PATH = '/api/v1.0/access-token/b2b';
const INQUIRY_PATH = '/api/v1.0/cvs/inquiry';
const bill = { customerName: 'Budi', totalAmount: { value: '25000.00', currency: 'IDR' } };

// ---------------------------------------------------------------------------------------
// What a merchant writes by hand: node:http + node:crypto, the same checks as the package.
function handwritten() {
  const key = createPublicKey(publicKeyPem);
  const TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
  const WINDOW = 300_000, MAX = 500_000, H7 = 7 * 3600_000;
  const stamp = () => `${new Date(Date.now() + H7).toISOString().slice(0, 19)}+07:00`;
  const send = (res, status, code, message, fields, headers) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-TIMESTAMP': stamp(), ...headers });
    res.end(JSON.stringify({ responseCode: code, responseMessage: message, ...fields }));
  };
  const fresh = (ts) => (TS.test(ts ?? '') && Math.abs(Date.parse(ts) - Date.now()) <= WINDOW ? Date.parse(ts) : undefined);
  const mac = (text) => createHmac('sha256', tokenSecret).update(text).digest();
  const issue = (client) => {
    const head = Buffer.alloc(5); head[0] = 1; head.writeUInt32BE(Math.floor(Date.now() / 1000) + 900, 1);
    const payload = Buffer.concat([head, randomBytes(16), Buffer.from(client)]).toString('base64url');
    return `${payload}.${mac(payload).toString('base64url')}`;
  };
  const tokenOk = (token, client) => {
    const [payload, sig = ''] = token.split('.'), given = Buffer.from(sig, 'base64url'), want = mac(payload);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return false;
    const p = Buffer.from(payload, 'base64url');
    return p[0] === 1 && p.readUInt32BE(1) * 1000 > Date.now() && p.subarray(21).toString() === client;
  };
  const claim = (map, k, ttl) => { // false when already claimed; bounded: expired entries go, a full map refuses (500)
    const now = Date.now();
    if (map.get(k) > now) return false;
    if (map.size >= MAX) { for (const [old, exp] of map) if (exp <= now) map.delete(old); if (map.size >= MAX) throw new Error('store full'); }
    map.set(k, now + ttl);
    return true;
  };
  const seenSignatures = new Map(), externalIds = new Map();
  const token = (req, res, raw) => {
    const h = req.headers;
    if (req.method !== 'POST') return send(res, 405, '4057300', 'Requested Function Is Not Supported');
    if (!h['content-type']?.startsWith('application/json')) return send(res, 400, '4007301', 'Invalid Field Format {Content-Type}');
    if (fresh(h['x-timestamp']) === undefined) return send(res, 400, '4007301', 'Invalid Field Format {X-TIMESTAMP}');
    if (h['x-client-key'] !== clientKey) return send(res, 401, '4017300', 'Unauthorized. Unknown client');
    if (!verify('sha256', Buffer.from(`${clientKey}|${h['x-timestamp']}`), key, Buffer.from(h['x-signature'] ?? '', 'base64'))) return send(res, 401, '4017300', 'Unauthorized. Signature');
    let body; try { body = JSON.parse(raw); } catch { return send(res, 400, '4007300', 'Bad Request'); }
    if (body?.grantType !== 'client_credentials') return send(res, 400, '4007301', 'Invalid Field Format {grantType}');
    send(res, 200, '2007300', 'Successful', { accessToken: issue(clientKey), tokenType: 'Bearer', expiresIn: '900', additionalInfo: {} }, { 'X-CLIENT-KEY': clientKey });
  };
  const inquiry = (req, res, raw) => {
    const h = req.headers, ts = h['x-timestamp'], client = h['x-partner-id'], ext = h['x-external-id'];
    if (req.method !== 'POST') return send(res, 405, '4054700', 'Requested Function Is Not Supported');
    if (!h['content-type']?.startsWith('application/json')) return send(res, 400, '4004701', 'Invalid Field Format {Content-Type}');
    const bearer = /^Bearer ([^\s]+)$/.exec(h.authorization ?? '')?.[1];
    if (client !== clientKey) return send(res, 401, '4014700', 'Unauthorized. Unknown X-PARTNER-ID');
    if (!bearer || !tokenOk(bearer, client)) return send(res, 401, '4014701', 'Invalid Token (B2B)');
    const t = fresh(ts);
    if (t === undefined) return send(res, 400, '4004701', 'Invalid Field Format {X-TIMESTAMP}');
    if (!/^\d{1,36}$/.test(ext ?? '')) return send(res, 400, '4004701', 'Invalid Field Format {X-EXTERNAL-ID}');
    if (!h['channel-id']) return send(res, 400, '4004702', 'Invalid Mandatory Field {CHANNEL-ID}');
    const sig = Buffer.from(h['x-signature'] ?? '', 'base64');
    if (sig.length !== 64) return send(res, 401, '4014700', 'Unauthorized. Signature');
    let body; try { body = JSON.parse(raw); } catch { return send(res, 400, '4004700', 'Bad Request'); }
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const want = createHmac('sha512', clientSecret).update(`POST:${INQUIRY_PATH}:${bearer}:${hash}:${ts}`).digest();
    if (!timingSafeEqual(sig, want)) return send(res, 401, '4014700', 'Unauthorized. Signature');
    if (!claim(seenSignatures, `${client}|${ts}|${h['x-signature']}`, 2 * WINDOW)) return send(res, 401, '4014700', 'Unauthorized. Request already used');
    const day = new Date(t + H7).toISOString().slice(0, 10);
    if (!claim(externalIds, `${client}|${day}|${ext}`, 2 * 86_400_000)) return send(res, 409, '4094700', 'Conflict');
    send(res, 200, '2004700', 'Successful', { paymentCode: body.paymentCode, ...bill });
  };
  const routes = { [TOKEN_PATH]: token, [INQUIRY_PATH]: inquiry };
  return (req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { if ((size += c.length) <= 16_384) chunks.push(c); });
    req.on('end', () => {
      const route = routes[req.url.split('?')[0]];
      if (!route) return send(res, 404, '4040000', 'Not Found');
      if (size > 16_384) return send(res, 400, '4000000', 'Bad Request');
      try { route(req, res, Buffer.concat(chunks).toString('utf8')); } catch { send(res, 500, '5000000', 'General Error'); }
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
