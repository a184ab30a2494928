/**
 * An {@link IdempotencyStore} over the application's own Redis client, so every server
 * instance replays the same stored answer.
 * @module
 */
import { checkKeyAndToken, checkTtl } from './claim-store.js';
import { checkStoredAnswer, type IdempotencyBegin, type IdempotencyStore, type StoredAnswer } from './idempotency-store.js';
import { booleanReply, RELEASE_SCRIPT } from './redis-claim-store.js';
import { checkPrefix, commandSender, describeReply, replyInteger, replyText, toMillis, type RedisClaimStoreClient } from './redis-command.js';

/**
 * Options of {@link createRedisIdempotencyStore}.
 * @category Stores
 */
export interface RedisIdempotencyStoreOptions {
  /** Prepended to every key; default `'nicepay-nico:'` (the keys start with `idem:`). */
  readonly prefix?: string;
}

/**
 * An {@link IdempotencyStore} kept in Redis; every method is one atomic round trip.
 * @category Stores
 */
export interface RedisIdempotencyStore extends IdempotencyStore {
  begin(key: string, token: string, ttlSeconds: number): Promise<IdempotencyBegin>;
  complete(key: string, token: string, answer: StoredAnswer, ttlSeconds: number): Promise<boolean>;
  release(key: string, token: string): Promise<boolean>;
}

const FN = 'createRedisIdempotencyStore';

// The value of a key: 'p:<token>' while the first call runs, 'd:<JSON of the answer>' once answered.

/** begin: ARGV[1] = 'p:<token>', ARGV[2] = pending ms. 1 started (or renewed), 0 in flight, else the stored value. */
const BEGIN = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if string.sub(v, 1, 2) == 'p:' then return 0 end
return v`;

/**
 * complete: ARGV[1] = 'p:<token>', ARGV[2] = 'd:<answer>', ARGV[3] = ms. 1 stored (held by
 * us, or free: a lapsed hold nobody took) or already stored by us; 0 another's.
 */
const COMPLETE = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if v == ARGV[2] then return 1 end
return 0`;

const STARTED: IdempotencyBegin = /* @__PURE__ */ Object.freeze({ state: 'started' });
const IN_FLIGHT: IdempotencyBegin = /* @__PURE__ */ Object.freeze({ state: 'in-flight' });

/**
 * An {@link IdempotencyStore} in Redis, through the application's own client (the same
 * shapes as `createRedisClaimStore`: node-redis, ioredis, or a function). Each method is a
 * small Lua script on one key, so across any number of instances exactly one concurrent
 * call under a key runs the merchant's code; the others see it in flight (`409`) or, once
 * answered, get the stored answer. The stored answer is the response body as sent (JSON)
 * with its status and the request's fingerprint; it expires after `idempotency.ttlSeconds`.
 * The same client settings and persistence advice as `createRedisClaimStore` apply.
 *
 * @throws {@link !TypeError | TypeError} when `client` is not a client or `prefix` is not a string.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createRedisIdempotencyStore, createTransactionHandler } from 'nicepay-nico';
 *
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false });
 * const payment = createTransactionHandler({
 *   ...paymentOptions, // serviceCode, clients, tokens, handle
 *   idempotency: { key: ({ body }) => body.paymentRequestId, store: createRedisIdempotencyStore(redis) },
 * });
 * ```
 * @category Stores
 */
export function createRedisIdempotencyStore(client: RedisClaimStoreClient, options: RedisIdempotencyStoreOptions = {}): RedisIdempotencyStore {
  const prefix = checkPrefix(options.prefix, 'nicepay-nico:', FN);
  const send = commandSender(client, FN);
  const evaluate = (script: string, key: string, ...args: string[]) => send(['EVAL', script, '1', prefix + key, ...args], prefix + key);

  return {
    async begin(key, token, ttlSeconds) {
      checkKeyAndToken(key, token, 'begin');
      const reply = await evaluate(BEGIN, key, `p:${token}`, toMillis(checkTtl(ttlSeconds, 'begin')));
      const n = replyInteger(reply);
      if (n === 1) return STARTED;
      if (n === 0) return IN_FLIGHT;
      const text = replyText(reply);
      if (text !== undefined && text.startsWith('d:')) return { state: 'done', answer: parseAnswer(text.slice(2)) };
      throw new TypeError(`${FN}: unexpected reply to the begin script: ${describeReply(reply)}`);
    },
    async complete(key, token, answer, ttlSeconds) {
      checkKeyAndToken(key, token, 'complete');
      const { fingerprint, status, body } = checkStoredAnswer(answer, 'complete');
      const value = `d:${JSON.stringify({ f: fingerprint, s: status, b: body })}`;
      return booleanReply(await evaluate(COMPLETE, key, `p:${token}`, value, toMillis(checkTtl(ttlSeconds, 'complete'))), 'complete');
    },
    async release(key, token) {
      checkKeyAndToken(key, token, 'release');
      return booleanReply(await evaluate(RELEASE_SCRIPT, key, `p:${token}`), 'release');
    },
  };
}

function parseAnswer(text: string): StoredAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const v = value as { f?: unknown; s?: unknown; b?: unknown } | undefined;
  if (typeof v !== 'object' || v === null || typeof v.f !== 'string' || typeof v.s !== 'number' || typeof v.b !== 'string') {
    throw new TypeError(`${FN}: a stored answer is not in the form this library writes (was the key written by something else?)`);
  }
  return checkStoredAnswer({ fingerprint: v.f, status: v.s, body: v.b }, 'begin');
}
