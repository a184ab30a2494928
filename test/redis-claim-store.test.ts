/**
 * createRedisClaimStore against a real Redis, through both node-redis (`redis`) and ioredis.
 *
 * The suite starts its own redis-server (test/helpers/redis.ts: 127.0.0.1, a free port, no
 * persistence) and stops it in afterAll. When the redis-server binary is not installed:
 * - with CI set, the suite FAILS: .ci/run must install redis-server;
 * - otherwise the Redis suite is SKIPPED, and the reason is printed (install it with
 *   `apt-get install redis-server`, `brew install redis`, ...).
 * The argument checks at the top need no server and always run.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient, createCluster, createSentinel } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSymmetricStringToSign,
  createAccessTokenIssuer,
  createRedisClaimStore,
  createTransactionHandler,
  formatTimestamp,
  signSymmetric,
  type RedisClaimStoreClient,
} from '../src/index.js';
import { findRedisServer, startRedisServer, type RedisServerProcess } from './helpers/redis.js';

const REDIS_BIN = findRedisServer();
const IN_CI = Boolean(process.env.CI);
const SKIP_REASON = 'redis-server is not installed (not on PATH, nor in /usr/bin, /usr/local/bin, /opt/homebrew/bin): skipping the Redis suite of test/redis-claim-store.test.ts';
if (REDIS_BIN === undefined && !IN_CI) console.warn(`\n[redis-claim-store.test] ${SKIP_REASON}\n`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = (label: string) => `${label}:${randomUUID()}:`;

/** A command function that records what it was asked and answers `reply`. */
function fakeSender(reply: unknown) {
  const calls: string[][] = [];
  const send = async (args: string[]) => {
    calls.push(args);
    return reply;
  };
  return { calls, send };
}

describe('createRedisClaimStore: arguments (no server needed)', () => {
  it('sends SET <prefix><key> 1 NX EX <whole seconds> through a plain function', async () => {
    const { calls, send } = fakeSender('OK');
    const store = createRedisClaimStore(send);
    await expect(store.claim('a', 600)).resolves.toBe(true);
    await expect(createRedisClaimStore(send, { prefix: '' }).claim('b', 0.001)).resolves.toBe(true);
    await expect(createRedisClaimStore(send, { prefix: 'x:' }).claim('c', 1.2)).resolves.toBe(true);
    expect(calls).toEqual([
      ['SET', 'nicepay-nico:a', '1', 'NX', 'EX', '600'],
      ['SET', 'b', '1', 'NX', 'EX', '1'],
      ['SET', 'x:c', '1', 'NX', 'EX', '2'],
    ]);
  });

  it('maps null to false and refuses any other reply', async () => {
    await expect(createRedisClaimStore(fakeSender(null).send).claim('a', 1)).resolves.toBe(false);
    await expect(createRedisClaimStore(fakeSender(new Uint8Array([0x4f, 0x4b])).send).claim('a', 1)).resolves.toBe(true);
    await expect(createRedisClaimStore(fakeSender(undefined).send).claim('a', 1)).rejects.toThrow(/unexpected reply.*undefined/);
    await expect(createRedisClaimStore(fakeSender(1).send).claim('a', 1)).rejects.toThrow(/unexpected reply/);
    await expect(createRedisClaimStore(fakeSender('QUEUED').send).claim('a', 1)).rejects.toThrow(/unexpected reply/);
  });

  it('rejects a bad key or ttlSeconds without sending anything', async () => {
    const { calls, send } = fakeSender('OK');
    const store = createRedisClaimStore(send);
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '600', undefined, 1e300]) {
      await expect(store.claim('a', ttl as number)).rejects.toThrow(RangeError);
    }
    await expect(store.claim(1 as unknown as string, 1)).rejects.toThrow(TypeError);
    await expect(store.claim(undefined as unknown as string, 1)).rejects.toThrow(/key must be a string/);
    expect(calls).toEqual([]);
  });

  it('throws TypeError at creation for an unknown client shape or a bad prefix', () => {
    for (const client of [undefined, null, 42, 'redis://127.0.0.1:6379', {}, { get() {}, set() {} }, { call: 'SET' }]) {
      expect(() => createRedisClaimStore(client as unknown as RedisClaimStoreClient)).toThrow(TypeError);
    }
    expect(() => createRedisClaimStore(fakeSender('OK').send, { prefix: 1 as unknown as string })).toThrow(/prefix/);
  });

  it('throws TypeError for a node-redis cluster or sentinel (their sendCommand takes other arguments)', () => {
    // Neither connects until connect() is called.
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    expect(() => createRedisClaimStore(cluster as unknown as RedisClaimStoreClient)).toThrow(/cluster or sentinel needs a function/);
    const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] });
    expect(() => createRedisClaimStore(sentinel as unknown as RedisClaimStoreClient)).toThrow(/cluster or sentinel needs a function/);
  });
});

