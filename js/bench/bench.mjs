// Node, 1 → 1 over WebSocket: QoS 0 throughput (messages per second
// received, 128-byte payloads, publisher and subscriber on two connections of
// one process) and latency at a steady 2,000 messages per second (p50, p99),
// for this client against whispeer (test/whispeerd, no store), for
// @nats-io/nats-core over WebSocket against a nats-server started here with
// a websocket listener, and for centrifuge-js (its protobuf protocol) against
// a Centrifugo started here when one is found (CENTRIFUGO, PATH or
// $GOPATH/bin), in the same run, alternating.
//
//	npm run bench                      # ROUNDS=3 N=200000 SECONDS=10 by default
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { wsconnect } from "@nats-io/nats-core";
import { Centrifuge } from "centrifuge/build/protobuf";
import { connect } from "../dist/index.js";
import { startServer } from "../test/lib/server.mjs";

globalThis.WebSocket ??= WebSocket; // nats-core's wsconnect takes the global one

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const N = Number(process.env.N ?? 200_000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const RATE = 2000;
const SIZE = 128;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNats() {
  const dir = mkdtempSync(join(tmpdir(), "whispeer-bench-nats-"));
  const [port, wsPort] = [await freePort(), await freePort()];
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n`);
  const proc = spawn(process.env.NATS_SERVER ?? "nats-server", ["-c", conf], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      const nc = await wsconnect({ servers: `ws://127.0.0.1:${wsPort}` });
      await nc.close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const version = execFileSync(process.env.NATS_SERVER ?? "nats-server", ["--version"]).toString().trim();
  return { url: `ws://127.0.0.1:${wsPort}`, version, stop: () => (proc.kill(), rmSync(dir, { recursive: true, force: true })) };
}

/** findCentrifugo returns the path of a centrifugo binary, or undefined. */
function findCentrifugo() {
  if (process.env.CENTRIFUGO) return process.env.CENTRIFUGO;
  const gopath = process.env.GOPATH ?? join(homedir(), "go");
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...gopath.split(delimiter).map((d) => join(d, "bin"))];
  return dirs.filter(Boolean).map((d) => join(d, "centrifugo")).find((p) => existsSync(p));
}

