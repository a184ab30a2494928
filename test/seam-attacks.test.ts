/**
 * Faults a fresh attack on the crypto seam and the request-path changes found, kept as
 * tests: options read through a config class's getters by every adapter, a merchant's
 * wrapper around a token issuer never bypassed, no forged or copied crypto provider, one RSA
 * verdict for keys OpenSSL refuses silently, and a process that exits once its server closes.
 */
import { execFile } from 'node:child_process';
import { generatePrimeSync, createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  buildSymmetricStringToSign,
  createAccessTokenIssuer,
  createMemoryIdempotencyStore,
  createTransactionHandler,
  formatTimestamp,
  importPublicKey,
  jsCrypto,
  signSymmetric,
  verifySignature,
  type AccessTokenIssuer,
} from '../src/index.js';
import { createFetchTransactionHandler } from '../src/adapters/fetch.js';
import { createNodeTransactionHandler, nodeCrypto } from '../src/adapters/node.js';
import { serve } from './helpers/serve.js';

const CLIENT = 'IONPAYTEST';
const SECRET = 'client-secret-of-the-sandbox';
const TOKEN_SECRET = 'token-secret-of-at-least-thirty-two-bytes';

function signed(path: string, token: string, body: string, externalId: string, second = 0) {
  const timestamp = formatTimestamp(Date.now() - 60_000 + second * 1000);
  const signature = signSymmetric(SECRET, buildSymmetricStringToSign({ method: 'POST', path, accessToken: token, body, timestamp }));
  return {
    'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': timestamp, 'X-PARTNER-ID': CLIENT,
    'X-EXTERNAL-ID': externalId, 'X-SIGNATURE': signature, 'CHANNEL-ID': CLIENT,
  };
}

