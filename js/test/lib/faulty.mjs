// A WebSocket that cuts its connection at a chosen frame, to test what a
// client does when the network fails between two steps of a flow. Shared by
// the Node tests and the Chromium pages (served from the package's
// directory), so it imports only the package's own codec.
import { parse } from "../../dist/frames.js";

/**
 * faulty returns a WebSocket constructor over Base whose connections pass
 * every message on, until a rule picks a frame: rules.in(frame) for frames
 * from the server, rules.out(frame) for frames from the client. A rule
 * returns "drop" to cut the connection instead of passing the message that
 * holds the frame, "after" to pass it and then cut, or nothing. A cut ends
 * the connection at once, as a network failure would; cuts counts them.
 */
export function faulty(Base, rules) {
  const state = { cuts: 0 };
  class Faulty {
    onopen = null;
    onmessage = null;
    onclose = null;
    onerror = null;
    #ws;
    #cut = false;
    constructor(url) {
      const ws = new Base(url);
      ws.binaryType = "arraybuffer";
      ws.onopen = (e) => this.onopen?.(e);
      ws.onerror = (e) => this.onerror?.(e);
      ws.onclose = (e) => {
        if (!this.#cut) this.onclose?.(e);
      };
      ws.onmessage = (e) => {
        if (this.#cut) return;
        const verdict = pick(e.data, rules.in);
        if (verdict !== "drop") this.onmessage?.(e);
        if (verdict) this.#cutNow();
      };
      this.#ws = ws;
    }
    get binaryType() {
      return "arraybuffer";
    }
    set binaryType(_) {}
    get readyState() {
      return this.#cut ? 3 : this.#ws.readyState;
    }
    get bufferedAmount() {
      return this.#ws.bufferedAmount;
    }
    send(b) {
      if (this.#cut) return;
      const verdict = pick(b, rules.out);
      if (verdict !== "drop") this.#ws.send(b);
      if (verdict) this.#cutNow();
    }
    close(code, reason) {
      this.#ws.close(code, reason);
    }
    #cutNow() {
      if (this.#cut) return;
      this.#cut = true;
      state.cuts++;
      if (typeof this.#ws.terminate === "function") this.#ws.terminate();
      else this.#ws.close();
      const onclose = this.onclose;
      queueMicrotask(() => onclose?.({ code: 1006, reason: "cut" }));
    }
  }
  Faulty.state = state;
  return Faulty;
}

function pick(data, rule) {
  if (!rule) return undefined;
  const b = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let verdict;
  for (let pos = 0; pos < b.length; ) {
    const p = parse(b, pos);
    if (!p) break;
    pos = p.next;
    const v = rule(p.frame);
    if (v === "drop") return "drop";
    verdict ??= v;
  }
  return verdict;
}