/** What the tests need of each client, beyond what createRedisClaimStore uses. */
interface Connection {
  readonly client: RedisClaimStoreClient;
  ttl(key: string): Promise<number>;
  pttl(key: string): Promise<number>;
  exists(key: string): Promise<number>;
  /** A Redis command the store does not send (for setting up the server). */
  raw(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

interface ClientKind {
  readonly name: string;
  connect(url: string): Promise<Connection>;
}

const nodeRedis: ClientKind = {
  name: 'node-redis',
  async connect(url) {
    const client = createClient({ url });
    client.on('error', () => {}); // errors reach the awaiting calls; no unhandled 'error' event
    await client.connect();
    return {
      client,
      ttl: (key) => client.ttl(key),
      pttl: (key) => client.pTTL(key),
      exists: (key) => client.exists(key),
      raw: (...args) => client.sendCommand(args),
      close: async () => {
        if (client.isOpen) await client.close();
      },
    };
  },
};

const ioredis: ClientKind = {
  name: 'ioredis',
  async connect(url) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      ttl: (key) => client.ttl(key),
      pttl: (key) => client.pttl(key),
      exists: (key) => client.exists(key),
      raw: (command, ...args) => client.call(command as string, ...args),
      close: async () => {
        if (client.status !== 'end') await client.quit();
      },
    };
  },
};

