// Starts a real whispeer server (test/whispeerd, built with go) on a free
// loopback port, and drives it through the daemon's standard input.
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
let binary;

function build() {
  if (binary) return binary;
  const dir = mkdtempSync(join(tmpdir(), "whispeerd-bin-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  binary = join(dir, "whispeerd");
  execFileSync("go", ["build", "-o", binary, "./js/test/whispeerd"], { cwd: repo, stdio: "inherit" });
  return binary;
}

/** startServer starts a server and resolves once it listens. */
export async function startServer() {
  const proc = spawn(build(), [], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout });
  const replies = [];
  const msgs = [];
  const msgWaiters = [];
  let ready;
  const readyP = new Promise((resolve, reject) => {
    ready = resolve;
    proc.once("exit", (code) => reject(new Error(`whispeerd exited with ${code}`)));
  });
  lines.on("line", (line) => {
    const ev = JSON.parse(line);
    if (ev.event === "ready") ready(ev);
    else if (ev.event === "msg") {
      msgs.push(ev);
      for (const w of msgWaiters.splice(0)) w();
    } else if (ev.event !== "goerror") replies.shift()?.(ev);
  });
  const info = await readyP;
  const command = (line) =>
    new Promise((resolve, reject) => {
      replies.push((ev) => (ev.event === "ok" ? resolve(ev) : reject(new Error(ev.error))));
      proc.stdin.write(line + "\n");
    });
  return {
    url: info.url,
    tokens: info.tokens,
    /** cut closes every client connection. */
    cut: () => command("cut"),
    /** restart restarts the server on the same port and store. */
    restart: () => command("restart"),
    /** wipe restarts the server with an empty store. */
    wipe: () => command("wipe"),
    /** goPublish publishes with the Go client. */
    goPublish: (topic, qos, payload) => command(`pub ${topic} ${qos} ${Buffer.from(payload).toString("base64")}`),
    /** goSubscribe subscribes with the Go client, at qos at most (default 1); goMessages collects what it receives. */
    goSubscribe: (topic, qos = 1) => command(`sub ${topic} ${qos}`),
    goMessages: msgs,
    /** goKeys makes the Go clients connected from now on seal and open with the key file at path. */
    goKeys: (path) => command(`keys ${path}`),
    /** goWait resolves once the Go subscriptions have received n messages. */
    goWait: async (n) => {
      while (msgs.length < n) await new Promise((r) => msgWaiters.push(r));
      return msgs;
    },
    /**
     * handled searches the payload of every publish the server received (as
     * it received it, before routing or storing) for marker, a string or
     * bytes: { matches, payloads, dropped }, dropped counting the oldest
     * payloads the daemon no longer keeps.
     */
    handled: async (marker) => {
      const { matches, payloads, dropped } = await command(`handled ${Buffer.from(marker).toString("base64")}`);
      return { matches, payloads, dropped };
    },
    stop: () =>
      new Promise((resolve) => {
        proc.once("exit", resolve);
        proc.stdin.end();
      }),
  };
}

/**
 * assertNeverHandled fails unless srv recorded every payload it received
 * and none of them contains marker: the plaintext never reached the server.
 */
export async function assertNeverHandled(srv, marker) {
  const h = await srv.handled(marker);
  assert.equal(h.dropped, 0, "the server's record of payloads is incomplete");
  assert.ok(h.payloads > 0, "the server recorded no payload");
  assert.equal(h.matches, 0, `${JSON.stringify(marker)} reached the server in the clear (${h.matches} of ${h.payloads} payloads)`);
}
