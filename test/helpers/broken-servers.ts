/**
 * Access-token endpoints for the CLI probe tests: the library's own handler, and the same
 * handler with one deliberate defect each. Every server listens on 127.0.0.1:0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign, type KeyObject } from 'node:crypto';
import { createNodeHandler } from '../../src/adapters/node.js';
import { createMemoryClaimStore } from '../../src/server/claim-store.js';
import {
  createAccessTokenHandler,
  type AccessTokenHandlerOptions,
  type EndpointRequest,
  type EndpointResponse,
} from '../../src/server/access-token-handler.js';
import { parseTimestamp } from '../../src/protocol/timestamp.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export async function listen(listener: Listener): Promise<RunningServer> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1.0/access-token/b2b`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the servers need to know: the client and NICEPAY's key pair (the private half only for the defect that re-signs). */
export interface ServerKeys {
  readonly clientKey: string;
  readonly publicKeyPem: string;
  readonly privateKey: KeyObject;
}

const options = (keys: ServerKeys, extra: Partial<AccessTokenHandlerOptions> = {}, replayGuard = true): AccessTokenHandlerOptions => ({
  clients: { [keys.clientKey]: keys.publicKeyPem },
  tokenSecret: 'a test secret of at least thirty-two bytes, not a real one',
  replayCache: replayGuard ? createMemoryClaimStore() : false,
  ...extra,
});

/** The library's own endpoint, as a merchant mounts it: createNodeHandler with a replay guard. */
export const startGoodServer = (keys: ServerKeys): Promise<RunningServer> => listen(createNodeHandler(options(keys)) as Listener);

/** The handler behind a small node:http wrapper that may change the request before and the response after. */
function startWrapped(
  handlerOptions: AccessTokenHandlerOptions,
  wrap: {
    before?: (request: EndpointRequest) => EndpointRequest;
    after?: (response: EndpointResponse, request: EndpointRequest) => EndpointResponse;
  },
): Promise<RunningServer> {
  const handle = createAccessTokenHandler(handlerOptions);
  return listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        let request: EndpointRequest = { method: req.method ?? '', headers: req.headers, body: new Uint8Array(Buffer.concat(chunks)) };
        request = wrap.before ? wrap.before(request) : request;
        let response = await handle(request);
        response = wrap.after ? wrap.after(response, request) : response;
        res.writeHead(response.status, response.headers);
        res.end(response.body);
      })();
    });
  });
}

const header = (request: EndpointRequest, name: string): string | undefined => {
  const value = (request.headers as Record<string, string | string[] | undefined>)[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
};

const jsonBody = (response: EndpointResponse): Record<string, unknown> => JSON.parse(response.body) as Record<string, unknown>;

/** Defects, each with the probe cases it must fail (and only those). */
export const BROKEN_SERVERS = {
  /**
   * Never checks X-SIGNATURE: any signature of a known client is replaced by a valid one
   * before the real handler sees it. Its replay guard (on the signature as received) still
   * works, so only the signature cases fail.
   */
  'skips the signature check': {
    fails: ['tampered signature', 'signature by another key', 'X-SIGNATURE not base64'],
    start: (keys: ServerKeys) => {
      const accepted = new Set<string>();
      return startWrapped(options(keys, {}, false), {
        before: (request) => {
          const timestamp = header(request, 'X-TIMESTAMP');
          const signature = header(request, 'X-SIGNATURE');
          if (header(request, 'X-CLIENT-KEY') !== keys.clientKey || timestamp === undefined || signature === undefined) return request;
          const valid = sign('sha256', Buffer.from(`${keys.clientKey}|${timestamp}`), keys.privateKey).toString('base64');
          return { ...request, headers: { ...(request.headers as Record<string, string>), 'x-signature': valid, 'x-original-signature': signature } };
        },
        after: (response, request) => {
          if (response.status !== 200) return response;
          const key = `${header(request, 'X-TIMESTAMP')}|${header(request, 'X-ORIGINAL-SIGNATURE')}`;
          if (!accepted.has(key)) {
            accepted.add(key);
            return response;
          }
          return { ...response, status: 401, body: JSON.stringify({ responseCode: '4017300', responseMessage: 'Unauthorized. Request already used' }) };
        },
      });
    },
  },
  /** Never checks the clock: the handler's "now" is the request's own X-TIMESTAMP (format still checked). */
  'ignores the timestamp': {
    fails: ['stale X-TIMESTAMP', 'future X-TIMESTAMP'],
    start: (keys: ServerKeys) => {
      let now = Date.now();
      return startWrapped(options(keys, { now: () => now }), {
        before: (request) => {
          now = Date.now();
          try {
            now = parseTimestamp(header(request, 'X-TIMESTAMP') ?? '').epochMs;
          } catch {
            // a malformed or missing timestamp: the handler refuses it anyway
          }
          return request;
        },
      });
    },
  },
  /** Answers `"expiresIn": 900` (a number) instead of `"900"`. */
  'answers expiresIn as a number': {
    fails: ['valid request'],
    start: (keys: ServerKeys) =>
      startWrapped(options(keys), {
        after: (response) => {
          if (response.status !== 200) return response;
          const body = jsonBody(response);
          return { ...response, body: JSON.stringify({ ...body, expiresIn: Number(body.expiresIn) }) };
        },
      }),
  },
  /** A body it cannot read (not JSON, not an object, empty, too large) is a 500 General Error instead of 400 Bad Request. */
  'returns 500 on a bad body': {
    fails: ['empty body', 'non-JSON body', 'JSON array body', 'oversized body'],
    start: (keys: ServerKeys) =>
      startWrapped(options(keys), {
        after: (response) =>
          jsonBody(response).responseCode === '4007300'
            ? { ...response, status: 500, body: JSON.stringify({ responseCode: '5007300', responseMessage: 'General Error' }) }
            : response,
      }),
  },
  /** Leaves out the X-TIMESTAMP response header: every answer is wrong. */
  'has no X-TIMESTAMP response header': {
    fails: 'all',
    start: (keys: ServerKeys) =>
      startWrapped(options(keys), {
        after: (response) => {
          const { 'X-TIMESTAMP': _dropped, ...headers } = response.headers;
          return { ...response, headers };
        },
      }),
  },
} as const satisfies Record<string, { fails: readonly string[] | 'all'; start: (keys: ServerKeys) => Promise<RunningServer> }>;

/** Accepts connections and never answers. */
export const startSilentServer = (): Promise<RunningServer> =>
  listen(() => {
    // never respond
  });

/** A port nothing listens on (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const server = await listen(() => undefined);
  await server.close();
  return server.url;
}

/** The library's endpoint without a replay guard: the replay case is a warning. */
export const startServerWithoutReplayGuard = (keys: ServerKeys): Promise<RunningServer> =>
  listen(createNodeHandler(options(keys, {}, false)) as Listener);
