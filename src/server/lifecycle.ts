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
import { backgroundDeadline, deadline } from './deadlines.js';
import { createMemoryClaimStore, type ClaimStore, type ReserveResult } from './claim-store.js';
import { checkStoredAnswer, type IdempotencyBegin, type IdempotencyStore, type StoredAnswer } from './idempotency-store.js';
import { isStoreError, StoreError } from './store-error.js';
import { withReason } from './events.js';

/**
 * Default of `storeTimeoutMs`: how long a handler waits for one store call.
 * @category Stores
 */
export const DEFAULT_STORE_TIMEOUT_MS = 2_000;
/**
 * Default of `pendingTtlSeconds`: the time to live of a reservation while its call is in flight.
 * @category Stores
 */
export const DEFAULT_PENDING_TTL_SECONDS = 15;

/**
 * Options both handlers share for their stores.
 * @category Stores
 */
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
  /** The merchant's code ran but gave no answer that can be sent or stored: claims kept, idempotency released. */
  | { readonly kind: 'ran' }
  | { readonly kind: 'refused' }
  | { readonly kind: 'failed' };

export const FAILED: CallOutcome = { kind: 'failed' };
/** @internal */
export const REFUSED: CallOutcome = { kind: 'refused' };
/** @internal */
export const RAN: CallOutcome = { kind: 'ran' };

/** A claim the call holds. */
export interface Hold {
  readonly spec: ClaimSpec;
  /** The reservation's token; `undefined` for a store with `claim` only (nothing to keep or release). */
  readonly token: string | undefined;
  /** When the store last confirmed the reservation (reserved or renewed), epoch ms: it holds until this plus the pending time to live. */
  confirmedAt: number;
}

/** The idempotency key a call holds. */
export interface IdempotencyHold {
  readonly store: IdempotencyStore;
  readonly key: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly ttlSeconds: number;
  /** As {@link Hold.confirmedAt}. */
  confirmedAt?: number;
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

const SHARED_STORES = /* @__PURE__ */ Symbol.for('nicepay-nico.shared-stores.v1');
let localStores: Map<string, unknown> | undefined;

/**
 * A store of this process, by name, created on first use: the defaults of the handlers'
 * store options live here (on `globalThis`, so the ESM and CommonJS copies of this package
 * share them), so handlers created more than once (per request, per route, in tests) still
 * share their state. @internal
 */
export function sharedStore<T>(name: string, create: () => T): T {
  const holder = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
  let stores = holder[SHARED_STORES] ?? localStores;
  if (stores === undefined) {
    stores = new Map();
    try {
      Object.defineProperty(globalThis, SHARED_STORES, { value: stores, enumerable: false, configurable: false, writable: false });
    } catch {
      localStores = stores; // a frozen globalThis (SES lockdown): one per copy of the package
    }
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
    const cancel = deadline(timeoutMs, () => {
      giveUp();
      reject(
        new StoreError(
          'STORE_TIMEOUT',
          `${what} did not answer within ${timeoutMs} ms (storeTimeoutMs); ${consequenceOf(what)}. ` +
            'Check the store, and give its client a bound (ioredis enableOfflineQueue: false, node-redis disableOfflineQueue: true).',
        ),
      );
    });
    const settleError = (error: unknown) => {
      cancel();
      giveUp();
      reject(storeFailure(what, error));
    };
    try {
      pending.then((value) => {
        cancel();
        resolve(value);
      }, settleError);
    } catch (error) {
      settleError(error); // a thenable whose then() throws
    }
  });
}

/** What a failure of `what` means for the call, for messages. */
function consequenceOf(what: string): string {
  if (/\((renewal)\)$/.test(what)) return 'the reservation could not be renewed while the merchant\'s code ran, so the call\'s signal is aborted when it may have lapsed';
  if (/\.(keep|complete)$/.test(what)) return 'the answer stands (the merchant\'s code ran), and keeping the claim is retried in the background until its reservation would expire';
  if (/\.release$/.test(what)) return 'the reservation expires by itself after pendingTtlSeconds';
  return 'the call was answered 500 for NICEPAY to retry, and anything it reserved is released behind it';
}