describe.skipIf(REDIS_BIN === undefined && !IN_CI)('createRedisClaimStore against redis-server', () => {
  let server: RedisServerProcess | undefined;
  const opened: Connection[] = [];

  beforeAll(async () => {
    if (REDIS_BIN === undefined) {
      throw new Error('redis-server is not installed, and CI is set: .ci/run must install redis-server (apt-get install redis-server) before npm test');
    }
    server = await startRedisServer(REDIS_BIN);
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((c) => c.close()));
    await server?.stop();
  });

  const connect = async (kind: ClientKind): Promise<Connection> => {
    if (!server) throw new Error('redis-server did not start');
    const connection = await kind.connect(server.url);
    opened.push(connection);
    return connection;
  };

  describe.each([nodeRedis, ioredis])('with $name', (kind) => {
    let conn: Connection;
    beforeAll(async () => {
      conn = await connect(kind);
    });

    it('grants a key once: true, then false', async () => {
      const store = createRedisClaimStore(conn.client, { prefix: unique(kind.name) });
      await expect(store.claim('key', 600)).resolves.toBe(true);
      await expect(store.claim('key', 600)).resolves.toBe(false);
      await expect(store.claim('key', 600)).resolves.toBe(false);
    });

    it('keeps different keys independent', async () => {
      const store = createRedisClaimStore(conn.client, { prefix: unique(kind.name) });
      await expect(store.claim('a', 600)).resolves.toBe(true);
      await expect(store.claim('b', 600)).resolves.toBe(true);
      await expect(store.claim('a', 600)).resolves.toBe(false);
      await expect(store.claim('b', 600)).resolves.toBe(false);
      await expect(store.claim('A', 600)).resolves.toBe(true);
    });

    it('frees the key when its time to live ends (ttl 1 s)', async () => {
      const store = createRedisClaimStore(conn.client, { prefix: unique(kind.name) });
      const start = Date.now();
      await expect(store.claim('short', 1)).resolves.toBe(true);
      await expect(store.claim('short', 1)).resolves.toBe(false);
      // One wait per client: past the second, then poll (bounded) until Redis drops it.
      // A failed claim must not extend the key, so polling with claim() is part of the check.
      await sleep(1_000);
      let freed = false;
      while (!freed && Date.now() - start < 3_000) {
        freed = await store.claim('short', 1);
        if (!freed) await sleep(50);
      }
      expect(freed).toBe(true);
      expect(Date.now() - start).toBeGreaterThanOrEqual(1_000);
    });

    it('rounds a fractional ttl up to whole seconds', async () => {
      const prefix = unique(kind.name);
      const store = createRedisClaimStore(conn.client, { prefix });
      await expect(store.claim('tiny', 0.2)).resolves.toBe(true);
      expect(await conn.ttl(`${prefix}tiny`)).toBeGreaterThanOrEqual(1);
      await expect(store.claim('one-point-two', 1.2)).resolves.toBe(true);
      // EX 2 (rounded up), not EX 1: more than a second left.
      expect(await conn.pttl(`${prefix}one-point-two`)).toBeGreaterThan(1_000);
      expect(await conn.ttl(`${prefix}one-point-two`)).toBeLessThanOrEqual(2);
    });

    it('stores the key under the prefix (default nicepay-nico:)', async () => {
      const prefix = unique(`${kind.name}:custom`);
      await expect(createRedisClaimStore(conn.client, { prefix }).claim('k', 60)).resolves.toBe(true);
      expect(await conn.exists(`${prefix}k`)).toBe(1);
      expect(await conn.exists('k')).toBe(0);

      const key = randomUUID();
      await expect(createRedisClaimStore(conn.client).claim(key, 60)).resolves.toBe(true);
      expect(await conn.exists(`nicepay-nico:${key}`)).toBe(1);
      expect(await conn.exists(key)).toBe(0);
      expect(await conn.ttl(`nicepay-nico:${key}`)).toBeGreaterThan(0);
    });

    it('grants exactly one of 20 concurrent claims of one key', async () => {
      const store = createRedisClaimStore(conn.client, { prefix: unique(kind.name) });
      const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('race', 600)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('shares claims between two connections (two server instances)', async () => {
      const other = await connect(kind);
      const prefix = unique(kind.name);
      const instanceA = createRedisClaimStore(conn.client, { prefix });
      const instanceB = createRedisClaimStore(other.client, { prefix });
      await expect(instanceA.claim('shared', 600)).resolves.toBe(true);
      await expect(instanceB.claim('shared', 600)).resolves.toBe(false);
      await expect(instanceB.claim('other', 600)).resolves.toBe(true);
      await expect(instanceA.claim('other', 600)).resolves.toBe(false);
      // Concurrently from both: still exactly one winner.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? instanceA : instanceB).claim('both', 600)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      await other.close();
    });

    it('passes a Redis error reply on (maxmemory reached: OOM)', async () => {
      const store = createRedisClaimStore(conn.client, { prefix: unique(kind.name) });
      await conn.raw('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await conn.raw('CONFIG', 'SET', 'maxmemory', '1');
      try {
        await expect(store.claim('oom', 60)).rejects.toThrow(/OOM/);
      } finally {
        await conn.raw('CONFIG', 'SET', 'maxmemory', '0');
      }
      await expect(store.claim('oom', 60)).resolves.toBe(true);
    });

    it('rejects when the client has been closed', async () => {
      const closing = await connect(kind);
      const store = createRedisClaimStore(closing.client, { prefix: unique(kind.name) });
      await expect(store.claim('before', 60)).resolves.toBe(true);
      await closing.close();
      await expect(store.claim('after', 60)).rejects.toThrow(/closed/i);
    });
  });

  describe('two transaction handler instances sharing one Redis', () => {
    it('reject a repeated X-EXTERNAL-ID with 409 Conflict, whichever instance gets it', async () => {
      const a = await connect(nodeRedis);
      const b = await connect(ioredis);
      const prefix = unique('handlers');
      const NOW = Date.UTC(2024, 10, 12, 19, 54, 37);
      const timestamp = formatTimestamp(NOW);
      const secret = 'client-secret';
      const issuer = createAccessTokenIssuer({ secret: 'token-secret-of-at-least-thirty-two-bytes' });
      const token = issuer.issue('IONPAYTEST', NOW);
      const options = (client: RedisClaimStoreClient) => ({
        serviceCode: '47',
        clients: { IONPAYTEST: { clientSecret: secret } },
        tokens: issuer,
        now: () => NOW,
        externalIds: createRedisClaimStore(client, { prefix }),
        handle: () => ({ responseCode: '2004700', responseMessage: 'Successful' }),
      });
      const instanceA = createTransactionHandler(options(a.client));
      const instanceB = createTransactionHandler(options(b.client));
      // Each call NICEPAY makes is signed anew (the replay guard refuses a signature twice):
      // here the body differs by the attempt number.
      let attempt = 0;
      const call = (externalId: string) => {
        const body = `{"paymentCode":"8880012345","attempt":${attempt++}}`;
        const path = '/api/v1.0/cvs/inquiry';
        const signature = signSymmetric(secret, buildSymmetricStringToSign({ method: 'POST', path, accessToken: token, body, timestamp }));
        const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-TIMESTAMP': timestamp, 'X-PARTNER-ID': 'IONPAYTEST', 'X-EXTERNAL-ID': externalId, 'X-SIGNATURE': signature };
        return { method: 'POST', path, headers, body };
      };
      const first = await instanceA(call('ext-1'));
      expect([first.status, JSON.parse(first.body).responseCode]).toEqual([200, '2004700']);
      const repeat = await instanceB(call('ext-1'));
      expect([repeat.status, JSON.parse(repeat.body).responseCode]).toEqual([409, '4094700']);
      const other = await instanceB(call('ext-2'));
      expect(other.status).toBe(200);
      const backOnA = await instanceA(call('ext-2'));
      expect(backOnA.status).toBe(409);
    });
  });

  describe('mixed clients and the function form', () => {
    it('node-redis and ioredis instances see each other’s claims', async () => {
      const a = await connect(nodeRedis);
      const b = await connect(ioredis);
      const prefix = unique('mixed');
      await expect(createRedisClaimStore(a.client, { prefix }).claim('k', 600)).resolves.toBe(true);
      await expect(createRedisClaimStore(b.client, { prefix }).claim('k', 600)).resolves.toBe(false);
    });

    it('works with a plain function (args) => Promise<reply>', async () => {
      if (!server) throw new Error('redis-server did not start');
      const client = createClient({ url: server.url });
      client.on('error', () => {});
      await client.connect();
      try {
        const sent: string[][] = [];
        const store = createRedisClaimStore(
          (args) => {
            sent.push(args);
            return client.sendCommand(args);
          },
          { prefix: unique('function') },
        );
        const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('k', 60)));
        expect(results.filter(Boolean)).toHaveLength(1);
        await expect(store.claim('k2', 60)).resolves.toBe(true);
        await expect(store.claim('k2', 60)).resolves.toBe(false);
        expect(sent).toHaveLength(22);
        expect(sent[0]?.slice(2)).toEqual(['1', 'NX', 'EX', '60']);
      } finally {
        await client.close();
      }
    });
  });
});
