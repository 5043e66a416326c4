// The client: connect, publish, subscribe, and keep a connection going
// through reconnections.

import { Writer, utf8 } from "./bytes.js";
import { Backoff, systemClock, type Clock } from "./clock.js";
import { findWebSocket, Link, type WebSocketConstructor } from "./connection.js";
import { Emitter } from "./emitter.js";
import {
  AuthError,
  BufferFullError,
  ClosedError,
  DisconnectedError,
  GapError,
  ProtocolError,
  ServerError,
  TimeoutError,
  WhispeerError,
  abortError,
} from "./errors.js";
import { append, Cap, codeName, DEFAULT_MAX_FRAME, encode, HEADER_LEN, MAX_FRAME_SIZE, T, VERSION } from "./frames.js";
import type { Ack, Frame, Header, Msg, PresenceInfo, Pub, Resume, SubAck, Welcome } from "./frames.js";
import { IdGen } from "./ids.js";
import { isKeyring, loadKeyring, type KeyFile, type Keyring } from "./keyring.js";
import { Message, type QoS } from "./message.js";
import { DeliveryFailed, Subscription, type Handler, type SubHost, type SubscribeOptions } from "./subscription.js";
import { isPattern, validatePattern, validateTopic } from "./topic.js";
import { Topic, type Codec } from "./typed.js";

/** MAX_REFRESH_LEAD bounds how long (ms) before a token's expiry a client with getToken refreshes it. */
export const MAX_REFRESH_LEAD = 5 * 60_000;

/**
 * Credentials authenticate the client: a JWT, a login, or a function that
 * returns a fresh JWT on every (re)connection and, before the current
 * token expires, for a refresh on the live connection.
 */
export type Credentials =
  | { token: string }
  | { username: string; password: string }
  | { getToken: () => string | Promise<string> };

/** ConnectOptions configure a Client. */
export interface ConnectOptions {
  /** keyring seals every publish and opens every sealed delivery; a key file loads the envelope module lazily. */
  keyring?: Keyring | KeyFile;
  /** wasm locates the envelope's WebAssembly module when keyring is a key file. */
  wasm?: URL | string | Uint8Array;
  /** acceptPlaintext makes a client with a keyring deliver unsealed messages too (they carry no proof of origin). */
  acceptPlaintext?: boolean;
  /** WebSocket is the WebSocket constructor (default: the global one, else the `ws` package). */
  WebSocket?: WebSocketConstructor;
  /** name is the client software named in HELLO. */
  name?: string;
  /**
   * clientId is the client's stable id (at most 255 bytes), named as the
   * session in every HELLO. The server de-duplicates QoS 2 publishes per
   * user and this id, so a retransmission is recognised on a later
   * connection, also after a restart of the server, and names its durable
   * subscriptions (`{ qos: 2, durable: true }`), which need it. Without it
   * the client makes up one for its lifetime: recognised across its
   * reconnections, not after the process restarts, and it may not subscribe
   * durably.
   */
  clientId?: string;
  /** reconnect: false closes the client when its connection is lost. */
  reconnect?: boolean;
  /** reconnectWait bounds the backoff between attempts, in ms (default [100, 10000]); full jitter. */
  reconnectWait?: [min: number, max: number];
  /** publishBuffer is how many bytes of QoS 0 publishes are buffered while disconnected (default 8 MiB); 0 fails them at once. */
  publishBuffer?: number;
  /** maxInflight bounds the QoS 1 and 2 publishes awaiting their PUBACK or PUBCOMP (default 1000); publish waits for room. */
  maxInflight?: number;
  /** maxFrame is the largest frame accepted from the server (default 16 MiB). */
  maxFrame?: number;
  /** timeout bounds the handshake, a SUBACK and close's flush, in ms (default 10000). */
  timeout?: number;
  /** pingInterval overrides the server's keep-alive interval, in ms. */
  pingInterval?: number;
  /** lifecycle is where `online` and `visibilitychange` events come from (default: globalThis in a browser). */
  lifecycle?: EventTarget;
  /** clock and random drive timers and jitter; for tests. */
  clock?: Clock;
  random?: () => number;
  /** signal aborts connect. */
  signal?: AbortSignal;
}

/** PublishOptions configure one publish. */
export interface PublishOptions {
  /**
   * qos 1 resolves the promise at the server's PUBACK, qos 2 (exactly once;
   * the server must offer it) at its PUBCOMP (default 0: once queued). Both
   * are sent again, with the same id, after a reconnection until then.
   */
  qos?: QoS;
  /** headers travel in clear beside the payload. */
  headers?: Record<string, string>;
  /** id is the message id (at most 255 bytes); generated when needed. At QoS 2 the server delivers one message per id within its de-duplication window. */
  id?: string;
  /** signal abandons a QoS 1 or 2 publish's wait (it may still be delivered). */
  signal?: AbortSignal;
}

/** State is where the client is: connecting the first time, connected, reconnecting, closing or closed. */
export type State = "connecting" | "connected" | "reconnecting" | "closing" | "closed";

/** ConnectInfo describes a connection that was established. */
export interface ConnectInfo {
  server: string;
  reconnected: boolean;
}

/** The events of a Client. */
export interface ClientEvents {
  state: [state: State, previous: State];
  connect: [info: ConnectInfo];
  disconnect: [cause: WhispeerError];
  error: [err: WhispeerError];
}

