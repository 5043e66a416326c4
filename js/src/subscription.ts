// A subscription: its position in its topic for resuming, its handler or
// async iterator, fed in order through a bounded queue.

import { Emitter } from "./emitter.js";
import { ClosedError, DeliveryError, WhispeerError, type DeliveryFailure } from "./errors.js";
import { Held } from "./exactly.js";
import type { JoinLeave, Msg, SubAck } from "./frames.js";
import { Message, type QoS } from "./message.js";

/**
 * Handler handles one delivery; a QoS 1 delivery is acknowledged once it
 * returns (or its promise resolves), a QoS 2 one is then received (PUBREC).
 * A handler that throws did not take the message: it is delivered again.
 */
export type Handler<V> = (value: V, msg: Message) => void | Promise<void>;

/** SubscribeOptions configure one subscription. */
export interface SubscribeOptions {
  /** last replays the newest `last` messages of each matching topic first (the server must offer resume). */
  last?: number;
  /**
   * resume continues a subscription to a concrete topic after `offset` of
   * `epoch` (a Subscription's position): the messages since are delivered
   * first, with no gap and no duplicate, or the subscription reports
   * `recovered: false`.
   */
  resume?: Position;
  /**
   * qos is the highest QoS the subscription wants deliveries at (default 1).
   * At 2 (exactly once; the server must offer it) a message is handed over
   * once per id, even when the server delivers it again.
   */
  qos?: QoS;
  /**
   * durable makes a qos 2 subscription durable (the server must offer QoS 2
   * and resume; the client needs its own `clientId`): the server keeps it
   * while the client is away, under the user, the clientId and the pattern,
   * and advances its cursor as the client answers PUBREC. A later
   * subscription to the same pattern with the same clientId and user — after
   * a reconnect or in a new process — first receives what was published
   * meanwhile (up to the server's durable backlog per topic; `recovered:
   * false` and a GapError when some was lost), then live messages. After a
   * crash of the server its cursor may lag: on a concrete topic, a redelivery
   * at or below the last offset this client handed over is answered and not
   * handed over again. Unsubscribe
   * ends it on the server; one left alone expires (qos.durable_expiry).
   */
  durable?: boolean;
  /** maxHeld bounds the QoS 2 deliveries handed over and not yet released by the server (default 10000). */
  maxHeld?: number;
  /** queueSize bounds the deliveries waiting for the handler or the iterator (default 1024). */
  queueSize?: number;
  /** raw delivers envelopes as they arrive, unopened (`Message.sealed` set). */
  raw?: boolean;
  /**
   * presence asks the server for the join and leave events of the topic's
   * other clients (the server must offer presence): the subscription emits
   * `join` and `leave`. The server sends them only while the topic is small
   * (its presence.join_leave_limit).
   */
  presence?: boolean;
  /** signal abandons the wait for the server's answer (the subscription is ended). */
  signal?: AbortSignal;
}

/** Position is where a subscription stands in its topic: the topic's epoch and the offset of the last message received. */
export interface Position {
  /** epoch is the topic's epoch, a 64-bit number in decimal; "0" when unknown. */
  epoch: string;
  /** offset is the offset of the last message received; 0 for none. */
  offset: number;
}

/** Subscribed is the server's answer to a subscription, after the first SUB and every renewal. */
export interface Subscribed extends Position {
  /** resumed reports a subscription that asked to continue after an offset. */
  resumed: boolean;
  /** recovered is false when a resume could not deliver every message missed. */
  recovered: boolean;
}

/** The events of a Subscription. */
export interface SubscriptionEvents {
  /** subscribed: the server accepted the SUB, the first or a renewal after a reconnect. */
  subscribed: [info: Subscribed];
  /** error: a delivery that was not handled, a gap in a resume. */
  error: [err: WhispeerError];
  /** end: the subscription ended: unsubscribed (no error), the client closed, or the server refused it. */
  end: [err: WhispeerError | undefined];
  /** join: another client joined the topic (a subscription made with `presence: true`). */
  join: [client: { user: string; clientId: string }];
  /** leave: another client left the topic. */
  leave: [client: { user: string; clientId: string }];
}

/** SubscriptionState is where a subscription is in its life. */
export type SubscriptionState = "subscribing" | "subscribed" | "ended";

/** The client's side of a subscription. @internal */
export interface SubHost {
  ack(sub: Subscription<unknown>, msg: Message, gen: number): void;
  pubrec(sub: Subscription<unknown>, id: string, offset: bigint): void;
  unsubscribe(sub: Subscription<unknown>): void;
  open(sub: Subscription<unknown>, m: Msg): Uint8Array;
  report(err: WhispeerError): void;
}

interface Queued<V> {
  value: V;
  msg: Message;
  gen: number;
}

/** DeliveryFailed carries a delivery failure from a transform or open. @internal */
export class DeliveryFailed extends Error {
  constructor(
    readonly reason: DeliveryFailure,
    override readonly cause: unknown,
  ) {
    super(reason);
  }
}

/**
 * Subscription is one pattern subscribed, with a handler or, without one, as
 * an async iterator of its deliveries. Deliveries reach the handler one at a
 * time, in order: a handler that returns a promise is awaited before the next.
 */
