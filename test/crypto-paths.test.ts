/**
 * The crypto seam: jsCrypto (pure JS) and nodeCrypto (node:crypto) give the same verdict on
 * every input, because the library's checks run in front of both; the Node-side adapters use
 * nodeCrypto by default; only the package's two providers are accepted; nodeCrypto falls
 * back to pure JS where the runtime has no node:crypto.
 *
 * The vector suites (NICEPAY, Wycheproof RSA 2048/3072 and HMAC-SHA512, the OpenSSL
 * differential) run through both paths in their own files (vectors, symmetric,
 * differential); this file adds signature-level and handler-level mutation fuzz.
 */
import { createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  buildSymmetricStringToSign,
  createAccessTokenHandler,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  createTransactionHandler,
  formatTimestamp,
  importPublicKey,
  jsCrypto,
  signSymmetric,
  verifyAccessTokenRequest,
  verifySignature,
  verifySymmetricSignature,
  type CryptoProvider,
  type EndpointResponse,
} from '../src/index.js';
import { createNodeHandler, createNodeTransactionHandler, nodeCrypto } from '../src/adapters/node.js';
import { fastifyNico } from '../src/adapters/fastify.js';
import { createFetchHandler } from '../src/adapters/fetch.js';
import { createNextRouteHandlers } from '../src/adapters/next.js';
import { ACCESS_TOKEN_BODY, makeKeys, signText } from './helpers/nicepay.js';
import { CRYPTO_PATHS } from './helpers/crypto-paths.js';
import { serve } from './helpers/serve.js';

const CLIENT = 'IONPAYTEST';
const SECRET = '33F49GnCMS1mFYlGXisbUDzVf2ATWCl9k3R++d5hDd3Frmuos/XLx8XhXpe+LDYAbpGKZYSwtlyyLOtS/8aD7A==';
const TOKEN_SECRET = 'token-secret-of-at-least-thirty-two-bytes';
const NOW = Date.UTC(2024, 10, 12, 19, 54, 37);
const TS = formatTimestamp(NOW);
const keys = makeKeys();

/** A seeded generator, so a failure names its seed and replays. */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 16) % n;
  };
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const bigToBytes = (value: bigint, length: number): Uint8Array => Uint8Array.from(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'));

describe('signature-level mutation fuzz: both paths, same verdict', () => {
  it('SHA256withRSA: 6,000 mutated signatures (base64 edits, bit flips, s = n, n - 1, 0, 1, other keys, other messages)', () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = importPublicKey(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const rand = lcg(20261129);
    const messages = Array.from({ length: 20 }, (_, i) => `${CLIENT}|2024-11-13T02:54:${String(i).padStart(2, '0')}+07:00${i % 5 === 0 ? '\ud800' : ''}`);
    const specials = [0n, 1n, key.n - 1n, key.n, key.n + 1n, (1n << 2048n) - 1n].map((v) => b64(bigToBytes(v, 256)));
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n';
    const disagreements: string[] = [];
    const accepted = new Set<string>();
    let cases = 0;
    for (let i = 0; i < 6000; i++) {
      const msg = messages[rand(messages.length)] as string;
      const good = new Uint8Array(nodeSign('sha256', Buffer.from(msg), pair.privateKey));
      let sig: string;
      switch (rand(10)) {
        case 0: sig = b64(good); break; // valid (or valid for another message)
        case 1: { const b = good.slice(); const bit = rand(2048); b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7)); sig = b64(b); break; }
        case 2: { const t = b64(good); const at = rand(t.length); sig = t.slice(0, at) + (B64[rand(B64.length)] as string) + t.slice(at + 1); break; }
        case 3: { const t = b64(good); sig = rand(2) ? t.slice(0, rand(t.length)) : t + 'A'.repeat(1 + rand(8)); break; }
        case 4: sig = b64(good).replace(/=+$/, rand(2) ? '' : '=='); break;
        case 5: sig = b64(good).replace(/\+/g, '-').replace(/\//g, '_'); break;
        case 6: sig = specials[rand(specials.length)] as string; break;
        case 7: sig = b64(new Uint8Array(nodeSign('sha256', Buffer.from(msg), other.privateKey))); break;
        case 8: sig = b64(new Uint8Array(nodeSign('sha1', Buffer.from(msg), pair.privateKey))); break;
        default: { const t = b64(good); const at = rand(t.length); sig = `${t.slice(0, at)} ${t.slice(at)}`; break; }
      }
      const target = rand(8) === 0 ? messages[rand(messages.length)] as string : msg;
      const [a, b] = CRYPTO_PATHS.map((p) => verifySignature(key, target, sig, { crypto: p.crypto }));
      cases++;
      if (a !== b) disagreements.push(`case ${i}: pure ${a}, node ${b}`);
      if (a) accepted.add(`${target}\u0000${sig}`);
    }
    expect(disagreements).toEqual([]);
    expect(cases).toBe(6000);
    // Only genuine signatures were accepted: each is node:crypto's own over that message.
    for (const entry of accepted) {
      const [msg, sig] = entry.split('\u0000') as [string, string];
      expect(sig).toBe(b64(new Uint8Array(nodeSign('sha256', Buffer.from(msg), pair.privateKey))));
    }
    expect(accepted.size).toBeGreaterThan(5);
  });

  it('HMAC-SHA512: 4,000 mutated symmetric signatures and strings', () => {
    const rand = lcg(7);
    const disagreements: string[] = [];
    let valid = 0;
    for (let i = 0; i < 4000; i++) {
      const sts = buildSymmetricStringToSign({ method: 'POST', path: '/api/v1.0/cvs/inquiry', accessToken: `tok${i % 50}`, body: `{"n":${i % 97}}`, timestamp: TS });
      const good = signSymmetric(SECRET, sts);
      let sig = good;
      let text = sts;
      switch (rand(6)) {
        case 0: break;
        case 1: { const at = rand(sig.length); sig = sig.slice(0, at) + 'A' + sig.slice(at + 1); break; }
        case 2: sig = sig.slice(0, rand(sig.length)); break;
        case 3: text = `${sts}\ud800`; sig = signSymmetric(SECRET, text); break; // lone surrogate: U+FFFD on both paths
        case 4: text = sts.replace(':', rand(2) ? ';' : '::'); break;
        default: sig = sig.replace(/=+$/, ''); break;
      }
      const [a, b] = CRYPTO_PATHS.map((p) => verifySymmetricSignature(SECRET, text, sig, { crypto: p.crypto }));
      if (a !== b) disagreements.push(`case ${i}: pure ${a}, node ${b}`);
      if (a) valid++;
    }
    expect(disagreements).toEqual([]);
    expect(valid).toBeGreaterThan(500);
  });
});

