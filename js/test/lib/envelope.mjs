// Helpers of the envelope tests: the shared test vectors, the WebAssembly
// builds, and the Go side of the interop test (test/sealer).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const jsDir = fileURLToPath(new URL("../../", import.meta.url));
const repo = join(jsDir, "..");

/** vectors are envelope/testdata/vectors.json's. */
export const vectors = JSON.parse(readFileSync(join(repo, "envelope/testdata/vectors.json"), "utf8")).vectors;

export function unhex(s) {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

export function hex(b) {
  return Buffer.from(b).toString("hex");
}

/** keyFile is a key file holding a vector's key, as whispeer keygen would write it. */
export function keyFile(v) {
  const key = { id: v.key_id, key: Buffer.from(v.key, "hex").toString("base64") };
  if (v.key_source === "pattern") {
    return { version: 1, current: 0, keys: [], topics: [{ pattern: v.pattern, current: v.key_id, keys: [key] }] };
  }
  return { version: 1, current: v.key_id, keys: [key] };
}

/** randomKeyFile is a key file holding one random key under id, as whispeer keygen would write it. */
export function randomKeyFile(id) {
  return { version: 1, current: id, keys: [{ id, key: randomBytes(32).toString("base64") }] };
}

/**
 * vectorsWasm builds the test variant of the module (scripts/wasm.mjs
 * --vectors) and returns its bytes.
 */
export function vectorsWasm() {
  execFileSync(process.execPath, ["scripts/wasm.mjs", "--vectors"], { cwd: jsDir, stdio: ["ignore", "ignore", "inherit"] });
  return readFileSync(join(jsDir, "build/whispeer-vectors.wasm"));
}

/** sealVector reproduces a vector's envelope with the test variant's entry. */
export function sealVector(mod, v) {
  const n = mod.invoke("whispeer_seal_vector", [], [JSON.stringify(v), v.topic, v.id, unhex(v.plaintext)]);
  return mod.output(n);
}

/** openVector opens a vector's envelope with the test variant's entry. */
export function openVector(mod, v) {
  const n = mod.invoke("whispeer_open_vector", [], [JSON.stringify(v), v.topic, v.id, unhex(v.envelope)]);
  return mod.output(n);
}

/** goSealer builds test/sealer and returns a function running it. */
export function goSealer() {
  const dir = mkdtempSync(join(tmpdir(), "whispeer-sealer-"));
  const bin = join(dir, "sealer");
  execFileSync("go", ["build", "-o", bin, "./js/test/sealer"], { cwd: repo, stdio: ["ignore", "ignore", "inherit"] });
  const run = (args, input) => new Uint8Array(execFileSync(bin, args, { input, maxBuffer: 64 << 20 }));
  run.dir = dir;
  run.cleanup = () => rmSync(dir, { recursive: true, force: true });
  return run;
}
