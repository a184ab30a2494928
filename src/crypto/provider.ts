/**
 * The crypto seam: the hash, HMAC and RSA primitives that the request checks run on. The
 * library's own checks (strict base64, exact lengths, `s < n`, the key floor, constant-time
 * comparison) always run in front of a provider, in the same code for every provider, so
 * every provider accepts and refuses exactly the same inputs; a provider only computes.
 *
 * Two providers exist, and no other can be made: {@link jsCrypto} (pure JavaScript on
 * `@noble/hashes` and `BigInt`, the default, on every runtime) and `nodeCrypto` (the
 * runtime's OpenSSL or BoringSSL through `node:crypto`, the default of the Node, Fastify and
 * Next adapters; exported by `nicepay-nico/node`).
 * @module
 */
import { kindOf } from './bytes.js';
import type { RsaPublicKey } from './keys.js';

/** A type-only brand: no object literal type-checks as a provider (the objects do not carry it). */
declare const providerBrand: unique symbol;

/** What the copies of this package share: providers in, operations out; an entry is never replaced. */
interface Registry {
  readonly v: 1;
  register(provider: object, ops: CryptoOps | null): void;
  get(provider: unknown): CryptoOps | null | undefined;
}

/**
 * The providers this package made, with their operations, shared by its ESM and CommonJS
 * copies through one non-writable `globalThis` entry. A provider is recognised by identity,
 * never by its shape: a copy, a Proxy or a look-alike object is refused, and a registered
 * provider's operations can never be replaced. This keeps mistakes out, not hostile code:
 * code running in the process can always change what the library computes with (it can
 * patch `node:crypto` itself).
 */
const REGISTRY = Symbol.for('nicepay-nico.crypto-providers.v1');

function makeRegistry(): Registry {
  const map = new WeakMap<object, CryptoOps | null>();
  const has = WeakMap.prototype.has;
  const get = WeakMap.prototype.get;
  const set = WeakMap.prototype.set;
  return Object.freeze({
    v: 1 as const,
    register(provider: object, ops: CryptoOps | null): void {
      if (has.call(map, provider)) throw new TypeError('nicepay-nico: a crypto provider is registered once');
      set.call(map, provider, ops);
    },
    get(provider: unknown): CryptoOps | null | undefined {
      return typeof provider === 'object' && provider !== null ? (get.call(map, provider) as CryptoOps | null | undefined) : undefined;
    },
  });
}

const isRegistry = (value: unknown): value is Registry =>
  typeof value === 'object' && value !== null && Object.isFrozen(value) && (value as Registry).v === 1 && typeof (value as Registry).get === 'function' && typeof (value as Registry).register === 'function';

let found: Registry | undefined;
function registry(): Registry {
  if (found !== undefined) return found;
  const g = globalThis as unknown as Record<symbol, unknown>;
  let shared: unknown;
  try {
    shared = g[REGISTRY];
  } catch {
    shared = undefined;
  }
  if (isRegistry(shared)) {
    found = shared;
  } else {
    found = makeRegistry();
    try {
      Object.defineProperty(globalThis, REGISTRY, { value: found, writable: false, enumerable: false, configurable: false });
    } catch {
      // The name is taken by something else: this copy keeps its own registry (the other
      // copy's providers are then refused, by name, rather than anything being trusted).
    }
  }
  return found;
}

/** The hashes an HMAC is made with here. @internal */
export type HmacHash = 'sha256' | 'sha512';

/**
 * What a provider computes. Every input has passed the library's checks already.
 * @internal
 */
export interface CryptoOps {
  /** SHA-256 of the UTF-8 bytes of `text`, as lowercase hex. */
  sha256Hex(text: string): string;
  /** SHA-256 of bytes (32 bytes). */
  sha256(bytes: Uint8Array): Uint8Array;
  /** SHA-256 of the UTF-8 bytes of `text`, as base64url without padding (43 characters). */
  sha256Base64Url(text: string): string;
  /** HMAC keyed once with `key`; each call hashes `prefix` (if any), then `message` (a string is its UTF-8 bytes). */
  hmac(hash: HmacHash, key: Uint8Array, prefix?: Uint8Array): (message: string | Uint8Array) => Uint8Array;
  /**
   * RSASSA-PKCS1-v1_5 with SHA-256 over `message`, or `undefined` when this provider cannot
   * decide (the caller then opens the signature itself). Only called once the signature is
   * exactly `key.byteLength` bytes and, as a number, below the modulus.
   */
  rsaSha256(key: RsaPublicKey, message: Uint8Array, signature: Uint8Array): boolean | undefined;
}

/**
 * The crypto a verification runs on: {@link jsCrypto} (pure JavaScript, the default) or
 * `nodeCrypto` from `nicepay-nico/node` (the runtime's `node:crypto`). Only these two exist:
 * any other object is refused with a `TypeError`. Both give the same verdict for every
 * input: the library's checks run first, the same for both, and the test suites run every
 * vector through both.
 * @category Crypto
 */
export interface CryptoProvider {
  /** `'js'` (pure JavaScript: `@noble/hashes`, `BigInt`) or `'node'` (`node:crypto`: OpenSSL, or the runtime's own). */
  readonly name: 'js' | 'node';
  /** @internal */
  readonly [providerBrand]: true;
}

/** Make a provider; `null` operations: the library's own pure JavaScript. @internal */
export function defineCryptoProvider(name: CryptoProvider['name'], ops: CryptoOps | null): CryptoProvider {
  const provider = Object.freeze({ name });
  registry().register(provider, ops);
  return provider as unknown as CryptoProvider;
}

/**
 * Pure JavaScript crypto (`@noble/hashes` for SHA-2 and HMAC, `BigInt` for RSA): the default
 * everywhere, and the one that runs on every runtime unchanged.
 *
 * @example
 * ```ts
 * import { createAccessTokenHandler, jsCrypto } from 'nicepay-nico';
 *
 * const handle = createAccessTokenHandler({ clients, tokenSecret, crypto: jsCrypto }); // the default, said out loud
 * ```
 * @category Crypto
 */
export const jsCrypto: CryptoProvider = /* @__PURE__ */ defineCryptoProvider('js', null);

/**
 * The operations of a `crypto` option, or `undefined` for pure JavaScript ({@link jsCrypto},
 * or no option): each caller then runs its own pure code (`js-ops.ts`), so a bundle carries
 * only the hashes it uses.
 * @throws {@link !TypeError | TypeError} for anything that is not a provider of this package.
 * @internal
 */
export function cryptoOps(provider: unknown, fn: string): CryptoOps | undefined {
  if (provider === undefined) return undefined;
  const ops = registry().get(provider);
  if (ops === undefined) {
    throw new TypeError(`${fn}: options.crypto must be jsCrypto (exported by nicepay-nico) or nodeCrypto (exported by nicepay-nico/node), got ${kindOf(provider)}`);
  }
  return ops ?? undefined;
}
