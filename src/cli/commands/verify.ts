/**
 * `nicepay-nico verify`: does a captured access-token request's signature verify, and if
 * not, exactly what was checked. With `--transaction`, the same for an inquiry or payment
 * call, naming the dialect the sender signed in (see ../dialects.ts).
 * @module
 */
import { decodeBase64Strict } from '../../crypto/base64.js';
import type { RsaPublicKey } from '../../crypto/keys.js';
import { verifySignature } from '../../crypto/rsa.js';
import { parseTimestamp } from '../../protocol/timestamp.js';
import { identifyDialect, identifyRsaForm, type DialectMatch, type DialectReport } from '../dialects.js';
import { keyFingerprint } from '../fingerprint.js';
import { CLIENT_SECRET, COMMON_OPTIONS, loadPublicKey, parse, parseClientKey, readFileFor, required, requireSecret, secretOptions, UsageError } from '../args.js';
import type { Io } from '../main.js';
import { paintFor, jsonText } from '../output.js';

export const VERIFY_HELP = `Usage:
  nicepay-nico verify --public-key FILE --client-key ID --timestamp T --signature S [--sandbox] [--json]
  nicepay-nico verify --transaction --path PATH --token TOKEN --timestamp T --signature S
                      [--method POST] [--body-file FILE] [--received-at T] [--json]
                      (client secret: --client-secret-file FILE, NICEPAY_CLIENT_SECRET=..., or --client-secret S)
  nicepay-nico verify --transaction --public-key FILE --partner-id ID --path PATH --timestamp T --signature S
                      [--method POST] [--body-file FILE] [--received-at T] [--sandbox] [--json]

Access-token request (default): check the X-SIGNATURE of a captured access-token request,
SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256) over "X-CLIENT-KEY|X-TIMESTAMP", with NICEPAY's
public key. When it does not verify, prints exactly what was checked (the stringToSign in
JSON quoting, so stray spaces and invisible characters show; the key's size and SHA-256
fingerprint) and what looks wrong.

  --public-key FILE    NICEPAY's public key (SPKI or PKCS#1, PEM, base64 or DER; a certificate)
  --client-key ID      X-CLIENT-KEY as received
  --timestamp T        X-TIMESTAMP as received
  --signature S        X-SIGNATURE as received (base64)
  --sandbox            accept a 1024-bit key (NICEPAY's sandbox key)

Inquiry or payment call (--transaction): find how the sender computed X-SIGNATURE. With
the client secret, HMAC-SHA512 over "METHOD:path:accessToken:lowercase(hex(SHA-256(
minify(body)))):X-TIMESTAMP" is recomputed in every dialect seen in the field and the
matching one is named: minified (SNAP) and as-sent (NICEPAY's SDKs) are accepted by a
correct NICO server; json-stringify, python-json-dumps, php-escapes, whitespace-stripped,
upper-hex, empty-hash-component, query-dropped and nicepay-prefix are refused. With
--public-key, SHA256withRSA over "X-PARTNER-ID|X-TIMESTAMP" (the NICO pages) or over
"METHOD:path:sha256hex(minify(body)):X-TIMESTAMP" (SNAP's asymmetric body form).
  --path PATH          the path as received, query included, e.g. /api/v1.0/cvs/inquiry
  --token TOKEN        the access token (or --authorization "Bearer TOKEN")
  --timestamp T        X-TIMESTAMP as received
  --signature S        X-SIGNATURE as received (base64)
  --method M           HTTP method as received (default POST)
  --body-file FILE     the body exactly as received (default: empty)
  --client-secret-file FILE
                       the client secret (- reads stdin; one final line break is dropped);
                       or the environment variable NICEPAY_CLIENT_SECRET, or
                       --client-secret S (visible in ps and shell history). Never printed.
  --public-key FILE    instead of the client secret: NICEPAY's public key (RSA form)
  --partner-id ID      X-PARTNER-ID as received (RSA form; --client-key is taken as well;
                       the symmetric signature does not cover it)
  --sandbox            accept a 1024-bit key (RSA form)
  --received-at T      when the call was received (SNAP timestamp): checks X-TIMESTAMP is
                       within 300 s, and spots a UTC clock stamped +07:00 (7 hours off)

Both:
  --json               print the result as JSON
  -h, --help           this help

Exit codes: 0 verifies (with --transaction: a correct NICO server accepts the call's
signature, X-TIMESTAMP and body), 1 does not, 2 bad arguments or key.
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'public-key': { type: 'string' },
  'client-key': { type: 'string' },
  timestamp: { type: 'string' },
  signature: { type: 'string' },
  sandbox: { type: 'boolean' },
  json: { type: 'boolean' },
  transaction: { type: 'boolean' },
  method: { type: 'string' },
  path: { type: 'string' },
  token: { type: 'string' },
  authorization: { type: 'string' },
  'body-file': { type: 'string' },
  'partner-id': { type: 'string' },
  'received-at': { type: 'string' },
  ...secretOptions('client-secret'),
} as const;

/** The options of --transaction only. */
const TRANSACTION_ONLY = ['method', 'path', 'token', 'authorization', 'body-file', 'partner-id', 'received-at', 'client-secret', 'client-secret-file'] as const;

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

/**
 * `nicepay-nico verify`: the access-token request's signature, or with `--transaction` an
 * inquiry or payment call's. Returns the exit code: 0 verifies, 1 does not.
 * @throws {UsageError} for bad arguments or an unreadable key or file (exit 2).
 */
export function verify(argv: readonly string[], io: Io): number {
  const { values } = parse(argv, OPTIONS, 0);
  if (values.help) {
    io.out(VERIFY_HELP);
    return 0;
  }
  if (values.transaction) return verifyTransaction(values, io);
  const misplaced = TRANSACTION_ONLY.find((name) => values[name] !== undefined);
  if (misplaced !== undefined) throw new UsageError(`--${misplaced} is for --transaction (an inquiry or payment call); add --transaction`);
  const clientKey = parseClientKey(values['client-key']);
  const timestamp = required(values.timestamp, '--timestamp');
  const signature = required(values.signature, '--signature');
  const key = loadPublicKey(required(values['public-key'], '--public-key'), '--public-key', values.sandbox === true);
  const stringToSign = `${clientKey}|${timestamp}`;
  const verifies = verifySignature(key, stringToSign, signature);
  const fingerprint = keyFingerprint(key);
  const hints = verifies ? [] : diagnose(key, clientKey, timestamp, signature);
  if (values.json) {
    io.out(`${jsonText({ verifies, algorithm: 'SHA256withRSA', stringToSign, key: { bits: key.bits, sha256Fingerprint: fingerprint }, signature, hints })}\n`);
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

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

/** `verify --transaction`: an inquiry or payment call. */
function verifyTransaction(values: Values, io: Io): number {
  if (values['client-key'] !== undefined && values['partner-id'] !== undefined) throw new UsageError('give --partner-id or --client-key, not both');
  const rsa = values['public-key'] !== undefined;
  if (rsa && (values['client-secret'] !== undefined || values['client-secret-file'] !== undefined)) {
    throw new UsageError('give the client secret (HMAC-SHA512) or --public-key (SHA256withRSA), not both');
  }
  if (!rsa && values.sandbox) throw new UsageError('--sandbox is for --public-key (the RSA form)');
  const path = required(values.path, '--path');
  if (!path.startsWith('/')) {
    throw new UsageError(`--path must be the relative path as received, starting with "/" (e.g. /api/v1.0/cvs/inquiry), got ${JSON.stringify(path)}`);
  }
  const method = values.method ?? 'POST';
  if (!/^[A-Za-z]+$/.test(method)) throw new UsageError(`--method must be an HTTP method such as POST, got ${JSON.stringify(method)}`);
  const timestamp = required(values.timestamp, '--timestamp');
  const signature = required(values.signature, '--signature');
  const bodyFile = values['body-file'];
  const body = bodyFile === undefined ? new Uint8Array(0) : readFileFor(bodyFile, '--body-file');
  let receivedAt: number | undefined;
  if (values['received-at'] !== undefined) {
    try {
      receivedAt = parseTimestamp(values['received-at']).epochMs;
    } catch {
      throw new UsageError(`--received-at must be a SNAP timestamp such as 2024-01-22T15:00:01+07:00, got ${JSON.stringify(values['received-at'])}`);
    }
  }
  const when = receivedAt === undefined ? {} : { receivedAt };
  let report: DialectReport;
  let key: RsaPublicKey | undefined;
  if (rsa) {
    const partnerId = parseClientKey(values['partner-id'] ?? values['client-key'], values['client-key'] === undefined ? '--partner-id' : '--client-key');
    key = loadPublicKey(values['public-key'] as string, '--public-key', values.sandbox === true);
    report = identifyRsaForm({ method, path, partnerId, timestamp, body, signature, publicKey: key, ...when });
  } else {
    const accessToken = tokenOf(values);
    const clientSecret = requireSecret(values, CLIENT_SECRET);
    report = identifyDialect({ method, path, accessToken, timestamp, body, signature, clientSecret, ...when });
  }
  const fingerprint = key === undefined ? undefined : keyFingerprint(key);
  const exit = report.accepted ? 0 : 1;
  const first = report.matches[0];
  if (values.json) {
    const json = {
      accepted: report.accepted,
      verifies: report.verifies,
      form: report.form,
      algorithm: report.form === 'rsa' ? 'SHA256withRSA' : 'HMAC-SHA512',
      dialect: first?.id ?? null,
      matches: report.matches,
      expectedStringToSign: report.expectedStringToSign,
      bodySha256Hex: report.bodySha256Hex,
      clock: report.clock ?? null,
      ...(key === undefined ? {} : { key: { bits: key.bits, sha256Fingerprint: fingerprint } }),
      signature,
      hints: report.hints,
    };
    io.out(`${jsonText(json)}\n`);
    return exit;
  }
  const paint = paintFor(io.stdout);
  const verdict = report.accepted
    ? paint.green('signature verifies: a correct NICO server accepts the call')
    : report.verifies
      ? paint.red('signature verifies, but a correct NICO server refuses the call')
      : first !== undefined
        ? paint.red('signature does NOT verify as a correct NICO server checks it (401 Unauthorized)')
        : paint.red(`signature does NOT verify: no known ${report.form === 'rsa' ? 'RSA form' : 'dialect'} reproduces it`);
  const lines = [verdict];
  report.matches.forEach((match, i) => lines.push(`  ${(i === 0 ? 'dialect' : 'also').padEnd(14)}${dialectLine(match)}`));
  lines.push(
    report.form === 'rsa'
      ? '  checked       SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256) of the stringToSign, with the public key'
      : `  checked       HMAC-SHA512 of the stringToSign, keyed with the client secret's UTF-8 bytes (not printed)`,
  );
  if (first !== undefined) lines.push(`  stringToSign  ${quoted(first.stringToSign, first.accepted ? undefined : 'signed by the sender')}`);
  if (first === undefined || !first.accepted) {
    const what = report.form === 'rsa' ? 'X-PARTNER-ID|X-TIMESTAMP' : report.bodySha256Hex.minified === undefined ? 'the body as sent' : 'the body minified, or as sent';
    lines.push(`  ${first === undefined ? 'stringToSign' : 'expected    '}  ${quoted(report.expectedStringToSign, `what a correct NICO server checks: ${what}`)}`);
  }
  const { minified, asSent } = report.bodySha256Hex;
  lines.push(
    minified === asSent
      ? `  body SHA-256  ${asSent}  (minified = as sent, ${body.length} bytes)`
      : `  body SHA-256  ${minified === undefined ? '(not JSON)' : minified} minified; ${asSent} as sent (${body.length} bytes)`,
  );
  if (key !== undefined) lines.push(`  public key    RSA ${key.bits} bits, SHA-256 fingerprint (SPKI DER) ${fingerprint}`);
  if (report.clock !== undefined) {
    const { offsetSeconds } = report.clock;
    lines.push(`  clock         X-TIMESTAMP is ${Math.abs(offsetSeconds)} s ${offsetSeconds < 0 ? 'behind' : 'ahead of'} --received-at${report.clock.fresh ? ' (within 300 s)' : ' (allowed 300 s)'}`);
  }
  if (!report.verifies) lines.push(`  X-SIGNATURE   ${JSON.stringify(signature)}  (${signature.length} characters)`);
  for (const hint of report.hints) lines.push(`  ${paint.yellow('hint')}          ${hint}`);
  io.out(`${lines.join('\n')}\n`);
  return exit;
}

/** The access token: --token, or --authorization "Bearer TOKEN". */
function tokenOf(values: Values): string {
  if (values.token !== undefined && values.authorization !== undefined) throw new UsageError('give --token or --authorization, not both');
  if (values.authorization !== undefined) {
    const bearer = /^Bearer +(\S+)$/i.exec(values.authorization);
    if (!bearer) throw new UsageError('--authorization must be "Bearer TOKEN", as the Authorization header was received');
    return bearer[1] as string;
  }
  return required(values.token, '--token (or --authorization "Bearer TOKEN")');
}

/** A dialect in one line: what the sender did, and the verdict. */
function dialectLine(match: DialectMatch): string {
  return match.accepted
    ? `${match.id}: ${match.description}; a correct NICO server accepts it`
    : `${match.id}: ${match.description}: a correct NICO server refuses it; ${match.fix ?? 'the sender must sign as SNAP says'}`;
}

/** JSON quoting, with its length (and a note): stray spaces and invisible characters show. */
const quoted = (text: string, note?: string): string => `${JSON.stringify(text)}  (${text.length} characters${note === undefined ? '' : `; ${note}`})`;
