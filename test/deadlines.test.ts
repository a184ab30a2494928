/**
 * The shared deadline timer (src/server/deadlines.ts) behind bodyTimeoutMs and storeTimeoutMs:
 * each deadline fires once, at its time, unless cancelled; one failing does not stop others.
 */
import { describe, expect, it } from 'vitest';
import { deadline } from '../src/server/deadlines.js';
import { formatTimestamp } from '../src/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deadline()', () => {
  it('fires each deadline once, in time order, and never a cancelled one', async () => {
    const fired: string[] = [];
    const started = performance.now();
    const at: Record<string, number> = {};
    const mark = (name: string) => () => {
      fired.push(name);
      at[name] = performance.now() - started;
    };
    deadline(60, mark('60'));
    const cancel = deadline(30, mark('30-cancelled'));
    deadline(20, mark('20'));
    deadline(90, () => {
      throw new Error('a failing deadline');
    });
    deadline(100, mark('100'));
    cancel();
    cancel(); // twice: harmless
    await sleep(160);
    expect(fired).toEqual(['20', '60', '100']);
    expect(at['20']).toBeGreaterThanOrEqual(19);
    expect(at['60']).toBeGreaterThanOrEqual(59);
    expect(at['100']).toBeGreaterThanOrEqual(99);
  });

  it('a later, shorter deadline re-arms the timer earlier; 10,000 cancelled ones leave nothing behind', async () => {
    const fired: number[] = [];
    deadline(200, () => fired.push(200));
    deadline(10, () => fired.push(10));
    const cancels = Array.from({ length: 10_000 }, (_, i) => deadline(5 + (i % 50), () => fired.push(-1)));
    for (const c of cancels) c();
    await sleep(40);
    expect(fired).toEqual([10]);
    await sleep(200);
    expect(fired).toEqual([10, 200]);
  });

  it('a deadline added while others fire is kept', async () => {
    const fired: string[] = [];
    deadline(5, () => {
      fired.push('first');
      deadline(10, () => fired.push('added'));
    });
    await sleep(60);
    expect(fired).toEqual(['first', 'added']);
  });
});

describe('formatTimestamp keeps the last second it formatted', () => {
  it('gives the right text when seconds and offsets alternate', () => {
    const t = Date.UTC(2024, 0, 22, 8, 0, 1);
    for (let i = 0; i < 3; i++) {
      expect(formatTimestamp(t)).toBe('2024-01-22T15:00:01+07:00');
      expect(formatTimestamp(t + 999)).toBe('2024-01-22T15:00:01+07:00');
      expect(formatTimestamp(t, 'Z')).toBe('2024-01-22T08:00:01Z');
      expect(formatTimestamp(t + 1000)).toBe('2024-01-22T15:00:02+07:00');
      expect(() => formatTimestamp(t + 1000, '+7')).toThrow(TypeError);
    }
  });
});
