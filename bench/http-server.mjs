#!/usr/bin/env node
/**
 * A server for bench/handler.bench.mjs, in its own process: `node bench/http-server.mjs MODE`
 * with the NICEPAY public key (PEM) and the token secret in the environment. Prints its port.
 *
 *   package    node:http + createNodeHandler from nicepay-nico/node (this package)
 *   baseline   a hand-written node:http endpoint doing the same checks with node:crypto
 *              (OpenSSL): headers, strict-enough timestamp, clock window, client key,
 *              SHA256withRSA verify, JSON body and grantType, an HMAC-signed token
 */
import { createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';

const [mode] = process.argv.slice(2);
const { NICEPAY_PUBLIC_KEY: publicKeyPem, TOKEN_SECRET: secret, CLIENT_KEY: clientKey } = process.env;

function baselineListener() {
  const key = createPublicKey(publicKeyPem);
  const TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
  const stamp = () => {
    const d = new Date(Date.now() + 7 * 3600_000);
    return `${d.toISOString().slice(0, 19)}+07:00`;
  };
  const send = (res, status, body, client) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-TIMESTAMP': stamp(), ...(client ? { 'X-CLIENT-KEY': client } : {}) });
    res.end(JSON.stringify(body));
  };
  return (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return send(res, 405, { responseCode: '4057300', responseMessage: 'Requested Function Is Not Supported' });
      const h = req.headers;
      for (const name of ['content-type', 'x-timestamp', 'x-client-key', 'x-signature']) {
        if (!h[name]) return send(res, 400, { responseCode: '4007302', responseMessage: `Invalid Mandatory Field {${name}}` });
      }
      if (!h['content-type'].startsWith('application/json')) return send(res, 400, { responseCode: '4007301', responseMessage: 'Invalid Field Format {Content-Type}' });
      if (!TS.test(h['x-timestamp'])) return send(res, 400, { responseCode: '4007301', responseMessage: 'Invalid Field Format {X-TIMESTAMP}' });
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, { responseCode: '4007300', responseMessage: 'Bad Request' });
      }
      if (body?.grantType !== 'client_credentials') return send(res, 400, { responseCode: '4007301', responseMessage: 'Invalid Field Format {grantType}' });
      if (h['x-client-key'] !== clientKey) return send(res, 401, { responseCode: '4017300', responseMessage: 'Unauthorized. Unknown X-CLIENT-KEY' });
      if (Math.abs(Date.parse(h['x-timestamp']) - Date.now()) > 300_000) return send(res, 401, { responseCode: '4017300', responseMessage: 'Unauthorized. X-TIMESTAMP' });
      const ok = verify('sha256', Buffer.from(`${h['x-client-key']}|${h['x-timestamp']}`), key, Buffer.from(h['x-signature'], 'base64'));
      if (!ok) return send(res, 401, { responseCode: '4017300', responseMessage: 'Unauthorized. Signature does not verify' });
      const payload = Buffer.concat([Buffer.from([1]), randomBytes(20), Buffer.from(clientKey)]).toString('base64url');
      const token = `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
      send(res, 200, { responseCode: '2007300', responseMessage: 'Successful', accessToken: token, tokenType: 'Bearer', expiresIn: '900', additionalInfo: {} }, clientKey);
    });
  };
}

let listener;
if (mode === 'package') {
  const { createNodeHandler } = await import('../dist/node.js');
  // The load generator repeats one signed request, so the replay guard (on by default) is
  // off here, as it is absent from the hand-written baseline.
  listener = createNodeHandler({ clients: { [clientKey]: publicKeyPem }, tokenSecret: secret, replayCache: false });
} else if (mode === 'baseline') {
  listener = baselineListener();
} else {
  console.error('usage: node bench/http-server.mjs package|baseline');
  process.exit(2);
}
const server = createServer(listener);
server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
