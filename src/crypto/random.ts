/**
 * Random bytes from the platform CSPRNG (`crypto.getRandomValues`), drawn from a small pool
 * so that many short draws (16 bytes per token) cost one platform call per 4 KiB.
 * @module
 */

const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let offset = 0;

/** Fill `target` with random bytes. */
export function fillRandom(target: Uint8Array): Uint8Array {
  if (target.length > POOL_BYTES) return crypto.getRandomValues(target);
  if (offset + target.length > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    offset = 0;
  }
  target.set(pool.subarray(offset, offset + target.length));
  // Each byte is handed out once: wipe it from the pool.
  pool.fill(0, offset, offset + target.length);
  offset += target.length;
  return target;
}
