#!/usr/bin/env node
/**
 * `npm run demo`: a real access-token endpoint on 127.0.0.1, and NICEPAY played against it
 * over real HTTP with NICEPAY's public sandbox key (1024-bit, from the published vectors).
 *
 *   npm run demo               the story: valid request, tampered signature, stale
 *                              timestamp, missing header; exits 0 when every answer is right
 *   npm run demo -- --serve    keep the server running and print a signed curl command
 *   npm run demo -- --port N   listen on port N (default: any free port; 3000 with --serve)
 *
 * Uses the built package (dist/) through its own name, exactly as a merchant imports it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import {
  buildStringToSign,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  formatTimestamp,
  importPrivateKey,
  signStringToSign,
} from 'nicepay-nico';
import { createNodeHandler } from 'nicepay-nico/node';

const { values: args } = parseArgs({
  options: { serve: { type: 'boolean', default: false }, port: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
});
if (args.help) {
  console.log('usage: npm run demo [-- --serve] [-- --port N]');
  process.exit(0);
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code) => (text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const [bold, dim, green, red, cyan] = [paint(1), paint(2), paint(32), paint(31), paint(36)];

// NICEPAY's public sandbox key pair: a published test key, never a production secret.
const vectors = JSON.parse(readFileSync(new URL('../test/vectors/nicepay-rsa.json', import.meta.url), 'utf8'));
const SANDBOX_PUBLIC_KEY = vectors.rsaSandboxKey.publicKeySpkiBase64;
const nicepayPrivateKey = importPrivateKey(vectors.rsaSandboxKey.privateKeyPkcs8Base64, { minModulusBits: 1024 });

const CLIENT_KEY = 'IONPAYTEST';
const PATH = '/api/v1.0/access-token/b2b';
const BODY = '{"grantType":"client_credentials","additionalInfo":{}}';
const TOKEN_SECRET = randomBytes(32).toString('base64');

// --- The merchant's side: this is all a merchant writes. --------------------------------
const options = {
  clients: { [CLIENT_KEY]: SANDBOX_PUBLIC_KEY }, // X-CLIENT-KEY -> NICEPAY's public key
  minModulusBits: 1024, // NICEPAY's sandbox key is 1024-bit; production keys are 2048
  tokenSecret: TOKEN_SECRET, // built-in stateless tokens
  replayCache: createMemoryClaimStore(), // each signed request is accepted once
};
const server = createServer(createNodeHandler(options));
// -----------------------------------------------------------------------------------------

const port = await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port ?? (args.serve ? 3000 : 0)), '127.0.0.1', () => resolve(server.address().port));
});
const url = `http://127.0.0.1:${port}${PATH}`;

/** Sign like NICEPAY: SHA256withRSA over X-CLIENT-KEY|X-TIMESTAMP. */
function nicepayHeaders(timestamp = formatTimestamp(Date.now())) {
  return {
    'Content-Type': 'application/json',
    'X-TIMESTAMP': timestamp,
    'X-CLIENT-KEY': CLIENT_KEY,
    'X-SIGNATURE': signStringToSign(nicepayPrivateKey, buildStringToSign(CLIENT_KEY, timestamp)),
  };
}

if (args.serve) {
  const headers = nicepayHeaders();
  const curl = [
    `curl -i -X POST ${url}`,
    ...Object.entries(headers).map(([k, v]) => `  -H '${k}: ${v}'`),
    `  -d '${BODY}'`,
  ].join(' \\\n');
  console.log(`${bold('nicepay-nico demo server')} listening on ${cyan(url)}`);
  console.log(`client ${CLIENT_KEY}, NICEPAY sandbox public key (1024-bit), stateless tokens, replay guard on\n`);
  console.log(`A request signed like NICEPAY, valid until ${formatTimestamp(Date.now() + 300_000)} (5 minutes), once:\n`);
  console.log(curl);
  console.log(dim('\nRestart with --serve for a fresh signature; `npm run demo` plays the whole story. Ctrl-C to stop.'));
  process.on('SIGINT', () => server.close(() => process.exit(0)));
} else {
  const cases = [];
  const story = async (title, expected, headers, body = BODY, method = 'POST') => {
    const response = await fetch(url, { method, headers, body: method === 'GET' ? undefined : body });
    const text = await response.text();
    const json = JSON.parse(text);
    const ok = response.status === expected.status && json.responseCode === expected.code;
    cases.push(ok);
    console.log(`\n${bold(title)}`);
    console.log(dim(`  > ${method} ${PATH}`));
    for (const [k, v] of Object.entries(headers)) console.log(dim(`  > ${k}: ${k === 'X-SIGNATURE' ? `${v.slice(0, 24)}...` : v}`));
    if (method !== 'GET') console.log(dim(`  > ${body}`));
    console.log(`  < HTTP ${response.status}  X-TIMESTAMP: ${response.headers.get('x-timestamp')}  X-CLIENT-KEY: ${response.headers.get('x-client-key') ?? '-'}`);
    console.log(`  < ${text}`);
    console.log(`  ${ok ? green('as expected') : red('UNEXPECTED')}: ${expected.status} ${expected.code}`);
    return json;
  };

  console.log(`${bold('nicepay-nico demo')}: access-token endpoint on ${cyan(url)}, NICEPAY played with its sandbox key`);

  const valid = nicepayHeaders();
  const token = await story('1. A valid request, signed like NICEPAY', { status: 200, code: '2007300' }, valid);
  const check = createAccessTokenIssuer({ secret: TOKEN_SECRET }).verify(token.accessToken ?? '', Date.now(), CLIENT_KEY);
  cases.push(check.valid === true);
  console.log(`  token check: ${check.valid ? green(`valid for ${check.clientKey}, expires ${formatTimestamp(check.expiresAt)}`) : red(`invalid (${check.reason})`)}`);

  const signature = valid['X-SIGNATURE'];
  const tampered = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
  await story('2. The same request with one character of the signature changed', { status: 401, code: '4017300' }, { ...valid, 'X-SIGNATURE': tampered });

  await story('3. A stale timestamp (correctly signed, 10 minutes old)', { status: 401, code: '4017300' }, nicepayHeaders(formatTimestamp(Date.now() - 600_000)));

  const { 'X-TIMESTAMP': _dropped, ...missing } = nicepayHeaders();
  await story('4. A missing X-TIMESTAMP header', { status: 400, code: '4007302' }, missing);

  await story('5. The valid request of step 1, replayed', { status: 401, code: '4017300' }, valid);

  server.close();
  const passed = cases.filter(Boolean).length;
  console.log(`\n${passed === cases.length ? green('every answer as the protocol requires') : red('some answers were wrong')} (${passed}/${cases.length})`);
  process.exit(passed === cases.length ? 0 : 1);
}
