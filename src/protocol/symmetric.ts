/**
 * SNAP's symmetric signature for the calls after the token (inquiry, payment): HMAC-SHA512
 * with the client secret over `METHOD:path:accessToken:lowercase(hex(SHA-256(minify(body)))):X-TIMESTAMP`,
 * base64. Plus the JSON minifier it needs and the asymmetric "body" form.
 * @module
 */
import { decodeBase64Strict, encodeBase64 } from '../crypto/base64.js';
import { bytesToHex, timingSafeEqual, utf8 } from '../crypto/bytes.js';
import { cryptoOps, type CryptoOps, type CryptoProvider } from '../crypto/provider.js';
import { jsHmac, jsSha256, jsSha256Hex } from '../crypto/js-ops.js';

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const enum State {
  Value,
  ValueOrEnd, // just after '['
  KeyOrEnd, // just after '{'
  Key, // after ',' in an object
  Colon,
  AfterValue,
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

function fail(message: string, at: number): never {
  throw new SyntaxError(`minifyJson: ${message} at position ${at}`);
}

/** End index (exclusive) of the string starting with the quote at `start`. */
function scanString(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    if (i >= text.length) fail('unterminated string', start);
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) fail('control character in string', i);
    if (c === 0x5c) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        for (let k = 2; k < 6; k++) if (!isHex(text.charCodeAt(i + k))) fail('bad \\u escape', i);
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        fail('bad escape', i);
      }
      i += 2;
      continue;
    }
    i++;
  }
}

/**
 * Remove the whitespace outside JSON strings, and nothing else: key order, escapes and
 * number spellings (`1.0`, `1e5`) stay exactly as sent; the JSON is never parsed into values
 * and re-serialised. The whole text is checked against the JSON grammar (RFC 8259) first:
 * malformed JSON is refused, not guessed at.
 *
 * @throws {@link !SyntaxError | SyntaxError} for text that is not one JSON value (with the
 * position); {@link !TypeError | TypeError} for a non-string.
 *
 * @example
 * ```ts
 * import { minifyJson } from 'nicepay-nico';
 *
 * minifyJson('{ "amount" : { "value" : "10000.00" }, "note": "a b" }');
 * // '{"amount":{"value":"10000.00"},"note":"a b"}'
 * ```
 * @category Crypto
 */
export function minifyJson(text: string): string {
  if (typeof text !== 'string') throw new TypeError(`minifyJson: expected a string, got ${typeof text}`);
  const stack: boolean[] = []; // true: object, false: array
  let state = State.Value;
  let out = '';
  let i = 0;
  const n = text.length;
  for (;;) {
    while (i < n && isWhitespace(text.charCodeAt(i))) i++;
    if (i >= n) {
      if (state === State.AfterValue && stack.length === 0) return out;
      fail('unexpected end of JSON', i);
    }
    const c = text.charCodeAt(i);
    switch (state) {
      case State.Value:
      case State.ValueOrEnd: {
        if (state === State.ValueOrEnd && c === 0x5d) {
          stack.pop();
          out += ']';
          i++;
          state = State.AfterValue;
          break;
        }
        if (c === 0x7b) {
          stack.push(true);
          out += '{';
          i++;
          state = State.KeyOrEnd;
        } else if (c === 0x5b) {
          stack.push(false);
          out += '[';
          i++;
          state = State.ValueOrEnd;
        } else if (c === 0x22) {
          const end = scanString(text, i);
          out += text.slice(i, end);
          i = end;
          state = State.AfterValue;
        } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          NUMBER.lastIndex = i;
          const m = NUMBER.exec(text);
          if (!m) fail('bad number', i);
          out += m[0];
          i += m[0].length;
          state = State.AfterValue;
        } else {
          const literal = text.startsWith('true', i) ? 'true' : text.startsWith('false', i) ? 'false' : text.startsWith('null', i) ? 'null' : '';
          if (literal === '') fail(`unexpected character ${JSON.stringify(text[i])}`, i);
          out += literal;
          i += literal.length;
          state = State.AfterValue;
        }
        break;
      }
      case State.KeyOrEnd:
      case State.Key: {
        if (state === State.KeyOrEnd && c === 0x7d) {
          stack.pop();
          out += '}';
          i++;
          state = State.AfterValue;
          break;
        }
        if (c !== 0x22) fail('expected a string key', i);
        const end = scanString(text, i);
        out += text.slice(i, end);
        i = end;
        state = State.Colon;
        break;
      }
      case State.Colon:
        if (c !== 0x3a) fail('expected ":"', i);
        out += ':';
        i++;
        state = State.Value;
        break;
      case State.AfterValue: {
        if (stack.length === 0) fail('unexpected text after the JSON value', i);
        const inObject = stack[stack.length - 1] as boolean;
        if (c === 0x2c) {
          out += ',';
          i++;
          state = inObject ? State.Key : State.Value;
        } else if (c === (inObject ? 0x7d : 0x5d)) {
          stack.pop();
          out += inObject ? '}' : ']';
          i++;
        } else {
          fail(`expected "," or "${inObject ? '}' : ']'}"`, i);
        }
        break;
      }
    }
  }
}

