/**
 * How did the sender compute the signature of a captured inquiry or payment call? For
 * `nicepay-nico verify --transaction`. Recomputes the stringToSign under every dialect of
 * SNAP's symmetric signature seen in the field (HMAC-SHA512 with the client secret over
 * `METHOD:path:accessToken:lowercase(hex(SHA-256(minify(body)))):X-TIMESTAMP`, base64) and
 * names the one(s) that match; a correct NICO server accepts only two of them (`minified`,
 * `as-sent`). Also the RSA forms, with NICEPAY's public key. Pure: no I/O.
 *
 * Every comparison is the library's own: {@link preparedSymmetricMac} and
 * {@link timingSafeEqual} (constant time) for HMAC-SHA512, {@link verifySignature} for
 * SHA256withRSA, {@link sha256Hex} and {@link minifyJson} for the body.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { decodeBase64Strict } from '../crypto/base64.js';
import { timingSafeEqual } from '../crypto/bytes.js';
import type { RsaPublicKey } from '../crypto/keys.js';
import { verifySignature } from '../crypto/rsa.js';
import { buildStringToSign } from '../protocol/string-to-sign.js';
import { decodeSymmetricSignature, minifyJson, preparedSymmetricMac, sha256Hex } from '../protocol/symmetric.js';
import { checkFreshness, parseTimestamp, type ParsedTimestamp } from '../protocol/timestamp.js';

/** The dialects of the symmetric signature, in the order they are tried. */
export type SymmetricDialectId =
  | 'minified'
  | 'as-sent'
  | 'json-stringify'
  | 'python-json-dumps'
  | 'php-escapes'
  | 'whitespace-stripped'
  | 'upper-hex'
  | 'empty-hash-component'
  | 'query-dropped'
  | 'nicepay-prefix';

/** The RSA (SHA256withRSA) forms, in the order they are tried. */
export type RsaFormId = 'rsa-partner-timestamp' | 'rsa-body' | 'rsa-body-as-sent';

/** Every dialect's stable id. */
export type DialectId = SymmetricDialectId | RsaFormId;

/** One dialect: what the sender did, and whether a correct NICO server accepts it. */
export interface DialectInfo {
  /** Stable id, e.g. `"as-sent"`. */
  readonly id: DialectId;
  /** One line, starting with "the sender": what it signed. */
  readonly description: string;
  /** Whether a correct NICO server accepts a call signed so. */
  readonly accepted: boolean;
  /** For a refused dialect: what the sender must do instead. */
  readonly fix?: string;
}

const SIGN_SENT = 'the sender must sign the bytes it sends';

/** The dialects, by id. */
export const DIALECTS: { readonly [K in DialectId]: DialectInfo & { readonly id: K } } = {
  minified: { id: 'minified', description: 'the sender hashed the body minified (whitespace outside strings removed), as SNAP says', accepted: true },
  'as-sent': { id: 'as-sent', description: "the sender hashed the body as sent (NICEPAY's SDKs, e.g. python json.dumps with spaces)", accepted: true },
  'json-stringify': {
    id: 'json-stringify',
    description: 'the sender hashed JSON.stringify(JSON.parse(body)), a re-serialised body whose escapes and numbers differ from the bytes sent',
    accepted: false,
    fix: SIGN_SENT,
  },
  'python-json-dumps': {
    id: 'python-json-dumps',
    description: 'the sender hashed the body re-serialised like python json.dumps (", " and ": " separators, non-ASCII as \\uXXXX), not the bytes it sent',
    accepted: false,
    fix: SIGN_SENT,
  },
  'php-escapes': {
    id: 'php-escapes',
    description: 'the sender hashed the body with PHP json_encode escapes ("/" as "\\/", non-ASCII as \\uXXXX), not the bytes it sent',
    accepted: false,
    fix: SIGN_SENT,
  },
  'whitespace-stripped': {
    id: 'whitespace-stripped',
    description: 'the sender hashed the body with all whitespace removed, inside strings too (a naive minifier)',
    accepted: false,
    fix: 'minify removes only the whitespace outside strings; better, the sender signs the bytes it sends',
  },
  'upper-hex': { id: 'upper-hex', description: 'the sender wrote the body hash in upper-case hex', accepted: false, fix: 'the body hash is lower-case hex' },
  'empty-hash-component': {
    id: 'empty-hash-component',
    description: 'the sender signed the empty body with an empty hash component (METHOD:path:token::timestamp)',
    accepted: false,
    fix: 'an empty body hashes the empty string (e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)',
  },
  'query-dropped': {
    id: 'query-dropped',
    description: 'the sender signed the path without its query string',
    accepted: false,
    fix: 'the signed path is the relative path as requested, query included',
  },
  'nicepay-prefix': {
    id: 'nicepay-prefix',
    description: "the sender signed the path with NICEPAY's own /nicepay prefix added, or removed, compared with the path received",
    accepted: false,
    fix: 'the signed path is the path the merchant receives',
  },
  'rsa-partner-timestamp': {
    id: 'rsa-partner-timestamp',
    description: 'the sender signed "X-PARTNER-ID|X-TIMESTAMP" with SHA256withRSA, as the NICO pages describe',
    accepted: true,
  },
  'rsa-body': {
    id: 'rsa-body',
    description: 'the sender signed SNAP\'s asymmetric body form "METHOD:path:sha256hex(minify(body)):X-TIMESTAMP" with SHA256withRSA (a server accepts it in its signature: "asymmetric-body" mode)',
    accepted: true,
  },
  'rsa-body-as-sent': {
    id: 'rsa-body-as-sent',
    description: 'the sender signed the asymmetric body form with SHA256withRSA, hashing the body as sent instead of minified',
    accepted: false,
    fix: 'the asymmetric body form hashes the body minified',
  },
};

