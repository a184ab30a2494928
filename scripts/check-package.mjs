#!/usr/bin/env node
/**
 * Checks the package as it is published, not as it sits in the repository.
 * Run by `npm run test:package` (last step of `npm test`); expects `npm run build` to have run.
 *
 *   1. publint --strict                    no error, warning or suggestion
 *   2. attw --pack . (profile "strict")    clean for node10, node16 (CJS and ESM) and bundler
 *   3. npm pack                            the tarball holds dist/ and the package's docs only
 *   4. npm install <tgz>                   into a scratch consumer project under .tmp/
 *   5. ESM consumer                        import, verify NICEPAY's sandbox vector, SnapError
 *   6. CJS consumer                        the same with require(), under --no-experimental-require-module
 *   7-11. runtime round trips              scripts/check-runtimes.mjs: a signed access-token request over HTTP
 *                                          on Node ESM and CJS, Bun, Deno and workerd (Miniflare)
 *   12-14. TypeScript consumers            nodenext ESM (.ts), nodenext CJS (.cts), bundler; then (6 more)
 *                                          nicepay-nico/node in http.createServer and Express app.all
 *                                          with @types/node 20, 25 and latest x @types/express 4 and 5;
 *                                          then the README's whole-flow example as strict checkJs
 *                                          against the current @types/node
 *   15. the bin and nicepay-nico/vectors   npx nicepay-nico --help and vectors; require() and import of
 *                                          nicepay-nico/vectors
 *   16. the bin against a server           npx nicepay-nico simulate and probe against a NICO server
 *                                          built from the installed package, in its own process
 *
 * The consumer runs inside /work/main/.tmp, so Node's lookup of node_modules could climb
 * up to the repository's own node_modules and hide a missing dependency. The ESM run is
 * therefore guarded by a resolve hook that fails on any file outside the consumer project,
 * and the CJS run checks require.cache the same way.
 *
 * Prints one line per check and finally `N passed, M failed`; exits 1 on any failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRuntimes } from './check-runtimes.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = join(root, '.tmp', 'check-package');
const consumer = join(tmp, 'consumer');
const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// ---------------------------------------------------------------------------------------
// The known-answer vector: NICEPAY's public 1024-bit sandbox key and one signature it
// published, from the project's copy of NICEPAY's vectors.
function loadVector() {
  const json = JSON.parse(readFileSync(join(root, 'test', 'vectors', 'nicepay-rsa.json'), 'utf8'));
  const entry = json.accessTokenSignatures.find((v) => v.key === 'rsaSandboxKey');
  return {
    source: 'test/vectors/nicepay-rsa.json',
    publicKey: json.rsaSandboxKey.publicKeySpkiBase64,
    stringToSign: entry.stringToSign,
    signature: entry.signatureBase64,
  };
}

// ---------------------------------------------------------------------------------------
// Running commands and recording checks.

const childEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** Run a command; returns { status, output } (stdout and stderr together, ANSI stripped). */
function run(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: childEnv,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 5 * 60_000,
    shell: process.platform === 'win32',
  });
  const output = stripAnsi(`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`).trim();
  return { status: r.status ?? 1, stdout: r.stdout ?? '', output };
}

/** Throw with the command's output when it did not exit 0. */
function runOk(cmd, args, cwd) {
  const r = run(cmd, args, cwd);
  if (r.status !== 0) throw new CheckError(`${cmd} ${args.join(' ')} exited ${r.status}`, r.output);
  return r;
}

class CheckError extends Error {
  constructor(message, details = '') {
    super(message);
    this.details = details;
  }
}

