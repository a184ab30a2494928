import { describe, expect, it } from 'vitest';
import { buildStringToSign, createTokenResponse, MAX_ACCESS_TOKEN_LENGTH } from '../src/index.js';

describe('buildStringToSign', () => {
  it('joins client key and timestamp with "|", byte for byte', () => {
    expect(buildStringToSign('IONPAYTEST', '2024-01-22T15:00:01+07:00')).toBe('IONPAYTEST|2024-01-22T15:00:01+07:00');
    // Never re-formatted: whatever was received is signed.
    expect(buildStringToSign('A b', '2024-01-22T15:00:01.000Z')).toBe('A b|2024-01-22T15:00:01.000Z');
    expect(buildStringToSign('ÜMLAUT', 'x')).toBe('ÜMLAUT|x');
  });
  it('refuses non-strings, empty values and "|" in the client key', () => {
    expect(() => buildStringToSign('', 't')).toThrow(/clientKey must be a non-empty string, got an empty string/);
    expect(() => buildStringToSign('k', '')).toThrow(/timestamp must be a non-empty string/);
    expect(() => buildStringToSign(1 as unknown as string, 't')).toThrow(/got number/);
    expect(() => buildStringToSign('k', undefined as unknown as string)).toThrow(/got undefined/);
    expect(() => buildStringToSign('A|B', 't')).toThrow(/must not contain "\|"/);
  });
});

describe('createTokenResponse', () => {
  const token = 'xy8duzzavv9bwdxxrxcb89tsuvk4mf4kx4lgfe4acrvxr7xderhbe1';
  it('is exactly the documented body, field order included', () => {
    expect(JSON.stringify(createTokenResponse({ accessToken: token }))).toBe(
      `{"responseCode":"2007300","responseMessage":"Successful","accessToken":"${token}","tokenType":"Bearer","expiresIn":"900","additionalInfo":{}}`,
    );
  });
  it('renders expiresIn as a string and keeps additionalInfo', () => {
    const body = createTokenResponse({ accessToken: token, expiresIn: 600, additionalInfo: { a: 1 } });
    expect(body.expiresIn).toBe('600');
    expect(body.additionalInfo).toEqual({ a: 1 });
    expect(createTokenResponse({ accessToken: token, expiresIn: '1200' }).expiresIn).toBe('1200');
  });
  it('accepts the whole RFC 6750 alphabet up to 150 characters', () => {
    const alphabet = 'ABCXYZabcxyz0189-._~+/';
    expect(createTokenResponse({ accessToken: `${alphabet}==` }).accessToken).toBe(`${alphabet}==`);
    expect(createTokenResponse({ accessToken: 'a'.repeat(MAX_ACCESS_TOKEN_LENGTH) }).accessToken).toHaveLength(150);
  });
  it('refuses tokens NICO cannot carry', () => {
    expect(() => createTokenResponse({ accessToken: 'a'.repeat(151) })).toThrow(/151 characters; NICO allows at most 150/);
    for (const bad of ['has space', 'quote"', 'a=b', 'semi;colon', 'ünï', 'new\nline', '=']) {
      expect(() => createTokenResponse({ accessToken: bad }), bad).toThrow(/RFC 6750/);
    }
    expect(() => createTokenResponse({ accessToken: '' })).toThrow(/non-empty/);
    expect(() => createTokenResponse({ accessToken: 42 as unknown as string })).toThrow(/non-empty string/);
  });
  it('refuses bad expiresIn and additionalInfo', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '09', '', '1e3', ' 900']) {
      expect(() => createTokenResponse({ accessToken: token, expiresIn: bad }), String(bad)).toThrow(/expiresIn/);
    }
    for (const bad of [null, [], 'x']) {
      expect(() => createTokenResponse({ accessToken: token, additionalInfo: bad as unknown as Record<string, unknown> })).toThrow(/additionalInfo/);
    }
  });
});