interface Pending {
  id: string;
  qos: 1 | 2;
  frame: Uint8Array;
  sent: boolean;
  /** released: QoS 2, PUBREC received; the PUBREL is sent until the PUBCOMP. */
  released: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

const DEFAULTS = {
  name: "whispeer-js/0.1",
  timeout: 10_000,
  publishBuffer: 8 << 20,
  maxInflight: 1000,
  reconnectWait: [100, 10_000] as [number, number],
};

const NO_HEADERS: Header[] = [];

/** How many bytes may wait in the WebSocket before a QoS 0 publish waits. */
const MAX_BUFFERED = 4 << 20;

/**
 * connect connects to a whispeer server's WebSocket URL (ws:// or wss://,
 * path /ws), authenticates and resolves with the client once the server has
 * accepted it; it rejects with the server's refusal (AuthError for bad
 * credentials) or a TimeoutError.
 */
export async function connect(url: string, credentials?: Credentials, options: ConnectOptions = {}): Promise<Client> {
  const WS = await findWebSocket(options.WebSocket);
  let keyring: Keyring | undefined;
  if (options.keyring !== undefined) {
    keyring = isKeyring(options.keyring) ? options.keyring : await loadKeyring(options.keyring, options.wasm);
  }
  const c = new Client(url, credentials, options, WS, keyring);
  // A keyring loaded from a key file is the client's, closed with it.
  if (keyring && !isKeyring(options.keyring!)) c.ownKeyring();
  await c.start(options.signal);
  return c;
}

/** Client is a connection to a whispeer server that reconnects by itself. */
export class Client extends Emitter<ClientEvents> implements SubHost {
  readonly url: string;
  #creds: Credentials | undefined;
  #token = ""; // the token a LOGIN earned
  #opts: ConnectOptions;
  #WS: WebSocketConstructor;
  #keyring: Keyring | undefined;
  #ownsKeyring = false;
  #clock: Clock;
  #backoff: Backoff;
  #ids = new IdGen();
  #validTopic = ""; // the last topic published to, known to be valid
  #session: string; // the stable id named in every HELLO
  #state: State = "connecting";

  #link: Link | null = null;
  #gen = 0;
  #caps = 0;
  #maxMsg = DEFAULT_MAX_FRAME;
  #server = "";
  #batch: Writer | null = null;
  #flushing = false;

  #subs = new Map<number, Subscription<unknown>>();
  #sid = 0;
  #presenceId = 0;
  #presence = new Map<number, { resolve: (p: Presence) => void; reject: (e: WhispeerError) => void }>();
  #inflight = new Map<string, Pending>();
  #window: (() => void)[] = [];
  #woken = 0; // publishes let go from #window, not yet in #inflight
  #queue: { frame: Uint8Array; pending?: Pending }[] = [];
  #queued = 0; // bytes of QoS 0 publishes in #queue

  #pingTimer: unknown = null;
  #pingMs = 0;
  #lastRecv = 0;
  #pingSentAt = 0;
  #pongs: (() => void)[] = [];
  #retryTimer: unknown = null;
  #refreshTimer: unknown = null;
  #reauth = 0; // the expiry (ms) of the token a refresh's AUTH replaces, while it awaits the answer; 0 for none
  #retryNow: (() => void) | null = null;
  #lifecycleOff: (() => void) | null = null;
  #closed: Promise<void> | null = null;

  /** @internal Use connect. */
  constructor(url: string, creds: Credentials | undefined, opts: ConnectOptions, WS: WebSocketConstructor, keyring?: Keyring) {
    super();
    this.url = url;
    this.#creds = creds;
    this.#opts = opts;
    this.#WS = WS;
    this.#keyring = keyring;
    this.#session = opts.clientId ?? this.#ids.next();
    if (utf8(this.#session).length > 255) throw new WhispeerError("invalid", "client id longer than 255 bytes");
    this.#clock = opts.clock ?? systemClock;
    const [min, max] = opts.reconnectWait ?? DEFAULTS.reconnectWait;
    if (!(min > 0 && max >= min)) throw new WhispeerError("invalid", `reconnect wait ${min} to ${max}`);
    this.#backoff = new Backoff(min, max, opts.random);
    if (opts.maxFrame !== undefined && !(opts.maxFrame >= 64 && opts.maxFrame <= MAX_FRAME_SIZE)) {
      throw new WhispeerError("invalid", `max frame ${opts.maxFrame}`);
    }
  }

  /** @internal ownKeyring makes close close the keyring too. */
  ownKeyring(): void {
    this.#ownsKeyring = true;
  }

  /** state is where the client is. */
  get state(): State {
    return this.#state;
  }

  /** connected reports whether the client has a connection now. */
  get connected(): boolean {
    return this.#link !== null;
  }

  /** server is the server software named in the last WELCOME. */
  get server(): string {
    return this.#server;
  }

  get #timeout(): number {
    return this.#opts.timeout ?? DEFAULTS.timeout;
  }

  #setState(s: State): void {
    const prev = this.#state;
    if (prev === s) return;
    this.#state = s;
    this.emit("state", s, prev);
  }

  /** @internal start makes the first connection. */
  async start(signal?: AbortSignal): Promise<void> {
    try {
      this.#install(...(await this.#connect(signal)), false);
    } catch (e) {
      this.#setState("closed");
      throw e;
    }
    this.#watchLifecycle();
  }

  // ------------------------------------------------------------ handshake

