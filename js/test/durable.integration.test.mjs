// Durable QoS 2 subscriptions against a real server (test/whispeerd): a
// subscriber that is away, cut off or closed, misses what is published
// meanwhile and comes back with the same clientId gets each message once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { connect, WhispeerError } from "../dist/index.js";
import { T } from "../dist/frames.js";
import { startServer } from "./lib/server.mjs";
import { collector } from "./lib/collect.mjs";
import { faulty } from "./lib/faulty.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const opts = (extra = {}) => ({ WebSocket, reconnectWait: [10, 50], ...extra });
const admin = () => ({ token: srv.tokens.admin });
let n = 0;
const fresh = (prefix) => `${prefix}/${process.pid}-${++n}`;
const texts = (col) => col.got.map((m) => m.text());
const durable = { qos: 2, durable: true };

/**
 * gated returns a WebSocket constructor whose new connections fail while
 * gate.shut is true (they go to a port nothing listens on), so that a
 * client cut off stays away until the test lets it back.
 */
function gated() {
  const gate = { shut: false };
  class Gated extends WebSocket {
    constructor(url, ...rest) {
      super(gate.shut ? "ws://127.0.0.1:1/ws" : url, ...rest);
    }
  }
  return { gate, Gated };
}

test("a durable subscriber that closes and comes back in a new client with the same clientId gets what was published meanwhile, each once, then live messages", { timeout: 20_000 }, async () => {
  const topic = fresh("durable");
  const clientId = fresh("billing").replace("/", "-");
  const pub = await connect(srv.url, admin(), opts());
  const first = await connect(srv.url, admin(), opts({ clientId }));
  const before = collector();
  await first.subscribe(topic, (m) => before.push(m), durable).ready;
  await pub.publish(topic, "one", { qos: 2 });
  await before.untilText("one");
  await first.close();

  await pub.publish(topic, "two", { qos: 2 });
  await pub.publish(topic, "three", { qos: 2 });

  const second = await connect(srv.url, admin(), opts({ clientId }));
  const after = collector();
  const s = second.subscribe(topic, (m) => after.push(m), durable);
  const info = await s.ready;
  assert.equal(info.resumed, true);
  assert.equal(info.recovered, true);
  await after.untilText("three");
  await pub.publish(topic, "four", { qos: 2 });
  await after.untilText("four");
  assert.deepEqual(texts(before), ["one"]);
  assert.deepEqual(texts(after), ["two", "three", "four"]);
  assert.ok(after.got.every((m) => m.qos === 2));
  await Promise.all([pub.close(), second.close()]);
});

test("a durable subscription is renewed in durable mode after a reconnect, and gets what was published while the client was cut off, each once", { timeout: 20_000 }, async () => {
  const topic = fresh("durable");
  const clientId = fresh("audit").replace("/", "-");
  const { gate, Gated } = gated();
  const modes = [];
  let released;
  const pubrel = new Promise((resolve) => (released = resolve));
  const FW = faulty(Gated, {
    in: (f) => {
      if (f.type === T.PubRel) released(); // the server has the PUBREC: its cursor is saved
      return undefined;
    },
    out: (f) => {
      if (f.type === T.Sub) modes.push(f.resume.mode);
      return undefined;
    },
  });
  const sub = await connect(srv.url, admin(), opts({ WebSocket: FW, clientId }));
  const col = collector();
  const s = sub.subscribe(topic, (m) => col.push(m), durable);
  await s.ready;
  const pub = await connect(srv.url, admin(), opts());
  try {
    await cutOff(topic, sub, s, pub, col, gate, pubrel, modes);
  } finally {
    gate.shut = false;
    await Promise.all([pub.close(), sub.close()]);
  }
});

async function cutOff(topic, sub, s, pub, col, gate, pubrel, modes) {
  await pub.publish(topic, "one", { qos: 2 });
  await col.untilText("one");
  await pubrel;

  gate.shut = true;
  const away = new Promise((resolve) => sub.once("disconnect", resolve));
  await srv.cut();
  await away;
  await pub.publish(topic, "two", { qos: 2 });
  await pub.publish(topic, "three", { qos: 2 });
  const renewed = new Promise((resolve) => s.once("subscribed", resolve));
  gate.shut = false;
  const info = await renewed;
  assert.equal(info.recovered, true);
  await col.untilText("three");
  await pub.publish(topic, "four", { qos: 2 });
  await col.untilText("four");

  assert.deepEqual(texts(col), ["one", "two", "three", "four"]);
  assert.deepEqual(modes, [3, 3], "the first SUB and its renewal are durable");
}

test("a durable subscription needs qos 2 and the application's own clientId", async () => {
  const anonymous = await connect(srv.url, admin(), opts());
  const named = await connect(srv.url, admin(), opts({ clientId: fresh("named").replace("/", "-") }));
  try {
    const noId = () => anonymous.subscribe("durable/x", () => {}, durable);
    assert.throws(noId, (e) => e instanceof WhispeerError && e.code === "invalid" && /clientId/.test(e.message));
    for (const bad of [{ qos: 1, durable: true }, { durable: true }, { qos: 2, durable: true, last: 3 }]) {
      assert.throws(() => named.subscribe("durable/x", () => {}, bad), (e) => e instanceof WhispeerError && e.code === "invalid", JSON.stringify(bad));
    }
  } finally {
    await Promise.all([anonymous.close(), named.close()]);
  }
});
