// Exactly once (QoS 2) against a scripted fake server and a fake clock: the
// publisher's PUB → PUBREC → PUBREL → PUBCOMP, retransmitted across
// reconnections under the same session; the subscriber's MSG → PUBREC →
// PUBREL → PUBCOMP, where a message is handed over once per delivery however
// often the server sends it, also across a cut between PUBREC and PUBREL;
// the bounds and the errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, DeliveryError, ServerError, WhispeerError } from "../dist/index.js";
import { T } from "../dist/frames.js";
import { Held } from "../dist/exactly.js";
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
const acks = (ws, type) => framesOf(ws, type).map((a) => [a.sid, a.id, a.offset]);
const q2 = (sid, topic, offset, payload, extra = {}) => msg(sid, topic, offset, payload, { qos: 2, ...extra });
const pending = (p) => Promise.race([p.then(() => "resolved", () => "rejected"), settle().then(() => "pending")]);

/** reconnect drops the connection and lets the client connect again. */
async function reconnect(server, clock) {
  const before = server.last;
  before.drop();
  await settle();
  await clock.advance(1000);
  assert.notEqual(server.last, before, "reconnected");
  return server.last;
}

test("QoS 2 publish: HELLO asks for qos2, the PUBREC is answered with PUBREL, and the publish resolves at PUBCOMP", async () => {
  const { c, server } = await setup();
  assert.equal(framesOf(server.last, T.Hello)[0].caps & 0x4, 0x4);
  server.comps = false;
  const p = c.publish("orders", "o-9", { qos: 2, id: "o-9" });
  await settle();
  assert.deepEqual(framesOf(server.last, T.Pub).map((f) => [f.qos, f.id, f.dup]), [[2, "o-9", false]]);
  assert.deepEqual(acks(server.last, T.PubRel), [[0, "o-9", 0n]]);
  assert.equal(await pending(p), "pending", "not complete before the PUBCOMP");
  server.last.deliver({ type: T.PubComp, sid: 0, code: 0, id: "o-9", text: "", offset: 0n });
  await p;
  const gen = c.publish("orders", "generated", { qos: 2 });
  server.comps = true;
  await gen;
  assert.equal(server.stored.length, 2);
  assert.notEqual(server.stored[1], "", "an id is generated at QoS 2");
  await c.close();
});

test("QoS 2 publish: the PUB is retransmitted with dup until the PUBREC, then the PUBREL until the PUBCOMP, across reconnections under the session the client made up; stored once", async () => {
  const { c, clock, server } = await setup();
  const session = framesOf(server.last, T.Hello)[0].session;
  assert.equal(session.length, 22, "a stable id of the client's own");
  server.recs = false;
  server.comps = false;
  const p = c.publish("orders", "once", { qos: 2, id: "o-1" });
  await settle();
  let ws = await reconnect(server, clock);
  assert.equal(framesOf(ws, T.Hello)[0].session, session, "the identity holds across reconnections");
  assert.deepEqual(framesOf(ws, T.Pub).map((f) => [f.id, f.dup]), [["o-1", true]]);
  assert.deepEqual(framesOf(ws, T.PubRel), []);

  server.recs = true; // the PUBREC of the next retransmission arrives; the connection is cut before the PUBCOMP
  ws = await reconnect(server, clock);
  assert.deepEqual(framesOf(ws, T.Pub).map((f) => [f.id, f.dup]), [["o-1", true]]);
  assert.deepEqual(acks(ws, T.PubRel), [[0, "o-1", 0n]]);
  assert.equal(await pending(p), "pending");

  server.comps = true;
  ws = await reconnect(server, clock);
  assert.deepEqual(framesOf(ws, T.Pub), [], "released: the PUB is not sent again");
  assert.deepEqual(acks(ws, T.PubRel), [[0, "o-1", 0n]]);
  await p;
  assert.deepEqual(server.stored, ["o-1"], "stored once");
  await c.close();
});

test("QoS 2 publish: clientId is the session named in every HELLO", async () => {
  const { c, clock, server } = await setup({ clientId: "device-7" });
  assert.equal(framesOf(server.last, T.Hello)[0].session, "device-7");
  const ws = await reconnect(server, clock);
  assert.equal(framesOf(ws, T.Hello)[0].session, "device-7");
  await c.close();
  await assert.rejects(setup({ clientId: "x".repeat(256) }), (e) => e instanceof WhispeerError && e.code === "invalid");
});

