/**
 * Reading the raw request body: size limit, strict UTF-8, JSON object.
 * @module
 */
import { kindOf } from '../crypto/bytes.js';
import { SnapError } from '../errors.js';

/**
 * The raw request body, exactly as received.
 * @category Protocol
 */
export type RawBody = string | Uint8Array;

/**
 * Default body limit: 16 KiB. An access-token request body is about 60 bytes.
 * @category Protocol
 */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = /* @__PURE__ */ new TextEncoder();

/** Refuse anything but a raw body, with a message that says how to keep it. */
export function checkRawBody(body: unknown, fn: string): asserts body is RawBody {
  if (typeof body === 'string' || body instanceof Uint8Array) return;
  const parsed = typeof body === 'object' && body !== null && !(body instanceof ArrayBuffer);
  throw new TypeError(
    `${fn}: request.body must be the raw body as received (a string or Uint8Array), got ${kindOf(body)}. ` +
      (parsed
        ? 'It looks already parsed: a parsed and re-serialised body is not what was sent. ' +
          'In Express use express.raw({ type: "*/*" }) or express.text({ type: "*/*" }) on this route instead of express.json(); ' +
          'with fetch use await request.text().'
        : body === undefined
          ? 'Either no body was passed, or the body stream was already read before this handler without keeping the raw bytes: ' +
            'pass the raw body (await request.text() with fetch; with Express, express.raw() or express.text() on this route).'
          : 'Pass the raw body: await request.text() with fetch, or the collected stream with node:http.'),
  );
}

/** Byte length of the body in UTF-8. */
export function bodyByteLength(body: RawBody): number {
  if (typeof body !== 'string') return body.length;
  // Fast path for the usual ASCII body; exact count otherwise.
  return /^[\x00-\x7f]*$/.test(body) ? body.length : encoder.encode(body).length;
}

/**
 * The cheap checks of a body, before any credential is checked: its size (over `maxBytes`:
 * `BODY_TOO_LARGE`), no byte-order mark, valid UTF-8 (`BAD_REQUEST`). Returns its text.
 * @internal
 */
export function readBodyText(body: RawBody, maxBytes: number, serviceCode?: string): string {
  const sc = serviceCode === undefined ? {} : { serviceCode };
  if (bodyByteLength(body) > maxBytes) {
    throw new SnapError('BODY_TOO_LARGE', { ...sc, detail: `request body is larger than ${maxBytes} bytes` });
  }
  // JSON has no byte-order mark (RFC 8259 §8.1), and a decoder would drop it silently,
  // changing the bytes that were signed: refuse it, and say so.
  if (typeof body === 'string' ? body.charCodeAt(0) === 0xfeff : body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
    throw new SnapError('BAD_REQUEST', { ...sc, detail: 'request body starts with a UTF-8 byte-order mark (EF BB BF), which JSON does not allow (RFC 8259 §8.1): send the JSON without it' });
  }
  if (typeof body === 'string') return body;
  try {
    return decoder.decode(body);
  } catch (cause) {
    throw new SnapError('BAD_REQUEST', { ...sc, detail: 'request body is not valid UTF-8', cause });
  }
}

/** Parse body text as one JSON object (`JSON.parse`); `BAD_REQUEST` otherwise. @internal */
export function parseJsonObjectText(text: string, serviceCode?: string): Record<string, unknown> {
  const sc = serviceCode === undefined ? {} : { serviceCode };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new SnapError('BAD_REQUEST', { ...sc, detail: text.trim() === '' ? 'request body is empty' : 'request body is not valid JSON', cause });
  }
  return checkJsonObject(value, sc);
}

/** `BAD_REQUEST` unless `value` is a JSON object. @internal */
export function checkJsonObject(value: unknown, sc: { serviceCode?: string }): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SnapError('BAD_REQUEST', { ...sc, detail: `request body must be a JSON object, got ${kindOf(value)}` });
  }
  return value as Record<string, unknown>;
}

/**
 * Parse the body as one JSON object (the access-token request's two fixed fields: plain
 * `JSON.parse`). Over `maxBytes`: `BODY_TOO_LARGE`; a byte-order mark, not UTF-8, not JSON,
 * or JSON but not an object: `BAD_REQUEST` (`400 xx 00 Bad Request`).
 */
export function parseJsonObject(body: RawBody, maxBytes: number, serviceCode?: string): Record<string, unknown> {
  return parseJsonObjectText(readBodyText(body, maxBytes, serviceCode), serviceCode);
}

/** Join received chunks into one array of at most `max` bytes (the rest is dropped). @internal used by the adapters. */
export function joinChunks(chunks: readonly Uint8Array[], max: number): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Uint8Array(Math.min(total, max));
  let offset = 0;
  for (const chunk of chunks) {
    if (offset === out.length) break;
    const part = chunk.subarray(0, out.length - offset);
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
