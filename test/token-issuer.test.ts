import { describe, expect, it } from 'vitest';
import { createAccessTokenIssuer, createTokenResponse, MAX_TOKEN_CLIENT_KEY_LENGTH } from '../src/index.js';

const SECRET = 'k'.repeat(32);
const OTHER = 'o'.repeat(40);
const NOW = Date.UTC(2024, 0, 22, 8, 0, 1);

describe('createAccessTokenIssuer', () => {
  const issuer = createAccessTokenIssuer({ secret: SECRET });

  it('issues tokens NICO can carry, bound to the client, all different', () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const token = issuer.issue('IONPAYTEST', NOW);
      expect(token.length).toBeLessThanOrEqual(150);
      expect(token).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
      expect(createTokenResponse({ accessToken: token }).accessToken).toBe(token);
      tokens.add(token);
    }
    expect(tokens.size).toBe(1000);
    // The README's figure: 86 characters for a 10-character client key.
    expect([...tokens].every((t) => t.length === 86)).toBe(true);
    const check = issuer.verify([...tokens][0] as string, NOW);
    expect(check).toEqual({ valid: true, clientKey: 'IONPAYTEST', expiresAt: Math.floor(NOW / 1000) * 1000 + 900_000 });
  });

  it('expires after ttlSeconds, exactly', () => {
    const token = issuer.issue('IONPAYTEST', NOW);
    const expiresAt = Math.floor(NOW / 1000) * 1000 + 900_000;
    expect(issuer.verify(token, expiresAt - 1).valid).toBe(true);
    expect(issuer.verify(token, expiresAt)).toEqual({ valid: false, reason: 'EXPIRED' });
    const short = createAccessTokenIssuer({ secret: SECRET, ttlSeconds: 60 });
    expect(short.verify(short.issue('A', NOW), NOW + 61_000)).toEqual({ valid: false, reason: 'EXPIRED' });
    expect(short.ttlSeconds).toBe(60);
  });

  it('reports another client', () => {
    const token = issuer.issue('IONPAYTEST', NOW);
    expect(issuer.verify(token, NOW, 'IONPAYTEST').valid).toBe(true);
    expect(issuer.verify(token, NOW, 'OTHERCLIENT')).toEqual({ valid: false, reason: 'OTHER_CLIENT' });
  });

  it('refuses every altered character as bad MAC or malformed, never valid', () => {
    const token = issuer.issue('IONPAYTEST', NOW);
    let checked = 0;
    for (let i = 0; i < token.length; i++) {
      for (const c of ['A', 'z', '_', '.']) {
        if (token[i] === c) continue;
        const altered = token.slice(0, i) + c + token.slice(i + 1);
        const result = issuer.verify(altered, NOW);
        expect(result.valid, altered).toBe(false);
        if (!result.valid) expect(['BAD_MAC', 'MALFORMED']).toContain(result.reason);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('refuses malformed tokens', () => {
    const token = issuer.issue('IONPAYTEST', NOW);
    for (const bad of ['', 'abc', token.replace('.', ''), `${token}=`, `${token}.x`, token.slice(0, -1), `a${token}`, token.replace(/^./, '+'), 'x'.repeat(151), 42 as unknown as string]) {
      const result = issuer.verify(bad, NOW);
      expect(result.valid, String(bad)).toBe(false);
    }
    expect(issuer.verify('.'.padEnd(44, 'A'), NOW)).toEqual({ valid: false, reason: 'MALFORMED' });
  });

  it('rotates: the first secret signs, every secret verifies', () => {
    const old = createAccessTokenIssuer({ secret: OTHER });
    const rotated = createAccessTokenIssuer({ secrets: [SECRET, OTHER] });
    const oldToken = old.issue('IONPAYTEST', NOW);
    expect(rotated.verify(oldToken, NOW).valid).toBe(true);
    const newToken = rotated.issue('IONPAYTEST', NOW);
    expect(issuer.verify(newToken, NOW).valid).toBe(true);
    expect(old.verify(newToken, NOW)).toEqual({ valid: false, reason: 'BAD_MAC' });
    // Retired: a secret no longer listed no longer verifies.
    expect(issuer.verify(oldToken, NOW)).toEqual({ valid: false, reason: 'BAD_MAC' });
  });

  it('accepts byte secrets', () => {
    const bytes = new Uint8Array(32).fill(7);
    const a = createAccessTokenIssuer({ secret: bytes });
    expect(a.verify(a.issue('X', NOW), NOW).valid).toBe(true);
  });

  it('refuses short secrets and bad options, saying what to do', () => {
    expect(() => createAccessTokenIssuer({ secret: 'short' })).toThrow(/5 bytes; at least 32 are required.*randomBytes\(32\)/);
    expect(() => createAccessTokenIssuer({ secrets: [SECRET, 'x'.repeat(31)] })).toThrow(/createAccessTokenIssuer: secrets\[1\] is 31 bytes/);
    expect(() => createAccessTokenIssuer({})).toThrow(/exactly one of secret or secrets/);
    expect(() => createAccessTokenIssuer({ secret: SECRET, secrets: [SECRET] })).toThrow(/exactly one/);
    expect(() => createAccessTokenIssuer({ secrets: [] })).toThrow(/non-empty/);
    expect(() => createAccessTokenIssuer({ secret: 42 as unknown as string })).toThrow(/string or Uint8Array/);
    expect(() => createAccessTokenIssuer({ secret: SECRET, ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => createAccessTokenIssuer({ secret: SECRET, ttlSeconds: 1.5 })).toThrow(/ttlSeconds/);
  });

  it('refuses client keys that do not fit 150 characters', () => {
    const longest = 'C'.repeat(MAX_TOKEN_CLIENT_KEY_LENGTH);
    const token = issuer.issue(longest, NOW);
    expect(token.length).toBeLessThanOrEqual(150);
    expect(issuer.verify(token, NOW, longest).valid).toBe(true);
    expect(() => issuer.issue(`${longest}C`, NOW)).toThrow(/does not fit a 150-character token/);
    expect(() => issuer.issue('A|B', NOW)).toThrow(/clientKey/);
    expect(() => issuer.issue('', NOW)).toThrow(/clientKey/);
  });
});
