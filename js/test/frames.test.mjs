// The codec against the Go codec's golden frames: the examples of
// docs/protocol-native.md (protocol/wire/golden_test.go) byte for byte both
// ways, and the Go fuzz corpus (protocol/wire/testdata/fuzz): every valid
// frame parses and re-encodes to the same bytes, every invalid one is refused
// for the same reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encode, parse, FrameError, T, Cap } from "../dist/frames.js";

const corpus = fileURLToPath(new URL("../../protocol/wire/testdata/fuzz/", import.meta.url));

function unhex(s) {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

const te = new TextEncoder();
const headers = [["content-type", "text/plain"]];

const golden = [
  ["HELLO", { type: T.Hello, version: 1, caps: Cap.E2E | Cap.QoS2 | Cap.Resume, maxFrame: 1 << 20, session: "", name: "whispeer-go/1.0" },
    "0000001f 01 57535052 01 0000000d 00100000 00 0f 77686973706565722d676f2f312e30"],
  ["PUB", { type: T.Pub, qos: 1, envelope: false, dup: false, topic: "chat/room1", id: "m1", headers, payload: te.encode("hello") },
    "00000032 20 01 000a 636861742f726f6f6d31 02 6d31 0001 000c 636f6e74656e742d74797065 000a 746578742f706c61696e 68656c6c6f"],
  ["MSG", { type: T.Msg, qos: 1, envelope: false, dup: false, replay: false, sid: 7, offset: 42n, time: 1767225600000000000n,
    topic: "chat/room1", id: "m1", headers, payload: te.encode("hello") },
    "00000046 21 01 00000007 000000000000002a 18867251edfa0000 000a 636861742f726f6f6d31 02 6d31 0001 000c 636f6e74656e742d74797065 000a 746578742f706c61696e 68656c6c6f"],
  ["PUBACK", { type: T.PubAck, sid: 0, code: 0, id: "m1", text: "", offset: 0n }, "00000009 22 00000000 00 02 6d31"],
  ["SUB", { type: T.Sub, sid: 7, qos: 1, resume: { mode: 2, epoch: 0x1122334455667788n, offset: 41n }, topic: "chat/room1" },
    "00000023 10 00000007 01 02 1122334455667788 0000000000000029 000a 636861742f726f6f6d31"],
  ["SUB durable", { type: T.Sub, sid: 1, qos: 2, resume: { mode: 3 }, topic: "t" }, "0000000a 10 00000001 02 03 0001 74"],
  ["PING", { type: T.Ping }, "00000001 06"],
];

for (const [name, frame, hex] of golden) {
  test(`golden ${name}`, () => {
    const want = unhex(hex);
    assert.deepEqual(encode(frame), want);
    const p = parse(want);
    assert.equal(p.next, want.length);
    assert.deepEqual(p.frame, frame);
  });
}

// goBytes decodes the []byte("…") literal of a Go fuzz corpus file.
function goBytes(file) {
  const src = readFileSync(file, "latin1");
  const m = /\[\]byte\("((?:[^"\\]|\\.)*)"\)/.exec(src);
  assert.ok(m, `no []byte in ${file}`);
  const out = [];
  const s = m[1];
  const esc = { n: 10, t: 9, r: 13, v: 11, f: 12, b: 8, a: 7, "\\": 92, '"': 34, "'": 39 };
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "\\") { out.push(s.charCodeAt(i)); continue; }
    const c = s[++i];
    if (c === "x") { out.push(parseInt(s.slice(i + 1, i + 3), 16)); i += 2; }
    else if (c >= "0" && c <= "7") { out.push(parseInt(s.slice(i, i + 3), 8)); i += 2; }
    else out.push(esc[c]);
  }
  return Uint8Array.from(out);
}

// What the Go codec says of each FuzzParse seed: "ok", "short" or the
// sentinel's kind.
const verdicts = {
  auth: "ok", "auth-empty": "ok", authok: "ok", "authok-negative-time": "ok", empty: "short",
  error: "ok", "error-fatal": "ok", "error-unknown-code": "ok", hello: "ok", "hello-bad-magic": "magic",
  "hello-from-a-later-version": "ok", "hello-resuming": "ok", http: "too_large", json: "too_large",
  login: "ok", message: "ok", "message-full": "ok", "msg-sid0": "sid", ping: "ok", pong: "ok",
  "pub-header-past-end": "truncated", "pub-qos3": "qos", puback: "ok", "puback-refused": "ok",
  pubcomp: "ok", publish: "ok", "publish-full": "ok", pubrec: "ok", pubrel: "ok", "short-frame": "short",
  "sub-resume-mode3": "ok", suback: "ok", "suback-error": "ok", subscribe: "ok", "subscribe-last": "ok",
  "subscribe-offset": "ok", "too-large": "too_large", "unknown-type": "unknown_type", unsubscribe: "ok",
  welcome: "ok", "zero-length": "truncated",
};

test("Go fuzz corpus: the named seeds get the Go codec's verdict; every entry parses or is refused with a FrameError, and what parses re-encodes to the same bytes", () => {
  const dir = corpus + "FuzzParse/";
  const names = readdirSync(dir).sort();
  for (const name of Object.keys(verdicts)) assert.ok(names.includes(name), `seed ${name} is missing`);
  for (const name of names) {
    const b = goBytes(dir + name);
    let got;
    try {
      const p = parse(b);
      got = p === null ? "short" : "ok";
      if (p) assert.deepEqual(encode(p.frame), b.subarray(0, p.next), name);
    } catch (e) {
      assert.ok(e instanceof FrameError, `${name}: ${e}`);
      got = e.kind;
    }
    if (name in verdicts) assert.equal(got, verdicts[name], name);
  }
});

