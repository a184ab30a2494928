/**
 * The strict base64 and base64url decoders (src/crypto/base64.ts) against @scure/base as the
 * oracle: RFC 4648 vectors, every length of random bytes, and 200,000 random and mutated
 * strings: the same bytes, or both refuse.
 */
import { base64, base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict, decodeBase64UrlStrict } from '../src/crypto/base64.js';

function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 16) % n;
  };
}

const verdict = (f: (t: string) => Uint8Array, text: string): string => {
  try {
    return Buffer.from(f(text)).toString('hex');
  } catch {
    return 'refused';
  }
};

describe('decodeBase64Strict / decodeBase64UrlStrict', () => {
  it('RFC 4648 §10 vectors', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(Buffer.from(decodeBase64Strict(encoded)).toString()).toBe(plain);
      expect(Buffer.from(decodeBase64UrlStrict(encoded.replace(/=+$/, ''))).toString()).toBe(plain);
    }
  });

  it('round-trips every length from 0 to 400 bytes of random data, as @scure/base encodes it', () => {
    const rand = lcg(1);
    for (let len = 0; len <= 400; len++) {
      const bytes = Uint8Array.from({ length: len }, () => rand(256));
      expect(decodeBase64Strict(base64.encode(bytes))).toEqual(bytes);
      expect(decodeBase64UrlStrict(base64urlnopad.encode(bytes))).toEqual(bytes);
    }
  });

  it('agrees with @scure/base on 200,000 random and mutated strings (same bytes, or both refuse)', () => {
    const rand = lcg(20261129);
    const pieces = ['A', 'Q', 'g', 'w', '0', '9', '+', '/', '-', '_', '=', '==', ' ', '\n', 'é', '\u0000', '\uff21', 'AAAA', 'Zg==', 'Zm8='];
    const disagreements: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      let text: string;
      if (rand(2) === 0) {
        text = Array.from({ length: rand(14) }, () => pieces[rand(pieces.length)]).join('');
      } else {
        // a valid encoding with one edit
        const bytes = Uint8Array.from({ length: rand(70) }, () => rand(256));
        const good = rand(2) ? base64.encode(bytes) : base64urlnopad.encode(bytes);
        const at = rand(good.length + 1);
        const edit = rand(4);
        text = edit === 0 ? good : edit === 1 ? good.slice(0, at) + good.slice(at + 1) : edit === 2 ? good.slice(0, at) + (pieces[rand(pieces.length)] as string) + good.slice(at) : good.slice(0, at) + String.fromCharCode(good.charCodeAt(at) ^ 1) + good.slice(at + 1);
      }
      for (const [ours, oracle, name] of [
        [decodeBase64Strict, base64.decode, 'base64'],
        [decodeBase64UrlStrict, base64urlnopad.decode, 'base64url'],
      ] as const) {
        const a = verdict(ours, text);
        const b = verdict(oracle, text);
        if (a !== b) disagreements.push(`${name} ${JSON.stringify(text)}: ours ${a}, @scure/base ${b}`);
        if (a !== 'refused') accepted++;
      }
    }
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect(accepted).toBeGreaterThan(15_000); // valid encodings among them, not only refusals
  });

  it('refuses a non-string with a TypeError', () => {
    expect(() => decodeBase64Strict(5 as unknown as string)).toThrow(TypeError);
    expect(() => decodeBase64UrlStrict(undefined as unknown as string)).toThrow(TypeError);
  });
});
