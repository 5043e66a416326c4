// The envelope bridge in headless Chromium: the WebAssembly build
// reproduces envelope/testdata/vectors.json byte for byte there too, the
// published module loads from beside envelope.js and opens every sealed
// vector, and what the page seals opens in Node.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadKeyring } from "../dist/envelope.js";
import { vectors, vectorsWasm, keyFile, unhex } from "./lib/envelope.mjs";
import { chromiumMissing, serve, launch } from "./lib/browser.mjs";

const skip = chromiumMissing();
let server, browser, ready;

/** setup starts the server and the browser on the first test that needs them. */
function setup() {
  ready ??= (async () => {
    vectorsWasm();
    server = await serve();
    browser = await launch();
    await browser.page.goto(`${server.url}/test/browser/envelope.html`);
    await browser.page.waitForFunction(() => document.title === "ready");
    return browser.page;
  })();
  return ready;
}

after(async () => {
  await browser?.close();
  await server?.close();
});

test("Chromium: the WebAssembly build reproduces every vector, and a keyring opens them", { skip: skip || false }, async () => {
  const page = await setup();
  const results = await page.evaluate(() => window.whispeerEnvelope.vectors());
  assert.equal(results.length, vectors.length);
  for (const r of results) {
    assert.equal(r.sealed, r.want, r.name);
    assert.equal(r.opened, r.plaintext, r.name);
    if (r.name.startsWith("unsealed")) {
      assert.equal(r.keyring, "not_sealed", r.name);
    } else {
      assert.equal(r.keyring, r.plaintext, r.name);
      assert.equal(r.wrongTopic, "auth_failed", r.name);
    }
  }
  assert.deepEqual(browser.errors, []);
});

test("Chromium: seal, open and errors; what the page seals opens in Node", { skip: skip || false }, async () => {
  const kf = JSON.stringify(keyFile(vectors[0]));
  const page = await setup();
  const r = await page.evaluate((kf) => window.whispeerEnvelope.roundTrip(kf), kf);
  assert.equal(r.opened, "hello from the browser");
  assert.equal(r.tampered, "auth_failed");
  assert.equal(r.notEnvelope, "not_envelope");
  assert.equal(r.closed, "closed");
  assert.deepEqual(r.globals, [], "no Go, process or path left in the page's global scope");
  const k = await loadKeyring(kf);
  assert.equal(new TextDecoder().decode(k.open("chat/a", "1", unhex(r.envelope))), "hello from the browser");
  k.close();
  assert.deepEqual(browser.errors, []);
});

test("Chromium: the keys never leave the page", { skip: skip || false }, async () => {
  const page = await setup();
  await page.evaluate((kf) => window.whispeerEnvelope.roundTrip(kf), JSON.stringify(keyFile(vectors[0])));
  const keys = vectors.filter((v) => v.key).flatMap((v) => [v.key, Buffer.from(v.key, "hex").toString("base64")]);
  assert.ok(browser.requests.length > 0);
  for (const r of browser.requests) {
    assert.equal(r.method, "GET", r.url);
    assert.ok(r.url.startsWith(`${server.url}/`), `a request to ${r.url}`);
    for (const k of keys) {
      assert.ok(!r.url.includes(k) && !r.body.includes(k), `key material in ${r.url}`);
    }
  }
  const loaded = browser.requests.map((r) => new URL(r.url).pathname).filter((p) => p.startsWith("/dist/"));
  assert.deepEqual([...new Set(loaded)].sort(), ["/dist/envelope.js", "/dist/wasm_exec.js", "/dist/whispeer.wasm"]);
});
