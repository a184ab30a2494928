import { describe, expect, it } from 'vitest';
import { createMemoryClaimStore } from '../src/index.js';

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
  it('never holds more than maxEntries, forgetting the oldest first', () => {
    const store = createMemoryClaimStore({ maxEntries: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) expect(store.claim(`k${i}`, 600)).toBe(true);
    expect(store.size).toBe(100);
    expect(store.claim('k9999', 600)).toBe(false);
    expect(store.claim('k0', 600)).toBe(true);
  });
  it('refuses bad arguments', () => {
    expect(() => createMemoryClaimStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    const store = createMemoryClaimStore();
    expect(() => store.claim('a', 0)).toThrow(/ttlSeconds/);
    expect(() => store.claim(1 as unknown as string, 1)).toThrow(/key/);
  });
});
