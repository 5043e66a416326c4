// The envelope bridge: whispeer's Go envelope package compiled to
// WebAssembly (js/wasm), loaded on the first loadKeyring and then shared by
// every keyring of the page or process. Keys are parsed and held inside the
// module's memory; they never leave it, and nothing here sends them anywhere.

/**
 * Keyring seals and opens payloads with the topics' keys, binding each
 * envelope to its topic and message id (docs/envelope.md).
 */
export interface Keyring {
  seal(topic: string, id: string, plaintext: Uint8Array): Uint8Array;
  open(topic: string, id: string, envelope: Uint8Array): Uint8Array;
  close(): void;
}

/** KeyFile is a key file as `whispeer keygen` writes it: its JSON text or the parsed object. */
export type KeyFile = string | object;

/**
 * EnvelopeErrorCode names the envelope package's errors
 * (envelope.ErrAuthFailed is "auth_failed", and so on).
 */
export type EnvelopeErrorCode =
  | "auth_failed" // another key, topic or id, or tampered with
  | "unknown_key_id" // sealed under a key id the keyring does not hold
  | "not_envelope" // the bytes are not an envelope
  | "too_large" // above the size limit (16 MiB), or a decompression bomb
  | "not_sealed" // an unsealed envelope, refused by a keyring
  | "no_key" // no key to seal this topic with
  | "truncated"
  | "unsupported_version"
  | "unsupported_algorithm"
  | "corrupt" // the body authenticates but does not decompress
  | "nonce_exhausted"
  | "key_file" // the key file does not parse
  | "invalid_key"
  | "duplicate_key_id"
  | "closed" // the keyring was closed
  | "invalid_argument"
  | "load_failed" // the WebAssembly module could not be loaded
  | "internal";

/** EnvelopeError is every error of loadKeyring and of a Keyring's methods. */
export class EnvelopeError extends Error {
  override name = "EnvelopeError";
  /** code tells the errors apart; see EnvelopeErrorCode. */
  readonly code: EnvelopeErrorCode;
  constructor(code: EnvelopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message.startsWith("whispeer: ") ? message : `whispeer: ${message}`, options);
    this.code = code;
  }
}

/** LoadOptions: where the module comes from (default: whispeer.wasm beside this file). */
export interface LoadOptions {
  /**
   * wasm is the module's bytes, or its URL. A string that is not an absolute
   * URL is resolved as fetch does in a browser, and as a file path in Node.
   */
  wasm?: URL | string | Uint8Array;
}

/** maxKeyFile bounds a key file, as the Go LoadKeyFile does. */
const maxKeyFile = 4 << 20;

/**
 * maxInput bounds what a call copies into the module: the engine's limit
 * (16 MiB of plaintext, envelope.DefaultMaxSize), an envelope's header and
 * tag, and room for the topic and id. Beyond it a call fails with
 * "too_large" before anything is copied.
 */
const maxInput = (16 << 20) + (64 << 10);

/**
 * loadKeyring loads the envelope module, once, and a keyring from a key
 * file (`whispeer keygen`). It fails with an EnvelopeError: "key_file" for a
 * key file that does not parse, "load_failed" when the module cannot be
 * loaded.
 */
export async function loadKeyring(keyFile: KeyFile, opts?: LoadOptions): Promise<Keyring> {
  const data = keyFileBytes(keyFile);
  try {
    const mod = await wasmModule(opts?.wasm);
    return new WasmKeyring(mod, mod.keyring(data));
  } finally {
    data.fill(0);
  }
}

function keyFileBytes(keyFile: KeyFile): Uint8Array {
  let text: string;
  if (typeof keyFile === "string") {
    text = keyFile;
  } else if (typeof keyFile === "object" && keyFile !== null) {
    text = JSON.stringify(keyFile);
  } else {
    throw new EnvelopeError("key_file", "key file must be JSON text or an object");
  }
  if (text.length > maxKeyFile) {
    throw new EnvelopeError("key_file", `key file is longer than ${maxKeyFile} characters`);
  }
  return new TextEncoder().encode(text);
}

/** Exports are the functions of js/wasm/main.go. */
interface Exports {
  mem: WebAssembly.Memory;
  whispeer_input(n: number): number;
  whispeer_output(): number;
  whispeer_keyring(n: number): number;
  whispeer_seal(h: number, topic: number, id: number, n: number): number;
  whispeer_open(h: number, topic: number, id: number, n: number): number;
  whispeer_close(h: number): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * EnvelopeModule calls the module's exports, passing arguments and results
 * through its memory (js/wasm/main.go describes how).
 * @internal
 */
export class EnvelopeModule {
  readonly #x: Exports;
  #broken = false;

  constructor(exports: WebAssembly.Exports) {
    this.#x = exports as unknown as Exports;
  }

