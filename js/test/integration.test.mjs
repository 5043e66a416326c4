// The client against a real whispeer server (test/whispeerd) over WebSocket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { WebSocket } from "ws";
import { connect, AuthError, ServerError, GapError, ClosedError } from "../dist/index.js";
import { startServer } from "./lib/server.mjs";
import { collector } from "./lib/collect.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const opts = (extra = {}) => ({ WebSocket, reconnectWait: [10, 100], ...extra });
const admin = () => ({ token: srv.tokens.admin });
let n = 0;
const fresh = (prefix = "t") => `${prefix}/${process.pid}-${++n}`;

test("token auth, publish QoS 0 and 1, subscribe, state events", async () => {
  const states = [];
  const c = await connect(srv.url, admin(), opts());
  c.on("state", (s) => states.push(s));
  assert.equal(c.state, "connected");
  assert.match(c.server, /whispeer/);
  const topic = fresh();
  const col = collector();
  const sub = c.subscribe(topic, (m) => col.push(m));
  const info = await sub.ready;
  assert.equal(info.recovered, true);
  await c.publish(topic, "zero");
  await c.publish(topic, new Uint8Array([1, 2, 3]), { qos: 1, headers: { k: "v" }, id: "my-id" });
  const got = await col.until(2);
  assert.equal(got[0].text(), "zero");
  assert.equal(got[0].qos, 0);
  assert.deepEqual([...got[1].payload], [1, 2, 3]);
  assert.equal(got[1].qos, 1);
  assert.equal(got[1].id, "my-id");
  assert.deepEqual(got[1].headers, { k: "v" });
  assert.equal(got[1].offset, got[0].offset + 1);
  await c.close();
  assert.deepEqual(states, ["closing", "closed"]);
  await assert.rejects(c.publish(topic, "late"), ClosedError);
});

test("login, and a wrong password is an AuthError", async () => {
  const c = await connect(srv.url, { username: "admin", password: "password" }, opts());
  await c.close();
  await assert.rejects(connect(srv.url, { username: "admin", password: "nope" }, opts()), (e) => {
    assert.ok(e instanceof AuthError, String(e));
    assert.equal(e.code, "unauthorized");
    return true;
  });
  await assert.rejects(connect(srv.url, { token: "not-a-jwt" }, opts()), AuthError);
});

test("refusals are typed errors with codes", async () => {
  const c = await connect(srv.url, { token: srv.tokens.alice }, opts());
  const errors = [];
  c.on("error", (e) => errors.push(e));
  await assert.rejects(c.publish("chat/bob", "x", { qos: 1 }), (e) => {
    assert.ok(e instanceof ServerError);
    assert.equal(e.code, "forbidden");
    assert.match(e.message, /^whispeer: /);
    return true;
  });
  const sub = c.subscribe("secret/x", () => {});
  await assert.rejects(sub.ready, (e) => e instanceof ServerError && e.code === "forbidden");
  assert.equal(sub.state, "ended");
  await assert.rejects(c.publish("a/+", "x"), (e) => e.code === "invalid");
  assert.throws(() => c.subscribe("a/#/b"), (e) => e.code === "invalid");
  await c.publish("chat/bob", "x"); // QoS 0: the refusal comes as an ERROR
  await c.close();
  assert.ok(errors.some((e) => e instanceof ServerError && e.code === "forbidden" && e.ref === 0x20), String(errors));
});

test("last N replays history; offset and epoch resume what was missed", async () => {
  const c = await connect(srv.url, admin(), opts());
  const topic = fresh();
  for (let i = 1; i <= 5; i++) await c.publish(topic, `m${i}`, { qos: 1 });
  const col = collector();
  const sub = c.subscribe(topic, (m) => col.push(m), { last: 3 });
  await sub.ready;
  const got = await col.until(3);
  assert.deepEqual(got.map((m) => m.text()), ["m3", "m4", "m5"]);
  assert.ok(got.every((m) => m.replayed));
  const pos = sub.position();
  assert.equal(pos.offset, 5);
  assert.notEqual(pos.epoch, "0");
  sub.unsubscribe();
  for (let i = 6; i <= 8; i++) await c.publish(topic, `m${i}`, { qos: 1 });
  const col2 = collector();
  const again = c.subscribe(topic, (m) => col2.push(m), { resume: pos });
  const info = await again.ready;
  assert.equal(info.resumed, true);
  assert.equal(info.recovered, true);
  assert.deepEqual((await col2.until(3)).map((m) => m.text()), ["m6", "m7", "m8"]);
  await c.close();
});

