/**
 * Test helper: a private, throwaway redis-server for one test file.
 *
 * `findRedisServer()` looks for the binary (`redis-server` on PATH, then the usual install
 * paths); `startRedisServer(bin)` runs it on 127.0.0.1 at a free port, without persistence
 * (`--save '' --appendonly no`), in the foreground (`--daemonize no`, so it is our child
 * process), and resolves once it answers (a raw `INFO server` over TCP, checking the process id). `stop()` ends it (SIGTERM, then SIGKILL).
 * With `{ port }`, it runs on that port instead: so a stopped server can be started again
 * where its clients reconnect (without persistence, the new server starts empty).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServerProcess {
  readonly bin: string;
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** The server's output so far (for error messages). */
  output(): string;
  /** Ends the server and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const FALLBACK_PATHS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/opt/homebrew/bin/redis-server'];

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Path of the redis-server binary, or undefined when it is not installed. */
export function findRedisServer(): string | undefined {
  const fromPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'redis-server'));
  return [...fromPath, ...FALLBACK_PATHS].find(isExecutable);
}

/** A port that was free a moment ago (the OS picks it for a throwaway listener). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

/**
 * One raw `INFO server` over TCP: resolves the answering server's process id, or undefined
 * when nothing (or not yet a ready Redis) answers. Checking the pid makes sure the server
 * that answers is ours, not another process that took the port first.
 */
function serverPid(port: number, timeoutMs = 500): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.startsWith('-')) return done(undefined); // an error reply (say, -LOADING)
      const match = /process_id:(\d+)\r\n/.exec(reply);
      if (match) done(Number(match[1]));
    });
    socket.once('end', () => done(undefined));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Options of {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** How long to wait for the server to answer, ms; default 10,000. */
  readonly readyTimeoutMs?: number;
  /**
   * A fixed port (say, the `port` of a server that was stopped, to start it again where its
   * clients reconnect). Default: a free port picked by the OS.
   */
  readonly port?: number;
}

async function startOnce(bin: string, readyTimeoutMs: number, fixedPort: number | undefined): Promise<RedisServerProcess> {
  const port = fixedPort ?? (await freePort());
  const args = ['--bind', HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const child = spawn(bin, args, { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  // If the test process ends without afterAll (a crash), do not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 5_000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5_000);
    }
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (spawnError) {
      await stop();
      throw new Error(`redis-server (${bin}) could not start: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`redis-server (${bin}) exited (${child.exitCode ?? child.signalCode}) before answering on port ${port}:\n${output}`);
    }
    if ((await serverPid(port)) === child.pid) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server (${bin}) did not answer on port ${port} within ${readyTimeoutMs} ms:\n${output}`);
    }
    await sleep(50);
  }

  return {
    bin,
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    pid: child.pid ?? -1,
    output: () => output,
    stop,
  };
}

/**
 * Start a private redis-server. The port is picked free just before the start; if another
 * process takes it meanwhile, the server exits and a new port is tried (three attempts).
 * With a fixed `port`, the same port is tried three times, a moment apart (it may still be
 * in use while a server that was just stopped lets go of it).
 *
 * The second argument is the ready timeout in ms (default 10,000), or
 * `{ readyTimeoutMs?, port? }`.
 */
export async function startRedisServer(bin: string, options: number | StartRedisServerOptions = {}): Promise<RedisServerProcess> {
  const { readyTimeoutMs = 10_000, port } = typeof options === 'number' ? { readyTimeoutMs: options } : options;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new RangeError(`startRedisServer: port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0 && port !== undefined) await sleep(200);
    try {
      return await startOnce(bin, readyTimeoutMs, port);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
