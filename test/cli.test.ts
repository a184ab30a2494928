/**
 * `nicepay-nico` sign, verify, request, vectors: the built dist/cli.js as a child process.
 * Exit codes: 0 success, 1 "no" (does not verify, not a token), 2 bad arguments or keys.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, runCli, type CliResult } from './helpers/cli.js';
import { paintFor, table } from '../src/cli/output.js';
import { buildSymmetricStringToSign, verifySymmetricSignature } from '../src/protocol/symmetric.js';
import { vectors } from '../src/vectors.js';
import rsaVectors from './vectors/nicepay-rsa.json';
import symmetricVectors from './vectors/nicepay-symmetric.json';
import { closedPortUrl, startGoodServer, type RunningServer, type ServerKeys } from './helpers/broken-servers.js';

const CLIENT_KEY = 'IONPAYTEST';
const TIMESTAMP = '2024-01-22T15:00:01+07:00';



/** Exit 2 with exactly one line on stderr (and nothing on stdout). */
function expectUsageError(result: CliResult, pattern: RegExp): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^[^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
  expect(result.code).toBe(2);
}

/** The value of a "Name: value" line of the output. */
function line(output: string, name: string): string {
  const match = new RegExp(`^${name}: (.*)$`, 'm').exec(output);
  if (!match) throw new Error(`no "${name}:" line in:\n${output}`);
  return match[1] as string;
}

let dir: string;
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
let files: {
  privatePem: string;
  publicPem: string;
  publicDer: string;
  sandboxPrivate: string;
  sandboxPublic: string;
  certificate: string;
  notAKey: string;
  empty: string;
  missing: string;
};
let keys: ServerKeys;
let fingerprint: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'nicepay-nico-cli-'));
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const der = pair.publicKey.export({ type: 'spki', format: 'der' });
  fingerprint = createHash('sha256').update(der).digest('hex');
  keys = { clientKey: CLIENT_KEY, publicKeyPem: publicPem, privateKey: pair.privateKey };
  files = {
    privatePem: file('private.pem', pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    publicPem: file('public.pem', publicPem),
    publicDer: join(dir, 'public.der'),
    sandboxPrivate: file('sandbox-private.txt', `${rsaVectors.rsaSandboxKey.privateKeyPkcs8Base64}\n`),
    sandboxPublic: file('sandbox-public.txt', `${rsaVectors.rsaSandboxKey.publicKeySpkiBase64}\n`),
    certificate: join(ROOT, 'test', 'fixtures', 'cert-rsa2048.pem'),
    notAKey: file('not-a-key.txt', 'hello, world\n'),
    empty: file('empty.pem', ''),
    missing: join(dir, 'does-not-exist.pem'),
  };
  writeFileSync(files.publicDer, der);
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('nicepay-nico --help', () => {
  it('lists the commands, exit 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['sign', 'verify', 'request', 'probe', 'vectors']) expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each(['sign', 'verify', 'request', 'probe', 'vectors'])('%s --help: usage, exit 0', async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^Usage:\\n  nicepay-nico ${command}`));
  });

  it('no command, or an unknown one: one line, exit 2', async () => {
    expectUsageError(await runCli([]), /^nicepay-nico: missing command/);
    expectUsageError(await runCli(['sing']), /^nicepay-nico: unknown command "sing" \(simulate, probe, sign, verify, request, vectors\)/);
  });
});