/** A dialect that reproduces the signature, with the stringToSign it signed. */
export interface DialectMatch extends DialectInfo {
  /** The stringToSign under this dialect (the one the sender signed). */
  readonly stringToSign: string;
}

/** A captured inquiry or payment call, and the client secret to check it with. */
export interface CapturedTransaction {
  /** HTTP method as received, e.g. `"POST"`. */
  readonly method: string;
  /** Relative path as received, query included, e.g. `"/api/v1.0/cvs/inquiry"`. */
  readonly path: string;
  /** The bearer access token (without `Bearer `). */
  readonly accessToken: string;
  /** `X-TIMESTAMP` as received. */
  readonly timestamp: string;
  /** The body exactly as received (`""` for none). */
  readonly body: string | Uint8Array;
  /** `X-SIGNATURE` as received. */
  readonly signature: string;
  /** The client secret (its UTF-8 bytes are the HMAC key). Never part of the result. */
  readonly clientSecret: string;
  /** When the call was received, epoch ms: checks the clock (and `utc-as-jakarta`). */
  readonly receivedAt?: number;
}

/** A captured call signed with RSA, and NICEPAY's public key. */
export interface CapturedRsaTransaction {
  readonly method: string;
  readonly path: string;
  /** `X-PARTNER-ID` as received. */
  readonly partnerId: string;
  readonly timestamp: string;
  readonly body: string | Uint8Array;
  readonly signature: string;
  /** NICEPAY's public key. */
  readonly publicKey: RsaPublicKey;
  readonly receivedAt?: number;
}

/** X-TIMESTAMP against the time the call was received. */
export interface ClockCheck {
  /** X-TIMESTAMP minus the time received, seconds (negative: behind). */
  readonly offsetSeconds: number;
  /** Within the 300 s a correct server allows, both ways. */
  readonly fresh: boolean;
  /** About 7 hours off (within 5 minutes): a UTC clock stamped +07:00, or the reverse. */
  readonly utcAsJakarta: boolean;
}

/** What {@link identifyDialect} and {@link identifyRsaForm} find. */
export interface DialectReport {
  /** `symmetric` (HMAC-SHA512 with the client secret) or `rsa` (SHA256withRSA with the public key). */
  readonly form: 'symmetric' | 'rsa';
  /** Whether the signature verifies as a correct NICO server checks it (symmetric: the body minified or as sent). */
  readonly verifies: boolean;
  /**
   * Whether a correct NICO server accepts the call: the signature verifies, X-TIMESTAMP is
   * strict SNAP format and (with `receivedAt`) within 300 s of it, and the body is a JSON
   * object. The token, X-PARTNER-ID and X-EXTERNAL-ID are not checked here.
   */
  readonly accepted: boolean;
  /** The dialects that reproduce the signature, an accepted one first; empty when none does. */
  readonly matches: readonly DialectMatch[];
  /** What a correct server checks first: symmetric, the body minified (as sent when it is not JSON); RSA, `X-PARTNER-ID|X-TIMESTAMP`. */
  readonly expectedStringToSign: string;
  /** Lower-case hex SHA-256 of the body: minified (undefined when it is not JSON) and as sent. */
  readonly bodySha256Hex: { readonly minified: string | undefined; readonly asSent: string };
  /** The clock, when `receivedAt` is given and X-TIMESTAMP parses. */
  readonly clock: ClockCheck | undefined;
  /** What looks wrong, one sentence each; empty when the call is accepted. */
  readonly hints: readonly string[];
}