const results = [];
function pass(name, note) {
  results.push(true);
  console.log(`ok  ${name}${note ? `  (${note})` : ''}`);
}
function fail(name, error) {
  results.push(false);
  console.log(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`);
  // CheckError here and in check-runtimes.mjs: `details` holds the command's output.
  const details = typeof error?.details === 'string' ? error.details : error instanceof Error ? error.stack : '';
  if (details) console.log(details.replace(/^/gm, '     | '));
}
function check(name, fn) {
  try {
    pass(name, fn());
  } catch (error) {
    fail(name, error);
  }
}
async function checkAsync(name, fn) {
  try {
    pass(name, await fn());
  } catch (error) {
    fail(name, error);
  }
}

// ---------------------------------------------------------------------------------------
// Start.

rmSync(tmp, { recursive: true, force: true });
mkdirSync(consumer, { recursive: true });

for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
  if (!existsSync(join(root, file))) {
    console.log(`FAIL ${file} is missing: run \`npm run build\` first`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

check('publint --strict', () => {
  const r = run(bin('publint'), ['run', '.', '--strict', '--level', 'suggestion']);
  const flagged = /^(Errors|Warnings|Suggestions):/m.test(r.output);
  if (r.status !== 0 || flagged || !r.output.includes('All good!')) {
    throw new CheckError(`publint reported problems (exit ${r.status})`, r.output);
  }
});

check('attw --pack . (node10, node16 CJS, node16 ESM, bundler)', () => {
  // The default profile, "strict", checks all four resolutions; `--profile node16` would
  // ignore node10, which this package is meant to pass too.
  const r = run(bin('attw'), ['--pack', '.', '--profile', 'strict', '--format', 'ascii', '--no-color', '--no-emoji']);
  if (r.status !== 0 || !/No problems found/.test(r.output)) throw new CheckError(`attw reported problems (exit ${r.status})`, r.output);
});

let tarball;
check('npm pack (tarball holds package.json, docs and dist/ only)', () => {
  const r = runOk('npm', ['pack', '--json', '--pack-destination', tmp]);
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0];
  const files = info.files.map((f) => f.path).sort();
  const required = ['package.json', ...['index', 'fetch', 'node'].flatMap((e) => [`dist/${e}.js`, `dist/${e}.cjs`, `dist/${e}.d.ts`, `dist/${e}.d.cts`])];
  const missing = required.filter((f) => !files.includes(f));
  const allowed = /^(package\.json|README\.md|CHANGELOG\.md|LICENSE(\.md|\.txt)?|dist\/.+)$/;
  const unexpected = files.filter((f) => !allowed.test(f));
  if (missing.length || unexpected.length) {
    throw new CheckError('unexpected tarball contents', [`missing: ${missing.join(', ') || '-'}`, `unexpected: ${unexpected.join(', ') || '-'}`, ...files].join('\n'));
  }
  tarball = join(tmp, info.filename);
  if (!existsSync(tarball)) throw new CheckError(`npm pack did not write ${tarball}`, r.output);
  return `${info.filename}, ${files.length} files, ${(info.size / 1024).toFixed(1)} kB`;
});

// ---------------------------------------------------------------------------------------
// The consumer project.

const vector = loadVector();
const [clientKey, timestamp] = [vector.stringToSign.slice(0, vector.stringToSign.indexOf('|')), vector.stringToSign.slice(vector.stringToSign.indexOf('|') + 1)];

let installed = false;
check(`npm install ${pkg.name}-${pkg.version}.tgz into a scratch consumer`, () => {
  if (!tarball) throw new CheckError('skipped: no tarball');
  writeFileSync(join(consumer, 'package.json'), `${JSON.stringify({ name: 'nicepay-nico-consumer', version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`);
  runOk('npm', ['install', '--no-audit', '--no-fund', tarball], consumer);
  const missing = ['nicepay-nico', ...Object.keys(pkg.dependencies ?? {})].filter((dep) => !existsSync(join(consumer, 'node_modules', dep, 'package.json')));
  if (missing.length) throw new CheckError(`not installed in the consumer: ${missing.join(', ')}`);
  installed = true;
});

/** The runtime check, shared by the ESM and CJS consumers (`importLine` differs). */
const runtimeBody = (importLine, flavour) => `${importLine}

const V = ${JSON.stringify({ ...vector, clientKey, timestamp }, null, 2)};

const key = importPublicKey(V.publicKey, { minModulusBits: 1024 });
assert.equal(key.type, 'rsa-public');
assert.equal(key.bits, 1024);

// The published vector verifies, with the imported key and with the key text.
assert.equal(buildStringToSign(V.clientKey, V.timestamp), V.stringToSign);
assert.equal(verifySignature(key, V.stringToSign, V.signature), true, 'sandbox vector must verify');

// A tampered signature (one base64 character changed, same length) does not; nor does a
// changed message.
const i = 20;
const tampered = V.signature.slice(0, i) + (V.signature[i] === 'A' ? 'B' : 'A') + V.signature.slice(i + 1);
assert.equal(tampered.length, V.signature.length);
assert.equal(verifySignature(key, V.stringToSign, tampered), false, 'tampered signature must not verify');
assert.equal(verifySignature(key, V.stringToSign + ' ', V.signature), false, 'changed message must not verify');

// SnapError carries its SNAP answer.
const error = new SnapError('MISSING_MANDATORY_FIELD', { field: 'X-TIMESTAMP' });
assert.ok(error instanceof Error);
assert.equal(error.responseCode, '4007302');
assert.equal(error.httpStatus, 400);
assert.equal(error.responseMessage, 'Invalid Mandatory Field {X-TIMESTAMP}');
assert.ok(isSnapError(error));

// The whole access-token request, at the vector's own time.
const request = (signature) => ({
  headers: { 'content-type': 'application/json', 'x-timestamp': V.timestamp, 'x-client-key': V.clientKey, 'x-signature': signature },
  body: '{"grantType":"client_credentials"}',
});
const options = { clients: { [V.clientKey]: V.publicKey }, minModulusBits: 1024, now: Date.parse(V.timestamp) };
const verified = verifyAccessTokenRequest(request(V.signature), options);
assert.equal(verified.clientKey, V.clientKey);
assert.equal(verified.body.grantType, 'client_credentials');
assert.throws(
  () => verifyAccessTokenRequest(request(tampered), options),
  (e) => e instanceof SnapError && e.code === 'INVALID_SIGNATURE' && e.responseCode === '4017300',
);

console.log('${flavour} consumer ok');
`;

const NAMES = 'buildStringToSign, importPublicKey, isSnapError, SnapError, verifyAccessTokenRequest, verifySignature';

check(`ESM consumer: import from '${pkg.name}', sandbox vector true, tampered false, SnapError 4007302`, () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  // Fail on any module resolved outside the consumer project (see the header comment).
  writeFileSync(join(consumer, 'guard.mjs'), "import { register } from 'node:module';\nregister('./guard-hooks.mjs', import.meta.url);\n");
  writeFileSync(
    join(consumer, 'guard-hooks.mjs'),
    `const root = new URL('./', import.meta.url).href;
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.startsWith('file:') && !result.url.startsWith(root)) {
    throw new Error(\`\${specifier} resolved outside the consumer project: \${result.url}\`);
  }
  return result;
}
`,
  );
  writeFileSync(join(consumer, 'esm.mjs'), runtimeBody(`import assert from 'node:assert/strict';\nimport { ${NAMES} } from '${pkg.name}';`, 'ESM'));
  const r = runOk(process.execPath, ['--import', './guard.mjs', 'esm.mjs'], consumer);
  if (!r.output.includes('ESM consumer ok')) throw new CheckError('no success line', r.output);
  return `vector from ${vector.source}`;
});