describe('options of a config class (getters, inherited fields) reach every adapter', () => {
  it('idempotency given by a getter keeps a payment from running twice through the fetch and node adapters', async () => {
    const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
    const token = issuer.issue(CLIENT);
    const PATH = '/api/v1.0/cvs/payment';
    for (const adapter of ['fetch', 'node'] as const) {
      let paid = 0;
      class PaymentConfig {
        serviceCode = '48';
        clients = { [CLIENT]: { clientSecret: SECRET } };
        tokens = issuer;
        handle = async (_v: unknown, { answer }: { answer: { ok: (f: object) => object } }) => {
          paid++;
          return answer.ok({});
        };
        readonly #store = createMemoryIdempotencyStore();
        get idempotency() {
          return { key: ({ body }: { body: Record<string, unknown> }) => body.paymentRequestId, store: this.#store };
        }
      }
      const body = JSON.stringify({ paymentRequestId: `PAY-${adapter}`, paidAmount: { value: '1000.00', currency: 'IDR' } });
      const statuses: number[] = [];
      if (adapter === 'fetch') {
        const handler = createFetchTransactionHandler(new PaymentConfig() as never);
        for (const [i, ext] of ['EXT-1', 'EXT-2'].entries()) {
          statuses.push((await handler(new Request(`http://localhost${PATH}`, { method: 'POST', headers: signed(PATH, token, body, `${adapter}-${ext}`, i), body }))).status);
        }
      } else {
        const server = await serve(createNodeTransactionHandler(new PaymentConfig() as never));
        try {
          for (const [i, ext] of ['EXT-1', 'EXT-2'].entries()) {
            statuses.push((await fetch(`${server.url}${PATH}`, { method: 'POST', headers: signed(PATH, token, body, `${adapter}-${ext}`, i), body })).status);
          }
        } finally {
          await server.close();
        }
      }
      expect(statuses, adapter).toEqual([200, 200]); // the second is the first answer again
      expect(paid, adapter).toBe(1);
    }
  });
});

describe("a merchant's wrapper around a token issuer always runs", () => {
  it('a replaced verify, a Proxy and an Object.create wrapper each refuse a revoked token, on both crypto paths', async () => {
    const PATH = '/api/v1.0/cvs/inquiry';
    const revoked = new Set<string>();
    const guard = (verify: AccessTokenIssuer['verify']): AccessTokenIssuer['verify'] => (t, ...rest) => (revoked.has(t) ? { valid: false, reason: 'BAD_MAC' } : verify(t, ...rest));
    const patched = createAccessTokenIssuer({ secret: TOKEN_SECRET });
    const own = patched.verify;
    (patched as { verify: AccessTokenIssuer['verify'] }).verify = guard(own);
    const inner = createAccessTokenIssuer({ secret: TOKEN_SECRET });
    const proxy = new Proxy(inner, { get: (t, p, r) => (p === 'verify' ? guard(t.verify) : Reflect.get(t, p, r)) });
    const base = createAccessTokenIssuer({ secret: TOKEN_SECRET });
    const derived = Object.assign(Object.create(base) as AccessTokenIssuer, { verify: guard(base.verify) });
    const token = inner.issue(CLIENT);
    revoked.add(token);
    for (const [name, tokens] of Object.entries({ patched, proxy, derived })) {
      for (const crypto of [jsCrypto, nodeCrypto]) {
        const handler = createTransactionHandler({ serviceCode: '47', clients: { [CLIENT]: { clientSecret: SECRET } }, tokens, crypto, replayCache: false, externalIds: false, handle: () => ({ responseCode: '2004700', responseMessage: 'Successful' }) });
        const body = '{"paymentCode":"1"}';
        const res = await handler({ method: 'POST', path: PATH, headers: signed(PATH, token, body, '1'), body });
        expect([name, crypto.name, res.status, JSON.parse(res.body).responseCode]).toEqual([name, crypto.name, 401, '4014701']);
      }
    }
  });
});

describe("a merchant's wrapper added after the handler was made also runs", () => {
  it('issuer.verify replaced after createTransactionHandler: the revoked token is refused on both crypto paths, others still pass', async () => {
    const PATH = '/api/v1.0/cvs/inquiry';
    for (const crypto of [jsCrypto, nodeCrypto]) {
      const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
      const handler = createTransactionHandler({ serviceCode: '47', clients: { [CLIENT]: { clientSecret: SECRET } }, tokens: issuer, crypto, replayCache: false, externalIds: false, handle: () => ({ responseCode: '2004700', responseMessage: 'Successful' }) });
      const revokedToken = issuer.issue(CLIENT);
      const goodToken = issuer.issue(CLIENT);
      const own = issuer.verify;
      (issuer as { verify: AccessTokenIssuer['verify'] }).verify = (t, ...rest) => (t === revokedToken ? { valid: false, reason: 'BAD_MAC' } : own(t, ...rest));
      const body = '{"paymentCode":"1"}';
      const refused = await handler({ method: 'POST', path: PATH, headers: signed(PATH, revokedToken, body, '1'), body });
      const passed = await handler({ method: 'POST', path: PATH, headers: signed(PATH, goodToken, body, '2', 1), body });
      expect([crypto.name, refused.status, passed.status]).toEqual([crypto.name, 401, 200]);
    }
  });
});

describe('the provider registry', () => {
  it("never lets a registered provider's operations be replaced; crypto: null is refused like any non-provider", () => {
    const shared = (globalThis as unknown as Record<symbol, { register: (p: object, o: unknown) => void; set?: unknown }>)[Symbol.for('nicepay-nico.crypto-providers.v1')];
    expect(() => shared?.register(nodeCrypto, { rsaSha256: () => true })).toThrow(/registered once/);
    expect(shared?.set).toBeUndefined();
    expect(Object.isFrozen(shared)).toBe(true);
    expect(() => createTransactionHandler({ serviceCode: '47', clients: {}, tokens: createAccessTokenIssuer({ secret: TOKEN_SECRET }), crypto: null as never, handle: () => ({ responseCode: '2004700' }) })).toThrow(/createTransactionHandler: options\.crypto must be jsCrypto/);
  });

  it('loads, and works, when something else took the registry\'s global name first', async () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      Object.defineProperty(globalThis, Symbol.for('nicepay-nico.crypto-providers.v1'), { value: 42, configurable: false });
      const { verifySignature, importPublicKey, jsCrypto } = await import(${JSON.stringify(dist)});
      const key = importPublicKey(${JSON.stringify(createPublicKeyPem())});
      console.log(verifySignature(key, 'x', 'A'.repeat(344), { crypto: jsCrypto }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout.trim()).toBe('false');
  });
});

describe('only the package\'s own two providers', () => {
  it('refuses a copy, a Proxy, a derived object and an object carrying the old brand symbol', () => {
    const key = importPublicKey(createPublicKeyPem());
    const forged = [
      { ...nodeCrypto },
      Object.create(jsCrypto),
      new Proxy(nodeCrypto, {}),
      { name: 'node', [Symbol.for('nicepay-nico.crypto-provider')]: { rsaSha256: () => true } },
      { name: 'js', [Symbol.for('nicepay-nico.crypto-provider')]: null },
    ];
    for (const crypto of forged) {
      expect(() => verifySignature(key, 'x', 'A'.repeat(344), { crypto: crypto as never })).toThrow(/options\.crypto must be jsCrypto/);
    }
    expect(verifySignature(key, 'x', 'A'.repeat(344), { crypto: nodeCrypto })).toBe(false);
  });
});

function createPublicKeyPem(): string {
  // a fixed 2048-bit key is enough for refusals: any valid SPKI
  return '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\nkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ\n0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg\ncKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc\nmwIDAQAB\n-----END PUBLIC KEY-----\n';
}

describe('one RSA verdict for keys OpenSSL refuses by answering false', () => {
  it('a 4096-bit key with a 101-bit public exponent verifies on both paths', () => {
    const modPow = (b: bigint, e: bigint, m: bigint) => {
      let r = 1n;
      b %= m;
      for (; e > 0n; e >>= 1n) {
        if (e & 1n) r = (r * b) % m;
        b = (b * b) % m;
      }
      return r;
    };
    const inverse = (a: bigint, m: bigint): bigint | undefined => {
      let [r0, r1, x0, x1] = [a % m, m, 1n, 0n];
      while (r1 !== 0n) {
        const q = r0 / r1;
        [r0, r1] = [r1, r0 - q * r1];
        [x0, x1] = [x1, x0 - q * x1];
      }
      return r0 === 1n ? ((x0 % m) + m) % m : undefined;
    };
    const der = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, ...(body.length < 128 ? [body.length] : body.length < 256 ? [0x81, body.length] : [0x82, body.length >> 8, body.length & 255])]), body]);
    const int = (v: bigint) => {
      let b = Buffer.from(v.toString(16).padStart(Math.ceil(v.toString(16).length / 2) * 2, '0'), 'hex');
      if ((b[0] as number) & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
      return der(2, b);
    };
    let p: bigint, q: bigint, e: bigint, d: bigint | undefined;
    do {
      p = generatePrimeSync(2048, { bigint: true });
      q = generatePrimeSync(2048, { bigint: true });
      e = generatePrimeSync(101, { bigint: true });
      d = inverse(e, (p - 1n) * (q - 1n));
    } while (d === undefined || (p * q).toString(2).length !== 4096);
    const n = p * q;
    const spki = der(0x30, Buffer.concat([Buffer.from('300d06092a864886f70d0101010500', 'hex'), der(3, Buffer.concat([Buffer.from([0]), der(0x30, Buffer.concat([int(n), int(e)]))]))]));
    const key = importPublicKey(new Uint8Array(spki));
    const msg = 'IONPAYTEST|2024-01-01T00:00:00+07:00';
    const t = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update(msg).digest()]);
    const em = Buffer.alloc(512, 0xff);
    em[0] = 0;
    em[1] = 1;
    em[512 - t.length - 1] = 0;
    t.copy(em, 512 - t.length);
    const sig = Buffer.from(modPow(BigInt(`0x${em.toString('hex')}`), d, n).toString(16).padStart(1024, '0'), 'hex').toString('base64');
    expect(verifySignature(key, msg, sig, { crypto: jsCrypto })).toBe(true);
    expect(verifySignature(key, msg, sig, { crypto: nodeCrypto })).toBe(true);
    expect(verifySignature(key, `${msg}x`, sig, { crypto: nodeCrypto })).toBe(false);
  }, 60_000);
});

describe('no timer keeps the process alive once the server is closed', () => {
  it('a node:http server with the adapter, one call, close: the process exits at once, not after bodyTimeoutMs', async () => {
    const dist = fileURLToPath(new URL('../dist/node.js', import.meta.url));
    const script = `
      import http from 'node:http';
      const { createNodeHandler } = await import(${JSON.stringify(dist)});
      const server = http.createServer(createNodeHandler({ clients: { IONPAYTEST: ${JSON.stringify(createPublicKeyPem())} }, tokenSecret: 'x'.repeat(40), bodyTimeoutMs: 60000 }));
      server.listen(0, '127.0.0.1', async () => {
        const res = await fetch('http://127.0.0.1:' + server.address().port + '/api/v1.0/access-token/b2b', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        await res.text();
        server.closeAllConnections();
        server.close();
        console.log(res.status);
      });`;
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout.trim()).toBe('400');
    expect(Date.now() - started).toBeLessThan(10_000); // bodyTimeoutMs is 60 s: the shared timer let go
  }, 40_000);
});
