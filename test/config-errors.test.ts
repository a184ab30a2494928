/**
 * Configuration mistakes are loud (issue 11): what an unset environment variable makes of an
 * option is refused at creation, naming the option and the client, never the value; and a
 * 500 with no onError is printed to console.error once per cause, with nothing secret.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import {
  buildSymmetricStringToSign,
  createAccessTokenHandler,
  createAccessTokenIssuer,
  createMemoryClaimStore,
  createTransactionHandler,
  formatTimestamp,
  handleAccessTokenRequest,
  KeyImportError,
  signSymmetric,
  type AccessTokenHandlerOptions,
  type TransactionHandlerOptions,
} from '../src/index.js';
import { createFetchHandler, createFetchTransactionHandler } from '../src/adapters/fetch.js';
import { createExpressMiddleware, createNodeHandler, createNodeTransactionHandler } from '../src/adapters/node.js';
import { ACCESS_TOKEN_BODY, makeKeys, signedHeaders } from './helpers/nicepay.js';

const keys = makeKeys();
const CLIENT = 'IONPAYTEST';
const TOKEN_SECRET = 'token-secret-of-at-least-thirty-two-bytes-CFG';
const CLIENT_SECRET = 'client-secret-of-the-sandbox-CFG';
const NOW = Date.UTC(2024, 10, 13, 3, 0, 0);
const TS = formatTimestamp(NOW);
const issuer = createAccessTokenIssuer({ secret: TOKEN_SECRET });
const TOKEN = issuer.issue(CLIENT, NOW - 60_000);
const OK = { responseCode: '2004800', responseMessage: 'Successful' };

const env: Record<string, string | undefined> = {}; // an environment where nothing is set

const at = (options: Record<string, unknown>) => () => createAccessTokenHandler({ tokenSecret: TOKEN_SECRET, ...options } as unknown as AccessTokenHandlerOptions);
const tx = (options: Record<string, unknown>) => () =>
  createTransactionHandler({ serviceCode: '48', tokens: issuer, handle: () => OK, ...options } as unknown as TransactionHandlerOptions);

/** `f` throws a `TypeError` (or subclass) whose message is exactly `message`. */
function throwsExactly(f: () => unknown, message: string, type: new (...args: never[]) => Error = TypeError): void {
  let thrown: unknown;
  try {
    f();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as Error).message).toBe(message);
}

