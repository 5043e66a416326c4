// Builds the envelope module: whispeer's Go envelope package compiled to
// WebAssembly (wasm/main.go) into dist/whispeer.wasm, beside a copy of Go's
// wasm_exec.js (and its license) from the Go toolchain that built it: the two
// must come from the same Go version. Prints the module's size, raw and
// gzipped.
//
// With --vectors it builds the test variant instead (build/whispeer-vectors.wasm,
// never published): the same program plus entries that seal with a fixed
// nonce, to reproduce envelope/testdata/vectors.json.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));
const vectors = process.argv.includes("--vectors");
const outDir = join(root, vectors ? "build" : "dist");
const out = join(outDir, vectors ? "whispeer-vectors.wasm" : "whispeer.wasm");

function go(args, env = {}) {
  return execFileSync("go", args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

mkdirSync(outDir, { recursive: true });
const tags = vectors ? ["-tags", "whispeer_vectors"] : [];
go(["build", "-trimpath", "-ldflags=-s -w", ...tags, "-o", out, "./wasm"], { GOOS: "js", GOARCH: "wasm" });
const goroot = go(["env", "GOROOT"]);
copyFileSync(join(goroot, "lib", "wasm", "wasm_exec.js"), join(outDir, "wasm_exec.js"));
copyFileSync(join(goroot, "LICENSE"), join(outDir, "wasm_exec.js.LICENSE"));

const b = readFileSync(out);
console.log(`${out.slice(root.length)}: ${b.length} bytes, ${gzipSync(b, { level: 9 }).length} gzipped`);
