// One WebSocket connection: binary messages in and out, each holding whole
// frames, parsed as they arrive.

import { ProtocolError, WhispeerError } from "./errors.js";
import { FrameError, parse, type Frame } from "./frames.js";

/** The events of a WebSocket the client uses, as browsers and `ws` give them. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** WebSocketConstructor makes WebSockets: the global one, or `ws`'s in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** findWebSocket returns the WebSocket to use: the one given, the global one, or `ws`. */
export async function findWebSocket(given?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (given) return given;
  const g = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (g) return g;
  try {
    const spec = "ws";
    const mod = (await import(/* @vite-ignore */ spec)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
    const ws = mod.WebSocket ?? mod.default;
    if (ws) return ws;
  } catch {
    // fall through
  }
  throw new WhispeerError(
    "invalid",
    "no WebSocket: this runtime has no global WebSocket; install the ws package (npm install ws) or pass the WebSocket option",
  );
}

/** Link is an open connection to the server. */
export class Link {
  /** handle receives each frame; the client replaces it after the handshake. */
  handle: (f: Frame) => void = () => {};
  /** onData is called for every message received, before its frames are handled. */
  onData: () => void = () => {};
  /** closed is called once when the connection ends, with the cause. */
  onClosed: (cause: Error) => void = () => {};
  #ended = false;

  constructor(
    readonly ws: WebSocketLike,
    readonly limit: number,
  ) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => this.#receive(ev.data);
    ws.onclose = (ev) => this.#end(new WhispeerError("unavailable", `connection closed${ev.reason ? `: ${ev.reason}` : ev.code ? ` (${ev.code})` : ""}`));
    ws.onerror = () => this.#end(new WhispeerError("unavailable", "connection failed"));
  }

  /** open dials url and resolves once the WebSocket is open. */
  static open(WS: WebSocketConstructor, url: string, limit: number): Promise<Link> {
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new WS(url);
      } catch (e) {
        reject(new WhispeerError("invalid", `connect ${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
        return;
      }
      ws.onopen = () => resolve(new Link(ws, limit));
      ws.onerror = () => reject(new WhispeerError("unavailable", `connect ${url}: connection failed`));
      ws.onclose = (ev) => reject(new WhispeerError("unavailable", `connect ${url}: closed (${ev.code ?? 0})`));
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** send writes one binary message. */
  send(b: Uint8Array): void {
    if (!this.#ended) this.ws.send(b);
  }

  /** close ends the connection with cause. */
  close(cause: Error, code = 1000): void {
    if (this.#ended) return;
    this.#end(cause);
    try {
      this.ws.close(code);
    } catch {
      // already closing
    }
  }

  #end(cause: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.ws.onmessage = null;
    this.onClosed(cause);
  }

  #receive(data: unknown): void {
    if (this.#ended) return;
    if (!(data instanceof ArrayBuffer)) {
      const view = ArrayBuffer.isView(data) ? data : null;
      if (!view) {
        this.close(new ProtocolError("a text message on a native connection"), 1002);
        return;
      }
      data = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
    }
    const b = new Uint8Array(data as ArrayBuffer);
    const view = new DataView(data as ArrayBuffer);
    this.onData();
    let pos = 0;
    try {
      while (pos < b.length && !this.#ended) {
        const p = parse(b, pos, this.limit, view);
        if (p === null) throw new FrameError("truncated", "a frame split across messages");
        pos = p.next;
        this.handle(p.frame);
      }
    } catch (e) {
      if (e instanceof FrameError) this.close(new ProtocolError(e.message, { cause: e }), 1002);
      else throw e;
    }
  }
}