const SEVEN_HOURS_MS = 7 * 3600_000;
const FIVE_MINUTES_MS = 5 * 60_000;
const SKEW_MS = 300_000;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------
// The body: its text, its minified form, and the re-serialisations senders hash.

/** A parsed JSON value that keeps what re-serialisers need: key order, number spellings. @internal */
export type JsonNode =
  | { readonly kind: 'object'; readonly entries: ReadonlyMap<string, JsonNode> }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly raw: string }
  | { readonly kind: 'literal'; readonly raw: string };

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Parse minified JSON (already checked by {@link minifyJson}) into a tree. A repeated key
 * keeps its first position and its last value, as python's dict and PHP's arrays do.
 * @throws {RangeError} for JSON nested too deep for the stack.
 */
function parseTree(text: string): JsonNode {
  let i = 0;
  const string = (): string => {
    let j = i + 1;
    while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
    const value = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return value;
  };
  const value = (): JsonNode => {
    const c = text[i];
    if (c === '{') {
      i++;
      const entries = new Map<string, JsonNode>();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', entries };
      }
      for (;;) {
        const key = string();
        i++; // ':'
        entries.set(key, value());
        if (text[i++] === '}') return { kind: 'object', entries };
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      if (text[i] === ']') {
        i++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        if (text[i++] === ']') return { kind: 'array', items };
      }
    }
    if (c === '"') return { kind: 'string', value: string() };
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(text);
    if (number) {
      i += number[0].length;
      return { kind: 'number', raw: number[0] };
    }
    const raw = text.startsWith('true', i) ? 'true' : text.startsWith('false', i) ? 'false' : 'null';
    i += raw.length;
    return { kind: 'literal', raw };
  };
  return value();
}

/** `\uXXXX`, lower-case hex, as python and PHP write it. */
const uEscape = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A string as python's json.dumps writes it with ensure_ascii: everything outside " "-"~" escaped. */
const pythonString = (value: string): string => `"${value.replace(/[\\"\x00-\x1f\x7f-\uffff]/g, (ch) => SHORT_ESCAPES[ch] ?? uEscape(ch))}"`;

/** A string as PHP's json_encode writes it by default: `/` as `\/`, control and non-ASCII characters as \uXXXX. */
// eslint-disable-next-line no-control-regex
const phpString = (value: string): string => `"${value.replace(/[\\"/\x00-\x1f\u0080-\uffff]/g, (ch) => (ch === '/' ? '\\/' : (SHORT_ESCAPES[ch] ?? uEscape(ch))))}"`;

/** A JSON number as python's json.loads then json.dumps writes it: ints as they are, floats as repr(float). */
function pythonNumber(raw: string): string {
  if (!/[.eE]/.test(raw)) return raw === '-0' ? '0' : raw;
  const x = Number(raw);
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // Shortest round-trip digits and exponent (JavaScript and python agree on them), in repr's layout.
  const [mantissa, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  const sign = x < 0 ? '-' : '';
  if (e >= -4 && e < 16) {
    if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
    const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
    return `${sign}${whole}.${digits.slice(e + 1) || '0'}`;
  }
  return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/**
 * The body as python's `json.dumps(json.loads(body))` writes it: `", "` and `": "`
 * separators, ensure_ascii, floats as `repr(float)`. @internal exported for the tests.
 */
export function pythonJsonDumps(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return `{${[...node.entries].map(([key, value]) => `${pythonString(key)}: ${pythonJsonDumps(value)}`).join(', ')}}`;
    case 'array':
      return `[${node.items.map(pythonJsonDumps).join(', ')}]`;
    case 'string':
      return pythonString(node.value);
    case 'number':
      return pythonNumber(node.raw);
    case 'literal':
      return node.raw;
  }
}

/**
 * The body with PHP `json_encode`'s default escapes (`/` as `\/`, non-ASCII as `\uXXXX`),
 * compact; numbers and structure as sent. @internal exported for the tests.
 */
export function phpJsonEncode(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return `{${[...node.entries].map(([key, value]) => `${phpString(key)}:${phpJsonEncode(value)}`).join(',')}}`;
    case 'array':
      return `[${node.items.map(phpJsonEncode).join(',')}]`;
    case 'string':
      return phpString(node.value);
    case 'number':
    case 'literal':
      return node.raw;
  }
}

