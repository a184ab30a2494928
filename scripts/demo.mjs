#!/usr/bin/env node
/**
 * `npm run demo`: a real access-token endpoint on 127.0.0.1, and NICEPAY played against it
 * over real HTTP with NICEPAY's public sandbox key (1024-bit, from the published vectors).
 *
 *   npm run demo               the story: a valid token request, a tampered signature, a
 *                              stale timestamp, a missing header, a replay; then with the
 *                              token an inquiry, a payment whose database is down once and
 *                              NICEPAY's retry of it (processed once), a repeated
 *                              X-EXTERNAL-ID, a replayed payment, a retry under a new
 *                              X-EXTERNAL-ID (the same answer again) and an expired token;
 *                              exits 0 when every answer is right
 *   npm run demo -- --serve    keep the server running and print the `nicepay-nico simulate` and
 *                              `probe` commands to run against it, and a signed curl command
 *   npm run demo -- --port N   listen on port N (default: any free port; 3000 with --serve)
 *
 * Uses the built package (dist/) through its own name, exactly as a merchant imports it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import {
  buildStringToSign,
  buildSymmetricStringToSign,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  formatTimestamp,
  importPrivateKey,
  signStringToSign,
  signSymmetric,
} from 'nicepay-nico';
import { createNodeHandler, createNodeTransactionHandler } from 'nicepay-nico/node';

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
// IONPAYTEST's published sandbox client secret (from NICEPAY's symmetric-signature vectors).
const CLIENT_SECRET = JSON.parse(readFileSync(new URL('../test/vectors/nicepay-symmetric.json', import.meta.url), 'utf8')).symmetricSignatures[0].clientSecret;
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
  // Each signed request is accepted once (on by default, one store per process).
};
// The calls after the token (signature mode 'auto', the default: this client has a client
// secret, so it takes HMAC-SHA512 signatures). The service codes are placeholders: NICO's pages do not print
// the CVS ones, so a merchant uses the codes NICEPAY gives them. The body fields are
// illustrative too: the library checks everything around the body and hands it over.
const transactionOptions = {
  clients: { [CLIENT_KEY]: { clientSecret: CLIENT_SECRET } }, // X-PARTNER-ID -> client secret
  tokens: createAccessTokenIssuer({ secret: TOKEN_SECRET }), // checks the tokens issued above
  externalIds: createMemoryClaimStore(), // X-EXTERNAL-ID once per client per day, across both endpoints
  channelId: (partnerId) => `${partnerId}01`, // NICEPAY's CHANNEL-ID: the client id + "01"
};
// The merchant's payment table; its database is down for the first payment call.
const payments = new Map();
let databaseDown = true;
const bills = new Map([['8880012345', { customerName: 'Budi', amount: { value: '25000.00', currency: 'IDR' } }]]);
const routes = {
  [PATH]: createNodeHandler(options),
  '/api/v1.0/cvs/inquiry': createNodeTransactionHandler({
    ...transactionOptions,
    serviceCode: '47',
    // answer.ok / answer.fail give the SNAP codes of this endpoint (2004700, 4044712, ...).
    handle: ({ body }, { answer }) =>
      bills.has(body.paymentCode) ? answer.ok({ paymentCode: body.paymentCode, ...bills.get(body.paymentCode) }) : answer.fail('bill-not-found'),
  }),
  '/api/v1.0/cvs/payment': createNodeTransactionHandler({
    ...transactionOptions,
    serviceCode: '48',
    // The same paymentRequestId with the same body gets the first final answer again.
    idempotency: { key: ({ body }) => body.paymentRequestId },
    handle: ({ body }, { answer }) => {
      if (databaseDown) {
        databaseDown = false;
        throw new Error('database connection refused'); // -> 500; the X-EXTERNAL-ID is released
      }
      payments.set(body.paymentRequestId, body.paidAmount);
      return answer.ok({ paymentCode: body.paymentCode, paidAmount: body.paidAmount });
    },
  }),
};
const server = createServer((req, res) => {
  const route = routes[(req.url ?? '').split('?')[0]];
  if (route) return route(req, res);
  res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"responseCode":"4040000","responseMessage":"Not Found"}');
});
// -----------------------------------------------------------------------------------------

const port = await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port ?? (args.serve ? 3000 : 0)), '127.0.0.1', () => resolve(server.address().port));
});
const origin = `http://127.0.0.1:${port}`;
const url = `${origin}${PATH}`;

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
  // NICEPAY's published sandbox key and IONPAYTEST's published client secret, as files for the command.
  const dir = fileURLToPath(new URL('../.tmp/demo/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const keyFile = relative(process.cwd(), join(dir, 'nicepay-sandbox-private.key')) || 'nicepay-sandbox-private.key';
  const secretFile = relative(process.cwd(), join(dir, 'IONPAYTEST-client-secret')) || 'IONPAYTEST-client-secret';
  writeFileSync(keyFile, vectors.rsaSandboxKey.privateKeyPkcs8Base64);
  writeFileSync(secretFile, CLIENT_SECRET);
  const expired = createAccessTokenIssuer({ secret: TOKEN_SECRET }).issue(CLIENT_KEY, Date.now() - 16 * 60_000);
  const nicepay = `--private-key ${keyFile} --sandbox --client-key ${CLIENT_KEY} --client-secret-file ${secretFile} \\\n  --inquiry-service-code 47 --payment-service-code 48`;
  console.log(`${bold('nicepay-nico demo server')} listening on ${cyan(origin)}`);
  console.log(`access token ${PATH}, CVS inquiry /api/v1.0/cvs/inquiry (service code 47), CVS payment /api/v1.0/cvs/payment (48)`);
  console.log(`client ${CLIENT_KEY}, NICEPAY sandbox key (1024-bit), stateless tokens, replay guard on; the first payment fails once (database down)\n`);
  console.log(bold('Play NICEPAY through the whole flow (in another terminal):\n'));
  console.log(`npx nicepay-nico simulate ${origin} ${nicepay} \\\n  --expired-token ${expired}\n`);
  console.log(bold('Run the conformance probe on all three endpoints:\n'));
  console.log(`npx nicepay-nico probe ${origin} ${nicepay} \\\n  --expired-token ${expired} --report nico-report.md\n`);
  console.log(bold(`Or one access-token request signed like NICEPAY, valid until ${formatTimestamp(Date.now() + 300_000)} (5 minutes), once:\n`));
  console.log(curl);
  console.log(dim(`\nKey and secret files: NICEPAY's published sandbox values, written to ${dirname(keyFile)}/. \`npm run demo\` plays the whole story in one go. Ctrl-C to stop.`));
  process.on('SIGINT', () => server.close(() => process.exit(0)));
} else {
  const cases = [];
  const story = async (title, expected, headers, body = BODY, path = PATH) => {
    const method = 'POST';
    const response = await fetch(`${origin}${path}`, { method, headers, body });
    const text = await response.text();
    const json = JSON.parse(text);
    const ok = response.status === expected.status && json.responseCode === expected.code;
    cases.push(ok);
    console.log(`\n${bold(title)}`);
    console.log(dim(`  > ${method} ${path}`));
    for (const [k, v] of Object.entries(headers)) console.log(dim(`  > ${k}: ${k === 'X-SIGNATURE' || k === 'Authorization' ? `${v.slice(0, 24)}...` : v}`));
    console.log(dim(`  > ${body}`));
    const clientKey = response.headers.get('x-client-key');
    console.log(`  < HTTP ${response.status}  X-TIMESTAMP: ${response.headers.get('x-timestamp')}${clientKey ? `  X-CLIENT-KEY: ${clientKey}` : ''}`);
    console.log(`  < ${text}`);
    console.log(`  ${ok ? green('as expected') : red('UNEXPECTED')}: ${expected.status} ${expected.code}`);
    return json;
  };

  console.log(`${bold('nicepay-nico demo')}: access-token, CVS inquiry and CVS payment endpoints on ${cyan(origin)}, NICEPAY played with its sandbox key`);

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

  /**
   * Each call NICEPAY signs gets its own second, counting up from a minute ago (inside the
   * 5-minute clock window), so every retry carries a new X-TIMESTAMP and so a new signature.
   */
  let lastStamp = 0;
  const stamp = () => {
    lastStamp = Math.max(Math.floor(Date.now() / 1000) * 1000 - 60_000, lastStamp + 1000);
    return formatTimestamp(lastStamp);
  };
  /** Sign a call after the token like NICEPAY: HMAC-SHA512 with the client secret (SNAP symmetric). */
  const transaction = (path, body, { accessToken = token.accessToken, externalId } = {}) => {
    const timestamp = stamp();
    const stringToSign = buildSymmetricStringToSign({ method: 'POST', path, accessToken, body, timestamp });
    return {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${accessToken}`,
      'X-TIMESTAMP': timestamp,
      'X-PARTNER-ID': CLIENT_KEY,
      'X-EXTERNAL-ID': externalId,
      'CHANNEL-ID': `${CLIENT_KEY}01`, // NICEPAY's convention: client id + "01"
      'X-SIGNATURE': signSymmetric(CLIENT_SECRET, stringToSign),
    };
  };
  const inquiryBody = '{"paymentCode":"8880012345","trxDateInit":"' + formatTimestamp(Date.now()) + '"}';
  const paymentBody = '{"paymentCode":"8880012345","paymentRequestId":"PAY-20241113-0001","paidAmount":{"value":"25000.00","currency":"IDR"}}';
  const INQUIRY = '/api/v1.0/cvs/inquiry';
  const PAYMENT = '/api/v1.0/cvs/payment';

  await story('6. CVS inquiry with the token (signed with the client secret)', { status: 200, code: '2004700' }, transaction(INQUIRY, inquiryBody, { externalId: '41807553358950093101' }), inquiryBody, INQUIRY);
  await story("7. CVS payment while the merchant's database is down: handle() throws", { status: 500, code: '5004800' }, transaction(PAYMENT, paymentBody, { externalId: '41807553358950093102' }), paymentBody, PAYMENT);
  const retry = transaction(PAYMENT, paymentBody, { externalId: '41807553358950093102' });
  await story("8. NICEPAY's retry: same X-EXTERNAL-ID, new X-TIMESTAMP and signature (processed now)", { status: 200, code: '2004800' }, retry, paymentBody, PAYMENT);
  await story('9. Another retry with the same X-EXTERNAL-ID, after the payment was answered', { status: 409, code: '4094800' }, transaction(PAYMENT, paymentBody, { externalId: '41807553358950093102' }), paymentBody, PAYMENT);
  await story('10. The exact request of step 8 replayed (same signature, any X-EXTERNAL-ID)', { status: 401, code: '4014800' }, { ...retry, 'X-EXTERNAL-ID': '41807553358950093109' }, paymentBody, PAYMENT);
  await story('11. A retry under a new X-EXTERNAL-ID, same paymentRequestId: the same answer again', { status: 200, code: '2004800' }, transaction(PAYMENT, paymentBody, { externalId: '41807553358950093103' }), paymentBody, PAYMENT);
  const processedOnce = payments.size === 1;
  cases.push(processedOnce);
  console.log(`  payments recorded by the merchant: ${processedOnce ? green('1 (processed exactly once)') : red(String(payments.size))}`);
  const expired = createAccessTokenIssuer({ secret: TOKEN_SECRET }).issue(CLIENT_KEY, Date.now() - 16 * 60_000);
  await story('12. An inquiry with a token issued 16 minutes ago (expired)', { status: 401, code: '4014701' }, transaction(INQUIRY, inquiryBody, { accessToken: expired, externalId: '41807553358950093104' }), inquiryBody, INQUIRY);

  server.close();
  const passed = cases.filter(Boolean).length;
  console.log(`\n${passed === cases.length ? green('every answer as the protocol requires') : red('some answers were wrong')} (${passed}/${cases.length} checks: 12 answers, the token, the payment count)`);
  process.exit(passed === cases.length ? 0 : 1);
}
