// Exactly once (QoS 2) against a real server (test/whispeerd): publishes
// retransmitted across connections cut before the PUBREC and before the
// PUBCOMP are stored and delivered once per subscription; a subscriber cut
// between its PUBREC and the server's PUBREL, and before its PUBREC reached
// the server, gets each message once; and a PopSub JSON client and a Go
// client at QoS 2, both ways with this one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { connect } from "../dist/index.js";
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
const fresh = (prefix = "q2") => `${prefix}/${process.pid}-${++n}`;
const texts = (col) => col.got.map((m) => m.text());

/** once cuts at the first frame for which pred is true, with verdict. */
const once = (pred, verdict) => {
  let done = false;
  return (f) => {
    if (done || !pred(f)) return undefined;
    done = true;
    return verdict;
  };
};

/**
 * publishThroughCuts publishes "once" at QoS 2 from a client whose first
 * connection is cut before the PUBREC reaches it and whose second is cut
 * before its PUBREL reaches the server, then "end", and checks that two
 * subscriptions and the topic's history have each once.
 */
async function publishThroughCuts(extra) {
  const topic = fresh();
  const sub = await connect(srv.url, admin(), opts());
  const exact = collector();
  const wild = collector();
  await sub.subscribe(topic, (m) => exact.push(m), { qos: 2 }).ready;
  await sub.subscribe(`${topic.split("/")[0]}/#`, (m) => m.topic === topic && wild.push(m), { qos: 2 }).ready;

  const FW = faulty(WebSocket, {
    in: once((f) => f.type === T.PubRec && f.sid === 0, "drop"), // the server stored it; the client never hears so
    out: once((f) => f.type === T.PubRel, "drop"), // the client got the PUBREC; the server never hears the PUBREL
  });
  const pub = await connect(srv.url, admin(), opts({ WebSocket: FW, ...extra }));
  try {
    await checkThroughCuts(topic, pub, FW, exact, wild, sub);
  } finally {
    await Promise.all([pub.close(), sub.close()]);
  }
}

async function checkThroughCuts(topic, pub, FW, exact, wild, sub) {
  await pub.publish(topic, "once", { qos: 2, id: "r-1" });
  assert.equal(FW.state.cuts, 2, "both cuts happened");
  await pub.publish(topic, "end", { qos: 2 });
  await exact.untilText("end");
  await wild.untilText("end");
  assert.deepEqual(texts(exact), ["once", "end"]);
  assert.deepEqual(texts(wild), ["once", "end"]);
  assert.ok(exact.got.every((m) => m.qos === 2));

  const history = collector();
  await sub.subscribe(topic, (m) => history.push(m), { last: 10 }).ready;
  await history.untilText("end");
  assert.deepEqual(texts(history), ["once", "end"], "stored once");
}

test("a QoS 2 publish cut before its PUBREC, then before its PUBREL reached the server, is stored once and delivered once per subscription", { timeout: 20_000 }, async () => {
  await publishThroughCuts({ clientId: `cuts-${process.pid}-${n}` });
});

test("without a clientId, the same through cuts under the id the client made up", { timeout: 20_000 }, async () => {
  await publishThroughCuts({});
});

test("a QoS 2 publish repeated with the same id on a later connection of the same client id is acknowledged and not delivered again", { timeout: 20_000 }, async () => {
  const topic = fresh();
  const sub = await connect(srv.url, admin(), opts());
  const col = collector();
  await sub.subscribe(topic, (m) => col.push(m), { qos: 2 }).ready;
  const clientId = `device-${process.pid}-${n}`;
  const first = await connect(srv.url, admin(), opts({ clientId }));
  await first.publish(topic, "first", { qos: 2, id: "same" });
  await first.close();
  const second = await connect(srv.url, admin(), opts({ clientId }));
  await second.publish(topic, "first again", { qos: 2, id: "same" });
  await second.publish(topic, "end", { qos: 2 });
  await col.untilText("end");
  assert.deepEqual(texts(col), ["first", "end"]);
  await Promise.all([second.close(), sub.close()]);
});