/** Parse JSON text for the re-serialisers ({@link pythonJsonDumps}, {@link phpJsonEncode}). @internal exported for the tests. @throws {SyntaxError} when it is not JSON. */
export function parseJsonTree(text: string): JsonNode {
  return parseTree(minifyJson(text));
}

/** The body, read once. */
interface Body {
  readonly bytes: Uint8Array;
  /** Its UTF-8 text; undefined when it is not UTF-8. */
  readonly text: string | undefined;
  /** Minified; undefined when it is not JSON (an empty body minifies to ""). */
  readonly minified: string | undefined;
  /** Why it is not JSON, when it is not. */
  readonly problem: string | undefined;
}

function readBody(body: string | Uint8Array): Body {
  const bytes = typeof body === 'string' ? utf8Encoder.encode(body) : body;
  let text: string | undefined;
  try {
    text = typeof body === 'string' ? body : utf8Decoder.decode(body);
  } catch {
    return { bytes, text: undefined, minified: undefined, problem: 'the body is not valid UTF-8' };
  }
  if (text.charCodeAt(0) === 0xfeff) {
    return { bytes, text, minified: undefined, problem: 'the body starts with a UTF-8 byte-order mark (EF BB BF), which JSON does not allow' };
  }
  try {
    return { bytes, text, minified: text === '' ? '' : minifyJson(text), problem: undefined };
  } catch (error) {
    return { bytes, text, minified: undefined, problem: `the body is not JSON (${(error as Error).message.replace(/^minifyJson: /, '')})` };
  }
}

// ---------------------------------------------------------------------------------------
// The candidates.

interface Candidate {
  readonly id: DialectId;
  readonly stringToSign: string;
}

/** The stringToSign of every symmetric dialect that applies to this call, in order. */
function symmetricCandidates(method: string, path: string, token: string, timestamp: string, body: Body): Candidate[] {
  const sts = (p: string, hash: string): string => `${method}:${p}:${token}:${hash}:${timestamp}`;
  const out: Candidate[] = [];
  const add = (id: SymmetricDialectId, stringToSign: string): void => void out.push({ id, stringToSign });
  const asSent = sha256Hex(body.bytes);
  const minified = body.minified === undefined ? undefined : sha256Hex(body.minified);
  const accepted = [...new Set([minified, asSent])].filter((h): h is string => h !== undefined);
  if (minified !== undefined) add('minified', sts(path, minified));
  add('as-sent', sts(path, asSent));
  if (body.text !== undefined && body.minified !== undefined && body.minified !== '') {
    try {
      add('json-stringify', sts(path, sha256Hex(JSON.stringify(JSON.parse(body.text)))));
      const tree = parseTree(body.minified);
      add('python-json-dumps', sts(path, sha256Hex(pythonJsonDumps(tree))));
      add('php-escapes', sts(path, sha256Hex(phpJsonEncode(tree))));
    } catch {
      // nested too deep for the stack: these dialects cannot be tried
    }
  }
  if (body.text !== undefined) add('whitespace-stripped', sts(path, sha256Hex(body.text.replace(/\s/g, ''))));
  for (const hash of accepted) add('upper-hex', sts(path, hash.toUpperCase()));
  if (body.bytes.length === 0) add('empty-hash-component', `${method}:${path}:${token}::${timestamp}`);
  const query = path.indexOf('?');
  if (query >= 0) for (const hash of accepted) add('query-dropped', sts(path.slice(0, query), hash));
  const prefixed = path.startsWith('/nicepay/') ? path.slice('/nicepay'.length) : `/nicepay${path}`;
  for (const hash of accepted) add('nicepay-prefix', sts(prefixed, hash));
  return out;
}

