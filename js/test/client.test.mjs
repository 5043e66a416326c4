// The client's bookkeeping against a scripted fake server and a fake clock:
// backoff with jitter, reconnection with resume and QoS 1 resend, bounded
// buffering, keep-alive and wake-up, and end-to-end sealing with a fake
// keyring.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, BufferFullError, DisconnectedError, DeliveryError, TimeoutError } from "../dist/index.js";
import { Backoff } from "../dist/clock.js";
import { T } from "../dist/frames.js";
import { FakeClock, FakeServer, msg, settle } from "./lib/fake.mjs";

const setup = async (extra = {}, server = new FakeServer()) => {
  const clock = new FakeClock();
  const c = await connect("ws://fake/ws", { token: "t" }, {
    WebSocket: server.WebSocket, clock, random: () => 0.999999, reconnectWait: [100, 1000], ...extra,
  });
  const errors = [];
  c.on("error", (e) => errors.push(e));
  return { c, clock, server, errors };
};

const framesOf = (ws, type) => ws.frames.filter((f) => f.type === type);

test("backoff: full jitter under a ceiling that doubles up to the maximum, reset after a success", () => {
  const draws = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
  const b = new Backoff(100, 1000, () => draws.shift());
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500]);
  b.reset();
  assert.equal(b.next(), 50);
  const zero = new Backoff(100, 1000, () => 0);
  assert.equal(zero.next(), 0, "the wait may be zero: full jitter");
});

test("reconnects after the backoff, resumes each concrete subscription after its last offset, resends unacknowledged QoS 1 publishes flagged dup, then the buffered ones", async () => {
  const { c, clock, server } = await setup();
  const states = [];
  c.on("state", (s) => states.push(s));
  const got = [];
  const sub = c.subscribe("chat/a", (m) => got.push(m.text()));
  const wild = c.subscribe("chat/#", () => {}, { last: 5 });
  await sub.ready;
  await wild.ready;
  const first = server.last;
  first.deliver(msg(sub.sid, "chat/a", 1, "one"), msg(sub.sid, "chat/a", 2, "two"));
  assert.deepEqual(sub.position(), { epoch: String(0xabcn), offset: 2 });

  server.acks = false;
  const acked = c.publish("chat/a", "q1", { qos: 1, id: "p1" });
  await settle();
  assert.equal(framesOf(first, T.Pub).length, 1);
  first.drop();
  await settle();
  assert.equal(c.state, "reconnecting");
  const buffered = c.publish("chat/a", "q0");
  const later = c.publish("chat/a", "q1-later", { qos: 1, id: "p2" });
  assert.deepEqual(clock.pending(), [100], "the first wait is at most the initial ceiling");
  assert.equal(server.sockets.length, 1);
  server.acks = true;
  await clock.advance(100);
  const second = server.last;
  assert.notEqual(second, first);
  assert.equal(c.state, "connected");
  await Promise.all([acked, buffered, later]);

  const subs = framesOf(second, T.Sub);
  assert.deepEqual(subs.map((s) => [s.topic, s.resume]), [
    ["chat/a", { mode: 2, epoch: 0xabcn, offset: 2n }],
    ["chat/#", { mode: 0 }],
  ]);
  const pubs = framesOf(second, T.Pub).map((p) => [p.id || new TextDecoder().decode(p.payload), p.dup]);
  assert.deepEqual(pubs, [["p1", true], ["q0", false], ["p2", false]]);
  assert.deepEqual(states, ["reconnecting", "connected"]);
  second.deliver(msg(sub.sid, "chat/a", 3, "three"));
  assert.deepEqual(got, ["one", "two", "three"]);
  await c.close();
});

test("failed attempts double the backoff ceiling; a success resets it", async () => {
  const { c, clock, server } = await setup();
  server.refuse = 3;
  server.last.drop();
  await settle();
  const waits = [];
  for (let i = 0; i < 4; i++) {
    const [w] = clock.pending();
    waits.push(w);
    await clock.advance(w);
  }
  assert.deepEqual(waits, [100, 200, 400, 800]);
  assert.equal(c.state, "connected");
  server.last.drop();
  await settle();
  assert.deepEqual(clock.pending(), [100]);
  await c.close();
});

test("publishes while disconnected are buffered up to the limit, then refused", async () => {
  const { c, server } = await setup({ publishBuffer: 100 });
  server.refuse = 1000;
  server.last.drop();
  await settle();
  const payload = "x".repeat(30); // a 42-byte frame
  await c.publish("a", payload);
  await c.publish("a", payload);
  await assert.rejects(c.publish("a", payload), BufferFullError);
  await c.close();

  const off = await setup({ publishBuffer: 0 });
  off.server.refuse = 1000;
  off.server.last.drop();
  await settle();
  await assert.rejects(off.c.publish("a", "x"), DisconnectedError);
  await off.c.close();
});

