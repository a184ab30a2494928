/**
 * The inquiry and payment bodies, parsed losslessly with `lossless-json`: a merchant sees
 * the digits NICEPAY sent. Kept apart from `body.ts` so the access-token core does not
 * carry the parser.
 * @module
 */
import { isSafeNumber, parse as parseLossless } from 'lossless-json';
import { SnapError } from '../errors.js';
import { checkJsonObject } from './body.js';

/** Deepest nesting of objects and arrays accepted in a body (NICEPAY's bodies nest a few levels). */
const MAX_DEPTH = 64;

/** What one linear scan (no parse) tells of a JSON text, outside its strings. */
interface Shape {
  /** The deepest nesting of `[` and `{`. */
  readonly depth: number;
  /** How many `:` (one per key, in valid JSON). */
  readonly keys: number;
  /** Whether any number is written (a `-` or a digit). */
  readonly numbers: boolean;
}

function shapeOf(text: string): Shape {
  let depth = 0;
  let max = 0;
  let keys = 0;
  let numbers = false;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // an escape: skip the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x3a) {
      keys++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      numbers = true;
    }
  }
  return { depth: max, keys, numbers };
}

/** The own keys of every object in a parsed JSON value. */
function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += countKeys(item);
    return n;
  }
  for (const key in value) n += 1 + countKeys((value as Record<string, unknown>)[key]);
  return n;
}

/**
 * `JSON.parse(text)` when it gives exactly what the lossless parse gives, else `undefined`:
 * a text without numbers (NICEPAY sends amounts as strings), whose every key became its own
 * property (no key given twice). `JSON.parse` is native and several times faster than the
 * lossless parser; `test/lossless-body.test.ts` checks both give the same on generated
 * documents.
 */
function parseFast(text: string, shape: Shape): unknown {
  if (shape.numbers) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // the lossless parser says why
  }
  return countKeys(value) === shape.keys ? value : undefined;
}

/** A JSON number as a JavaScript number when that keeps its value exactly, else its exact text. */
const parseNumber = (text: string): number | string => (isSafeNumber(text) ? Number(text) : text);

/**
 * Parse body text as one JSON object, losslessly (`lossless-json`): a number that a
 * JavaScript number cannot hold exactly (`12345678901234567890`, `1e400`) stays a string of
 * its exact digits; a key given twice with different values is refused. `BAD_REQUEST`
 * otherwise. @internal
 */
export function parseJsonObjectLossless(text: string, serviceCode?: string): Record<string, unknown> {
  const sc = serviceCode === undefined ? {} : { serviceCode };
  const shape = shapeOf(text);
  if (shape.depth > MAX_DEPTH) {
    throw new SnapError('BAD_REQUEST', { ...sc, detail: `request body is nested ${shape.depth} levels deep; at most ${MAX_DEPTH} are accepted` });
  }
  const fast = parseFast(text, shape);
  if (fast !== undefined) return checkJsonObject(fast, sc);
  let value: unknown;
  try {
    value = parseLossless(text, undefined, parseNumber);
  } catch (cause) {
    const detail =
      text.trim() === ''
        ? 'request body is empty'
        : /^Duplicate key/.test(cause instanceof Error ? cause.message : '')
          ? `request body gives a key twice with different values (${(cause as Error).message.slice(0, 80)})`
          : 'request body is not valid JSON';
    throw new SnapError('BAD_REQUEST', { ...sc, detail, cause });
  }
  return checkJsonObject(value, sc);
}

