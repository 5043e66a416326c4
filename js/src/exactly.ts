// The subscriber's half of exactly once (QoS 2): the deliveries a
// subscription handed to the application and holds until the server's
// PUBREL, so that a MSG repeating one is answered again and not handed over
// again (docs/protocol-native.md, "QoS flows").

/** What to do with a QoS 2 MSG. */
export type Verdict =
  /** hand it over: it is new */
  | "deliver"
  /** answer PUBREC again, do not hand it over: the application has it */
  | "again"
  /** do nothing: the application is handling it, and PUBREC follows */
  | "busy"
  /** do not hand it over: the table is full of deliveries the server may still release */
  | "full";

interface Entry {
  topic: string;
  offset: bigint;
  /** the connection it arrived on */
  gen: number;
  /** PUBREC sent: the application took it */
  taken: boolean;
}

/** The default bound on the deliveries a subscription holds. */
export const DEFAULT_MAX_HELD = 10_000;

/** How many deliveries that were not taken the offset rule remembers. */
const MAX_GAPS = 1024;

/**
 * Held is one subscription's exactly-once state: the deliveries (topic, id
 * and offset) handed to the application and not yet released, at most max
 * of them, and, for a subscription to a concrete topic, the newest offset
 * handed over in the topic's current epoch, at or below which a redelivery
 * is not handed over again (unless it was not taken). A PUBREL names no
 * topic: it releases the oldest delivery taken with its id and offset.
 */
export class Held {
  #ids = new Map<string, Entry[]>();
  #count = 0;
  #handed = 0n; // the newest offset handed over; 0n for none
  #gaps = new Set<bigint>(); // offsets at or below #handed that were not taken
  readonly max: number;
  readonly #byOffset: boolean;

  /** byOffset applies the offset rule: a subscription to a concrete topic. */
  constructor(max = DEFAULT_MAX_HELD, byOffset = false) {
    this.max = max;
    this.#byOffset = byOffset;
  }

  /** size is how many deliveries are held. */
  get size(): number {
    return this.#count;
  }

  /**
   * admit decides what to do with a QoS 2 MSG arriving on connection gen;
   * "deliver" records it as being handed over. positioned says that the
   * topic's epoch is known, so that the offset rule applies.
   */
  admit(topic: string, id: string, offset: bigint, gen: number, positioned: boolean): Verdict {
    const e = this.#find(topic, id, offset);
    if (e) return e.taken ? "again" : "busy";
    if (this.#byOffset && positioned && offset <= this.#handed && !this.#gaps.has(offset)) return "again";
    if (this.#count >= this.max && !this.#evict(gen)) {
      this.#gap(offset);
      return "full";
    }
    const list = this.#ids.get(id);
    const entry = { topic, offset, gen, taken: false };
    if (list) list.push(entry);
    else this.#ids.set(id, [entry]);
    this.#count++;
    return "deliver";
  }

  /** taken records that the application took a delivery: its PUBREC goes out. */
  taken(topic: string, id: string, offset: bigint): void {
    const e = this.#find(topic, id, offset);
    if (e) e.taken = true;
    if (!this.#byOffset) return;
    if (offset > this.#handed) this.#handed = offset;
    this.#gaps.delete(offset);
  }

  /** refused forgets a delivery the application did not take, so that the redelivery is handed over. */
  refused(topic: string, id: string, offset: bigint): void {
    const list = this.#ids.get(id);
    const e = this.#find(topic, id, offset);
    if (list && e) this.#drop(id, list, list.indexOf(e));
    this.#gap(offset);
  }

  /** #gap remembers an offset not taken, which the offset rule must not drop when it comes again. */
  #gap(offset: bigint): void {
    if (!this.#byOffset) return;
    if (this.#gaps.size >= MAX_GAPS) {
      // Too many to remember one by one: stop dropping by offset below them.
      let low = offset;
      for (const g of this.#gaps) if (g < low) low = g;
      this.#handed = low - 1n;
      this.#gaps.clear();
      return;
    }
    this.#gaps.add(offset);
  }

  /** release forgets a delivery the server released (PUBREL); offset 0n matches any offset. */
  release(id: string, offset: bigint): void {
    const list = this.#ids.get(id);
    if (!list) return;
    const i = list.findIndex((e) => e.taken && (offset === 0n || e.offset === offset));
    if (i >= 0) this.#drop(id, list, i);
  }

  /** resumeAfter returns the offset to resume after: below every delivery not taken. */
  resumeAfter(seq: bigint): bigint {
    let at = seq;
    for (const g of this.#gaps) if (g <= at) at = g - 1n;
    return at;
  }

  /** newEpoch forgets the offsets of the topic's previous epoch. */
  newEpoch(): void {
    this.#handed = 0n;
    this.#gaps.clear();
  }

  /** clear forgets everything. */
  clear(): void {
    this.#ids.clear();
    this.#count = 0;
    this.newEpoch();
  }

  #find(topic: string, id: string, offset: bigint): Entry | undefined {
    return this.#ids.get(id)?.find((e) => e.offset === offset && e.topic === topic);
  }

  #drop(id: string, list: Entry[], i: number): void {
    list.splice(i, 1);
    this.#count--;
    if (list.length === 0) this.#ids.delete(id);
  }

  /**
   * #evict makes room by forgetting the oldest delivery taken on an earlier
   * connection than gen: a server that did not keep the session cannot
   * release it any more. It reports whether it made room.
   */
  #evict(gen: number): boolean {
    for (const [id, list] of this.#ids) {
      const i = list.findIndex((e) => e.taken && e.gen < gen);
      if (i < 0) continue;
      this.#drop(id, list, i);
      return true;
    }
    return false;
  }
}
