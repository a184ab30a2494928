/**
 * `StoreError`: a claim or idempotency store that is full, failed or did not answer in time.
 * The handlers answer it with `500 General Error` (so NICEPAY retries) and pass it to `onError`.
 * @module
 */

/**
 * Stable codes of {@link StoreError}, for `switch (error.code)`.
 * @category Errors
 */
export type StoreErrorCode =
  /** An in-memory store holds `maxEntries` unexpired entries and refuses a new one rather than forget one. */
  | 'STORE_FULL'
  /** A store call did not settle within `storeTimeoutMs`. */
  | 'STORE_TIMEOUT'
  /** A store call threw or rejected (the store's own error is the `cause`), or answered something unexpected. */
  | 'STORE_FAILED';

/**
 * A store could not be used. Its message says which store and operation, and what to do;
 * it never holds a key, a token, a signature or a body.
 *
 * @example
 * ```ts
 * onError: (error) => {
 *   if (error instanceof StoreError && error.code === 'STORE_TIMEOUT') metrics.increment('nico.store_timeout');
 * }
 * ```
 * @category Errors
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  /** Stable code. */
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/**
 * `true` when `value` is a {@link StoreError}, also across copies of this package.
 *
 * @example
 * ```ts
 * import { createTransactionHandler, isStoreError } from 'nicepay-nico';
 *
 * const payment = createTransactionHandler({
 *   ...paymentOptions,
 *   onError: (error, { status }) => {
 *     // STORE_FULL, STORE_TIMEOUT or STORE_FAILED: the call was answered 500, NICEPAY retries
 *     if (isStoreError(error)) console.warn(`nicepay-nico store: ${error.code} (answered ${status})`);
 *   },
 * });
 * ```
 * @category Errors
 */
export function isStoreError(value: unknown): value is StoreError {
  return value instanceof StoreError || (typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'StoreError');
}