test("after the server cuts the connection: reconnect, resume without gap or duplicate, resend QoS 1", async () => {
  const sc = await connect(srv.url, admin(), opts());
  const pc = await connect(srv.url, { username: "admin", password: "password" }, opts());
  const events = [];
  sc.on("state", (s) => events.push(s));
  sc.on("error", () => {});
  pc.on("error", () => {});
  const topic = fresh();
  const col = collector();
  await sc.subscribe(topic, (m) => col.push(m)).ready;
  const N = 200;
  const sent = [];
  for (let i = 1; i <= N; i++) {
    sent.push(pc.publish(topic, String(i), { qos: 1 }));
    if (i === N / 2) await srv.cut();
  }
  await Promise.all(sent); // every QoS 1 publish acknowledged, across the cut
  // Every message the server accepted reaches the subscriber once, in order:
  // consecutive offsets, none missing, none twice. A QoS 1 publish whose
  // PUBACK the cut lost is sent again, so the server may have accepted it
  // twice (at least once), under the same id.
  await pc.publish(topic, "end", { qos: 1 });
  const got = (await col.untilText("end")).slice(0, -1);
  const offsets = got.map((m) => m.offset);
  assert.deepEqual(offsets, Array.from({ length: got.length }, (_, i) => offsets[0] + i));
  assert.deepEqual([...new Set(got.map((m) => Number(m.text())))].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i + 1));
  const ids = new Map();
  for (const m of got) {
    if (ids.has(m.text())) assert.equal(ids.get(m.text()), m.id, "a payload twice is a publish sent twice");
    ids.set(m.text(), m.id);
  }
  assert.ok(events.includes("reconnecting") && events.at(-1) === "connected", events.join(","));
  await Promise.all([sc.close(), pc.close()]);
});

test("a restart keeps the history: the resume recovers; a wiped store is reported as recovered: false", async () => {
  const c = await connect(srv.url, admin(), opts());
  const errors = [];
  c.on("error", (e) => errors.push(e));
  const topic = fresh();
  const col = collector();
  const infos = [];
  const sub = c.subscribe(topic, (m) => col.push(m));
  sub.on("subscribed", (i) => infos.push(i));
  await sub.ready;
  await c.publish(topic, "before", { qos: 1 });
  await col.until(1);
  let connected = new Promise((r) => c.once("connect", r));
  await srv.restart();
  await connected;
  await c.publish(topic, "after restart", { qos: 1 });
  await col.until(2);
  assert.equal(infos.at(-1).recovered, true);
  assert.equal(infos.at(-1).resumed, true);
  connected = new Promise((r) => c.once("connect", r));
  const gap = new Promise((r) => sub.once("error", r));
  await srv.wipe();
  await connected;
  assert.ok((await gap) instanceof GapError);
  assert.equal(sub.recovered, false);
  assert.equal(infos.at(-1).recovered, false);
  await c.publish(topic, "after wipe", { qos: 1 });
  assert.deepEqual((await col.until(3)).map((m) => m.text()), ["before", "after restart", "after wipe"]);
  await c.close();
});

test("typed topics and async iterators", async () => {
  const c = await connect(srv.url, admin(), opts());
  const errors = [];
  c.on("error", (e) => errors.push(e));
  const orders = c.topic(fresh("orders"));
  const sub = orders.subscribe();
  await sub.ready;
  await orders.publish({ id: 1, item: "tea" });
  await c.publish(orders.name, "not json");
  await orders.publish({ id: 2, item: "cake" }, { qos: 1 });
  const got = [];
  for await (const o of sub) {
    got.push(o);
    if (got.length === 2) break; // unsubscribes
  }
  assert.deepEqual(got, [{ id: 1, item: "tea" }, { id: 2, item: "cake" }]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].reason, "type_mismatch");
  assert.equal(sub.state, "ended");
  await c.close();
});

test("close flushes what was published", async () => {
  const sc = await connect(srv.url, admin(), opts());
  const topic = fresh();
  const col = collector();
  await sc.subscribe(topic, (m) => col.push(m)).ready;
  const pc = await connect(srv.url, admin(), opts());
  for (let i = 0; i < 1000; i++) void pc.publish(topic, String(i));
  await pc.close();
  assert.equal((await col.until(1000)).length, 1000);
  await sc.close();
});

test("Go client and JS client, both ways", async () => {
  const c = await connect(srv.url, admin(), opts());
  const topic = fresh("interop");
  const col = collector();
  await c.subscribe(`${topic}/#`, (m) => col.push(m)).ready;
  await srv.goPublish(`${topic}/from-go`, 1, "hello from go");
  const [m] = await col.until(1);
  assert.equal(m.topic, `${topic}/from-go`);
  assert.equal(m.text(), "hello from go");
  assert.equal(m.headers.from, "go");
  const before = srv.goMessages.length;
  await srv.goSubscribe(`${topic}/+`);
  await c.publish(`${topic}/from-js`, new Uint8Array([0xc1, 0x57, 1, 0]), { qos: 1 });
  const got = await srv.goWait(before + 1);
  assert.equal(got[before].topic, `${topic}/from-js`);
  assert.deepEqual([...Buffer.from(got[before].payload, "base64")], [0xc1, 0x57, 1, 0]); // unflagged bytes stay as they are
  await c.close();
});

test("examples/js-node runs against the server", async (t) => {
  const js = fileURLToPath(new URL("../", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "whispeer-example-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(js, join(dir, "node_modules", "whispeer"));
  symlinkSync(join(js, "node_modules", "ws"), join(dir, "node_modules", "ws"));
  copyFileSync(join(js, "..", "examples", "js-node", "main.mjs"), join(dir, "main.mjs"));
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], {
    cwd: dir,
    env: { ...process.env, WHISPEER_URL: srv.url },
    timeout: 20_000,
  });
  assert.match(stdout, /order 1: tea[\s\S]*order 2: cake[\s\S]*order 3: scone/);
  assert.match(stdout, /connection: closed/);
});
