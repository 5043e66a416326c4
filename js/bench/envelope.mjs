// Seal+open of one 128-byte message (by default) with the WebAssembly
// envelope module, in Node and in headless Chromium, as the Go benchmark
// BenchmarkSealOpen/xchacha20-poly1305/128B measures it natively (the same
// topic, id and cipher; the default engine, which does not compress below
// 1 KiB). Prints microseconds per seal+open, the median of 5 runs.
//
//	npm run bench:envelope [-- SIZE [ITERATIONS]]
import { loadKeyring } from "../dist/envelope.js";
import { serve, launch, chromiumMissing } from "../test/lib/browser.mjs";

const size = Number(process.argv[2] ?? 128);
const iterations = Number(process.argv[3] ?? 20000);
const keyFile = JSON.stringify({ version: 1, current: 1, keys: [{ id: 1, key: Buffer.alloc(32, 1).toString("base64") }] });

/** run is the page's and Node's benchmark: microseconds per seal+open, median of 5. */
async function run(loadKeyring, keyFile, size, iterations) {
  const k = await loadKeyring(keyFile);
  const msg = crypto.getRandomValues(new Uint8Array(size));
  const once = () => k.open("sensors/kitchen", "msg-1", k.seal("sensors/kitchen", "msg-1", msg));
  for (let i = 0; i < 2000; i++) once();
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < iterations; i++) once();
    runs.push(((performance.now() - t) * 1000) / iterations);
  }
  k.close();
  return runs.sort((a, b) => a - b)[2];
}

const fmt = (us) => `${us.toFixed(2)} µs per seal+open of ${size} B`;
console.log(`node ${process.version}: ${fmt(await run(loadKeyring, keyFile, size, iterations))}`);

if (chromiumMissing()) {
  console.log(`chromium: skipped, ${chromiumMissing()}`);
} else {
  const server = await serve();
  const browser = await launch();
  try {
    await browser.page.goto(`${server.url}/test/browser/envelope.html`);
    await browser.page.waitForFunction(() => document.title === "ready");
    const version = browser.context.browser()?.version() ?? (await browser.page.evaluate(() => navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0]));
    const source = `return (${run.toString()})`;
    const us = await browser.page.evaluate(
      async ([source, keyFile, size, iterations]) => {
        const { loadKeyring } = await import("/dist/envelope.js");
        return new Function(source)()(loadKeyring, keyFile, size, iterations);
      },
      [source, keyFile, size, iterations],
    );
    console.log(`chromium ${version}: ${fmt(us)}`);
  } finally {
    await browser.close();
    await server.close();
  }
}
