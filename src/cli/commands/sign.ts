/**
 * `nicepay-nico sign`: the headers NICEPAY would send, and a curl command.
 * @module
 */
import { bodySha256Hex, buildSymmetricStringToSign, signSymmetric, type BodyHashMode } from '../../protocol/symmetric.js';
import { formatTimestamp, parseTimestamp } from '../../protocol/timestamp.js';
import { ACCESS_TOKEN_PATH, CLIENT_SECRET, COMMON_OPTIONS, loadPrivateKey, oneLine, parse, parseClientKey, parseUrl, readFileFor, required, requireSecret, secretOptions, UsageError } from '../args.js';
import { newExternalId } from '../nico.js';
import { curlCommand, jsonText } from '../output.js';
import { ACCESS_TOKEN_BODY, signedRequest } from '../probe.js';
import type { Io } from '../main.js';

export const SIGN_HELP = `Usage:
  nicepay-nico sign --private-key FILE --client-key ID [--timestamp T] [--url URL] [--sandbox] [--json]
  nicepay-nico sign --transaction --partner-id ID --client-secret-file FILE --token TOKEN
                    --path PATH [--body-file FILE] [--external-id ID] [--channel-id ID]
                    [--method POST] [--body-hash minified|as-sent] [--timestamp T] [--url URL] [--json]

Sign a request the way NICEPAY does, and print the stringToSign, the headers and a ready
curl command.

Access-token request (default): SHA256withRSA over "X-CLIENT-KEY|X-TIMESTAMP".
  --private-key FILE   the RSA private key (PKCS#8 or PKCS#1; PEM, base64 or DER)
  --client-key ID      X-CLIENT-KEY
  --sandbox            accept a 1024-bit key (NICEPAY's sandbox key)
  --url URL            the URL in the curl command
                       (default http://127.0.0.1:3000/api/v1.0/access-token/b2b)

Transaction request (--transaction; inquiry, payment): HMAC-SHA512 with the client secret
over "METHOD:path:accessToken:lowercase(hex(SHA-256(minify(body)))):X-TIMESTAMP", with every
header NICEPAY sends (Authorization, X-TIMESTAMP, X-PARTNER-ID, X-EXTERNAL-ID, CHANNEL-ID,
X-SIGNATURE): the curl is accepted by a NICO endpoint as it is, once.
  --partner-id ID      X-PARTNER-ID: the client id (--client-key is taken as well)
  --client-secret-file FILE
                       the client secret (its UTF-8 bytes are the HMAC key); - reads stdin;
                       or the environment variable NICEPAY_CLIENT_SECRET; or --client-secret S
                       (visible in ps and shell history)
  --token TOKEN        the access token (sent as "Authorization: Bearer TOKEN")
  --path PATH          the request path as sent, e.g. /api/v1.0/cvs/inquiry
  --external-id ID     X-EXTERNAL-ID (default: a new 20-digit id)
  --channel-id ID      CHANNEL-ID (default: ID + "01", NICEPAY's form)
  --method M           HTTP method (default POST)
  --body-file FILE     the body, exactly as it will be sent (default: empty)
  --body-hash MODE     minified (SNAP, default) or as-sent (hash the bytes as they are)
  --url URL            the URL in the curl command (default http://127.0.0.1:3000 + PATH)

Both:
  --timestamp T        X-TIMESTAMP to sign (default: now, +07:00)
  --json               print { stringToSign, headers, ..., curl } as JSON
  -h, --help           this help

Exit codes: 0 signed, 2 bad arguments or key.
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'private-key': { type: 'string' },
  'client-key': { type: 'string' },
  timestamp: { type: 'string' },
  url: { type: 'string' },
  sandbox: { type: 'boolean' },
  json: { type: 'boolean' },
  transaction: { type: 'boolean' },
  ...secretOptions('client-secret'),
  'partner-id': { type: 'string' },
  'external-id': { type: 'string' },
  'channel-id': { type: 'string' },
  token: { type: 'string' },
  method: { type: 'string' },
  path: { type: 'string' },
  'body-file': { type: 'string' },
  'body-hash': { type: 'string' },
} as const;

const ACCESS_ONLY = ['private-key', 'sandbox'] as const;
const TRANSACTION_ONLY = ['client-secret', 'client-secret-file', 'partner-id', 'external-id', 'channel-id', 'token', 'method', 'path', 'body-file', 'body-hash'] as const;

export function sign(argv: readonly string[], io: Io): number {
  const { values } = parse(argv, OPTIONS, 0);
  if (values.help) {
    io.out(SIGN_HELP);
    return 0;
  }
  const misplaced = (values.transaction ? ACCESS_ONLY : TRANSACTION_ONLY).filter((name) => values[name] !== undefined);
  if (misplaced.length > 0) {
    throw new UsageError(
      values.transaction
        ? `--${misplaced[0]} is for the access-token signature; --transaction signs with --client-secret`
        : `--${misplaced[0]} is for --transaction (the symmetric signature); add --transaction`,
    );
  }
  const timestamp = values.timestamp ?? formatTimestamp(Date.now());
  if (values.timestamp !== undefined) {
    try {
      parseTimestamp(timestamp);
    } catch {
      io.err(`nicepay-nico sign: warning: --timestamp ${JSON.stringify(timestamp)} is not strict SNAP format (yyyy-MM-ddTHH:mm:ss+07:00); signing it as given\n`);
    }
  }
  return values.transaction ? signTransaction(values, timestamp, io) : signAccessToken(values, timestamp, io);
}

function signAccessToken(values: { [k: string]: string | boolean | undefined }, timestamp: string, io: Io): number {
  const clientKey = parseClientKey(values['client-key'] as string | undefined);
  const key = loadPrivateKey(required(values['private-key'] as string | undefined, '--private-key'), '--private-key', values.sandbox === true);
  const url = values.url === undefined ? `http://127.0.0.1:3000${ACCESS_TOKEN_PATH}` : parseUrl(values.url as string, '--url').href;
  const { stringToSign, headers } = signedRequest(key, clientKey, timestamp);
  const curl = curlCommand('POST', url, headers, { text: ACCESS_TOKEN_BODY });
  if (values.json) {
    io.out(`${jsonText({ stringToSign, headers, body: ACCESS_TOKEN_BODY, url, curl })}\n`);
    return 0;
  }
  io.out(
    [
      `stringToSign: ${stringToSign}`,
      `X-TIMESTAMP: ${timestamp}`,
      `X-SIGNATURE: ${headers['X-SIGNATURE']}`,
      '',
      `SHA256withRSA, ${key.bits}-bit key. The request, as NICEPAY sends it:`,
      '',
      curl,
      '',
    ].join('\n'),
  );
  return 0;
}

