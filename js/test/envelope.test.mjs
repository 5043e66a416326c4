// The envelope bridge (src/envelope.ts) in Node: the WebAssembly build
// reproduces the shared test vectors (envelope/testdata/vectors.json) byte
// for byte and the shipped build opens them; payloads sealed by it open in
// Go and the other way round; errors are EnvelopeErrors with the Go
// sentinels' codes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadKeyring, wasmModule, EnvelopeError } from "../dist/envelope.js";
import { vectors, unhex, hex, keyFile, vectorsWasm, sealVector, openVector, goSealer } from "./lib/envelope.mjs";

let testMod;
before(async () => {
  testMod = await wasmModule(vectorsWasm());
});

test("the vectors: the WebAssembly build seals each byte for byte", () => {
  assert.equal(vectors.length, 12);
  for (const v of vectors) {
    assert.equal(hex(sealVector(testMod, v)), v.envelope, v.name);
    assert.equal(hex(openVector(testMod, v)), v.plaintext, v.name);
  }
});

test("the vectors: a keyring from the vector's key file opens each sealed one", async () => {
  for (const v of vectors.filter((v) => v.aead !== "unsealed")) {
    for (const kf of [keyFile(v), JSON.stringify(keyFile(v))]) {
      const k = await loadKeyring(kf);
      assert.equal(hex(k.open(v.topic, v.id, unhex(v.envelope))), v.plaintext, v.name);
      assert.equal(code(() => k.open(v.topic + "x", v.id, unhex(v.envelope))), "auth_failed", v.name);
      k.close();
    }
  }
});

test("the vectors: a keyring refuses the unsealed ones", async () => {
  const k = await loadKeyring(keyFile(vectors[0]));
  for (const v of vectors.filter((v) => v.aead === "unsealed")) {
    assert.equal(code(() => k.open(v.topic, v.id, unhex(v.envelope))), "not_sealed", v.name);
  }
  k.close();
});

test("seal and open round trip, small and compressed, and bind topic and id", async () => {
  const k = await loadKeyring(keyFile(vectors[0]));
  const small = new TextEncoder().encode("hello");
  const big = new TextEncoder().encode('{"sensor":"kitchen","temperature":21.5},'.repeat(200));
  for (const pt of [small, big, new Uint8Array(0)]) {
    const env = k.seal("chat/a", "m1", pt);
    assert.deepEqual(k.open("chat/a", "m1", env), pt);
    assert.equal(code(() => k.open("chat/b", "m1", env)), "auth_failed");
    assert.equal(code(() => k.open("chat/a", "m2", env)), "auth_failed");
  }
  assert.ok(k.seal("chat/a", "m1", big).length < big.length / 4, "compressed above 1 KiB");
  assert.notDeepEqual(k.seal("t", "1", small), k.seal("t", "1", small), "a fresh nonce each time");
  const env = k.seal("chat/a", "m1", small);
  env[env.length - 1] ^= 1;
  assert.equal(code(() => k.open("chat/a", "m1", env)), "auth_failed");
  k.close();
});

test("errors carry the Go sentinels' codes", async () => {
  const k = await loadKeyring(keyFile(vectors[0]));
  const other = await loadKeyring({ version: 1, current: 7, keys: [{ id: 7, key: Buffer.alloc(32, 9).toString("base64") }] });
  const env = k.seal("t", "1", new Uint8Array(3));
  assert.equal(code(() => other.open("t", "1", env)), "unknown_key_id");
  assert.equal(code(() => k.open("t", "1", new TextEncoder().encode('{"not":"an envelope"}'))), "not_envelope");
  assert.equal(code(() => k.open("t", "1", env.subarray(0, 10))), "truncated");
  assert.equal(code(() => k.seal("t", "1", new Uint8Array((16 << 20) + 1))), "too_large");
  assert.equal(code(() => k.open("t", "1", new Uint8Array(17 << 20))), "too_large");
  assert.equal(code(() => k.seal("t".repeat(40000), "1", new Uint8Array(16 << 20))), "too_large");
  assert.equal(k.open("t", "1", k.seal("t", "1", new Uint8Array(16 << 20))).length, 16 << 20, "the limit itself");
  assert.equal(code(() => k.seal("t", 1, new Uint8Array(1))), "invalid_argument");
  assert.equal(code(() => k.seal("t", "1", "text")), "invalid_argument");
  const e = catchErr(() => k.open("u", "1", env));
  assert.ok(e instanceof EnvelopeError && e instanceof Error);
  assert.match(e.message, /^whispeer: envelope authentication failed/);
  k.close();
  k.close();
  assert.equal(code(() => k.seal("t", "1", new Uint8Array(1))), "closed");
  assert.deepEqual(other.open("t", "2", other.seal("t", "2", new Uint8Array([1, 2]))), new Uint8Array([1, 2]), "the other keyring goes on");
  other.close();
});

test("a key file that does not parse is refused with key_file", async () => {
  for (const kf of ["{", "{}", { version: 1, current: 1, keys: [{ id: 1, key: "short" }] }, { version: 1, keys: [], extra: 1 }, 42]) {
    await assert.rejects(loadKeyring(kf), (e) => e instanceof EnvelopeError && e.code === "key_file", JSON.stringify(kf));
  }
});

test("the module is loaded once, and a missing one is a load_failed error", async () => {
  assert.equal(await wasmModule(), await wasmModule());
  await assert.rejects(loadKeyring(keyFile(vectors[0]), { wasm: "/nonexistent/whispeer.wasm" }),
    (e) => e instanceof EnvelopeError && e.code === "load_failed");
  await assert.rejects(loadKeyring(keyFile(vectors[0]), { wasm: new Uint8Array([0, 97, 115, 109]) }),
    (e) => e instanceof EnvelopeError && e.code === "load_failed");
  assert.equal(globalThis.path, undefined, "wasm_exec.js's stubs are gone");
  assert.equal(globalThis.Go, undefined);
});

test("interop with Go: sealed by WebAssembly opens in Go, and the other way round", async (t) => {
  const sealer = goSealer();
  t.after(sealer.cleanup);
  const path = join(sealer.dir, "keys.json");
  sealer(["keygen", path]);
  const k = await loadKeyring(readFileSync(path, "utf8"));
  const payloads = [new TextEncoder().encode("hello, whispeer"), new Uint8Array(128).fill(7), new TextEncoder().encode("x,".repeat(4096))];
  for (const pt of payloads) {
    assert.deepEqual(sealer(["open", path, "chat/α", "id-1"], k.seal("chat/α", "id-1", pt)), pt);
    assert.deepEqual(k.open("chat/α", "id-1", sealer(["seal", path, "chat/α", "id-1"], pt)), pt);
  }
  k.close();
});

function catchErr(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("no error");
}

function code(fn) {
  const e = catchErr(fn);
  assert.ok(e instanceof EnvelopeError, `want an EnvelopeError, got ${e}`);
  return e.code;
}