describe('handler-level mutation fuzz: both paths give the same answers', () => {
  /** What NICEPAY sees of an answer (the token and the X-TIMESTAMP header aside). */
  const seen = (r: EndpointResponse): string => {
    const body = JSON.parse(r.body) as { responseCode: string; responseMessage: string };
    return `${r.status} ${body.responseCode} ${body.responseMessage}`;
  };

  it('access-token handler: 1,500 mutated requests', async () => {
    const handlers = CRYPTO_PATHS.map((p) =>
      createAccessTokenHandler({ clients: { [CLIENT]: keys.publicKeyPem }, tokenSecret: TOKEN_SECRET, now: () => NOW, crypto: p.crypto, replayCache: createMemoryClaimStore({ now: () => NOW }) }),
    );
    const rand = lcg(99);
    const disagreements: string[] = [];
    const statuses = new Map<string, number>();
    for (let i = 0; i < 1500; i++) {
      const ts = formatTimestamp(NOW - (i % 290) * 1000);
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-TIMESTAMP': ts, 'X-CLIENT-KEY': CLIENT, 'X-SIGNATURE': signText(keys.privateKey, `${CLIENT}|${ts}`) };
      let body = ACCESS_TOKEN_BODY;
      switch (rand(7)) {
        case 0: break;
        case 1: headers['X-SIGNATURE'] = (headers['X-SIGNATURE'] as string).replace(/^./, (c) => (c === 'A' ? 'B' : 'A')); break;
        case 2: headers['X-SIGNATURE'] = (headers['X-SIGNATURE'] as string).slice(1); break;
        case 3: headers['X-TIMESTAMP'] = formatTimestamp(NOW - 400_000); break;
        case 4: headers['X-CLIENT-KEY'] = 'OTHER'; break;
        case 5: body = '{"grantType":"client_credentials"'; break;
        default: headers['X-SIGNATURE'] = signText(keys.privateKey, `${CLIENT}|${ts} `); break;
      }
      // Both handlers get the same request, in the same order: their replay stores agree.
      const answers = await Promise.all(handlers.map((h) => h({ method: 'POST', path: '/api/v1.0/access-token/b2b', headers, body })));
      const [a, b] = answers.map(seen) as [string, string];
      if (a !== b) disagreements.push(`request ${i}: pure ${a}, node ${b}`);
      statuses.set(a, (statuses.get(a) ?? 0) + 1);
    }
    expect(disagreements).toEqual([]);
    // Successes, bad signatures, replays, stale stamps, unknown clients and bad bodies all occurred.
    expect([...statuses.keys()].some((k) => k.startsWith('200 2007300'))).toBe(true);
    expect([...statuses.keys()].filter((k) => k.startsWith('401')).length).toBeGreaterThanOrEqual(3);
    expect([...statuses.keys()].some((k) => k.startsWith('400'))).toBe(true);
  });

  it('transaction handler (auto: HMAC-SHA512 and SHA256withRSA forms, both body hashes): 1,500 mutated calls', async () => {
    const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
    const token = issuer.issue(CLIENT, NOW - 60_000);
    const handlers = CRYPTO_PATHS.map((p) =>
      createTransactionHandler({
        serviceCode: '47',
        clients: { [CLIENT]: { clientSecret: SECRET, publicKey: keys.publicKeyPem } },
        tokens: issuer,
        now: () => NOW,
        crypto: p.crypto,
        replayCache: createMemoryClaimStore({ now: () => NOW }),
        externalIds: createMemoryClaimStore({ now: () => NOW }),
        handle: ({ bodyHash, signatureMode }) => ({ responseCode: '2004700', responseMessage: `Successful ${signatureMode} ${String(bodyHash)}` }),
      }),
    );
    const rand = lcg(4242);
    const disagreements: string[] = [];
    const outcomes = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const ts = formatTimestamp(NOW - (i % 280) * 1000);
      let body = `{ "paymentCode": "${i % 40}", "amount": { "value": "10000.00", "currency": "IDR" } }`;
      const form = rand(3);
      const hash = rand(2) ? 'minified' : 'as-sent';
      const sts = buildSymmetricStringToSign({ method: 'POST', path: '/api/v1.0/cvs/inquiry', accessToken: token, body, timestamp: ts, bodyHash: hash });
      let signature = form === 0 ? signText(keys.privateKey, `${CLIENT}|${ts}`) : signSymmetric(SECRET, sts);
      const headers: Record<string, string> = {
        'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': ts, 'X-PARTNER-ID': CLIENT,
        'X-EXTERNAL-ID': String(100000 + (i % 700)), 'CHANNEL-ID': '95221', 'X-SIGNATURE': signature,
      };
      switch (rand(6)) {
        case 0: break;
        case 1: signature = signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')); headers['X-SIGNATURE'] = signature; break;
        case 2: body = body.replace('10000', '10001'); break;
        case 3: headers['X-SIGNATURE'] = signature.slice(0, -4); break;
        case 4: body = `${body} `; break; // as sent differs from minified: only the minified hash can verify
        default: headers['X-TIMESTAMP'] = formatTimestamp(NOW + 301_000); break;
      }
      const answers = await Promise.all(handlers.map((h) => h({ method: 'POST', path: '/api/v1.0/cvs/inquiry', headers, body })));
      const [a, b] = answers.map(seen) as [string, string];
      if (a !== b) disagreements.push(`call ${i}: pure ${a}, node ${b}`);
      outcomes.add(a);
    }
    expect(disagreements).toEqual([]);
    const list = [...outcomes];
    // Every form verified at least once, and refusals, duplicates and replays occurred.
    for (const expected of ['Successful asymmetric undefined', 'Successful symmetric minified', 'Successful symmetric as-sent']) {
      expect(list.some((o) => o.endsWith(expected)), expected).toBe(true);
    }
    expect(list.some((o) => o.startsWith('401'))).toBe(true);
    expect(list.some((o) => o.startsWith('409'))).toBe(true);
  });
});