test("QoS 2 publish: a PUBREC with a code rejects with a ServerError and holds nothing; a PUBCOMP not_found completes", async () => {
  const { c, server } = await setup();
  server.recCode = 7;
  await assert.rejects(c.publish("orders", "x", { qos: 2, id: "over" }), (e) => e instanceof ServerError && e.code === "limit");
  assert.deepEqual(framesOf(server.last, T.PubRel), [], "nothing to release");
  server.recCode = 0;
  server.comps = false;
  const p = c.publish("orders", "x", { qos: 2, id: "gone" });
  await settle();
  server.last.deliver({ type: T.PubComp, sid: 0, code: 4, id: "gone", text: "", offset: 0n });
  await p;
  await c.close();
});

test("QoS 2 publish: the in-flight bound covers publishes awaiting their PUBCOMP", async () => {
  const { c, server } = await setup({ maxInflight: 2 });
  server.comps = false;
  const ps = [1, 2, 3].map((n) => c.publish("orders", "x", { qos: 2, id: `b-${n}` }));
  await settle();
  assert.deepEqual(framesOf(server.last, T.Pub).map((f) => f.id), ["b-1", "b-2"], "the third waits for room");
  server.last.deliver({ type: T.PubComp, sid: 0, code: 0, id: "b-1", text: "", offset: 0n });
  await settle();
  assert.deepEqual(framesOf(server.last, T.Pub).map((f) => f.id), ["b-1", "b-2", "b-3"]);
  server.comps = true;
  server.last.deliver(
    { type: T.PubComp, sid: 0, code: 0, id: "b-2", text: "", offset: 0n },
    { type: T.PubComp, sid: 0, code: 0, id: "b-3", text: "", offset: 0n },
  );
  await Promise.all(ps);
  await c.close();
});

test("QoS 2 without the server's qos2: publish and subscribe are refused, a publish waiting for a reconnection fails", async () => {
  const server = new FakeServer();
  server.caps = 0x39;
  const { c, clock } = await setup({}, server);
  await assert.rejects(c.publish("orders", "x", { qos: 2 }), (e) => e.code === "invalid" && /QoS 2/.test(e.message));
  assert.throws(() => c.subscribe("orders", () => {}, { qos: 2 }), (e) => e.code === "invalid");
  server.last.drop();
  await settle();
  const refused = assert.rejects(c.publish("orders", "x", { qos: 2, id: "w" }), (e) => e.code === "invalid");
  await clock.advance(1000);
  await refused;
  assert.deepEqual(framesOf(server.last, T.Pub), []);
  await c.close();
});

test("QoS 2 delivery: handed over once, PUBREC after the handler; a repeated MSG gets PUBREC again; PUBREL gets PUBCOMP and the id is forgotten", async () => {
  const { c, server } = await setup();
  const got = [];
  const sub = c.subscribe("orders", (m) => got.push([m.text(), m.qos]), { qos: 2 });
  await sub.ready;
  assert.equal(framesOf(server.last, T.Sub)[0].qos, 2);
  const ws = server.last;
  ws.deliver(q2(sub.sid, "orders", 1, "one"));
  await settle();
  assert.deepEqual(got, [["one", 2]]);
  assert.deepEqual(acks(ws, T.PubRec), [[sub.sid, "id-1", 1n]]);
  ws.deliver(q2(sub.sid, "orders", 1, "one", { dup: true }));
  await settle();
  assert.deepEqual(got, [["one", 2]], "not handed over again");
  assert.equal(acks(ws, T.PubRec).length, 2, "answered with PUBREC again");
  ws.deliver({ type: T.PubRel, sid: sub.sid, code: 0, id: "id-1", text: "", offset: 1n });
  await settle();
  assert.deepEqual(acks(ws, T.PubComp), [[sub.sid, "id-1", 1n]]);
  assert.equal(sub.held.size, 0, "forgotten at PUBREL");
  ws.deliver({ type: T.PubRel, sid: sub.sid, code: 0, id: "unknown", text: "", offset: 9n });
  await settle();
  assert.deepEqual(acks(ws, T.PubComp).at(-1), [sub.sid, "unknown", 9n], "a PUBREL not held is completed too");
  ws.deliver(q2(sub.sid, "orders", 1, "one", { dup: true }));
  await settle();
  assert.deepEqual(got, [["one", 2]], "at or below the last offset handed over: dropped, answered");
  assert.equal(acks(ws, T.PubRec).length, 3);
  await c.close();
});

