/**
 * `nicepay-nico verify`: does a captured access-token request's signature verify, and if
 * not, exactly what was checked.
 * @module
 */
import { decodeBase64Strict } from '../../crypto/base64.js';
import type { RsaPublicKey } from '../../crypto/keys.js';
import { verifySignature } from '../../crypto/rsa.js';
import { parseTimestamp } from '../../protocol/timestamp.js';
import { keyFingerprint } from '../fingerprint.js';
import { COMMON_OPTIONS, loadPublicKey, parse, parseClientKey, required } from '../args.js';
import type { Io } from '../main.js';
import { paintFor } from '../output.js';

export const VERIFY_HELP = `Usage:
  nicepay-nico verify --public-key FILE --client-key ID --timestamp T --signature S [--sandbox] [--json]

Check the X-SIGNATURE of a captured access-token request: SHA256withRSA (RSASSA-PKCS1-v1_5,
SHA-256) over "X-CLIENT-KEY|X-TIMESTAMP", with NICEPAY's public key. When it does not
verify, prints exactly what was checked (the stringToSign in JSON quoting, so stray spaces
and invisible characters show; the key's size and SHA-256 fingerprint) and what looks wrong.

  --public-key FILE    NICEPAY's public key (SPKI or PKCS#1, PEM, base64 or DER; a certificate)
  --client-key ID      X-CLIENT-KEY as received
  --timestamp T        X-TIMESTAMP as received
  --signature S        X-SIGNATURE as received (base64)
  --sandbox            accept a 1024-bit key (NICEPAY's sandbox key)
  --json               print the result as JSON
  -h, --help           this help

Exit codes: 0 verifies, 1 does not verify, 2 bad arguments or key.
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'public-key': { type: 'string' },
  'client-key': { type: 'string' },
  timestamp: { type: 'string' },
  signature: { type: 'string' },
  sandbox: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** Why a signature might not verify, from its shape and from near variants of the inputs. */
function diagnose(key: RsaPublicKey, clientKey: string, timestamp: string, signature: string): string[] {
  const hints: string[] = [];
  let decoded: Uint8Array | undefined;
  try {
    decoded = decodeBase64Strict(signature);
  } catch {
    if (/\s/.test(signature)) hints.push('X-SIGNATURE contains whitespace or a line break; it must be one line of base64');
    else if (/[-_]/.test(signature)) hints.push('X-SIGNATURE contains "-" or "_": base64url, but SNAP uses standard base64 (+ and /, with = padding)');
    else hints.push('X-SIGNATURE is not standard base64 (A-Z a-z 0-9 + /, = padding, length a multiple of 4)');
  }
  if (decoded !== undefined && decoded.length !== key.byteLength) {
    hints.push(
      `X-SIGNATURE is ${decoded.length} bytes but every signature of this ${key.bits}-bit key is ${key.byteLength} bytes: it was made with another key` +
        (decoded.length === 128 || decoded.length === 256 || decoded.length === 384 || decoded.length === 512 ? ` (a ${decoded.length * 8}-bit one)` : ''),
    );
  }
  try {
    parseTimestamp(timestamp);
  } catch {
    hints.push('X-TIMESTAMP is not strict SNAP format (yyyy-MM-ddTHH:mm:ss+07:00); NICEPAY signs exactly the text it sends, so check the value was copied whole');
  }
  if (clientKey !== clientKey.trim() || timestamp !== timestamp.trim()) hints.push('X-CLIENT-KEY or X-TIMESTAMP has leading or trailing whitespace');
  // Near variants: values damaged in transit or when pasted.
  const variants: [string, string, string][] = [
    ['with "+" for the spaces in X-SIGNATURE (it went through URL decoding)', `${clientKey}|${timestamp}`, signature.replace(/ /g, '+')],
    ['with the whitespace removed from X-SIGNATURE', `${clientKey}|${timestamp}`, signature.replace(/\s+/g, '')],
    ['with X-SIGNATURE converted from base64url to base64', `${clientKey}|${timestamp}`, toBase64(signature)],
    ['with "+" for the space in X-TIMESTAMP (it went through URL decoding)', `${clientKey}|${timestamp.replace(/ /g, '+')}`, signature],
    ['with X-CLIENT-KEY and X-TIMESTAMP trimmed', `${clientKey.trim()}|${timestamp.trim()}`, signature],
    ['over "X-TIMESTAMP|X-CLIENT-KEY" (the order swapped)', `${timestamp}|${clientKey}`, signature],
  ];
  for (const [what, text, sig] of variants) {
    if ((text !== `${clientKey}|${timestamp}` || sig !== signature) && verifySignature(key, text, sig)) {
      hints.push(`it DOES verify ${what}: the value was changed on the way`);
      break;
    }
  }
  if (hints.length === 0) {
    hints.push('the signature is well-formed for this key but does not match: another private key signed it, or another X-CLIENT-KEY/X-TIMESTAMP was signed than the one given here');
  }
  return hints;
}

function toBase64(text: string): string {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return standard + '='.repeat((4 - (standard.length % 4)) % 4);
}

export function verify(argv: readonly string[], io: Io): number {
  const { values } = parse(argv, OPTIONS, 0);
  if (values.help) {
    io.out(VERIFY_HELP);
    return 0;
  }
  const clientKey = parseClientKey(values['client-key']);
  const timestamp = required(values.timestamp, '--timestamp');
  const signature = required(values.signature, '--signature');
  const key = loadPublicKey(required(values['public-key'], '--public-key'), '--public-key', values.sandbox === true);
  const stringToSign = `${clientKey}|${timestamp}`;
  const verifies = verifySignature(key, stringToSign, signature);
  const fingerprint = keyFingerprint(key);
  const hints = verifies ? [] : diagnose(key, clientKey, timestamp, signature);
  if (values.json) {
    io.out(`${JSON.stringify({ verifies, algorithm: 'SHA256withRSA', stringToSign, key: { bits: key.bits, sha256Fingerprint: fingerprint }, signature, hints }, null, 2)}\n`);
    return verifies ? 0 : 1;
  }
  const paint = paintFor(io.stdout);
  const utf8Bytes = new TextEncoder().encode(stringToSign).length;
  const lines = [
    verifies ? paint.green('signature verifies') : paint.red('signature does NOT verify'),
    `  checked       SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256) of the stringToSign, with the public key`,
    `  stringToSign  ${JSON.stringify(stringToSign)}  (${stringToSign.length} characters, ${utf8Bytes} bytes UTF-8)`,
    `  public key    RSA ${key.bits} bits, SHA-256 fingerprint (SPKI DER) ${fingerprint}`,
  ];
  if (!verifies) {
    lines.push(`  X-SIGNATURE   ${JSON.stringify(signature)}  (${signature.length} characters)`);
    for (const hint of hints) lines.push(`  ${paint.yellow('hint')}          ${hint}`);
  }
  io.out(`${lines.join('\n')}\n`);
  return verifies ? 0 : 1;
}
