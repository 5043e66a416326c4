// Node, 1 → 1 over WebSocket: QoS 0 throughput (messages per second
// received, 128-byte payloads, publisher and subscriber on two connections of
// one process) and latency at a steady 2,000 messages per second (p50, p99),
// for this client against whispeer (test/whispeerd, no store) and for
// @nats-io/nats-core over WebSocket against a nats-server started here with
// a websocket listener, in the same run, alternating.
//
//	npm run bench                      # ROUNDS=3 N=200000 SECONDS=10 by default
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { wsconnect } from "@nats-io/nats-core";
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
const results = { whispeer: { tput: [], p50: [], p99: [] }, nats: { tput: [], p50: [], p99: [] } };
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [key, make] of [["whispeer", () => whispeer(srv.url, srv.tokens.admin)], ["nats", () => nats(natsd.url)]]) {
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
}
console.log(`\nNode ${process.version}, ${natsd.version}, ${ROUNDS} rounds, N=${N}, ${SIZE} B payloads; medians:`);
for (const [k, v] of Object.entries(results)) {
  console.log(`${k.padEnd(9)} ${String(Math.round(median(v.tput))).padStart(8)} msgs/s   p50 ${median(v.p50).toFixed(2)} ms   p99 ${median(v.p99).toFixed(2)} ms`);
}