describe('nicepay-nico sign and verify', () => {
  it('sign output pasted into verify verifies (exit 0)', async () => {
    const signed = await runCli(['sign', '--private-key', files.privatePem, '--client-key', CLIENT_KEY]);
    expect(signed.code).toBe(0);
    expect(signed.stderr).toBe('');
    const timestamp = line(signed.stdout, 'X-TIMESTAMP');
    const signature = line(signed.stdout, 'X-SIGNATURE');
    expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/);
    expect(line(signed.stdout, 'stringToSign')).toBe(`${CLIENT_KEY}|${timestamp}`);
    expect(signed.stdout).toContain(`curl -i -X POST http://127.0.0.1:3000/api/v1.0/access-token/b2b \\\n  -H 'Content-Type: application/json' \\\n  -H 'X-TIMESTAMP: ${timestamp}'`);
    expect(signed.stdout).toContain(`-H 'X-SIGNATURE: ${signature}'`);
    expect(signed.stdout).toContain(`--data-raw '{"grantType":"client_credentials","additionalInfo":{}}'`);

    const verified = await runCli(['verify', '--public-key', files.publicPem, '--client-key', CLIENT_KEY, '--timestamp', timestamp, '--signature', signature]);
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toMatch(/^signature verifies\n/);
    expect(verified.code).toBe(0);
    // The key in any form: DER, and the certificate-free SPKI PEM, give the same answer.
    expect((await runCli(['verify', '--public-key', files.publicDer, '--client-key', CLIENT_KEY, '--timestamp', timestamp, '--signature', signature])).code).toBe(0);
  });

  it('a changed timestamp does not verify (exit 1) and shows the stringToSign and the key fingerprint', async () => {
    const signed = await runCli(['sign', '--private-key', files.privatePem, '--client-key', CLIENT_KEY, '--timestamp', TIMESTAMP]);
    const signature = line(signed.stdout, 'X-SIGNATURE');
    const changed = '2024-01-22T15:00:02+07:00';
    const result = await runCli(['verify', '--public-key', files.publicPem, '--client-key', CLIENT_KEY, '--timestamp', changed, '--signature', signature]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^signature does NOT verify\n/);
    expect(result.stdout).toContain(`stringToSign  "IONPAYTEST|${changed}"`);
    expect(result.stdout).toContain(`RSA 2048 bits, SHA-256 fingerprint (SPKI DER) ${fingerprint}`);
    expect(result.stdout).toContain('hint');

    const json = await runCli(['verify', '--public-key', files.publicPem, '--client-key', CLIENT_KEY, '--timestamp', changed, '--signature', signature, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ verifies: false, stringToSign: `IONPAYTEST|${changed}`, key: { bits: 2048, sha256Fingerprint: fingerprint } });
  });

  it('shows invisible characters in JSON quoting, and finds a timestamp damaged by URL decoding', async () => {
    const signed = await runCli(['sign', '--private-key', files.privatePem, '--client-key', CLIENT_KEY, '--timestamp', TIMESTAMP]);
    const signature = line(signed.stdout, 'X-SIGNATURE');
    const hidden = await runCli(['verify', '--public-key', files.publicPem, '--client-key', `${CLIENT_KEY}\u200b`, '--timestamp', TIMESTAMP, '--signature', signature]);
    expect(hidden.code).toBe(1);
    expect(hidden.stdout).toContain(`stringToSign  "IONPAYTEST\u200b|${TIMESTAMP}"  (37 characters, 39 bytes UTF-8)`);
    const decoded = await runCli(['verify', '--public-key', files.publicPem, '--client-key', CLIENT_KEY, '--timestamp', TIMESTAMP.replace('+', ' '), '--signature', signature]);
    expect(decoded.code).toBe(1);
    expect(decoded.stdout).toContain('it DOES verify with "+" for the space in X-TIMESTAMP');
  });

  it("signs NICEPAY's published sandbox vector exactly (--sandbox), and verifies it", async () => {
    const vector = rsaVectors.accessTokenSignatures[1] as { stringToSign: string; signatureBase64: string };
    const [clientKey, timestamp] = vector.stringToSign.split('|') as [string, string];
    const signed = await runCli(['sign', '--sandbox', '--private-key', files.sandboxPrivate, '--client-key', clientKey, '--timestamp', timestamp, '--json']);
    expect(signed.code).toBe(0);
    const output = JSON.parse(signed.stdout) as { stringToSign: string; headers: Record<string, string>; curl: string };
    expect(output.stringToSign).toBe(vector.stringToSign);
    expect(output.headers['X-SIGNATURE']).toBe(vector.signatureBase64);
    expect(output.curl).toContain(vector.signatureBase64);
    const verified = await runCli(['verify', '--sandbox', '--public-key', files.sandboxPublic, '--client-key', clientKey, '--timestamp', timestamp, '--signature', vector.signatureBase64]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('RSA 1024 bits');
  });

  it('--transaction signs the symmetric stringToSign; verifySymmetricSignature accepts it', async () => {
    const secret = 'a-client-secret';
    const token = 'AWsJdUuvnyErRCY5Suo5j42A4c7uSU9OUEFZVEVTVA.Az7CnH_nAky9H1h1oit6b1SJTo5khSOMdJATOgzVYr8';
    const body = '{ "trxId": "123",\n  "amount": { "value": "10000.00", "currency": "IDR" } }\n';
    const bodyFile = file('inquiry.json', body);
    const result = await runCli(['sign', '--transaction', '--partner-id', 'IONPAYTEST', '--client-secret', secret, '--token', token, '--path', '/api/v1.0/cvs/inquiry', '--body-file', bodyFile, '--timestamp', TIMESTAMP]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const stringToSign = line(result.stdout, 'stringToSign');
    expect(stringToSign).toBe(buildSymmetricStringToSign({ method: 'POST', path: '/api/v1.0/cvs/inquiry', accessToken: token, body, timestamp: TIMESTAMP }));
    expect(line(result.stdout, 'body SHA-256 \\(minified\\)')).toBe(stringToSign.split(':')[3]);
    expect(line(result.stdout, 'Authorization')).toBe(`Bearer ${token}`);
    expect(line(result.stdout, 'X-TIMESTAMP')).toBe(TIMESTAMP);
    expect(verifySymmetricSignature(secret, stringToSign, line(result.stdout, 'X-SIGNATURE'))).toBe(true);
    expect(result.stdout).toContain(`curl -i -X POST http://127.0.0.1:3000/api/v1.0/cvs/inquiry`);
    expect(result.stdout).toContain(`--data-binary @${bodyFile}`);
  });

  it("--transaction reproduces NICEPAY's published symmetric vector (--body-hash as-sent)", async () => {
    const vector = symmetricVectors.symmetricSignatures[1] as Record<string, string>;
    const bodyFile = file('create-va.json', vector.rawBody as string);
    const result = await runCli([
      'sign', '--transaction', '--partner-id', 'IONPAYTEST', '--client-secret', vector.clientSecret as string, '--token', vector.accessToken as string,
      '--method', vector.method as string, '--path', vector.path as string, '--body-file', bodyFile, '--body-hash', 'as-sent',
      '--timestamp', vector.timestamp as string, '--json',
    ]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { bodySha256Hex: string; headers: Record<string, string> };
    expect(output.bodySha256Hex).toBe(vector.bodySha256Hex);
    expect(output.headers['X-SIGNATURE']).toBe(vector.signatureBase64);
  });
});

describe('exit code 2: one line on stderr', () => {
  const signArgs = (key: string): string[] => ['sign', '--private-key', key, '--client-key', CLIENT_KEY];
  const verifyArgs = (key: string): string[] => ['verify', '--public-key', key, '--client-key', CLIENT_KEY, '--timestamp', TIMESTAMP, '--signature', 'AAAA'];

  it('bad arguments', async () => {
    expectUsageError(await runCli(['sign', '--private-key', files.privatePem, '--client-key', CLIENT_KEY, '--bogus']), /^nicepay-nico sign: unknown option --bogus; see nicepay-nico sign --help$/m);
    expectUsageError(await runCli(['sign', '--private-key', files.privatePem, '--clientkey', CLIENT_KEY]), /unknown option --clientkey \(did you mean --client-key\?\)/);
    expectUsageError(await runCli(['probe', 'http://127.0.0.1:9/', '--private-key', files.privatePem, '--client-key', CLIENT_KEY, '--timout', '5']), /unknown option --timout \(did you mean --timeout\?\)/);
    expectUsageError(await runCli(['sign', '--private-key', files.privatePem]), /^nicepay-nico sign: --client-key is required/);
    expectUsageError(await runCli(['sign', '--private-key', files.privatePem, '--client-key', 'A|B']), /--client-key must not contain "\|"/);
    expectUsageError(await runCli(['sign', '--private-key', files.privatePem, '--client-key', CLIENT_KEY, 'extra']), /unexpected argument "extra"/);
    expectUsageError(await runCli(['sign', '--private-key', files.privatePem, '--client-key', CLIENT_KEY, '--client-secret', 's']), /--client-secret is for --transaction/);
    expectUsageError(await runCli(['sign', '--transaction', '--partner-id', 'IONPAYTEST', '--client-secret', 's', '--token', 't']), /--path is required/);
    expectUsageError(await runCli(['sign', '--transaction', '--partner-id', 'IONPAYTEST', '--client-secret', 's', '--token', 't', '--path', '/x', '--body-file', files.notAKey]), /--body-file .*: not JSON/);
    expectUsageError(await runCli(['verify', '--public-key', files.publicPem, '--client-key', CLIENT_KEY, '--timestamp', TIMESTAMP]), /--signature is required/);
    expectUsageError(await runCli(['verify', '--public-key', files.publicPem, '--client-key', CLIENT_KEY, '--timestamp']), /^nicepay-nico verify: --timestamp needs a value; see nicepay-nico verify --help$/m);
    expectUsageError(await runCli(['request', '--private-key', files.privatePem, '--client-key', CLIENT_KEY]), /^nicepay-nico request: URL is required/);
    expectUsageError(await runCli(['request', 'ftp://example.com/', '--private-key', files.privatePem, '--client-key', CLIENT_KEY]), /URL must be http:\/\/ or https:\/\//);
    expectUsageError(await runCli(['probe', 'not a url', '--private-key', files.privatePem, '--client-key', CLIENT_KEY]), /URL "not a url" is not a URL/);
    expectUsageError(await runCli(['probe', 'http://127.0.0.1:9/', '--private-key', files.privatePem, '--client-key', CLIENT_KEY, '--endpoints', 'token', '--timeout', '0']), /--timeout must be a positive whole number/);
    expectUsageError(await runCli(['vectors', '--text']), /unknown option --text/);
  });

  it('unreadable or unusable key files', async () => {
    expectUsageError(await runCli(signArgs(files.missing)), /^nicepay-nico sign: cannot read --private-key .*does-not-exist\.pem: no such file$/m);
    expectUsageError(await runCli(verifyArgs(dir)), /^nicepay-nico verify: cannot read --public-key .*: it is a directory$/m);
    expectUsageError(await runCli(signArgs(files.notAKey)), /^nicepay-nico sign: --private-key .*not-a-key\.txt: the key is neither PEM/);
    expectUsageError(await runCli(verifyArgs(files.empty)), /^nicepay-nico verify: --public-key .*empty\.pem: the key is empty/);
  });

  it('a private key where the public one is needed, and the reverse', async () => {
    expectUsageError(await runCli(verifyArgs(files.privatePem)), /^nicepay-nico verify: --public-key .*private\.pem is a private key; this command needs the public key/);
    expectUsageError(await runCli(signArgs(files.publicPem)), /^nicepay-nico sign: --private-key .*public\.pem is a public key or certificate; this command signs/);
    expectUsageError(await runCli(signArgs(files.certificate)), /is a public key or certificate/);
    expectUsageError(
      await runCli(['request', 'http://127.0.0.1:9/', '--private-key', files.publicPem, '--client-key', CLIENT_KEY]),
      /^nicepay-nico request: --private-key .* is a public key/,
    );
    expectUsageError(
      await runCli(['probe', 'http://127.0.0.1:9/', '--private-key', files.publicDer, '--client-key', CLIENT_KEY]),
      /^nicepay-nico probe: --private-key .* is a public key/,
    );
  });

  it('a 1024-bit key without --sandbox says to add --sandbox', async () => {
    expectUsageError(await runCli(signArgs(files.sandboxPrivate)), /is a 1024-bit RSA key.*add --sandbox/);
    expectUsageError(await runCli(verifyArgs(files.sandboxPublic)), /^nicepay-nico verify: --public-key .* is a 1024-bit RSA key.*add --sandbox/);
    expectUsageError(
      await runCli(['probe', 'http://127.0.0.1:9/', '--private-key', files.sandboxPrivate, '--client-key', CLIENT_KEY]),
      /add --sandbox/,
    );
  });
});

describe('nicepay-nico request', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startGoodServer(keys);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends a signed access-token request like NICEPAY: 2007300, exit 0', async () => {
    const result = await runCli(['request', server.url, '--private-key', files.privatePem, '--client-key', CLIENT_KEY]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`> POST ${server.url}\n> Content-Type: application/json\n> X-TIMESTAMP: `);
    expect(result.stdout).toContain('> {"grantType":"client_credentials","additionalInfo":{}}');
    expect(result.stdout).toContain('< HTTP 200 OK');
    expect(result.stdout).toContain('< x-client-key: IONPAYTEST');
    expect(result.stdout).toMatch(/^< \{"responseCode":"2007300","responseMessage":"Successful","accessToken":"[^"]+","tokenType":"Bearer","expiresIn":"900","additionalInfo":\{\}\}$/m);
    expect(result.stdout).toContain('2007300: access token issued');
  });

  it('a refused request exits 1 and shows the SNAP error', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherFile = file('other-private.pem', other.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const result = await runCli(['request', server.url, '--private-key', otherFile, '--client-key', CLIENT_KEY, '--json']);
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout) as { response: { status: number }; responseCode: string; issued: boolean };
    expect(output).toMatchObject({ response: { status: 401 }, responseCode: '4017300', issued: false });
  });

  it('no server: exit 1 with the reason, no crash', async () => {
    const result = await runCli(['request', await closedPortUrl(), '--private-key', files.privatePem, '--client-key', CLIENT_KEY]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/no answer: connection refused \(ECONNREFUSED 127\.0\.0\.1:\d+\)/);
  });
});