export class Subscription<V = Message> extends Emitter<SubscriptionEvents> implements AsyncIterable<V> {
  /** sid is the subscription's id on the connection. */
  readonly sid: number;
  /** pattern is the topic or pattern subscribed to. */
  readonly pattern: string;
  /** ready resolves with the server's first answer, or rejects with its refusal. */
  readonly ready: Promise<Subscribed>;

  /** @internal */ readonly concrete: boolean;
  /** @internal */ readonly opts: SubscribeOptions;
  /** @internal */ epoch = 0n;
  /** @internal */ seq = 0n;
  /** @internal */ positioned = false;
  /** @internal */ mode: 0 | 1 | 2 | 3 = 0;
  /** @internal held is the exactly-once state of a subscription at QoS 2. */
  readonly held: Held | null;

  #state: SubscriptionState = "subscribing";
  #recovered: boolean | undefined;
  #host: SubHost;
  #handler: Handler<V> | undefined;
  #transform: (m: Message) => V;
  #queue: Queued<V>[] = [];
  #running = false;
  #waiters: ((r: IteratorResult<V>) => void)[] = [];
  #err: WhispeerError | undefined;
  #settle!: { resolve: (s: Subscribed) => void; reject: (e: WhispeerError) => void };
  #idle: (() => void)[] = [];

  /** @internal */
  constructor(
    host: SubHost,
    sid: number,
    pattern: string,
    concrete: boolean,
    handler: Handler<V> | undefined,
    transform: (m: Message) => V,
    opts: SubscribeOptions,
  ) {
    super();
    this.#host = host;
    this.sid = sid;
    this.pattern = pattern;
    this.concrete = concrete;
    this.#handler = handler;
    this.#transform = transform;
    this.opts = opts;
    this.held = opts.qos === 2 ? new Held(opts.maxHeld, concrete) : null;
    this.ready = new Promise<Subscribed>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.ready.catch(() => {}); // a refusal is also reported as the end event
    if (opts.resume) {
      this.epoch = BigInt(opts.resume.epoch);
      this.seq = BigInt(opts.resume.offset);
      this.positioned = true;
    }
  }

  /** state is where the subscription is in its life. */
  get state(): SubscriptionState {
    return this.#state;
  }

  /** recovered is the last resume's outcome: false when messages were missed; undefined before any resume. */
  get recovered(): boolean | undefined {
    return this.#recovered;
  }

  /** error is why the subscription ended, if it did for a reason other than unsubscribe. */
  get error(): WhispeerError | undefined {
    return this.#err;
  }

  /** position returns the topic's epoch and the offset of the latest message received, for `resume`. */
  position(): Position {
    return { epoch: this.epoch.toString(), offset: Number(this.seq) };
  }

  /** unsubscribe ends the subscription: the server is told, and queued deliveries are dropped. Twice is a no-op. */
  unsubscribe(): void {
    if (this.#state === "ended") return;
    this.#host.unsubscribe(this as Subscription<unknown>);
    this.end(undefined);
  }

  /** @internal subAck records the server's answer to a SUB; it returns the error a refusal ended it with. */
  subAck(a: SubAck, err: WhispeerError | undefined): void {
    if (err) {
      this.end(err);
      return;
    }
    if (this.concrete && a.epoch !== 0n) {
      const newEpoch = this.epoch !== a.epoch;
      if (newEpoch) this.held?.newEpoch();
      this.epoch = a.epoch;
      if (this.mode === 1 && !this.positioned) {
        const last = BigInt(this.opts.last ?? 0);
        this.seq = a.offset > last ? a.offset - last : 0n;
      } else if (this.mode !== 1 && (newEpoch || !this.positioned)) {
        this.seq = a.offset;
      }
      this.positioned = true;
    }
    const resumed = this.mode === 2 || this.mode === 3;
    if (resumed) this.#recovered = a.recovered;
    const info: Subscribed = { ...this.position(), resumed, recovered: !resumed || a.recovered };
    const first = this.#state === "subscribing";
    this.#state = "subscribed";
    if (first) this.#settle.resolve(info);
    this.emit("subscribed", info);
  }

  /** @internal resumeAfter is the offset a renewed SUB resumes after: below every QoS 2 delivery not taken. */
  resumeAfter(): bigint {
    return this.held ? this.held.resumeAfter(this.seq) : this.seq;
  }

  /** @internal deliver hands a MSG over to the handler or the iterator. */
  deliver(m: Msg, gen: number): void {
    if (this.#state === "ended") return;
    if (m.qos === 2 && !this.#admit(m, gen)) return;
    if (this.concrete && m.offset > this.seq) this.seq = m.offset;
    let msg: Message;
    let value: V;
    try {
      msg = new Message(m, this.#host.open(this as Subscription<unknown>, m));
      value = this.#transform(msg);
    } catch (e) {
      const f = e instanceof DeliveryFailed ? e : new DeliveryFailed("type_mismatch", e);
      this.fail(f.reason, m.topic, m.id, f.cause);
      // A redelivery would fail the same way.
      if (m.qos !== 0) this.#ack(new Message(m, m.payload), gen);
      return;
    }
    const q = { value, msg, gen };
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#ack(msg, gen);
      waiter({ value, done: false });
      return;
    }
    if (this.#handler && !this.#running && this.#queue.length === 0) {
      this.#run(q);
      return;
    }
    if (this.#queue.length >= (this.opts.queueSize ?? 1024)) {
      this.fail("slow_consumer", m.topic, m.id, undefined); // unacknowledged: the server sends it again
      if (m.qos === 2) this.held?.refused(m.topic, m.id, m.offset);
      return;
    }
    this.#queue.push(q);
  }

  #run(q: Queued<V>): void {
    const handler = this.#handler!;
    let r: void | Promise<void>;
    try {
      r = handler(q.value, q.msg);
    } catch (e) {
      this.#refused(q.msg, e);
      this.#next();
      return;
    }
    if (r && typeof (r as Promise<void>).then === "function") {
      this.#running = true;
      (r as Promise<void>).then(
        () => {
          this.#running = false;
          this.#ack(q.msg, q.gen);
          this.#next();
        },
        (e: unknown) => {
          this.#running = false;
          this.#refused(q.msg, e);
          this.#next();
        },
      );
      return;
    }
    this.#ack(q.msg, q.gen);
    this.#next();
  }

  /**
   * #admit decides whether a QoS 2 MSG is handed over: not when the
   * application has it (answered with PUBREC again) or is handling it, nor
   * when too many deliveries are held (reported; the server sends it again).
   */
  #admit(m: Msg, gen: number): boolean {
    if (!this.held) return true;
    const v = this.held.admit(m.topic, m.id, m.offset, gen, this.positioned);
    if (v === "deliver") return true;
    if (v === "again") this.#host.pubrec(this as Subscription<unknown>, m.id, m.offset);
    else if (v === "full") this.fail("too_many_held", m.topic, m.id, this.held.max);
    return false;
  }

  /** #ack acknowledges a delivery the application took. */
  #ack(msg: Message, gen: number): void {
    if (msg.qos === 2) this.held?.taken(msg.topic, msg.id, BigInt(msg.offset));
    this.#host.ack(this as Subscription<unknown>, msg, gen);
  }

