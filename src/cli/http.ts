/**
 * The HTTP client: global fetch, one request at a time, bounded by a timeout. Failures
 * (timeout, refused connection, ...) come back as a reason, never as an exception.
 * @module
 */

/** A request to send. The body is bytes, so fetch adds no Content-Type of its own. */
export interface OutgoingRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array<ArrayBuffer>;
}

/** What came back: an answer, or why there was none. */
export type Exchange =
  | {
      readonly ok: true;
      readonly status: number;
      readonly statusText: string;
      /** Response headers, names in lower case, in the order received. */
      readonly headers: readonly (readonly [string, string])[];
      /** The body as UTF-8 text (invalid sequences as U+FFFD), at most {@link MAX_RESPONSE_BYTES} bytes of it. */
      readonly bodyText: string;
      /** Whether the body was longer than {@link MAX_RESPONSE_BYTES} and was cut there (the rest is not read). */
      readonly truncated: boolean;
      readonly ms: number;
    }
  | { readonly ok: false; readonly error: string; readonly ms: number };

/** Default timeout of one exchange (headers and body), ms. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The most of a response body that is read (1 MiB); the rest is not downloaded. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Read at most `limit` bytes of a body, then stop reading (the connection is dropped). */
async function readBounded(response: Response, limit: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (response.body === null) return { bytes: new Uint8Array(0), truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > limit) {
      chunks.push(value.subarray(0, limit - length));
      length = limit;
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    length += value.length;
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, truncated };
}

/** Send one request; never throws. The body is read up to `maxBodyBytes` (default 1 MiB) and cut there. */
export async function send(url: URL | string, request: OutgoingRequest, timeoutMs: number, maxBodyBytes = MAX_RESPONSE_BYTES): Promise<Exchange> {
  const started = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const ms = (): number => Math.round(performance.now() - started);
  try {
    const response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: controller.signal,
      redirect: 'manual',
    });
    const { bytes, truncated } = await readBounded(response, maxBodyBytes);
    const bodyText = new TextDecoder().decode(bytes);
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => headers.push([name, value]));
    return { ok: true, status: response.status, statusText: response.statusText, headers, bodyText, truncated, ms: ms() };
  } catch (error) {
    return { ok: false, error: controller.signal.aborted ? `timeout: no complete answer within ${timeoutMs} ms` : describeFetchError(error), ms: ms() };
  } finally {
    clearTimeout(timer);
  }
}

const CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'the server closed the connection while the request was being sent',
  UND_ERR_SOCKET: 'the server closed the connection without an answer',
  UND_ERR_HEADERS_OVERFLOW: 'the response headers are too large',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed (is the URL http:// rather than https://?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
};

/** "connection refused (ECONNREFUSED 127.0.0.1:9)" and the like. */
export function describeFetchError(error: unknown): string {
  let cause: unknown = error;
  // fetch wraps the socket error: TypeError('fetch failed', { cause }); sometimes twice, or an AggregateError.
  for (let depth = 0; depth < 4; depth++) {
    const inner = (cause as { cause?: unknown } | null)?.cause;
    if (inner === undefined || inner === null) break;
    cause = inner;
  }
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
  const { code, message, address, port } = (cause ?? {}) as { code?: unknown; message?: unknown; address?: unknown; port?: unknown };
  const where = typeof address === 'string' ? ` ${address}${typeof port === 'number' ? `:${port}` : ''}` : '';
  if (typeof code === 'string') return `${CODES[code] ?? (typeof message === 'string' && message !== '' ? message : 'request failed')} (${code}${where})`;
  return typeof message === 'string' && message !== '' ? `request failed: ${message}` : `request failed: ${String(cause)}`;
}