describe('access-token handler: an unset environment variable is refused at creation', () => {
  it('a client whose public key is undefined, null or empty, naming the client', () => {
    throwsExactly(at({ clients: { X: env.NICEPAY_PUBLIC_KEY } }), 'createAccessTokenHandler: client "X": the public key is undefined (an unset environment variable?)');
    throwsExactly(at({ clients: { X: null } }), 'createAccessTokenHandler: client "X": the public key is null (an unset environment variable?)');
    throwsExactly(at({ clients: { X: '' } }), 'createAccessTokenHandler: client "X": the public key is an empty string (an unset environment variable?)');
    throwsExactly(at({ clients: { [CLIENT]: keys.publicKeyPem, X: ' \n' } }), 'createAccessTokenHandler: client "X": the public key is only whitespace (an unset environment variable?)');
  });

  it('an unset variable as the client key, an empty map, a key NICEPAY cannot send', () => {
    throwsExactly(
      at({ clients: { [String(env.NICEPAY_CLIENT_KEY)]: keys.publicKeyPem } }),
      'createAccessTokenHandler: clients has the client "undefined", which is what an unset environment variable makes of a key ({ [process.env.NAME]: ... }); set the X-CLIENT-KEY NICEPAY sends, e.g. IONPAYTEST',
    );
    throwsExactly(at({ clients: {} }), 'createAccessTokenHandler: clients is empty: configure at least one client, { [X-CLIENT-KEY]: ... } (or give a lookup function for clients loaded later)');
    throwsExactly(
      at({ clients: { 'IONPAYTEST\n': keys.publicKeyPem } }),
      'createAccessTokenHandler: client "IONPAYTEST\\n" is not an X-CLIENT-KEY NICEPAY can send: 1-128 visible ASCII characters without "|" or "," (a space or line break from an environment variable?)',
    );
  });

  it('a key that cannot be imported names its client (KeyImportError, code kept)', () => {
    let thrown: unknown;
    try {
      at({ clients: { [CLIENT]: keys.publicKeyPem, OTHER: 'not a key' } })();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KeyImportError);
    expect((thrown as Error).message).toMatch(/^createAccessTokenHandler: the public key of client "OTHER": .*neither PEM/);
  });

  it('tokenSecret: named as the option, with its index in a rotation, never "secret 0", never the value', () => {
    const messages: string[] = [];
    const expectMessage = (options: Record<string, unknown>, message: string, type: new (...args: never[]) => Error = TypeError) => {
      throwsExactly(() => createAccessTokenHandler({ clients: { [CLIENT]: keys.publicKeyPem }, ...options } as unknown as AccessTokenHandlerOptions), message, type);
      messages.push(message);
    };
    expectMessage({ tokenSecret: env.TOKEN_SECRET }, 'createAccessTokenHandler: tokenSecret is undefined (an unset environment variable?); give tokenSecret (at least 32 bytes) or issueToken');
    expectMessage({ tokenSecret: '' }, 'createAccessTokenHandler: tokenSecret is an empty string (an unset environment variable?)');
    expectMessage({ tokenSecret: [TOKEN_SECRET, env.OLD_TOKEN_SECRET] }, 'createAccessTokenHandler: tokenSecret[1] is undefined (an unset environment variable?)');
    expectMessage(
      { tokenSecret: 'short-secret' },
      'createAccessTokenHandler: tokenSecret is 12 bytes; at least 32 are required. Generate one with: node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))"',
      RangeError,
    );
    expectMessage(
      { tokenSecret: [TOKEN_SECRET, 'old-short-secret'] },
      'createAccessTokenHandler: tokenSecret[1] is 16 bytes; at least 32 are required. Generate one with: node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))"',
      RangeError,
    );
    expectMessage({ tokenSecret: 42 }, 'createAccessTokenHandler: tokenSecret must be a string or Uint8Array, got a number');
    expectMessage({ tokenSecret: [] }, 'createAccessTokenHandler: tokenSecret must be a secret or a non-empty array of secrets (the first signs)');
    for (const message of messages) {
      expect(message).not.toMatch(/secret \d/);
      expect(message).not.toContain('short-secret');
    }
  });

  it('the issuer names its own options the same way', () => {
    throwsExactly(() => createAccessTokenIssuer({ secret: env.TOKEN_SECRET as string }), 'createAccessTokenIssuer: secret is undefined (an unset environment variable?)');
    throwsExactly(() => createAccessTokenIssuer({ secrets: [TOKEN_SECRET, ''] }), 'createAccessTokenIssuer: secrets[1] is an empty string (an unset environment variable?)');
    expect(() => createAccessTokenIssuer({ secret: 'x'.repeat(31) })).toThrow(/^createAccessTokenIssuer: secret is 31 bytes; at least 32 are required/);
  });

  it('the adapters refuse the same at creation', () => {
    const options = { clients: { X: env.NICEPAY_PUBLIC_KEY }, tokenSecret: TOKEN_SECRET } as unknown as AccessTokenHandlerOptions;
    for (const create of [createNodeHandler, createExpressMiddleware, createFetchHandler]) {
      expect(() => create(options)).toThrow('client "X": the public key is undefined (an unset environment variable?)');
    }
  });
});

