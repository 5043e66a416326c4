// Presence against a real whispeer server (test/whispeerd): who is
// subscribed to a topic, and the join and leave events of a subscription.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { connect, ServerError } from "../dist/index.js";
import { startServer } from "./lib/server.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const opts = (extra = {}) => ({ WebSocket, reconnectWait: [10, 100], ...extra });
let n = 0;
const fresh = () => `chat/presence-${process.pid}-${++n}`;

// events collects a subscription's join and leave events.
function events(sub) {
  const got = [];
  let wake = null;
  const push = (kind) => (c) => {
    got.push({ kind, ...c });
    wake?.();
  };
  sub.on("join", push("join"));
  sub.on("leave", push("leave"));
  return {
    async next() {
      while (got.length === 0) await new Promise((r) => (wake = r));
      return got.shift();
    },
  };
}

test("presence lists the clients subscribed to a topic, and a subscription with presence: true sees others join and leave", async () => {
  const topic = fresh();
  const alice = await connect(srv.url, { token: srv.tokens.alice }, opts({ clientId: "alice-js" }));
  const sub = alice.subscribe(topic, () => {}, { presence: true });
  await sub.ready;
  const ev = events(sub);

  const admin = await connect(srv.url, { token: srv.tokens.admin }, opts({ clientId: "admin-js" }));
  const adminSub = admin.subscribe(topic, () => {});
  await adminSub.ready;
  assert.deepEqual(await ev.next(), { kind: "join", user: "admin", clientId: "admin-js" });

  const p = await admin.presence(topic);
  assert.deepEqual(p, {
    clients: [{ user: "admin", clientId: "admin-js" }, { user: "alice", clientId: "alice-js" }],
    count: 2,
    users: 2,
    truncated: false,
  });
  assert.deepEqual(await alice.presenceStats(topic), { clients: [], count: 2, users: 2, truncated: false });

  adminSub.unsubscribe();
  assert.deepEqual(await ev.next(), { kind: "leave", user: "admin", clientId: "admin-js" });
  await admin.subscribe(topic, () => {}).ready;
  assert.equal((await ev.next()).kind, "join");
  await admin.close();
  assert.deepEqual(await ev.next(), { kind: "leave", user: "admin", clientId: "admin-js" }, "a disconnect leaves");
  assert.equal((await alice.presence(topic)).count, 1);
  await alice.close();
});

test("presence is refused for a topic the user may not subscribe to, and for a bad pattern", async () => {
  const alice = await connect(srv.url, { token: srv.tokens.alice }, opts());
  await assert.rejects(alice.presence("secret/x"), (e) => e instanceof ServerError && e.code === "forbidden");
  await assert.rejects(alice.presence("a/#/b"), (e) => e.code === "invalid");
  await alice.close();
});
