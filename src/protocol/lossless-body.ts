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

/** The deepest nesting of `[` and `{` outside strings; a linear scan, no parse. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
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
    }
  }
  return max;
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
  const depth = nestingDepth(text);
  if (depth > MAX_DEPTH) {
    throw new SnapError('BAD_REQUEST', { ...sc, detail: `request body is nested ${depth} levels deep; at most ${MAX_DEPTH} are accepted` });
  }
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