describe('transaction handler: an unset environment variable is refused at creation', () => {
  it('a client that is undefined, or whose clientSecret or publicKey is unset, naming the client', () => {
    throwsExactly(tx({ clients: { X: undefined } }), 'createTransactionHandler: client "X": the client is undefined (an unset environment variable?); it must be { clientSecret?, publicKey? }');
    throwsExactly(tx({ clients: { X: { clientSecret: env.NICEPAY_CLIENT_SECRET } } }), 'createTransactionHandler: client "X": the clientSecret is undefined (an unset environment variable?)');
    throwsExactly(tx({ clients: { X: { clientSecret: '' } } }), 'createTransactionHandler: client "X": the clientSecret is an empty string (an unset environment variable?)');
    // Even with the other credential set: an explicit undefined is a mistake, not "not used".
    throwsExactly(tx({ clients: { X: { clientSecret: CLIENT_SECRET, publicKey: env.NICEPAY_PUBLIC_KEY } } }), 'createTransactionHandler: client "X": the publicKey is undefined (an unset environment variable?)');
    throwsExactly(tx({ clients: { X: { clientSecret: 12345 } } }), 'createTransactionHandler: client "X": the clientSecret must be a string (its UTF-8 bytes are the HMAC key), got number');
  });

  it('an unset variable as the partner id, an empty map', () => {
    throwsExactly(
      tx({ clients: { [String(env.NICEPAY_CLIENT_KEY)]: { clientSecret: CLIENT_SECRET } } }),
      'createTransactionHandler: clients has the client "undefined", which is what an unset environment variable makes of a key ({ [process.env.NAME]: ... }); set the X-PARTNER-ID NICEPAY sends, e.g. IONPAYTEST',
    );
    throwsExactly(tx({ clients: {} }), 'createTransactionHandler: clients is empty: configure at least one client, { [X-PARTNER-ID]: ... } (or give a lookup function for clients loaded later)');
  });

  it('a client secret never appears in a message', () => {
    for (const options of [{ clients: { 'A B': { clientSecret: CLIENT_SECRET } } }, { clients: { X: { clientSecret: CLIENT_SECRET, publicKey: 'not a key' } } }]) {
      expect(tx(options)).toThrow();
      try {
        tx(options)();
      } catch (error) {
        expect((error as Error).message).not.toContain(CLIENT_SECRET);
      }
    }
  });

  it('the adapters refuse the same at creation', () => {
    const options = { serviceCode: '48', tokens: issuer, handle: () => OK, clients: { X: undefined } } as unknown as TransactionHandlerOptions;
    for (const create of [createNodeTransactionHandler, createFetchTransactionHandler]) {
      expect(() => create(options)).toThrow('client "X": the client is undefined (an unset environment variable?)');
    }
  });
});

// ---------------------------------------------------------------------------------------
// A 500 with no onError is printed, once per cause

