/**
 * Known-answer tests: NICEPAY's published access-token signatures, and Google's Wycheproof
 * RSASSA-PKCS1-v1_5 (SHA-256) verification and generation vectors. See test/vectors/README.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importPrivateKey, importPublicKey, signStringToSign, verifySignature } from '../src/index.js';
import type { RsaPrivateKey, RsaPublicKey } from '../src/index.js';
import { signBytes, verifyBytes } from '../src/crypto/rsa.js';
import { CRYPTO_PATHS, type CryptoPath } from './helpers/crypto-paths.js';

// ---------------------------------------------------------------------------------------
// Helpers

function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as T;
}

function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new Error(`bad hex: ${hex.slice(0, 20)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const hexToBigInt = (hex: string): bigint => BigInt(`0x${hex === '' ? '0' : hex}`);
const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Strict UTF-8 decoding (no BOM stripping), or undefined for bytes that are not UTF-8. */
function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Replace the character at `index` by another printable ASCII character. */
function changeChar(text: string, index: number): string {
  const c = text.charCodeAt(index);
  const replacement = c === 0x41 ? 'B' : 'A';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

// ---------------------------------------------------------------------------------------
// NICEPAY

interface NicepayAccessTokenVector {
  source: string;
  key?: 'rsaSandboxKey';
  publicKeySpkiBase64?: string;
  stringToSign: string;
  signatureBase64: string;
}
interface NicepayRsaFile {
  source: string;
  rsaSandboxKey: { bits: number; privateKeyPkcs8Base64: string; publicKeySpkiBase64: string; source?: string };
  accessTokenSignatures: NicepayAccessTokenVector[];
}

const nicepay = readJson<NicepayRsaFile>('./vectors/nicepay-rsa.json');

describe('NICEPAY access-token vectors (test/vectors/nicepay-rsa.json)', () => {
  const sandboxPublic = importPublicKey(nicepay.rsaSandboxKey.publicKeySpkiBase64, { minModulusBits: 1024 });
  const sandboxPrivate = importPrivateKey(nicepay.rsaSandboxKey.privateKeyPkcs8Base64, { minModulusBits: 1024 });
  const vectors = nicepay.accessTokenSignatures;
  const sandboxVectors = vectors.filter((v) => v.key === 'rsaSandboxKey');

  function publicKeyOf(v: NicepayAccessTokenVector): RsaPublicKey {
    if (v.key === 'rsaSandboxKey') return sandboxPublic;
    if (v.publicKeySpkiBase64 === undefined) throw new Error(`vector without a key: ${v.source}`);
    return importPublicKey(v.publicKeySpkiBase64); // verify-only NICEPAY key: 2048-bit, defaults
  }

  it('has the expected vectors, each with its source', () => {
    expect(nicepay.source).toMatch(/nicepay-vectors\.json/);
    expect(vectors).toHaveLength(4);
    expect(sandboxVectors).toHaveLength(3);
    for (const v of vectors) expect(v.source.length).toBeGreaterThan(10);
  });

  it('imports the sandbox key pair as 1024-bit, public and private halves matching', () => {
    expect(sandboxPublic.bits).toBe(1024);
    expect(nicepay.rsaSandboxKey.bits).toBe(1024);
    expect(sandboxPublic.e).toBe(65537n);
    expect(sandboxPrivate.n).toBe(sandboxPublic.n);
    expect(sandboxPrivate.publicKey.n).toBe(sandboxPublic.n);
    expect(sandboxPrivate.publicKey.e).toBe(sandboxPublic.e);
  });

  it('the verify-only NICEPAY key imports with the default options as 2048-bit', () => {
    const v = vectors.find((x) => x.key === undefined);
    expect(v).toBeDefined();
    expect(publicKeyOf(v as NicepayAccessTokenVector).bits).toBe(2048);
  });

  it.each(CRYPTO_PATHS.map((p) => [p.name, p] as const))('every vector verifies with verifySignature (%s)', (_name, path) => {
    let checked = 0;
    for (const v of vectors) {
      expect(verifySignature(publicKeyOf(v), v.stringToSign, v.signatureBase64, { crypto: path.crypto }), v.source).toBe(true);
      checked++;
    }
    expect(checked).toBe(4);
  });

  it('signing with the sandbox private key reproduces every sandbox signature exactly', () => {
    let checked = 0;
    for (const v of sandboxVectors) {
      const key = importPrivateKey(nicepay.rsaSandboxKey.privateKeyPkcs8Base64, { minModulusBits: 1024 });
      expect(signStringToSign(key, v.stringToSign), v.source).toBe(v.signatureBase64);
      checked++;
    }
    expect(checked).toBe(3);
  });

  it.each(CRYPTO_PATHS.map((p) => [p.name, p] as const))('every vector is false once any one character of stringToSign is changed (%s)', (_name, path) => {
    let checked = 0;
    for (const v of vectors) {
      const key = publicKeyOf(v);
      for (let i = 0; i < v.stringToSign.length; i++) {
        const changed = changeChar(v.stringToSign, i);
        expect(changed).not.toBe(v.stringToSign);
        expect(verifySignature(key, changed, v.signatureBase64, { crypto: path.crypto }), `${v.source} @${i}`).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe(vectors.reduce((sum, v) => sum + v.stringToSign.length, 0));
  });

  it.each(CRYPTO_PATHS.map((p) => [p.name, p] as const))('every vector is false with another vector\'s signature, same key (%s)', (_name, path) => {
    for (const a of sandboxVectors) {
      for (const b of sandboxVectors) {
        if (a === b) continue;
        expect(verifySignature(sandboxPublic, a.stringToSign, b.signatureBase64, { crypto: path.crypto })).toBe(false);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------
// Wycheproof: verification

interface WycheproofVerifyTest {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface WycheproofVerifyGroup {
  keySize: number;
  sha: string;
  type: string;
  publicKey: { modulus: string; publicExponent: string };
  publicKeyDer: string;
  publicKeyPem: string;
  tests: WycheproofVerifyTest[];
}
interface WycheproofVerifyFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofVerifyGroup[];
}

interface GroupOutcome {
  checked: number;
  mismatches: string[];
  utf8Checked: number;
  acceptable: number[];
}

/**
 * Run every case of one group. Expected: 'valid' -> true, 'invalid' -> false, and
 * 'acceptable' -> false. The only acceptable cases in these files carry the flag
 * MissingNull: the DigestInfo's AlgorithmIdentifier omits the NULL parameters (legacy
 * encoders did this; RFC 8017 §9.2 note 1 allows verifiers to accept it). Encode-then-compare
 * builds the one DER encoding, with NULL, and accepts nothing else, so we return false; any
 * acceptable case with another flag is reported as a mismatch, so a new kind shows up here.
 */
function runVerifyGroup(group: WycheproofVerifyGroup, path: CryptoPath): GroupOutcome {
  const mismatches: string[] = [];
  const acceptable: number[] = [];
  let checked = 0;
  let utf8Checked = 0;
  const key = importPublicKey(hexToBytes(group.publicKeyDer));
  for (const t of group.tests) {
    checked++;
    const msg = hexToBytes(t.msg);
    const sig = hexToBytes(t.sig);
    let expected: boolean;
    if (t.result === 'valid') expected = true;
    else if (t.result === 'invalid') expected = false;
    else {
      acceptable.push(t.tcId);
      if (!(t.flags.length === 1 && t.flags[0] === 'MissingNull')) {
        mismatches.push(`tcId ${t.tcId}: unexpected acceptable case with flags ${t.flags.join(',')}`);
      }
      expected = false;
    }
    let got: boolean | string;
    try {
      got = verifyBytes(key, msg, sig, path.ops);
    } catch (error) {
      got = `threw ${(error as Error).message}`;
    }
    if (got !== expected) {
      mismatches.push(`tcId ${t.tcId} (${t.result}, ${t.comment}, ${t.flags.join(',')}): verifyBytes expected ${expected}, got ${String(got)}`);
    }
    const text = utf8OrUndefined(msg);
    if (text !== undefined) {
      utf8Checked++;
      let viaString: boolean | string;
      try {
        viaString = verifySignature(key, text, toBase64(sig), { crypto: path.crypto });
      } catch (error) {
        viaString = `threw ${(error as Error).message}`;
      }
      if (viaString !== expected) {
        mismatches.push(`tcId ${t.tcId} (${t.result}, ${t.comment}): verifySignature expected ${expected}, got ${String(viaString)}`);
      }
    }
  }
  return { checked, mismatches, utf8Checked, acceptable };
}

for (const [file, path] of ['rsa_signature_2048_sha256_test.json', 'rsa_signature_3072_sha256_test.json'].flatMap((f) => CRYPTO_PATHS.map((p) => [f, p] as const))) {
  describe(`Wycheproof ${file} (${path.name})`, () => {
    const data = readJson<WycheproofVerifyFile>(`./vectors/wycheproof/${file}`);
    const outcomes = new Map<number, GroupOutcome>();
    const outcome = (index: number): GroupOutcome => {
      let o = outcomes.get(index);
      if (!o) {
        o = runVerifyGroup(data.testGroups[index] as WycheproofVerifyGroup, path);
        outcomes.set(index, o);
      }
      return o;
    };

    it('is an RSASSA-PKCS1-v1_5 SHA-256 verification file', () => {
      expect(data.algorithm).toBe('RSASSA-PKCS1-v1_5');
      expect(data.testGroups.length).toBeGreaterThan(0);
      for (const g of data.testGroups) {
        expect(g.sha).toBe('SHA-256');
        expect(g.type).toBe('RsassaPkcs1Verify');
      }
    });

    data.testGroups.forEach((group, index) => {
      const label = `group ${index}: ${group.keySize}-bit, e=0x${group.publicKey.publicExponent}, ${group.tests.length} case(s)`;

      it(`${label}: DER and PEM keys import to the same n and e`, () => {
        const fromDer = importPublicKey(hexToBytes(group.publicKeyDer));
        const fromPem = importPublicKey(group.publicKeyPem);
        expect(fromDer.n).toBe(hexToBigInt(group.publicKey.modulus));
        expect(fromDer.e).toBe(hexToBigInt(group.publicKey.publicExponent));
        expect(fromPem.n).toBe(fromDer.n);
        expect(fromPem.e).toBe(fromDer.e);
        expect(fromDer.bits).toBe(group.keySize);
        expect(fromPem.bits).toBe(group.keySize);
      });

      it(`${label}: every case gives the expected result`, () => {
        const o = outcome(index);
        expect(o.mismatches).toEqual([]);
        expect(o.checked).toBe(group.tests.length);
      });
    });

    it(`checks all numberOfTests (${data.numberOfTests}) cases, the UTF-8 ones through verifySignature too`, () => {
      let checked = 0;
      let utf8Checked = 0;
      const acceptable: number[] = [];
      data.testGroups.forEach((_, index) => {
        const o = outcome(index);
        checked += o.checked;
        utf8Checked += o.utf8Checked;
        acceptable.push(...o.acceptable);
      });
      expect(checked).toBe(data.numberOfTests);
      expect(checked).toBe(259);
      // All messages but one (not valid UTF-8: verifyBytes only) also go through verifySignature.
      expect(utf8Checked).toBe(258);
      // Exactly one acceptable case per file (tcId 8, MissingNull), and it returns false.
      expect(acceptable).toEqual([8]);
    });
  });
}

// ---------------------------------------------------------------------------------------
// Wycheproof: signature generation

/** Generation cases have the same fields as verification cases. */
type WycheproofGenTest = WycheproofVerifyTest;
interface WycheproofGenGroup {
  keySize: number;
  sha: string;
  type: string;
  privateKey: {
    modulus: string;
    publicExponent: string;
    privateExponent: string;
  };
  keyDer: string;
  keyPem: string;
  privateKeyPem: string;
  privateKeyPkcs8: string;
  tests: WycheproofGenTest[];
}
interface WycheproofGenFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofGenGroup[];
}

function sameKey(a: RsaPrivateKey, b: RsaPrivateKey): boolean {
  return (
    a.n === b.n && a.e === b.e && a.d === b.d && a.p === b.p && a.q === b.q &&
    a.dp === b.dp && a.dq === b.dq && a.qi === b.qi && a.bits === b.bits
  );
}

describe('Wycheproof rsa_pkcs1_2048_sig_gen_test.json', () => {
  const data = readJson<WycheproofGenFile>('./vectors/wycheproof/rsa_pkcs1_2048_sig_gen_test.json');
  const sha256Groups = data.testGroups.filter((g) => g.sha === 'SHA-256');
  const otherGroups = data.testGroups.filter((g) => g.sha !== 'SHA-256');

  it('has 43 cases, 10 of them SHA-256', () => {
    expect(data.algorithm).toBe('RSASSA-PKCS1-v1_5');
    expect(data.testGroups.reduce((s, g) => s + g.tests.length, 0)).toBe(data.numberOfTests);
    expect(sha256Groups.length).toBe(3);
    expect(sha256Groups.reduce((s, g) => s + g.tests.length, 0)).toBe(10);
  });

  it('PKCS#8 DER and PKCS#1 PEM give the same private key, matching the group public key', () => {
    for (const g of data.testGroups) {
      const fromPkcs8 = importPrivateKey(hexToBytes(g.privateKeyPkcs8));
      const fromPem = importPrivateKey(g.privateKeyPem);
      expect(g.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect(sameKey(fromPkcs8, fromPem)).toBe(true);
      expect(fromPkcs8.n).toBe(hexToBigInt(g.privateKey.modulus));
      expect(fromPkcs8.e).toBe(hexToBigInt(g.privateKey.publicExponent));
      expect(fromPkcs8.d).toBe(hexToBigInt(g.privateKey.privateExponent));
      const pub = importPublicKey(hexToBytes(g.keyDer));
      const pubPem = importPublicKey(g.keyPem);
      expect(pub.n).toBe(fromPkcs8.n);
      expect(pub.e).toBe(fromPkcs8.e);
      expect(pubPem.n).toBe(fromPkcs8.n);
      expect(fromPkcs8.publicKey.n).toBe(pub.n);
    }
  });

  it('signing reproduces every SHA-256 signature exactly, and verifyBytes accepts it', () => {
    // 'valid' cases must match. The two 'acceptable' SHA-256 cases (tcId 154, 158) are so
    // only because the key has e = 3 (flag SmallPublicKey), which this library accepts: signing
    // is deterministic, so they must match too.
    const mismatches: string[] = [];
    let checked = 0;
    let valid = 0;
    for (const g of sha256Groups) {
      const priv = importPrivateKey(hexToBytes(g.privateKeyPkcs8));
      const pub = importPublicKey(hexToBytes(g.keyDer));
      for (const t of g.tests) {
        checked++;
        if (t.result === 'valid') valid++;
        else if (!(t.result === 'acceptable' && t.flags.join() === 'SmallPublicKey')) {
          mismatches.push(`tcId ${t.tcId}: unexpected ${t.result} case (${t.flags.join(',')})`);
          continue;
        }
        const msg = hexToBytes(t.msg);
        const ours = signBytes(priv, msg);
        if (toHex(ours) !== t.sig) mismatches.push(`tcId ${t.tcId}: signBytes gave ${toHex(ours).slice(0, 32)}...`);
        for (const path of CRYPTO_PATHS) {
          if (!verifyBytes(pub, msg, hexToBytes(t.sig), path.ops)) mismatches.push(`tcId ${t.tcId}: verifyBytes (${path.name}) refused the vector's signature`);
        }
        const text = utf8OrUndefined(msg);
        if (text !== undefined && signStringToSign(priv, text) !== toBase64(hexToBytes(t.sig))) {
          mismatches.push(`tcId ${t.tcId}: signStringToSign differs`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(10);
    expect(valid).toBe(8);
  });

  it('signatures made with SHA-1/224/384/512 do not verify as SHA-256', () => {
    const wronglyAccepted: number[] = [];
    let checked = 0;
    for (const g of otherGroups) {
      const pub = importPublicKey(hexToBytes(g.keyDer));
      for (const t of g.tests) {
        for (const path of CRYPTO_PATHS) {
          checked++;
          if (verifyBytes(pub, hexToBytes(t.msg), hexToBytes(t.sig), path.ops)) wronglyAccepted.push(t.tcId);
        }
      }
    }
    expect(wronglyAccepted).toEqual([]);
    expect(checked).toBe(33 * CRYPTO_PATHS.length);
  });
});
