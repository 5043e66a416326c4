// The codec's share of a message in Node: encoding a PUB into a batch and
// parsing a MSG out of a batch of 150, 128-byte payloads, no network.
//
//	npm run build && node bench/codec.mjs
import { append, encode, parse, T } from "../dist/frames.js";
import { Writer } from "../dist/bytes.js";

const payload = new Uint8Array(128).fill(1);
const N = Number(process.env.N ?? 2_000_000);

let t = performance.now();
let w = new Writer(1 << 20);
for (let i = 0; i < N; i++) {
  if (w.pos > (1 << 20) - 300) w = new Writer(1 << 20);
  append(w, { type: T.Pub, qos: 0, envelope: false, dup: false, topic: "bench/tput/0", id: "", headers: [], payload });
}
console.log(`encode PUB: ${((performance.now() - t) * 1e6 / N).toFixed(0)} ns/op`);

const msg = encode({ type: T.Msg, qos: 0, envelope: false, dup: false, replay: false, sid: 1, offset: 42n, time: 1n, topic: "bench/tput/0", id: "ABCDEFGHIJKLMNOPQRSTUV", headers: [], payload });
const batch = new Uint8Array(msg.length * 150);
for (let i = 0; i < 150; i++) batch.set(msg, i * msg.length);
const view = new DataView(batch.buffer);
t = performance.now();
for (let k = 0; k < N / 150; k++) {
  for (let pos = 0; pos < batch.length; ) pos = parse(batch, pos, 1 << 24, view).next;
}
console.log(`parse MSG:  ${((performance.now() - t) * 1e6 / N).toFixed(0)} ns/op`);
