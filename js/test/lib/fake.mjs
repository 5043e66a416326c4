// A fake clock and a scripted fake server behind a fake WebSocket, for unit
// tests of reconnection, resume bookkeeping and keep-alive.
import { encode, parse, T } from "../../dist/frames.js";

/** FakeClock runs timers when advance moves its time past them. */
export class FakeClock {
  t = 1_000_000;
  timers = new Map();
  seq = 0;
  now() {
    return this.t;
  }
  setTimeout(fn, ms) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  /** pending returns the delays of the timers set, from now. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.t).sort((a, b) => a - b);
  }
  /** advance moves time on by ms, running the timers due in order. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** settle lets promises, microtasks and the client's write batching run. */
export async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/**
 * FakeServer answers the handshake, SUBs, QoS 1 PUBs and the publisher's
 * half of QoS 2 (PUBREC, PUBCOMP), holding ids as a server de-duplicating
 * them would; it records every frame per connection. Its WebSocket property
 * is the constructor to pass to connect.
 */
export class FakeServer {
  sockets = [];
  refuse = 0; // connections to refuse before accepting
  pingInterval = 0;
  caps = 0x3d; // e2e, qos2, resume, reasons, ackoffset
  pongs = true;
  acks = true;
  epoch = 0xabcn;
  offsets = new Map(); // topic -> newest offset
  recovered = true;
  holdAuth = false; // leave AUTH and LOGIN unanswered
  refuseToken = ""; // a token AUTH refuses
  declineToken = ""; // a token AUTH answers with a non-fatal ERROR, as a refused refresh
  expires = () => 0n; // the expiry AUTHOK names for a token (ns since the epoch; 0n for never)
  session = "fake-session"; // the session WELCOME names when HELLO names none
  recs = true; // answer QoS 2 PUBs with PUBREC
  comps = true; // answer PUBRELs with PUBCOMP
  recCode = 0; // the code of PUBRECs
  held = new Set(); // QoS 2 ids held, until PUBREL
  stored = []; // the ids of the QoS 2 PUBs stored, once each
  constructor() {
    const server = this;
    this.WebSocket = class {
      binaryType = "blob";
      readyState = 0;
      bufferedAmount = 0;
      onopen = null;
      onmessage = null;
      onclose = null;
      onerror = null;
      frames = [];
      constructor(url) {
        this.url = url;
        server.sockets.push(this);
        queueMicrotask(() => {
          if (server.refuse > 0) {
            server.refuse--;
            this.readyState = 3;
            this.onerror?.({});
            this.onclose?.({ code: 1006 });
            return;
          }
          this.readyState = 1;
          this.onopen?.({});
        });
      }
      send(b) {
        let pos = 0;
        for (;;) {
          const p = parse(b, pos);
          if (!p) break;
          pos = p.next;
          this.frames.push(p.frame);
          server.answer(this, p.frame);
        }
      }
      close() {
        this.drop();
      }
      /** drop ends the connection, as a network failure would. */
      drop() {
        if (this.readyState === 3) return;
        this.readyState = 3;
        this.onclose?.({ code: 1006 });
      }
      /** deliver sends frames to the client in one message. */
      deliver(...frames) {
        const parts = frames.map(encode);
        const b = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) {
          b.set(p, o);
          o += p.length;
        }
        this.onmessage?.({ data: b.buffer });
      }
    };
  }

  get last() {
    return this.sockets.at(-1);
  }

  answer(ws, f) {
    switch (f.type) {
      case T.Hello:
        ws.deliver({ type: T.Welcome, version: 1, resumed: false, caps: f.caps & this.caps, maxFrame: 1 << 20, pingInterval: this.pingInterval, session: f.session || this.session, server: "fake/1" });
        return;
      case T.Auth:
      case T.Login:
        if (this.holdAuth) return;
        if (f.type === T.Auth && this.refuseToken === f.token) {
          ws.deliver({ type: T.Error, code: 2, fatal: true, ref: T.Auth, text: "whispeer: token expired" });
          ws.drop();
          return;
        }
        if (f.type === T.Auth && this.declineToken === f.token) {
          ws.deliver({ type: T.Error, code: 2, fatal: false, ref: T.Auth, text: "whispeer: authentication failed" });
          return;
        }
        ws.deliver({ type: T.AuthOK, expires: f.type === T.Auth ? this.expires(f.token) : 0n, token: f.type === T.Login ? "earned" : "" });
        return;
      case T.Sub: {
        const recovered = f.resume.mode === 2 || f.resume.mode === 3 ? this.recovered : false;
        ws.deliver({ type: T.SubAck, sid: f.sid, code: 0, recovered, epoch: this.epoch, offset: BigInt(this.offsets.get(f.topic) ?? 0), text: "" });
        return;
      }
      case T.Pub:
        if (f.qos === 1 && this.acks) ws.deliver({ type: T.PubAck, sid: 0, code: 0, id: f.id, text: "", offset: 0n });
        if (f.qos === 2) this.#exactlyOnce(ws, f);
        return;
      case T.PubRel:
        if (f.sid !== 0 || !this.comps) return;
        ws.deliver({ type: T.PubComp, sid: 0, code: this.held.delete(f.id) ? 0 : 4, id: f.id, text: "", offset: 0n });
        return;
      case T.Ping:
        if (this.pongs) ws.deliver({ type: T.Pong });
        return;
    }
  }

  #exactlyOnce(ws, f) {
    if (this.recCode !== 0) {
      ws.deliver({ type: T.PubRec, sid: 0, code: this.recCode, id: f.id, text: "whispeer: refused", offset: 0n });
      return;
    }
    if (!this.held.has(f.id)) {
      this.held.add(f.id);
      this.stored.push(f.id);
    }
    if (this.recs) ws.deliver({ type: T.PubRec, sid: 0, code: 0, id: f.id, text: "", offset: 0n });
  }
}

/** msg makes a MSG frame. */
export function msg(sid, topic, offset, payload, extra = {}) {
  return { type: T.Msg, qos: 0, envelope: false, dup: false, replay: false, sid, offset: BigInt(offset), time: 0n, topic, id: `id-${offset}`, headers: [], payload: new TextEncoder().encode(payload), ...extra };
}