/**
 * Try the candidates in order; a stringToSign already tried is not tried again (it belongs
 * to the first dialect that produced it), except that an accepted dialect giving the same
 * text as a matching one is named too (`minified` and `as-sent` for a compact body).
 */
function matchCandidates(candidates: readonly Candidate[], verifies: (stringToSign: string) => boolean): DialectMatch[] {
  const tried = new Map<string, boolean>();
  const matches: DialectMatch[] = [];
  for (const { id, stringToSign } of candidates) {
    const known = tried.get(stringToSign);
    const ok = known ?? verifies(stringToSign);
    tried.set(stringToSign, ok);
    if (!ok) continue;
    if (known !== undefined && !DIALECTS[id].accepted) continue;
    if (matches.some((m) => m.id === id)) continue;
    matches.push({ ...DIALECTS[id], stringToSign });
  }
  return matches;
}

// ---------------------------------------------------------------------------------------
// What else a correct server checks, and hints.

const RSA_SIZES: readonly number[] = [128, 256, 384, 512];

/** What the signature's shape says, or undefined when it decodes. */
function signatureShapeHint(signature: string): string | undefined {
  try {
    decodeBase64Strict(signature);
    return undefined;
  } catch {
    if (/\s/.test(signature)) return 'X-SIGNATURE contains whitespace or a line break; it must be one line of base64';
    if (/[-_]/.test(signature)) return 'X-SIGNATURE contains "-" or "_": base64url, but SNAP uses standard base64 (+ and /, with = padding)';
    return 'X-SIGNATURE is not standard base64 (A-Z a-z 0-9 + /, = padding, length a multiple of 4)';
  }
}

/** Decoded length of a strict base64 signature, or undefined. */
function decodedLength(signature: string): number | undefined {
  try {
    return decodeBase64Strict(signature).length;
  } catch {
    return undefined;
  }
}

/** The bytes of a client secret that is strict base64, or undefined. */
function base64Key(secret: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) return undefined;
  try {
    const key = decodeBase64Strict(secret);
    return key.length > 0 ? key : undefined;
  } catch {
    return undefined;
  }
}

function toBase64(text: string): string {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return standard + '='.repeat((4 - (standard.length % 4)) % 4);
}

/** Signatures damaged in transit or when pasted, and how. */
function signatureVariants(signature: string): [string, string][] {
  const variants: [string, string][] = [
    ['with "+" for the spaces in X-SIGNATURE (it went through URL decoding)', signature.replace(/ /g, '+')],
    ['with the whitespace removed from X-SIGNATURE', signature.replace(/\s+/g, '')],
    ['with X-SIGNATURE converted from base64url to base64', toBase64(signature.trim())],
  ];
  return variants.filter(([, s]) => s !== signature);
}

function formatOffset(ms: number): string {
  const abs = Math.abs(ms);
  const h = Math.floor(abs / 3600_000);
  const m = Math.round((abs % 3600_000) / 60_000);
  return h > 0 ? `${h} h ${m} min` : `${Math.round(abs / 1000)} s`;
}

