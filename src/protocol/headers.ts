/**
 * Reading request headers: case-insensitive names, from a plain object (string or string[]
 * values, as Node gives them) or a Fetch `Headers`.
 * @module
 */
import { SnapError } from '../errors.js';

/**
 * Request headers: a Fetch `Headers` (or anything with `get(name)`), or a plain object.
 * @category Protocol
 */
export type HeadersInput =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** A header reader that answers each name once, refusing duplicates. */
export interface HeaderReader {
  /** The header's value, or `undefined` when absent or empty. Throws `INVALID_FIELD_FORMAT` when given twice. */
  get(name: string): string | undefined;
}

const isFetchHeaders = (headers: HeadersInput): headers is { get(name: string): string | null } =>
  typeof (headers as { get?: unknown }).get === 'function';

/**
 * Wrap request headers for strict reading. A header given twice (an array with two values,
 * two spellings of one name in a plain object, or two values joined with ", " as Node and
 * Fetch join them) is `400 Invalid Field Format {name}`: none of the SNAP headers read here
 * can contain a comma.
 */
export function readHeaders(headers: HeadersInput, fn: string): HeaderReader {
  if (typeof headers !== 'object' || headers === null) {
    throw new TypeError(`${fn}: request.headers must be a Fetch Headers or a plain object, got ${headers === null ? 'null' : typeof headers}`);
  }
  if (isFetchHeaders(headers)) {
    return { get: (name) => single(headers.get(name) ?? undefined, name) };
  }
  const lower = new Map<string, string | readonly string[] | undefined>();
  const twice = new Set<string>();
  for (const key of Object.keys(headers)) {
    const name = key.toLowerCase();
    if (lower.has(name)) twice.add(name);
    lower.set(name, headers[key]);
  }
  return {
    get(name) {
      const key = name.toLowerCase();
      if (twice.has(key)) throw givenTwice(name);
      const value = lower.get(key);
      if (value === undefined || value === null) return undefined;
      if (Array.isArray(value)) {
        if (value.length > 1) throw givenTwice(name);
        return single(value[0], name);
      }
      if (typeof value !== 'string') {
        throw new TypeError(`${fn}: header ${name} must be a string or string[], got ${typeof value}`);
      }
      return single(value, name);
    },
  };
}

function single(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new TypeError(`header ${name} must be a string`);
  if (value.includes(',')) throw givenTwice(name);
  return value;
}

const givenTwice = (name: string): SnapError =>
  new SnapError('INVALID_FIELD_FORMAT', { field: name, detail: `${name} header is given more than once (or contains a comma)` });

/** The header's value; `400 Invalid Mandatory Field {name}` when absent or empty. */
export function requireHeader(reader: HeaderReader, name: string): string {
  const value = reader.get(name);
  if (value === undefined) {
    throw new SnapError('MISSING_MANDATORY_FIELD', { field: name, detail: `${name} header is missing or empty` });
  }
  return value;
}

/**
 * Check `Content-Type` is `application/json` (any case, optional `charset=utf-8`).
 * Missing: `400 / 4007302 Invalid Mandatory Field {Content-Type}`; anything else:
 * `400 / 4007301 Invalid Field Format {Content-Type}`.
 */
export function requireJsonContentType(reader: HeaderReader): void {
  const value = requireHeader(reader, 'Content-Type');
  const [type = '', ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  const charsetOk = params.every((param) => {
    if (param === '') return true;
    const [key, raw = ''] = param.split('=').map((s) => s.trim());
    if (key !== 'charset') return true;
    return raw.replace(/^"(.*)"$/, '$1') === 'utf-8';
  });
  if (type !== 'application/json' || !charsetOk) {
    throw new SnapError('INVALID_FIELD_FORMAT', {
      field: 'Content-Type',
      detail: 'Content-Type must be application/json (charset, when given, utf-8)',
    });
  }
}
