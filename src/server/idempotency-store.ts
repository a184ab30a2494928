/**
 * Idempotency stores: the first final answer to a business key (say `paymentRequestId`) is
 * kept with a fingerprint of the request, so a retry gets the same answer again without
 * running the merchant's code twice (Stripe's idempotency keys are the model).
 * @module
 */
import { BoundedExpiryMap, checkKeyAndToken, checkMaxEntries, checkTtl } from './claim-store.js';

/**
 * A final answer, as an idempotency store keeps it.
 * @category Stores
 */
export interface StoredAnswer {
  /** Fingerprint of the request that was answered (SHA-256 hex of its minified body). */
  readonly fingerprint: string;
  /** HTTP status answered (2xx or 4xx: 5xx answers are never stored). */
  readonly status: number;
  /** The response body, JSON text, exactly as sent. */
  readonly body: string;
}

/**
 * What {@link IdempotencyStore.begin} found:
 * - `{ state: 'started' }`: the key was free (or already begun under the same token): this
 *   caller now holds it until `ttlSeconds` from now, and must `complete` or `release` it;
 * - `{ state: 'in-flight' }`: another caller holds it and has not answered yet;
 * - `{ state: 'done', answer }`: it was answered; `answer` is what was sent.
 * @category Stores
 */
export type IdempotencyBegin =
  | { readonly state: 'started' }
  | { readonly state: 'in-flight' }
  | { readonly state: 'done'; readonly answer: StoredAnswer };

/**
 * Where idempotent answers live. All three methods act atomically on one key; `complete`
 * and `release` act only when the key is still held under `token` (compare-and-set,
 * compare-and-delete).
 * @category Stores
 */
export interface IdempotencyStore {
  /** Start a call under `key` with a short "pending" time to live; renews it when `token` already holds it. */
  begin(key: string, token: string, ttlSeconds: number): IdempotencyBegin | Promise<IdempotencyBegin>;
  /**
   * Store the final `answer` for `ttlSeconds` when `key` is held under `token` or free (the
   * hold lapsed and nobody took it); `true` when it is already stored under `token`;
   * `false` (nothing changed) when another token holds `key`.
   */
  complete(key: string, token: string, answer: StoredAnswer, ttlSeconds: number): boolean | Promise<boolean>;
  /** Free `key` when it is held under `token` and not answered; `false` (nothing changed) otherwise. */
  release(key: string, token: string): boolean | Promise<boolean>;
}

/**
 * Options of {@link createMemoryIdempotencyStore}.
 * @category Stores
 */
export interface MemoryIdempotencyStoreOptions {
  /**
   * Most unexpired keys held at once; default {@link DEFAULT_MAX_IDEMPOTENCY_KEYS} (500,000).
   * When full, a new key is refused
   * with a `StoreError` (`STORE_FULL`; the handler answers 500): a stored answer is never
   * forgotten before its time.
   */
  readonly maxEntries?: number;
  /** Clock (epoch ms); default `Date.now`. */
  readonly now?: () => number;
}

/**
 * An in-memory {@link IdempotencyStore}; every method is synchronous.
 * @category Stores
 */
export interface MemoryIdempotencyStore extends IdempotencyStore {
  begin(key: string, token: string, ttlSeconds: number): IdempotencyBegin;
  complete(key: string, token: string, answer: StoredAnswer, ttlSeconds: number): boolean;
  release(key: string, token: string): boolean;
  /** Keys currently held. */
  readonly size: number;
}

/**
 * Default `maxEntries` of {@link createMemoryIdempotencyStore}: 500,000 keys, a day of
 * payments at 5.7 per second on average with the default one-day `ttlSeconds`.
 * `npm run bench` reports the memory per key.
 * @category Stores
 */
export const DEFAULT_MAX_IDEMPOTENCY_KEYS = 500_000;

interface Entry {
  expiry: number;
  token: string;
  answer: StoredAnswer | undefined;
}