check(`CJS consumer: require('${pkg.name}') under node --no-experimental-require-module`, () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  const cjsTail = `
// Everything loaded must come from the installed package's CJS build (its dependencies are
// bundled in): nothing from outside the consumer project, no ESM-only dependency.
assert.equal(typeof require('${pkg.name}/fetch').createFetchHandler, 'function');
assert.equal(typeof require('${pkg.name}/node').createNodeHandler, 'function');
const path = require('node:path');
const dist = path.join(__dirname, 'node_modules', '${pkg.name}', 'dist') + path.sep;
const loaded = Object.keys(require.cache).filter((f) => f !== __filename);
assert.ok(loaded.includes(dist + 'index.cjs'), 'index.cjs loaded');
const outside = loaded.filter((f) => !(f.startsWith(dist) && f.endsWith('.cjs')));
assert.deepEqual(outside, [], 'require.cache outside the package CJS build: ' + outside.join(', '));
`;
  writeFileSync(join(consumer, 'cjs.cjs'), runtimeBody(`'use strict';\nconst assert = require('node:assert/strict');\nconst { ${NAMES} } = require('${pkg.name}');`, 'CJS') + cjsTail);
  const r = runOk(process.execPath, ['--no-experimental-require-module', 'cjs.cjs'], consumer);
  if (!r.output.includes('CJS consumer ok')) throw new CheckError('no success line', r.output);
});

