/**
 * Claim stores: the signature replay guard and the X-EXTERNAL-ID uniqueness check of the
 * handlers go through this small interface. A claim is *reserved* while a call is in flight
 * and then *kept* (the call was answered) or *released* (the call failed with a 5xx, so
 * NICEPAY's retry must be processed).
 * @module
 */
import { StoreError } from './store-error.js';

/**
 * What {@link ClaimStore.reserve} found:
 * - `'reserved'`: the key was free (or already reserved under the same token): it is now
 *   reserved for this caller until `ttlSeconds` from now;
 * - `'pending'`: another caller holds a reservation that is neither kept nor released yet
 *   (a call in flight);
 * - `'kept'`: the key was claimed for good (a call that was answered, or a {@link ClaimStore.claim}).
 * @category Stores
 */
export type ReserveResult = 'reserved' | 'pending' | 'kept';

/**
 * A store that lets each key be claimed once within its time to live.
 *
 * `claim` is the whole interface of a simple store. The three lifecycle methods
 * (`reserve`, `keep`, `release`) are what lets a failed call leave no trace: give all
 * three or none. Both built-in stores ({@link createMemoryClaimStore},
 * `createRedisClaimStore`) have them. With `claim` alone, a claim taken by a call that
 * then fails (`handle()` throws, a 5xx answer) stays until it expires, so NICEPAY's retry
 * with the same `X-EXTERNAL-ID` is refused with `409`.
 *
 * Every reservation carries a token unique to it; `keep` and `release` act only when the
 * key still holds that token (compare-and-set, compare-and-delete), so one caller can never
 * keep or release another caller's claim.
 * @category Stores
 */
export interface ClaimStore {
  /**
   * Claim `key` for good, for `ttlSeconds`. Returns `true` when the key was free (now
   * claimed), `false` when it is held (reserved or claimed) and not yet expired.
   */
  claim(key: string, ttlSeconds: number): boolean | Promise<boolean>;
  /**
   * Reserve `key` under `token` for `ttlSeconds` (a short "pending" time to live). A key
   * already reserved under the same `token` is renewed for `ttlSeconds` from now.
   */
  reserve?(key: string, token: string, ttlSeconds: number): ReserveResult | Promise<ReserveResult>;
  /**
   * Turn the reservation `token` holds on `key` into a kept claim that lasts `ttlSeconds`
   * from now; a key that is free (the reservation lapsed and nobody took it) is claimed
   * too. Returns `false` (and changes nothing) when another token holds `key`.
   */
  keep?(key: string, token: string, ttlSeconds: number): boolean | Promise<boolean>;
  /**
   * Delete `key` when it holds a reservation under `token` (compare-and-delete). Returns
   * `false` (and changes nothing) otherwise: a kept claim, or another caller's, is never deleted.
   */
  release?(key: string, token: string): boolean | Promise<boolean>;
}

/**
 * Options of {@link createMemoryClaimStore}.
 * @category Stores
 */
export interface MemoryClaimStoreOptions {
  /**
   * Most unexpired claims held at once; default {@link DEFAULT_MAX_CLAIMS} (500,000). When
   * full, a new claim is refused with a `StoreError` (`STORE_FULL`), which the handlers
   * answer with `500` so NICEPAY retries: an unexpired claim is never forgotten.
   */
  readonly maxEntries?: number;
  /** Clock (epoch ms); default `Date.now`. */
  readonly now?: () => number;
}

/**
 * An in-memory {@link ClaimStore} for one process; every method is synchronous.
 * @category Stores
 */
export interface MemoryClaimStore extends Required<ClaimStore> {
  claim(key: string, ttlSeconds: number): boolean;
  reserve(key: string, token: string, ttlSeconds: number): ReserveResult;
  keep(key: string, token: string, ttlSeconds: number): boolean;
  release(key: string, token: string): boolean;
  /** Claims currently held (expired ones are dropped as new claims arrive). */
  readonly size: number;
  /** The `maxEntries` limit. */
  readonly maxEntries: number;
}

