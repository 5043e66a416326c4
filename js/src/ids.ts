// Message ids: a random prefix fixed per client and a counter, both in base
// 62, 22 characters, as the Go client makes them.

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** IdGen generates unique message ids. */
export class IdGen {
  #prefix: string;
  #n: number;

  constructor() {
    const seed = new Uint8Array(18);
    globalThis.crypto.getRandomValues(seed);
    let p = "";
    for (let i = 0; i < 12; i++) p += BASE62[seed[i]! % 62];
    this.#prefix = p;
    let start = 0;
    for (let i = 12; i < 17; i++) start = start * 256 + seed[i]!;
    this.#n = start; // below 2^40, leaving room for 2^53 - 2^40 ids
  }

  /** next returns the next id. */
  next(): string {
    let n = ++this.#n;
    let s = "";
    for (let i = 0; i < 10; i++) {
      s = BASE62[n % 62] + s;
      n = Math.floor(n / 62);
    }
    return this.#prefix + s;
  }
}
