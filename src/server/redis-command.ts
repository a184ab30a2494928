/**
 * One Redis command through the application's own client (node-redis, ioredis, or a
 * function): the library imports no Redis client.
 * @module
 */

/**
 * A node-redis client (`redis` v4 and later, `createClient()`), or any client whose
 * `sendCommand` takes the whole command as an array of strings.
 * @category Stores
 */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * An ioredis client (`new Redis()`, or an ioredis `Cluster`), or any client with `call(command, ...args)`.
 * @category Stores
 */
export interface IoRedisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/**
 * Sends one command, given as an array of strings (`['EVAL', script, '1', key, ...]`), and
 * resolves to its reply. `key` is the one key the command touches (for a cluster's routing).
 * @category Stores
 */
export type RedisCommandFunction = (args: string[], key: string) => Promise<unknown>;

/**
 * What the Redis stores accept as their client.
 * @category Stores
 */
export type RedisClaimStoreClient = NodeRedisClientLike | IoRedisClientLike | RedisCommandFunction;

/** The function that sends one command through `client`, chosen by the client's shape. @internal */
export function commandSender(client: RedisClaimStoreClient, fn: string): RedisCommandFunction {
  if (typeof client === 'function') return (args, key) => client(args, key);
  if (typeof client !== 'object' || client === null) {
    throw new TypeError(`${fn}: client must be a node-redis or ioredis client, or a function (args: string[]) => Promise<reply>`);
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
        `${fn}: a node-redis cluster or sentinel needs a function, e.g. (args, key) => cluster.sendCommand(key, false, args)`,
      );
    }
    const nodeRedis = client as NodeRedisClientLike;
    return (args) => nodeRedis.sendCommand(args);
  }
  throw new TypeError(`${fn}: client must have call() (ioredis) or sendCommand() (node-redis), or be a function (args: string[]) => Promise<reply>`);
}

/** The store's key prefix option, checked. @internal */
export function checkPrefix(prefix: unknown, fallback: string, fn: string): string {
  const value = prefix ?? fallback;
  if (typeof value !== 'string') throw new TypeError(`${fn}: prefix must be a string`);
  return value;
}

/** A reply as text: strings as they are, byte replies (Buffer, Uint8Array) decoded as UTF-8. @internal */
export function replyText(reply: unknown): string | undefined {
  if (typeof reply === 'string') return reply;
  if (reply instanceof Uint8Array) return new TextDecoder().decode(reply);
  return undefined;
}

/** A reply as an integer (RESP integers arrive as numbers; some clients give bigints or strings). @internal */
export function replyInteger(reply: unknown): number | undefined {
  if (typeof reply === 'number' && Number.isInteger(reply)) return reply;
  if (typeof reply === 'bigint') return Number(reply);
  return undefined;
}

/** A short, secret-free description of an unexpected reply, for error messages. @internal */
export function describeReply(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (value === undefined) return 'undefined (does the function return the reply?)';
  if (value === null) return 'null';
  if (typeof value === 'object') return Object.prototype.toString.call(value);
  return String(value);
}

/** Milliseconds for PX: `ttlSeconds` rounded up to a whole millisecond, at least 1. @internal */
export const toMillis = (ttlSeconds: number): string => String(Math.max(1, Math.ceil(ttlSeconds * 1000)));