  /** #connect dials and authenticates: HELLO with AUTH or LOGIN behind it, then WELCOME and AUTHOK. */
  async #connect(signal?: AbortSignal): Promise<[Link, Welcome]> {
    if (signal?.aborted) throw abortError(signal);
    const limit = this.#opts.maxFrame ?? MAX_FRAME_SIZE;
    const w = new Writer();
    append(w, { type: T.Hello, version: VERSION, caps: this.#wantCaps(), maxFrame: limit, session: this.#session, name: this.#opts.name ?? DEFAULTS.name });
    const login = await this.#appendAuth(w);
    return await this.#deadline(`handshake with ${this.url}`, signal, async (onLink) => {
      const link = await Link.open(this.#WS, this.url, limit);
      onLink(link);
      const frames = this.#frames(link);
      link.send(w.finish());
      const first = await frames.next();
      if (first.type === T.Error) throw new ServerError(first.code, first.text, first.fatal, first.ref);
      if (first.type !== T.Welcome) throw new ProtocolError(`got frame 0x${first.type.toString(16)}, want WELCOME`);
      if (first.version !== VERSION) throw new ProtocolError(`server chose version ${first.version}`);
      if (login !== null) {
        // The server counts a client silent for twice its ping interval as
        // dead, even one waiting for a slow login: ping while waiting.
        const every = first.pingInterval / 2;
        let keepAlive: unknown = null;
        const ping = (): void => {
          link.send(encode({ type: T.Ping }));
          keepAlive = this.#clock.setTimeout(ping, every);
        };
        if (every > 0) keepAlive = this.#clock.setTimeout(ping, every);
        const f = await frames.next().finally(() => this.#clock.clearTimeout(keepAlive));
        if (f.type === T.Error) {
          const err = new ServerError(f.code, f.text, f.fatal, f.ref);
          if (!login && "username" in (this.#creds ?? {})) this.#token = ""; // log in again next time
          throw err.code === "unauthorized" ? new AuthError(err.message, { cause: err }) : err;
        }
        if (f.type !== T.AuthOK) throw new ProtocolError(`got frame 0x${f.type.toString(16)}, want AUTHOK`);
        if (login) this.#token = f.token;
        (link as { expires?: number }).expires = Number(f.expires / 1_000_000n);
      }
      frames.done();
      return [link, first];
    });
  }

  #wantCaps(): number {
    return Cap.Resume | Cap.Reasons | Cap.AckOffset | Cap.QoS2 | Cap.Presence | (this.#keyring ? Cap.E2E : 0);
  }

  /** #appendAuth appends AUTH or LOGIN; it returns whether it was a LOGIN, or null for none. */
  async #appendAuth(w: Writer): Promise<boolean | null> {
    const c = this.#creds;
    if (!c) return null;
    if ("getToken" in c) {
      append(w, { type: T.Auth, token: await c.getToken() });
      return false;
    }
    if ("token" in c) {
      append(w, { type: T.Auth, token: c.token });
      return false;
    }
    if (this.#token) {
      append(w, { type: T.Auth, token: this.#token });
      return false;
    }
    append(w, { type: T.Login, user: c.username, password: c.password });
    return true;
  }

  /** #frames lets the handshake await the link's frames one by one; the rest wait for the client. */
  #frames(link: Link): { next(): Promise<Frame>; done(): void } {
    const got: Frame[] = [];
    let want: ((f: Frame) => void) | null = null;
    let fail: ((e: Error) => void) | null = null;
    let closed: Error | null = null;
    link.handle = (f) => {
      // A slow login (a password hash, a throttled retry) must not look like
      // a dead client: the server's PINGs are answered meanwhile.
      if (f.type === T.Ping) {
        link.send(encode({ type: T.Pong }));
        return;
      }
      if (f.type === T.Pong) return;
      if (want) {
        const w = want;
        want = fail = null;
        w(f);
      } else got.push(f);
    };
    link.onClosed = (cause) => {
      closed = cause;
      fail?.(cause);
    };
    return {
      next: () => {
        const f = got.shift();
        if (f) return Promise.resolve(f);
        if (closed) return Promise.reject(closed);
        return new Promise((resolve, reject) => {
          want = resolve;
          fail = reject;
        });
      },
      done: () => {
        link.handle = (f) => got.push(f);
        (link as { early?: Frame[] }).early = got;
      },
    };
  }

  /** #deadline runs fn bounded by the client's timeout and signal, closing the link it opened on failure. */
  async #deadline<R>(what: string, signal: AbortSignal | undefined, fn: (onLink: (l: Link) => void) => Promise<R>): Promise<R> {
    let link: Link | null = null;
    let timer: unknown = null;
    let offAbort = (): void => {};
    const stop = new Promise<never>((_, reject) => {
      timer = this.#clock.setTimeout(() => reject(new TimeoutError(what)), this.#timeout);
      if (signal) {
        const onAbort = (): void => reject(abortError(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        offAbort = () => signal.removeEventListener("abort", onAbort);
      }
    });
    try {
      return await Promise.race([fn((l) => (link = l)), stop]);
    } catch (e) {
      (link as Link | null)?.close(e instanceof Error ? e : new Error(String(e)));
      throw e;
    } finally {
      this.#clock.clearTimeout(timer);
      offAbort();
    }
  }

  // ------------------------------------------------------------ connection

  /** #install makes link the client's connection: renews subscriptions, resends unacknowledged publishes, sends what was buffered. */
  #install(link: Link, w: Welcome, reconnected: boolean): void {
    if (this.#state === "closed" || this.#state === "closing") {
      link.close(new ClosedError());
      return;
    }
    this.#link = link;
    this.#gen++;
    this.#caps = w.caps & this.#wantCaps();
    // The server's limit bounds whole WebSocket messages, length prefixes included.
    this.#maxMsg = w.maxFrame || DEFAULT_MAX_FRAME;
    this.#server = w.server;
    this.#pingMs = this.#opts.pingInterval ?? w.pingInterval;
    this.#lastRecv = this.#clock.now();
    this.#backoff.reset();
    link.onClosed = (cause) => this.#lost(link, cause);
    link.handle = (f) => this.#onFrame(f);
    link.onData = () => (this.#lastRecv = this.#clock.now());

    for (const s of [...this.#subs.values()].sort((a, b) => a.sid - b.sid)) this.#write(this.#subFrame(s));
    if ((this.#caps & Cap.QoS2) === 0) this.#refuseQoS2();
    for (const p of this.#inflight.values()) {
      if (p.released) this.#write(relFrame(p.id));
      else if (p.sent) {
        p.frame[HEADER_LEN + 1]! |= 0x08; // dup
        this.#write(p.frame);
      }
    }
    for (const q of this.#queue) {
      this.#write(q.frame);
      if (q.pending) q.pending.sent = true;
    }
    this.#queue = [];
    this.#queued = 0;
    this.#flush();
    this.#armPing();
    this.#reauth = 0;
    this.#armRefresh((link as { expires?: number }).expires ?? 0);
    this.#setState("connected");
    this.emit("connect", { server: w.server, reconnected });
    const early = (link as { early?: Frame[] }).early;
    for (const f of early?.splice(0) ?? []) this.#onFrame(f);
  }

  // ------------------------------------------------------------ refresh

  /**
   * #armRefresh schedules the refresh of a token that expires at expires
   * (ms since the epoch; 0 for never): with getToken, a fifth of its
   * remaining life before it expires, at most MAX_REFRESH_LEAD.
   */
  #armRefresh(expires: number): void {
    this.#clock.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    if (expires <= 0 || !this.#creds || !("getToken" in this.#creds)) return;
    const now = this.#clock.now();
    const lead = Math.min((expires - now) / 5, MAX_REFRESH_LEAD);
    this.#refreshTimer = this.#clock.setTimeout(() => void this.#refresh(expires), Math.max(0, expires - lead - now));
  }

  /** #refresh sends a new token from getToken on the live connection; its AUTHOK re-arms the next refresh. */
  async #refresh(expires: number): Promise<void> {
    this.#refreshTimer = null;
    const c = this.#creds as { getToken: () => string | Promise<string> };
    const link = this.#link;
    let token: string;
    try {
      token = await c.getToken();
    } catch (e) {
      this.report(new AuthError(`token refresh: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      this.#refreshFailed(expires);
      return;
    }
    if (link === null || link !== this.#link) return; // a new connection got its own token
    this.#reauth = expires;
    this.#write(encode({ type: T.Auth, token }));
    this.#flush();
  }

  /** #refreshFailed tries again halfway to the expiry, at least a second later. */
  #refreshFailed(expires: number): void {
    this.#reauth = 0;
    if (this.#link === null) return;
    const wait = Math.max((expires - this.#clock.now()) / 2, 1000);
    this.#refreshTimer = this.#clock.setTimeout(() => void this.#refresh(expires), wait);
  }

  /** #lost handles the end of a connection. */
  #lost(link: Link, cause: Error): void {
    if (link !== this.#link) return;
    this.#link = null;
    this.#batch = null;
    this.#clock.clearTimeout(this.#pingTimer);
    this.#pingTimer = null;
    this.#clock.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    for (const f of this.#pongs.splice(0)) f();
    const err = cause instanceof WhispeerError ? cause : new WhispeerError("unavailable", String(cause));
    if (this.#state === "closing" || this.#state === "closed") return;
    this.emit("disconnect", err);
    if (this.#opts.reconnect === false) {
      this.#terminate(new ClosedError(`connection lost: ${err.message}`));
      return;
    }
    this.report(new WhispeerError(err.code, `connection lost: ${err.message}`, { cause: err }));
    this.#setState("reconnecting");
    void this.#reconnectLoop();
  }

  async #reconnectLoop(): Promise<void> {
    while (this.#state === "reconnecting") {
      await new Promise<void>((resolve) => {
        this.#retryNow = resolve;
        this.#retryTimer = this.#clock.setTimeout(resolve, this.#backoff.next());
      });
      this.#clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = this.#retryNow = null;
      if (this.#state !== "reconnecting") return;
      try {
        const [link, w] = await this.#connect();
        if (this.#state !== "reconnecting") {
          link.close(new ClosedError());
          return;
        }
        this.#install(link, w, true);
        return;
      } catch (e) {
        if (this.#state !== "reconnecting") return;
        this.report(e instanceof WhispeerError ? new WhispeerError(e.code, `reconnect: ${e.message}`, { cause: e }) : new WhispeerError("unavailable", `reconnect: ${String(e)}`));
      }
    }
  }

  /** #onFrame handles a frame from the server. */
  #onFrame(f: Frame): void {
    switch (f.type) {
      case T.Msg:
        this.#onMsg(f);
        return;
      case T.PubAck:
        this.#onPubAck(f);
        return;
      case T.PubRec:
        this.#onPubRec(f);
        return;
      case T.PubRel:
        this.#onPubRel(f);
        return;
      case T.PubComp:
        this.#onPubComp(f);
        return;
      case T.SubAck:
        this.#onSubAck(f);
        return;
      case T.PresenceInfo:
        this.#onPresenceInfo(f);
        return;
      case T.JoinLeave:
        this.#subs.get(f.sid)?.presenceEvent(f);
        return;
      case T.Ping:
        this.#write(encode({ type: T.Pong }));
        this.#flush();
        return;
      case T.Pong:
        this.#pingSentAt = 0;
        for (const fn of this.#pongs.splice(0)) fn();
        return;
      case T.Error: {
        const err = new ServerError(f.code, f.text, f.fatal, f.ref);
        if (f.fatal) this.#link?.close(err);
        else this.report(err);
        if (!f.fatal && f.ref === T.Auth && this.#reauth > 0) this.#refreshFailed(this.#reauth);
        return;
      }
      case T.AuthOK:
        if (this.#reauth > 0) {
          this.#reauth = 0;
          this.#armRefresh(Number(f.expires / 1_000_000n));
          return;
        }
        this.#link?.close(new ProtocolError("unexpected AUTHOK"), 1002);
        return;
      case T.Welcome:
      default:
        this.#link?.close(new ProtocolError(`unexpected frame 0x${f.type.toString(16)}`), 1002);
    }
  }

  #onMsg(m: Msg): void {
    const s = this.#subs.get(m.sid);
    if (s) s.deliver(m, this.#gen);
  }

  #onPubAck(a: Ack): void {
    if (a.sid !== 0) return; // the server acknowledges only our publishes
    const p = this.#inflight.get(a.id);
    if (!p) return;
    this.#settle(p);
    if (a.code !== 0) p.reject(new ServerError(a.code, a.text, false, T.Pub));
    else if (p.qos === 1) p.resolve();
    else p.reject(new ProtocolError(`PUBACK for the QoS 2 publish "${a.id}"`));
  }

  /** #onPubRec: a QoS 2 publish was accepted, and its id is held; release it. A refusal holds nothing. */
  #onPubRec(a: Ack): void {
    const p = a.sid === 0 ? this.#inflight.get(a.id) : undefined;
    if (!p || p.qos !== 2) return;
    if (a.code !== 0) {
      this.#settle(p);
      p.reject(new ServerError(a.code, a.text, false, T.Pub));
      return;
    }
    p.released = true;
    this.#write(relFrame(p.id));
  }

  /** #onPubComp completes a QoS 2 publish; not_found (the id was no longer held) completes it too. */
  #onPubComp(a: Ack): void {
    const p = a.sid === 0 ? this.#inflight.get(a.id) : undefined;
    if (!p || !p.released) return;
    this.#settle(p);
    p.resolve();
    if (a.code !== 0 && codeName(a.code) !== "not_found") {
      this.report(new ServerError(a.code, a.text || `whispeer: release of "${a.id}" refused: ${codeName(a.code)}`, false, T.PubRel));
    }
  }

  /** #onPubRel: the server released a QoS 2 delivery; forget it and complete it, known or not. */
  #onPubRel(a: Ack): void {
    if (a.sid === 0) {
      this.#link?.close(new ProtocolError("PUBREL with sid 0"), 1002);
      return;
    }
    this.#subs.get(a.sid)?.held?.release(a.id, a.offset);
    this.#ackFrame(T.PubComp, a.sid, a.id, a.offset);
  }

  /** #ackFrame writes an acknowledgement of a delivery, naming its offset when the server was granted ackoffset. */
  #ackFrame(type: Ack["type"], sid: number, id: string, offset: bigint): void {
    if (!this.#link) return;
    const o = (this.#caps & Cap.AckOffset) !== 0 ? offset : 0n;
    this.#write(encode({ type, sid, code: 0, id, text: "", offset: o }));
  }

  /** #refuseQoS2 fails the QoS 2 publishes that a server without the capability cannot take. */
  #refuseQoS2(): void {
    for (const p of [...this.#inflight.values()]) {
      if (p.qos !== 2) continue;
      this.#settle(p);
      this.#queue = this.#queue.filter((q) => q.pending !== p);
      p.reject(noQoS2());
    }
  }

  #onSubAck(a: SubAck): void {
    const s = this.#subs.get(a.sid);
    if (!s) return;
    let err: ServerError | undefined;
    if (a.code !== 0) {
      err = new ServerError(a.code, a.text, false, T.Sub);
      this.#subs.delete(a.sid);
      if (s.state !== "subscribing") this.report(new WhispeerError(err.code, `subscription "${s.pattern}" refused after reconnecting: ${err.message}`, { cause: err }));
    }
    s.subAck(a, err);
    if (!err && (s.mode === 2 || s.mode === 3) && !a.recovered) s.report(new GapError(s.pattern));
  }

  // ------------------------------------------------------------ keep-alive and wake-up

  #armPing(): void {
    this.#clock.clearTimeout(this.#pingTimer);
    this.#pingTimer = null;
    if (this.#pingMs <= 0 || !this.#link) return;
    this.#pingTimer = this.#clock.setTimeout(() => this.#tick(), Math.max(this.#pingMs / 2, 10));
  }

  /**
   * #tick pings a server that has been silent for the ping interval, and
   * closes the connection when a ping has had no answer for another
   * interval. A tab that slept wakes with a late tick: it pings at once.
   */
  #tick(): void {
    const link = this.#link;
    if (!link) return;
    const now = this.#clock.now();
    if (this.#pingSentAt !== 0 && now - this.#pingSentAt >= this.#pingMs) {
      link.close(new TimeoutError("no answer to PING"));
      return;
    }
    if (this.#pingSentAt === 0 && now - this.#lastRecv >= this.#pingMs) this.#ping();
    this.#armPing();
  }

  #ping(): void {
    if (this.#pingSentAt === 0) this.#pingSentAt = this.#clock.now();
    this.#write(encode({ type: T.Ping }));
    this.#flush();
  }

  /**
   * wake checks the connection at once, as after the network came back or a
   * tab woke: a connected client pings and drops a connection that does not
   * answer within the ping interval (at most 5 s); a reconnecting one skips
   * the rest of its backoff.
   */
  wake(): void {
    if (this.#state === "reconnecting") {
      this.#retryNow?.();
      return;
    }
    const link = this.#link;
    if (!link) return;
    const wait = Math.min(this.#pingMs > 0 ? this.#pingMs : 5000, 5000);
    const timer = this.#clock.setTimeout(() => link.close(new TimeoutError("no answer to PING after waking")), wait);
    this.#pongs.push(() => this.#clock.clearTimeout(timer));
    this.#ping();
  }

  #watchLifecycle(): void {
    const g = globalThis as { addEventListener?: unknown; document?: { visibilityState?: string } };
    const target = this.#opts.lifecycle ?? (typeof g.addEventListener === "function" ? (globalThis as unknown as EventTarget) : undefined);
    if (!target) return;
    const online = (): void => this.wake();
    const visible = (): void => {
      if (g.document?.visibilityState !== "hidden") this.wake();
    };
    target.addEventListener("online", online);
    target.addEventListener("visibilitychange", visible);
    const doc = g.document as EventTarget | undefined;
    if (!this.#opts.lifecycle && doc && typeof doc.addEventListener === "function") doc.addEventListener("visibilitychange", visible);
    this.#lifecycleOff = () => {
      target.removeEventListener("online", online);
      target.removeEventListener("visibilitychange", visible);
      if (!this.#opts.lifecycle && doc && typeof doc.removeEventListener === "function") doc.removeEventListener("visibilitychange", visible);
    };
  }

  // ------------------------------------------------------------ writing

  /** #write appends frame bytes to the batch for the connection, sending the batch first when the frame would not fit. */
  #write(frame: Uint8Array): void {
    const link = this.#link;
    if (!link) return;
    let b = this.#batch;
    if (b && b.pos + frame.length > this.#maxMsg) {
      this.#send();
      b = null;
    }
    if (!b) b = this.#batch = new Writer(Math.max(1024, frame.length));
    b.bytes(frame);
    this.#scheduleFlush();
  }

  /** #writeFrame encodes f into the batch, starting a new one when it does not fit. */
  #writeFrame(f: Frame): void {
    const b = (this.#batch ??= new Writer(16 << 10));
    const start = b.pos;
    append(b, f);
    if (b.pos > this.#maxMsg) {
      const size = b.pos - start;
      b.pos = start;
      if (size > this.#maxMsg) throw this.#tooLarge(size);
      const frame = b.buf.slice(start, start + size);
      this.#send();
      this.#write(frame);
      return;
    }
    this.#scheduleFlush();
  }

  #tooLarge(size: number): WhispeerError {
    return new WhispeerError("too_large", `publish of ${size} bytes, the server accepts ${this.#maxMsg}`);
  }

  #scheduleFlush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    later(() => {
      this.#flushing = false;
      this.#send();
    });
  }

  /** #flush sends the batch now. */
  #flush(): void {
    this.#send();
  }

  #send(): void {
    const b = this.#batch;
    this.#batch = null;
    if (b && b.pos > 0) this.#link?.send(b.finish());
  }

  // ------------------------------------------------------------ publishing

  /**
   * publish publishes data (bytes, or a string sent as UTF-8) to topic. At
   * QoS 0 it resolves once the message is queued for the connection (or,
   * while reconnecting, buffered); at QoS 1 once the server has acknowledged
   * it, resending it after a reconnection until then. At QoS 2 it resolves
   * at the PUBCOMP: until the PUBREC it resends the PUB (same id, dup) after
   * a reconnection, then the PUBREL, and the server stores and delivers the
   * message once. A refusal rejects with a ServerError (code "limit" past
   * the server's QoS 2 bounds: nothing was delivered, publish again). With a
   * keyring the payload is sealed before it leaves the client.
   */
  async publish(topic: string, data: Uint8Array | string, opts: PublishOptions = {}): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") throw new ClosedError();
    if (topic !== this.#validTopic) {
      validateTopic(topic);
      this.#validTopic = topic;
    }
    const qos = opts.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new WhispeerError("invalid", `publishing at QoS ${String(qos)}`);
    if (qos === 2 && this.#link && (this.#caps & Cap.QoS2) === 0) throw noQoS2();
    let payload = typeof data === "string" ? utf8(data) : data;
    const sealed = this.#keyring !== undefined;
    const id = opts.id ?? (qos !== 0 || sealed ? this.#ids.next() : "");
    if (sealed) payload = this.#keyring!.seal(topic, id, payload);
    const headers: Header[] = opts.headers ? Object.entries(opts.headers) : NO_HEADERS;
    const pub: Pub = { type: T.Pub, qos, envelope: sealed, dup: false, topic, id, headers, payload };
    if (qos === 0 && this.#link) {
      // The common case: encoded straight into the batch being filled.
      this.#writeFrame(pub);
      if (this.#link.ws.bufferedAmount > MAX_BUFFERED) await this.#writable();
      return;
    }
    const frame = encode(pub);
    if (frame.length > this.#maxMsg) throw this.#tooLarge(frame.length);
    if (qos !== 0) return this.#publishAcked(id, qos, frame, opts.signal);
    const limit = this.#opts.publishBuffer ?? DEFAULTS.publishBuffer;
    if (limit === 0 || this.#opts.reconnect === false) throw new DisconnectedError();
    if (this.#queued + frame.length > limit) throw new BufferFullError();
    this.#queued += frame.length;
    this.#queue.push({ frame });
  }

  /** #writable waits until the WebSocket has sent most of what it holds. */
  async #writable(): Promise<void> {
    while (this.#link && this.#link.ws.bufferedAmount > MAX_BUFFERED / 2) {
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
  }

  async #publishAcked(id: string, qos: 1 | 2, frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.#inflight.has(id)) throw new WhispeerError("invalid", `a publish with id "${id}" is already awaiting its acknowledgement`);
    const max = this.#opts.maxInflight ?? DEFAULTS.maxInflight;
    if (this.#inflight.size + this.#woken >= max || this.#window.length > 0) {
      await this.#room(signal);
      this.#woken--;
    }
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { id, qos, frame, sent: false, released: false, resolve, reject };
      if (signal) {
        const onAbort = (): void => {
          if (this.#inflight.get(id) !== p) return;
          this.#settle(p);
          this.#queue = this.#queue.filter((q) => q.pending !== p);
          reject(abortError(signal));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        const done = (): void => signal.removeEventListener("abort", onAbort);
        p.resolve = () => (done(), resolve());
        p.reject = (e) => (done(), reject(e));
      }
      this.#inflight.set(id, p);
      if (this.#link) {
        this.#write(frame);
        p.sent = true;
      } else if (this.#state === "reconnecting") {
        this.#queue.push({ frame, pending: p });
      } else {
        this.#settle(p);
        p.reject(new DisconnectedError());
      }
    });
  }

  /**
   * #room waits for a free slot among maxInflight QoS 1 and 2 publishes, in
   * turn. The slot is counted in #woken until the publish takes it.
   */
  async #room(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal?.removeEventListener("abort", onAbort);
        this.#woken++;
        resolve();
      };
      const onAbort = (): void => {
        this.#window = this.#window.filter((f) => f !== go);
        reject(abortError(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#window.push(go);
    });
  }

  /** #settle forgets a pending publish and lets the next one waiting for room go. */
  #settle(p: Pending): void {
    this.#inflight.delete(p.id);
    this.#window.shift()?.();
  }

  // ------------------------------------------------------------ subscribing

  /**
   * subscribe subscribes to pattern ("+" and "*" match one level, a final "#"
   * any number). With a handler each delivery is handed to it, in order;
   * without one, iterate the subscription with `for await`. `sub.ready`
   * resolves once the server has accepted it. The subscription is renewed
   * after every reconnection; one to a concrete topic resumes after the last
   * message it received, a durable one after the server's cursor.
   */
  subscribe(pattern: string, handler?: Handler<Message>, opts?: SubscribeOptions): Subscription<Message>;
  subscribe(pattern: string, opts?: SubscribeOptions): Subscription<Message>;
  subscribe(pattern: string, a?: Handler<Message> | SubscribeOptions, b?: SubscribeOptions): Subscription<Message> {
    const handler = typeof a === "function" ? a : undefined;
    const opts = (typeof a === "function" ? b : a) ?? {};
    return this.subscribeWith(pattern, handler, (m) => m, opts);
  }

  /** @internal subscribeWith subscribes with a transform from Message to the values handed over. */
  subscribeWith<V>(pattern: string, handler: Handler<V> | undefined, transform: (m: Message) => V, opts: SubscribeOptions): Subscription<V> {
    if (this.#state === "closing" || this.#state === "closed") throw new ClosedError();
    validatePattern(pattern);
    const concrete = !isPattern(pattern);
    if (opts.resume && !concrete) throw new WhispeerError("invalid", `resuming from an offset needs a concrete topic, not "${pattern}"`);
    if (opts.queueSize !== undefined && !(opts.queueSize >= 1)) throw new WhispeerError("invalid", `queue size ${opts.queueSize}`);
    if ((opts.last !== undefined || opts.resume) && this.#link && (this.#caps & Cap.Resume) === 0) {
      throw new WhispeerError("invalid", "the server does not offer resume");
    }
    if (opts.qos === 2 && this.#link && (this.#caps & Cap.QoS2) === 0) throw noQoS2();
    if (opts.durable) this.#checkDurable(opts);
    if (opts.maxHeld !== undefined && !(opts.maxHeld >= 1)) throw new WhispeerError("invalid", `max held ${opts.maxHeld}`);
    this.#sid = this.#sid >= 0xffffffff ? 1 : this.#sid + 1;
    const s = new Subscription<V>(this, this.#sid, pattern, concrete, handler, transform, opts);
    this.#subs.set(s.sid, s as Subscription<unknown>);
    if (this.#link) this.#write(this.#subFrame(s as Subscription<unknown>));
    const timer = this.#clock.setTimeout(() => {
      if (s.state === "subscribing") this.#refuse(s as Subscription<unknown>, new TimeoutError(`no SUBACK for "${pattern}"`));
    }, this.#timeout);
    const onAbort = (): void => {
      if (s.state === "subscribing") this.#refuse(s as Subscription<unknown>, new WhispeerError("unavailable", `subscribe "${pattern}": aborted`, { cause: abortError(opts.signal!) }));
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const settled = (): void => {
      this.#clock.clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    s.ready.then(settled, settled);
    return s;
  }

  /** #checkDurable refuses a durable subscription this client or its server cannot keep. */
  #checkDurable(opts: SubscribeOptions): void {
    if (opts.qos !== 2 || opts.last !== undefined || opts.resume) {
      throw new WhispeerError("invalid", "a durable subscription needs qos 2, and neither last nor resume");
    }
    if (!this.#opts.clientId) {
      throw new WhispeerError("invalid", "a durable subscription needs the application's own clientId (ConnectOptions.clientId): one made up per client cannot be found again");
    }
    if (this.#link && (this.#caps & Cap.Resume) === 0) throw new WhispeerError("invalid", "the server does not offer resume");
  }

  #refuse(s: Subscription<unknown>, err: WhispeerError): void {
    this.unsubscribe(s);
    s.end(err);
  }

  /** #subFrame encodes the SUB that (re)starts s, resuming after the last message seen when it can. */
  #subFrame(s: Subscription<unknown>): Uint8Array {
    let resume: Resume = { mode: 0 };
    if ((this.#caps & Cap.Resume) !== 0) {
      // A durable subscription continues after the server's cursor, also
      // when renewed: the server knows what it took.
      if (s.opts.durable) resume = { mode: 3 };
      else if (s.opts.resume) resume = { mode: 2, epoch: BigInt(s.opts.resume.epoch), offset: BigInt(s.opts.resume.offset) };
      // A renewed pattern subscription goes on live: replaying its last N
      // again would deliver them twice.
      else if (s.opts.last !== undefined && (s.concrete || s.state === "subscribing")) resume = { mode: 1, last: s.opts.last };
      if (s.concrete && s.positioned && s.epoch !== 0n && !s.opts.durable) resume = { mode: 2, epoch: s.epoch, offset: s.resumeAfter() };
    }
    s.mode = resume.mode;
    // A server without QoS 2 delivers at QoS 1 at most.
    const qos = Math.min(s.opts.qos ?? 1, (this.#caps & Cap.QoS2) !== 0 ? 2 : 1);
    const presence = s.opts.presence === true && (this.#caps & Cap.Presence) !== 0;
    return encode({ type: T.Sub, sid: s.sid, qos, presence, resume, topic: s.pattern });
  }

  // ------------------------------------------------------------ presence

  /**
   * presence asks the server who is subscribed to topic, a topic or a pattern
   * exactly as subscribed to; the user must be allowed to subscribe to it. It
   * rejects with a ServerError (forbidden, invalid, limit, unavailable), a
   * TimeoutError after the client's timeout, or a DisconnectedError while
   * disconnected.
   */
  presence(topic: string, opts: { signal?: AbortSignal } = {}): Promise<Presence> {
    return this.#askPresence(topic, false, opts.signal);
  }

  /** presenceStats is presence without the list of clients: the counts alone. */
  presenceStats(topic: string, opts: { signal?: AbortSignal } = {}): Promise<Presence> {
    return this.#askPresence(topic, true, opts.signal);
  }

  #askPresence(topic: string, stats: boolean, signal?: AbortSignal): Promise<Presence> {
    if (this.#state === "closing" || this.#state === "closed") return Promise.reject(new ClosedError());
    try {
      validatePattern(topic);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.#link) return Promise.reject(new DisconnectedError());
    if ((this.#caps & Cap.Presence) === 0) return Promise.reject(new WhispeerError("invalid", "the server does not offer presence"));
    this.#presenceId = this.#presenceId >= 0xffffffff ? 1 : this.#presenceId + 1;
    const id = this.#presenceId;
    return new Promise<Presence>((resolve, reject) => {
      const done = (): void => {
        this.#presence.delete(id);
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const timer = this.#clock.setTimeout(() => {
        done();
        reject(new TimeoutError(`no answer to the presence of "${topic}"`));
      }, this.#timeout);
      const onAbort = (): void => {
        done();
        reject(new WhispeerError("unavailable", `presence of "${topic}": aborted`, { cause: abortError(signal!) }));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#presence.set(id, {
        resolve: (p) => (done(), resolve(p)),
        reject: (e) => (done(), reject(e)),
      });
      this.#write(encode({ type: T.Presence, id, stats, topic }));
    });
  }

  #onPresenceInfo(f: PresenceInfo): void {
    const w = this.#presence.get(f.id);
    if (!w) return; // the caller gave up
    if (f.code !== 0) {
      w.reject(new ServerError(f.code, f.text, false, T.Presence));
      return;
    }
    w.resolve({
      clients: f.clients.map((c) => ({ user: c.user, clientId: c.client })),
      count: f.count,
      users: f.users,
      truncated: f.truncated,
    });
  }

  /** topic returns the topic name whose payloads are values of T, JSON by default. */
  topic<V>(name: string, codec?: Codec<V>): Topic<V> {
    validateTopic(name);
    return new Topic<V>(this, name, codec);
  }

  // ------------------------------------------------------------ SubHost

  /** @internal ack acknowledges a delivery the application took: PUBACK at QoS 1, PUBREC at QoS 2. */
  ack(s: Subscription<unknown>, msg: Message, gen: number): void {
    // A PUBREC goes out on a later connection too: a server that kept the
    // session (or a durable cursor) learns that the message was received.
    if (msg.qos === 2) return this.pubrec(s, msg.id, BigInt(msg.offset));
    if (msg.qos !== 1 || gen !== this.#gen || !this.#link) return;
    const offset = (this.#caps & Cap.AckOffset) !== 0 ? BigInt(msg.offset) : 0n;
    this.#write(encode({ type: T.PubAck, sid: s.sid, code: 0, id: msg.id, text: "", offset }));
  }

  /** @internal pubrec answers a QoS 2 delivery the application has. */
  pubrec(s: Subscription<unknown>, id: string, offset: bigint): void {
    this.#ackFrame(T.PubRec, s.sid, id, offset);
  }

  /** @internal */
  unsubscribe(s: Subscription<unknown>): void {
    if (this.#subs.get(s.sid) !== s) return;
    this.#subs.delete(s.sid);
    if (this.#link) this.#write(encode({ type: T.Unsub, sid: s.sid }));
  }

  /** @internal open returns a delivery's payload, opened when it is sealed. */
  open(s: Subscription<unknown>, m: Msg): Uint8Array {
    if (s.opts.raw) return m.payload;
    if (!m.envelope) {
      if (this.#keyring && !this.#opts.acceptPlaintext) throw new DeliveryFailed("plaintext", undefined);
      return m.payload;
    }
    if (!this.#keyring) throw new DeliveryFailed("open", new Error("sealed, and the client has no keyring"));
    try {
      return this.#keyring.open(m.topic, m.id, m.payload);
    } catch (e) {
      throw new DeliveryFailed("open", e);
    }
  }

  /** @internal report emits err as an error event, or warns on the console when nobody listens. */
  report(err: WhispeerError): void {
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else console.warn(err.message);
  }

  // ------------------------------------------------------------ closing

  /**
   * close stops the client after flushing: handlers finish what is queued
   * for them, buffered frames are written, QoS 1 and 2 publishes get their PUBACK or PUBCOMP
   * and the server answers a PING, all within the client's timeout. A
   * disconnected client does not wait for a reconnection: what it buffered
   * fails with ClosedError. Closing twice returns the same promise.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    if (this.#state === "closed") return;
    this.#setState("closing");
    this.#clock.clearTimeout(this.#retryTimer);
    this.#retryNow?.();
    let err: unknown;
    if (this.#link) {
      try {
        await this.#deadline("close", undefined, () => this.#drain());
      } catch (e) {
        err = e;
      }
    }
    this.#terminate(new ClosedError());
    if (err) throw err;
  }

  /** #drain waits for handlers, PUBACKs and a PING round trip. */
  async #drain(): Promise<void> {
    await Promise.all([...this.#subs.values()].map((s) => s.drained()));
    const acks = [...this.#inflight.values()].map((p) => new Promise<void>((resolve) => {
      const { resolve: ok, reject: no } = p;
      p.resolve = () => (ok(), resolve());
      p.reject = (e) => (no(e), resolve());
    }));
    await Promise.all(acks);
    if (!this.#link) return;
    await new Promise<void>((resolve) => {
      this.#pongs.push(resolve);
      this.#ping();
    });
  }

  /** #terminate ends everything: the connection, subscriptions, pending publishes, timers. */
  #terminate(err: WhispeerError): void {
    if (this.#state === "closed") return;
    this.#setState("closed");
    this.#clock.clearTimeout(this.#pingTimer);
    this.#clock.clearTimeout(this.#retryTimer);
    this.#clock.clearTimeout(this.#refreshTimer);
    this.#lifecycleOff?.();
    const link = this.#link;
    this.#send();
    this.#link = null;
    link?.close(err);
    for (const p of [...this.#inflight.values()]) {
      this.#settle(p);
      p.reject(err);
    }
    for (const go of this.#window.splice(0)) go();
    this.#queue = [];
    this.#queued = 0;
    for (const s of [...this.#subs.values()]) s.end(err);
    this.#subs.clear();
    for (const w of [...this.#presence.values()]) w.reject(err);
    if (this.#ownsKeyring) this.#keyring?.close();
  }
}

/** PresenceClient is one client present in a topic. */
export interface PresenceClient {
  /** user is the user it authenticated as. */
  user: string;
  /** clientId is its client id (ConnectOptions.clientId), or its connection's. */
  clientId: string;
}

/** Presence is who is subscribed to a topic, as the server keeps it: by the exact topic or pattern subscribed to. */
export interface Presence {
  /** clients lists the clients present, sorted by user: at most the server's list limit; empty for presenceStats. */
  clients: PresenceClient[];
  /** count is how many clients are present. */
  count: number;
  /** users is how many distinct users they are. */
  users: number;
  /** truncated reports that clients lists fewer than count. */
  truncated: boolean;
}

/** relFrame encodes the PUBREL that releases the id of a QoS 2 publish. */
function relFrame(id: string): Uint8Array {
  return encode({ type: T.PubRel, sid: 0, code: 0, id, text: "", offset: 0n });
}

function noQoS2(): WhispeerError {
  return new WhispeerError("invalid", "the server does not offer QoS 2 (exactly once)");
}

/**
 * later runs fn after the current task, so that the frames written meanwhile
 * go out as one WebSocket message: setImmediate in Node, a MessageChannel in
 * browsers (a task without setTimeout's clamping).
 */
const later: (fn: () => void) => void = (() => {
  const g = globalThis as { setImmediate?: (f: () => void) => void; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === "function") return (fn: () => void) => g.setImmediate!(fn);
  if (typeof g.MessageChannel === "function") {
    const ch = new g.MessageChannel();
    let fns: (() => void)[] = [];
    ch.port1.onmessage = () => {
      const run = fns;
      fns = [];
      for (const f of run) f();
    };
    return (fn: () => void) => {
      fns.push(fn);
      if (fns.length === 1) ch.port2.postMessage(0);
    };
  }
  return (fn: () => void) => void setTimeout(fn, 0);
})();