/**
 * Default `maxEntries` of {@link createMemoryClaimStore}: an `X-EXTERNAL-ID` is held until
 * the end of its day (at most 24 h plus the clock window), so 500,000 holds a whole day at
 * 5.7 calls per second on average; a signature is held 15 minutes after its X-TIMESTAMP (at
 * most 20 minutes with the default 300 s window), so 500,000 holds 415 signed calls per second.
 * `npm run bench` reports the memory per claim.
 * @category Stores
 */
export const DEFAULT_MAX_CLAIMS = 500_000;

interface Entry {
  expiry: number;
  /** The reservation's token; `undefined` for a plain claim. */
  token: string | undefined;
  pending: boolean;
}

/** @internal */
export function checkTtl(ttlSeconds: unknown, method: string): number {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || !(ttlSeconds > 0) || ttlSeconds > 1e9) {
    throw new RangeError(`${method}: ttlSeconds must be a positive number of seconds (at most 1e9), got ${String(ttlSeconds)}`);
  }
  return ttlSeconds;
}

/** @internal */
export function checkKeyAndToken(key: unknown, token: unknown, method: string): void {
  if (typeof key !== 'string') throw new TypeError(`${method}: key must be a string`);
  if (token !== undefined && (typeof token !== 'string' || token === '')) throw new TypeError(`${method}: token must be a non-empty string`);
}

/**
 * An in-memory map from key to expiry with bounded memory that never forgets an unexpired
 * entry: when full, {@link StoreError} `STORE_FULL` instead. Shared by the claim and
 * idempotency stores.
 * @internal
 */
export class BoundedExpiryMap<V extends { expiry: number }> {
  private readonly entries = new Map<string, V>();
  /** A lower bound of every entry's expiry: a full sweep before it would free nothing. */
  private nextExpiry = Number.POSITIVE_INFINITY;

  constructor(
    readonly maxEntries: number,
    private readonly clock: () => number,
    private readonly fullMessage: string,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  now(): number {
    const now = this.clock();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError(`store clock returned ${String(now)}, not epoch ms`);
    return now;
  }

  /** The unexpired entry at `key`. */
  live(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiry > now) return entry;
    this.entries.delete(key);
    return undefined;
  }

  /** Store `entry` at `key` (its old entry, if any, is expired or being replaced). */
  set(key: string, entry: V, now: number): void {
    if (!this.entries.has(key)) this.makeRoom(now);
    this.entries.delete(key); // re-insert at the end: insertion order roughly follows expiry
    this.entries.set(key, entry);
    if (entry.expiry < this.nextExpiry) this.nextExpiry = entry.expiry;
  }

  /** Lower the bound when an entry's expiry changes. */
  touched(entry: V): void {
    if (entry.expiry < this.nextExpiry) this.nextExpiry = entry.expiry;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Compare-and-delete: delete the live entry at `key` when `held(entry)`; `true` when deleted. */
  deleteIf(key: string, held: (entry: V) => boolean): boolean {
    const entry = this.live(key, this.now());
    if (!entry || !held(entry)) return false;
    this.entries.delete(key);
    return true;
  }

  private makeRoom(now: number): void {
    // Cheap: drop expired entries from the oldest end.
    for (const [key, entry] of this.entries) {
      if (entry.expiry > now) break;
      this.entries.delete(key);
    }
    if (this.entries.size < this.maxEntries) return;
    // Full: one sweep, only when something can have expired since the last one.
    if (now >= this.nextExpiry) {
      let next = Number.POSITIVE_INFINITY;
      for (const [key, entry] of this.entries) {
        if (entry.expiry <= now) this.entries.delete(key);
        else if (entry.expiry < next) next = entry.expiry;
      }
      this.nextExpiry = next;
    }
    if (this.entries.size >= this.maxEntries) throw new StoreError('STORE_FULL', this.fullMessage);
  }
}

/** @internal */
export function checkMaxEntries(value: unknown, fallback: number, fn: string): number {
  const maxEntries = value ?? fallback;
  if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`${fn}: maxEntries must be a positive integer`);
  }
  return maxEntries;
}

