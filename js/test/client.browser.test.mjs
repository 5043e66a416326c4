// The client in headless Chromium against a real server: the browser's own
// WebSocket, publish and subscribe at QoS 0 and 1, typed topics, wildcards,
// a cut connection and a restarted server resumed without a gap, waking on
// the online event, a Go client and the page both ways, and end-to-end
// encryption with the WebAssembly module both ways with a Go client, where a
// wrong key is an error event and the subscription goes on, and exactly once
// through connections cut between the steps of QoS 2. The pages use
// the Node tests' collector (test/lib/collect.mjs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumMissing, serve, launch } from "./lib/browser.mjs";
import { startServer, assertNeverHandled } from "./lib/server.mjs";
import { randomKeyFile } from "./lib/envelope.mjs";

const skip = chromiumMissing();
let srv, web, browser, dir;

before(async () => {
  if (skip) return;
  srv = await startServer();
  web = await serve();
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), "whispeer-browser-"));
  // Any page of the package's origin will do: the test imports the client into it.
  await browser.page.goto(`${web.url}/package.json`);
});

after(async () => {
  await browser?.close();
  await web?.close();
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("Chromium: connect, typed publish and subscribe at QoS 0 and 1, resume after a cut, wake on online", { skip: skip || false, timeout: 30_000 }, async () => {
  const { page } = browser;
  await page.evaluate(async ({ url, token }) => {
    const { connect } = await import("/dist/index.js");
    const c = await connect(url, { token }, { reconnectWait: [10, 100] });
    const got = [];
    const states = [];
    c.on("state", (s) => states.push(s));
    c.on("error", () => {});
    const orders = c.topic("browser/orders");
    await orders.subscribe((o, m) => got.push([o.n, m.offset])).ready;
    for (let n = 1; n <= 5; n++) await orders.publish({ n }, { qos: n % 2 });
    window.t = { c, got, states, orders };
  }, { url: srv.url, token: srv.tokens.admin });
  await page.waitForFunction(() => window.t.got.length === 5);
  await srv.cut();
  await page.waitForFunction(() => window.t.c.state === "connected" && window.t.states.includes("reconnecting"));
  const r = await page.evaluate(async () => {
    const { c, got, orders } = window.t;
    for (let n = 6; n <= 8; n++) await orders.publish({ n }, { qos: 1 });
    while (got.length < 8) await new Promise((res) => setTimeout(res, 5));
    window.dispatchEvent(new Event("online")); // wake: pings, and the server answers
    await new Promise((res) => setTimeout(res, 200));
    const state = c.state;
    await c.close();
    return { got, state, closed: c.state };
  });
  assert.deepEqual(r.got.map(([n]) => n), [1, 2, 3, 4, 5, 6, 7, 8]);
  const offsets = r.got.map(([, o]) => o);
  assert.deepEqual(offsets, offsets.map((_, i) => offsets[0] + i), "consecutive offsets across the cut");
  assert.equal(r.state, "connected");
  assert.equal(r.closed, "closed");
  await assert.rejects(assertNeverHandled(srv, '{"n":1}'), /in the clear/, "the server saw the page's plaintext publish");
  assert.deepEqual(browser.requests.filter((q) => /envelope\.js|wasm/.test(q.url)), [], "a client without a keyring loads no envelope code");
  assert.deepEqual(browser.errors, []);
});

test("Chromium: a restarted server: the page reconnects and its subscription resumes without a gap", { skip: skip || false, timeout: 30_000 }, async () => {
  await page().evaluate(async ({ url, token }) => {
    const { connect } = await import("/dist/index.js");
    const { collector } = await import("/test/lib/collect.mjs");
    const c = await connect(url, { token }, { reconnectWait: [10, 100] });
    c.on("error", () => {});
    const col = collector();
    const infos = [];
    const sub = c.subscribe("browser/restart", (m) => col.push([m.text(), m.offset]));
    sub.on("subscribed", (i) => infos.push(i));
    await sub.ready;
    await c.publish("browser/restart", "before", { qos: 1 });
    await col.until(1);
    window.r = { c, col, infos, connected: new Promise((res) => c.once("connect", res)) };
  }, { url: srv.url, token: srv.tokens.admin });
  await srv.restart();
  const r = await page().evaluate(async () => {
    const { c, col, infos, connected } = window.r;
    await connected;
    await c.publish("browser/restart", "after restart", { qos: 1 });
    await col.until(2);
    await c.close();
    return { got: col.got, last: infos.at(-1), renewals: infos.length };
  });
  assert.deepEqual(r.got.map(([t]) => t), ["before", "after restart"]);
  assert.equal(r.got[1][1], r.got[0][1] + 1, "consecutive offsets across the restart");
  assert.equal(r.renewals, 2, "subscribed once, then renewed after the restart");
  assert.equal(r.last.resumed, true);
  assert.equal(r.last.recovered, true);
  // While the server was down, Chromium logs each refused reconnection
  // attempt as a console error: expected here, and only here.
  const refused = /^WebSocket connection to '.*' failed: .*ERR_CONNECTION_REFUSED$/;
  const unexpected = browser.errors.filter((e) => !refused.test(e));
  browser.errors.length = 0;
  assert.deepEqual(unexpected, []);
});

test("Chromium: a Go client and the page both ways, QoS 0 and 1, wildcards", { skip: skip || false, timeout: 30_000 }, async () => {
  await page().evaluate(async ({ url, token }) => {
    const { connect } = await import("/dist/index.js");
    const { collector } = await import("/test/lib/collect.mjs");
    const c = await connect(url, { token });
    const all = collector();
    const one = collector();
    await c.subscribe("browser/interop/go/#", (m) => all.push({ topic: m.topic, text: m.text(), qos: m.qos, from: m.headers.from })).ready;
    await c.subscribe("browser/interop/+/a", (m) => one.push(m.topic)).ready;
    window.io = { c, all, one };
  }, { url: srv.url, token: srv.tokens.admin });
  await srv.goPublish("browser/interop/go/a", 1, "from go at QoS 1");
  await srv.goPublish("browser/interop/go/b/deep", 0, "from go at QoS 0");
  const fromGo = await page().evaluate(async () => {
    await window.io.all.until(2);
    return { all: window.io.all.got, one: window.io.one.got };
  });
  assert.deepEqual(fromGo.all, [
    { topic: "browser/interop/go/a", text: "from go at QoS 1", qos: 1, from: "go" },
    { topic: "browser/interop/go/b/deep", text: "from go at QoS 0", qos: 0, from: "go" },
  ]);
  assert.deepEqual(fromGo.one, ["browser/interop/go/a"], "+ matches one level only");

  await srv.goSubscribe("browser/interop/js/+");
  const mine = () => srv.goMessages.filter((m) => m.topic.startsWith("browser/interop/js/"));
  await page().evaluate(async () => {
    const { c } = window.io;
    await c.publish("browser/interop/js/x/deep", "not for +", { qos: 1 });
    await c.publish("browser/interop/js/x", "from the page at QoS 0");
    await c.publish("browser/interop/js/y", "from the page at QoS 1", { qos: 1 });
  });
  while (mine().length < 2) await srv.goWait(srv.goMessages.length + 1);
  await page().evaluate(() => window.io.c.close());
  const got = mine().map((m) => [m.topic, Buffer.from(m.payload, "base64").toString(), m.qos]);
  assert.deepEqual(got.sort(), [
    ["browser/interop/js/x", "from the page at QoS 0", 0],
    ["browser/interop/js/y", "from the page at QoS 1", 1],
  ]);
  assert.deepEqual(browser.errors, []);
});

test("Chromium: sealed both ways between the page's WebAssembly module and a Go client; a wrong key is an error event and the subscription goes on; no plaintext reaches the server", { skip: skip || false, timeout: 30_000 }, async () => {
  const kf = randomKeyFile(3);
  const path = join(dir, "keys.json");
  writeFileSync(path, JSON.stringify(kf), { mode: 0o600 });
  await srv.goKeys(path);
  await srv.goSubscribe("browser/sealed/#");
  const sealed = () => srv.goMessages.filter((m) => m.topic.startsWith("browser/sealed/"));
  await page().evaluate(async ({ url, token, kf, other }) => {
    const { connect, DeliveryError } = await import("/dist/index.js");
    const { collector } = await import("/test/lib/collect.mjs");
    const c = await connect(url, { token }, { keyring: kf });
    const wrong = await connect(url, { token }, { keyring: JSON.stringify(other) });
    const got = collector();
    const wrongGot = collector();
    const wrongErrors = collector();
    c.on("error", () => {});
    wrong.on("error", () => {});
    await c.subscribe("browser/sealed/#", (m) => got.push([m.topic, m.text(), m.sealed])).ready;
    const ws = wrong.subscribe("browser/sealed/#", (m) => wrongGot.push([m.topic, m.text()]));
    ws.on("error", (e) => wrongErrors.push([e instanceof DeliveryError && e.reason, e.topic]));
    await ws.ready;
    await c.publish("browser/sealed/page", "sealed in the page", { qos: 1 });
    window.sealed = { c, wrong, ws, got, wrongGot, wrongErrors };
  }, { url: srv.url, token: srv.tokens.admin, kf, other: randomKeyFile(4) });
  while (sealed().length < 1) await srv.goWait(srv.goMessages.length + 1);
  assert.deepEqual(sealed().map((m) => [m.topic, Buffer.from(m.payload, "base64").toString()]), [["browser/sealed/page", "sealed in the page"]]);
  await srv.goPublish("browser/sealed/go", 1, "sealed in Go");
  const r = await page().evaluate(async () => {
    const { c, wrong, ws, got, wrongGot, wrongErrors } = window.sealed;
    await got.until(2);
    await wrongErrors.until(2); // one per envelope the wrong key cannot open
    await wrong.publish("browser/sealed/wrong", "under key 4", { qos: 1 });
    await wrongGot.until(1); // its subscription goes on
    const state = ws.state;
    await Promise.all([c.close(), wrong.close()]);
    return { got: got.got, wrongGot: wrongGot.got, wrongErrors: wrongErrors.got, state };
  });
  assert.deepEqual(r.got, [["browser/sealed/page", "sealed in the page", true], ["browser/sealed/go", "sealed in Go", true]]);
  assert.deepEqual(r.wrongErrors, [["open", "browser/sealed/page"], ["open", "browser/sealed/go"]]);
  assert.deepEqual(r.wrongGot, [["browser/sealed/wrong", "under key 4"]]);
  assert.equal(r.state, "subscribed");
  await assertNeverHandled(srv, "sealed in");
  await assertNeverHandled(srv, "under key 4");
  assert.ok(browser.requests.some((q) => q.url.endsWith("/dist/whispeer.wasm")), "the module was loaded for the keyring");
  assert.deepEqual(browser.errors, []);
});

test("Chromium: exactly once through cuts: a publish cut before its PUBREC and before its PUBREL, a subscriber cut between its PUBREC and the PUBREL; each message delivered once", { skip: skip || false, timeout: 30_000 }, async () => {
  const r = await page().evaluate(async ({ url, token }) => {
    const { connect, frames } = await import("/dist/index.js");
    const { collector } = await import("/test/lib/collect.mjs");
    const { faulty } = await import("/test/lib/faulty.mjs");
    const T = frames.T;
    const once = (pred, verdict) => {
      let done = false;
      return (f) => (done || !pred(f) ? undefined : ((done = true), verdict));
    };
    const topic = "browser/exactly";
    const SubWS = faulty(WebSocket, { out: once((f) => f.type === T.PubRec && f.sid !== 0, "after") });
    const PubWS = faulty(WebSocket, {
      in: once((f) => f.type === T.PubRec && f.sid === 0, "drop"),
      out: once((f) => f.type === T.PubRel, "drop"),
    });
    const sub = await connect(url, { token }, { WebSocket: SubWS, reconnectWait: [10, 50] });
    const pub = await connect(url, { token }, { WebSocket: PubWS, reconnectWait: [10, 50], clientId: `page-${Date.now()}` });
    sub.on("error", () => {});
    pub.on("error", () => {});
    const col = collector();
    await sub.subscribe(topic, (m) => col.push([m.text(), m.qos]), { qos: 2 }).ready;
    await pub.publish(topic, "once", { qos: 2, id: "b-1" });
    await pub.publish(topic, "end", { qos: 2 });
    await col.untilSome(([x]) => x === "end");
    const cuts = [PubWS.state.cuts, SubWS.state.cuts];
    await Promise.all([pub.close(), sub.close()]);
    return { got: col.got, cuts };
  }, { url: srv.url, token: srv.tokens.admin });
  assert.deepEqual(r.got, [["once", 2], ["end", 2]]);
  assert.deepEqual(r.cuts, [2, 1]);
  assert.deepEqual(browser.errors, []);
});

const page = () => browser.page;

test("Chromium: presence of a topic, and a join and a leave seen by a subscription with presence: true", { skip: skip || false, timeout: 30_000 }, async () => {
  const r = await browser.page.evaluate(async ({ url, admin, alice }) => {
    const { connect } = await import("/dist/index.js");
    const topic = "chat/browser-presence";
    const a = await connect(url, { token: alice }, { clientId: "alice-browser" });
    const seen = [];
    let wake = () => {};
    const sub = a.subscribe(topic, () => {}, { presence: true });
    sub.on("join", (c) => (seen.push(["join", c.user]), wake()));
    sub.on("leave", (c) => (seen.push(["leave", c.user]), wake()));
    await sub.ready;
    const b = await connect(url, { token: admin }, { clientId: "admin-browser" });
    await b.subscribe(topic, () => {}).ready;
    while (seen.length < 1) await new Promise((res) => (wake = res));
    const p = await b.presence(topic);
    await b.close();
    while (seen.length < 2) await new Promise((res) => (wake = res));
    const after = await a.presenceStats(topic);
    await a.close();
    return { seen, clients: p.clients, count: p.count, after: after.count };
  }, { url: srv.url, admin: srv.tokens.admin, alice: srv.tokens.alice });
  assert.deepEqual(r.seen, [["join", "admin"], ["leave", "admin"]]);
  assert.deepEqual(r.clients, [{ user: "admin", clientId: "admin-browser" }, { user: "alice", clientId: "alice-browser" }]);
  assert.equal(r.count, 2);
  assert.equal(r.after, 1);
});