for (const [name, verdict, pattern] of [
  ["between its PUBREC and the server's PUBREL", "after", false],
  ["before its PUBREC reached the server", "drop", false],
  ["between its PUBREC and the server's PUBREL, on a pattern", "after", true],
]) {
  test(`a QoS 2 subscriber cut ${name} gets each message once`, { timeout: 20_000 }, async () => {
      const topic = fresh();
    const FW = faulty(WebSocket, { out: once((f) => f.type === T.PubRec && f.sid !== 0, verdict) });
    const sub = await connect(srv.url, admin(), opts({ WebSocket: FW }));
    const col = collector();
    const s = sub.subscribe(pattern ? `${topic}/#` : topic, (m) => col.push(m), { qos: 2 });
    await s.ready;
    const renewed = new Promise((resolve) => s.on("subscribed", resolve));
    const pub = await connect(srv.url, admin(), opts());
    const at = pattern ? `${topic}/x` : topic;
    await pub.publish(at, "one", { qos: 2 });
    await renewed;
    await pub.publish(at, "two", { qos: 2 });
    await col.untilText("two");
    assert.equal(FW.state.cuts, 1);
    assert.deepEqual(texts(col), ["one", "two"]);
    await Promise.all([pub.close(), sub.close()]);
  });
}

/** jsonClient connects a PopSub JSON client, authenticated; frames collects what it receives. */
async function jsonClient() {
  const ws = new WebSocket(srv.url);
  const frames = [];
  const waiters = [];
  ws.on("message", (data) => {
    frames.push(JSON.parse(String(data)));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const send = (f) => ws.send(JSON.stringify(f));
  const until = async (pred) => {
    for (;;) {
      const f = frames.find(pred);
      if (f) return f;
      await new Promise((r) => waiters.push(r));
    }
  };
  send({ type: "auth", token: srv.tokens.admin });
  await until((f) => f.type === "authenticated");
  return { ws, frames, send, until };
}

test("interop at QoS 2: a JSON publisher to a native subscriber, and a native publisher to a JSON subscriber", { timeout: 20_000 }, async () => {
  const topic = fresh();
  const native = await connect(srv.url, admin(), opts());
  const col = collector();
  await native.subscribe(topic, (m) => col.push(m), { qos: 2 }).ready;
  const json = await jsonClient();
  json.send({ type: "subscribe", topic, qos: 2 });
  await json.until((f) => f.type === "subscribed");

  json.send({ type: "publish", topic, payload: "from json", message_id: "j-1", qos: 2 });
  await json.until((f) => f.type === "pubrec" && f.message_id === "j-1");
  json.send({ type: "publish", topic, payload: "from json", message_id: "j-1", qos: 2 }); // a retransmission
  json.send({ type: "pubrel", message_id: "j-1" });
  await json.until((f) => f.type === "pubcomp" && f.message_id === "j-1");
  await col.until(1);
  assert.equal(col.got[0].json(), "from json");
  assert.equal(col.got[0].qos, 2);

  await native.publish(topic, JSON.stringify("from native"), { qos: 2, id: "n-1" });
  const m = await json.until((f) => f.type === "message" && f.message_id === "n-1");
  assert.equal(m.qos, 2);
  assert.equal(m.payload, "from native");
  json.send({ type: "pubrec", message_id: "n-1", offset: m.offset });
  await json.until((f) => f.type === "pubrel" && f.message_id === "n-1");
  json.send({ type: "pubcomp", message_id: "n-1", offset: m.offset });

  await native.publish(topic, JSON.stringify("end"), { qos: 2 });
  await col.untilSome((x) => x.json() === "end");
  assert.deepEqual(col.got.map((x) => x.json()), ["from json", "from native", "end"]);
  json.ws.close();
  await native.close();
});

test("interop at QoS 2: a Go publisher to this client, and this client to a Go subscriber", { timeout: 20_000 }, async () => {
  const topic = fresh();
  const c = await connect(srv.url, admin(), opts());
  const col = collector();
  await c.subscribe(topic, (m) => col.push(m), { qos: 2 }).ready;
  await srv.goPublish(topic, 2, "from go");
  await col.until(1);
  assert.equal(col.got[0].text(), "from go");
  assert.equal(col.got[0].qos, 2);
  assert.equal(col.got[0].headers.from, "go");

  await srv.goSubscribe(`${topic}/js`, 2);
  await c.publish(`${topic}/js`, "from js", { qos: 2, id: "to-go" });
  const mine = () => srv.goMessages.filter((m) => m.topic === `${topic}/js`);
  while (mine().length < 1) await srv.goWait(srv.goMessages.length + 1);
  await c.publish(`${topic}/js`, "end", { qos: 2 });
  while (mine().length < 2) await srv.goWait(srv.goMessages.length + 1);
  assert.deepEqual(mine().map((m) => [Buffer.from(m.payload, "base64").toString(), m.qos]), [["from js", 2], ["end", 2]]);
  assert.deepEqual(col.got.map((m) => m.text()), ["from go"]);
  await c.close();
});