  /** #refused reports a delivery the handler did not take, which is then handed over again when it comes again. */
  #refused(msg: Message, e: unknown): void {
    if (msg.qos === 2) this.held?.refused(msg.topic, msg.id, BigInt(msg.offset));
    this.fail("handler", msg.topic, msg.id, e);
  }

  #next(): void {
    while (!this.#running && this.#state !== "ended") {
      const q = this.#queue.shift();
      if (!q) break;
      this.#run(q);
    }
    if (!this.#running && this.#queue.length === 0) {
      for (const f of this.#idle.splice(0)) f();
    }
  }

  /** @internal drained resolves once the handler has finished what is queued. */
  drained(): Promise<void> {
    if (!this.#handler || (!this.#running && this.#queue.length === 0) || this.#state === "ended") {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** @internal fail reports a delivery that was not handled. */
  fail(reason: DeliveryFailure, topic: string, id: string, cause: unknown): void {
    const err = new DeliveryError(reason, this.pattern, topic, id, cause);
    this.emit("error", err);
    this.#host.report(err);
  }

  /** @internal report reports err on the subscription and the client. */
  report(err: WhispeerError): void {
    this.emit("error", err);
    this.#host.report(err);
  }

  /** @internal presenceEvent emits a JOINLEAVE as a join or leave event. */
  presenceEvent(f: JoinLeave): void {
    if (this.#state === "ended" || this.opts.presence !== true) return;
    this.emit(f.leave ? "leave" : "join", { user: f.user, clientId: f.client });
  }

  /** @internal end ends the subscription with err (undefined: unsubscribed). */
  end(err: WhispeerError | undefined): void {
    if (this.#state === "ended") return;
    const first = this.#state === "subscribing";
    this.#state = "ended";
    this.#err = err;
    this.#queue = [];
    this.held?.clear();
    if (first) this.#settle.reject(err ?? new ClosedError("unsubscribed"));
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
    for (const f of this.#idle.splice(0)) f();
    this.emit("end", err);
  }

  /**
   * Iterating a subscription made without a handler yields its deliveries; a
   * QoS 1 delivery is acknowledged, a QoS 2 one received, as it is handed over. Breaking out of the
   * loop unsubscribes. The loop ends when the subscription does, throwing the
   * error it ended with, if any.
   */
  [Symbol.asyncIterator](): AsyncIterator<V> {
    if (this.#handler) throw new WhispeerError("invalid", "a subscription with a handler is not iterable");
    return {
      next: (): Promise<IteratorResult<V>> => {
        const q = this.#queue.shift();
        if (q) {
          this.#ack(q.msg, q.gen);
          return Promise.resolve({ value: q.value, done: false });
        }
        if (this.#state === "ended") {
          if (this.#err && !(this.#err instanceof ClosedError)) return Promise.reject(this.#err);
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: (): Promise<IteratorResult<V>> => {
        this.unsubscribe();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