describe('nicepay-nico vectors and nicepay-nico/vectors', () => {
  it('prints the vectors as JSON, the same object as src/vectors.ts', async () => {
    const result = await runCli(['vectors']);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as typeof vectors;
    expect(printed).toEqual(JSON.parse(JSON.stringify(vectors)));
    expect(printed.accessTokenSignatures).toEqual(rsaVectors.accessTokenSignatures);
    expect(printed.symmetricSignatures).toEqual(symmetricVectors.symmetricSignatures);
    expect(printed.rsaSandboxKey.bits).toBe(1024);
    for (const vector of [...printed.accessTokenSignatures, ...printed.symmetricSignatures]) expect(vector.source).toMatch(/\S/);
    expect((await runCli(['vectors', '--json'])).stdout).toBe(result.stdout);
  });

  it('dist/vectors.js and dist/vectors.cjs export it', async () => {
    const esm = (await import(pathToFileURL(join(ROOT, 'dist', 'vectors.js')).href)) as { vectors: typeof vectors };
    const cjs = createRequire(import.meta.url)(join(ROOT, 'dist', 'vectors.cjs')) as { vectors: typeof vectors; accessTokenSignatures: unknown };
    expect(esm.vectors).toEqual(vectors);
    expect(cjs.vectors).toEqual(vectors);
    expect(cjs.accessTokenSignatures).toEqual(vectors.accessTokenSignatures);
  });
});

describe('output', () => {
  it('colour only on a TTY, never with NO_COLOR', () => {
    expect(paintFor({ isTTY: true }, {}).red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(paintFor({ isTTY: true }, { NO_COLOR: '1' }).red('x')).toBe('x');
    expect(paintFor({ isTTY: true }, { NO_COLOR: '' }).enabled).toBe(false);
    expect(paintFor({ isTTY: false }, {}).enabled).toBe(false);
    expect(paintFor({}, {}).enabled).toBe(false);
  });

  it('tables align on visible width', () => {
    const green = paintFor({ isTTY: true }, {}).green;
    expect(table(['a', 'b'], [['long cell', green('x')], ['y', 'z']]).replace(/\x1b\[\d+m/g, '')).toBe('a          b\n---------  -\nlong cell  x\ny          z');
  });
});