const STARTED: IdempotencyBegin = /* @__PURE__ */ Object.freeze({ state: 'started' });
const IN_FLIGHT: IdempotencyBegin = /* @__PURE__ */ Object.freeze({ state: 'in-flight' });

/** @internal */
export function checkStoredAnswer(answer: unknown, method: string): StoredAnswer {
  const a = answer as StoredAnswer;
  if (
    typeof a !== 'object' || a === null || typeof a.fingerprint !== 'string' || typeof a.body !== 'string' ||
    !Number.isInteger(a.status) || a.status < 200 || a.status > 499
  ) {
    throw new TypeError(`${method}: answer must be { fingerprint: string, status: 200-499, body: string }`);
  }
  return a;
}

/**
 * An in-memory {@link IdempotencyStore} with bounded memory, for one process (with several
 * instances use `createRedisIdempotencyStore`). It never forgets an unexpired key: when it
 * holds `maxEntries`, a new key throws `StoreError` `STORE_FULL`.
 *
 * @throws {@link !RangeError | RangeError} at creation when `maxEntries` is not a positive integer.
 * @throws {@link !TypeError | TypeError} at creation when `now` is not a function.
 *
 * @example
 * ```ts
 * import { createMemoryIdempotencyStore, createTransactionHandler } from 'nicepay-nico';
 *
 * const store = createMemoryIdempotencyStore({ maxEntries: 100_000 });
 * const payment = createTransactionHandler({
 *   ...paymentOptions, // serviceCode, clients, tokens, handle
 *   idempotency: { key: ({ body }) => body.paymentRequestId, store },
 * });
 * ```
 * @category Stores
 */
export function createMemoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): MemoryIdempotencyStore {
  const FN = 'createMemoryIdempotencyStore';
  const maxEntries = checkMaxEntries(options.maxEntries, DEFAULT_MAX_IDEMPOTENCY_KEYS, FN);
  const clock = options.now ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError(`${FN}: now must be a function returning epoch ms`);
  const map = new BoundedExpiryMap<Entry>(
    maxEntries,
    clock,
    `${FN}: the store is full (${maxEntries} unexpired keys) and refuses new keys rather than forget a stored answer, so the call is answered 500 and NICEPAY retries. ` +
      'Raise maxEntries, shorten idempotency.ttlSeconds, or use a shared store such as createRedisIdempotencyStore.',
  );

  return {
    get size() {
      return map.size;
    },
    begin(key, token, ttlSeconds) {
      checkKeyAndToken(key, token, 'begin');
      const ttl = checkTtl(ttlSeconds, 'begin');
      const now = map.now();
      const entry = map.live(key, now);
      if (entry) {
        if (entry.answer) return { state: 'done', answer: entry.answer };
        if (entry.token !== token) return IN_FLIGHT;
        entry.expiry = now + ttl * 1000;
        map.touched(entry);
        return STARTED;
      }
      map.set(key, { expiry: now + ttl * 1000, token, answer: undefined }, now);
      return STARTED;
    },
    complete(key, token, answer, ttlSeconds) {
      checkKeyAndToken(key, token, 'complete');
      const stored = checkStoredAnswer(answer, 'complete');
      const ttl = checkTtl(ttlSeconds, 'complete');
      const now = map.now();
      const entry = map.live(key, now);
      const final = { fingerprint: stored.fingerprint, status: stored.status, body: stored.body };
      if (!entry) {
        // The hold lapsed and nobody took the key: the call that ran still answers it.
        map.set(key, { expiry: now + ttl * 1000, token, answer: final }, now);
        return true;
      }
      if (entry.token !== token) return false;
      if (entry.answer) {
        // Already completed by this token: true for the same answer (a retried complete).
        const a = entry.answer;
        return a.fingerprint === final.fingerprint && a.status === final.status && a.body === final.body;
      }
      entry.answer = final;
      entry.expiry = now + ttl * 1000;
      map.touched(entry);
      return true;
    },
    release(key, token) {
      checkKeyAndToken(key, token, 'release');
      return map.deleteIf(key, (entry) => entry.answer === undefined && entry.token === token);
    },
  };
}
