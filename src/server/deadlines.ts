/**
 * Deadlines on one shared timer. Every call that waits for something (a request body, a
 * store's answer) has a deadline; giving each its own `setTimeout` costs a timer start and
 * stop per call, about 10 µs of server CPU per request on Node (measured over HTTP, see
 * `npm run bench`), more than all of the library's own checks. Here a deadline is an entry
 * in a set, and one timer, armed for the earliest deadline, serves them all: under load it
 * is re-armed about once per timeout period, not once per call.
 * @module
 */

interface Deadline {
  readonly at: number;
  readonly fire: () => void;
}

/** A monotonic clock in milliseconds where the runtime has one (a wall-clock jump must not stretch a timeout). */
const clock: () => number = /* @__PURE__ */ (() => {
  const p = (globalThis as { performance?: { now?: () => number } }).performance;
  return typeof p?.now === 'function' ? () => (p.now as () => number).call(p) : Date.now;
})();

const pending = new Set<Deadline>();
let timer: ReturnType<typeof setTimeout> | undefined;
/** When the timer fires (`clock()` time), or `Infinity` when it is not armed. */
let armedAt = Infinity;

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  armedAt = at;
  timer = setTimeout(sweep, Math.max(1, Math.ceil(at - clock())));
}

function sweep(): void {
  timer = undefined;
  armedAt = Infinity;
  const now = clock();
  let next = Infinity;
  for (const deadline of pending) {
    if (deadline.at <= now) {
      pending.delete(deadline);
      try {
        deadline.fire();
      } catch {
        // a deadline's own failure must not stop the others
      }
    } else if (deadline.at < next) {
      next = deadline.at;
    }
  }
  if (pending.size > 0) arm(next === Infinity ? now + 1 : next);
}

/**
 * Call `fire` once `ms` milliseconds have passed, unless the returned function is called first
 * (it may be called any number of times, and after `fire` ran). @internal
 */
export function deadline(ms: number, fire: () => void): () => void {
  const entry: Deadline = { at: clock() + ms, fire };
  pending.add(entry);
  if (entry.at < armedAt) arm(entry.at);
  return () => {
    pending.delete(entry);
  };
}