describe('which crypto runs where', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const nc = process.getBuiltinModule('crypto') as typeof import('node:crypto');
  const tokenRequest = () => {
    const ts = formatTimestamp(NOW);
    return { 'Content-Type': 'application/json', 'X-TIMESTAMP': ts, 'X-CLIENT-KEY': CLIENT, 'X-SIGNATURE': signText(keys.privateKey, `${CLIENT}|${ts}`) };
  };
  const tokenOptions = (crypto?: CryptoProvider) => ({
    clients: { [CLIENT]: keys.publicKeyPem },
    tokenSecret: TOKEN_SECRET,
    now: () => NOW,
    replayCache: false as const,
    ...(crypto ? { crypto } : {}),
  });

  it('the core handler uses pure JS by default, node:crypto when given nodeCrypto', async () => {
    const verify = vi.spyOn(nc, 'verify');
    const plain = createAccessTokenHandler(tokenOptions());
    expect((await plain({ method: 'POST', headers: tokenRequest(), body: ACCESS_TOKEN_BODY })).status).toBe(200);
    expect(verify).not.toHaveBeenCalled();
    const native = createAccessTokenHandler(tokenOptions(nodeCrypto));
    expect((await native({ method: 'POST', headers: tokenRequest(), body: ACCESS_TOKEN_BODY })).status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('createNodeHandler uses node:crypto by default; crypto: jsCrypto turns it off', async () => {
    const verify = vi.spyOn(nc, 'verify');
    for (const [crypto, calls] of [[undefined, 1], [jsCrypto, 0]] as const) {
      verify.mockClear();
      const server = await serve(createNodeHandler(tokenOptions(crypto)));
      try {
        const res = await fetch(`${server.url}/api/v1.0/access-token/b2b`, { method: 'POST', headers: tokenRequest(), body: ACCESS_TOKEN_BODY });
        expect(res.status).toBe(200);
        expect(verify).toHaveBeenCalledTimes(calls);
      } finally {
        await server.close();
      }
    }
  });

  it('createNodeTransactionHandler computes HMAC-SHA512 and SHA-256 with node:crypto by default', async () => {
    const hmac = vi.spyOn(nc, 'createHmac');
    const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
    const token = issuer.issue(CLIENT, Date.now());
    const server = await serve(
      createNodeTransactionHandler({ serviceCode: '47', clients: { [CLIENT]: { clientSecret: SECRET } }, tokens: issuer, handle: () => ({ responseCode: '2004700', responseMessage: 'Successful' }) }),
    );
    try {
      const ts = formatTimestamp(Date.now());
      const body = '{"paymentCode":"1"}';
      const sts = buildSymmetricStringToSign({ method: 'POST', path: '/api/v1.0/cvs/inquiry', accessToken: token, body, timestamp: ts });
      const res = await fetch(`${server.url}/api/v1.0/cvs/inquiry`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': ts, 'X-PARTNER-ID': CLIENT, 'X-EXTERNAL-ID': '778899', 'CHANNEL-ID': '95221', 'X-SIGNATURE': signSymmetric(SECRET, sts) },
        body,
      });
      expect(res.status).toBe(200);
      expect(hmac.mock.calls.map((c) => c[0])).toContain('sha512');
    } finally {
      await server.close();
    }
  });

  it('fastifyNico and the Next route handlers use node:crypto by default', async () => {
    const verify = vi.spyOn(nc, 'verify');
    const app = Fastify();
    await app.register(fastifyNico, { accessToken: tokenOptions() });
    const res = await app.inject({ method: 'POST', url: '/api/v1.0/access-token/b2b', headers: tokenRequest(), payload: ACCESS_TOKEN_BODY });
    expect(res.statusCode).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    await app.close();
    const next = createNextRouteHandlers(tokenOptions());
    const answer = await next.POST(new Request('http://localhost/api/v1.0/access-token/b2b', { method: 'POST', headers: tokenRequest(), body: ACCESS_TOKEN_BODY }));
    expect(answer.status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('createFetchHandler uses node:crypto by default too', async () => {
    const verify = vi.spyOn(nc, 'verify');
    const handle = createFetchHandler(tokenOptions());
    const res = await handle(new Request('http://localhost/api/v1.0/access-token/b2b', { method: 'POST', headers: tokenRequest(), body: ACCESS_TOKEN_BODY }));
    expect(res.status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('nodeCrypto leaves RSA to the pure path on Deno (its node:crypto RSA is slower) and keeps HMAC native', async () => {
    vi.resetModules();
    (globalThis as { Deno?: unknown }).Deno = { version: { deno: 'test' } };
    const verify = vi.spyOn(nc, 'verify');
    const hmac = vi.spyOn(nc, 'createHmac');
    try {
      const fresh = (await import('../src/crypto/native.js')) as typeof import('../src/crypto/native.js');
      const rsa = (await import('../src/crypto/rsa.js')) as typeof import('../src/crypto/rsa.js');
      const symmetric = (await import('../src/protocol/symmetric.js')) as typeof import('../src/protocol/symmetric.js');
      expect(fresh.hasNodeCrypto()).toBe(true);
      const key = importPublicKey(keys.publicKeyPem);
      expect(rsa.verifySignature(key, `${CLIENT}|${TS}`, signText(keys.privateKey, `${CLIENT}|${TS}`), { crypto: fresh.nodeCrypto })).toBe(true);
      expect(verify).not.toHaveBeenCalled();
      expect(symmetric.verifySymmetricSignature(SECRET, 'x', signSymmetric(SECRET, 'x'), { crypto: fresh.nodeCrypto })).toBe(true);
      expect(hmac).toHaveBeenCalledTimes(1);
    } finally {
      delete (globalThis as { Deno?: unknown }).Deno;
      vi.resetModules();
    }
  });

  it('refuses anything but the two providers, naming both', () => {
    for (const bad of [{ name: 'node' }, {}, 'node', { name: 'js', verify: () => true }]) {
      expect(() => createAccessTokenHandler({ ...tokenOptions(), crypto: bad as never })).toThrow(/options\.crypto must be jsCrypto \(exported by nicepay-nico\) or nodeCrypto \(exported by nicepay-nico\/node\)/);
      expect(() => verifySignature(importPublicKey(keys.publicKeyPem), 'x', 'y', { crypto: bad as never })).toThrow(TypeError);
      expect(() => verifyAccessTokenRequest({ headers: tokenRequest(), body: ACCESS_TOKEN_BODY }, { clients: { [CLIENT]: keys.publicKeyPem }, crypto: bad as never })).toThrow(TypeError);
    }
    expect(jsCrypto.name).toBe('js');
    expect(nodeCrypto.name).toBe('node');
    expect(Object.isFrozen(nodeCrypto)).toBe(true);
  });

  it('a key or call node:crypto will not take is decided by the pure path, the same way', () => {
    const ops = CRYPTO_PATHS[1]!.ops;
    const data = new TextEncoder().encode('m');
    const sig = new Uint8Array(nodeSign('sha256', Buffer.from('m'), keys.privateKey));
    const refuse = vi.spyOn(nc, 'createPublicKey').mockImplementation(() => {
      throw new Error('unsupported key');
    });
    const fresh = importPublicKey(keys.publicKeyPem); // a new key object: not in the key cache yet
    expect(ops.rsaSha256(fresh, data, sig)).toBeUndefined();
    expect(verifySignature(fresh, 'm', b64(sig), { crypto: nodeCrypto })).toBe(true);
    expect(verifySignature(fresh, 'n', b64(sig), { crypto: nodeCrypto })).toBe(false);
    refuse.mockRestore();
    const other = importPublicKey(keys.publicKeyPem);
    vi.spyOn(nc, 'verify').mockImplementation(() => {
      throw new Error('provider failure');
    });
    expect(ops.rsaSha256(other, data, sig)).toBeUndefined();
    expect(verifySignature(other, 'm', b64(sig), { crypto: nodeCrypto })).toBe(true);
    expect(verifySignature(other, 'n', b64(sig), { crypto: nodeCrypto })).toBe(false);
  });

  it('nodeCrypto computes in pure JS where the runtime has no node:crypto', async () => {
    const original = process.getBuiltinModule;
    vi.resetModules();
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
    try {
      const fresh = (await import('../src/crypto/native.js')) as typeof import('../src/crypto/native.js');
      const rsa = (await import('../src/crypto/rsa.js')) as typeof import('../src/crypto/rsa.js');
      const verify = vi.spyOn(nc, 'verify');
      expect(fresh.hasNodeCrypto()).toBe(false);
      const key = importPublicKey(keys.publicKeyPem);
      const ts = formatTimestamp(NOW);
      expect(rsa.verifySignature(key, `${CLIENT}|${ts}`, signText(keys.privateKey, `${CLIENT}|${ts}`), { crypto: fresh.nodeCrypto })).toBe(true);
      expect(rsa.verifySignature(key, `${CLIENT}|${ts}x`, signText(keys.privateKey, `${CLIENT}|${ts}`), { crypto: fresh.nodeCrypto })).toBe(false);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      process.getBuiltinModule = original;
      vi.resetModules();
    }
  });

  it('nodeCrypto opens keys as node:crypto reads them (JWK built from n and e)', () => {
    const key = importPublicKey(keys.publicKeyPem);
    const jwk = createPublicKey(keys.publicKeyPem).export({ format: 'jwk' });
    expect(BigInt(`0x${Buffer.from(jwk.n as string, 'base64url').toString('hex')}`)).toBe(key.n);
  });
});
