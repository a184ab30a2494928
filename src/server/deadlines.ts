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

/** A set of deadlines served by one timer. */
class Deadlines {
  private readonly pending = new Set<Deadline>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (`clock()` time), or `Infinity` when it is not armed. */
  private armedAt = Infinity;

  /** `ref`: whether a pending deadline keeps the process alive (as a `setTimeout` does). */
  constructor(private readonly ref: boolean) {}

  add(ms: number, fire: () => void): () => void {
    const entry: Deadline = { at: clock() + ms, fire };
    if (this.pending.size === 0 && this.timer !== undefined && this.ref) hold(this.timer, true);
    this.pending.add(entry);
    if (entry.at < this.armedAt) this.arm(entry.at);
    return () => {
      // With nothing left to wait for, the timer stays armed (re-arming it per call is what
      // this module saves) but no longer keeps the process alive.
      if (this.pending.delete(entry) && this.pending.size === 0 && this.timer !== undefined) hold(this.timer, false);
    };
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(at - clock())));
    if (!this.ref) hold(this.timer, false);
  }

  private sweep(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = clock();
    let next = Infinity;
    for (const deadline of this.pending) {
      if (deadline.at <= now) {
        this.pending.delete(deadline);
        try {
          deadline.fire();
        } catch {
          // a deadline's own failure must not stop the others
        }
      } else if (deadline.at < next) {
        next = deadline.at;
      }
    }
    if (this.pending.size > 0) this.arm(next === Infinity ? now + 1 : next);
  }
}

/** Let a timer keep the process alive, or not (Node and Bun timers; a no-op elsewhere). */
function hold(timer: ReturnType<typeof setTimeout>, alive: boolean): void {
  const t = timer as unknown as { ref?: () => void; unref?: () => void };
  if (alive) t.ref?.();
  else t.unref?.();
}

const held = /* @__PURE__ */ new Deadlines(true);
const background = /* @__PURE__ */ new Deadlines(false);

/**
 * Call `fire` once `ms` milliseconds have passed, unless the returned function is called first
 * (it may be called any number of times, and after `fire` ran). A pending deadline keeps the
 * process alive, as a `setTimeout` does. @internal
 */
export function deadline(ms: number, fire: () => void): () => void {
  return held.add(ms, fire);
}

/** {@link deadline} that does not keep the process alive (an unref'd timer): for background work. @internal */
export function backgroundDeadline(ms: number, fire: () => void): () => void {
  return background.add(ms, fire);
}
