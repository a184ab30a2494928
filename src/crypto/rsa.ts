/**
 * RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), verified by encode-then-compare: the
 * expected encoded message is built from the hash and compared whole, in constant time,
 * with the one the signature opens to. No padding parser exists to be fooled.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64Length, decodeBase64Strict, encodeBase64 } from './base64.js';
import { bigIntToBytes, bigIntToHex, bytesToBigInt, bytesToHex, modInverse, timingSafeEqualString, utf8 } from './bytes.js';
import { toPrivateKey, toPublicKey, type KeyInput, type RsaPrivateKey, type RsaPublicKey } from './keys.js';
import { cryptoOps, type CryptoOps, type CryptoProvider } from './provider.js';

/**
 * Options of {@link verifySignature}.
 * @category Crypto
 */
export interface VerifySignatureOptions {
  /** The crypto the RSA step runs on: {@link jsCrypto} (default) or `nodeCrypto` from `nicepay-nico/node`; same verdict either way. */
  readonly crypto?: CryptoProvider;
}

/** DER of `DigestInfo { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING (32) }` before the hash. */
const SHA256_DIGEST_INFO_PREFIX = /* @__PURE__ */ Uint8Array.from([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
]);

/**
 * EMSA-PKCS1-v1_5 encoding of a SHA-256 digest for a `k`-byte modulus:
 * `00 01 FF..FF 00 || DigestInfo || H` (RFC 8017 §9.2).
 */
export function emsaPkcs1v15Sha256(digest: Uint8Array, k: number): Uint8Array {
  const tLen = SHA256_DIGEST_INFO_PREFIX.length + digest.length;
  if (digest.length !== 32) throw new TypeError('SHA-256 digest must be 32 bytes');
  if (k < tLen + 11) throw new RangeError('modulus too short for SHA-256 PKCS#1 v1.5');
  const em = new Uint8Array(k).fill(0xff);
  em[0] = 0x00;
  em[1] = 0x01;
  em[k - tLen - 1] = 0x00;
  em.set(SHA256_DIGEST_INFO_PREFIX, k - tLen);
  em.set(digest, k - digest.length);
  return em;
}

/** `base^e mod n`, with the usual e = 65537 done as 16 squarings and one multiplication. */
function modPowPublic(base: bigint, e: bigint, n: bigint): bigint {
  if (e === 65537n) {
    let x = base;
    for (let i = 0; i < 16; i++) x = (x * x) % n;
    return (x * base) % n;
  }
  let result = 1n;
  let b = base;
  let k = e;
  while (k > 0n) {
    if (k & 1n) result = (result * b) % n;
    b = (b * b) % n;
    k >>= 1n;
  }
  return result;
}

/** Square-and-multiply for private exponents (always multiplies: no data-dependent branch). */
function modPowPrivate(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let r0 = 1n;
  let r1 = base % modulus;
  for (let i = exponent.toString(2).length - 1; i >= 0; i--) {
    const bit = (exponent >> BigInt(i)) & 1n;
    if (bit === 0n) {
      r1 = (r0 * r1) % modulus;
      r0 = (r0 * r0) % modulus;
    } else {
      r0 = (r0 * r1) % modulus;
      r1 = (r1 * r1) % modulus;
    }
  }
  return r0;
}

/**
 * Verify a SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256) signature over the UTF-8 bytes of
 * `stringToSign`.
 *
 * Returns `false`, and never throws, for any wrong or malformed signature: not a string,
 * bad base64 (URL-safe alphabet, missing padding, whitespace), wrong length, `s >= n`.
 * Throws only when the caller passes something that is not a key, or a non-string
 * `stringToSign`.
 *
 * Import the key once ({@link importPublicKey}) and pass the result; key text is accepted
 * too and imported on each call. `options.crypto` picks the crypto of the RSA step (after
 * every check above, which is the same for both): {@link jsCrypto} by default, or
 * `nodeCrypto` from `nicepay-nico/node` (OpenSSL, about 4x faster on Node).
 *
 * @throws {@link KeyImportError} or {@link !TypeError | TypeError} when `publicKey` is not a
 * key (see {@link importPublicKey}); {@link !TypeError | TypeError} for a non-string
 * `stringToSign`, or an `options.crypto` that is not one of the two providers.
 *
 * @example
 * ```ts
 * import { buildStringToSign, importPublicKey, verifySignature } from 'nicepay-nico';
 *
 * const nicepayKey = importPublicKey(process.env.NICEPAY_PUBLIC_KEY!); // once, at start-up
 * // X-CLIENT-KEY, X-TIMESTAMP and X-SIGNATURE exactly as received:
 * const ok = verifySignature(nicepayKey, buildStringToSign(clientKey, timestamp), signature); // true or false
 * ```
 * @category Crypto
 */
export function verifySignature(publicKey: RsaPublicKey | KeyInput, stringToSign: string, signatureBase64: string, options?: VerifySignatureOptions): boolean {
  const key = toPublicKey(publicKey, {}, 'verifySignature');
  const ops = cryptoOps(options?.crypto, 'verifySignature');
  if (typeof stringToSign !== 'string') {
    throw new TypeError(`verifySignature: stringToSign must be a string, got ${typeof stringToSign}`);
  }
  if (typeof signatureBase64 !== 'string') return false;
  const k = key.byteLength;
  if (signatureBase64.length !== base64Length(k)) return false;
  let signature: Uint8Array;
  try {
    signature = decodeBase64Strict(signatureBase64);
  } catch {
    return false;
  }
  return verifyBytes(key, utf8(stringToSign), signature, ops);
}

