// A delivery, as handlers and iterators receive it.

import type { Msg } from "./frames.js";

const decoder = new TextDecoder();
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** QoS is a delivery guarantee: 0 at most once, 1 at least once, 2 exactly once. */
export type QoS = 0 | 1 | 2;

/** Message is one delivery to a subscription. */
export class Message {
  /** topic is the concrete topic the message was published to. */
  readonly topic: string;
  /** id identifies the message. */
  readonly id: string;
  /** payload is the body, opened when it was sealed end to end. */
  readonly payload: Uint8Array;
  /** headers are the message's headers (not encrypted); the last wins when a key repeats. */
  readonly headers: Readonly<Record<string, string>>;
  /** qos is the delivery's guarantee. */
  readonly qos: QoS;
  /** offset is the message's sequence number in its topic, from 1. */
  readonly offset: number;
  /** timeNs is when the server accepted the message, in nanoseconds since the Unix epoch. */
  readonly timeNs: bigint;
  /** redelivered reports a delivery made before without being acknowledged. */
  readonly redelivered: boolean;
  /** replayed reports a message from the topic's history rather than a live one. */
  readonly replayed: boolean;
  /**
   * sealed reports that the publisher flagged the payload an envelope: it was
   * opened with the keyring, or, for a subscription made with `raw`, left as
   * it arrived.
   */
  readonly sealed: boolean;

  /** @internal */
  constructor(m: Msg, payload: Uint8Array) {
    this.topic = m.topic;
    this.id = m.id;
    this.payload = payload;
    if (m.headers.length === 0) this.headers = NO_HEADERS;
    else {
      const h: Record<string, string> = {};
      for (const [k, v] of m.headers) h[k] = v;
      this.headers = h;
    }
    this.qos = m.qos === 2 ? 2 : m.qos === 0 ? 0 : 1;
    this.offset = Number(m.offset);
    this.timeNs = m.time;
    this.redelivered = m.dup;
    this.replayed = m.replay;
    this.sealed = m.envelope;
  }

  /** time is when the server accepted the message. */
  get time(): Date {
    return new Date(Number(this.timeNs / 1_000_000n));
  }

  /** text returns the payload decoded as UTF-8. */
  text(): string {
    return decoder.decode(this.payload);
  }

  /** json returns the payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}
