// End-to-end encryption: the keyring the client seals and opens payloads
// with. The envelope code (whispeer's Go envelope package compiled to
// WebAssembly, ./envelope.js) is imported only when a key file is given, so
// that a client without end-to-end encryption never loads it.

import type { KeyFile, Keyring } from "./envelope.js";

export type { KeyFile, Keyring };

/** isKeyring reports whether k is a Keyring rather than a key file. */
export function isKeyring(k: Keyring | KeyFile): k is Keyring {
  return typeof k === "object" && k !== null && typeof (k as Partial<Keyring>).seal === "function" &&
    typeof (k as Partial<Keyring>).open === "function";
}

/** loadKeyring loads the envelope module and a keyring from a key file. */
export async function loadKeyring(keyFile: KeyFile, wasm?: URL | string | Uint8Array): Promise<Keyring> {
  const envelope = await import("./envelope.js");
  return envelope.loadKeyring(keyFile, wasm === undefined ? undefined : { wasm });
}
