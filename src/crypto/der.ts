/**
 * A strict DER reader for the few ASN.1 structures of RSA keys: definite lengths in their
 * shortest form, minimal INTEGER encodings, and no bytes left over at any level.
 * @module
 */

/** ASN.1 universal tags used here. */
export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

/** One DER element: its tag and the bytes of its content. */
export interface DerElement {
  readonly tag: number;
  readonly content: Uint8Array;
}

/** Thrown for bytes that are not strict DER; caught by the key importers. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

/** Read every element of `bytes` (which must hold whole elements only). */
export function readElements(bytes: Uint8Array): DerElement[] {
  const out: DerElement[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const { element, next } = readElement(bytes, pos);
    out.push(element);
    pos = next;
  }
  return out;
}

/** Read exactly one element spanning all of `bytes`. */
export function readSingle(bytes: Uint8Array): DerElement {
  const { element, next } = readElement(bytes, 0);
  if (next !== bytes.length) {
    throw new DerError(`${bytes.length - next} unexpected byte(s) after the DER structure`);
  }
  return element;
}

function readElement(bytes: Uint8Array, start: number): { element: DerElement; next: number } {
  if (start + 2 > bytes.length) throw new DerError('DER element is truncated');
  const tag = bytes[start] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not used by RSA keys');
  const first = bytes[start + 1] as number;
  let pos = start + 2;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError('indefinite length is not DER');
    if (count > 3) throw new DerError('DER length too large for a key');
    if (pos + count > bytes.length) throw new DerError('DER length is truncated');
    if (bytes[pos] === 0) throw new DerError('DER length has a leading zero byte (not the shortest form)');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[pos + i] as number);
    if (length < 0x80) throw new DerError('DER length uses the long form for a short length');
    pos += count;
  }
  if (pos + length > bytes.length) throw new DerError('DER element is longer than the data');
  return { element: { tag, content: bytes.subarray(pos, pos + length) }, next: pos + length };
}

/** Expect a tag; throws with the structure's name otherwise. */
export function expectTag(element: DerElement | undefined, tag: number, what: string): DerElement {
  if (!element) throw new DerError(`${what} is missing`);
  if (element.tag !== tag) {
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`);
  }
  return element;
}

/** The children of a SEQUENCE. */
export function sequence(element: DerElement | undefined, what: string): DerElement[] {
  return readElements(expectTag(element, TAG.SEQUENCE, what).content);
}

/** A non-negative INTEGER's magnitude bytes (minimal encoding enforced, sign byte removed). */
export function unsignedInteger(element: DerElement | undefined, what: string): Uint8Array {
  const { content } = expectTag(element, TAG.INTEGER, what);
  if (content.length === 0) throw new DerError(`${what}: empty INTEGER`);
  const b0 = content[0] as number;
  if (b0 & 0x80) throw new DerError(`${what}: negative INTEGER`);
  if (content.length > 1 && b0 === 0 && ((content[1] as number) & 0x80) === 0) {
    throw new DerError(`${what}: INTEGER has a superfluous leading zero byte (not DER)`);
  }
  return b0 === 0 ? content.subarray(1) : content;
}

/** A small non-negative INTEGER (a version field). */
export function smallInteger(element: DerElement | undefined, what: string): number {
  const magnitude = unsignedInteger(element, what);
  if (magnitude.length > 4) throw new DerError(`${what}: INTEGER too large`);
  let value = 0;
  for (const byte of magnitude) value = value * 256 + byte;
  return value;
}

/** Dotted text of an OBJECT IDENTIFIER, e.g. `1.2.840.113549.1.1.1`. */
export function objectIdentifier(element: DerElement | undefined, what: string): string {
  const { content } = expectTag(element, TAG.OID, what);
  if (content.length === 0 || content.length > 64) throw new DerError(`${what}: bad OBJECT IDENTIFIER length`);
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i] as number;
    if (value === 0 && byte === 0x80) throw new DerError(`${what}: OBJECT IDENTIFIER arc not minimal`);
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError(`${what}: OBJECT IDENTIFIER arc too large`);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === content.length - 1) {
      throw new DerError(`${what}: OBJECT IDENTIFIER is truncated`);
    }
  }
  const head = arcs[0] as number;
  const [a, b] = head < 40 ? [0, head] : head < 80 ? [1, head - 40] : [2, head - 80];
  return [a, b, ...arcs.slice(1)].join('.');
}

/** The content of a BIT STRING with no unused bits. */
export function bitStringBytes(element: DerElement | undefined, what: string): Uint8Array {
  const { content } = expectTag(element, TAG.BIT_STRING, what);
  if (content.length === 0 || content[0] !== 0) throw new DerError(`${what}: BIT STRING must have 0 unused bits`);
  return content.subarray(1);
}
