// The client in headless Chromium against a real server: the browser's own
// WebSocket, publish and subscribe at QoS 0 and 1, typed topics, a cut
// connection resumed without a gap, waking on the online event, and
// end-to-end encryption with the WebAssembly module that a Go client opens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromiumMissing, serve, launch } from "./lib/browser.mjs";
import { startServer, assertNeverHandled } from "./lib/server.mjs";

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

test("Chromium: connect, typed publish and subscribe at QoS 0 and 1, resume after a cut, wake on online", { skip: skip || false }, async () => {
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

test("Chromium: a page seals with the WebAssembly module and a Go client opens it; the Go client's envelope opens in the page", { skip: skip || false }, async () => {
  const kf = { version: 1, current: 3, keys: [{ id: 3, key: randomBytes(32).toString("base64") }] };
  const path = join(dir, "keys.json");
  writeFileSync(path, JSON.stringify(kf), { mode: 0o600 });
  await srv.goKeys(path);
  const before = srv.goMessages.length;
  await srv.goSubscribe("browser/sealed/#");
  const r = await page().evaluate(async ({ url, token, kf }) => {
    const { connect } = await import("/dist/index.js");
    const c = await connect(url, { token }, { keyring: kf });
    const got = [];
    await c.subscribe("browser/sealed/#", (m) => got.push([m.topic, m.text(), m.sealed])).ready;
    await c.publish("browser/sealed/page", "sealed in the page", { qos: 1 });
    window.sealed = { c, got };
    return true;
  }, { url: srv.url, token: srv.tokens.admin, kf });
  assert.ok(r);
  const goGot = await srv.goWait(before + 1);
  assert.equal(Buffer.from(goGot[before].payload, "base64").toString(), "sealed in the page");
  await srv.goPublish("browser/sealed/go", 1, "sealed in Go");
  await page().waitForFunction(() => window.sealed.got.length === 2);
  const got = await page().evaluate(async () => {
    await window.sealed.c.close();
    return window.sealed.got;
  });
  assert.deepEqual(got, [["browser/sealed/page", "sealed in the page", true], ["browser/sealed/go", "sealed in Go", true]]);
  await assertNeverHandled(srv, "sealed in");
  assert.ok(browser.requests.some((q) => q.url.endsWith("/dist/whispeer.wasm")), "the module was loaded for the keyring");
  assert.deepEqual(browser.errors, []);
});

const page = () => browser.page;