function signTransaction(values: { [k: string]: string | boolean | undefined }, timestamp: string, io: Io): number {
  const clientSecret = requireSecret(values, CLIENT_SECRET);
  const partnerId = parseClientKey((values['partner-id'] ?? values['client-key']) as string | undefined, '--partner-id');
  const externalId = (values['external-id'] as string | undefined) ?? newExternalId();
  if (!/^[\x21-\x7e]{1,40}$/.test(externalId)) throw new UsageError(`--external-id must be 1-40 visible ASCII characters, got ${JSON.stringify(externalId)}`);
  const channelId = (values['channel-id'] as string | undefined) ?? `${partnerId}01`;
  const accessToken = required(values.token as string | undefined, '--token');
  const path = required(values.path as string | undefined, '--path');
  if (!path.startsWith('/')) throw new UsageError(`--path must start with "/", got ${JSON.stringify(path)}`);
  const method = ((values.method as string | undefined) ?? 'POST').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`--method must be an HTTP method such as POST, got ${JSON.stringify(values.method)}`);
  const mode = (values['body-hash'] as string | undefined) ?? 'minified';
  if (mode !== 'minified' && mode !== 'as-sent') throw new UsageError(`--body-hash must be minified or as-sent, got ${JSON.stringify(mode)}`);
  const bodyFile = values['body-file'] as string | undefined;
  const body = bodyFile === undefined ? '' : readFileFor(bodyFile, '--body-file');
  const url = values.url === undefined ? `http://127.0.0.1:3000${path}` : parseUrl(values.url as string, '--url').href;
  let stringToSign: string;
  let bodyHash: string;
  try {
    bodyHash = bodySha256Hex(body, mode as BodyHashMode);
    stringToSign = buildSymmetricStringToSign({ method, path, accessToken, body, timestamp, bodyHash: mode as BodyHashMode });
  } catch (error) {
    const message = oneLine((error as Error).message);
    throw new UsageError(error instanceof SyntaxError ? `--body-file ${bodyFile}: not JSON (${message}); use --body-hash as-sent to hash it as it is` : message);
  }
  const headers = {
    'Content-Type': 'application/json',
    Authorization: `Bearer ${accessToken}`,
    'X-TIMESTAMP': timestamp,
    'X-PARTNER-ID': partnerId,
    'X-EXTERNAL-ID': externalId,
    'CHANNEL-ID': channelId,
    'X-SIGNATURE': signSymmetric(clientSecret, stringToSign),
  };
  const curl = curlCommand(method, url, headers, bodyFile === undefined ? {} : { file: bodyFile });
  if (values.json) {
    io.out(`${jsonText({ stringToSign, bodySha256Hex: bodyHash, bodyHash: mode, headers, url, curl })}\n`);
    return 0;
  }
  io.out(
    [
      `stringToSign: ${stringToSign}`,
      `body SHA-256 (${mode}): ${bodyHash}`,
      `Authorization: ${headers.Authorization}`,
      `X-TIMESTAMP: ${timestamp}`,
      `X-EXTERNAL-ID: ${externalId}`,
      `X-SIGNATURE: ${headers['X-SIGNATURE']}`,
      '',
      `HMAC-SHA512 with the client secret. The call, as NICEPAY sends it (accepted once: a second send is a replay):`,
      '',
      curl,
      '',
    ].join('\n'),
  );
  return 0;
}
