/**
 * The money path (reserve → handle() → keep or release) against a real Redis, through both
 * node-redis (`redis`) and ioredis: the Redis stores' reserve/keep/release and
 * begin/complete/release, a failed call leaving nothing behind, a paused and a stopped
 * Redis, idempotency and replays across two server instances.
 *
 * Like test/redis-claim-store.test.ts, the suite starts its own redis-server
 * (test/helpers/redis.ts: 127.0.0.1, a free port, no persistence), and one more for the
 * tests that stop and restart it. When the redis-server binary is not installed:
 * - with CI set, the suite FAILS: .ci/run must install redis-server;
 * - otherwise the suite is SKIPPED, and the reason is printed.
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSymmetricStringToSign,
  createAccessTokenHandler,
  createAccessTokenIssuer,
  createRedisClaimStore,
  createRedisIdempotencyStore,
  createTransactionHandler,
  formatTimestamp,
  isStoreError,
  signSymmetric,
  type RedisClaimStoreClient,
  type StoreError,
  type TransactionAnswer,
  type TransactionHandler,
  type TransactionHandlerOptions,
} from '../src/index.js';
import { ACCESS_TOKEN_BODY, makeKeys, signedHeaders, signText } from './helpers/nicepay.js';
import { findRedisServer, startRedisServer, type RedisServerProcess } from './helpers/redis.js';

const REDIS_BIN = findRedisServer();
const IN_CI = Boolean(process.env.CI);
const SKIP_REASON = 'redis-server is not installed (not on PATH, nor in /usr/bin, /usr/local/bin, /opt/homebrew/bin): skipping the Redis suite of test/redis-money-path.test.ts';
if (REDIS_BIN === undefined && !IN_CI) console.warn(`\n[redis-money-path.test] ${SKIP_REASON}\n`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = (label: string) => `money:${label}:${randomUUID()}:`;

// ---------------------------------------------------------------------------------------
// Playing NICEPAY: symmetric payment calls (service code 48) signed with the client secret.

/** The handlers' clock: fixed for the whole file (every X-TIMESTAMP is a few seconds before it). */
const NOW = Date.now();
/** An X-TIMESTAMP `seconds` from NOW (negative: before), inside the 300 s window. */
const stamp = (seconds: number) => formatTimestamp(NOW + seconds * 1000);

const PARTNER = 'IONPAYTEST';
const SECRET = 'client-secret-of-the-merchant';
const TOKEN_SECRET = 'token-secret-of-at-least-thirty-two-bytes!';
const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
const TOKEN = issuer.issue(PARTNER, NOW);
const PAYMENT_PATH = '/api/v1.0/cvs/payment';

const paymentBody = (paymentRequestId: string, value = '10000.00') =>
  JSON.stringify({
    partnerServiceId: '   12345',
    customerNo: '8880012345',
    paymentRequestId,
    paidAmount: { value, currency: 'IDR' },
  });