test("a stream of every frame type parses frame by frame and re-encodes to itself", () => {
  const b = goBytes(corpus + "FuzzReader/all-types-whole");
  const types = new Set();
  const parts = [];
  let pos = 0;
  for (;;) {
    const p = parse(b, pos);
    if (p === null) break;
    types.add(p.frame.type);
    parts.push(encode(p.frame));
    pos = p.next;
  }
  assert.equal(pos, b.length);
  assert.deepEqual(Buffer.concat(parts), Buffer.from(b));
  assert.equal(types.size, 17, "every frame type");
});

test("QoS 2 frames: PUB with dup, PUBREC (accepted, or refused with a reason), PUBREL and PUBCOMP of a publish (sid 0) and of a delivery (its offset)", () => {
  const cases = [
    [{ type: T.Pub, qos: 2, envelope: false, dup: true, topic: "t", id: "m1", headers: [], payload: te.encode("x") }, "0000000b 20 0a 0001 74 02 6d31 0000 78"],
    [{ type: T.PubRec, sid: 0, code: 0, id: "m1", text: "", offset: 0n }, "00000009 23 00000000 00 02 6d31"],
    [{ type: T.PubRec, sid: 0, code: 7, id: "m1", text: "whispeer: limit", offset: 0n }, "0000001a 23 00000000 07 02 6d31 000f 77686973706565723a206c696d6974"],
    [{ type: T.PubRel, sid: 0, code: 0, id: "m1", text: "", offset: 0n }, "00000009 24 00000000 00 02 6d31"],
    [{ type: T.PubComp, sid: 0, code: 4, id: "m1", text: "", offset: 0n }, "00000009 25 00000000 04 02 6d31"],
    [{ type: T.PubRec, sid: 7, code: 0, id: "m1", text: "", offset: 42n }, "00000011 23 00000007 00 02 6d31 000000000000002a"],
    [{ type: T.PubRel, sid: 7, code: 0, id: "m1", text: "", offset: 42n }, "00000011 24 00000007 00 02 6d31 000000000000002a"],
    [{ type: T.PubComp, sid: 7, code: 0, id: "m1", text: "", offset: 42n }, "00000011 25 00000007 00 02 6d31 000000000000002a"],
  ];
  for (const [frame, hex] of cases) {
    const want = unhex(hex);
    assert.deepEqual(encode(frame), want, hex);
    assert.deepEqual(parse(want).frame, frame, hex);
  }
  assert.throws(() => encode({ type: T.PubRel, sid: 0, code: 0, id: "", text: "", offset: 0n }), (e) => e.kind === "missing_id");
  assert.throws(() => parse(unhex("00000011 24 00000007 00 02 6d31 0000000000000000")), (e) => e.kind === "trailing", "a zero offset");
});

test("a length prefix over the limit is refused before the body arrives", () => {
  assert.throws(() => parse(unhex("00100001 20"), 0, 1 << 20), (e) => e.kind === "too_large");
  assert.equal(parse(unhex("00000005 20 00")), null, "short, not an error");
});

test("encoding validates as parsing does", () => {
  const pub = { type: T.Pub, qos: 1, envelope: false, dup: false, topic: "a", id: "", headers: [], payload: new Uint8Array() };
  assert.throws(() => encode(pub), (e) => e.kind === "missing_id");
  assert.throws(() => encode({ ...pub, qos: 3, id: "x" }), (e) => e.kind === "qos");
  assert.throws(() => encode({ ...pub, topic: "" }), (e) => e.kind === "empty_topic");
  assert.throws(() => encode({ type: T.Sub, sid: 0, qos: 0, resume: { mode: 0 }, topic: "a" }), (e) => e.kind === "sid");
  assert.throws(() => encode({ ...pub, id: "x".repeat(256) }), RangeError);
});

test("UTF-8 topics and headers round-trip", () => {
  const f = { type: T.Pub, qos: 0, envelope: true, dup: true, topic: "café/☕/𝄞", id: "", headers: [["k", "värde"], ["k", ""]], payload: te.encode("x") };
  assert.deepEqual(parse(encode(f)).frame, f);
});

test("presence frames: PRESENCE, PRESENCEINFO and JOINLEAVE round-trip as the Go codec lays them out, and SUB carries the presence bit", () => {
  const cases = [
    [{ type: T.Presence, id: 7, stats: true, topic: "t" }, "00000009 13 00000007 01 0001 74"],
    [{ type: T.PresenceInfo, id: 7, code: 0, truncated: true, count: 3, users: 2, clients: [{ user: "a", client: "c1" }], text: "" },
      "0000001a 14 00000007 00 01 00000003 00000002 0001 0001 61 0002 6331 0000"],
    [{ type: T.JoinLeave, sid: 9, leave: true, user: "a", client: "c" }, "0000000c 15 00000009 01 0001 61 0001 63"],
    [{ type: T.Sub, sid: 7, qos: 1, presence: true, resume: { mode: 0 }, topic: "t" }, "0000000a 10 00000007 05 00 0001 74"],
  ];
  for (const [frame, hex] of cases) {
    const want = unhex(hex);
    assert.deepEqual(encode(frame), want, hex);
    assert.deepEqual(parse(want).frame, frame, hex);
  }
  assert.throws(() => parse(unhex("00000009 13 00000000 00 0001 74")), (e) => e.kind === "sid", "request id 0");
  assert.throws(() => parse(unhex("00000009 13 00000001 02 0001 74")), (e) => e.kind === "flags");
  assert.throws(() => parse(unhex("0000000a 10 00000007 07 00 0001 74")), (e) => e.kind === "qos", "presence bit with qos 3");
  assert.throws(() => parse(unhex("0000000c 15 00000000 00 0001 61 0001 63")), (e) => e.kind === "sid");
});
