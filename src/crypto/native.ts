/**
 * `nodeCrypto`: the crypto provider on the runtime's `node:crypto` (OpenSSL on Node, BoringSSL
 * on Bun and on Cloudflare Workers with `nodejs_compat`), found at run time through
 * `process.getBuiltinModule`: this file imports nothing from `node:`, so it loads on every
 * runtime, and where no such module exists every operation runs on the pure JavaScript
 * provider instead (on Deno, SHA256withRSA does: its node:crypto RSA is slower).
 * @module
 */
import { encodeBase64Url } from './hmac.js';
import { bigIntToBytes } from './bytes.js';
import { defineCryptoProvider, type CryptoOps, type CryptoProvider, type HmacHash } from './provider.js';
import { JS_OPS } from './js-ops.js';
import type { RsaPublicKey } from './keys.js';

/** The part of `node:crypto` used here (typed here so the package's types need no `@types/node`). */
interface HashLike {
  update(data: string | Uint8Array): HashLike;
  digest(): Uint8Array;
  digest(encoding: 'hex'): string;
}
interface NodeCryptoLike {
  createPublicKey(input: { key: { kty: 'RSA'; n: string; e: string }; format: 'jwk' }): object;
  verify(algorithm: string, data: Uint8Array, key: object, signature: Uint8Array): boolean;
  createSecretKey(key: Uint8Array): object;
  createHmac(algorithm: string, key: object): HashLike;
  createHash(algorithm: string): HashLike;
  hash?: (algorithm: string, data: string, outputEncoding: 'hex' | 'base64url') => string;
}

function findNodeCrypto(): NodeCryptoLike | undefined {
  try {
    const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
    const mod = typeof get === 'function' ? (get('crypto') as Partial<NodeCryptoLike> | undefined) : undefined;
    const ok =
      mod !== undefined &&
      mod !== null &&
      typeof mod.createPublicKey === 'function' &&
      typeof mod.verify === 'function' &&
      typeof mod.createSecretKey === 'function' &&
      typeof mod.createHmac === 'function' &&
      typeof mod.createHash === 'function';
    return ok ? (mod as NodeCryptoLike) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The operations on `nc`. `rsa: false` leaves SHA256withRSA to the pure path: Deno's
 * node:crypto verifies it about 4x slower than the pure path (188 µs against 45 µs), while
 * its HMAC-SHA512 is 1.4x faster (bench/webcrypto.bench.mjs, Deno 2.9).
 */
/** Public exponents above this go to the pure path (OpenSSL's limit is 64 bits for large moduli). */
const MAX_NATIVE_EXPONENT = 0xffffffffn;

function nodeOps(nc: NodeCryptoLike, rsa: boolean): CryptoOps {
  const keyObjects = new WeakMap<RsaPublicKey, object | null>();
  const keyObjectOf = (key: RsaPublicKey): object | null => {
    let keyObject = keyObjects.get(key);
    if (keyObject === undefined) {
      try {
        const jwk = { kty: 'RSA' as const, n: encodeBase64Url(bigIntToBytes(key.n, key.byteLength)), e: encodeBase64Url(bigIntToBytes(key.e, Math.ceil(key.e.toString(16).length / 2))) };
        keyObject = nc.createPublicKey({ key: jwk, format: 'jwk' });
      } catch {
        keyObject = null; // a key this runtime will not take: the pure path decides for it
      }
      keyObjects.set(key, keyObject);
    }
    return keyObject;
  };
  const oneShot = typeof nc.hash === 'function' ? nc.hash.bind(nc) : undefined;
  return {
    sha256Hex: oneShot ? (text) => oneShot('sha256', text, 'hex') : (text) => nc.createHash('sha256').update(text).digest('hex'),
    sha256: (bytes) => nc.createHash('sha256').update(bytes).digest(),
    sha256Base64Url: oneShot ? (text) => oneShot('sha256', text, 'base64url') : (text) => encodeBase64Url(nc.createHash('sha256').update(text).digest()),
    hmac(hash: HmacHash, key, prefix) {
      const secret = nc.createSecretKey(key);
      if (prefix === undefined) return (message) => nc.createHmac(hash, secret).update(message).digest();
      return (message) => nc.createHmac(hash, secret).update(prefix).update(message).digest();
    },
    rsaSha256(key, message, signature) {
      // OpenSSL refuses some keys by answering false, not by throwing: a public exponent over
      // 64 bits with a modulus over 3072 bits, a modulus over 16384 bits. Those (no NICEPAY
      // key is one) stay on the pure path, so both paths keep one verdict.
      if (!rsa || key.e > MAX_NATIVE_EXPONENT || key.bits > 16_384) return undefined;
      const keyObject = keyObjectOf(key);
      if (keyObject === null) return undefined;
      try {
        return nc.verify('sha256', message, keyObject, signature);
      } catch {
        return undefined; // the pure path decides
      }
    },
  };
}

let resolved: CryptoOps | undefined;
/** The native operations, or the pure ones where the runtime has no `node:crypto`; looked up once. */
function native(): CryptoOps {
  if (resolved === undefined) {
    const nc = findNodeCrypto();
    resolved = nc === undefined ? JS_OPS : nodeOps(nc, typeof (globalThis as { Deno?: unknown }).Deno === 'undefined');
  }
  return resolved;
}

/** `true` when `nodeCrypto` runs on the runtime's `node:crypto` here; `false` when it falls back to pure JavaScript. @internal */
export function hasNodeCrypto(): boolean {
  return native() !== JS_OPS;
}

/**
 * Crypto on the runtime's `node:crypto`: OpenSSL on Node, BoringSSL on Bun and on Cloudflare
 * Workers with the `nodejs_compat` flag; SHA256withRSA several times faster than pure
 * JavaScript there (the measured figures: the README's "Speed and size"). The default
 * of every adapter: `createNodeHandler`, `createNodeTransactionHandler`, the Express
 * middlewares, `fastifyNico`, the Next route handlers and `createFetchHandler` /
 * `createFetchTransactionHandler`; pass it as `crypto` to the core handlers to get the same.
 * The library's checks (strict base64, exact length, `s < n`, key size, constant-time
 * comparison) run before it exactly as before {@link nicepay-nico!jsCrypto | jsCrypto}, so both give the same
 * verdict on every input. Found at run time through `process.getBuiltinModule('crypto')`,
 * so importing it never fails; where the runtime has no such module (Workers without
 * `nodejs_compat`, browsers) it computes in pure JavaScript, and on Deno its RSA step does
 * (Deno's `node:crypto` RSA is 4x slower than the pure path; its HMAC is faster and is
 * used). Figures: `npm run bench`.
 *
 * @example
 * ```ts
 * import { createAccessTokenHandler } from 'nicepay-nico';
 * import { nodeCrypto } from 'nicepay-nico/node';
 *
 * // Hono, or any server that calls the core handler itself, on Node: with OpenSSL
 * const handle = createAccessTokenHandler({ clients, tokenSecret, crypto: nodeCrypto });
 * ```
 * @category Crypto
 */
export const nodeCrypto: CryptoProvider = /* @__PURE__ */ defineCryptoProvider('node', {
  sha256Hex: (text) => native().sha256Hex(text),
  sha256: (bytes) => native().sha256(bytes),
  sha256Base64Url: (text) => native().sha256Base64Url(text),
  hmac: (hash, key, prefix) => native().hmac(hash, key, prefix),
  rsaSha256: (key, message, signature) => native().rsaSha256(key, message, signature),
});