test("a server silent past the ping interval is pinged, and dropped when the ping has no answer", async () => {
  const server = new FakeServer();
  server.pingInterval = 1000;
  server.pongs = false;
  const { c, clock, errors } = await setup({}, server);
  const states = [];
  c.on("state", (st) => states.push(st));
  const ws = server.last;
  await clock.advance(999);
  assert.equal(framesOf(ws, T.Ping).length, 0, "no ping before the interval");
  await clock.advance(1);
  await clock.advance(500);
  assert.equal(framesOf(ws, T.Ping).length, 1);
  assert.equal(c.state, "connected");
  await clock.advance(1000);
  assert.equal(ws.readyState, 3, "closed for want of a PONG");
  assert.ok(errors.some((e) => e.cause instanceof TimeoutError), errors.join("; "));
  assert.deepEqual(states, ["reconnecting", "connected"]);
  assert.equal(server.sockets.length, 2);
  server.pongs = true; // close's flush ends with a PING round trip
  await c.close();
});

test("waking up (online, visibilitychange) pings at once, and a reconnecting client skips its backoff", async () => {
  const server = new FakeServer();
  server.pingInterval = 30_000;
  server.pongs = false;
  const lifecycle = new EventTarget();
  const { c, clock, errors } = await setup({ lifecycle, reconnectWait: [5000, 10_000] }, server);
  const ws = server.last;
  lifecycle.dispatchEvent(new Event("online"));
  await settle();
  assert.equal(framesOf(ws, T.Ping).length, 1);
  await clock.advance(5000);
  assert.equal(c.state, "reconnecting", "no PONG within 5 s of waking");
  assert.ok(errors.some((e) => e.cause instanceof TimeoutError || /PING/.test(e.message)));
  server.pongs = true;
  lifecycle.dispatchEvent(new Event("online"));
  await settle();
  assert.equal(c.state, "connected", "reconnected without waiting out the backoff");
  assert.equal(server.sockets.length, 2);
  server.pongs = true; // close's flush ends with a PING round trip
  await c.close();
});

test("sealed publishes carry the envelope flag; flagged deliveries are opened, and one that does not open is an error while the subscription goes on; unflagged ones are never opened", async () => {
  const calls = [];
  const keyring = {
    seal: (topic, id, p) => Uint8Array.from([0xc1, 0x57, 1, ...p].map((b, i) => (i > 2 ? b ^ 0x55 : b))),
    open: (topic, id, e) => {
      calls.push(id);
      if (e[2] !== 1) throw new Error("auth failed");
      return Uint8Array.from(e.subarray(3), (b) => b ^ 0x55);
    },
    close: () => {},
  };
  const { c, server, errors } = await setup({ keyring });
  await c.publish("s/a", "hi");
  await settle();
  const [pub] = framesOf(server.last, T.Pub);
  assert.equal(pub.envelope, true);
  assert.ok(pub.id.length > 0, "a sealed publish has an id, which the envelope binds");
  assert.deepEqual(keyring.open("s/a", pub.id, pub.payload), new TextEncoder().encode("hi"));
  calls.length = 0;

  const got = [];
  const sub = c.subscribe("s/#", (m) => got.push(m.text()));
  await sub.ready;
  const sealed = (off, text, ok = true) => msg(sub.sid, "s/a", off, "", { envelope: true, payload: keyring.seal("s/a", `id-${off}`, new TextEncoder().encode(text)).map((b, i) => (i === 2 && !ok ? 2 : b)) });
  server.last.deliver(sealed(1, "one"), sealed(2, "bad", false), msg(sub.sid, "s/a", 3, "\xc1W\x01plain"), sealed(4, "four"));
  assert.deepEqual(got, ["one", "four"]);
  assert.deepEqual(calls, ["id-1", "id-2", "id-4"], "the unflagged delivery was not opened");
  const failures = errors.filter((e) => e instanceof DeliveryError).map((e) => [e.reason, e.id]);
  assert.deepEqual(failures, [["open", "id-2"], ["plaintext", "id-3"]]);
  assert.equal(sub.state, "subscribed");
  await c.close();
});

