/**
 * The money path's one piece of orchestration, used by both handlers: reserve the call's
 * claims (signature, X-EXTERNAL-ID) and its idempotency key while it is in flight, then keep
 * them when the answer is final (2xx, 4xx) or release them when it is not (5xx, a throw, a
 * store that failed or did not answer in time), so a failed call leaves no trace and a
 * retry is processed, while a call that was answered can never be processed again.
 * @module
 */
import { fillRandom } from '../crypto/random.js';
import { encodeBase64Url } from '../crypto/hmac.js';
import { SnapError } from '../errors.js';
import { createMemoryClaimStore, type ClaimStore, type ReserveResult } from './claim-store.js';
import type { IdempotencyBegin, IdempotencyStore, StoredAnswer } from './idempotency-store.js';
import { isStoreError, StoreError } from './store-error.js';

/** Default of `storeTimeoutMs`: how long a handler waits for one store call. */
export const DEFAULT_STORE_TIMEOUT_MS = 2_000;
/** Default of `pendingTtlSeconds`: the time to live of a reservation while its call is in flight. */
export const DEFAULT_PENDING_TTL_SECONDS = 15;

/** Options both handlers share for their stores. */
export interface StoreTimingOptions {
  /**
   * How long to wait for one store call, ms; default 2,000. A store that does not answer in
   * time is treated as failed: the call is answered `500 General Error` (so NICEPAY
   * retries), and a reservation that may still land is released behind it.
   */
  readonly storeTimeoutMs?: number;
  /**
   * Time to live of a reservation while its call is in flight, seconds; default 15. The
   * handler renews it every third of that while your code runs, so a slow `handle()` keeps
   * its reservation; it is the backstop that frees a reservation whose release was lost
   * (the store went away), so NICEPAY's retry after it is processed.
   */
  readonly pendingTtlSeconds?: number;
}

/** One claim a call takes: where, under which key, and for how long once kept. */
export interface ClaimSpec {
  readonly store: ClaimStore;
  /** The option the store came from, for messages: `"replayCache"`, `"externalIds"`. */
  readonly label: string;
  readonly key: string;
  /** Time to live once the call is answered, seconds. */
  readonly keepSeconds: number;
  /** The refusal when the key is held: by a call in flight (`pending`) or for good (`kept`). */
  readonly refuse: (state: 'pending' | 'kept') => SnapError;
  /**
   * Kept also when the call is refused by another guard (a 4xx that did not run the
   * merchant's code). True for the signature: a signed request that was answered, even with
   * a refusal, is spent, so a captured copy cannot come back under a new `X-EXTERNAL-ID`.
   * False for the `X-EXTERNAL-ID`, which a refused call must not use up.
   */
  readonly keepWhenRefused: boolean;
}

/**
 * How a call ended, for {@link CallLifecycle.settle}:
 * - `answered`: a final answer (2xx or 4xx) from the merchant's code or the idempotency
 *   store: every claim is kept, and the answer stored under the idempotency key;
 * - `refused`: a guard refused it (409, 404xx18) before the merchant's code ran: the
 *   claims marked `keepWhenRefused` are kept, the others released;
 * - `failed`: a 5xx, a throw, a store failure: everything is released.
 */
export type CallOutcome =
  | { readonly kind: 'answered'; readonly status: number; readonly body: string }
  | { readonly kind: 'refused' }
  | { readonly kind: 'failed' };

export const FAILED: CallOutcome = { kind: 'failed' };
/** @internal */
export const REFUSED: CallOutcome = { kind: 'refused' };

/** A claim the call holds. */
export interface Hold {
  readonly spec: ClaimSpec;
  /** The reservation's token; `undefined` for a store with `claim` only (nothing to keep or release). */
  readonly token: string | undefined;
}

/** The idempotency key a call holds. */
export interface IdempotencyHold {
  readonly store: IdempotencyStore;
  readonly key: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly ttlSeconds: number;
}

