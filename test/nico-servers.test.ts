/**
 * The whole-NICO test servers of test/helpers/nico-servers.ts, over real HTTP: NICEPAY is
 * played with the library's own signing functions, the good server answers every check in
 * each signature mode, and each broken server fails exactly the checks of its one defect.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildStringToSign,
  buildSymmetricStringToSign,
  formatTimestamp,
  importPrivateKey,
  signStringToSign,
  signSymmetric,
  type BodyHashMode,
  type RsaPrivateKey,
} from '../src/index.js';
import {
  ACCESS_TOKEN_PATH,
  BILL,
  BROKEN_NICO_SERVERS,
  DEFAULT_PAY_NO,
  INQUIRY_PATH,
  makeNicoKeys,
  NOT_FOUND_BODY,
  nicoClient,
  PAYMENT_PATH,
  startNicoServer,
  writeNicoKeyFiles,
  type BrokenNicoServerName,
  type NicoKeys,
  type NicoServer,
  type NicoServerOptions,
  type NicoSignatureMode,
} from './helpers/nico-servers.js';

const ION = 'IONPAYTEST';
const OTHER = 'OTHERCLIENT';
const ACCESS_TOKEN_BODY = '{"grantType":"client_credentials","additionalInfo":{}}';

let keys: NicoKeys;

beforeAll(() => {
  keys = makeNicoKeys();
}, 120_000);

// --- NICEPAY's side ----------------------------------------------------------------------

/** How NICEPAY signs the calls after the token. */
type Signing = 'symmetric' | 'asymmetric';

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly headers: Headers;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the checks report the text
  }
  return { status: response.status, text, json, headers: response.headers };
}

const privateKeys = new Map<string, RsaPrivateKey>();
function privateKeyOf(clientKey: string): RsaPrivateKey {
  let key = privateKeys.get(clientKey);
  if (!key) {
    key = importPrivateKey(nicoClient(keys, clientKey).privateKeyPem);
    privateKeys.set(clientKey, key);
  }
  return key;
}

const lastStamps = new WeakMap<NicoServer, number>();

/**
 * An X-TIMESTAMP no other call to `server` used, counting up one second a call from 250 s
 * ago (inside the 300 s window). Each server has its own signature replay store, and two
 * calls of one client stamped in the same second may carry the same signature (always in
 * the asymmetric form, which signs only `X-PARTNER-ID|X-TIMESTAMP`), so each call gets its
 * own second.
 */
function stampFor(server: NicoServer): string {
  const ms = Math.max(Math.floor(Date.now() / 1000) * 1000 - 250_000, (lastStamps.get(server) ?? 0) + 1000);
  lastStamps.set(server, ms);
  return formatTimestamp(ms);
}

let sequence = 0;
const next = (): number => ++sequence;
const newExternalId = (): string => `${Date.now()}${String(next()).padStart(6, '0')}`;
const newPaymentRequestId = (): string => `PAY-${Date.now()}-${next()}`;

const inquiryBody = (paymentCode: string = DEFAULT_PAY_NO): string => JSON.stringify({ partnerServiceId: '  888994', paymentCode, inquiryRequestId: `INQ-${next()}` });
const paymentBody = (paymentRequestId: string): string =>
  JSON.stringify({ partnerServiceId: '  888994', paymentCode: DEFAULT_PAY_NO, paymentRequestId, paidAmount: { value: '25000.00', currency: 'IDR' } });

interface CallOptions {
  readonly externalId?: string;
  /** X-PARTNER-ID; the call is signed with this client's credentials. Default: this NICEPAY's client. */
  readonly partnerId?: string;
  /** Bearer token; default this client's own. */
  readonly token?: string;
  readonly timestamp?: string;
  /** How a symmetric signature hashes the body; default minified (SNAP). */
  readonly bodyHash?: BodyHashMode;
  readonly method?: string;
  /** CHANNEL-ID; default NICEPAY's convention, the X-PARTNER-ID + "01". `null` leaves it out. */
  readonly channelId?: string | null;
}