describe('a 500 without onError goes to console.error, once per cause, nothing secret', () => {
  let print: MockInstance;
  beforeEach(() => {
    print = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    print.mockRestore();
  });
  const lines = () => print.mock.calls.map((c) => String(c[0]));

  const atRequest = (second = 0) => ({ method: 'POST', path: '/api/v1.0/access-token/b2b', headers: signedHeaders(keys.privateKey, CLIENT, formatTimestamp(NOW + second * 1000)), body: ACCESS_TOKEN_BODY });

  it('access token: each cause once, the merchant error by its class only; 4xx never; nothing with onError', async () => {
    let fail = 'lookup';
    const handler = createAccessTokenHandler({
      clients: async (key) => {
        if (fail === 'lookup') throw new Error(`db password hunter2 for ${key}`);
        return key === CLIENT ? keys.publicKeyPem : undefined;
      },
      tokenSecret: TOKEN_SECRET,
      now: () => NOW,
      replayCache: false,
    });
    for (let i = 0; i < 3; i++) expect((await handler(atRequest())).status).toBe(500);
    expect(lines()).toEqual([
      'nicepay-nico: createAccessTokenHandler answered 500 5007300 (CALLBACK_FAILED): clients lookup failed: it threw an Error (its message is not printed: give onError to see it). ' +
        'Each cause is printed once; give onError(error, context) to see every failure.',
    ]);
    // Another cause: printed once too.
    fail = 'none';
    for (let i = 0; i < 2; i++) expect((await handler({ ...atRequest(), body: { grantType: 'client_credentials' } } as never)).status).toBe(500);
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatch(/^nicepay-nico: createAccessTokenHandler answered 500 5007300 \(GENERAL_ERROR\): TypeError: verifyAccessTokenRequest: request\.body must be the raw body/);
    // Refusals are the caller's, not a fault: never printed.
    expect((await handler({ ...atRequest(), method: 'GET' })).status).toBe(405);
    expect((await handler({ ...atRequest(), headers: { ...atRequest().headers, 'X-SIGNATURE': 'x' } })).status).toBe(401);
    expect(lines()).toHaveLength(2);
    for (const line of lines()) {
      for (const secret of ['hunter2', TOKEN_SECRET, atRequest().headers['X-SIGNATURE'] as string]) expect(line).not.toContain(secret);
    }
    // With onError, nothing is printed.
    const onError = vi.fn();
    const quiet = createAccessTokenHandler({ clients: async () => { throw new Error('down'); }, tokenSecret: TOKEN_SECRET, now: () => NOW, replayCache: false, onError });
    expect((await quiet(atRequest())).status).toBe(500);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(lines()).toHaveLength(2);
  });

  it('a store failure is printed even when the answer stands (a keep that failed after a 200)', async () => {
    const inner = createMemoryClaimStore({ now: () => NOW });
    const replayCache = { claim: inner.claim, reserve: inner.reserve, release: inner.release, keep: () => { throw new Error('redis went away'); } };
    const handler = createAccessTokenHandler({ clients: { [CLIENT]: keys.publicKeyPem }, tokenSecret: TOKEN_SECRET, now: () => NOW, replayCache });
    expect((await handler(atRequest(1))).status).toBe(200);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(/^nicepay-nico: createAccessTokenHandler answered 200 2007300 \(STORE_FAILED\): StoreError STORE_FAILED: replayCache\.keep failed \(see cause\).*\(cause: an Error \(its message is not printed/);
    expect(lines()[0]).not.toContain('redis went away');
  });

  it('transaction: handle() throwing is printed once, without its message, the token or the secret', async () => {
    const handler = createTransactionHandler({
      serviceCode: '48',
      clients: { [CLIENT]: { clientSecret: CLIENT_SECRET } },
      tokens: issuer,
      now: () => NOW,
      replayCache: false,
      externalIds: false,
      handle: () => {
        throw new Error(`cannot pay with ${TOKEN} and ${CLIENT_SECRET}`);
      },
    });
    const body = '{"paymentRequestId":"PAY-1"}';
    const signature = signSymmetric(CLIENT_SECRET, buildSymmetricStringToSign({ method: 'POST', path: '/api/v1.0/cvs/payment', accessToken: TOKEN, body, timestamp: TS }));
    const request = {
      method: 'POST',
      path: '/api/v1.0/cvs/payment',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, 'X-TIMESTAMP': TS, 'X-PARTNER-ID': CLIENT, 'X-EXTERNAL-ID': 'X-1', 'X-SIGNATURE': signature },
      body,
    };
    for (let i = 0; i < 3; i++) expect((await handler(request)).status).toBe(500);
    expect(lines()).toEqual([
      'nicepay-nico: createTransactionHandler answered 500 5004800 (HANDLE_FAILED): handle() failed: it threw an Error (its message is not printed: give onError to see it). ' +
        'Each cause is printed once; give onError(error, context) to see every failure.',
    ]);
    for (const secret of [TOKEN, CLIENT_SECRET, signature, 'PAY-1']) expect(lines()[0]).not.toContain(secret);
  });

  it('handleAccessTokenRequest with bad options and no onError: printed once for the process', async () => {
    const options = { clients: { [CLIENT]: keys.publicKeyPem }, tokenSecret: 'short-secret-XYZ' } as AccessTokenHandlerOptions;
    for (let i = 0; i < 3; i++) expect((await handleAccessTokenRequest(atRequest(), options)).status).toBe(500);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(/^nicepay-nico: handleAccessTokenRequest answered 500 5007300 \(GENERAL_ERROR\): RangeError: createAccessTokenHandler: tokenSecret is 16 bytes/);
    expect(lines()[0]).not.toContain('short-secret-XYZ');
  });
});

describe('found by attacking the configuration (kept as tests)', () => {
  it('a client secret with a final line break (read from a file) is refused at creation, naming the client, not the value', () => {
    const create = tx({ clients: { [CLIENT]: { clientSecret: `${CLIENT_SECRET}\n` } } });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(`client "IONPAYTEST": the clientSecret starts or ends with whitespace (a line break read from a file?)`);
    try {
      create();
    } catch (error) {
      expect((error as Error).message).not.toContain(CLIENT_SECRET);
    }
  });
});
