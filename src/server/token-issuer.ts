/**
 * Stateless access tokens: HMAC-signed, bound to a client key, expiring, rotatable.
 * @module
 */
import { kindOf, timingSafeEqual, utf8 } from '../crypto/bytes.js';
import { decodeBase64Url, encodeBase64Url } from '../crypto/hmac.js';
import { cryptoOps, type CryptoOps, type CryptoProvider } from '../crypto/provider.js';
import { jsHmac } from '../crypto/js-ops.js';
import { fillRandom } from '../crypto/random.js';
import { isWellFormedClientKey } from '../protocol/access-token-request.js';
import { MAX_ACCESS_TOKEN_LENGTH } from '../protocol/token-response.js';
import type { AccessTokenCheck } from '../protocol/token-check.js';
import { UNSET_HINT, unsetValue } from './config-checks.js';

/**
 * A secret for {@link createAccessTokenIssuer}: at least 32 bytes (as UTF-8 for a string).
 * @category Token
 */
export type TokenSecret = string | Uint8Array;

/**
 * Options of {@link createAccessTokenIssuer}. Give `secret`, or `secrets` for rotation.
 * @category Token
 */
export interface AccessTokenIssuerOptions {
  /** The signing secret, at least 32 bytes. */
  readonly secret?: TokenSecret;
  /** Secrets for rotation: `secrets[0]` signs new tokens, every one of them verifies. */
  readonly secrets?: readonly TokenSecret[];
  /** Token lifetime in seconds. Default 900 (15 minutes, NICO's value). */
  readonly ttlSeconds?: number;
  /**
   * The crypto of the token's HMAC-SHA256: {@link jsCrypto} (default) or `nodeCrypto` from
   * `nicepay-nico/node`. A transaction handler given this issuer as `tokens` verifies with
   * its own `crypto` option either way (the adapters' default is `nodeCrypto`).
   */
  readonly crypto?: CryptoProvider;
}

export type { AccessTokenCheck, AccessTokenFailure } from '../protocol/token-check.js';

/**
 * Issues and verifies stateless access tokens.
 * @category Token
 */
export interface AccessTokenIssuer {
  /** Lifetime of issued tokens, in seconds. */
  readonly ttlSeconds: number;
  /** Issue a token for `clientKey`, valid `ttlSeconds` from `now` (epoch ms, default `Date.now()`). */
  issue(clientKey: string, now?: number): string;
  /**
   * Check a token at `now` (epoch ms, default `Date.now()`); with `expectedClientKey`,
   * a token of another client is refused as `OTHER_CLIENT`. Never throws for a bad token.
   */
  verify(token: string, now?: number, expectedClientKey?: string): AccessTokenCheck;
}

const VERSION = 1;
const NONCE_BYTES = 16;
const HEADER_BYTES = 1 + 4 + NONCE_BYTES; // version, expiry (uint32 seconds), nonce
const MAC_BYTES = 32;
const MAC_CHARS = 43; // base64url of 32 bytes
// Domain separation for the HMAC, kept short so that the prefix and a payload with a client
// key of up to 16 characters fit one SHA-256 block (one compression fewer per token).
const DOMAIN = /* @__PURE__ */ utf8('nico-at\x01');
const MIN_SECRET_BYTES = 32;
/**
 * The longest client key whose token still fits NICO's 150 characters.
 * @category Token
 */
export const MAX_TOKEN_CLIENT_KEY_LENGTH = Math.floor(((MAX_ACCESS_TOKEN_LENGTH - 1 - MAC_CHARS) * 3) / 4) - HEADER_BYTES;

function secretBytes(secret: unknown, fn: string, name: string): Uint8Array {
  const unset = unsetValue(secret);
  if (unset !== undefined) throw new TypeError(`${fn}: ${name} is ${unset} ${UNSET_HINT}`);
  const bytes = typeof secret === 'string' ? utf8(secret) : secret instanceof Uint8Array ? secret : undefined;
  if (!bytes) throw new TypeError(`${fn}: ${name} must be a string or Uint8Array, got ${kindOf(secret)}`);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(
      `${fn}: ${name} is ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} are required. ` +
        'Generate one with: node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))"',
    );
  }
  return bytes.slice();
}