/**
 * Lower-case hex of SHA-256 of a string's UTF-8 bytes (or of bytes).
 *
 * @throws {@link !TypeError | TypeError} for anything but a string or a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { sha256Hex } from 'nicepay-nico';
 *
 * sha256Hex(''); // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 * ```
 * @category Crypto
 */
export function sha256Hex(input: string | Uint8Array): string {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw new TypeError('sha256Hex: expected a string or Uint8Array');
  return sha256HexWith(undefined, input);
}

/** {@link sha256Hex} on a provider's operations (`undefined`: pure JavaScript). @internal */
export function sha256HexWith(ops: CryptoOps | undefined, input: string | Uint8Array): string {
  if (typeof input === 'string') return ops ? ops.sha256Hex(input) : jsSha256Hex(input);
  return bytesToHex(ops ? ops.sha256(input) : jsSha256(input));
}

/**
 * How the body is hashed in a stringToSign.
 * @category Crypto
 */
export type BodyHashMode =
  /** SNAP: SHA-256 of the body with whitespace outside strings removed. */
  | 'minified'
  /** NICEPAY's own SDKs: SHA-256 of the body exactly as sent. */
  | 'as-sent';

/**
 * Lower-case hex SHA-256 of a body, minified or as sent; an empty body hashes the empty string.
 *
 * @throws {@link !SyntaxError | SyntaxError} in `"minified"` mode for a body that is not JSON
 * or not UTF-8.
 *
 * @example
 * ```ts
 * import { bodySha256Hex, sha256Hex } from 'nicepay-nico';
 *
 * const body = '{ "trxId": "123" }';
 * bodySha256Hex(body) === sha256Hex('{"trxId":"123"}'); // true: SNAP hashes the body minified
 * bodySha256Hex(body, 'as-sent') === sha256Hex(body);   // true: NICEPAY's SDKs hash it as sent
 * ```
 * @category Crypto
 */
export function bodySha256Hex(body: string | Uint8Array, mode: BodyHashMode = 'minified'): string {
  if (mode === 'as-sent') return sha256Hex(body);
  const text = typeof body === 'string' ? body : decodeUtf8(body);
  return sha256Hex(text === '' ? '' : minifyJson(text));
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new SyntaxError('minifyJson: the body is not valid UTF-8');
  }
}

/**
 * The parts of a symmetric stringToSign.
 * @category Crypto
 */
export interface SymmetricStringToSignInit {
  /** HTTP method as sent, e.g. `"POST"`. */
  readonly method: string;
  /** Relative path as requested, query included when present, e.g. `"/api/v1.0/cvs/inquiry"`. */
  readonly path: string;
  /** The bearer access token. */
  readonly accessToken: string;
  /** The raw body. */
  readonly body: string | Uint8Array;
  /** `X-TIMESTAMP` as sent. */
  readonly timestamp: string;
  /** How the body is hashed; default `"minified"` (SNAP). */
  readonly bodyHash?: BodyHashMode;
}