/**
 * Release a reservation whose outcome is unknown, without waiting: on a connection that keeps
 * order (Redis) it runs right behind the reservation. Failures are reported, never thrown.
 */
function releaseBehind(what: string, release: () => Settled<boolean>, report: Reporter): void {
  try {
    const released = release();
    if (isThenable(released)) (released as Promise<boolean>).then(undefined, (error: unknown) => report(storeFailure(what, error)));
  } catch (error) {
    report(storeFailure(what, error));
  }
}

function storeFailure(what: string, error: unknown): unknown {
  if (isStoreError(error)) return error;
  if (error instanceof TypeError || error instanceof RangeError) {
    // A store that answered something it should not have, or a programming error: keep its message.
    return new StoreError('STORE_FAILED', `${what} failed: ${error.message}`, { cause: error });
  }
  return new StoreError('STORE_FAILED', `${what} failed (see cause); ${consequenceOf(what)}`, { cause: error });
}

/**
 * The outcomes of calls that may have settled already: synchronous stores (the memory
 * ones) cost no promise; asynchronous ones are awaited together.
 */
function settleEach<T>(values: readonly (PromiseSettledResult<T> | Promise<T>)[]): PromiseSettledResult<T>[] | Promise<PromiseSettledResult<T>[]> {
  if (!values.some(isThenable)) return values as PromiseSettledResult<T>[];
  return Promise.allSettled(values.map((v) => (isThenable(v) ? v : v.status === 'fulfilled' ? Promise.resolve(v.value) : Promise.reject(v.reason))));
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
    const attempts = specs.map((spec): PromiseSettledResult<Hold> | Promise<Hold> => {
      try {
        const hold = this.reserveOne(spec, report);
        return isThenable(hold) ? hold : { status: 'fulfilled', value: hold };
      } catch (error) {
        return { status: 'rejected', reason: error };
      }
    });
    const results = await settleEach(attempts);
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
        if (fresh === true) return { spec, token: undefined, confirmedAt: Date.now() };
        if (fresh === false) throw spec.refuse('kept');
        throw new StoreError('STORE_FAILED', `${spec.label}.claim returned ${typeof fresh}, not true or false`);
      };
      return isThenable(claimed) ? claimed.then(decide) : decide(claimed);
    }
    const token = newReservationToken();
    const result = callStore<ReserveResult>(`${spec.label}.reserve`, () => store.reserve(key, token, this.pendingSeconds), this.timeoutMs, () =>
      releaseBehind(`${spec.label}.release`, () => (spec.store as Required<ClaimStore>).release(spec.key, token), report),
    );
    const decide = (state: ReserveResult): Hold => {
      if (state === 'reserved') return { spec, token, confirmedAt: Date.now() };
      if (state === 'pending' || state === 'kept') throw spec.refuse(state);
      // An answer no store should give: whatever it wrote is released.
      releaseBehind(`${spec.label}.release`, () => (spec.store as Required<ClaimStore>).release(spec.key, token), report);
      const got: unknown = state;
      throw new StoreError('STORE_FAILED', `${spec.label}.reserve returned ${typeof got === 'string' ? JSON.stringify(got.slice(0, 20)) : typeof got}, not 'reserved', 'pending' or 'kept'`);
    };
    return isThenable(result) ? result.then(decide) : decide(result);
  }

  /**
   * Start the idempotency check of a call under `key`: a hold while the call runs, or the
   * answer stored for it. Throws `CONFLICT` while another call holds the key, and
   * `INCONSISTENT_REQUEST` when the stored answer was for another request.
   */
  async begin(init: Omit<IdempotencyHold, 'token'>, report: Reporter): Promise<IdempotencyOutcome> {
    const token = newReservationToken();
    const hold: IdempotencyHold = { ...init, token };
    const state = (await callStore<IdempotencyBegin>('idempotency.store.begin', () => init.store.begin(init.key, token, this.pendingSeconds), this.timeoutMs, () =>
      releaseBehind('idempotency.store.release', () => init.store.release(init.key, token), report),
    )) as { state?: unknown; answer?: unknown } | null | undefined;
    if (typeof state === 'object' && state !== null && state.state === 'started') {
      hold.confirmedAt = Date.now();
      return { hold };
    }
    if (typeof state === 'object' && state !== null && state.state === 'in-flight') {
      throw withReason(new SnapError('CONFLICT', { detail: 'a call with the same idempotency key is still being processed; it was not run twice' }), 'IN_FLIGHT');
    }
    let answer: StoredAnswer | undefined;
    if (typeof state === 'object' && state !== null && state.state === 'done') {
      try {
        answer = checkStoredAnswer(state.answer, 'idempotency.store.begin');
      } catch {
        answer = undefined;
      }
    }
    if (answer === undefined) {
      // Not an answer this library could send (a custom store's mistake): fail, and free the key if it was ours.
      releaseBehind('idempotency.store.release', () => init.store.release(init.key, token), report);
      throw new StoreError('STORE_FAILED', "idempotency.store.begin returned neither 'started', 'in-flight' nor 'done' with { fingerprint: string, status: 200-499, body: JSON text }");
    }
    if (answer.fingerprint === init.fingerprint) return { answer };
    throw new SnapError('INCONSISTENT_REQUEST', {
      detail: 'the idempotency key was already answered for a request with another body; it was not run again',
    });
  }

  /**
   * While the merchant's code runs, renew every reservation every third of the pending time
   * to live. Returns `signal`, aborted when a reservation is lost or may have lapsed (the
   * store did not confirm it in time): from then on a duplicate could be let through, so a
   * slow `handle()` should check it before it commits. `stop` ends the renewals.
   */
  renew(holds: readonly Hold[], idempotency: IdempotencyHold | undefined, report: Reporter): { readonly signal: AbortSignal; stop: () => Promise<void> | undefined } {
    // The signal is made when first read (most handle()s never read it, and an
    // AbortController costs more than the rest of this): one lost before is made aborted.
    let controller: AbortController | undefined;
    let lost: { reason: unknown } | undefined;
    const signalOf = (): AbortSignal => {
      if (controller === undefined) {
        controller = new AbortController();
        if (lost !== undefined) controller.abort(lost.reason);
      }
      return controller.signal;
    };
    const live = holds.filter((h) => h.token !== undefined);
    if (live.length === 0 && idempotency === undefined) {
      return {
        get signal() {
          return signalOf();
        },
        stop: () => undefined,
      };
    }
    const pendingMs = this.pendingSeconds * 1000;
    const intervalMs = pendingMs / 3;
    let stopped = false;
    const inFlight = new Set<Promise<unknown>>();
    const lose = (message: string) => {
      if (stopped || lost !== undefined) return;
      const error = new StoreError('STORE_FAILED', message);
      lost = { reason: error };
      controller?.abort(error);
      report(error);
    };
    /**
     * Once this tick's renewals have answered (at once for a synchronous store, when the
     * last one settles for an asynchronous one): a reservation the store has not confirmed
     * for long enough may lapse before the next tick.
     */
    const checkLease = () => {
      if (stopped || inFlight.size > 0) return;
      const oldest = Math.min(...live.map((h) => h.confirmedAt), idempotency?.confirmedAt ?? Number.POSITIVE_INFINITY);
      if (Date.now() + intervalMs >= oldest + pendingMs) {
        lose("the store has not confirmed the call's reservations in time (pendingTtlSeconds): they may lapse while the merchant's code runs, so a duplicate could be let through; the call's signal is aborted");
      }
    };
    /** One renewal; its result is ignored once the call is settled (the lease is over). */
    const renewOne = <T>(what: string, call: () => Settled<T>, confirm: (value: T) => boolean, lost: string) => {
      let result: Settled<T>;
      try {
        result = callStore(what, call, this.timeoutMs);
      } catch (error) {
        if (!stopped) report(error);
        return;
      }
      const apply = (value: T) => {
        if (stopped) return;
        let ok = false;
        try {
          ok = confirm(value);
        } catch {
          ok = false; // a store that answered garbage
        }
        if (!ok) lose(lost);
      };
      if (!isThenable(result)) {
        apply(result);
        return;
      }
      const done = (result as Promise<T>).then(apply, (error: unknown) => {
        if (!stopped) report(error);
      });
      inFlight.add(done);
      void done.then(() => {
        inFlight.delete(done);
        checkLease();
      });
    };
    // Every intervalMs while handle() runs, on the shared timer (a timer per call costs more
    // than the call's own checks): one re-armed deadline, not a setInterval.
    const tick = (): void => {
      if (stopped) return;
      cancel = backgroundDeadline(intervalMs, tick);
      for (const hold of live) {
        const store = hold.spec.store as Required<ClaimStore>;
        renewOne(
          `${hold.spec.label}.reserve (renewal)`,
          () => store.reserve(hold.spec.key, hold.token as string, this.pendingSeconds),
          (state) => {
            if (state !== 'reserved') return false;
            hold.confirmedAt = Date.now();
            return true;
          },
          `${hold.spec.label}: the reservation was lost while the merchant's code ran: a duplicate may be processed meanwhile; the call's signal is aborted`,
        );
      }
      if (idempotency) {
        renewOne(
          'idempotency.store.begin (renewal)',
          () => idempotency.store.begin(idempotency.key, idempotency.token, this.pendingSeconds),
          (state) => {
            if ((state as { state?: unknown } | undefined)?.state !== 'started') return false;
            idempotency.confirmedAt = Date.now();
            return true;
          },
          "idempotency: the key was lost while the merchant's code ran; the call's signal is aborted",
        );
      }
      checkLease();
    };
    let cancel = backgroundDeadline(intervalMs, tick);
    return {
      get signal() {
        return signalOf();
      },
      // Renewals still on their way finish (each within storeTimeoutMs) before the call is
      // settled, so a late renewal can never re-create a reservation that was just released.
      stop: () => {
        stopped = true;
        cancel();
        return inFlight.size === 0 ? undefined : Promise.allSettled([...inFlight]).then(() => undefined);
      },
    };
  }

  /** Retry a keep or complete that failed, with backoff, until it succeeds, finds its reservation gone, or `until` passes. */
  retryInBackground(what: string, call: () => Settled<boolean>, until: number, report: Reporter, delayMs = 200): void {
    // A keep still counts after its reservation lapsed (it takes the key if nobody else did),
    // so retries go on for a minute past `until` before giving up.
    if (Date.now() + delayMs >= until + 60_000) {
      report(new StoreError('STORE_FAILED', `${what} could not be confirmed for a minute after the call's reservation lapsed (the store did not answer): the claim may not be kept, so a repeat of this call could be processed again`));
      return;
    }
    const timer = setTimeout(() => {
      const again = () => this.retryInBackground(what, call, until, report, Math.min(delayMs * 2, 2_000));
      let result: Settled<boolean>;
      try {
        result = callStore(what, call, this.timeoutMs);
      } catch {
        again();
        return;
      }
      Promise.resolve(result).then(
        (done) => {
          if (done !== true) report(new StoreError('STORE_FAILED', `${what} (retried) found its reservation gone: the claim is not kept, so a repeat of this call could be processed again`));
        },
        () => again(),
      );
    }, delayMs);
    (timer as unknown as { unref?: () => void }).unref?.();
  }

  async settle(holds: readonly Hold[], idempotency: IdempotencyHold | undefined, outcome: CallOutcome, report: Reporter): Promise<void> {
    const answer = outcome.kind === 'answered' ? outcome : undefined;
    const pendingMs = this.pendingSeconds * 1000;
    /** `until`: for a keep, when the reservation would lapse (retries stop there). */
    const work: Array<{ what: string; call: () => Settled<boolean>; result: PromiseSettledResult<boolean> | Promise<boolean>; until: number | undefined }> = [];
    const run = (what: string, call: () => Settled<boolean>, until?: number) => {
      let result: PromiseSettledResult<boolean> | Promise<boolean>;
      try {
        const value = callStore(what, call, this.timeoutMs);
        result = isThenable(value) ? value : { status: 'fulfilled', value };
      } catch (error) {
        result = { status: 'rejected', reason: error };
      }
      work.push({ what, call, result, until });
    };
    for (const hold of holds) {
      if (hold.token === undefined) continue;
      const store = hold.spec.store as Required<ClaimStore>;
      const token = hold.token;
      const keep = answer !== undefined || outcome.kind === 'ran' || (outcome.kind === 'refused' && hold.spec.keepWhenRefused);
      if (keep) run(`${hold.spec.label}.keep`, () => store.keep(hold.spec.key, token, hold.spec.keepSeconds), hold.confirmedAt + pendingMs);
      else run(`${hold.spec.label}.release`, () => store.release(hold.spec.key, token));
    }
    if (idempotency) {
      const { store, key, token } = idempotency;
      if (answer) {
        const stored: StoredAnswer = { fingerprint: idempotency.fingerprint, status: answer.status, body: answer.body };
        run('idempotency.store.complete', () => store.complete(key, token, stored, idempotency.ttlSeconds), (idempotency.confirmedAt ?? Date.now()) + pendingMs);
      } else if (outcome.kind === 'ran') {
        // The merchant's code ran but its answer could not be sent or stored: hold the key
        // for the answer's whole time to live, so no retry runs the code again (409).
        run('idempotency.store.begin (hold)', () => {
          const held = store.begin(key, token, idempotency.ttlSeconds);
          const ok = (state: IdempotencyBegin) => (state as { state?: unknown } | undefined)?.state === 'started';
          return isThenable(held) ? (held as Promise<IdempotencyBegin>).then(ok) : ok(held);
        });
      } else {
        run('idempotency.store.release', () => store.release(key, token));
      }
    }
    if (work.length === 0) return;
    const pending = settleEach(work.map((w) => w.result));
    const results = isThenable(pending) ? await pending : pending;
    results.forEach((result, i) => {
      const { what, call, until } = work[i] as (typeof work)[number];
      if (result.status === 'rejected') {
        report(result.reason);
        // The answer is out and the merchant's code ran: keep trying to make the claim
        // permanent while its reservation still holds (a store back within seconds).
        if (until !== undefined) this.retryInBackground(what, call, until, report);
      } else if (until !== undefined && result.value !== true) {
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
 * Signature claims are kept for at least this window after their `X-TIMESTAMP` (15 minutes,
 * the token lifetime), whatever the handler's own `clockSkewSeconds`: a signature spent on
 * an endpoint with a narrow window must not come back, once its claim has expired, on an
 * endpoint with a wider one, even one created later or in another copy of this package.
 */
export const MIN_SIGNATURE_CLAIM_WINDOW_MS = 900_000;

/**
 * The widest clock window of the handlers sharing each replay store, ms, beyond the floor
 * above: on `globalThis`, so the ESM and CommonJS copies of this package share it.
 */
function windows(): WeakMap<object, number> {
  return sharedStore('signature-windows', () => new WeakMap<object, number>());
}

/**
 * Record that a handler with a clock window of `skewMs` uses `store` as its replay store:
 * every signature claim in that store is then kept for the widest window of them (at least
 * {@link MIN_SIGNATURE_CLAIM_WINDOW_MS}). @internal
 */
export function registerWindow(store: ClaimStore, skewMs: number): void {
  const map = windows();
  map.set(store, Math.max(map.get(store) ?? 0, skewMs));
}

/**
 * The signature claim of a call: kept until its `X-TIMESTAMP` leaves the widest clock window
 * of the handlers sharing the store, and at least 15 minutes (after which every one of them
 * refuses it as stale). @internal shared by both handlers.
 */
export function signatureClaim(store: ClaimStore, key: string, timestampMs: number, skewMs: number, now: number): ClaimSpec {
  const windowMs = Math.max(skewMs, MIN_SIGNATURE_CLAIM_WINDOW_MS, windows().get(store) ?? 0);
  return {
    store,
    label: 'replayCache',
    key,
    keepSeconds: Math.max(1, Math.ceil((timestampMs + windowMs - now) / 1000) + 1),
    keepWhenRefused: true,
    refuse: (state) =>
      state === 'pending'
        ? withReason(new SnapError('CONFLICT', { detail: 'the same signed request (client, X-TIMESTAMP, X-SIGNATURE) is still being processed; this copy was not run' }), 'IN_FLIGHT')
        : new SnapError('REPLAYED_REQUEST', {
            reason: 'Request already used',
            detail: 'the same signed request (client, X-TIMESTAMP, X-SIGNATURE) was already accepted, on this or another NICO endpoint',
          }),
  };
}
