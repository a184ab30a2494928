/**
 * The hand-written NICO endpoints the benches compare against: what a competent merchant
 * writes with node:crypto, the same checks as the package (token endpoint: method,
 * Content-Type, X-TIMESTAMP and its window, client key, SHA256withRSA, grantType, an
 * HMAC-signed token; inquiry: the Bearer token, X-TIMESTAMP, X-PARTNER-ID, X-EXTERNAL-ID,
 * CHANNEL-ID, HMAC-SHA512 over the minified body's hash, a bounded replay map and a bounded
 * X-EXTERNAL-ID map). Used over HTTP by bench/http-servers.mjs and in process by
 * bench/handler.bench.mjs. Each endpoint is (req, res, rawBodyText), `req` needing only
 * `method` and lower-case `headers`; `send(res, status, headers, body)` writes or returns.
 */
import { createHash, createHmac, createPublicKey, randomBytes, timingSafeEqual, verify } from 'node:crypto';

const INQUIRY_PATH = '/api/v1.0/cvs/inquiry';

export function handwrittenEndpoints({ publicKeyPem, tokenSecret, clientKey, clientSecret, bill }, send) {
  const key = createPublicKey(publicKeyPem);
  const TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
  const WINDOW = 300_000, MAX = 500_000, H7 = 7 * 3600_000;
  const stamp = () => `${new Date(Date.now() + H7).toISOString().slice(0, 19)}+07:00`;
  // send(res, status, headers, body): write the answer (over HTTP), or return it (in process).
  const answer = (res, status, code, message, fields, headers) =>
    send(res, status, { 'Content-Type': 'application/json', 'X-TIMESTAMP': stamp(), ...headers }, JSON.stringify({ responseCode: code, responseMessage: message, ...fields }));
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
    if (req.method !== 'POST') return answer(res, 405, '4057300', 'Requested Function Is Not Supported');
    if (!h['content-type']?.startsWith('application/json')) return answer(res, 400, '4007301', 'Invalid Field Format {Content-Type}');
    if (fresh(h['x-timestamp']) === undefined) return answer(res, 400, '4007301', 'Invalid Field Format {X-TIMESTAMP}');
    if (h['x-client-key'] !== clientKey) return answer(res, 401, '4017300', 'Unauthorized. Unknown client');
    if (!verify('sha256', Buffer.from(`${clientKey}|${h['x-timestamp']}`), key, Buffer.from(h['x-signature'] ?? '', 'base64'))) return answer(res, 401, '4017300', 'Unauthorized. Signature');
    let body; try { body = JSON.parse(raw); } catch { return answer(res, 400, '4007300', 'Bad Request'); }
    if (body?.grantType !== 'client_credentials') return answer(res, 400, '4007301', 'Invalid Field Format {grantType}');
    return answer(res, 200, '2007300', 'Successful', { accessToken: issue(clientKey), tokenType: 'Bearer', expiresIn: '900', additionalInfo: {} }, { 'X-CLIENT-KEY': clientKey });
  };
  const inquiry = (req, res, raw) => {
    const h = req.headers, ts = h['x-timestamp'], client = h['x-partner-id'], ext = h['x-external-id'];
    if (req.method !== 'POST') return answer(res, 405, '4054700', 'Requested Function Is Not Supported');
    if (!h['content-type']?.startsWith('application/json')) return answer(res, 400, '4004701', 'Invalid Field Format {Content-Type}');
    const bearer = /^Bearer ([^\s]+)$/.exec(h.authorization ?? '')?.[1];
    if (client !== clientKey) return answer(res, 401, '4014700', 'Unauthorized. Unknown X-PARTNER-ID');
    if (!bearer || !tokenOk(bearer, client)) return answer(res, 401, '4014701', 'Invalid Token (B2B)');
    const t = fresh(ts);
    if (t === undefined) return answer(res, 400, '4004701', 'Invalid Field Format {X-TIMESTAMP}');
    if (!/^\d{1,36}$/.test(ext ?? '')) return answer(res, 400, '4004701', 'Invalid Field Format {X-EXTERNAL-ID}');
    if (!h['channel-id']) return answer(res, 400, '4004702', 'Invalid Mandatory Field {CHANNEL-ID}');
    const sig = Buffer.from(h['x-signature'] ?? '', 'base64');
    if (sig.length !== 64) return answer(res, 401, '4014700', 'Unauthorized. Signature');
    let body; try { body = JSON.parse(raw); } catch { return answer(res, 400, '4004700', 'Bad Request'); }
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const want = createHmac('sha512', clientSecret).update(`POST:${INQUIRY_PATH}:${bearer}:${hash}:${ts}`).digest();
    if (!timingSafeEqual(sig, want)) return answer(res, 401, '4014700', 'Unauthorized. Signature');
    if (!claim(seenSignatures, `${client}|${ts}|${h['x-signature']}`, 2 * WINDOW)) return answer(res, 401, '4014700', 'Unauthorized. Request already used');
    const day = new Date(t + H7).toISOString().slice(0, 10);
    if (!claim(externalIds, `${client}|${day}|${ext}`, 2 * 86_400_000)) return answer(res, 409, '4094700', 'Conflict');
    return answer(res, 200, '2004700', 'Successful', { paymentCode: body.paymentCode, ...bill });
  };
  return { token, inquiry };
}
