// Typed topics: a topic whose payloads are values of one type, JSON by
// default, like the Go client's NewTopic.

import type { Client, PublishOptions } from "./client.js";
import type { Message } from "./message.js";
import { DeliveryFailed, type Handler, type SubscribeOptions, type Subscription } from "./subscription.js";

/** Codec turns values into payloads and back. */
export interface Codec<V> {
  encode(value: V): Uint8Array | string;
  decode(payload: Uint8Array): V;
}

const decoder = new TextDecoder();

/** json is the default codec: JSON text in UTF-8. */
export function json<V>(): Codec<V> {
  return {
    encode: (v) => JSON.stringify(v),
    decode: (b) => JSON.parse(decoder.decode(b)) as V,
  };
}

/** Topic is a topic whose payloads are values of V. */
export class Topic<V> {
  readonly #c: Client;
  readonly #codec: Codec<V>;

  /** @internal Use Client.topic. */
  constructor(
    c: Client,
    readonly name: string,
    codec?: Codec<V>,
  ) {
    this.#c = c;
    this.#codec = codec ?? json<V>();
  }

  /** publish encodes value and publishes it (see Client.publish). */
  publish(value: V, opts?: PublishOptions): Promise<void> {
    let payload: Uint8Array | string;
    try {
      payload = this.#codec.encode(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#c.publish(this.name, payload, opts);
  }

  /**
   * subscribe hands each message's decoded value to handler, or, without a
   * handler, yields the values to `for await`. A payload that does not decode
   * is reported (DeliveryError, reason type_mismatch), acknowledged and skipped.
   */
  subscribe(handler?: Handler<V>, opts?: SubscribeOptions): Subscription<V>;
  subscribe(opts?: SubscribeOptions): Subscription<V>;
  subscribe(a?: Handler<V> | SubscribeOptions, b?: SubscribeOptions): Subscription<V> {
    const handler = typeof a === "function" ? a : undefined;
    const opts = (typeof a === "function" ? b : a) ?? {};
    return this.#c.subscribeWith(this.name, handler, (m: Message) => {
      try {
        return this.#codec.decode(m.payload);
      } catch (e) {
        throw new DeliveryFailed("type_mismatch", e);
      }
    }, opts);
  }
}