  /** keyring returns the handle of a keyring parsed from a key file. */
  keyring(keyFile: Uint8Array): number {
    return this.invoke("whispeer_keyring", [], [keyFile]);
  }

  /** close frees a keyring's handle. */
  close(handle: number): void {
    if (!this.#broken) this.#x.whispeer_close(handle);
  }

  /** seal and open call the export, returning the output. */
  seal(handle: number, topic: string, id: string, plaintext: Uint8Array): Uint8Array {
    return this.output(this.invoke("whispeer_seal", [handle], [topic, id, plaintext]));
  }

  open(handle: number, topic: string, id: string, envelope: Uint8Array): Uint8Array {
    return this.output(this.invoke("whispeer_open", [handle], [topic, id, envelope]));
  }

  /**
   * invoke writes parts to the input, calls the export name with lead and
   * the parts' lengths, and returns its result, throwing an EnvelopeError
   * for a failure.
   */
  invoke(name: string, lead: number[], parts: (string | Uint8Array)[]): number {
    if (this.#broken) {
      throw new EnvelopeError("internal", "the envelope module has stopped");
    }
    let r: number;
    try {
      let room = 0;
      for (const p of parts) room += typeof p === "string" ? p.length * 3 : p.length;
      if (room > maxInput) {
        throw new EnvelopeError("too_large", `whispeer: payload too large: ${room} bytes with topic and id, limit is ${maxInput}`);
      }
      const at = this.#x.whispeer_input(room); // first: it may grow the memory, detaching its buffer
      const mem = new Uint8Array(this.#x.mem.buffer, at, room);
      const lens: number[] = [];
      let off = 0;
      for (const p of parts) {
        let n: number;
        if (typeof p === "string") {
          n = encoder.encodeInto(p, mem.subarray(off)).written;
        } else {
          mem.set(p, off);
          n = p.length;
        }
        lens.push(n);
        off += n;
      }
      const fn = this.#x[name as keyof Exports] as unknown as (...a: number[]) => number;
      r = fn(...lead, ...lens);
    } catch (err) {
      if (err instanceof EnvelopeError) throw err;
      this.#broken = true; // the Go program has stopped: the next load starts another
      forget(this);
      throw new EnvelopeError("internal", `envelope module failed: ${String(err)}`, { cause: err });
    }
    if (r < 0) {
      const text = decoder.decode(this.#view(-1 - r));
      const sp = text.indexOf(" ");
      throw new EnvelopeError(text.slice(0, sp) as EnvelopeErrorCode, text.slice(sp + 1));
    }
    return r;
  }

  /** output copies the last call's result of n bytes. */
  output(n: number): Uint8Array {
    return this.#view(n).slice();
  }

  #view(n: number): Uint8Array {
    return new Uint8Array(this.#x.mem.buffer, this.#x.whispeer_output(), n);
  }
}

/** Handles of keyrings that were dropped without close, to free in the module. */
const dropped = new FinalizationRegistry<{ mod: EnvelopeModule; handle: number }>(({ mod, handle }) =>
  mod.close(handle),
);

class WasmKeyring implements Keyring {
  readonly #mod: EnvelopeModule;
  #handle: number | undefined;
  readonly #token = {};

  constructor(mod: EnvelopeModule, handle: number) {
    this.#mod = mod;
    this.#handle = handle;
    dropped.register(this, { mod, handle }, this.#token);
  }

  seal(topic: string, id: string, plaintext: Uint8Array): Uint8Array {
    return this.#mod.seal(this.#live(topic, id, plaintext), topic, id, plaintext);
  }

  open(topic: string, id: string, envelope: Uint8Array): Uint8Array {
    return this.#mod.open(this.#live(topic, id, envelope), topic, id, envelope);
  }

  close(): void {
    if (this.#handle !== undefined) {
      dropped.unregister(this.#token);
      this.#mod.close(this.#handle);
      this.#handle = undefined;
    }
  }

  #live(topic: unknown, id: unknown, bytes: unknown): number {
    if (this.#handle === undefined) {
      throw new EnvelopeError("closed", "keyring is closed");
    }
    if (typeof topic !== "string" || typeof id !== "string" || !(bytes instanceof Uint8Array)) {
      throw new EnvelopeError("invalid_argument", "want (topic: string, id: string, bytes: Uint8Array)");
    }
    return this.#handle;
  }
}

// ---- loading -------------------------------------------------------------

/** GoClass is the part of wasm_exec.js's Go class used here. */
interface GoClass {
  new (): {
    argv: string[];
    env: Record<string, string>;
    importObject: WebAssembly.Imports;
    exited: boolean;
    run(instance: WebAssembly.Instance): Promise<void>;
  };
}

/** Modules by source: a URL's href, a file path's "file " + path, or the bytes. */
const modules = new Map<string | Uint8Array, Promise<EnvelopeModule>>();

/**
 * wasmModule returns the module loaded from wasm (default: whispeer.wasm
 * beside this file), instantiating it on the first call for that source.
 * @internal
 */
export function wasmModule(wasm?: URL | string | Uint8Array): Promise<EnvelopeModule> {
  const source = wasm instanceof Uint8Array ? wasm : resolve(wasm);
  const key = source instanceof URL ? source.href : typeof source === "string" ? `file ${source}` : source;
  let p = modules.get(key);
  if (p === undefined) {
    p = instantiate(source).catch((err: unknown) => {
      modules.delete(key);
      throw err instanceof EnvelopeError
        ? err
        : new EnvelopeError("load_failed", `load the envelope module: ${String(err)}`, { cause: err });
    });
    modules.set(key, p);
  }
  return p;
}

/** forget drops a module whose Go program stopped. */
function forget(mod: EnvelopeModule): void {
  for (const [key, p] of modules) {
    p.then((m) => m === mod && modules.delete(key)).catch(() => {});
  }
}

const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/** resolve returns the module's URL, or in Node the path of its file. */
function resolve(wasm: URL | string | undefined): URL | string {
  if (wasm === undefined) {
    return new URL("./whispeer.wasm", import.meta.url);
  }
  if (wasm instanceof URL) {
    return wasm;
  }
  if (URL.canParse(wasm)) {
    return new URL(wasm);
  }
  if (isNode) {
    return wasm;
  }
  return new URL(wasm, (globalThis as { location?: { href: string } }).location?.href ?? import.meta.url);
}

async function wasmBytes(source: URL | string): Promise<Uint8Array | Response> {
  if (typeof source === "string" || source.protocol === "file:") {
    const spec = "node:fs/promises"; // computed: bundlers for browsers leave it out
    const fs = (await import(/* @vite-ignore */ spec)) as { readFile(p: URL | string): Promise<Uint8Array> };
    return fs.readFile(source);
  }
  const res = await fetch(source, { credentials: "same-origin" });
  if (!res.ok) {
    throw new EnvelopeError("load_failed", `fetch ${source.href}: ${res.status} ${res.statusText}`);
  }
  return res;
}

async function compile(source: Uint8Array | URL | string): Promise<WebAssembly.Module> {
  const got = source instanceof Uint8Array ? source : await wasmBytes(source);
  if (got instanceof Uint8Array) {
    return WebAssembly.compile(got as Uint8Array<ArrayBuffer>);
  }
  if (got.headers.get("content-type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(got);
  }
  return WebAssembly.compile(await got.arrayBuffer()); // served with another type
}

/** GoRuntime is wasm_exec.js's Go class and the globals it had to stub. */
interface GoRuntime {
  Go: GoClass;
  stubs: Map<string, unknown>;
}

/** goRuntime loads Go's wasm_exec.js (copied beside this file) once. */
let goRuntime: Promise<GoRuntime> | undefined;

function loadGo(): Promise<GoRuntime> {
  goRuntime ??= (async () => {
    const g = globalThis as Record<string, unknown>;
    const names = ["Go", "process", "path"];
    const before = new Map(names.map((n) => [n, g[n]]));
    await import(/* @vite-ignore */ new URL("./wasm_exec.js", import.meta.url).href);
    const rt: GoRuntime = { Go: g.Go as GoClass, stubs: new Map() };
    for (const n of names) {
      if (before.get(n) === undefined) {
        if (n !== "Go") rt.stubs.set(n, g[n]);
        delete g[n];
      } else {
        g[n] = before.get(n);
      }
    }
    return rt;
  })().catch((err: unknown) => {
    goRuntime = undefined;
    throw err;
  });
  return goRuntime;
}

/**
 * instantiate starts the Go program, whose main only keeps the runtime
 * alive for the exports: it has run by the time go.run first yields.
 * wasm_exec.js stubs process and path where there are none (a browser);
 * Go's runtime takes them while it starts, so they are in the global scope
 * only meanwhile, where a library might take them for Node's.
 * (globalThis.fs stays, for the runtime's own messages.)
 */
async function instantiate(source: Uint8Array | URL | string): Promise<EnvelopeModule> {
  const [rt, module] = await Promise.all([loadGo(), compile(source)]);
  const go = new rt.Go();
  const g = globalThis as Record<string, unknown>;
  const instance = await WebAssembly.instantiate(module, go.importObject);
  const stubbed = [...rt.stubs].filter(([n]) => g[n] === undefined);
  for (const [n, v] of stubbed) g[n] = v;
  go.argv = ["whispeer"];
  go.env = {};
  try {
    void go.run(instance); // resolves when the program exits: never, unless it fails
  } finally {
    for (const [n] of stubbed) delete g[n];
  }
  if (go.exited || typeof instance.exports.whispeer_input !== "function") {
    throw new EnvelopeError("load_failed", "not the envelope module, or it exited");
  }
  return new EnvelopeModule(instance.exports);
}
