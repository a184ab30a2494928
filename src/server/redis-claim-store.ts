/**
 * A {@link ClaimStore} over the application's own Redis client (node-redis, ioredis, or any
 * client through a function), so claims are shared between server instances. The library
 * imports no Redis client: it only sends commands through the one you pass.
 * @module
 */
import type { ClaimStore, ReserveResult } from './claim-store.js';
import { checkKeyAndToken, checkTtl } from './claim-store.js';
import {
  checkPrefix,
  commandSender,
  describeReply,
  replyInteger,
  replyText,
  toMillis,
  type RedisClaimStoreClient,
} from './redis-command.js';

export type { IoRedisClientLike, NodeRedisClientLike, RedisClaimStoreClient, RedisCommandFunction } from './redis-command.js';

/**
 * Options of {@link createRedisClaimStore}.
 * @category Stores
 */
export interface RedisClaimStoreOptions {
  /**
   * Prepended to every key; default `'nicepay-nico:'`. The handlers' keys carry their kind
   * (`sig:`, `xid:`), so one store serves as both `replayCache` and `externalIds`; give a
   * prefix to separate environments that share one database (`'nicepay-nico:staging:'`).
   * A key prefix configured on the client itself (ioredis `keyPrefix`) is added on top.
   */
  readonly prefix?: string;
}

/**
 * A {@link ClaimStore} kept in Redis; every method is one round trip, atomic in Redis.
 * @category Stores
 */
export interface RedisClaimStore extends Required<ClaimStore> {
  /**
   * Claim `key` (prefixed) for `ttlSeconds`, rounded up to whole seconds: `SET key 1 NX EX`.
   * Resolves to `true` when the key was free, `false` when it is held. Rejects with the
   * client's own error when Redis fails or cannot be reached.
   */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  reserve(key: string, token: string, ttlSeconds: number): Promise<ReserveResult>;
  keep(key: string, token: string, ttlSeconds: number): Promise<boolean>;
  release(key: string, token: string): Promise<boolean>;
}

const FN = 'createRedisClaimStore';
const DEFAULT_PREFIX = 'nicepay-nico:';

// The value of a key: 'p:<token>' while reserved, 'k:<token>' once kept, '1' for a plain claim.
// Each script reads and writes one key, so Redis runs it atomically (and a cluster routes it by that key).

/** reserve: ARGV[1] = 'p:<token>', ARGV[2] = pending ms. 1 reserved (or renewed), 0 pending, -1 kept. */
const RESERVE = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if string.sub(v, 1, 2) == 'p:' then return 0 end
return -1`;

/** keep: ARGV[1] = 'p:<token>', ARGV[2] = 'k:<token>', ARGV[3] = ms. 1 kept (ours, or free: a lapsed reservation nobody took), 0 another's. */
const KEEP = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] or v == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** release: ARGV[1] = 'p:<token>'. 1 deleted, 0 not ours (or kept). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** @internal shared with the Redis idempotency store. */
export const RELEASE_SCRIPT = RELEASE;

/**
 * A {@link ClaimStore} in Redis, through the application's own client. Every operation is
 * atomic in Redis, so exactly one of any number of concurrent callers (from any number of
 * server instances) gets a key:
 *
 * - `claim`: `SET <prefix><key> 1 NX EX <ttl>`;
 * - `reserve`, `keep`, `release`: one small Lua script each (`EVAL`), a compare-and-set or
 *   compare-and-delete on the reservation's token, with millisecond time to live (`PX`).
 *
 * Keys expire by themselves; nothing else is written or deleted.
 *
 * **Client settings.** A command is sent on one connection, in order: when a reservation
 * times out on the client, the handler queues its compare-and-delete behind it, so a
 * reservation that lands late is removed at once (and expires after its short pending
 * time to live in any case). A function client that spreads commands over a pool of
 * connections loses that order: the late reservation then lives until its pending time to
 * live ends, and NICEPAY's retry within it gets `409`. So that a call fails fast rather than waits while Redis is
 * down, give the client a bound: ioredis `enableOfflineQueue: false` (or
 * `commandTimeout`, `maxRetriesPerRequest`), node-redis `disableOfflineQueue: true`. The
 * handlers also stop waiting after `storeTimeoutMs` (default 2 s) and answer `500`.
 *
 * **Persistence.** Claims live in Redis memory: a Redis restarted without persistence
 * forgets them, and a repeated `X-EXTERNAL-ID` or replayed signature would be accepted
 * again. Run Redis with AOF (`appendonly yes`, `appendfsync everysec` or `always`) and a
 * `maxmemory-policy` of `noeviction` (or `volatile-ttl`), never `allkeys-*`, which evicts claims.
 *
 * The client is recognised by its shape:
 * - a function `(args: string[], key: string) => Promise<reply>`: called with the command
 *   and the one key it touches;
 * - an object with `call` (ioredis, also `Cluster`): `client.call('EVAL', script, '1', key, ...)`;
 * - an object with `sendCommand` (node-redis): `client.sendCommand(['EVAL', script, '1', key, ...])`.
 *
 * A node-redis cluster or sentinel routes raw commands differently, so pass a function for
 * those (see the last example). Errors of the client are not caught: the handlers answer
 * them with `500 General Error` and pass them to `onError`.
 *
 * @param client The application's connected Redis client, or a function that sends one command.
 * @throws {@link !TypeError | TypeError} when `client` has none of the shapes above, or `prefix` is not a string.
 *
 * @example node-redis (redis v4 and later)
 * ```ts
 * import { createClient } from 'redis';
 * import { createRedisClaimStore } from 'nicepay-nico';
 *
 * const redis = await createClient({ url: process.env.REDIS_URL!, disableOfflineQueue: true }).connect();
 * const replayCache = createRedisClaimStore(redis, { prefix: 'nicepay-nico:sig:' });
 * const externalIds = createRedisClaimStore(redis, { prefix: 'nicepay-nico:xid:' });
 * ```
 *
 * @example ioredis
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createRedisClaimStore } from 'nicepay-nico';
 *
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, commandTimeout: 2_000 });
 * const store = createRedisClaimStore(redis);
 * await store.claim('client-1|2024-01-01T00:00:00+07:00', 600); // true
 * await store.claim('client-1|2024-01-01T00:00:00+07:00', 600); // false
 * ```
 *
 * @example Any other client, e.g. a node-redis cluster
 * ```ts
 * import { createCluster } from 'redis';
 * import { createRedisClaimStore } from 'nicepay-nico';
 *
 * const cluster = await createCluster({ rootNodes: [{ url: process.env.REDIS_URL! }] }).connect();
 * const store = createRedisClaimStore((args, key) => cluster.sendCommand(key, false, args));
 * ```
 * @category Stores
 */
