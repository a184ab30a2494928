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
import { escapeControl } from '../src/cli/output.js';
import { ensureBuilt, runCli } from './helpers/cli.js';
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