/** What a call's idempotency check found: a key to hold, or the answer stored for it. */
export type IdempotencyOutcome = { readonly hold: IdempotencyHold } | { readonly answer: StoredAnswer };

/** Reports a problem that does not change the answer (a keep or release that failed). */
export type Reporter = (error: unknown) => void;

type Settled<T> = T | Promise<T>;

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';

let tokenPrefix: string | undefined;
let tokenCounter = 0;

/** A token unique to one reservation: 128 random bits per process, then a counter. */
export function newReservationToken(): string {
  tokenPrefix ??= encodeBase64Url(fillRandom(new Uint8Array(16)));
  tokenCounter += 1;
  return `${tokenPrefix}.${tokenCounter.toString(36)}`;
}

const SHARED_STORES = Symbol.for('nicepay-nico.shared-stores.v1');

/**
 * A store of this process, by name, created on first use: the defaults of the handlers'
 * store options live here (on `globalThis`, so the ESM and CommonJS copies of this package
 * share them), so handlers created more than once (per request, per route, in tests) still
 * share their state. @internal
 */
export function sharedStore<T>(name: string, create: () => T): T {
  const holder = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
  let stores = holder[SHARED_STORES];
  if (stores === undefined) {
    stores = new Map();
    Object.defineProperty(globalThis, SHARED_STORES, { value: stores, enumerable: false, configurable: false, writable: false });
  }
  let store = stores.get(name) as T | undefined;
  if (store === undefined) {
    store = create();
    stores.set(name, store);
  }
  return store;
}

/**
 * The process's own signature replay store: one bounded in-memory claim store, shared by
 * every handler that was not given a `replayCache`, so a signature accepted on one
 * endpoint is refused on every other.
 */
export function sharedReplayCache(): ClaimStore {
  return sharedStore('replayCache', () => createMemoryClaimStore());
}

/** Checks a store option: a full lifecycle store, a `claim`-only store, `false` (off) or `undefined` (default). @internal */
export function checkClaimStore(value: unknown, name: string, fn: string): ClaimStore | false | undefined {
  if (value === undefined || value === false) return value;
  const store = value as Partial<Record<keyof ClaimStore, unknown>> | null;
  if (typeof store !== 'object' || store === null || typeof store.claim !== 'function') {
    throw new TypeError(`${fn}: ${name} must be a claim store (createMemoryClaimStore, createRedisClaimStore, or { claim, reserve?, keep?, release? }), or false to turn it off`);
  }
  const lifecycle = [store.reserve, store.keep, store.release].filter((f) => typeof f === 'function').length;
  if (lifecycle !== 0 && lifecycle !== 3) {
    throw new TypeError(`${fn}: ${name} has only some of reserve, keep and release: give all three (so a failed call is released) or none`);
  }
  return value as ClaimStore;
}

const hasLifecycle = (store: ClaimStore): store is Required<ClaimStore> => typeof store.reserve === 'function';

/** The handlers' store timing options, checked. @internal */
export function checkTiming(options: StoreTimingOptions, fn: string): { timeoutMs: number; pendingSeconds: number } {
  const timeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 600_000) {
    throw new TypeError(`${fn}: storeTimeoutMs must be a positive number of milliseconds (at most 600000)`);
  }
  const pendingSeconds = options.pendingTtlSeconds ?? DEFAULT_PENDING_TTL_SECONDS;
  if (typeof pendingSeconds !== 'number' || !Number.isFinite(pendingSeconds) || pendingSeconds < 1 || pendingSeconds > 86_400) {
    throw new TypeError(`${fn}: pendingTtlSeconds must be a number of seconds from 1 to 86400`);
  }
  if (pendingSeconds * 1000 <= timeoutMs) {
    throw new TypeError(`${fn}: pendingTtlSeconds (${pendingSeconds} s) must be longer than storeTimeoutMs (${timeoutMs} ms), or a renewal could outlive its reservation`);
  }
  return { timeoutMs, pendingSeconds };
}

