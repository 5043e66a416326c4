// The browser side of test/envelope.browser.test.mjs: the same checks as
// test/envelope.test.mjs makes in Node, run in the page and reported back.
import { loadKeyring, wasmModule, EnvelopeError } from "../../dist/envelope.js";

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s) => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));
const b64 = (s) => btoa(String.fromCharCode(...unhex(s)));

function keyFile(v) {
  const key = { id: v.key_id, key: b64(v.key) };
  if (v.key_source === "pattern") {
    return { version: 1, current: 0, keys: [], topics: [{ pattern: v.pattern, current: v.key_id, keys: [key] }] };
  }
  return { version: 1, current: v.key_id, keys: [key] };
}

function code(fn) {
  try {
    fn();
  } catch (e) {
    return e instanceof EnvelopeError ? e.code : `not an EnvelopeError: ${e}`;
  }
  return "no error";
}

/** vectors reproduces every vector and opens it; one result per vector. */
async function vectors() {
  const vs = (await (await fetch("/vectors.json")).json()).vectors;
  const test = await wasmModule("/build/whispeer-vectors.wasm");
  const out = [];
  for (const v of vs) {
    const args = [JSON.stringify(v), v.topic, v.id];
    const r = { name: v.name, want: v.envelope, plaintext: v.plaintext };
    r.sealed = hex(test.output(test.invoke("whispeer_seal_vector", [], [...args, unhex(v.plaintext)])));
    r.opened = hex(test.output(test.invoke("whispeer_open_vector", [], [...args, unhex(v.envelope)])));
    if (v.aead === "unsealed") {
      const k = await loadKeyring(keyFile(vs[0]));
      r.keyring = code(() => k.open(v.topic, v.id, unhex(v.envelope)));
      k.close();
    } else {
      const k = await loadKeyring(JSON.stringify(keyFile(v))); // the published module, from beside envelope.js
      r.keyring = hex(k.open(v.topic, v.id, unhex(v.envelope)));
      r.wrongTopic = code(() => k.open(`${v.topic}x`, v.id, unhex(v.envelope)));
      k.close();
    }
    out.push(r);
  }
  return out;
}

/** roundTrip seals and opens with a keyring, and reports the page's globals. */
async function roundTrip(keyFileJSON) {
  const k = await loadKeyring(keyFileJSON);
  const pt = new TextEncoder().encode("hello from the browser");
  const env = k.seal("chat/a", "1", pt);
  const r = {
    opened: new TextDecoder().decode(k.open("chat/a", "1", env)),
    tampered: code(() => k.open("chat/a", "1", env.map((b, i) => (i === env.length - 1 ? b ^ 1 : b)))),
    notEnvelope: code(() => k.open("chat/a", "1", new Uint8Array([1, 2, 3]))),
    globals: ["Go", "process", "path"].filter((n) => n in globalThis),
    envelope: hex(env),
  };
  k.close();
  r.closed = code(() => k.seal("chat/a", "1", pt));
  return r;
}

/** bench returns the microseconds of one seal and one open of n-byte messages. */
async function bench(keyFileJSON, size, iterations) {
  const k = await loadKeyring(keyFileJSON);
  const msg = crypto.getRandomValues(new Uint8Array(size));
  for (let i = 0; i < 1000; i++) k.open("bench/t", "1", k.seal("bench/t", "1", msg));
  const t = performance.now();
  for (let i = 0; i < iterations; i++) k.open("bench/t", "1", k.seal("bench/t", "1", msg));
  const us = ((performance.now() - t) * 1000) / iterations;
  k.close();
  return us;
}

window.whispeerEnvelope = { vectors, roundTrip, bench };
document.title = "ready";