const clockOf = (now: number | undefined, fn: string): number => {
  const value = now ?? Date.now();
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${fn}: now must be epoch milliseconds`);
  return value;
};

/**
 * Create an issuer of stateless access tokens. A token is
 * `base64url(version | expiry | 16 random bytes | client key) "." base64url(HMAC-SHA256)`:
 * at most 150 characters, only RFC 6750 token characters, bound to the client key, expiring
 * after `ttlSeconds`, never twice the same, verified in constant time. Any number of server
 * instances sharing the secret verify each other's tokens with no shared store.
 *
 * @throws {@link !TypeError | TypeError} or {@link !RangeError | RangeError} for a missing
 * secret (`secret is undefined (an unset environment variable?)`,
 * `secrets[1] is an empty string ...`), a secret under 32 bytes (`secrets[1] is 31 bytes; at least 32 are
 * required`), or a bad `ttlSeconds`. Messages name the option and the index, never the secret.
 *
 * @example
 * ```ts
 * import { createAccessTokenIssuer } from 'nicepay-nico';
 *
 * const issuer = createAccessTokenIssuer({ secrets: [process.env.TOKEN_SECRET!, process.env.OLD_TOKEN_SECRET!] });
 * const token = issuer.issue('IONPAYTEST');
 * issuer.verify(token); // { valid: true, clientKey: 'IONPAYTEST', expiresAt: ... }
 * issuer.verify(token, Date.now() + 901_000); // { valid: false, reason: 'EXPIRED' }
 * ```
 * @category Token
 */
export function createAccessTokenIssuer(options: AccessTokenIssuerOptions): AccessTokenIssuer {
  const fn = 'createAccessTokenIssuer';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}: options must be { secret } or { secrets }`);
  if (options.secret === undefined && options.secrets === undefined) {
    // { secret: process.env.TOKEN_SECRET } with the variable unset.
    for (const name of ['secret', 'secrets'] as const) {
      if (Object.prototype.hasOwnProperty.call(options, name)) throw new TypeError(`${fn}: ${name} is undefined ${UNSET_HINT}`);
    }
  }
  if ((options.secret === undefined) === (options.secrets === undefined)) {
    throw new TypeError(`${fn}: give exactly one of secret or secrets`);
  }
  const ops = cryptoOps(options.crypto, fn);
  if (options.secrets !== undefined) {
    if (!Array.isArray(options.secrets) || options.secrets.length === 0) throw new TypeError(`${fn}: secrets must be a non-empty array`);
    return issuerOf(options.secrets, (i) => `secrets[${i}]`, options.ttlSeconds ?? 900, fn, ops);
  }
  return issuerOf([options.secret], () => 'secret', options.ttlSeconds ?? 900, fn, ops);
}

/**
 * The issuer of a handler's `tokenSecret` option: messages name the option (`tokenSecret`,
 * `tokenSecret[1]`), not the issuer's. @internal
 */
export function issuerFromOption(value: unknown, option: string, ttlSeconds: number, fn: string, ops: CryptoOps | undefined): AccessTokenIssuer {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new TypeError(`${fn}: ${option} must be a secret or a non-empty array of secrets (the first signs)`);
    return issuerOf(value, (i) => `${option}[${i}]`, ttlSeconds, fn, ops);
  }
  return issuerOf([value], () => option, ttlSeconds, fn, ops);
}

/**
 * The issuers this copy of the package made, each with its own `verify` and the way to make
 * it again on other crypto. Private to this module: nothing outside can register an object.
 */
const issuers = /* @__PURE__ */ new WeakMap<object, { readonly verify: AccessTokenIssuer['verify']; readonly on: (ops: CryptoOps | undefined) => AccessTokenIssuer }>();

/**
 * `tokens` verified on `ops`: an issuer this package made verifies on them (the same
 * secrets and lifetime) for as long as its `verify` is still its own, checked on every
 * call; anything else (a wrapper, a Proxy, an issuer whose `verify` was replaced, before or
 * after the handler was made, a lookup function, an issuer of the other module copy) is
 * used as it is, so the merchant's own checks always run. @internal
 */
export function tokensOnCrypto<T>(tokens: T, ops: CryptoOps | undefined): T {
  if (typeof tokens !== 'object' || tokens === null) return tokens;
  const entry = issuers.get(tokens);
  if (entry === undefined) return tokens;
  const issuer = tokens as unknown as AccessTokenIssuer;
  const remade = entry.on(ops);
  const verifier: Pick<AccessTokenIssuer, 'verify'> = {
    verify: (token, now, expectedClientKey) => {
      const current = issuer.verify; // read on every call: a replacement made later counts
      return current === entry.verify ? remade.verify(token, now, expectedClientKey) : current.call(issuer, token, now, expectedClientKey);
    },
  };
  return verifier as unknown as T;
}

