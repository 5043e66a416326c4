// Time, behind an interface so that tests drive timers by hand, and the
// reconnection backoff.

/** Clock is the client's source of time and timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** systemClock is the real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Backoff draws the waits between reconnection attempts: uniformly from 0 to
 * a ceiling that starts at min and doubles after every failure, up to max
 * (full jitter).
 */
export class Backoff {
  #ceiling: number;
  constructor(
    readonly min: number,
    readonly max: number,
    readonly random: () => number = Math.random,
  ) {
    this.#ceiling = min;
  }

  /** next returns the wait before the next attempt and raises the ceiling. */
  next(): number {
    const wait = Math.floor(this.random() * (this.#ceiling + 1));
    this.#ceiling = Math.min(this.#ceiling * 2, this.max);
    return wait;
  }

  /** reset starts again from min, after a success. */
  reset(): void {
    this.#ceiling = this.min;
  }
}
