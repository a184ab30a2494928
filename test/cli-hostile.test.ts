/**
 * Hostile servers are harmless to the command: what a server sends is printed with its
 * control characters escaped, and a body is read up to 1 MiB and cut there, however much
 * the server streams.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, send } from '../src/cli/http.js';
import { escapeControl, jsonText } from '../src/cli/output.js';
import { spawn } from 'node:child_process';
import { CLI, ensureBuilt, runCli } from './helpers/cli.js';
import { makeNicoKeys, writeNicoKeyFiles, type NicoKeyFiles } from './helpers/nico-servers.js';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function serve(listener: Listener): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Terminal control: ESC, C1 controls, CR, bidirectional overrides. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const EVIL = 'Gagal\x1b[2J\x1b]0;pwned\x07\r\u009b31m\u202egnp.exe';

/**
 * Answers every request, over a raw socket (node:http refuses to send such bytes), with
 * escape sequences in the status text, a header, and the body: raw in one field of the
 * body, JSON-escaped (so decoded by JSON.parse) in responseCode, responseMessage and the token.
 */
async function serveEvil(): Promise<{ origin: string; close(): Promise<void> }> {
  const body = Buffer.from(
    JSON.stringify({ responseCode: `200\x1b[2J73`, responseMessage: EVIL, accessToken: `tok\x1b[0m${EVIL}`, tokenType: 'Bearer', expiresIn: '900' }).replace(/}$/, ',"raw":"\x1b]0;title\x07\u009b"}'),
    'utf8',
  );
  const head = `HTTP/1.1 200 OK\x1b[31m\r\nContent-Type: application/json\r\nX-Timestamp: 2026-01-01T00:00:00+07:00\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      const length = Number(/content-length: *(\d+)/i.exec(seen)?.[1] ?? 0);
      if (Buffer.byteLength(seen.slice(seen.indexOf('\r\n\r\n') + 4), 'latin1') < length) return;
      socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let files: NicoKeyFiles;
let dir: string;
beforeAll(() => {
  ensureBuilt();
  files = writeNicoKeyFiles(makeNicoKeys());
  dir = mkdtempSync(join(tmpdir(), 'nicepay-nico-hostile-'));
}, 120_000);
afterAll(() => {
  files.remove();
  rmSync(dir, { recursive: true, force: true });
});

const client = () => files.clients.IONPAYTEST as { privateKey: string; clientSecret: string };

describe('escape sequences from a server', () => {
  it('escapeControl makes control, C1 and bidirectional characters visible', () => {
    expect(escapeControl('a\x1b[31mb\rc\u009bd\u202ee\nf')).toBe('a\\x1b[31mb\\rc\\x9bd\\u202ee\\nf');
    expect(escapeControl('line\nnext', true)).toBe('line\nnext');
    expect(escapeControl('plain {"a":"\\u00e9"} é')).toBe('plain {"a":"\\u00e9"} é');
  });

  it('probe, simulate and request print none of them, nor write them into --report and --junit', async () => {
    const server = await serveEvil();
    try {
      const md = join(dir, 'evil.md');
      const xml = join(dir, 'evil.xml');
      const args = [server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST', '--client-secret-file', client().clientSecret];
      const runs = [
        await runCli(['probe', ...args, '--report', md, '--junit', xml]),
        await runCli(['simulate', ...args]),
        await runCli(['request', server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST']),
        await runCli(['request', '--transaction', `${server.origin}/api/v1.0/cvs/inquiry`, ...args.slice(1), '--token', 'abc']),
      ];
      for (const run of runs) {
        expect(run.code).toBe(1);
        expect(run.stdout + run.stderr).not.toMatch(CONTROL);
        expect(run.stdout).toMatch(/\\(x1b|u001b)\[/); // shown, escaped
      }
      for (const file of [md, xml]) expect(readFileSync(file, 'utf8')).not.toMatch(CONTROL);
      expect(readFileSync(xml, 'utf8')).not.toContain('<\\x1b');
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe('bodies without end', () => {
  /** Streams zeros for as long as the client reads. */
  const endless: Listener = (req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x30);
    const pump = (): void => {
      while (res.write(chunk)) {
        if (res.destroyed) return;
      }
      res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  };

  it('send() reads 1 MiB of a multi-GB body and stops, without waiting for the rest', async () => {
    const server = await serve(endless);
    try {
      const started = performance.now();
      const exchange = await send(`${server.origin}/`, { method: 'POST', headers: {} }, 10_000);
      expect(exchange.ok).toBe(true);
      if (!exchange.ok) return;
      expect(exchange.truncated).toBe(true);
      expect(exchange.bodyText.length).toBe(MAX_RESPONSE_BYTES);
      // At the loopback's speed the whole "body" would be gigabytes; the read stops at 1 MiB.
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('the command ends with a verdict, not a hang, and says the body was cut', async () => {
    const server = await serve(endless);
    try {
      const result = await runCli(['request', server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/cut at 1048576 characters: the body is longer than 1 MiB/);
      expect(result.stdout).toMatch(/problem: response body is longer than 1048576 characters \(cut there, not read further\)/);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('a body dripped one byte a second ends at --timeout', async () => {
    const server = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 1000);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const result = await runCli(['request', server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST', '--timeout', '1500']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/no answer: timeout: no complete answer within 1500 ms/);
    } finally {
      await server.close();
    }
  }, 30_000);
});

describe('redirects', () => {
  it('are not followed: the 3xx is the answer', async () => {
    let followed = false;
    const target = await serve((req, res) => {
      followed = true;
      res.end();
    });
    const server = await serve((req, res) => {
      req.resume();
      res.writeHead(307, { Location: `${target.origin}/steal` }).end();
    });
    try {
      const secretFile = join(dir, 'secret');
      writeFileSync(secretFile, 'a-client-secret');
      const result = await runCli(['probe', server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST', '--endpoints', 'token']);
      expect(result.code).toBe(1);
      expect(followed).toBe(false);
    } finally {
      await server.close();
      await target.close();
    }
  }, 30_000);
});

describe('found by attacking the command (kept as tests)', () => {
  const TOKEN = 'SECRETTOKEN0123456789abcdef0123';
  /** Echoes the request's Authorization and X-SIGNATURE into its body and headers, and answers the token request with TOKEN. */
  const echo: Listener = (req, res) => {
    req.resume();
    req.on('end', () => {
      const isToken = (req.url ?? '').includes('access-token');
      const sc = isToken ? '73' : (req.url ?? '').includes('payment') ? '48' : '47';
      const stamp = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 19) + '+07:00';
      const echoed = `${req.headers.authorization ?? ''} ${String(req.headers['x-signature'] ?? '')}`;
      const body: Record<string, unknown> = { responseCode: isToken ? '2007300' : `200${sc}00`, responseMessage: `echo ${echoed}`, echo: req.headers };
      if (isToken) Object.assign(body, { accessToken: TOKEN, tokenType: 'Bearer', expiresIn: 900 });
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-TIMESTAMP': stamp, 'X-Echo': echoed, 'X-CLIENT-KEY': 'IONPAYTEST' }).end(JSON.stringify(body));
    });
  };

  it('hides the access token and every signature sent, wherever a server echoes them: terminal, --json, --report', async () => {
    const server = await serve(echo);
    try {
      const md = join(dir, 'echo.md');
      const args = [server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST', '--client-secret-file', client().clientSecret];
      const runs = [await runCli(['probe', ...args, '--report', md]), await runCli(['probe', ...args, '--json']), await runCli(['simulate', ...args, '--json'])];
      const texts = [...runs.map((r) => r.stdout + r.stderr), readFileSync(md, 'utf8')];
      for (const text of texts) {
        expect(text).not.toContain(TOKEN);
        // No X-SIGNATURE value (88 base64 characters for HMAC, 344 for RSA-2048) anywhere.
        expect(text).not.toMatch(/[A-Za-z0-9+/]{86}==/);
      }
      expect(texts[0]).toContain('<redacted, 31 characters>');
    } finally {
      await server.close();
    }
  }, 60_000);

  it('request exits 1 when a 2007300 answer breaks the protocol (expiresIn a number)', async () => {
    const server = await serve(echo);
    try {
      const result = await runCli(['request', server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/2007300, but the answer is not what the protocol requires:\n {2}problem: expiresIn is number 900/);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('--json output is the same JSON, with C1, format characters and lone surrogates as \\u escapes', () => {
    const value = { message: 'a\u009b\u202e\ufeff\uffff\ud800z\n\x1b', nested: [{ ok: 'é😀' }] };
    const text = jsonText(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).not.toMatch(CONTROL);
    expect(text).toContain('\\u009b');
  });

  it('escapes noncharacters and lone surrogates, so --junit stays well-formed XML', () => {
    expect(escapeControl('a\uffffb\ufffec\ud800d')).toBe('a\\uffffb\\ufffec\\ud800d');
    expect(escapeControl('😀')).toBe('😀');
  });

  it('a path option cannot send the credentials to another server', async () => {
    let hit = false;
    const catcher = await serve((req, res) => {
      hit = true;
      res.end();
    });
    try {
      const host = new URL(catcher.origin).host;
      for (const path of [`//${host}/steal`, `/\\${host}/steal`]) {
        const result = await runCli(['simulate', 'http://127.0.0.1:9', '--private-key', client().privateKey, '--client-key', 'IONPAYTEST', '--client-secret-file', client().clientSecret, '--inquiry-path', path]);
        expect([result.code, result.stderr]).toEqual([2, expect.stringMatching(/--inquiry-path must be a path on BASE_URL's server/)]);
      }
      expect(hit).toBe(false);
    } finally {
      await catcher.close();
    }
  }, 30_000);

  it('a body template that is not JSON, or a report that cannot be written, is a usage error before any request', async () => {
    let requests = 0;
    const server = await serve((req, res) => {
      requests += 1;
      res.end();
    });
    try {
      const notJson = join(dir, 'not-json.txt');
      writeFileSync(notJson, 'paymentCode={{payNo}}');
      const base = ['probe', server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST', '--client-secret-file', client().clientSecret];
      const bad = await runCli([...base, '--inquiry-body', notJson]);
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/--inquiry-body is not JSON once \{\{payNo\}\}/)]);
      const unwritable = await runCli([...base, '--report', join(dir, 'no-such-dir', 'r.md')]);
      expect([unwritable.code, unwritable.stderr]).toEqual([2, expect.stringMatching(/cannot write --report .*: its directory does not exist/)]);
      const bodyHash = await runCli(['request', '--transaction', `${server.origin}/api/v1.0/cvs/inquiry`, '--client-key', 'IONPAYTEST', '--client-secret-file', client().clientSecret, '--private-key', client().privateKey, '--body-file', notJson]);
      expect([bodyHash.code, bodyHash.stderr]).toEqual([2, expect.stringMatching(/is not JSON; use --body-hash as-sent/)]);
      expect(requests).toBe(0);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('a user name and password in the URL are refused without being repeated', async () => {
    const result = await runCli(['request', 'http://user:s3cretpw@127.0.0.1:9/', '--private-key', client().privateKey, '--client-key', 'IONPAYTEST']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/must not carry a user name or password/);
    expect(result.stderr).not.toContain('s3cretpw');
  }, 30_000);

  it('server text cannot add links, images or HTML to the Markdown report', async () => {
    const server = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"responseCode":"2007300","responseMessage":"ok","tokenType":"<img src=x onerror=alert(1)>[click](javascript:alert(2))"}');
    });
    try {
      const md = join(dir, 'html.md');
      await runCli(['probe', server.origin, '--private-key', client().privateKey, '--client-key', 'IONPAYTEST', '--endpoints', 'token', '--report', md]);
      const outsideFences = readFileSync(md, 'utf8').replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '');
      expect(outsideFences).toContain('tokenType is');
      expect(outsideFences).not.toMatch(/<img|\[click\]\(/);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('a closed stdout (| head -1) does not cut the run short: the reports are written and the exit code is the run\'s', async () => {
    const server = await serve((req, res) => {
      req.resume();
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"responseCode":"5007300","responseMessage":"General Error"}');
    });
    try {
      const xml = join(dir, 'pipe.xml');
      const script = `node ${JSON.stringify(CLI)} probe ${server.origin} --private-key ${JSON.stringify(client().privateKey)} --client-key IONPAYTEST --endpoints token --junit ${JSON.stringify(xml)} | head -1; exit \${PIPESTATUS[0]}`;
      // Asynchronously: the server runs in this process.
      const status = await new Promise<number | null>((resolve) => spawn('bash', ['-c', script], { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } }).on('close', resolve));
      expect(status).toBe(1);
      expect(readFileSync(xml, 'utf8')).toMatch(/<testsuites name="nicepay-nico probe" tests="21" failures="21"/);
    } finally {
      await server.close();
    }
  }, 30_000);
});