test("QoS 2 delivery: a pattern subscription tells apart deliveries that share an id by topic and offset", async () => {
  const { c, server } = await setup();
  const got = [];
  const sub = c.subscribe("chat/+", (m) => got.push(m.topic), { qos: 2 });
  await sub.ready;
  server.last.deliver(q2(sub.sid, "chat/a", 3, "a", { id: "m" }), q2(sub.sid, "chat/b", 3, "b", { id: "m" }), q2(sub.sid, "chat/b", 3, "b", { id: "m", dup: true }));
  await settle();
  assert.deepEqual(got, ["chat/a", "chat/b"]);
  await c.close();
});

test("QoS 2 delivery: a cut between PUBREC and PUBREL; the redelivery on the next connection is answered, not handed over, and released", async () => {
  const { c, clock, server } = await setup();
  const got = [];
  const sub = c.subscribe("chat/#", (m) => got.push(m.text()), { qos: 2 });
  await sub.ready;
  server.last.deliver(q2(sub.sid, "chat/a", 5, "five"));
  await settle();
  assert.deepEqual(acks(server.last, T.PubRec), [[sub.sid, "id-5", 5n]]);
  const ws = await reconnect(server, clock);
  ws.deliver(q2(sub.sid, "chat/a", 5, "five", { dup: true }), q2(sub.sid, "chat/a", 6, "six"));
  await settle();
  assert.deepEqual(got, ["five", "six"]);
  assert.deepEqual(acks(ws, T.PubRec), [[sub.sid, "id-5", 5n], [sub.sid, "id-6", 6n]]);
  ws.deliver({ type: T.PubRel, sid: sub.sid, code: 0, id: "id-5", text: "", offset: 5n });
  await settle();
  assert.deepEqual(acks(ws, T.PubComp), [[sub.sid, "id-5", 5n]]);
  assert.equal(sub.held.size, 1);
  await c.close();
});

test("QoS 2 delivery: a MSG repeated while the handler runs is not handed over; a handler that throws did not take it, and the redelivery is handed over", async () => {
  const { c, server, errors } = await setup();
  const got = [];
  let release;
  let fail = true;
  const sub = c.subscribe("orders", async (m) => {
    got.push(m.offset);
    if (m.offset === 1) await new Promise((r) => (release = r));
    if (m.offset === 2 && fail) {
      fail = false;
      throw new Error("not now");
    }
  }, { qos: 2 });
  await sub.ready;
  const ws = server.last;
  ws.deliver(q2(sub.sid, "orders", 1, "one"));
  await settle();
  ws.deliver(q2(sub.sid, "orders", 1, "one", { dup: true }));
  await settle();
  assert.deepEqual(acks(ws, T.PubRec), [], "no PUBREC while the handler runs");
  release();
  await settle();
  assert.deepEqual(acks(ws, T.PubRec), [[sub.sid, "id-1", 1n]]);
  ws.deliver(q2(sub.sid, "orders", 2, "two"), q2(sub.sid, "orders", 3, "three"));
  await settle();
  assert.ok(errors.some((e) => e instanceof DeliveryError && e.reason === "handler"));
  assert.deepEqual(acks(ws, T.PubRec).map((a) => a[2]), [1n, 3n], "the one not taken is not received");
  ws.deliver(q2(sub.sid, "orders", 2, "two", { dup: true }));
  await settle();
  assert.deepEqual(got, [1, 2, 3, 2], "handed over again: the first time it was not taken");
  assert.deepEqual(acks(ws, T.PubRec).map((a) => a[2]), [1n, 3n, 2n]);
  await c.close();
});

test("QoS 2 delivery: a renewed subscription to a concrete topic resumes below a delivery not taken", async () => {
  const { c, clock, server } = await setup();
  const sub = c.subscribe("orders", (m) => {
    if (m.offset === 2) throw new Error("not now");
  }, { qos: 2 });
  await sub.ready;
  server.last.deliver(q2(sub.sid, "orders", 1, "one"), q2(sub.sid, "orders", 2, "two"), q2(sub.sid, "orders", 3, "three"));
  await settle();
  assert.equal(sub.position().offset, 3);
  const ws = await reconnect(server, clock);
  assert.deepEqual(framesOf(ws, T.Sub)[0].resume, { mode: 2, epoch: 0xabcn, offset: 1n });
  await c.close();
});