/** X-TIMESTAMP's format and clock, and the body's, as a correct server checks them. */
function callChecks(timestamp: string, body: Body, receivedAt: number | undefined): { ok: boolean; clock: ClockCheck | undefined; hints: string[] } {
  const hints: string[] = [];
  let ok = true;
  let parsed: ParsedTimestamp | undefined;
  try {
    parsed = parseTimestamp(timestamp);
  } catch {
    ok = false;
    hints.push(
      'X-TIMESTAMP is not strict SNAP format (yyyy-MM-ddTHH:mm:ss+07:00): a correct server answers 400 Invalid Field Format {X-TIMESTAMP} (and the sender signs exactly the text it sends, so check the value was copied whole)',
    );
  }
  let clock: ClockCheck | undefined;
  if (parsed !== undefined && receivedAt !== undefined) {
    const offMs = parsed.epochMs - receivedAt;
    let fresh = true;
    try {
      checkFreshness(parsed, receivedAt, SKEW_MS);
    } catch {
      fresh = false;
    }
    const utcAsJakarta = Math.abs(Math.abs(offMs) - SEVEN_HOURS_MS) <= FIVE_MINUTES_MS;
    clock = { offsetSeconds: Math.round(offMs / 1000), fresh, utcAsJakarta };
    const off = `X-TIMESTAMP is ${formatOffset(offMs)} ${offMs < 0 ? 'behind' : 'ahead of'} the time received`;
    if (utcAsJakarta) {
      hints.push(
        offMs < 0
          ? `${off}: a UTC clock stamped +07:00 (utc-as-jakarta; several NICEPAY SDKs do this on a UTC host). A correct server refuses it (401 Unauthorized); the sender must stamp its clock with its real offset (Z on UTC)`
          : `${off}: a Jakarta clock stamped Z or +00:00 (utc-as-jakarta, reversed). A correct server refuses it (401 Unauthorized); the sender must stamp its clock with its real offset (+07:00 in Jakarta)`,
      );
    } else if (!fresh) {
      hints.push(`${off} (allowed 300 s): a correct server refuses it (401 Unauthorized); check the sender's clock`);
    }
    if (!fresh) ok = false;
  }
  if (body.problem !== undefined) {
    ok = false;
    hints.push(`${body.problem}: a correct server answers 400 Bad Request`);
  } else if (body.minified === '') {
    ok = false;
    hints.push('the body is empty: an inquiry or payment body is a JSON object, so a correct server answers 400 Bad Request');
  } else if (body.minified !== undefined && !body.minified.startsWith('{')) {
    ok = false;
    hints.push('the body is JSON but not an object: a correct server answers 400 Bad Request');
  }
  return { ok, clock, hints };
}

function checkInput(input: unknown, fields: readonly string[], fn: string): void {
  if (typeof input !== 'object' || input === null) throw new TypeError(`${fn}: expected { ${fields.join(', ')} }`);
  const record = input as Record<string, unknown>;
  for (const field of fields) {
    if (field === 'body' || field === 'publicKey') continue;
    if (typeof record[field] !== 'string' || record[field] === '') throw new TypeError(`${fn}: ${field} must be a non-empty string`);
  }
  if (typeof record.body !== 'string' && !(record.body instanceof Uint8Array)) throw new TypeError(`${fn}: body must be the raw body (string or Uint8Array)`);
  if (record.receivedAt !== undefined && (typeof record.receivedAt !== 'number' || !Number.isFinite(record.receivedAt))) {
    throw new TypeError(`${fn}: receivedAt must be epoch milliseconds`);
  }
}

// ---------------------------------------------------------------------------------------
// The two entry points.

/**
 * Find how the sender computed the HMAC-SHA512 signature of a captured inquiry or payment
 * call: every dialect of {@link DIALECTS} that applies is recomputed and compared (in
 * constant time) with `X-SIGNATURE`. When none matches, `hints` says what looks wrong (the
 * signature's shape and length, values changed on the way, another secret, token or
 * timestamp). With `receivedAt`, the clock is checked too (`utc-as-jakarta`).
 *
 * @returns `{ form: 'symmetric', verifies, accepted, matches: [{ id, description, accepted, fix?, stringToSign }], expectedStringToSign, bodySha256Hex: { minified, asSent }, clock, hints }`.
 * The client secret is never part of it.
 * @throws {TypeError} for a missing part (method, path, accessToken, timestamp, signature, clientSecret, body).
 *
 * @example
 * ```ts
 * const report = identifyDialect({ method: 'POST', path: '/api/v1.0/cvs/inquiry', accessToken, timestamp, body, signature, clientSecret });
 * report.matches[0]?.id; // 'as-sent'
 * ```
 */
