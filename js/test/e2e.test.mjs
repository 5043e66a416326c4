// End-to-end encryption against a real server, with the WebAssembly
// envelope module: the JS and Go clients seal and open each other's
// messages, the server handles envelopes only, and what does not open is
// reported while the subscription goes on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { connect, DeliveryError } from "../dist/index.js";
import { startServer, assertNeverHandled } from "./lib/server.mjs";
import { collector } from "./lib/collect.mjs";
import { randomKeyFile } from "./lib/envelope.mjs";

let srv;
let dir;
before(async () => {
  srv = await startServer();
  dir = mkdtempSync(join(tmpdir(), "whispeer-e2e-"));
});
after(async () => {
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

const keyFile = randomKeyFile;
const opts = (extra = {}) => ({ WebSocket, reconnectWait: [10, 100], ...extra });

test("sealed both ways between JS and Go; the server sees envelopes; a wrong key or plaintext is an error and the subscription goes on", async () => {
  const kf = keyFile(1);
  const path = join(dir, "keys.json");
  writeFileSync(path, JSON.stringify(kf), { mode: 0o600 });
  await srv.goKeys(path);
  const admin = { token: srv.tokens.admin };
  const topic = `e2e/${process.pid}`;

  const c = await connect(srv.url, admin, opts({ keyring: kf }));
  const plain = await connect(srv.url, admin, opts());
  const wrong = await connect(srv.url, admin, opts({ keyring: JSON.stringify(keyFile(2)) }));
  const cErrors = [];
  const wrongErrors = [];
  c.on("error", (e) => cErrors.push(e));
  wrong.on("error", (e) => wrongErrors.push(e));

  const mine = collector();
  const raw = collector();
  const theirs = collector();
  await c.subscribe(`${topic}/#`, (m) => mine.push(m)).ready;
  await plain.subscribe(`${topic}/#`, (m) => raw.push(m), { raw: true }).ready;
  await wrong.subscribe(`${topic}/#`, (m) => theirs.push(m)).ready;
  await srv.goSubscribe(`${topic}/#`);

  // JS seals, JS and Go open.
  await c.publish(`${topic}/js`, "secret from js", { qos: 1 });
  assert.equal((await mine.until(1))[0].text(), "secret from js");
  assert.equal(mine.got[0].sealed, true);
  const [fromJs] = await srv.goWait(1);
  assert.equal(Buffer.from(fromJs.payload, "base64").toString(), "secret from js");

  // Go seals, JS opens.
  await srv.goPublish(`${topic}/go`, 1, "secret from go");
  assert.equal((await mine.until(2))[1].text(), "secret from go");

  // What the server handled: envelopes, never the plaintext, neither in
  // what it received nor in what it delivered.
  await assertNeverHandled(srv, "secret from");
  const envelopes = await raw.until(2);
  for (const m of envelopes) {
    assert.equal(m.sealed, true);
    assert.deepEqual([...m.payload.subarray(0, 2)], [0xc1, 0x57]);
    assert.ok(!Buffer.from(m.payload).includes("secret"), "plaintext reached the server");
  }

  // A keyring without the key: an error per message, and the subscription goes on.
  await wrong.publish(`${topic}/wrong`, "under key 2", { qos: 1 });
  const [own] = await theirs.until(1);
  assert.equal(own.text(), "under key 2");
  const opened = () => wrongErrors.filter((e) => e instanceof DeliveryError && e.reason === "open").length;
  while (opened() < 2) await new Promise((r) => setTimeout(r, 5)); // one error per envelope it cannot open
  assert.equal(opened(), 2);

  await assertNeverHandled(srv, "under key 2");

  // A plaintext message is not opened, and not delivered to a client with a keyring.
  await plain.publish(`${topic}/plain`, "in the clear", { qos: 1 });
  await assert.rejects(assertNeverHandled(srv, "in the clear"), /reached the server in the clear/, "the check sees a plaintext publish");
  await c.publish(`${topic}/js`, "after", { qos: 1 });
  await mine.until(3);
  assert.deepEqual(mine.got.map((m) => m.text()), ["secret from js", "secret from go", "after"]);
  const failed = (reason, t) => cErrors.some((e) => e instanceof DeliveryError && e.reason === reason && e.topic === `${topic}/${t}`);
  while (!failed("open", "wrong") || !failed("plaintext", "plain")) await new Promise((r) => setTimeout(r, 5));
  await Promise.all([c.close(), plain.close(), wrong.close()]);
});