/**
 * One store call with a deadline. A synchronous store (the memory stores) is called
 * directly; a store's promise is awaited for at most `timeoutMs`. `onGiveUp` runs once when
 * the call failed or timed out (to release a reservation that may still land).
 */
function callStore<T>(what: string, call: () => Settled<T>, timeoutMs: number, onGiveUp?: () => void): Settled<T> {
  let gaveUp = false;
  const giveUp = () => {
    if (gaveUp) return;
    gaveUp = true;
    onGiveUp?.();
  };
  let result: Settled<T>;
  try {
    result = call();
  } catch (error) {
    giveUp();
    throw storeFailure(what, error);
  }
  if (!isThenable(result)) return result;
  const pending = result;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      giveUp();
      reject(
        new StoreError(
          'STORE_TIMEOUT',
          `${what} did not answer within ${timeoutMs} ms (storeTimeoutMs), so the call was answered 500 for NICEPAY to retry; ` +
            'anything it reserved is released behind it. Check the store, and give its client a bound (ioredis enableOfflineQueue: false, node-redis disableOfflineQueue: true).',
        ),
      );
    }, timeoutMs);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        giveUp();
        reject(storeFailure(what, error));
      },
    );
  });
}

function storeFailure(what: string, error: unknown): unknown {
  if (isStoreError(error)) return error;
  if (error instanceof TypeError || error instanceof RangeError) {
    // A store that answered something it should not have, or a programming error: keep its message.
    return new StoreError('STORE_FAILED', `${what} failed: ${error.message}`, { cause: error });
  }
  return new StoreError('STORE_FAILED', `${what} failed (see cause); the call was answered 500 for NICEPAY to retry`, { cause: error });
}

async function settledAll<T>(values: readonly Settled<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(values.map((v) => (isThenable(v) ? v : Promise.resolve(v))));
}

/** The lifecycle of one handler: its store timing and where problems after the answer go. */
export class CallLifecycle {
  constructor(
    private readonly timeoutMs: number,
    private readonly pendingSeconds: number,
  ) {}

  /**
   * Reserve every claim of a call (in parallel). Resolves with the holds; when any claim is
   * held elsewhere or a store fails, releases those it got and throws: the store's
   * {@link StoreError} first, then a `REPLAYED_REQUEST`, then a `CONFLICT`.
   */
  async reserve(specs: readonly ClaimSpec[], report: Reporter): Promise<Hold[]> {
    if (specs.length === 0) return [];
    // Every claim is attempted, and a refusal or failure of one (thrown synchronously by a
    // memory store, or as a rejection) never skips the release of the others.
    const attempts = specs.map((spec): Settled<Hold> => {
      try {
        return this.reserveOne(spec, report);
      } catch (error) {
        return Promise.reject(error);
      }
    });
    const results = await settledAll(attempts);
    const holds: Hold[] = [];
    let failure: unknown;
    let rank = 0;
    for (const result of results) {
      if (result.status === 'fulfilled') {
        holds.push(result.value);
        continue;
      }
      const error = result.reason as unknown;
      const r = isStoreError(error) ? 3 : (error as SnapError).code === 'REPLAYED_REQUEST' ? 2 : 1;
      if (r > rank) {
        rank = r;
        failure = error;
      }
    }
    if (rank === 0) return holds;
    await this.settle(holds, undefined, rank === 3 ? FAILED : REFUSED, report);
    throw failure;
  }