/** The issuer of checked options; each secret is named by `nameOf(index)` in messages. */
function issuerOf(list: readonly unknown[], nameOf: (index: number) => string, ttlSeconds: number, fn: string, ops: CryptoOps | undefined): AccessTokenIssuer {
  // One prepared HMAC per secret, keyed with the domain prefix once.
  const keys = list.map((secret, i) => secretBytes(secret, fn, nameOf(i)));
  const macs = keys.map((key) => (ops ? ops.hmac : jsHmac)('sha256', key, DOMAIN));
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 86_400) {
    throw new RangeError(`${fn}: ttlSeconds must be a whole number of seconds from 1 to 86400, got ${String(ttlSeconds)}`);
  }
  const sign = macs[0] as (payload: Uint8Array) => Uint8Array;

  const issuer: AccessTokenIssuer = {
    ttlSeconds,
    issue(clientKey, now) {
      if (typeof clientKey !== 'string' || !isWellFormedClientKey(clientKey)) {
        throw new TypeError('issue: clientKey must be 1-128 visible ASCII characters without "|" or ","');
      }
      if (clientKey.length > MAX_TOKEN_CLIENT_KEY_LENGTH) {
        throw new RangeError(
          `issue: a client key of ${clientKey.length} characters does not fit a ${MAX_ACCESS_TOKEN_LENGTH}-character token ` +
            `(at most ${MAX_TOKEN_CLIENT_KEY_LENGTH}); use issueToken with stored tokens instead`,
        );
      }
      const expiry = Math.floor(clockOf(now, 'issue') / 1000) + ttlSeconds;
      const key = utf8(clientKey);
      const payload = new Uint8Array(HEADER_BYTES + key.length);
      const view = new DataView(payload.buffer);
      payload[0] = VERSION;
      view.setUint32(1, expiry);
      fillRandom(payload.subarray(5, HEADER_BYTES));
      payload.set(key, HEADER_BYTES);
      return `${encodeBase64Url(payload)}.${encodeBase64Url(sign(payload))}`;
    },
    verify(token, now, expectedClientKey) {
      const nowMs = clockOf(now, 'verify');
      if (typeof token !== 'string' || token.length > MAX_ACCESS_TOKEN_LENGTH) return { valid: false, reason: 'MALFORMED' };
      const dot = token.indexOf('.');
      if (dot < 0 || token.length - dot - 1 !== MAC_CHARS) return { valid: false, reason: 'MALFORMED' };
      let payload: Uint8Array;
      let tag: Uint8Array;
      try {
        payload = decodeBase64Url(token.slice(0, dot));
        tag = decodeBase64Url(token.slice(dot + 1));
      } catch {
        return { valid: false, reason: 'MALFORMED' };
      }
      if (payload.length <= HEADER_BYTES || payload[0] !== VERSION || tag.length !== MAC_BYTES) {
        return { valid: false, reason: 'MALFORMED' };
      }
      let matched = false;
      for (const mac of macs) matched = timingSafeEqual(mac(payload), tag) || matched;
      if (!matched) return { valid: false, reason: 'BAD_MAC' };
      const expiresAt = new DataView(payload.buffer, payload.byteOffset).getUint32(1) * 1000;
      if (nowMs >= expiresAt) return { valid: false, reason: 'EXPIRED' };
      const clientKey = new TextDecoder().decode(payload.subarray(HEADER_BYTES));
      if (expectedClientKey !== undefined && clientKey !== expectedClientKey) return { valid: false, reason: 'OTHER_CLIENT' };
      return { valid: true, clientKey, expiresAt };
    },
  };
  // The same issuer on other crypto (same secrets, lifetime and checks), made once per provider.
  const others = new Map<CryptoOps | undefined, AccessTokenIssuer>([[ops, issuer]]);
  issuers.set(issuer, {
    verify: issuer.verify,
    on: (other) => {
      let made = others.get(other);
      if (made === undefined) {
        made = issuerOf(keys, nameOf, ttlSeconds, fn, other);
        others.set(other, made);
      }
      return made;
    },
  });
  return issuer;
}