export function identifyDialect(input: CapturedTransaction): DialectReport {
  const fn = 'identifyDialect';
  checkInput(input, ['method', 'path', 'accessToken', 'timestamp', 'signature', 'clientSecret', 'body'], fn);
  const { method, path, accessToken, timestamp, signature, clientSecret, receivedAt } = input;
  const body = readBody(input.body);
  const mac = preparedSymmetricMac(clientSecret);
  const tryWith = (sig: string, macOf: (stringToSign: string) => Uint8Array = mac) => {
    const given = decodeSymmetricSignature(sig);
    return (stringToSign: string): boolean => given !== undefined && timingSafeEqual(macOf(stringToSign), given);
  };
  const candidates = symmetricCandidates(method, path, accessToken, timestamp, body);
  const matches = matchCandidates(candidates, tryWith(signature));
  const verifies = matches.some((m) => m.accepted);
  const checks = callChecks(timestamp, body, receivedAt);
  const hints = [...checks.hints];

  if (!verifies) {
    // No match at all: the signature's shape first. A refused dialect matched: only a near
    // variant that an accepted dialect verifies is worth a hint (e.g. the body file has a
    // final line break the sender did not send).
    const none = matches.length === 0;
    const shape = signatureShapeHint(signature);
    const length = decodedLength(signature);
    if (none && shape !== undefined) hints.push(shape);
    else if (none && length !== 64) {
      hints.push(
        RSA_SIZES.includes(length as number)
          ? `X-SIGNATURE is ${length} bytes, the size of an RSA-${(length as number) * 8} signature: this call uses the RSA form (SHA256withRSA over X-PARTNER-ID|X-TIMESTAMP, as the NICO pages describe); check it with NICEPAY's public key instead of the client secret (--public-key FILE --partner-id ID)`
          : `X-SIGNATURE is ${length} bytes, but an HMAC-SHA512 signature is 64 bytes (88 base64 characters): it is not the symmetric signature, or it was cut`,
      );
    }
    // Near variants: values damaged on the way, or a near miss of the sender.
    const found = (what: string, why: string, hit: DialectMatch | undefined): boolean => {
      if (hit === undefined || !(none || hit.accepted)) return false;
      hints.push(`it DOES verify ${what} (as ${hit.id}): ${why}`);
      return true;
    };
    const first = (sig: string, c: readonly Candidate[], macOf?: (s: string) => Uint8Array): DialectMatch | undefined => matchCandidates(c, tryWith(sig, macOf))[0];
    let explained = none && signatureVariants(signature).some(([what, sig]) => found(what, 'X-SIGNATURE was changed on the way', first(sig, candidates)));
    if (!explained && length === 64) {
      const other = method === method.toUpperCase() ? method.toLowerCase() : method.toUpperCase();
      const variants: [string, string, () => Candidate[]][] = [
        [
          'over "Bearer <token>"',
          'the sender signed the whole Authorization value; it must sign the access token alone',
          () => symmetricCandidates(method, path, `Bearer ${accessToken}`, timestamp, body),
        ],
        [`with the method ${JSON.stringify(other)}`, 'the sender must sign the method as it sends it', () => symmetricCandidates(other, path, accessToken, timestamp, body)],
        [
          'with "+" for the space in X-TIMESTAMP',
          'X-TIMESTAMP was changed on the way (URL decoding turns "+" into a space)',
          () => symmetricCandidates(method, path, accessToken, timestamp.replace(/ /g, '+'), body),
        ],
        [
          `with the path ${path.endsWith('/') ? 'without' : 'with'} a trailing "/"`,
          'the sender signed another path than the one requested',
          () => symmetricCandidates(method, path.endsWith('/') ? path.slice(0, -1) : `${path}/`, accessToken, timestamp, body),
        ],
        [
          'without the final line break of the body',
          'check the body file holds the bytes exactly as received (an editor may add a final line break)',
          () => (body.text !== undefined && /\r?\n$/.test(body.text) ? symmetricCandidates(method, path, accessToken, timestamp, readBody(body.text.replace(/\r?\n$/, ''))) : []),
        ],
      ];
      // (A variant that changes nothing cannot reach an accepted dialect that did not match.)
      explained = variants.some(([what, why, make]) => found(what, why, first(signature, make())));
      if (!explained && clientSecret !== clientSecret.trim() && clientSecret.trim() !== '') {
        explained = found(
          'with the client secret trimmed',
          "the client secret given here has leading or trailing whitespace that the sender's has not",
          first(signature, candidates, preparedSymmetricMac(clientSecret.trim())),
        );
      }
      if (!explained) {
        const key = base64Key(clientSecret);
        if (key !== undefined) {
          const macOf = (s: string): Uint8Array => hmac(sha512, key, utf8Encoder.encode(s));
          explained = found(
            'with the client secret base64-decoded as the HMAC key',
            "the key is the secret's literal UTF-8 bytes, even when it looks like base64: the sender must not decode it",
            first(signature, candidates, macOf),
          );
        }
      }
    }
    if (none && !explained && shape === undefined && length === 64) {
      hints.push(
        'X-SIGNATURE is a well-formed HMAC-SHA512 signature but no known dialect reproduces it: another client secret signed it, or another access token, X-TIMESTAMP, method, path or body than the ones given here',
      );
    }
  }

  const minifiedHash = body.minified === undefined ? undefined : sha256Hex(body.minified);
  const asSentHash = sha256Hex(body.bytes);
  return {
    form: 'symmetric',
    verifies,
    accepted: verifies && checks.ok,
    matches,
    expectedStringToSign: `${method}:${path}:${accessToken}:${minifiedHash ?? asSentHash}:${timestamp}`,
    bodySha256Hex: { minified: minifiedHash, asSent: asSentHash },
    clock: checks.clock,
    hints,
  };
}

