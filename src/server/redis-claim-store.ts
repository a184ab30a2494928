/**
 * A {@link ClaimStore} over the application's own Redis client (node-redis, ioredis, or any
 * client through a function), so claims are shared between server instances. The library
 * imports no Redis client: it only sends `SET key 1 NX EX ttl` through the one you pass.
 * @module
 */
import type { ClaimStore } from './claim-store.js';

/**
 * A node-redis client (`redis` v4 and later, `createClient()`), or any client whose
 * `sendCommand` takes the whole command as an array of strings.
 */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/** An ioredis client (`new Redis()`, or an ioredis `Cluster`), or any client with `call(command, ...args)`. */
export interface IoRedisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/**
 * Sends one command, given as an array of strings (`['SET', key, '1', 'NX', 'EX', '600']`),
 * and resolves to its reply: `'OK'` when set, `null` when not.
 */
export type RedisCommandFunction = (args: string[]) => Promise<unknown>;

/** What {@link createRedisClaimStore} accepts as its client. */
export type RedisClaimStoreClient = NodeRedisClientLike | IoRedisClientLike | RedisCommandFunction;

/** Options of {@link createRedisClaimStore}. */
export interface RedisClaimStoreOptions {
  /**
   * Prepended to every key; default `'nicepay-nico:'`. Give each use its own prefix when
   * several stores share one database (say `'nicepay-nico:replay:'` and
   * `'nicepay-nico:external-id:'`). A key prefix configured on the client itself (ioredis
   * `keyPrefix`) is added on top of this one.
   */
  readonly prefix?: string;
}

/** A {@link ClaimStore} kept in Redis; every claim is one round trip. */
export interface RedisClaimStore extends ClaimStore {
  /**
   * Claim `key` (prefixed) for `ttlSeconds`, rounded up to whole seconds. Resolves to `true`
   * when the key was free (now claimed), `false` when it is already claimed and not yet
   * expired. Rejects with the client's own error when Redis fails or cannot be reached.
   */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
}

const FN = 'createRedisClaimStore';
const DEFAULT_PREFIX = 'nicepay-nico:';

/**
 * A {@link ClaimStore} in Redis, through the application's own client: each claim is
 * `SET <prefix><key> 1 NX EX <ttl>`, which Redis runs atomically, so exactly one of any
 * number of concurrent claims (from any number of server instances) gets `true`. The key
 * expires by itself after its time to live; nothing else is ever written or deleted.
 *
 * The client is recognised by its shape:
 * - a function `(args: string[]) => Promise<reply>`: called with the command;
 * - an object with `call` (ioredis): `client.call('SET', key, '1', 'NX', 'EX', ttl)`;
 * - an object with `sendCommand` (node-redis): `client.sendCommand(['SET', key, '1', 'NX', 'EX', ttl])`.
 *
 * A node-redis cluster or sentinel routes raw commands differently, so pass a function
 * for those (see the last example). The reply must be `'OK'` (claimed) or `null` (taken);
 * anything else rejects. Errors of the client are not caught: the access-token handler
 * answers them with `500 General Error`. A client that queues commands while Redis is
 * down (the default of both node-redis and ioredis) makes requests wait; set a command
 * timeout on the client (ioredis `commandTimeout`, `maxRetriesPerRequest`; node-redis
 * `disableOfflineQueue`) to fail fast instead.
 *
 * @param client The application's connected Redis client, or a function that sends one command.
 * @throws TypeError when `client` has none of the shapes above, or `prefix` is not a string.
 *
 * @example node-redis (redis v4 and later)
 * ```ts
 * import { createClient } from 'redis';
 *
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect();
 * const handle = createAccessTokenHandler({
 *   // ...
 *   replayCache: createRedisClaimStore(redis, { prefix: 'nicepay-nico:replay:' }),
 * });
 * ```
 *
 * @example ioredis
 * ```ts
 * import { Redis } from 'ioredis';
 *
 * const redis = new Redis(process.env.REDIS_URL, { commandTimeout: 2_000 });
 * const store = createRedisClaimStore(redis);
 * await store.claim('client-1|2024-01-01T00:00:00+07:00', 600); // true
 * await store.claim('client-1|2024-01-01T00:00:00+07:00', 600); // false
 * ```
 *
 * @example Any other client, e.g. a node-redis cluster
 * ```ts
 * const cluster = await createCluster({ rootNodes }).connect();
 * const store = createRedisClaimStore((args) => cluster.sendCommand(args[1], false, args));
 * ```
 */
export function createRedisClaimStore(client: RedisClaimStoreClient, options: RedisClaimStoreOptions = {}): RedisClaimStore {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') throw new TypeError(`${FN}: prefix must be a string`);
  const send = commandSender(client);

  return {
    async claim(key, ttlSeconds) {
      if (typeof key !== 'string') throw new TypeError('claim: key must be a string');
      if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || !(ttlSeconds > 0)) {
        throw new RangeError('claim: ttlSeconds must be a positive number');
      }
      // EX takes whole seconds, at least 1: round up, so a claim never lasts less than asked.
      const seconds = Math.ceil(ttlSeconds);
      if (seconds > Number.MAX_SAFE_INTEGER) throw new RangeError('claim: ttlSeconds is too large');
      const reply = await send(['SET', prefix + key, '1', 'NX', 'EX', String(seconds)]);
      return claimed(reply);
    },
  };
}

/** The function that sends one command through `client`, chosen by the client's shape. */
function commandSender(client: RedisClaimStoreClient): RedisCommandFunction {
  if (typeof client === 'function') return (args) => client(args);
  if (typeof client !== 'object' || client === null) {
    throw new TypeError(`${FN}: client must be a node-redis or ioredis client, or a function (args: string[]) => Promise<reply>`);
  }
  const shape = client as unknown as Record<string, unknown>;
  // ioredis clients have both `call` and `sendCommand` (the latter takes a Command object):
  // test `call` first.
  if (typeof shape['call'] === 'function') {
    const ioredis = client as IoRedisClientLike;
    return ([command, ...args]) => ioredis.call(command as string, ...args);
  }
  if (typeof shape['sendCommand'] === 'function') {
    // node-redis clusters take (firstKey, isReadonly, args) and sentinels (isReadonly, args).
    if (typeof shape['getSlotMaster'] === 'function' || typeof shape['getMasterNode'] === 'function') {
      throw new TypeError(
        `${FN}: a node-redis cluster or sentinel needs a function, e.g. (args) => cluster.sendCommand(args[1], false, args)`,
      );
    }
    const nodeRedis = client as NodeRedisClientLike;
    return (args) => nodeRedis.sendCommand(args);
  }
  throw new TypeError(`${FN}: client must have call() (ioredis) or sendCommand() (node-redis), or be a function (args: string[]) => Promise<reply>`);
}

/** `'OK'` → true, `null` → false; anything else is not a reply to `SET ... NX`. */
function claimed(reply: unknown): boolean {
  if (reply === 'OK') return true;
  if (reply === null) return false;
  // A client that maps replies to bytes (Node's byte buffers are Uint8Arrays too).
  if (reply instanceof Uint8Array && reply.length === 2 && reply[0] === 0x4f && reply[1] === 0x4b) return true;
  throw new TypeError(`${FN}: unexpected reply to SET NX: ${describeReply(reply)}; expected 'OK' or null`);
}

function describeReply(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (value === undefined) return 'undefined (does the function return the reply?)';
  if (typeof value === 'object') return Object.prototype.toString.call(value);
  return String(value);
}