test("QoS 2 delivery: bounded; past maxHeld a delivery is not handed over but reported, and one released makes room; those of a lost connection give way", async () => {
  const { c, clock, server, errors } = await setup();
  const got = [];
  const sub = c.subscribe("chat/#", (m) => got.push(m.offset), { qos: 2, maxHeld: 2 });
  await sub.ready;
  let ws = server.last;
  ws.deliver(q2(sub.sid, "chat/a", 1, "1"), q2(sub.sid, "chat/a", 2, "2"), q2(sub.sid, "chat/a", 3, "3"));
  await settle();
  assert.deepEqual(got, [1, 2]);
  const full = errors.find((e) => e instanceof DeliveryError);
  assert.equal(full?.reason, "too_many_held");
  assert.equal(full?.code, "limit");
  assert.deepEqual(acks(ws, T.PubRec).map((a) => a[2]), [1n, 2n], "the third is not received: the server sends it again");
  ws.deliver({ type: T.PubRel, sid: sub.sid, code: 0, id: "id-1", text: "", offset: 1n }, q2(sub.sid, "chat/a", 3, "3", { dup: true }));
  await settle();
  assert.deepEqual(got, [1, 2, 3]);
  ws = await reconnect(server, clock);
  ws.deliver(q2(sub.sid, "chat/a", 4, "4"), q2(sub.sid, "chat/a", 5, "5"));
  await settle();
  assert.deepEqual(got, [1, 2, 3, 4, 5], "the held deliveries of the lost connection gave way");
  await c.close();
});

test("Held: a PUBREL without an offset releases the oldest delivery taken with its id; a new epoch resets the offset rule", () => {
  const h = new Held(10, true);
  assert.equal(h.admit("t", "a", 1n, 1, true), "deliver");
  assert.equal(h.admit("t", "a", 1n, 1, true), "busy");
  h.taken("t", "a", 1n);
  assert.equal(h.admit("t", "a", 1n, 1, true), "again");
  h.release("a", 0n);
  assert.equal(h.size, 0);
  assert.equal(h.admit("t", "a", 1n, 1, true), "again", "the offset rule");
  h.newEpoch();
  assert.equal(h.admit("t", "a", 1n, 1, true), "deliver", "offsets start again in a new epoch");
});

test("QoS 2 durable delivery: SUB in durable mode, renewed so; a redelivery at or below what the handler took (a cursor that lagged) is answered and not handed over; a gap is reported", async () => {
  const { c, clock, server, errors } = await setup({ clientId: "billing" });
  const got = [];
  const sub = c.subscribe("orders", (m) => got.push(m.text()), { qos: 2, durable: true });
  const info = await sub.ready;
  assert.equal(info.resumed, true);
  assert.deepEqual(framesOf(server.last, T.Sub).map((f) => [f.qos, f.resume.mode]), [[2, 3]]);
  server.last.deliver(q2(sub.sid, "orders", 1, "one"), q2(sub.sid, "orders", 2, "two"));
  await settle();
  server.last.deliver(
    { type: T.PubRel, sid: sub.sid, code: 0, id: "id-1", text: "", offset: 1n },
    { type: T.PubRel, sid: sub.sid, code: 0, id: "id-2", text: "", offset: 2n },
  );
  await settle();
  assert.equal(sub.held.size, 0, "released");

  const ws = await reconnect(server, clock);
  assert.deepEqual(framesOf(ws, T.Sub).map((f) => [f.qos, f.resume.mode]), [[2, 3]], "renewed in durable mode, not from an offset");
  ws.deliver(q2(sub.sid, "orders", 2, "two", { dup: true }), q2(sub.sid, "orders", 3, "three"));
  await settle();
  assert.deepEqual(got, ["one", "two", "three"]);
  assert.deepEqual(acks(ws, T.PubRec), [[sub.sid, "id-2", 2n], [sub.sid, "id-3", 3n]], "the lagging redelivery is answered");
  assert.ok(!errors.some((e) => e.name === "GapError"), "recovered: no gap");

  server.recovered = false;
  const lost = await reconnect(server, clock);
  assert.deepEqual(framesOf(lost, T.Sub).map((f) => f.resume.mode), [3]);
  assert.ok(errors.some((e) => e.name === "GapError"), "a durable subscription that did not recover reports a gap");
  await c.close();
});
