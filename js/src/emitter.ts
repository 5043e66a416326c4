// A tiny typed event emitter: events named by the keys of a map from name to
// argument list.

/** Listener is a function taking an event's arguments. */
export type Listener<A extends unknown[]> = (...args: A) => void;

/** Emitter dispatches named events to their listeners, in order. */
export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  #listeners = new Map<keyof E, Set<Listener<never>>>();

  /** on adds fn for event name and returns a function that removes it. */
  on<K extends keyof E>(name: K, fn: Listener<E[K]>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => this.off(name, fn);
  }

  /** once adds fn for the next event name only. */
  once<K extends keyof E>(name: K, fn: Listener<E[K]>): () => void {
    const off = this.on(name, (...args: E[K]) => {
      off();
      fn(...args);
    });
    return off;
  }

  /** off removes fn. */
  off<K extends keyof E>(name: K, fn: Listener<E[K]>): void {
    this.#listeners.get(name)?.delete(fn as Listener<never>);
  }

  /** listenerCount returns how many listeners event name has. */
  listenerCount<K extends keyof E>(name: K): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  /**
   * emit calls the listeners of name; one that throws does not stop the
   * others, and its error is rethrown asynchronously.
   */
  protected emit<K extends keyof E>(name: K, ...args: E[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<E[K]>)(...args);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