/**
 * An in-memory {@link ClaimStore} with bounded memory, for a single process. Expired claims
 * are dropped as new ones arrive. It **never forgets an unexpired claim**: when it holds
 * `maxEntries` of them, a new claim or reservation throws {@link StoreError} `STORE_FULL`
 * (the handlers answer `500`, so NICEPAY retries later, and tell `onError` how to size the
 * store). With several server instances, use a shared store such as `createRedisClaimStore`.
 *
 * @throws {@link !RangeError | RangeError} at creation when `maxEntries` is not a positive integer.
 * @throws {@link !TypeError | TypeError} at creation when `now` is not a function.
 *
 * @example
 * ```ts
 * import { createMemoryClaimStore } from 'nicepay-nico';
 *
 * const store = createMemoryClaimStore({ maxEntries: 50_000 });
 * store.claim('a', 600); // true
 * store.claim('a', 600); // false
 * store.reserve('b', 'token-1', 15); // 'reserved'
 * store.reserve('b', 'token-2', 15); // 'pending': token-1's call is in flight
 * store.release('b', 'token-1');     // true: 'b' is free again
 * ```
 * @category Stores
 */
export function createMemoryClaimStore(options: MemoryClaimStoreOptions = {}): MemoryClaimStore {
  const FN = 'createMemoryClaimStore';
  const maxEntries = checkMaxEntries(options.maxEntries, DEFAULT_MAX_CLAIMS, FN);
  const clock = options.now ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError(`${FN}: now must be a function returning epoch ms`);
  const map = new BoundedExpiryMap<Entry>(
    maxEntries,
    clock,
    `${FN}: the store is full (${maxEntries} unexpired claims) and refuses new claims rather than forget one, so the call is answered 500 and NICEPAY retries. ` +
      'Raise maxEntries (an X-EXTERNAL-ID is held until the end of its day, a signature for 15 minutes), or use a shared store such as createRedisClaimStore.',
  );

  return {
    get size() {
      return map.size;
    },
    maxEntries,
    claim(key, ttlSeconds) {
      checkKeyAndToken(key, undefined, 'claim');
      const ttl = checkTtl(ttlSeconds, 'claim');
      const now = map.now();
      if (map.live(key, now)) return false;
      map.set(key, { expiry: now + ttl * 1000, token: undefined, pending: false }, now);
      return true;
    },
    reserve(key, token, ttlSeconds) {
      checkKeyAndToken(key, token, 'reserve');
      const ttl = checkTtl(ttlSeconds, 'reserve');
      const now = map.now();
      const entry = map.live(key, now);
      if (entry) {
        if (!entry.pending || entry.token !== token) return entry.pending ? 'pending' : 'kept';
        entry.expiry = now + ttl * 1000; // renewal of our own reservation
        map.touched(entry);
        return 'reserved';
      }
      map.set(key, { expiry: now + ttl * 1000, token, pending: true }, now);
      return 'reserved';
    },
    keep(key, token, ttlSeconds) {
      checkKeyAndToken(key, token, 'keep');
      const ttl = checkTtl(ttlSeconds, 'keep');
      const now = map.now();
      const entry = map.live(key, now);
      if (!entry) {
        // The reservation lapsed (a stall longer than its time to live) and nobody took the
        // key meanwhile: the call that ran still claims it.
        map.set(key, { expiry: now + ttl * 1000, token, pending: false }, now);
        return true;
      }
      if (entry.token !== token) return false;
      entry.pending = false;
      entry.expiry = now + ttl * 1000;
      map.touched(entry);
      return true;
    },
    release(key, token) {
      checkKeyAndToken(key, token, 'release');
      return map.deleteIf(key, (entry) => entry.pending && entry.token === token);
    },
  };
}