  private reserveOne(spec: ClaimSpec, report: Reporter): Settled<Hold> {
    const { store, key } = spec;
    if (!hasLifecycle(store)) {
      const claimed = callStore(`${spec.label}.claim`, () => store.claim(key, spec.keepSeconds), this.timeoutMs);
      const decide = (fresh: boolean): Hold => {
        if (fresh === true) return { spec, token: undefined };
        if (fresh === false) throw spec.refuse('kept');
        throw new StoreError('STORE_FAILED', `${spec.label}.claim returned ${typeof fresh}, not true or false`);
      };
      return isThenable(claimed) ? claimed.then(decide) : decide(claimed);
    }
    const token = newReservationToken();
    const result = callStore<ReserveResult>(`${spec.label}.reserve`, () => store.reserve(key, token, this.pendingSeconds), this.timeoutMs, () =>
      this.releaseBehind(spec, token, report),
    );
    const decide = (state: ReserveResult): Hold => {
      if (state === 'reserved') return { spec, token };
      if (state === 'pending' || state === 'kept') throw spec.refuse(state);
      const got: unknown = state;
      throw new StoreError('STORE_FAILED', `${spec.label}.reserve returned ${typeof got === 'string' ? JSON.stringify(got.slice(0, 20)) : typeof got}, not 'reserved', 'pending' or 'kept'`);
    };
    return isThenable(result) ? result.then(decide) : decide(result);
  }

  /** Release a reservation whose outcome is unknown, queued behind it; failures are reported. */
  private releaseBehind(spec: ClaimSpec, token: string, report: Reporter): void {
    const store = spec.store as Required<ClaimStore>;
    try {
      const released = store.release(spec.key, token);
      if (isThenable(released)) (released as Promise<boolean>).then(undefined, (error: unknown) => report(storeFailure(`${spec.label}.release`, error)));
    } catch (error) {
      report(storeFailure(`${spec.label}.release`, error));
    }
  }

  /**
   * Start the idempotency check of a call under `key`: a hold while the call runs, or the
   * answer stored for it. Throws `CONFLICT` while another call holds the key, and
   * `INCONSISTENT_REQUEST` when the stored answer was for another request.
   */
  async begin(init: Omit<IdempotencyHold, 'token'>, report: Reporter): Promise<IdempotencyOutcome> {
    const token = newReservationToken();
    const hold: IdempotencyHold = { ...init, token };
    const state = await callStore<IdempotencyBegin>('idempotency.store.begin', () => init.store.begin(init.key, token, this.pendingSeconds), this.timeoutMs, () => {
      try {
        const released = init.store.release(init.key, token);
        if (isThenable(released)) (released as Promise<boolean>).then(undefined, (error: unknown) => report(storeFailure('idempotency.store.release', error)));
      } catch (error) {
        report(storeFailure('idempotency.store.release', error));
      }
    });
    if (typeof state !== 'object' || state === null) throw new StoreError('STORE_FAILED', `idempotency.store.begin returned ${String(state)}`);
    if (state.state === 'started') return { hold };
    if (state.state === 'in-flight') {
      throw new SnapError('CONFLICT', { detail: 'a call with the same idempotency key is still being processed; it was not run twice' });
    }
    if (state.state === 'done') {
      if (state.answer.fingerprint === init.fingerprint) return { answer: state.answer };
      throw new SnapError('INCONSISTENT_REQUEST', {
        detail: 'the idempotency key was already answered for a request with another body; it was not run again',
      });
    }
    throw new StoreError('STORE_FAILED', 'idempotency.store.begin returned an unknown state');
  }

  /**
   * While the merchant's code runs, renew every reservation every third of the pending time
   * to live. Returns the function that stops it.
   */
  renew(holds: readonly Hold[], idempotency: IdempotencyHold | undefined, report: Reporter): () => void {
    const live = holds.filter((h) => h.token !== undefined);
    if (live.length === 0 && idempotency === undefined) return () => undefined;
    const timer = setInterval(() => {
      for (const hold of live) {
        const store = hold.spec.store as Required<ClaimStore>;
        this.background(`${hold.spec.label}.reserve (renewal)`, () => store.reserve(hold.spec.key, hold.token as string, this.pendingSeconds), report, (state) =>
          state === 'reserved' ? undefined : 'the reservation was lost while the call ran: a duplicate may be processed meanwhile',
        );
      }
      if (idempotency) {
        this.background('idempotency.store.begin (renewal)', () => idempotency.store.begin(idempotency.key, idempotency.token, this.pendingSeconds), report, (state) =>
          state.state === 'started' ? undefined : 'the idempotency key was lost while the call ran',
        );
      }
    }, (this.pendingSeconds * 1000) / 3);
    (timer as unknown as { unref?: () => void }).unref?.();
    return () => clearInterval(timer);
  }

