/**
 * The transaction body parser: its JSON.parse fast path (bodies without numbers or repeated
 * keys) gives exactly what the lossless parser gives, on 20,000 generated documents with
 * escapes, non-ASCII and lone surrogates, `__proto__` keys, keys given twice (same or
 * different values), numbers, and broken text.
 */
import { isSafeNumber, parse as parseLossless } from 'lossless-json';
import { describe, expect, it, vi } from 'vitest';
import { parseJsonObjectLossless } from '../src/protocol/lossless-body.js';
import { isSnapError } from '../src/index.js';

function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 16) % n;
  };
}

const STRINGS = ['"a"', '"paymentCode"', '"\\u005f_proto__"', '"__proto__"', '"é"', '"\\ud800"', '"\\n\\t\\"\\\\"', '"  888"', '"10000.00"', '"x:y"', '"-1"', '""', '"Budi"'];
const NUMBERS = ['0', '-1', '10000.00', '12345678901234567890', '1e400', '2.5', '-0'];

function doc(rand: (n: number) => number, depth: number, numbers: boolean): string {
  const ws = () => [' ', '', '\n', '\t', ''][rand(5)] as string;
  const r = rand(depth > 3 ? 4 : 7);
  if (r === 0) return STRINGS[rand(STRINGS.length)] as string;
  if (r === 1) return ['true', 'false', 'null'][rand(3)] as string;
  if (r === 2) return numbers ? (NUMBERS[rand(NUMBERS.length)] as string) : (STRINGS[rand(STRINGS.length)] as string);
  if (r === 3) return `[${Array.from({ length: rand(4) }, () => ws() + doc(rand, depth + 1, numbers) + ws()).join(',')}]`;
  const keys = Array.from({ length: rand(5) }, () => STRINGS[rand(STRINGS.length)] as string);
  return `{${keys.map((k) => `${ws()}${k}${ws()}:${ws()}${doc(rand, depth + 1, numbers)}`).join(',')}${ws()}}`;
}

/** What a parse gives: the value with its prototype chain and key order, or that it refused. */
function outcome(parse: () => unknown): unknown {
  try {
    const value = parse();
    return { value, json: JSON.stringify(value, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as object).concat([['<proto>', Object.getPrototypeOf(v) === Object.prototype]])) : v)) };
  } catch (error) {
    return isSnapError(error) || error instanceof SyntaxError || (error instanceof Error && /Duplicate key|expected|Unexpected/i.test(error.message)) ? 'refused' : `threw ${String(error)}`;
  }
}

describe('parseJsonObjectLossless: the JSON.parse fast path equals the lossless parse', () => {
  it('on 20,000 generated documents (objects at the top), with and without numbers, and mutated', () => {
    const rand = lcg(77);
    const jsonParse = vi.spyOn(JSON, 'parse');
    const disagreements: string[] = [];
    let fastCandidates = 0;
    for (let i = 0; i < 20_000; i++) {
      const numbers = rand(3) === 0;
      let text = `{${'"k":'}${doc(rand, 0, numbers)}${rand(3) === 0 ? `,"k":${doc(rand, 1, numbers)}` : ''}}`;
      if (rand(8) === 0) {
        const at = rand(text.length);
        text = text.slice(0, at) + ['', '"', ',', '}', ':'][rand(5)] + text.slice(at + 1);
      }
      if (!numbers) fastCandidates++;
      const ours = outcome(() => parseJsonObjectLossless(text));
      const oracle = outcome(() => {
        const value = parseLossless(text, undefined, (n: string) => (isSafeNumber(n) ? Number(n) : n));
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SyntaxError('not an object');
        return value;
      });
      const a = JSON.stringify(ours);
      const b = JSON.stringify(oracle);
      if (a !== b) disagreements.push(`${text}\n  ours   ${a}\n  oracle ${b}`);
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
    expect(fastCandidates).toBeGreaterThan(10_000);
    // The fast path ran on most of those (not only the lossless parser).
    expect(jsonParse.mock.calls.length).toBeGreaterThan(8_000);
    jsonParse.mockRestore();
  });

  it('a key given twice with different values is refused; with the same value it is kept once', () => {
    expect(() => parseJsonObjectLossless('{"a":"1","a":"2"}')).toThrow(/key twice/);
    expect(parseJsonObjectLossless('{"a":"1","a":"1"}')).toEqual({ a: '1' });
    const proto = parseJsonObjectLossless('{"__proto__":{"polluted":"yes"}}');
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