/** Hex of everything before the hash in the EMSA-PKCS1-v1_5 SHA-256 block, per modulus length. */
const emPrefixHex = new Map<number, string>();

function expectedEncodedMessageHex(digest: Uint8Array, k: number): string {
  let prefix = emPrefixHex.get(k);
  if (prefix === undefined) {
    prefix = bytesToHex(emsaPkcs1v15Sha256(new Uint8Array(32), k).subarray(0, k - 32));
    emPrefixHex.set(k, prefix);
  }
  return prefix + bytesToHex(digest);
}

/** The modulus of each key as `byteLength` big-endian bytes. */
const modulusBytes = /* @__PURE__ */ new WeakMap<RsaPublicKey, Uint8Array>();

/**
 * `s < n` for a signature of exactly `key.byteLength` bytes: both big-endian and of one
 * length, so the first differing byte decides (all public values: no timing concern).
 */
function belowModulus(signature: Uint8Array, key: RsaPublicKey): boolean {
  let n = modulusBytes.get(key);
  if (n === undefined) {
    n = bigIntToBytes(key.n, key.byteLength);
    modulusBytes.set(key, n);
  }
  for (let i = 0; i < n.length; i++) {
    const a = signature[i] as number;
    const b = n[i] as number;
    if (a !== b) return a < b;
  }
  return false; // s = n
}

/**
 * Verify a signature given as bytes over a message given as bytes (same rules as
 * {@link verifySignature}). The length and `s < n` are checked here, for every provider;
 * then the provider decides, or (pure JS) the encoded message is compared whole, as
 * fixed-length hex, in time that depends only on the key's size.
 */
export function verifyBytes(key: RsaPublicKey, message: Uint8Array, signature: Uint8Array, ops?: CryptoOps): boolean {
  const k = key.byteLength;
  if (signature.length !== k) return false;
  if (!belowModulus(signature, key)) return false;
  const decided = ops?.rsaSha256(key, message, signature);
  if (decided !== undefined) return decided;
  const s = bytesToBigInt(signature);
  const opened = bigIntToHex(modPowPublic(s, key.e, key.n), k);
  return timingSafeEqualString(opened, expectedEncodedMessageHex(sha256(message), k));
}

/**
 * Sign `stringToSign` (UTF-8) with SHA256withRSA, as NICEPAY does; returns standard base64.
 * For tests, simulators and the command-line tool: a merchant never needs NICEPAY's
 * private key. Uses CRT with blinding, and checks its own result before returning it.
 *
 * @throws {@link KeyImportError} or {@link !TypeError | TypeError} when `privateKey` is not a
 * private key (see {@link importPrivateKey}); {@link !TypeError | TypeError} for a non-string
 * `stringToSign`.
 *
 * @example
 * ```ts
 * import { importPrivateKey, signStringToSign } from 'nicepay-nico';
 * import { rsaSandboxKey } from 'nicepay-nico/vectors';
 *
 * const key = importPrivateKey(rsaSandboxKey.privateKeyPkcs8Base64, { minModulusBits: 1024 });
 * signStringToSign(key, 'IONPAYTEST|2023-02-22T14:43:27+07:00');
 * // "H0SI/1ArKnqoNdKeeO0KD+3RVuho..." (NICEPAY's own vector: PKCS#1 v1.5 is deterministic)
 * ```
 * @category Crypto
 */
export function signStringToSign(privateKey: RsaPrivateKey | KeyInput, stringToSign: string): string {
  const key = toPrivateKey(privateKey, {}, 'signStringToSign');
  if (typeof stringToSign !== 'string') {
    throw new TypeError(`signStringToSign: stringToSign must be a string, got ${typeof stringToSign}`);
  }
  return encodeBase64(signBytes(key, utf8(stringToSign)));
}

/** Sign bytes; returns the `k`-byte signature. */
export function signBytes(key: RsaPrivateKey, message: Uint8Array): Uint8Array {
  const k = key.byteLength;
  const m = bytesToBigInt(emsaPkcs1v15Sha256(sha256(message), k));
  const { n, e, p, q, dp, dq, qi } = key;
  // Blinding: sign m * r^e, then divide by r, so the timing of the private operation
  // does not depend on the message.
  const r = randomUnit(n);
  const blinded = (m * modPowPublic(r, e, n)) % n;
  const m1 = modPowPrivate(blinded % p, dp, p);
  const m2 = modPowPrivate(blinded % q, dq, q);
  const h = (qi * (((m1 - m2) % p) + p)) % p;
  const s = ((m2 + h * q) * modInverse(r, n)) % n;
  if (modPowPublic(s, e, n) !== m) throw new Error('signStringToSign: RSA signing fault detected; the private key may be damaged');
  return bigIntToBytes(s, k);
}

function randomUnit(n: bigint): bigint {
  const bytes = new Uint8Array(Math.ceil(n.toString(16).length / 2) + 8);
  for (;;) {
    crypto.getRandomValues(bytes);
    const r = bytesToBigInt(bytes) % n;
    if (r > 1n) return r;
  }
}