test("a handler returning a promise gets deliveries one at a time, in order; QoS 1 deliveries are acked once handled", async () => {
  const { c, server } = await setup();
  const order = [];
  let release;
  const gate = new Promise((r) => (release = r));
  const sub = c.subscribe("q/a", async (m) => {
    order.push(`start ${m.offset}`);
    if (m.offset === 1) await gate;
    order.push(`end ${m.offset}`);
  });
  await sub.ready;
  server.last.deliver(msg(sub.sid, "q/a", 1, "a", { qos: 1 }), msg(sub.sid, "q/a", 2, "b", { qos: 1 }));
  await settle();
  assert.deepEqual(order, ["start 1"]);
  assert.equal(framesOf(server.last, T.PubAck).length, 0, "not acked before it is handled");
  release();
  await settle();
  assert.deepEqual(order, ["start 1", "end 1", "start 2", "end 2"]);
  assert.deepEqual(framesOf(server.last, T.PubAck).map((a) => [a.sid, a.id, a.offset]), [[sub.sid, "id-1", 1n], [sub.sid, "id-2", 2n]]);
  await c.close();
});

test("close waits for pending QoS 1 acknowledgements and a PING round trip, then ends subscriptions", async () => {
  const { c, server } = await setup();
  server.acks = false;
  const sub = c.subscribe("z", () => {});
  await sub.ready;
  const p = c.publish("z", "x", { qos: 1, id: "late" });
  const closing = c.close();
  await settle();
  assert.equal(c.state, "closing");
  server.last.deliver({ type: T.PubAck, sid: 0, code: 0, id: "late", text: "", offset: 0n });
  await closing;
  await p;
  assert.equal(c.state, "closed");
  assert.equal(sub.state, "ended");
  assert.equal(framesOf(server.last, T.Ping).length, 1);
});

test("while a login is slow to answer, the client answers the server's PINGs and pings it, so that it is not taken for dead", async () => {
  const server = new FakeServer();
  server.pingInterval = 1000;
  server.holdAuth = true;
  const clock = new FakeClock();
  const connecting = connect("ws://fake/ws", { username: "u", password: "p" }, { WebSocket: server.WebSocket, clock });
  await settle();
  const ws = server.last;
  ws.deliver({ type: T.Ping });
  assert.equal(framesOf(ws, T.Pong).length, 1, "the server's PING answered during the handshake");
  await clock.advance(500);
  await clock.advance(500);
  assert.equal(framesOf(ws, T.Ping).length, 2, "a PING every half interval while waiting");
  ws.deliver({ type: T.Pong }, { type: T.AuthOK, expires: 0n, token: "tok" });
  const c = await connecting;
  assert.equal(c.state, "connected");
  await c.close();
});

test("credentials on reconnection: getToken is asked every time; a login's token is presented, and a refused one leads to logging in again", async () => {
  let n = 0;
  const server = new FakeServer();
  const clock = new FakeClock();
  const c = await connect("ws://fake/ws", { getToken: async () => `jwt-${++n}` }, { WebSocket: server.WebSocket, clock, random: () => 0 });
  c.on("error", () => {});
  server.last.drop();
  await settle();
  await clock.advance(0);
  assert.deepEqual(server.sockets.map((ws) => framesOf(ws, T.Auth)[0]?.token), ["jwt-1", "jwt-2"]);
  await c.close();

  const s2 = new FakeServer();
  const c2 = await connect("ws://fake/ws", { username: "u", password: "p" }, { WebSocket: s2.WebSocket, clock, random: () => 0 });
  c2.on("error", () => {});
  s2.last.drop();
  await settle();
  await clock.advance(0);
  s2.refuseToken = "earned";
  s2.last.drop();
  for (let i = 0; i < 3; i++) await clock.advance(1000);
  const auths = s2.sockets.map((ws) => ws.frames.find((f) => f.type === T.Auth || f.type === T.Login)).map((f) => (f.type === T.Login ? "LOGIN" : `AUTH ${f.token}`));
  assert.deepEqual(auths.slice(0, 4), ["LOGIN", "AUTH earned", "AUTH earned", "LOGIN"]);
  assert.equal(c2.state, "connected");
  await c2.close();
});

test("an aborted QoS 1 publish rejects with the signal's reason and is not sent again; one too large for the server is refused before sending", async () => {
  const { c, clock, server } = await setup();
  server.acks = false;
  const ac = new AbortController();
  const p = c.publish("a", "x", { qos: 1, id: "gone", signal: ac.signal });
  await settle();
  ac.abort(new Error("no longer wanted"));
  await assert.rejects(p, /no longer wanted/);
  server.last.drop();
  await settle();
  await clock.advance(100);
  assert.equal(framesOf(server.last, T.Pub).length, 0, "not resent after reconnecting");
  await assert.rejects(c.publish("a", new Uint8Array(1 << 20)), (e) => e.code === "too_large");
  server.acks = true;
  await c.close();
});