/** A payment call as NICEPAY sends it: each (body, X-TIMESTAMP) pair has its own signature. */
function payment(init: { externalId: string; timestamp: string; body: string }) {
  const { externalId, timestamp, body } = init;
  const signature = signSymmetric(SECRET, buildSymmetricStringToSign({ method: 'POST', path: PAYMENT_PATH, accessToken: TOKEN, body, timestamp }));
  return {
    method: 'POST',
    path: PAYMENT_PATH,
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${TOKEN}`,
      'X-TIMESTAMP': timestamp,
      'X-PARTNER-ID': PARTNER,
      'X-EXTERNAL-ID': externalId,
      'X-SIGNATURE': signature,
    },
    body,
  };
}

/** [status, responseCode] of an answer, and its message when asked. */
const codeOf = (response: { status: number; body: string }) => [response.status, (JSON.parse(response.body) as { responseCode?: string }).responseCode];
const messageOf = (response: { body: string }) => (JSON.parse(response.body) as { responseMessage?: string }).responseMessage;

const SUCCESS = { responseCode: '2004800', responseMessage: 'Successful' } as const;

/** The three Redis stores of a payment endpoint, under `prefix`. */
function redisStores(client: RedisClaimStoreClient, prefix: string): Pick<TransactionHandlerOptions, 'replayCache' | 'externalIds' | 'idempotency'> {
  return {
    replayCache: createRedisClaimStore(client, { prefix: `${prefix}sig:` }),
    externalIds: createRedisClaimStore(client, { prefix: `${prefix}xid:` }),
    idempotency: {
      key: (verified) => String(verified.body['paymentRequestId']),
      store: createRedisIdempotencyStore(client, { prefix: `${prefix}idem:` }),
    },
  };
}

function paymentHandler(client: RedisClaimStoreClient, prefix: string, extra: Partial<TransactionHandlerOptions> & Pick<TransactionHandlerOptions, 'handle'>): TransactionHandler {
  return createTransactionHandler({
    serviceCode: '48',
    clients: { [PARTNER]: { clientSecret: SECRET } },
    tokens: issuer,
    now: () => NOW,
    ...redisStores(client, prefix),
    ...extra,
  });
}

// ---------------------------------------------------------------------------------------
// Clients.

/** A connected client, as the tests need it. */
interface Connection {
  readonly name: string;
  readonly client: RedisClaimStoreClient;
  /** Connected and ready for commands. */
  ready(): boolean;
  /** PING through this connection: it is answered after every command queued before it. */
  ping(): Promise<unknown>;
  /** Drop the connection at once (queued commands are dropped too). */
  close(): Promise<void>;
}

interface ClientKind {
  readonly name: string;
  connect(url: string, options?: { offlineQueue?: boolean }): Promise<Connection>;
}

/** node-redis with its defaults (offline queue on), or `disableOfflineQueue: true`. */
const nodeRedis: ClientKind = {
  name: 'node-redis',
  async connect(url, { offlineQueue = true } = {}) {
    const client = createClient(offlineQueue ? { url } : { url, disableOfflineQueue: true });
    client.on('error', () => {}); // errors reach the awaiting calls; no unhandled 'error' event
    await client.connect();
    return {
      name: 'node-redis',
      client,
      ready: () => client.isReady,
      ping: () => client.ping(),
      close: async () => {
        if (client.isOpen) client.destroy();
      },
    };
  },
};

/** ioredis with its defaults (offline queue on, 20 retries per request), or `enableOfflineQueue: false`. */
const ioredis: ClientKind = {
  name: 'ioredis',
  async connect(url, { offlineQueue = true } = {}) {
    const client = offlineQueue ? new Redis(url) : new Redis(url, { enableOfflineQueue: false });
    client.on('error', () => {});
    if (client.status !== 'ready') await once(client, 'ready');
    return {
      name: 'ioredis',
      client,
      ready: () => client.status === 'ready',
      ping: () => client.ping(),
      close: async () => {
        if (client.status !== 'end') client.disconnect();
      },
    };
  },
};

/** A connection for the test itself: SCAN, GET, PTTL, INFO, CLIENT PAUSE. */
async function adminOf(url: string) {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  if (redis.status !== 'ready') await once(redis, 'ready');
  return {
    redis,
    /** Every key under `prefix`, sorted. */
    async keys(prefix: string): Promise<string[]> {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      return found.sort();
    },
    /** How many EVALs the server has run since it started. */
    async evalCalls(): Promise<number> {
      const info = await redis.info('commandstats');
      return Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0);
    },
    close: () => {
      if (redis.status !== 'end') redis.disconnect();
    },
  };
}
type Admin = Awaited<ReturnType<typeof adminOf>>;

/** Poll until `check()` holds, at most `ms`. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

const storeErrors = (errors: unknown[]) => errors.filter(isStoreError) as StoreError[];

describe.skipIf(REDIS_BIN === undefined && !IN_CI)('the money path against redis-server', () => {
  let server: RedisServerProcess | undefined;
  let admin: Admin;
  const opened: Connection[] = [];

  beforeAll(async () => {
    if (REDIS_BIN === undefined) {
      throw new Error('redis-server is not installed, and CI is set: .ci/run must install redis-server (apt-get install redis-server) before npm test');
    }
    server = await startRedisServer(REDIS_BIN);
    admin = await adminOf(server.url);
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((c) => c.close()));
    admin?.close();
    await server?.stop();
  });

  const connect = async (kind: ClientKind, options?: { offlineQueue?: boolean }, url?: string): Promise<Connection> => {
    if (!server) throw new Error('redis-server did not start');
    const connection = await kind.connect(url ?? server.url, options);
    opened.push(connection);
    return connection;
  };

  // -------------------------------------------------------------------------------------
  // 1. The stores' own semantics.

  describe.each([nodeRedis, ioredis])('store semantics with $name', (kind) => {
    let conn: Connection;
    beforeAll(async () => {
      conn = await connect(kind);
    });

    it('createRedisClaimStore: reserve, keep, release', async () => {
      const prefix = unique(`claims:${kind.name}`);
      const store = createRedisClaimStore(conn.client, { prefix });
      const key = `${prefix}k`;

      await expect(store.reserve('k', 'tok-1', 15)).resolves.toBe('reserved');
      expect(await admin.redis.get(key)).toBe('p:tok-1');
      const pendingTtl = await admin.redis.pttl(key);
      expect(pendingTtl).toBeGreaterThan(14_000);
      expect(pendingTtl).toBeLessThanOrEqual(15_000);

      // Another token: the call is in flight.
      await expect(store.reserve('k', 'tok-2', 15)).resolves.toBe('pending');
      expect(await admin.redis.get(key)).toBe('p:tok-1');
      // The same token renews (a longer time to live shows the renewal).
      await expect(store.reserve('k', 'tok-1', 30)).resolves.toBe('reserved');
      expect(await admin.redis.pttl(key)).toBeGreaterThan(29_000);
      // Another token can neither release nor keep it.
      await expect(store.release('k', 'tok-2')).resolves.toBe(false);
      await expect(store.keep('k', 'tok-2', 600)).resolves.toBe(false);
      expect(await admin.redis.get(key)).toBe('p:tok-1');

      // Kept: for good, with the keep time to live.
      await expect(store.keep('k', 'tok-1', 600)).resolves.toBe(true);
      expect(await admin.redis.get(key)).toBe('k:tok-1');
      const keptTtl = await admin.redis.pttl(key);
      expect(keptTtl).toBeGreaterThan(599_000);
      expect(keptTtl).toBeLessThanOrEqual(600_000);
      await expect(store.reserve('k', 'tok-3', 15)).resolves.toBe('kept');
      await expect(store.reserve('k', 'tok-1', 15)).resolves.toBe('kept');
      await expect(store.release('k', 'tok-1')).resolves.toBe(false);
      expect(await admin.redis.get(key)).toBe('k:tok-1');
      expect(await admin.redis.pttl(key)).toBeGreaterThan(599_000);

      // A reservation released by its owner is gone, and the key is free again.
      await expect(store.reserve('r', 'tok-4', 15)).resolves.toBe('reserved');
      await expect(store.release('r', 'tok-4')).resolves.toBe(true);
      expect(await admin.redis.exists(`${prefix}r`)).toBe(0);
      await expect(store.release('r', 'tok-4')).resolves.toBe(false);
      await expect(store.reserve('r', 'tok-5', 15)).resolves.toBe('reserved');

      // A plain claim ('1') is held for good too.
      await expect(store.claim('c', 60)).resolves.toBe(true);
      expect(await admin.redis.get(`${prefix}c`)).toBe('1');
      await expect(store.reserve('c', 'tok-6', 15)).resolves.toBe('kept');
      await expect(store.release('c', 'tok-6')).resolves.toBe(false);

      // A reservation that lapsed while nobody took the key is still kept by its call.
      await expect(store.keep('lapsed', 'tok-7', 600)).resolves.toBe(true);
      expect(await admin.redis.get(`${prefix}lapsed`)).toBe('k:tok-7');
      await expect(store.keep('lapsed', 'tok-8', 600)).resolves.toBe(false);
    });

    it('createRedisIdempotencyStore: begin, complete, release', async () => {
      const prefix = unique(`idem:${kind.name}`);
      const store = createRedisIdempotencyStore(conn.client, { prefix });
      const key = `${prefix}pay-1`;
      const answer = { fingerprint: 'f'.repeat(64), status: 200, body: '{"responseCode":"2004800","responseMessage":"Successful"}' };

      await expect(store.begin('pay-1', 'tok-1', 15)).resolves.toEqual({ state: 'started' });
      expect(await admin.redis.get(key)).toBe('p:tok-1');
      expect(await admin.redis.pttl(key)).toBeGreaterThan(14_000);
      await expect(store.begin('pay-1', 'tok-2', 15)).resolves.toEqual({ state: 'in-flight' });
      await expect(store.begin('pay-1', 'tok-1', 15)).resolves.toEqual({ state: 'started' });
      await expect(store.complete('pay-1', 'tok-2', answer, 600)).resolves.toBe(false);
      await expect(store.release('pay-1', 'tok-2')).resolves.toBe(false);
      expect(await admin.redis.get(key)).toBe('p:tok-1');

      await expect(store.complete('pay-1', 'tok-1', answer, 600)).resolves.toBe(true);
      expect(await admin.redis.get(key)).toMatch(/^d:/);
      expect(await admin.redis.pttl(key)).toBeGreaterThan(599_000);
      await expect(store.begin('pay-1', 'tok-3', 15)).resolves.toEqual({ state: 'done', answer });
      await expect(store.begin('pay-1', 'tok-1', 15)).resolves.toEqual({ state: 'done', answer });
      // An answered key is never released nor completed again.
      await expect(store.release('pay-1', 'tok-1')).resolves.toBe(false);
      await expect(store.complete('pay-1', 'tok-1', { ...answer, status: 409 }, 600)).resolves.toBe(false);
      // The same complete again (a retry after a timeout that landed) is a success, not an alarm.
      await expect(store.complete('pay-1', 'tok-1', answer, 600)).resolves.toBe(true);
      // A hold that lapsed while nobody took the key is still completed by its call.
      await expect(store.complete('pay-3', 'tok-7', answer, 600)).resolves.toBe(true);
      await expect(store.begin('pay-3', 'tok-8', 15)).resolves.toEqual({ state: 'done', answer });
      await expect(store.begin('pay-1', 'tok-4', 15)).resolves.toEqual({ state: 'done', answer });

      // Released by its owner: free again.
      await expect(store.begin('pay-2', 'tok-5', 15)).resolves.toEqual({ state: 'started' });
      await expect(store.release('pay-2', 'tok-5')).resolves.toBe(true);
      expect(await admin.redis.exists(`${prefix}pay-2`)).toBe(0);
      await expect(store.begin('pay-2', 'tok-6', 15)).resolves.toEqual({ state: 'started' });
    });
  });

  // -------------------------------------------------------------------------------------
  // 2. A failed handle() leaves nothing behind; NICEPAY's retry is processed.

  describe.each([nodeRedis, ioredis])('a failed call, then NICEPAY’s retry, with $name', (kind) => {
    let conn: Connection;
    beforeAll(async () => {
      conn = await connect(kind);
    });

    const failures = [
      {
        how: 'handle() throws',
        fail: (): TransactionAnswer => {
          throw new Error('the database is down');
        },
      },
      { how: 'handle() answers 5004800', fail: (): TransactionAnswer => ({ responseCode: '5004800', responseMessage: 'General Error' }) },
    ];

    it.each(failures)('$how: 500, nothing left in Redis, the retry is 200, handle succeeded once', async ({ fail }) => {
      const prefix = unique(`retry:${kind.name}`);
      let calls = 0;
      let successes = 0;
      const errors: unknown[] = [];
      const handler = paymentHandler(conn.client, prefix, {
        onError: (error) => {
          errors.push(error);
        },
        handle: ({ body }) => {
          calls += 1;
          if (calls === 1) return fail();
          successes += 1;
          return { ...SUCCESS, paymentRequestId: body['paymentRequestId'] };
        },
      });
      const body = paymentBody('pay-retry-1');

      const first = await handler(payment({ externalId: 'ext-retry-1', timestamp: stamp(-100), body }));
      expect(codeOf(first)).toEqual([500, '5004800']);
      expect(await admin.keys(prefix)).toEqual([]);
      expect(storeErrors(errors)).toEqual([]);

      // The retry: same X-EXTERNAL-ID and body, a new X-TIMESTAMP (so a new signature).
      const retry = await handler(payment({ externalId: 'ext-retry-1', timestamp: stamp(-99), body }));
      expect(codeOf(retry)).toEqual([200, '2004800']);
      expect(JSON.parse(retry.body)).toEqual({ ...SUCCESS, paymentRequestId: 'pay-retry-1' });
      expect([calls, successes]).toEqual([2, 1]);

      // Now kept: the signature, the X-EXTERNAL-ID, and the answer.
      const keys = await admin.keys(prefix);
      expect(keys.map((k) => k.slice(prefix.length).split(':')[0])).toEqual(['idem', 'sig', 'xid']);
      const values = await Promise.all(keys.map((k) => admin.redis.get(k)));
      expect(values.map((v) => v?.slice(0, 2))).toEqual(['d:', 'k:', 'k:']);

      // A third call with that X-EXTERNAL-ID is refused without running handle().
      const again = await handler(payment({ externalId: 'ext-retry-1', timestamp: stamp(-98), body }));
      expect(codeOf(again)).toEqual([409, '4094800']);
      expect(calls).toBe(2);
      expect(storeErrors(errors)).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------
  // 3. Redis paused (CLIENT PAUSE): the call gives up after storeTimeoutMs.

  describe.each([ioredis, nodeRedis])('Redis paused, $name with its default settings', (kind) => {
    it('answers 500 after storeTimeoutMs (STORE_TIMEOUT); the release queued behind the reservation leaves nothing; the retry is processed once', async () => {
      const conn = await connect(kind);
      const prefix = unique(`paused:${kind.name}`);
      let calls = 0;
      const errors: unknown[] = [];
      const handler = paymentHandler(conn.client, prefix, {
        storeTimeoutMs: 300,
        onError: (error) => {
          errors.push(error);
        },
        handle: () => {
          calls += 1;
          return SUCCESS;
        },
      });
      const body = paymentBody('pay-paused-1');
      const evalsBefore = await admin.evalCalls();

      const PAUSE_MS = 2_500;
      await admin.redis.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
      const pausedAt = Date.now();
      const t0 = performance.now();
      const first = await handler(payment({ externalId: 'ext-paused-1', timestamp: stamp(-90), body }));
      const elapsed = performance.now() - t0;
      console.info(`[redis-money-path] paused Redis, ${kind.name}, storeTimeoutMs 300: answered ${first.status} in ${elapsed.toFixed(0)} ms`);

      expect(codeOf(first)).toEqual([500, '5004800']);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_500);
      expect(calls).toBe(0);
      const timeouts = storeErrors(errors).filter((e) => e.code === 'STORE_TIMEOUT');
      expect(timeouts.length).toBeGreaterThanOrEqual(1);
      expect(errors.filter((e) => !isStoreError(e) || e.code !== 'STORE_TIMEOUT')).toEqual([]);

      // The pause ends; the reservations run, then the releases queued behind them.
      await sleep(Math.max(0, pausedAt + PAUSE_MS - Date.now()) + 300);
      await conn.ping();
      expect(await admin.keys(prefix)).toEqual([]);
      // Two reservations (signature, X-EXTERNAL-ID) and their two releases did reach Redis.
      expect((await admin.evalCalls()) - evalsBefore).toBe(4);

      const retry = await handler(payment({ externalId: 'ext-paused-1', timestamp: stamp(-89), body }));
      expect(codeOf(retry)).toEqual([200, '2004800']);
      expect(calls).toBe(1);
      expect((await admin.keys(prefix)).length).toBe(3);
    });
  });

  // -------------------------------------------------------------------------------------
  // 4. Redis stopped, then started again on the same port (empty: no persistence).

  describe('Redis stopped', () => {
    const own: RedisServerProcess[] = [];
    afterAll(async () => {
      await Promise.allSettled(own.map((s) => s.stop()));
    });
    const startOwn = async (port?: number) => {
      const started = await startRedisServer(REDIS_BIN as string, port === undefined ? {} : { port });
      own.push(started);
      return started;
    };

    it.each([ioredis, nodeRedis])(
      '$name with its defaults (offline queue on): 500 after storeTimeoutMs; on reconnect the queued reservation and release replay in order, leaving nothing; the retry is processed once',
      async (kind) => {
        const first = await startOwn();
        const conn = await connect(kind, {}, first.url);
        const prefix = unique(`stopped:${kind.name}`);
        let calls = 0;
        const errors: unknown[] = [];
        const STORE_TIMEOUT_MS = 500;
        const handler = paymentHandler(conn.client, prefix, {
          storeTimeoutMs: STORE_TIMEOUT_MS,
          onError: (error) => {
            errors.push(error);
          },
          handle: () => {
            calls += 1;
            return SUCCESS;
          },
        });
        const body = paymentBody('pay-stopped-1');

        await first.stop();
        expect(await until(() => !conn.ready(), 5_000)).toBe(true);
        const t0 = performance.now();
        const response = await handler(payment({ externalId: 'ext-stopped-1', timestamp: stamp(-80), body }));
        const elapsed = performance.now() - t0;
        console.info(`[redis-money-path] stopped Redis, ${kind.name} defaults, storeTimeoutMs ${STORE_TIMEOUT_MS}: answered ${response.status} in ${elapsed.toFixed(0)} ms`);
        expect(codeOf(response)).toEqual([500, '5004800']);
        expect(elapsed).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 10);
        expect(elapsed).toBeLessThan(STORE_TIMEOUT_MS + 1_000);
        expect(calls).toBe(0);
        expect(storeErrors(errors).some((e) => e.code === 'STORE_TIMEOUT')).toBe(true);

        // Started again on the same port, empty. The client reconnects and sends what it queued.
        const second = await startOwn(first.port);
        const restartedAdmin = await adminOf(second.url);
        try {
          expect(await until(() => conn.ready(), 8_000)).toBe(true);
          await conn.ping(); // answered after everything queued before it
          expect(await restartedAdmin.keys(prefix)).toEqual([]);
          // The new server ran exactly the queued commands: two reservations, then two releases.
          expect(await restartedAdmin.evalCalls()).toBe(4);

          const retry = await handler(payment({ externalId: 'ext-stopped-1', timestamp: stamp(-79), body }));
          expect(codeOf(retry)).toEqual([200, '2004800']);
          expect(calls).toBe(1);
          expect((await restartedAdmin.keys(prefix)).length).toBe(3);
        } finally {
          restartedAdmin.close();
          await conn.close();
          await second.stop();
        }
      },
    );

    it.each([
      { kind: ioredis, setting: 'enableOfflineQueue: false' },
      { kind: nodeRedis, setting: 'disableOfflineQueue: true' },
    ])('$kind.name with $setting: 500 at once (STORE_FAILED), nothing sent', async ({ kind }) => {
      const server = await startOwn();
      const conn = await connect(kind, { offlineQueue: false }, server.url);
      const prefix = unique(`no-queue:${kind.name}`);
      let calls = 0;
      const errors: unknown[] = [];
      const handler = paymentHandler(conn.client, prefix, {
        onError: (error) => {
          errors.push(error);
        },
        handle: () => {
          calls += 1;
          return SUCCESS;
        },
      });
      try {
        await server.stop();
        expect(await until(() => !conn.ready(), 5_000)).toBe(true);
        const t0 = performance.now();
        const response = await handler(payment({ externalId: 'ext-no-queue-1', timestamp: stamp(-70), body: paymentBody('pay-no-queue-1') }));
        const elapsed = performance.now() - t0;
        console.info(`[redis-money-path] stopped Redis, ${kind.name} without offline queue: answered ${response.status} in ${elapsed.toFixed(0)} ms`);
        expect(codeOf(response)).toEqual([500, '5004800']);
        expect(elapsed).toBeLessThan(300);
        expect(calls).toBe(0);
        const failed = storeErrors(errors);
        expect(failed.length).toBeGreaterThanOrEqual(1);
        expect(failed.every((e) => e.code === 'STORE_FAILED')).toBe(true);
        expect(failed[0]?.cause).toBeInstanceOf(Error);
      } finally {
        await conn.close();
      }
    });
  });

  // -------------------------------------------------------------------------------------
  // 5-7. Two server instances (one per client library) sharing one Redis.

  describe('two instances sharing one Redis', () => {
    let a: Connection;
    let b: Connection;
    beforeAll(async () => {
      a = await connect(nodeRedis);
      b = await connect(ioredis);
    });

    it('idempotency: 200 concurrent retries of one payment run handle() once; each answer is the stored 200 or 409 in flight; a different body is 404 4044818', async () => {
      const prefix = unique('idempotency');
      let runs = 0;
      const handle: TransactionHandlerOptions['handle'] = async ({ body }) => {
        runs += 1;
        const run = runs;
        await sleep(50);
        return { ...SUCCESS, paymentRequestId: body['paymentRequestId'], paymentFlagStatus: '00', run };
      };
      const instances = [paymentHandler(a.client, prefix, { handle }), paymentHandler(b.client, prefix, { handle })];
      // One payment, retried: the same body, each retry with its own X-EXTERNAL-ID and X-TIMESTAMP.
      const body = paymentBody('pay-idem-1');
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (instances[i % 2] as TransactionHandler)(payment({ externalId: `ext-idem-${i}`, timestamp: stamp(-250 + i), body })),
        ),
      );
      expect(runs).toBe(1);
      const ok = responses.filter((r) => r.status === 200);
      const inFlight = responses.filter((r) => r.status === 409);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(ok.length + inFlight.length).toBe(200);
      const stored = (ok[0] as { body: string }).body;
      expect(JSON.parse(stored)).toEqual({ ...SUCCESS, paymentRequestId: 'pay-idem-1', paymentFlagStatus: '00', run: 1 });
      expect(new Set(ok.map((r) => r.body))).toEqual(new Set([stored]));
      expect(new Set(inFlight.map(codeOf).map(String))).toEqual(new Set(['409,4094800']));

      // After the first completed: a further retry, on either instance, gets the same answer; handle() is not run.
      for (const [i, instance] of instances.entries()) {
        const late = await instance(payment({ externalId: `ext-idem-late-${i}`, timestamp: stamp(-40 + i), body }));
        expect(late.status).toBe(200);
        expect(late.body).toBe(stored);
      }
      expect(runs).toBe(1);

      // The same paymentRequestId with another body: 404 Inconsistent Request.
      const other = await (instances[1] as TransactionHandler)(
        payment({ externalId: 'ext-idem-other', timestamp: stamp(-30), body: paymentBody('pay-idem-1', '99999.00') }),
      );
      expect(codeOf(other)).toEqual([404, '4044818']);
      expect(messageOf(other)).toBe('Inconsistent Request');
      expect(runs).toBe(1);
    });

    it('1,000 concurrent copies of one signed payment: handle() runs once; every other copy is 409 or 401', async () => {
      const prefix = unique('copies');
      let runs = 0;
      const handle: TransactionHandlerOptions['handle'] = async () => {
        runs += 1;
        await sleep(20);
        return SUCCESS;
      };
      const instances = [paymentHandler(a.client, prefix, { handle }), paymentHandler(b.client, prefix, { handle })];
      const request = payment({ externalId: 'ext-copies-1', timestamp: stamp(-5), body: paymentBody('pay-copies-1') });
      const responses = await Promise.all(Array.from({ length: 1_000 }, (_, i) => (instances[i % 2] as TransactionHandler)(request)));
      const tally = new Map<string, number>();
      for (const r of responses) tally.set(String(codeOf(r)), (tally.get(String(codeOf(r))) ?? 0) + 1);
      console.info(`[redis-money-path] 1,000 copies: ${JSON.stringify(Object.fromEntries(tally))}`);
      expect(runs).toBe(1);
      expect(tally.get('200,2004800')).toBe(1);
      expect([...tally.keys()].filter((k) => !['200,2004800', '409,4094800', '401,4014800'].includes(k))).toEqual([]);
      for (const r of responses.filter((x) => x.status === 401)) expect(messageOf(r)).toBe('Unauthorized. Request already used');
    });

    it('an access-token request’s signature reused as an asymmetric payment signature is refused (401 4014800), and the other way round', async () => {
      const prefix = unique('cross-endpoint');
      const keys = makeKeys();
      const replayPrefix = `${prefix}sig:`;
      const accessToken = createAccessTokenHandler({
        clients: { [PARTNER]: keys.publicKeyPem },
        tokenSecret: TOKEN_SECRET,
        now: () => NOW,
        replayCache: createRedisClaimStore(a.client, { prefix: replayPrefix }),
      });
      let runs = 0;
      const paymentEndpoint = createTransactionHandler({
        serviceCode: '48',
        signature: 'asymmetric',
        clients: { [PARTNER]: { publicKey: keys.publicKeyPem } },
        tokens: createAccessTokenIssuer({ secret: TOKEN_SECRET }),
        now: () => NOW,
        replayCache: createRedisClaimStore(b.client, { prefix: replayPrefix }),
        externalIds: createRedisClaimStore(b.client, { prefix: `${prefix}xid:` }),
        handle: () => {
          runs += 1;
          return SUCCESS;
        },
      });
      const asymmetricPayment = (timestamp: string, signature: string, token: string, externalId: string) => ({
        method: 'POST',
        path: PAYMENT_PATH,
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${token}`,
          'X-TIMESTAMP': timestamp,
          'X-PARTNER-ID': PARTNER,
          'X-EXTERNAL-ID': externalId,
          'X-SIGNATURE': signature,
        },
        body: paymentBody(`pay-${externalId}`),
      });

      // Instance A answers the access-token request...
      const ts = stamp(-3);
      const tokenHeaders = signedHeaders(keys.privateKey, PARTNER, ts);
      const tokenResponse = await accessToken({ method: 'POST', path: '/api/v1.0/access-token/b2b', headers: tokenHeaders, body: ACCESS_TOKEN_BODY });
      expect(tokenResponse.status).toBe(200);
      const token = (JSON.parse(tokenResponse.body) as { accessToken: string }).accessToken;
      expect(typeof token).toBe('string');

      // ...and instance B refuses its signature as a payment's.
      const reused = await paymentEndpoint(asymmetricPayment(ts, tokenHeaders['X-SIGNATURE'] as string, token, 'ext-cross-1'));
      expect(codeOf(reused)).toEqual([401, '4014800']);
      expect(messageOf(reused)).toBe('Unauthorized. Request already used');
      expect(runs).toBe(0);

      // A payment signed anew is accepted; its signature then cannot buy a token.
      const ts2 = stamp(-2);
      const fresh = signText(keys.privateKey, `${PARTNER}|${ts2}`);
      const paid = await paymentEndpoint(asymmetricPayment(ts2, fresh, token, 'ext-cross-2'));
      expect(codeOf(paid)).toEqual([200, '2004800']);
      expect(runs).toBe(1);
      const tokenAgain = await accessToken({ method: 'POST', path: '/api/v1.0/access-token/b2b', headers: signedHeaders(keys.privateKey, PARTNER, ts2), body: ACCESS_TOKEN_BODY });
      expect(codeOf(tokenAgain)).toEqual([401, '4017300']);
      expect(messageOf(tokenAgain)).toBe('Unauthorized. Request already used');
    });
  });
});
