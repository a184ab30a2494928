import { describe, expect, it } from 'vitest';
import { createMemoryClaimStore, StoreError } from '../src/index.js';

describe('createMemoryClaimStore', () => {
  it('grants each key once within its time to live', () => {
    let now = 0;
    const store = createMemoryClaimStore({ now: () => now });
    expect(store.claim('a', 10)).toBe(true);
    expect(store.claim('a', 10)).toBe(false);
    expect(store.claim('b', 10)).toBe(true);
    now = 9_999;
    expect(store.claim('a', 10)).toBe(false);
    now = 10_000;
    expect(store.claim('a', 10)).toBe(true);
  });
  it('drops expired keys as claims arrive, so memory follows the traffic of one window', () => {
    let now = 0;
    const store = createMemoryClaimStore({ now: () => now });
    for (let i = 0; i < 1000; i++) store.claim(`k${i}`, 1);
    expect(store.size).toBe(1000);
    now = 2000;
    store.claim('fresh', 1);
    expect(store.size).toBe(1);
  });
  it('never forgets an unexpired claim: when full it refuses new ones with StoreError STORE_FULL', () => {
    let now = 0;
    const store = createMemoryClaimStore({ maxEntries: 100, now: () => now });
    for (let i = 0; i < 100; i++) expect(store.claim(`k${i}`, 600)).toBe(true);
    expect(store.size).toBe(100);
    let error: unknown;
    try {
      store.claim('k100', 600);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('STORE_FULL');
    expect((error as StoreError).message).toMatch(/maxEntries/);
    expect(() => store.reserve('k101', 't', 15)).toThrow(StoreError);
    // The old claims are all still there: a repeat is refused, never forgotten.
    expect(store.claim('k0', 600)).toBe(false);
    expect(store.claim('k99', 600)).toBe(false);
    // Once claims expire, there is room again.
    now = 600_000;
    expect(store.claim('k100', 600)).toBe(true);
    expect(store.size).toBe(1);
  });
  it('finds expired claims anywhere when full, not only at the oldest end', () => {
    let now = 0;
    const store = createMemoryClaimStore({ maxEntries: 3, now: () => now });
    store.claim('long', 600);
    store.claim('short', 1);
    store.claim('long2', 600);
    now = 2000;
    expect(store.claim('new', 600)).toBe(true); // 'short' expired in the middle
    expect(store.claim('long', 600)).toBe(false);
  });
  it('reserve, keep and release: the lifecycle of a claim', () => {
    let now = 0;
    const store = createMemoryClaimStore({ now: () => now });
    expect(store.reserve('x', 'A', 15)).toBe('reserved');
    expect(store.reserve('x', 'B', 15)).toBe('pending'); // another call in flight
    expect(store.claim('x', 15)).toBe(false);
    expect(store.release('x', 'B')).toBe(false); // not B's to release
    expect(store.keep('x', 'B', 600)).toBe(false); // nor to keep
    now = 10_000;
    expect(store.reserve('x', 'A', 15)).toBe('reserved'); // renewal: now until 25 s
    now = 20_000;
    expect(store.reserve('x', 'B', 15)).toBe('pending');
    expect(store.release('x', 'A')).toBe(true);
    expect(store.reserve('x', 'B', 15)).toBe('reserved');
    expect(store.keep('x', 'B', 600)).toBe(true);
    expect(store.reserve('x', 'C', 15)).toBe('kept');
    expect(store.release('x', 'B')).toBe(false); // a kept claim is never released
    expect(store.reserve('x', 'B', 15)).toBe('kept'); // nor renewed back to pending
    now = 20_000 + 600_000;
    expect(store.reserve('x', 'C', 15)).toBe('reserved'); // expired
    // A reservation nobody settles expires after its pending time to live.
    now += 15_000;
    expect(store.reserve('x', 'D', 15)).toBe('reserved');
  });
  it('refuses bad arguments', () => {
    expect(() => createMemoryClaimStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    const store = createMemoryClaimStore();
    expect(() => store.claim('a', 0)).toThrow(/ttlSeconds/);
    expect(() => store.claim(1 as unknown as string, 1)).toThrow(/key/);
    expect(() => store.reserve('a', '', 1)).toThrow(/token/);
    expect(() => store.keep('a', 't', Number.NaN)).toThrow(/ttlSeconds/);
  });
});