const checkPart = (value: unknown, name: string, fn: string): string => {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${fn}: ${name} must be a non-empty string`);
  return value;
};

/**
 * The SNAP symmetric stringToSign:
 * `METHOD:path:accessToken:lowercase(hex(SHA-256(minify(body)))):X-TIMESTAMP`.
 *
 * @throws {@link !SyntaxError | SyntaxError} when the body is not JSON (in `"minified"`
 * mode); {@link !TypeError | TypeError} for a missing or empty part, or a body that is not a
 * string or `Uint8Array`.
 *
 * @example
 * ```ts
 * import { buildSymmetricStringToSign } from 'nicepay-nico';
 *
 * buildSymmetricStringToSign({
 *   method: 'POST', path: '/api/v1.0/cvs/inquiry', accessToken: 'b7Jm2Qk1.x9Yz',
 *   body: '{ "trxId": "123" }', timestamp: '2024-11-13T02:54:37+07:00',
 * });
 * // 'POST:/api/v1.0/cvs/inquiry:b7Jm2Qk1.x9Yz:<sha256 hex of {"trxId":"123"}>:2024-11-13T02:54:37+07:00'
 * ```
 * @category Crypto
 */
export function buildSymmetricStringToSign(init: SymmetricStringToSignInit): string {
  const fn = 'buildSymmetricStringToSign';
  if (typeof init !== 'object' || init === null) throw new TypeError(`${fn}: expected { method, path, accessToken, body, timestamp }`);
  const method = checkPart(init.method, 'method', fn);
  const path = checkPart(init.path, 'path', fn);
  const token = checkPart(init.accessToken, 'accessToken', fn);
  const timestamp = checkPart(init.timestamp, 'timestamp', fn);
  if (typeof init.body !== 'string' && !(init.body instanceof Uint8Array)) throw new TypeError(`${fn}: body must be the raw body (string or Uint8Array)`);
  return `${method}:${path}:${token}:${bodySha256Hex(init.body, init.bodyHash ?? 'minified')}:${timestamp}`;
}

/**
 * SNAP's "body" form of the asymmetric stringToSign (as in its notifications):
 * `METHOD:path:lowercase(hex(SHA-256(minify(body)))):X-TIMESTAMP`.
 *
 * @throws {@link !SyntaxError | SyntaxError} when the body is not JSON (in `"minified"`
 * mode); {@link !TypeError | TypeError} for a missing or empty part.
 *
 * @example
 * ```ts
 * import { buildAsymmetricBodyStringToSign, importPublicKey, verifySignature } from 'nicepay-nico';
 *
 * const stringToSign = buildAsymmetricBodyStringToSign({
 *   method: 'POST', path: '/api/v1.0/cvs/inquiry', body: '{ "trxId": "123" }', timestamp: '2024-11-13T02:54:37+07:00',
 * });
 * // 'POST:/api/v1.0/cvs/inquiry:<sha256 hex of {"trxId":"123"}>:2024-11-13T02:54:37+07:00'
 * verifySignature(importPublicKey(process.env.NICEPAY_PUBLIC_KEY!), stringToSign, signature); // SHA256withRSA
 * ```
 * @category Crypto
 */
export function buildAsymmetricBodyStringToSign(init: Omit<SymmetricStringToSignInit, 'accessToken'>): string {
  const fn = 'buildAsymmetricBodyStringToSign';
  const method = checkPart(init.method, 'method', fn);
  const path = checkPart(init.path, 'path', fn);
  const timestamp = checkPart(init.timestamp, 'timestamp', fn);
  return `${method}:${path}:${bodySha256Hex(init.body, init.bodyHash ?? 'minified')}:${timestamp}`;
}

const secretBytes = (secret: unknown, fn: string): Uint8Array => {
  if (typeof secret !== 'string' || secret === '') throw new TypeError(`${fn}: clientSecret must be a non-empty string (used as its UTF-8 bytes)`);
  return utf8(secret);
};

/**
 * HMAC-SHA512 of `stringToSign` with the client secret (its literal UTF-8 bytes, even when it
 * looks like base64), as standard base64.
 *
 * @throws {@link !TypeError | TypeError} for an empty or non-string client secret, or a
 * non-string `stringToSign`.
 *
 * @example
 * ```ts
 * import { buildSymmetricStringToSign, signSymmetric } from 'nicepay-nico';
 *
 * const stringToSign = buildSymmetricStringToSign({
 *   method: 'POST', path: '/api/v1.0/cvs/inquiry', accessToken, body: '{"trxId":"123"}', timestamp: '2024-11-13T02:54:37+07:00',
 * });
 * signSymmetric(process.env.NICEPAY_CLIENT_SECRET!, stringToSign); // X-SIGNATURE: 88 base64 characters (64 bytes)
 * ```
 * @category Crypto
 */
export function signSymmetric(clientSecret: string, stringToSign: string): string {
  const fn = 'signSymmetric';
  const key = secretBytes(clientSecret, fn);
  if (typeof stringToSign !== 'string') throw new TypeError(`${fn}: stringToSign must be a string`);
  return encodeBase64(jsHmac('sha512', key)(stringToSign));
}

/** HMAC-SHA512 keyed once with a client secret. @internal used by the transaction verifier. */
export function preparedSymmetricMac(clientSecret: string, ops?: CryptoOps): (stringToSign: string) => Uint8Array {
  return (ops ? ops.hmac : jsHmac)('sha512', secretBytes(clientSecret, 'preparedSymmetricMac'));
}

/** Decode a symmetric signature strictly: 64 bytes of standard base64, or `undefined`. @internal */
export function decodeSymmetricSignature(signatureBase64: unknown): Uint8Array | undefined {
  if (typeof signatureBase64 !== 'string' || signatureBase64.length !== 88) return undefined;
  try {
    return decodeBase64Strict(signatureBase64);
  } catch {
    return undefined;
  }
}

/**
 * Check a symmetric signature in constant time. Returns `false`, never throws, for a
 * malformed signature (not strict base64, not 64 bytes). `options.crypto` picks the crypto
 * of the HMAC (the checks are the same for both): {@link jsCrypto} by default, or
 * `nodeCrypto` from `nicepay-nico/node`.
 *
 * @throws {@link !TypeError | TypeError} for an empty or non-string client secret, a
 * non-string `stringToSign` (the caller's mistakes, never the signature's), or an
 * `options.crypto` that is not one of the two providers.
 *
 * @example
 * ```ts
 * import { buildSymmetricStringToSign, verifySymmetricSignature } from 'nicepay-nico';
 *
 * // the call's method, path (query included), bearer token, raw body and X-TIMESTAMP, as received:
 * const stringToSign = buildSymmetricStringToSign({ method, path, accessToken, body: rawBody, timestamp });
 * verifySymmetricSignature(process.env.NICEPAY_CLIENT_SECRET!, stringToSign, signature); // true or false
 * ```
 * @category Crypto
 */
export function verifySymmetricSignature(clientSecret: string, stringToSign: string, signatureBase64: string, options?: { readonly crypto?: CryptoProvider }): boolean {
  const fn = 'verifySymmetricSignature';
  const key = secretBytes(clientSecret, fn);
  const ops = cryptoOps(options?.crypto, fn);
  if (typeof stringToSign !== 'string') throw new TypeError(`${fn}: stringToSign must be a string`);
  const given = decodeSymmetricSignature(signatureBase64);
  return given !== undefined && timingSafeEqual((ops ? ops.hmac : jsHmac)('sha512', key)(stringToSign), given);
}