/** NICEPAY for one client: an access token, then inquiry and payment calls signed in one form. */
class Nicepay {
  private token: string | undefined;

  constructor(
    readonly server: NicoServer,
    readonly clientKey: string,
    readonly signing: Signing,
  ) {}

  /** POST the access-token request, SHA256withRSA over `X-CLIENT-KEY|X-TIMESTAMP`. */
  accessToken(timestamp = stampFor(this.server), method = 'POST'): Promise<Answer> {
    return send(`${this.server.origin}${ACCESS_TOKEN_PATH}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        'X-TIMESTAMP': timestamp,
        'X-CLIENT-KEY': this.clientKey,
        'X-SIGNATURE': signStringToSign(privateKeyOf(this.clientKey), buildStringToSign(this.clientKey, timestamp)),
      },
      ...(method === 'GET' ? {} : { body: ACCESS_TOKEN_BODY }),
    });
  }

  /** This client's token (one access-token request, then kept). */
  async bearer(): Promise<string> {
    if (this.token === undefined) {
      const answer = await this.accessToken();
      if (answer.status !== 200 || typeof answer.json.accessToken !== 'string') throw new Error(`no access token: ${answer.status} ${answer.text}`);
      this.token = answer.json.accessToken;
    }
    return this.token;
  }

  /** A call after the token, signed like NICEPAY with the X-PARTNER-ID's credentials. */
  async call(path: string, body: string, options: CallOptions = {}): Promise<Answer> {
    const method = options.method ?? 'POST';
    const partnerId = options.partnerId ?? this.clientKey;
    const accessToken = options.token ?? (await this.bearer());
    const timestamp = options.timestamp ?? stampFor(this.server);
    const signature =
      this.signing === 'symmetric'
        ? signSymmetric(
            nicoClient(keys, partnerId).clientSecret,
            buildSymmetricStringToSign({ method, path, accessToken, body, timestamp, bodyHash: options.bodyHash ?? 'minified' }),
          )
        : signStringToSign(privateKeyOf(partnerId), buildStringToSign(partnerId, timestamp));
    const channelId = options.channelId === undefined ? `${partnerId}01` : options.channelId;
    return send(`${this.server.origin}${path}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${accessToken}`,
        'X-TIMESTAMP': timestamp,
        'X-PARTNER-ID': partnerId,
        'X-EXTERNAL-ID': options.externalId ?? newExternalId(),
        ...(channelId === null ? {} : { 'CHANNEL-ID': channelId }),
        'X-SIGNATURE': signature,
      },
      ...(method === 'GET' ? {} : { body }),
    });
  }
}

// --- The checks --------------------------------------------------------------------------

interface CheckContext {
  readonly server: NicoServer;
  /** IONPAYTEST. */
  readonly nicepay: Nicepay;
  /** OTHERCLIENT, signing the same way. */
  readonly other: Nicepay;
}

/** Collects what a check found wrong. */
class Problems {
  readonly list: string[] = [];

  answer(label: string, answer: Answer, status: number, responseCode: string): boolean {
    if (answer.status === status && answer.json.responseCode === responseCode) return true;
    this.list.push(`${label}: expected ${status} ${responseCode}, got ${answer.status} ${answer.text}`);
    return false;
  }

  that(label: string, ok: boolean, detail = ''): void {
    if (!ok) this.list.push(`${label}${detail ? `: ${detail}` : ''}`);
  }
}

const paymentsOf = (server: NicoServer, paymentRequestId: string): number =>
  server.processedPayments().filter((p) => p.paymentRequestId === paymentRequestId).length;

/**
 * Every check a NICO merchant endpoint must pass, in order. The servers are started with
 * `failFirstPayment: true`, so the first payment call (in 'retry after a 500') fails.
 */
const CHECKS: Readonly<Record<string, (ctx: CheckContext) => Promise<string[]>>> = {
  async 'access token'({ nicepay }) {
    const p = new Problems();
    const answer = await nicepay.accessToken();
    if (p.answer('access token', answer, 200, '2007300')) {
      p.that('tokenType', answer.json.tokenType === 'Bearer', String(answer.json.tokenType));
      p.that('expiresIn is the string "900"', answer.json.expiresIn === '900', JSON.stringify(answer.json.expiresIn));
      p.that('accessToken', typeof answer.json.accessToken === 'string' && answer.json.accessToken.length > 0);
    }
    return p.list;
  },

  async 'retry after a 500'({ server, nicepay }) {
    const p = new Problems();
    const id = newPaymentRequestId();
    const externalId = newExternalId();
    p.answer('payment while the database is down', await nicepay.call(PAYMENT_PATH, paymentBody(id), { externalId }), 500, '5004800');
    // NICEPAY's retry: the same X-EXTERNAL-ID, a new X-TIMESTAMP and signature.
    p.answer('the retry with the same X-EXTERNAL-ID', await nicepay.call(PAYMENT_PATH, paymentBody(id), { externalId }), 200, '2004800');
    p.that('processed once', paymentsOf(server, id) === 1, `${paymentsOf(server, id)} times`);
    return p.list;
  },

  async inquiry({ nicepay }) {
    const p = new Problems();
    const known = await nicepay.call(INQUIRY_PATH, inquiryBody());
    if (p.answer('inquiry of the known bill', known, 200, '2004700')) {
      p.that('the bill', known.json.paymentCode === DEFAULT_PAY_NO && known.json.customerName === BILL.customerName, known.text);
    }
    p.answer('inquiry of an unknown bill', await nicepay.call(INQUIRY_PATH, inquiryBody('0000000000')), 404, '4044712');
    return p.list;
  },

  async payment({ server, nicepay }) {
    const p = new Problems();
    const id = newPaymentRequestId();
    const answer = await nicepay.call(PAYMENT_PATH, paymentBody(id));
    if (p.answer('payment', answer, 200, '2004800')) {
      p.that('echoes the payment', answer.json.paymentRequestId === id && answer.json.paymentCode === DEFAULT_PAY_NO, answer.text);
    }
    p.that('processed once', paymentsOf(server, id) === 1, `${paymentsOf(server, id)} times`);
    return p.list;
  },

  async 'idempotent payment'({ server, nicepay }) {
    const p = new Problems();
    const id = newPaymentRequestId();
    const first = await nicepay.call(PAYMENT_PATH, paymentBody(id));
    p.answer('payment', first, 200, '2004800');
    const again = await nicepay.call(PAYMENT_PATH, paymentBody(id)); // a new X-EXTERNAL-ID
    if (p.answer('the same paymentRequestId under a new X-EXTERNAL-ID', again, 200, '2004800')) p.that('the same answer', again.text === first.text);
    p.that('processed once', paymentsOf(server, id) === 1, `${paymentsOf(server, id)} times`);
    return p.list;
  },

  async 'repeated X-EXTERNAL-ID'({ server, nicepay }) {
    const p = new Problems();
    const inquiryId = newExternalId();
    p.answer('inquiry', await nicepay.call(INQUIRY_PATH, inquiryBody(), { externalId: inquiryId }), 200, '2004700');
    p.answer('inquiry with its X-EXTERNAL-ID again', await nicepay.call(INQUIRY_PATH, inquiryBody(), { externalId: inquiryId }), 409, '4094700');
    // Another payment (a new paymentRequestId) under a used X-EXTERNAL-ID.
    const paymentId = newExternalId();
    const [first, second] = [newPaymentRequestId(), newPaymentRequestId()];
    p.answer('payment', await nicepay.call(PAYMENT_PATH, paymentBody(first), { externalId: paymentId }), 200, '2004800');
    p.answer('another payment with its X-EXTERNAL-ID', await nicepay.call(PAYMENT_PATH, paymentBody(second), { externalId: paymentId }), 409, '4094800');
    p.that('the second payment not processed', paymentsOf(server, second) === 0);
    // One store for both endpoints: an inquiry's X-EXTERNAL-ID is used for the payment too.
    p.answer('a payment with the inquiry\'s X-EXTERNAL-ID', await nicepay.call(PAYMENT_PATH, paymentBody(newPaymentRequestId()), { externalId: inquiryId }), 409, '4094800');
    return p.list;
  },

  async 'token bound to X-PARTNER-ID'({ nicepay, other }) {
    const p = new Problems();
    p.answer("OTHERCLIENT's own call", await other.call(INQUIRY_PATH, inquiryBody()), 200, '2004700');
    const borrowed = await nicepay.call(INQUIRY_PATH, inquiryBody(), { partnerId: OTHER, token: await nicepay.bearer() });
    p.answer("IONPAYTEST's token on OTHERCLIENT's call", borrowed, 401, '4014701');
    return p.list;
  },

  async 'replayed call'({ server, nicepay }) {
    const p = new Problems();
    const id = newPaymentRequestId();
    const timestamp = stampFor(server);
    p.answer('payment', await nicepay.call(PAYMENT_PATH, paymentBody(id), { timestamp }), 200, '2004800');
    // The same signed request (same X-TIMESTAMP, so the same signature) under a new X-EXTERNAL-ID.
    p.answer('the same signed payment again', await nicepay.call(PAYMENT_PATH, paymentBody(id), { timestamp }), 401, '4014800');
    p.that('processed once', paymentsOf(server, id) === 1, `${paymentsOf(server, id)} times`);
    return p.list;
  },

  async 'CHANNEL-ID'({ nicepay }) {
    const p = new Problems();
    p.answer('inquiry without CHANNEL-ID', await nicepay.call(INQUIRY_PATH, inquiryBody(), { channelId: null }), 400, '4004702');
    p.answer('inquiry with another CHANNEL-ID', await nicepay.call(INQUIRY_PATH, inquiryBody(), { channelId: 'OTHERCLIENT01' }), 400, '4004701');
    return p.list;
  },

  async 'expired token'({ server, nicepay }) {
    const p = new Problems();
    p.answer('inquiry with a token issued 16 minutes ago', await nicepay.call(INQUIRY_PATH, inquiryBody(), { token: server.expiredToken(ION) }), 401, '4014701');
    return p.list;
  },

  async 'stale X-TIMESTAMP'({ nicepay }) {
    const p = new Problems();
    const timestamp = formatTimestamp(Date.now() - 3_600_000 - next() * 1000);
    p.answer('inquiry stamped an hour ago', await nicepay.call(INQUIRY_PATH, inquiryBody(), { timestamp }), 401, '4014700');
    return p.list;
  },

  async 'escaped body'({ nicepay }) {
    const p = new Problems();
    const body = String.raw`{"paymentCode":"8880012345","inquiryRequestId":"INQ\/${next()}","customerName":"Jos\u00e9"}`;
    p.answer('escapes, hashed minified', await nicepay.call(INQUIRY_PATH, body, { bodyHash: 'minified' }), 200, '2004700');
    p.answer('escapes, hashed as sent', await nicepay.call(INQUIRY_PATH, body, { bodyHash: 'as-sent' }), 200, '2004700');
    return p.list;
  },

  async 'decimal body'({ nicepay }) {
    const p = new Problems();
    const body = `{"paymentCode":"8880012345","inquiryRequestId":"INQ-${next()}","amount":1.50}`;
    p.answer('1.50, hashed minified', await nicepay.call(INQUIRY_PATH, body, { bodyHash: 'minified' }), 200, '2004700');
    p.answer('1.50, hashed as sent', await nicepay.call(INQUIRY_PATH, body, { bodyHash: 'as-sent' }), 200, '2004700');
    return p.list;
  },

  async 'spaced body, hashed as sent'({ nicepay }) {
    const p = new Problems();
    const body = `{\n  "paymentCode": "8880012345",\n  "inquiryRequestId": "INQ-${next()}"\n}`;
    p.answer('spaces, hashed as sent', await nicepay.call(INQUIRY_PATH, body, { bodyHash: 'as-sent' }), 200, '2004700');
    return p.list;
  },

  async 'spaced body, hashed minified'({ nicepay }) {
    const p = new Problems();
    const body = `{ "paymentCode": "8880012345", "inquiryRequestId": "INQ-${next()}" }`;
    p.answer('spaces, hashed minified', await nicepay.call(INQUIRY_PATH, body, { bodyHash: 'minified' }), 200, '2004700');
    return p.list;
  },

  async routing({ server, nicepay }) {
    const p = new Problems();
    p.answer('GET on the access-token path', await nicepay.accessToken(stampFor(server), 'GET'), 405, '4057300');
    p.answer('GET on the inquiry path', await nicepay.call(INQUIRY_PATH, '', { method: 'GET' }), 405, '4054700');
    p.answer('GET on the payment path', await nicepay.call(PAYMENT_PATH, '', { method: 'GET' }), 405, '4054800');
    const missing = await send(`${server.origin}/api/v1.0/cvs/unknown`, { method: 'POST', body: '{}' });
    p.that('another path: JSON 404', missing.status === 404 && missing.text === NOT_FOUND_BODY && missing.headers.get('content-type') === 'application/json', `${missing.status} ${missing.text}`);
    return p.list;
  },
};

const CHECK_NAMES = Object.keys(CHECKS);

/** Run every check in order on `server`; returns the problems of each failing check. */
async function runChecks(server: NicoServer, signing: Signing): Promise<Record<string, string[]>> {
  const ctx: CheckContext = { server, nicepay: new Nicepay(server, ION, signing), other: new Nicepay(server, OTHER, signing) };
  const failed: Record<string, string[]> = {};
  for (const [name, check] of Object.entries(CHECKS)) {
    const problems = await check(ctx);
    if (problems.length > 0) failed[name] = problems;
  }
  return failed;
}

async function withServer<T>(start: Promise<NicoServer>, f: (server: NicoServer) => Promise<T>): Promise<T> {
  const server = await start;
  try {
    return await f(server);
  } finally {
    await server.close();
  }
}

const RETRYING: NicoServerOptions = { failFirstPayment: true };

// --- The tests ---------------------------------------------------------------------------

describe('makeNicoKeys and writeNicoKeyFiles', () => {
  it('generates two RSA-2048 clients once, each with its own key pair and secret', () => {
    expect(makeNicoKeys()).toBe(keys);
    expect(keys.clients.map((c) => c.clientKey)).toEqual([ION, OTHER]);
    const [ion, other] = keys.clients;
    expect(ion.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(ion.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(importPrivateKey(ion.privateKeyPem).bits).toBe(2048);
    expect(other.privateKeyPem).not.toBe(ion.privateKeyPem);
    expect(other.clientSecret).not.toBe(ion.clientSecret);
    expect(Buffer.from(ion.clientSecret, 'base64')).toHaveLength(64);
  });

  it('writes each client\'s private key, public key and secret to files', () => {
    const files = writeNicoKeyFiles(keys);
    try {
      for (const client of keys.clients) {
        const written = files.clients[client.clientKey];
        expect(written).toBeDefined();
        if (!written) continue;
        expect(readFileSync(written.privateKey, 'utf8')).toBe(client.privateKeyPem);
        expect(readFileSync(written.publicKey, 'utf8')).toBe(client.publicKeyPem);
        expect(readFileSync(written.clientSecret, 'utf8')).toBe(client.clientSecret);
      }
    } finally {
      files.remove();
    }
  });
});

describe('startNicoServer (the library as a merchant uses it)', () => {
  const runs: ReadonlyArray<readonly [NicoSignatureMode, Signing]> = [
    ['auto', 'symmetric'],
    ['auto', 'asymmetric'],
    ['symmetric', 'symmetric'],
    ['asymmetric', 'asymmetric'],
  ];
  for (const [mode, signing] of runs) {
    it(`passes every check in '${mode}' mode, NICEPAY signing ${signing}`, async () => {
      await withServer(startNicoServer(keys, { ...RETRYING, signature: mode }), async (server) => {
        expect(await runChecks(server, signing)).toEqual({});
      });
    });
  }

  it('walks the flow: token 2007300, inquiry 2004700, payment 2004800, a repeated X-EXTERNAL-ID 409, a 500 then its retry 200, processed once', async () => {
    await withServer(startNicoServer(keys, RETRYING), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      const token = await nicepay.accessToken();
      expect([token.status, token.json.responseCode, token.json.expiresIn]).toEqual([200, '2007300', '900']);
      expect(token.headers.get('x-client-key')).toBe(ION);

      const inquiryId = newExternalId();
      const inquiry = await nicepay.call(INQUIRY_PATH, inquiryBody(), { externalId: inquiryId });
      expect(inquiry.status).toBe(200);
      expect(inquiry.json).toMatchObject({ responseCode: '2004700', responseMessage: 'Successful', paymentCode: DEFAULT_PAY_NO, ...BILL });
      expect((await nicepay.call(INQUIRY_PATH, inquiryBody(), { externalId: inquiryId })).json.responseCode).toBe('4094700');

      const id = newPaymentRequestId();
      const externalId = newExternalId();
      const down = await nicepay.call(PAYMENT_PATH, paymentBody(id), { externalId });
      expect([down.status, down.json]).toEqual([500, { responseCode: '5004800', responseMessage: 'General Error' }]);
      expect(server.processedPayments()).toEqual([]);
      const retry = await nicepay.call(PAYMENT_PATH, paymentBody(id), { externalId });
      expect(retry.status).toBe(200);
      expect(retry.json).toEqual({
        responseCode: '2004800',
        responseMessage: 'Successful',
        paymentCode: DEFAULT_PAY_NO,
        paymentRequestId: id,
        paidAmount: { value: '25000.00', currency: 'IDR' },
      });
      const repeat = await nicepay.call(PAYMENT_PATH, paymentBody(id), { externalId });
      expect([repeat.status, repeat.json.responseCode]).toEqual([409, '4094800']);
      expect(server.processedPayments()).toEqual([
        { clientKey: ION, externalId, paymentCode: DEFAULT_PAY_NO, paymentRequestId: id, paidAmount: { value: '25000.00', currency: 'IDR' } },
      ]);
    });
  });

  it('fails only the first payment, and only with failFirstPayment', async () => {
    await withServer(startNicoServer(keys), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      expect((await nicepay.call(PAYMENT_PATH, paymentBody(newPaymentRequestId()))).status).toBe(200);
      expect(server.processedPayments()).toHaveLength(1);
    });
  });

  it('pins the signature mode: symmetric takes only HMAC-SHA512, asymmetric only SHA256withRSA, auto both', async () => {
    const expected: Record<NicoSignatureMode, Record<Signing, number>> = {
      auto: { symmetric: 200, asymmetric: 200 },
      symmetric: { symmetric: 200, asymmetric: 401 },
      asymmetric: { symmetric: 401, asymmetric: 200 },
    };
    for (const mode of ['auto', 'symmetric', 'asymmetric'] as const) {
      await withServer(startNicoServer(keys, { signature: mode }), async (server) => {
        for (const signing of ['symmetric', 'asymmetric'] as const) {
          const answer = await new Nicepay(server, ION, signing).call(INQUIRY_PATH, inquiryBody());
          expect({ mode, signing, status: answer.status }).toEqual({ mode, signing, status: expected[mode][signing] });
          if (answer.status === 401) expect(answer.json.responseCode).toBe('4014700');
        }
      });
    }
  });

  it('knows the bill given as payNo', async () => {
    await withServer(startNicoServer(keys, { payNo: '1234567890' }), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      expect((await nicepay.call(INQUIRY_PATH, inquiryBody('1234567890'))).json.responseCode).toBe('2004700');
      expect((await nicepay.call(INQUIRY_PATH, inquiryBody(DEFAULT_PAY_NO))).json).toEqual({
        responseCode: '4044712',
        responseMessage: 'Invalid Bill/Virtual Account',
      });
    });
  });
});

describe('BROKEN_NICO_SERVERS', () => {
  /** The checks each defect fails; every other check passes. */
  const FAILS: Readonly<Record<BrokenNicoServerName, readonly string[]>> = {
    'does not bind the token to X-PARTNER-ID': ['token bound to X-PARTNER-ID'],
    'ignores X-EXTERNAL-ID repeats': ['repeated X-EXTERNAL-ID'],
    'hashes a re-serialised body': ['decimal body', 'escaped body', 'spaced body, hashed as sent'],
    'accepts stale timestamps': ['stale X-TIMESTAMP'],
    'answers 500 and keeps the X-EXTERNAL-ID': ['retry after a 500'],
    'answers expiresIn as a number': ['access token'],
  };

  it('has the six defects, each with its checks', () => {
    expect(Object.keys(BROKEN_NICO_SERVERS).sort()).toEqual(Object.keys(FAILS).sort());
    for (const fails of Object.values(FAILS)) for (const name of fails) expect(CHECK_NAMES).toContain(name);
  });

  for (const [name, server] of Object.entries(BROKEN_NICO_SERVERS) as [BrokenNicoServerName, (typeof BROKEN_NICO_SERVERS)[BrokenNicoServerName]][]) {
    it(`'${name}' fails exactly its own checks`, async () => {
      await withServer(server.start(keys, RETRYING), async (running) => {
        const failed = await runChecks(running, 'symmetric');
        expect(Object.keys(failed).sort()).toEqual([...FAILS[name]].sort());
      });
    });
  }

  const start = (name: BrokenNicoServerName, options?: NicoServerOptions) => BROKEN_NICO_SERVERS[name].start(keys, options);

  it("'does not bind the token to X-PARTNER-ID': IONPAYTEST's token works on OTHERCLIENT's calls, an expired one still does not", async () => {
    await withServer(start('does not bind the token to X-PARTNER-ID'), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      const token = await nicepay.bearer();
      const borrowed = await nicepay.call(INQUIRY_PATH, inquiryBody(), { partnerId: OTHER, token });
      expect([borrowed.status, borrowed.json.responseCode]).toEqual([200, '2004700']);
      const asymmetric = await new Nicepay(server, ION, 'asymmetric').call(PAYMENT_PATH, paymentBody(newPaymentRequestId()), { partnerId: OTHER, token });
      expect([asymmetric.status, asymmetric.json.responseCode]).toEqual([200, '2004800']);
      expect(server.processedPayments().map((p) => p.clientKey)).toEqual([OTHER]);
      const expired = await nicepay.call(INQUIRY_PATH, inquiryBody(), { partnerId: OTHER, token: server.expiredToken(ION) });
      expect(expired.json.responseCode).toBe('4014701');
    });
  });

  it("'ignores X-EXTERNAL-ID repeats': a used X-EXTERNAL-ID is processed again", async () => {
    await withServer(start('ignores X-EXTERNAL-ID repeats'), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      const externalId = newExternalId();
      for (let i = 0; i < 2; i++) expect((await nicepay.call(INQUIRY_PATH, inquiryBody(), { externalId })).json.responseCode).toBe('2004700');
      const [first, second] = [newPaymentRequestId(), newPaymentRequestId()];
      expect((await nicepay.call(PAYMENT_PATH, paymentBody(first), { externalId })).json.responseCode).toBe('2004800');
      expect((await nicepay.call(PAYMENT_PATH, paymentBody(second), { externalId })).json.responseCode).toBe('2004800');
      expect(server.processedPayments().map((p) => [p.externalId, p.paymentRequestId])).toEqual([
        [externalId, first],
        [externalId, second],
      ]);
    });
  });

  it("'hashes a re-serialised body': escapes, 1.50 and whitespace hashed as sent are 401; compact bodies and RSA-signed calls pass", async () => {
    await withServer(start('hashes a re-serialised body'), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      const refused = async (body: string, bodyHash: BodyHashMode) => {
        const answer = await nicepay.call(INQUIRY_PATH, body, { bodyHash });
        return [answer.status, answer.json.responseCode, answer.json.responseMessage];
      };
      const unauthorized = [401, '4014700', 'Unauthorized. Signature does not verify'];
      for (const bodyHash of ['minified', 'as-sent'] as const) {
        expect(await refused(String.raw`{"paymentCode":"8880012345","note":"a\/b"}`, bodyHash)).toEqual(unauthorized);
        expect(await refused(String.raw`{"paymentCode":"8880012345","note":"Jos\u00e9"}`, bodyHash)).toEqual(unauthorized);
        expect(await refused('{"paymentCode":"8880012345","amount":1.50}', bodyHash)).toEqual(unauthorized);
        expect((await nicepay.call(INQUIRY_PATH, inquiryBody(), { bodyHash })).json.responseCode).toBe('2004700');
      }
      expect(await refused('{ "paymentCode": "8880012345" }', 'as-sent')).toEqual(unauthorized);
      expect((await nicepay.call(INQUIRY_PATH, '{ "paymentCode": "8880012345" }', { bodyHash: 'minified' })).json.responseCode).toBe('2004700');
      // SHA256withRSA (asymmetric) signs no body: those calls are untouched.
      const rsa = await new Nicepay(server, ION, 'asymmetric').call(INQUIRY_PATH, String.raw`{"paymentCode":"8880012345","note":"a\/b","amount":1.50}`);
      expect(rsa.json.responseCode).toBe('2004700');
      // ... and their body reaches handle() as sent: a 20-digit number keeps its digits.
      const id = newPaymentRequestId();
      const bigNumber = `{"paymentCode":"8880012345","paymentRequestId":"${id}","paidAmount":{"value":12345678901234567890,"currency":"IDR"}}`;
      const payment = await new Nicepay(server, ION, 'asymmetric').call(PAYMENT_PATH, bigNumber);
      expect(payment.json).toMatchObject({ responseCode: '2004800', paidAmount: { value: '12345678901234567890', currency: 'IDR' } });
    });
  });

  it("'hashes a re-serialised body' passes every check when NICEPAY signs with RSA (the body is not signed)", async () => {
    await withServer(start('hashes a re-serialised body', RETRYING), async (server) => {
      expect(await runChecks(server, 'asymmetric')).toEqual({});
    });
  });

  it("'accepts stale timestamps': an inquiry and a payment stamped hours ago are processed; the access token still is not", async () => {
    await withServer(start('accepts stale timestamps'), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      const hoursAgo = (hours: number) => formatTimestamp(Date.now() - hours * 3_600_000 - next() * 1000);
      expect((await nicepay.call(INQUIRY_PATH, inquiryBody(), { timestamp: hoursAgo(1) })).json.responseCode).toBe('2004700');
      expect((await nicepay.call(PAYMENT_PATH, paymentBody(newPaymentRequestId()), { timestamp: hoursAgo(20) })).json.responseCode).toBe('2004800');
      expect(server.processedPayments()).toHaveLength(1);
      const token = await nicepay.accessToken(hoursAgo(1));
      expect([token.status, token.json.responseCode]).toEqual([401, '4017300']);
    });
  });

  it("'answers 500 and keeps the X-EXTERNAL-ID': NICEPAY's retry gets 409 and the payment never goes through", async () => {
    await withServer(start('answers 500 and keeps the X-EXTERNAL-ID'), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      const id = newPaymentRequestId();
      const externalId = newExternalId();
      expect((await nicepay.call(PAYMENT_PATH, paymentBody(id), { externalId })).status).toBe(500);
      for (let i = 0; i < 3; i++) {
        const retry = await nicepay.call(PAYMENT_PATH, paymentBody(id), { externalId });
        expect([retry.status, retry.json.responseCode]).toEqual([409, '4094800']);
      }
      expect(server.processedPayments()).toEqual([]);
    });
  });

  it("'answers expiresIn as a number': expiresIn is 900, and the token works", async () => {
    await withServer(start('answers expiresIn as a number'), async (server) => {
      const nicepay = new Nicepay(server, ION, 'symmetric');
      const answer = await nicepay.accessToken();
      expect(answer.status).toBe(200);
      expect(answer.json.expiresIn).toBe(900);
      expect(answer.text).toContain('"expiresIn":900');
      expect(answer.headers.get('x-timestamp')).toBeTruthy();
      const token = answer.json.accessToken as string;
      expect((await nicepay.call(INQUIRY_PATH, inquiryBody(), { token })).json.responseCode).toBe('2004700');
    });
  });
});