// ---------------------------------------------------------------------------------------
// The same package answering a signed request over HTTP on Node (ESM, CJS), Bun, Deno and
// workerd: one check per runtime, see scripts/check-runtimes.mjs. Without the installed
// package each of them fails as skipped.

await checkRuntimes({ consumer, check: checkAsync });

// ---------------------------------------------------------------------------------------
// TypeScript consumers, type-checked with the repository's own compiler.

const typedBody = (importLine) => `${importLine}

const k: RsaPublicKey = importPublicKey(${JSON.stringify(vector.publicKey)}, { minModulusBits: 1024 });
const bits: number = k.bits;
const ok: boolean = verifySignature(k, buildStringToSign(${JSON.stringify(clientKey)}, ${JSON.stringify(timestamp)}), ${JSON.stringify(vector.signature)});

const options: AccessTokenVerifyOptions = { clients: { ${JSON.stringify(clientKey)}: k }, minModulusBits: 1024, now: new Date() };
try {
  const verified: VerifiedAccessTokenRequest = verifyAccessTokenRequest(
    { headers: { 'Content-Type': 'application/json' }, body: '{"grantType":"client_credentials"}' },
    options,
  );
  const clientKey: string = verified.clientKey;
  const grantType: 'client_credentials' = verified.body.grantType;
  void clientKey;
  void grantType;
} catch (e) {
  if (e instanceof SnapError) {
    const c: SnapErrorCode = e.code;
    const status: number = e.httpStatus;
    const body: { responseCode: string; responseMessage: string } = e.toResponseBody();
    void c;
    void status;
    void body;
  }
}

// The type check is live: this line must be an error (timestamp must be a string).
// @ts-expect-error
buildStringToSign(${JSON.stringify(clientKey)}, 1700000000);

void bits;
void ok;
export {};
`;

const TYPE_NAMES = 'buildStringToSign, importPublicKey, SnapError, verifyAccessTokenRequest, verifySignature';
const TYPE_ONLY = 'type AccessTokenVerifyOptions, type RsaPublicKey, type SnapErrorCode, type VerifiedAccessTokenRequest';
const strictOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: false, // the shipped .d.ts/.d.cts must compile under a strict consumer
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  target: 'es2022',
  lib: ['es2022'], // no DOM, no @types/node: the declarations must not need either
  types: [],
};

/** Type-check one consumer; `declarations` is the file of the package it must resolve to. */
function typeCheck(name, file, compilerOptions, declarations) {
  const config = join(consumer, `tsconfig.${name}.json`);
  writeFileSync(config, `${JSON.stringify({ compilerOptions: { ...strictOptions, ...compilerOptions }, files: [file] }, null, 2)}\n`);
  const r = runOk(bin('tsc'), ['-p', config, '--listFiles'], consumer);
  const wanted = join(consumer, 'node_modules', pkg.name, 'dist', declarations);
  if (!r.output.split(/\r?\n/).some((line) => resolve(line.trim()) === wanted)) {
    throw new CheckError(`did not resolve '${pkg.name}' to dist/${declarations}`, r.output);
  }
  return `resolved dist/${declarations}`;
}

check('tsc: nodenext, ESM consumer (.ts in a "type": "module" project)', () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  writeFileSync(join(consumer, 'esm.ts'), typedBody(`import { ${TYPE_NAMES}, ${TYPE_ONLY} } from '${pkg.name}';`));
  return typeCheck('esm', 'esm.ts', { module: 'nodenext', moduleResolution: 'nodenext' }, 'index.d.ts');
});