export function createRedisClaimStore(client: RedisClaimStoreClient, options: RedisClaimStoreOptions = {}): RedisClaimStore {
  const prefix = checkPrefix(options.prefix, DEFAULT_PREFIX, FN);
  const send = commandSender(client, FN);
  const evaluate = (script: string, key: string, ...args: string[]) => send(['EVAL', script, '1', prefix + key, ...args], prefix + key);

  return {
    async claim(key, ttlSeconds) {
      checkKeyAndToken(key, undefined, 'claim');
      // EX takes whole seconds, at least 1: round up, so a claim never lasts less than asked.
      const seconds = Math.ceil(checkTtl(ttlSeconds, 'claim'));
      const reply = await send(['SET', prefix + key, '1', 'NX', 'EX', String(seconds)], prefix + key);
      if (reply === null) return false;
      if (replyText(reply) === 'OK') return true;
      throw new TypeError(`${FN}: unexpected reply to SET NX: ${describeReply(reply)}; expected 'OK' or null`);
    },
    async reserve(key, token, ttlSeconds) {
      checkKeyAndToken(key, token, 'reserve');
      const reply = replyInteger(await evaluate(RESERVE, key, `p:${token}`, toMillis(checkTtl(ttlSeconds, 'reserve'))));
      if (reply === 1) return 'reserved';
      if (reply === 0) return 'pending';
      if (reply === -1) return 'kept';
      throw new TypeError(`${FN}: unexpected reply to the reserve script: ${describeReply(reply)}; expected 1, 0 or -1`);
    },
    async keep(key, token, ttlSeconds) {
      checkKeyAndToken(key, token, 'keep');
      return booleanReply(await evaluate(KEEP, key, `p:${token}`, `k:${token}`, toMillis(checkTtl(ttlSeconds, 'keep'))), 'keep');
    },
    async release(key, token) {
      checkKeyAndToken(key, token, 'release');
      return booleanReply(await evaluate(RELEASE, key, `p:${token}`), 'release');
    },
  };
}

/** 1 → true, 0 → false, anything else rejects. @internal */
export function booleanReply(reply: unknown, what: string): boolean {
  const n = replyInteger(reply);
  if (n === 1) return true;
  if (n === 0) return false;
  throw new TypeError(`${FN}: unexpected reply to the ${what} script: ${describeReply(reply)}; expected 1 or 0`);
}
