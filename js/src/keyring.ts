// End-to-end encryption: the keyring the client seals and opens payloads
// with. The envelope code itself (whispeer's Go envelope package compiled to
// WebAssembly) lives in ./envelope.js and is imported only when a key file is
// given, so that a client without end-to-end encryption never loads it.

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

/** isKeyring reports whether k is a Keyring rather than a key file. */
export function isKeyring(k: Keyring | KeyFile): k is Keyring {
  return typeof k === "object" && k !== null && typeof (k as Partial<Keyring>).seal === "function" &&
    typeof (k as Partial<Keyring>).open === "function";
}

interface EnvelopeModule {
  loadKeyring(keyFile: KeyFile, opts?: { wasm?: URL | string | Uint8Array }): Promise<Keyring>;
}

/** loadKeyring loads the envelope module and a keyring from a key file. */
export async function loadKeyring(keyFile: KeyFile, wasm?: URL | string | Uint8Array): Promise<Keyring> {
  // A computed specifier: bundlers leave the module out of the main bundle.
  const spec = "./envelope.js";
  const mod = (await import(/* @vite-ignore */ spec)) as EnvelopeModule;
  return mod.loadKeyring(keyFile, wasm === undefined ? undefined : { wasm });
}
