// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven
// by playwright-core (never a downloaded browser), with a fresh profile, and
// a small static server on a free loopback port for the test pages.
import { createServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { jsDir } from "./envelope.mjs";

export const chromiumPath = "/usr/bin/chromium";

/** chromiumMissing says why the browser tests cannot run here, or "" when they can. */
export function chromiumMissing() {
  if (existsSync(chromiumPath)) return "";
  const why = `${chromiumPath} is missing (apt-get install -y chromium)`;
  if (process.env.CI) throw new Error(why); // CI installs it: a missing browser is a failure there
  return why;
}

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/**
 * serve serves the package's directory (js/) read-only, plus
 * /vectors.json (envelope/testdata/vectors.json), on 127.0.0.1 at a free
 * port. It resolves to { url, close }.
 */
export function serve() {
  const root = normalize(jsDir).replace(/[\\/]+$/, "");
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const file = path === "/vectors.json"
      ? join(root, "..", "envelope", "testdata", "vectors.json")
      : normalize(join(root, path));
    if (!file.startsWith(root + sep) && path !== "/vectors.json") {
      res.writeHead(403).end();
      return;
    }
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

/**
 * launch starts headless Chromium with a fresh profile and resolves to
 * { context, page, close }; console errors of the page are collected in
 * errors, and every request the browser makes in requests.
 */
export async function launch() {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "whispeer-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const requests = [];
  context.on("request", (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() ?? "" }));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  return {
    context,
    page,
    errors,
    requests,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