check('tsc: nodenext, CJS consumer (.cts)', () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  writeFileSync(join(consumer, 'cjs.cts'), typedBody(`import { ${TYPE_NAMES}, ${TYPE_ONLY} } from '${pkg.name}';`));
  return typeCheck('cjs', 'cjs.cts', { module: 'nodenext', moduleResolution: 'nodenext' }, 'index.d.cts');
});

check('tsc: bundler resolution', () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  writeFileSync(join(consumer, 'bundler.ts'), typedBody(`import { ${TYPE_NAMES}, ${TYPE_ONLY} } from '${pkg.name}';`));
  return typeCheck('bundler', 'bundler.ts', { module: 'esnext', moduleResolution: 'bundler' }, 'index.d.ts');
});

// The Node adapters against the Node and Express typings merchants have: the structural
// request and response types of `nicepay-nico/node` must accept `http.IncomingMessage` and
// Express's `Request` from every @types/node since 20 (25 changed the event methods) and
// @types/express 4 and 5. Each pair is installed into its own project inside the consumer
// (`types-node<N>-express<M>/`), which finds the package in the consumer's node_modules.

const adapterBody = `import http from 'node:http';
import express from 'express';
import { createAccessTokenIssuer } from '${pkg.name}';
import {
  createExpressMiddleware,
  createExpressTransactionMiddleware,
  createNodeHandler,
  createNodeTransactionHandler,
  type ExpressMiddleware,
} from '${pkg.name}/node';

const options = { clients: { IONPAYTEST: ${JSON.stringify(vector.publicKey)} }, minModulusBits: 1024, tokenSecret: 'a token secret of at least 32 bytes!', bodyTimeoutMs: 10_000 };
const common = { clients: { IONPAYTEST: { clientSecret: 'the client secret' } }, tokens: createAccessTokenIssuer({ secret: 'a token secret of at least 32 bytes!' }) };

// node:http
http.createServer(createNodeHandler(options)).listen(3000);
const inquiry = createNodeTransactionHandler({ ...common, serviceCode: '47', handle: (_call, { answer }) => answer.ok() });
http.createServer((req, res) => void inquiry(req, res));

// Express 4 or 5, after a global express.json() that keeps the raw body
const app = express();
app.use(express.json({ verify: (req, _res, buf) => { (req as { rawBody?: Buffer }).rawBody = buf; } }));
const accessToken: ExpressMiddleware = createExpressMiddleware(options);
app.all('/api/v1.0/access-token/b2b', accessToken);
app.use('/api/v1.0/access-token/b2b', accessToken.bodyParserErrorHandler);
const payment = createExpressTransactionMiddleware<{ paymentRequestId?: string }>({
  ...common,
  serviceCode: '48',
  idempotency: { key: ({ body }) => body.paymentRequestId },
  handle: ({ body }, { answer }) => answer.ok({ paymentRequestId: body.paymentRequestId ?? null }),
});
app.all('/api/v1.0/cvs/payment', payment);
app.use('/api/v1.0/cvs/payment', payment.bodyParserErrorHandler);
app.post('/orders', (req, res) => {
  res.json(req.body);
});
app.listen(3001);

// The type check is live: this line must be an error (a string is not a request).
// @ts-expect-error
void createNodeHandler(options)('not a request', new http.ServerResponse(new http.IncomingMessage(null as never)));
`;

const ADAPTER_TYPINGS = [
  ['20', '4'],
  ['20', '5'],
  ['25', '4'],
  ['25', '5'],
  ['latest', '4'],
  ['latest', '5'],
];

