// Bundles dist/ into one minified ESM file for browsers (dist/whispeer.min.js)
// and prints its size raw and gzipped. The envelope module stays a separate,
// lazily imported file: a client without end-to-end encryption never loads it.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

await build({
  entryPoints: ["dist/index.js"],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  external: ["ws", "./envelope.js"],
  outfile: "dist/whispeer.min.js",
  logLevel: "warning",
});
const b = readFileSync("dist/whispeer.min.js");
if (process.env.WHISPEER_BUNDLE_SIZE) {
  console.log(`dist/whispeer.min.js: ${b.length} bytes, ${gzipSync(b, { level: 9 }).length} gzipped`);
}