/**
 * Find which RSA form (SHA256withRSA with NICEPAY's public key) a captured inquiry or
 * payment call was signed in: `X-PARTNER-ID|X-TIMESTAMP` (the NICO pages), SNAP's
 * asymmetric body form `METHOD:path:sha256hex(minify(body)):X-TIMESTAMP`, or that form
 * with the body hashed as sent (refused).
 *
 * @returns the same shape as {@link identifyDialect}, with `form: 'rsa'`.
 * @throws {TypeError} for a missing part.
 */
export function identifyRsaForm(input: CapturedRsaTransaction): DialectReport {
  const fn = 'identifyRsaForm';
  checkInput(input, ['method', 'path', 'partnerId', 'timestamp', 'signature', 'body'], fn);
  const { method, path, partnerId, timestamp, signature, publicKey, receivedAt } = input;
  const body = readBody(input.body);
  const minifiedHash = body.minified === undefined ? undefined : sha256Hex(body.minified);
  const asSentHash = sha256Hex(body.bytes);
  const candidates = (ts: string): Candidate[] => [
    { id: 'rsa-partner-timestamp', stringToSign: buildStringToSign(partnerId, ts) },
    ...(minifiedHash === undefined ? [] : [{ id: 'rsa-body' as const, stringToSign: `${method}:${path}:${minifiedHash}:${ts}` }]),
    { id: 'rsa-body-as-sent', stringToSign: `${method}:${path}:${asSentHash}:${ts}` },
  ];
  const tryWith = (sig: string) => (stringToSign: string) => verifySignature(publicKey, stringToSign, sig);
  const matches = matchCandidates(candidates(timestamp), tryWith(signature));
  const verifies = matches.some((m) => m.accepted);
  const checks = callChecks(timestamp, body, receivedAt);
  const hints = [...checks.hints];
  if (matches.length === 0) {
    const shape = signatureShapeHint(signature);
    const length = decodedLength(signature);
    if (shape !== undefined) hints.push(shape);
    else if (length === 64) {
      hints.push('X-SIGNATURE is 64 bytes, an HMAC-SHA512 signature: this call uses the symmetric form; check it with the client secret instead of the public key');
    } else if (length !== publicKey.byteLength) {
      hints.push(
        `X-SIGNATURE is ${length} bytes but every signature of this ${publicKey.bits}-bit key is ${publicKey.byteLength} bytes: it was made with another key` +
          (RSA_SIZES.includes(length as number) ? ` (a ${(length as number) * 8}-bit one)` : ''),
      );
    }
    const variants: [string, string, string][] = [
      ...signatureVariants(signature).map(([what, sig]): [string, string, string] => [what, sig, timestamp]),
      ['with "+" for the space in X-TIMESTAMP (it went through URL decoding)', signature, timestamp.replace(/ /g, '+')],
    ];
    let explained = false;
    for (const [what, sig, ts] of variants) {
      if (sig === signature && ts === timestamp) continue;
      const hit = matchCandidates(candidates(ts), tryWith(sig))[0];
      if (hit !== undefined) {
        hints.push(`it DOES verify ${what} (form ${hit.id}): the value was changed on the way`);
        explained = true;
        break;
      }
    }
    if (!explained && length === publicKey.byteLength) {
      hints.push(
        'the signature is well-formed for this key but matches no RSA form: another private key signed it, or another X-PARTNER-ID, X-TIMESTAMP, method, path or body than the ones given here',
      );
    }
  }
  return {
    form: 'rsa',
    verifies,
    accepted: verifies && checks.ok,
    matches,
    expectedStringToSign: buildStringToSign(partnerId, timestamp),
    bodySha256Hex: { minified: minifiedHash, asSent: asSentHash },
    clock: checks.clock,
    hints,
  };
}