for (const [nodeTypes, expressTypes] of ADAPTER_TYPINGS) {
  check(`tsc: nicepay-nico/node in http.createServer and Express app.all, with @types/node@${nodeTypes} and @types/express@${expressTypes}`, () => {
    if (!installed) throw new CheckError('skipped: package not installed');
    const dir = join(consumer, `types-node${nodeTypes}-express${expressTypes}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: `nicepay-nico-types-${nodeTypes}-${expressTypes}`, version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`);
    runOk('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', `@types/node@${nodeTypes}`, `@types/express@${expressTypes}`], dir);
    const versions = ['node', 'express'].map((name) => JSON.parse(readFileSync(join(dir, 'node_modules', '@types', name, 'package.json'), 'utf8')).version);
    writeFileSync(join(dir, 'adapters.ts'), adapterBody);
    const config = join(dir, 'tsconfig.json');
    const compilerOptions = { ...strictOptions, module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] };
    writeFileSync(config, `${JSON.stringify({ compilerOptions, files: ['adapters.ts'] }, null, 2)}\n`);
    const r = runOk(bin('tsc'), ['-p', config, '--listFiles'], dir);
    const listed = r.output.split(/\r?\n/).map((line) => resolve(line.trim()));
    const wanted = [
      join(consumer, 'node_modules', pkg.name, 'dist', 'node.d.ts'),
      join(dir, 'node_modules', '@types', 'node', 'index.d.ts'),
      join(dir, 'node_modules', '@types', 'express', 'index.d.ts'),
    ];
    const missing = wanted.filter((file) => !listed.includes(file));
    if (missing.length) throw new CheckError(`did not compile against ${missing.join(', ')}`, r.output);
    return `@types/node ${versions[0]}, @types/express ${versions[1]}`;
  });
}

// The README's whole-flow example (examples/nico-server.mjs, included in the README verbatim)
// is plain JavaScript a merchant copies; it must also pass a strict TypeScript check
// (checkJs) against the installed package and the current @types/node.

check("tsc: the README's whole-flow example (examples/nico-server.mjs), strict checkJs, with the current @types/node", () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  const dir = join(consumer, 'types-node' + 'latest' + '-express5');
  if (!existsSync(join(dir, 'node_modules', '@types', 'node'))) throw new CheckError('@types/node@latest is not installed (the adapter typing check above installs it)');
  writeFileSync(join(dir, 'nico-server.mjs'), readFileSync(join(root, 'examples', 'nico-server.mjs'), 'utf8'));
  const config = join(dir, 'tsconfig.whole-flow.json');
  const compilerOptions = { ...strictOptions, allowJs: true, checkJs: true, module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] };
  writeFileSync(config, `${JSON.stringify({ compilerOptions, files: ['nico-server.mjs'] }, null, 2)}\n`);
  runOk(bin('tsc'), ['-p', config], dir);
  const version = JSON.parse(readFileSync(join(dir, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version;
  return `@types/node ${version}`;
});

// ---------------------------------------------------------------------------------------
// The `nicepay-nico` command (bin: dist/cli.js) and the `nicepay-nico/vectors` subpath.

check('bin and vectors: npx nicepay-nico --help, npx nicepay-nico vectors, require() and import of nicepay-nico/vectors', () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  // `--no`: never download, the command must come from the installed tarball; `--` leaves --help to the command.
  const help = runOk('npx', ['--no', '--', 'nicepay-nico', '--help'], consumer);
  if (!/^Commands:$/m.test(help.stdout) || !/^  probe /m.test(help.stdout)) throw new CheckError('--help lists no commands', help.output);
  const printed = runOk('npx', ['--no', '--', 'nicepay-nico', 'vectors'], consumer);
  let fromCli;
  try {
    fromCli = JSON.parse(printed.stdout);
  } catch (error) {
    throw new CheckError(`nicepay-nico vectors did not print JSON (${error.message})`, printed.output);
  }
  const count = fromCli.accessTokenSignatures?.length;
  if (!count) throw new CheckError('nicepay-nico vectors printed no accessTokenSignatures', printed.output);
  const probe = `if (v.accessTokenSignatures.length !== ${count} || v.rsaSandboxKey.bits !== 1024) throw new Error('unexpected vectors');`;
  const cjs = runOk(process.execPath, ['--no-experimental-require-module', '-e', `const v = require('${pkg.name}/vectors').vectors; ${probe} console.log('cjs ok');`], consumer);
  if (!cjs.output.includes('cjs ok')) throw new CheckError('no success line from require()', cjs.output);
  // guard.mjs (written by the ESM consumer check) fails on any module resolved outside the consumer project.
  const esm = runOk(process.execPath, ['--import', './guard.mjs', '--input-type=module', '-e', `import { vectors as v } from '${pkg.name}/vectors'; ${probe} console.log('esm ok');`], consumer);
  if (!esm.output.includes('esm ok')) throw new CheckError('no success line from import', esm.output);
  return `${count} access-token vectors`;
});

