/**
 * The shared deadline timer (src/server/deadlines.ts) behind bodyTimeoutMs and storeTimeoutMs:
 * each deadline fires once, at its time, unless cancelled; one failing does not stop others.
 */
import { describe, expect, it } from 'vitest';
import { deadline } from '../src/server/deadlines.js';
import { externalIdClaim, formatTimestamp, type ParsedTimestamp } from '../src/index.js';

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

describe('externalIdClaim keeps the last day and offset it computed', () => {
  it('gives what a fresh computation gives, on 5,000 random stamps and offsets in random order', () => {
    let s = 9;
    const rand = (n: number) => {
      s = (s * 1103515245 + 12345) >>> 0;
      return (s >>> 16) % n;
    };
    const offsets = ['+07:00', 'Z', '-03:30', '+14:00', '+07:00'];
    for (let i = 0; i < 5000; i++) {
      const epochMs = Date.UTC(2024, 0, 1) + rand(400) * 3_600_000 + rand(3_600_000);
      const offset = offsets[rand(offsets.length)] as string;
      const sign = offset === 'Z' ? 0 : offset[0] === '-' ? -1 : 1;
      const minutes = offset === 'Z' ? 0 : sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
      const local = epochMs + minutes * 60_000;
      const day = new Date(Math.floor(local / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
      const claim = externalIdClaim('C', '1', { epochMs } as ParsedTimestamp, offset);
      expect(claim.day).toBe(day);
      expect(claim.key).toBe(`xid:C:${day}:1`);
      expect(claim.endOfDayMs).toBe((Math.floor(local / 86_400_000) + 1) * 86_400_000 - minutes * 60_000);
    }
    expect(() => externalIdClaim('C', '1', { epochMs: 0 } as ParsedTimestamp, '+7')).toThrow(TypeError);
  });
});
