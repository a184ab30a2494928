/**
 * "Seen once" stores: the replay guard of the access-token handler (and, later, the
 * X-EXTERNAL-ID uniqueness check) go through this small interface.
 * @module
 */

/**
 * A store that lets each key be claimed once within its time to live. Implement it over a
 * shared store (Redis `SET key 1 NX EX ttl`, a database unique index) to share it between
 * server instances.
 */
export interface ClaimStore {
  /**
   * Claim `key` for `ttlSeconds`. Returns `true` when the key was free (now claimed), `false`
   * when it is already claimed and not yet expired.
   */
  claim(key: string, ttlSeconds: number): boolean | Promise<boolean>;
}

/** Options of {@link createMemoryClaimStore}. */
export interface MemoryClaimStoreOptions {
  /** Most keys held at once; default 10,000. When full, the oldest claims are forgotten first. */
  readonly maxEntries?: number;
  /** Clock (epoch ms); default `Date.now`. */
  readonly now?: () => number;
}

/** An in-memory {@link ClaimStore} for one process. */
export interface MemoryClaimStore extends ClaimStore {
  claim(key: string, ttlSeconds: number): boolean;
  /** Keys currently held (expired ones are dropped as claims arrive). */
  readonly size: number;
}

/**
 * An in-memory {@link ClaimStore} with bounded memory, for a single process. Expired keys
 * are dropped as new claims arrive; beyond `maxEntries` the oldest claims are forgotten
 * first (so size it above the number of claims you expect within one time to live).
 * With several server instances, use a shared store instead.
 *
 * @example
 * ```ts
 * const store = createMemoryClaimStore({ maxEntries: 50_000 });
 * store.claim('a', 600); // true
 * store.claim('a', 600); // false
 * ```
 */
export function createMemoryClaimStore(options: MemoryClaimStoreOptions = {}): MemoryClaimStore {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('createMemoryClaimStore: maxEntries must be a positive integer');
  const clock = options.now ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError('createMemoryClaimStore: now must be a function returning epoch ms');
  const expiries = new Map<string, number>();

  return {
    get size() {
      return expiries.size;
    },
    claim(key, ttlSeconds) {
      if (typeof key !== 'string') throw new TypeError('claim: key must be a string');
      if (typeof ttlSeconds !== 'number' || !(ttlSeconds > 0)) throw new RangeError('claim: ttlSeconds must be a positive number');
      const now = clock();
      // Drop expired claims from the oldest end (claims mostly share one time to live).
      for (const [oldKey, expiry] of expiries) {
        if (expiry > now) break;
        expiries.delete(oldKey);
      }
      const existing = expiries.get(key);
      if (existing !== undefined && existing > now) return false;
      expiries.delete(key);
      expiries.set(key, now + ttlSeconds * 1000);
      while (expiries.size > maxEntries) {
        const oldest = expiries.keys().next().value as string;
        expiries.delete(oldest);
      }
      return true;
    },
  };
}