  private background<T>(what: string, call: () => Settled<T>, report: Reporter, problem: (value: T) => string | undefined): void {
    try {
      const result = callStore(what, call, this.timeoutMs);
      const check = (value: T) => {
        const message = problem(value);
        if (message !== undefined) report(new StoreError('STORE_FAILED', `${what}: ${message}`));
      };
      if (isThenable(result)) (result as Promise<T>).then(check, report);
      else check(result);
    } catch (error) {
      report(error);
    }
  }

  /**
   * Settle a call by its {@link CallOutcome}. Never throws: a failure is reported (the
   * answer stands; a reservation that could not be released expires after the pending
   * time to live).
   */
  async settle(holds: readonly Hold[], idempotency: IdempotencyHold | undefined, outcome: CallOutcome, report: Reporter): Promise<void> {
    const answer = outcome.kind === 'answered' ? outcome : undefined;
    const work: Array<{ what: string; result: Settled<boolean> }> = [];
    const run = (what: string, call: () => Settled<boolean>) => {
      try {
        work.push({ what, result: callStore(what, call, this.timeoutMs) });
      } catch (error) {
        report(error);
      }
    };
    for (const hold of holds) {
      if (hold.token === undefined) continue;
      const store = hold.spec.store as Required<ClaimStore>;
      const token = hold.token;
      const keep = answer !== undefined || (outcome.kind === 'refused' && hold.spec.keepWhenRefused);
      if (keep) run(`${hold.spec.label}.keep`, () => store.keep(hold.spec.key, token, hold.spec.keepSeconds));
      else run(`${hold.spec.label}.release`, () => store.release(hold.spec.key, token));
    }
    if (idempotency) {
      const { store, key, token } = idempotency;
      if (answer) {
        const stored: StoredAnswer = { fingerprint: idempotency.fingerprint, status: answer.status, body: answer.body };
        run('idempotency.store.complete', () => store.complete(key, token, stored, idempotency.ttlSeconds));
      } else {
        run('idempotency.store.release', () => store.release(key, token));
      }
    }
    if (work.length === 0) return;
    const results = await settledAll(work.map((w) => w.result));
    results.forEach((result, i) => {
      const what = (work[i] as { what: string }).what;
      if (result.status === 'rejected') report(result.reason);
      else if (/\.(keep|complete)$/.test(what) && result.value !== true) {
        report(
          new StoreError(
            'STORE_FAILED',
            `${what} found its reservation gone (it expired, or the store lost it); the answer stands, but the claim is not kept, so a repeat could be processed`,
          ),
        );
      }
    });
  }
}

/**
 * The signature claim of a call: kept until its `X-TIMESTAMP` leaves the clock window (after
 * which the call is refused as stale anyway). @internal shared by both handlers.
 */
export function signatureClaim(store: ClaimStore, key: string, timestampMs: number, skewMs: number, now: number): ClaimSpec {
  return {
    store,
    label: 'replayCache',
    key,
    keepSeconds: Math.max(1, Math.ceil((timestampMs + skewMs - now) / 1000) + 1),
    keepWhenRefused: true,
    refuse: (state) =>
      state === 'pending'
        ? new SnapError('CONFLICT', { detail: 'the same signed request (client, X-TIMESTAMP, X-SIGNATURE) is still being processed; this copy was not run' })
        : new SnapError('REPLAYED_REQUEST', {
            reason: 'Request already used',
            detail: 'the same signed request (client, X-TIMESTAMP, X-SIGNATURE) was already accepted, on this or another NICO endpoint',
          }),
  };
}