/** jwt mints an HS256 connection token for Centrifugo. */
function jwt(secret, sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

async function startCentrifugo(bin) {
  const dir = mkdtempSync(join(tmpdir(), "whispeer-bench-centrifugo-"));
  const port = await freePort();
  const secret = "bench-" + Math.random().toString(36).slice(2);
  const conf = join(dir, "config.json");
  writeFileSync(conf, JSON.stringify({
    http_server: { address: "127.0.0.1", port },
    log: { level: "error" },
    usage_stats: { disabled: true },
    // A queue as deep as the others' so that a subscriber behind a burst is not disconnected.
    client: { token: { hmac_secret_key: secret }, queue_max_size: 64 << 20 },
    channel: { namespaces: [{ name: "bench", allow_subscribe_for_client: true, allow_publish_for_client: true }] },
  }));
  const proc = spawn(bin, ["--config", conf], { stdio: "ignore" });
  const url = `ws://127.0.0.1:${port}/connection/websocket`;
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.on("open", () => (ws.close(), resolve(true)));
      ws.on("error", () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const version = execFileSync(bin, ["version"]).toString().trim();
  return { url, version, token: () => jwt(secret, "bench"), stop: () => (proc.kill(), rmSync(dir, { recursive: true, force: true })) };
}

/** A system under test: two connections, publish and subscribe. */
async function whispeer(url, token) {
  const opts = { WebSocket };
  const [pub, sub] = [await connect(url, { token }, opts), await connect(url, { token }, opts)];
  return {
    name: "whispeer (this client)",
    async subscribe(topic, fn) {
      const s = sub.subscribe(topic, (m) => fn(m.payload), { qos: 0 });
      await s.ready;
      return () => s.unsubscribe();
    },
    publish: (topic, payload) => pub.publish(topic, payload),
    close: () => Promise.all([pub.close(), sub.close()]),
  };
}

async function nats(url) {
  const [pub, sub] = [await wsconnect({ servers: url }), await wsconnect({ servers: url })];
  return {
    name: "nats.ws (@nats-io/nats-core)",
    async subscribe(topic, fn) {
      const s = sub.subscribe(topic.replaceAll("/", "."), { callback: (_, m) => fn(m.data) });
      await sub.flush();
      return () => s.unsubscribe();
    },
    publish: (topic, payload) => pub.publish(topic.replaceAll("/", "."), payload),
    close: () => Promise.all([pub.close(), sub.close()]),
  };
}

async function centrifuge(srv) {
  const open = async () => {
    const c = new Centrifuge(srv.url, { websocket: WebSocket, token: srv.token() });
    c.connect();
    await c.ready(10_000);
    return c;
  };
  const [pub, sub] = [await open(), await open()];
  const pending = new Set();
  const channel = (topic) => "bench:" + topic.replaceAll("/", ".");
  return {
    name: "centrifuge-js (centrifuge)",
    async subscribe(topic, fn) {
      const s = sub.newSubscription(channel(topic));
      s.on("publication", (ctx) => fn(ctx.data));
      s.subscribe();
      await s.ready(10_000);
      return () => (s.unsubscribe(), sub.removeSubscription(s));
    },
    // Replies not awaited here are awaited by close; a lost message shows in the counts.
    publish: (topic, payload) => {
      const p = pub.publish(channel(topic), payload);
      pending.add(p);
      p.then(() => pending.delete(p), () => pending.delete(p));
      return p;
    },
    close: async () => {
      await Promise.allSettled(pending);
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/** throughput publishes N messages as fast as the publisher takes them and times their arrival. */
async function throughput(sys, topic) {
  let got = 0;
  let done;
  const all = new Promise((r) => (done = r));
  const off = await sys.subscribe(topic, () => {
    if (++got === N) done();
  });
  const payload = new Uint8Array(SIZE).fill(120);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const p = sys.publish(topic, payload);
    if (p && i % 1000 === 999) await p; // let a client apply back-pressure
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
  await all;
  const secs = (performance.now() - t0) / 1000;
  off();
  return N / secs;
}

/** latency publishes RATE messages a second for SECONDS, each stamped, and returns the percentiles of arrival - stamp. */
async function latency(sys, topic) {
  const lat = [];
  const total = RATE * SECONDS;
  let done;
  const all = new Promise((r) => (done = r));
  const off = await sys.subscribe(topic, (p) => {
    lat.push(performance.now() - new DataView(p.buffer, p.byteOffset, 8).getFloat64(0));
    if (lat.length === total) done();
  });
  const t0 = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      for (; sent < due; sent++) {
        const payload = new Uint8Array(SIZE);
        new DataView(payload.buffer).setFloat64(0, performance.now());
        void sys.publish(topic, payload);
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
  off();
  lat.sort((a, b) => a - b);
  const q = (f) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))];
  return { p50: q(0.5), p99: q(0.99), received: lat.length, total };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

process.env.WHISPEERD_STORE ??= "none";
const srv = await startServer();
const natsd = await startNats();
const centrifugoBin = findCentrifugo();
const centd = centrifugoBin && (await startCentrifugo(centrifugoBin));
if (!centd) console.log("centrifugo not found (CENTRIFUGO, PATH, $GOPATH/bin): centrifuge-js is skipped");
const results = { whispeer: { tput: [], p50: [], p99: [] }, nats: { tput: [], p50: [], p99: [] } };
const systems = [["whispeer", () => whispeer(srv.url, srv.tokens.admin)], ["nats", () => nats(natsd.url)]];
if (centd) {
  results.centrifuge = { tput: [], p50: [], p99: [] };
  systems.push(["centrifuge", () => centrifuge(centd)]);
}
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [key, make] of systems) {
      const sys = await make();
      const tput = await throughput(sys, `bench/tput/${r}`);
      const l = await latency(sys, `bench/lat/${r}`);
      await sys.close();
      results[key].tput.push(tput);
      results[key].p50.push(l.p50);
      results[key].p99.push(l.p99);
      console.log(`round ${r + 1} ${sys.name}: ${Math.round(tput)} msgs/s; at ${RATE}/s p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms (${l.received}/${l.total} received)`);
    }
  }
} finally {
  await srv.stop();
  natsd.stop();
  centd?.stop();
}
console.log(`\nNode ${process.version}, ${natsd.version}${centd ? `, ${centd.version}` : ""}, ${ROUNDS} rounds, N=${N}, ${SIZE} B payloads; medians:`);
for (const [k, v] of Object.entries(results)) {
  console.log(`${k.padEnd(10)} ${String(Math.round(median(v.tput))).padStart(8)} msgs/s   p50 ${median(v.p50).toFixed(2)} ms   p99 ${median(v.p99).toFixed(2)} ms`);
}