// ---------------------------------------------------------------------------------------
// The command against a NICO server built from the installed package, as a merchant would
// run them: the server in its own process, `npx nicepay-nico simulate` and `probe` against it.

check('bin: npx nicepay-nico simulate and probe against a server built from the installed package', () => {
  if (!installed) throw new CheckError('skipped: package not installed');
  writeFileSync(
    join(consumer, 'nico-server.mjs'),
    `import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createAccessTokenIssuer } from '${pkg.name}';
import { createNodeHandler, createNodeTransactionHandler } from '${pkg.name}/node';
import { vectors } from '${pkg.name}/vectors';
const tokenSecret = randomBytes(32).toString('base64');
const clientSecret = vectors.symmetricSignatures[0].clientSecret;
const common = { clients: { IONPAYTEST: { clientSecret } }, tokens: createAccessTokenIssuer({ secret: tokenSecret }), channelId: (id) => id + '01' };
const routes = {
  '/api/v1.0/access-token/b2b': createNodeHandler({ clients: { IONPAYTEST: vectors.rsaSandboxKey.publicKeySpkiBase64 }, minModulusBits: 1024, tokenSecret }),
  '/api/v1.0/cvs/inquiry': createNodeTransactionHandler({ ...common, serviceCode: '47', handle: (_v, { answer }) => answer.ok({}) }),
  '/api/v1.0/cvs/payment': createNodeTransactionHandler({ ...common, serviceCode: '48', idempotency: { key: ({ body }) => body.paymentRequestId }, handle: (_v, { answer }) => answer.ok({}) }),
};
const server = createServer((req, res) => (routes[(req.url ?? '').split('?')[0]] ?? ((_q, r) => r.writeHead(404).end()))(req, res));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`,
  );
  const keyScript = `import { vectors } from '${pkg.name}/vectors'; import { writeFileSync } from 'node:fs';
writeFileSync('sandbox.key', vectors.rsaSandboxKey.privateKeyPkcs8Base64); writeFileSync('client.secret', vectors.symmetricSignatures[0].clientSecret);`;
  runOk(process.execPath, ['--input-type=module', '-e', keyScript], consumer);
  // The server runs in its own process; spawnSync of the command would block this one.
  const server = spawnSync(process.execPath, ['-e', `
const { spawn, spawnSync } = require('node:child_process');
const child = spawn(process.execPath, ['nico-server.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
child.once('exit', (code) => {
  console.error('the server exited (' + code + ') before the command ran');
  process.exit(1);
});
child.stdout.once('data', (chunk) => {
  child.removeAllListeners('exit');
  const base = 'http://127.0.0.1:' + String(chunk).trim();
  const args = [base, '--private-key', 'sandbox.key', '--sandbox', '--client-key', 'IONPAYTEST', '--client-secret-file', 'client.secret'];
  const simulate = spawnSync('npx', ['--no', '--', 'nicepay-nico', 'simulate', ...args], { encoding: 'utf8' });
  const probe = spawnSync('npx', ['--no', '--', 'nicepay-nico', 'probe', ...args], { encoding: 'utf8' });
  child.kill();
  require('node:fs').writeSync(1, simulate.stdout + probe.stdout + simulate.stderr + probe.stderr);
  process.exit(simulate.status === 0 && probe.status === 0 ? 0 : 1);
});
`], { cwd: consumer, encoding: 'utf8', timeout: 120_000 });
  const output = `${server.stdout ?? ''}${server.stderr ?? ''}`;
  if (server.status !== 0) throw new CheckError('simulate or probe did not pass against the installed package', output);
  const steps = /(\d+) steps: (\d+) pass/.exec(output);
  const cases = /(\d+) cases: (\d+) pass/.exec(output);
  if (!steps || !cases) throw new CheckError('no summary line from simulate or probe', output);
  return `simulate ${steps[2]}/${steps[1]} steps pass, probe ${cases[2]}/${cases[1]} cases pass`;
});

// ---------------------------------------------------------------------------------------

const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
