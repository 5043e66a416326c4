// The native protocol's codec (docs/protocol-native.md): every frame, both
// ways, validated as strictly as the Go codec (protocol/wire) so that a
// frame has one encoding. It does no I/O.

import { text, Writer } from "./bytes.js";

/** The protocol version this codec speaks. */
export const VERSION = 1;
/** The largest value of a length prefix the protocol allows (16 MiB). */
export const MAX_FRAME_SIZE = 16 << 20;
/** The server's default frame limit (1 MiB). */
export const DEFAULT_MAX_FRAME = 1 << 20;
/** The bytes before a frame's type: the length prefix. */
export const HEADER_LEN = 4;

/** Frame type bytes. */
export const T = {
  Hello: 0x01,
  Welcome: 0x02,
  Auth: 0x03,
  Login: 0x04,
  AuthOK: 0x05,
  Ping: 0x06,
  Pong: 0x07,
  Error: 0x08,
  Sub: 0x10,
  Unsub: 0x11,
  SubAck: 0x12,
  Presence: 0x13,
  PresenceInfo: 0x14,
  JoinLeave: 0x15,
  Pub: 0x20,
  Msg: 0x21,
  PubAck: 0x22,
  PubRec: 0x23,
  PubRel: 0x24,
  PubComp: 0x25,
} as const;

/** Capability bits of HELLO and WELCOME. */
export const Cap = {
  E2E: 0x1,
  Compression: 0x2,
  QoS2: 0x4,
  Resume: 0x8,
  Reasons: 0x10,
  AckOffset: 0x20,
  Presence: 0x40,
} as const;

/** The wire error codes, by number; an unknown code counts as internal. */
export const CODE_NAMES = [
  "ok",
  "invalid",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "too_large",
  "limit",
  "unavailable",
  "internal",
] as const;

/** ErrorCode is the name of a wire error code. */
export type ErrorCode = Exclude<(typeof CODE_NAMES)[number], "ok">;

/** codeName returns the name of wire code c. */
export function codeName(c: number): ErrorCode {
  return c >= 1 && c < CODE_NAMES.length ? (CODE_NAMES[c] as ErrorCode) : "internal";
}

/** A header, in order; keys may repeat. */
export type Header = readonly [key: string, value: string];

/** Resume says where a SUB starts. */
export type Resume =
  | { readonly mode: 0 }
  | { readonly mode: 1; readonly last: number }
  | { readonly mode: 2; readonly epoch: bigint; readonly offset: bigint }
  /** durable: a QoS 2 subscription the server keeps under the user, the session and the pattern */
  | { readonly mode: 3 };

export interface Hello {
  type: typeof T.Hello;
  version: number;
  caps: number;
  maxFrame: number;
  session: string;
  name: string;
  /** Fields of a later version, kept only when version > VERSION. */
  ext?: Uint8Array;
}
export interface Welcome {
  type: typeof T.Welcome;
  version: number;
  resumed: boolean;
  caps: number;
  maxFrame: number;
  pingInterval: number;
  session: string;
  server: string;
}
export interface Auth {
  type: typeof T.Auth;
  token: string;
}
export interface Login {
  type: typeof T.Login;
  user: string;
  password: string;
}
export interface AuthOK {
  type: typeof T.AuthOK;
  expires: bigint;
  token: string;
}
export interface Ping {
  type: typeof T.Ping | typeof T.Pong;
}
export interface ErrorFrame {
  type: typeof T.Error;
  code: number;
  fatal: boolean;
  ref: number;
  text: string;
}
export interface Sub {
  type: typeof T.Sub;
  sid: number;
  qos: number;
  /** presence asks for the join and leave events of the topic (JOINLEAVE); parsing sets it only when true. */
  presence?: boolean;
  resume: Resume;
  topic: string;
}
export interface Unsub {
  type: typeof T.Unsub;
  sid: number;
}
export interface SubAck {
  type: typeof T.SubAck;
  sid: number;
  code: number;
  recovered: boolean;
  epoch: bigint;
  offset: bigint;
  text: string;
}
export interface Presence {
  type: typeof T.Presence;
  /** id names the request, never 0; the answer repeats it. */
  id: number;
  /** stats asks for the counts alone. */
  stats: boolean;
  topic: string;
}
/** PresenceClient is one client of a PRESENCEINFO or a JOINLEAVE. */
export interface PresenceClient {
  user: string;
  client: string;
}
export interface PresenceInfo {
  type: typeof T.PresenceInfo;
  id: number;
  code: number;
  truncated: boolean;
  count: number;
  users: number;
  clients: readonly PresenceClient[];
  text: string;
}
export interface JoinLeave {
  type: typeof T.JoinLeave;
  sid: number;
  leave: boolean;
  user: string;
  client: string;
}
export interface Pub {
  type: typeof T.Pub;
  qos: number;
  envelope: boolean;
  dup: boolean;
  topic: string;
  id: string;
  headers: readonly Header[];
  payload: Uint8Array;
}
export interface Msg {
  type: typeof T.Msg;
  qos: number;
  envelope: boolean;
  dup: boolean;
  replay: boolean;
  sid: number;
  offset: bigint;
  time: bigint;
  topic: string;
  id: string;
  headers: readonly Header[];
  payload: Uint8Array;
}
export interface Ack {
  type: typeof T.PubAck | typeof T.PubRec | typeof T.PubRel | typeof T.PubComp;
  sid: number;
  code: number;
  id: string;
  /** A refusal's reason (code not 0, `reasons` granted); "" for none. */
  text: string;
  /** The delivery's offset (sid not 0, code 0, `ackoffset`); 0n for none. */
  offset: bigint;
}

/** Frame is any frame of the protocol, told apart by its type. */
export type Frame =
  | Hello
  | Welcome
  | Auth
  | Login
  | AuthOK
  | Ping
  | ErrorFrame
  | Sub
  | Unsub
  | SubAck
  | Presence
  | PresenceInfo
  | JoinLeave
  | Pub
  | Msg
  | Ack;

/** FrameErrorKind names what is wrong with a frame, as the Go codec's sentinels do. */
export type FrameErrorKind =
  | "too_large"
  | "unknown_type"
  | "truncated"
  | "trailing"
  | "qos"
  | "version"
  | "magic"
  | "empty_topic"
  | "missing_id"
  | "flags"
  | "sid"
  | "resume"
  | "code"
  | "header"
  | "too_long";

/** FrameError is a frame that does not parse or cannot be encoded. */
export class FrameError extends Error {
  override name = "FrameError";
  constructor(
    readonly kind: FrameErrorKind,
    message?: string,
  ) {
    super(`whispeer: frame: ${message ?? kind.replace("_", " ")}`);
  }
}

const F_QOS = 0x03;
const F_ENVELOPE = 0x04;
const F_DUP = 0x08;
const F_REPLAY = 0x10;
const PUB_FLAGS = F_QOS | F_ENVELOPE | F_DUP;
const MSG_FLAGS = PUB_FLAGS | F_REPLAY;
const SUB_PRESENCE = 0x04; // the bit of a SUB's qos byte that asks for JOINLEAVE
const MAGIC = [0x57, 0x53, 0x50, 0x52]; // "WSPR"

/** knownType reports whether t names a frame type. */
export function knownType(t: number): boolean {
  return (t >= 0x01 && t <= 0x08) || (t >= 0x10 && t <= 0x15) || (t >= 0x20 && t <= 0x25);
}

// ---------------------------------------------------------------- encoding

/** encode returns f's bytes, length prefix included. */
export function encode(f: Frame): Uint8Array {
  const w = new Writer(f.type === T.Pub || f.type === T.Msg ? 64 + f.payload.length : 64);
  append(w, f);
  return w.finish();
}

/** append writes f, length prefix included, to w; on an error w is unchanged. */
export function append(w: Writer, f: Frame): void {
  const start = w.pos;
  w.u32(0);
  try {
    body(w, f);
  } catch (e) {
    w.pos = start;
    throw e;
  }
  const size = w.pos - start - HEADER_LEN;
  if (size > MAX_FRAME_SIZE) {
    w.pos = start;
    throw new FrameError("too_large", `frame of ${size} bytes`);
  }
  w.view.setUint32(start, size);
}

function body(w: Writer, f: Frame): void {
  w.u8(f.type);
  switch (f.type) {
    case T.Hello:
      if (f.version < 1 || f.version > 255) throw new FrameError("version");
      w.bytes(new Uint8Array(MAGIC));
      w.u8(f.version);
      w.u32(f.caps >>> 0);
      w.u32(f.maxFrame >>> 0);
      w.str(f.session, 1, "session");
      w.str(f.name, 1, "name");
      if (f.ext && f.ext.length > 0) {
        if (f.version <= VERSION) throw new FrameError("trailing", "HELLO extension at a known version");
        w.bytes(f.ext);
      }
      return;
    case T.Welcome:
      if (f.version < 1 || f.version > 255) throw new FrameError("version");
      w.u8(f.version);
      w.u8(f.resumed ? 1 : 0);
      w.u32(f.caps >>> 0);
      w.u32(f.maxFrame >>> 0);
      w.u32(f.pingInterval >>> 0);
      w.str(f.session, 1, "session");
      w.str(f.server, 1, "server");
      return;
    case T.Auth:
      w.str(f.token, 2, "token");
      return;
    case T.Login:
      w.str(f.user, 1, "user");
      w.str(f.password, 2, "password");
      return;
    case T.AuthOK:
      w.i64(f.expires);
      w.str(f.token, 2, "token");
      return;
    case T.Ping:
    case T.Pong:
      return;
    case T.Error:
      if (f.code === 0 || f.code > 255) throw new FrameError("code", "error code 0");
      if (f.ref !== 0 && !knownType(f.ref)) throw new FrameError("code", `ref 0x${f.ref.toString(16)}`);
      w.u8(f.code);
      w.u8(f.fatal ? 1 : 0);
      w.u8(f.ref);
      w.str(f.text, 2, "text");
      return;
    case T.Sub:
      checkSID(f.sid);
      checkQoS(f.qos);
      if (f.topic === "") throw new FrameError("empty_topic");
      w.u32(f.sid);
      w.u8(f.qos | (f.presence ? SUB_PRESENCE : 0));
      w.u8(f.resume.mode);
      if (f.resume.mode === 1) w.u32(f.resume.last >>> 0);
      else if (f.resume.mode === 2) {
        w.u64(f.resume.epoch);
        w.u64(f.resume.offset);
      } else if (f.resume.mode !== 0 && f.resume.mode !== 3) throw new FrameError("resume");
      w.str(f.topic, 2, "topic");
      return;
    case T.Unsub:
      checkSID(f.sid);
      w.u32(f.sid);
      return;
    case T.SubAck:
      checkSID(f.sid);
      w.u32(f.sid);
      w.u8(f.code);
      w.u8(f.recovered ? 1 : 0);
      w.u64(f.epoch);
      w.u64(f.offset);
      w.str(f.text, 2, "text");
      return;
    case T.Presence:
      checkID(f.id);
      if (f.topic === "") throw new FrameError("empty_topic");
      w.u32(f.id);
      w.u8(f.stats ? 1 : 0);
      w.str(f.topic, 2, "topic");
      return;
    case T.PresenceInfo:
      checkID(f.id);
      if (f.clients.length > 0xffff) throw new FrameError("too_long", "more than 65535 clients");
      w.u32(f.id);
      w.u8(f.code);
      w.u8(f.truncated ? 1 : 0);
      w.u32(f.count >>> 0);
      w.u32(f.users >>> 0);
      w.u16(f.clients.length);
      for (const c of f.clients) {
        w.str(c.user, 2, "user");
        w.str(c.client, 2, "client id");
      }
      w.str(f.text, 2, "text");
      return;
    case T.JoinLeave:
      checkSID(f.sid);
      w.u32(f.sid);
      w.u8(f.leave ? 1 : 0);
      w.str(f.user, 2, "user");
      w.str(f.client, 2, "client id");
      return;
    case T.Pub:
      checkMessage(f.qos, f.topic, f.id);
      w.u8(f.qos | (f.envelope ? F_ENVELOPE : 0) | (f.dup ? F_DUP : 0));
      route(w, f.topic, f.id, f.headers);
      w.bytes(f.payload);
      return;
    case T.Msg:
      checkSID(f.sid);
      checkMessage(f.qos, f.topic, f.id);
      w.u8(f.qos | (f.envelope ? F_ENVELOPE : 0) | (f.dup ? F_DUP : 0) | (f.replay ? F_REPLAY : 0));
      w.u32(f.sid);
      w.u64(f.offset);
      w.i64(f.time);
      route(w, f.topic, f.id, f.headers);
      w.bytes(f.payload);
      return;
    case T.PubAck:
    case T.PubRec:
    case T.PubRel:
    case T.PubComp:
      if (f.id === "") throw new FrameError("missing_id");
      w.u32(f.sid >>> 0);
      w.u8(f.code);
      w.str(f.id, 1, "message id");
      if (f.code !== 0 && f.text !== "") w.str(f.text, 2, "text");
      else if (f.code === 0 && f.sid !== 0 && f.offset !== 0n) w.u64(f.offset);
      return;
  }
}

function route(w: Writer, topic: string, id: string, headers: readonly Header[]): void {
  w.str(topic, 2, "topic");
  w.str(id, 1, "message id");
  if (headers.length > 0xffff) throw new FrameError("too_long", "more than 65535 headers");
  w.u16(headers.length);
  for (const [k, v] of headers) {
    if (k === "") throw new FrameError("header", "empty header key");
    w.str(k, 2, "header key");
    w.str(v, 2, "header value");
  }
}

function checkSID(sid: number): void {
  if (!Number.isInteger(sid) || sid <= 0 || sid > 0xffffffff) throw new FrameError("sid");
}

function checkID(id: number): void {
  if (!Number.isInteger(id) || id <= 0 || id > 0xffffffff) throw new FrameError("sid", "presence request id 0");
}

function checkQoS(q: number): void {
  if (q !== 0 && q !== 1 && q !== 2) throw new FrameError("qos");
}

function checkMessage(q: number, topic: string, id: string): void {
  checkQoS(q);
  if (topic === "") throw new FrameError("empty_topic");
  if (q > 0 && id === "") throw new FrameError("missing_id");
}

// ----------------------------------------------------------------- parsing

/** Parsed is a frame and the offset just past it. */
export interface Parsed {
  frame: Frame;
  next: number;
}

/**
 * parse parses the frame at b[pos:], refusing a length prefix over limit
 * before reading the body. It returns null when b does not yet hold the whole
 * frame and throws a FrameError when the frame is invalid. Byte fields
 * (payloads, HELLO's ext) view b. view, a DataView over b, saves making one
 * per frame when parsing many from one buffer.
 */
export function parse(b: Uint8Array, pos = 0, limit = MAX_FRAME_SIZE, view?: DataView): Parsed | null {
  if (b.length - pos < HEADER_LEN) return null;
  const v = view ?? new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size = v.getUint32(pos);
  if (size > limit) throw new FrameError("too_large", `${size} bytes, limit ${limit}`);
  if (size === 0) throw new FrameError("truncated", "zero length");
  if (b.length - pos - HEADER_LEN < size) return null;
  const end = pos + HEADER_LEN + size;
  const r = new Reader(b, v, pos + HEADER_LEN + 1, end);
  return { frame: decode(b[pos + HEADER_LEN]!, r), next: end };
}

/** Reader reads the fields of one frame, bounded by its end. */
class Reader {
  constructor(
    readonly b: Uint8Array,
    readonly v: DataView,
    public i: number,
    readonly end: number,
  ) {}

  need(n: number): void {
    if (this.end - this.i < n) throw new FrameError("truncated");
  }
  u8(): number {
    this.need(1);
    return this.b[this.i++]!;
  }
  u16(): number {
    this.need(2);
    const x = this.v.getUint16(this.i);
    this.i += 2;
    return x;
  }
  u32(): number {
    this.need(4);
    const x = this.v.getUint32(this.i);
    this.i += 4;
    return x;
  }
  u64(): bigint {
    this.need(8);
    const x = this.v.getBigUint64(this.i);
    this.i += 8;
    return x;
  }
  i64(): bigint {
    this.need(8);
    const x = this.v.getBigInt64(this.i);
    this.i += 8;
    return x;
  }
  str(width: 1 | 2): string {
    const n = width === 1 ? this.u8() : this.u16();
    this.need(n);
    const s = width === 2 ? topicText(this.b, this.i, n) : text(this.b, this.i, this.i + n);
    this.i += n;
    return s;
  }
  rest(): Uint8Array {
    const r = this.b.subarray(this.i, this.end);
    this.i = this.end;
    return r;
  }
  done(): void {
    if (this.i < this.end) throw new FrameError("trailing", `${this.end - this.i} trailing bytes`);
  }
}

// The last topic decoded, so that a run of messages to one topic shares
// one string rather than decoding the same bytes again.
let lastTopic = "";
let lastTopicBytes = new Uint8Array(0);

function topicText(b: Uint8Array, i: number, n: number): string {
  if (n === lastTopicBytes.length && n <= 256) {
    let same = true;
    for (let k = 0; k < n; k++) {
      if (b[i + k] !== lastTopicBytes[k]) {
        same = false;
        break;
      }
    }
    if (same) return lastTopic;
  }
  const s = text(b, i, i + n);
  if (n <= 256) {
    lastTopic = s;
    lastTopicBytes = b.slice(i, i + n);
  }
  return s;
}

function decode(t: number, r: Reader): Frame {
  switch (t) {
    case T.Pub:
      return decodePub(r);
    case T.Msg:
      return decodeMsg(r);
    case T.PubAck:
    case T.PubRec:
    case T.PubRel:
    case T.PubComp:
      return decodeAck(t, r);
    case T.Ping:
    case T.Pong:
      r.done();
      return { type: t };
    case T.Sub:
      return decodeSub(r);
    case T.Unsub: {
      const sid = r.u32();
      if (sid === 0) throw new FrameError("sid");
      r.done();
      return { type: t, sid };
    }
    case T.SubAck:
      return decodeSubAck(r);
    case T.Presence:
      return decodePresence(r);
    case T.PresenceInfo:
      return decodePresenceInfo(r);
    case T.JoinLeave:
      return decodeJoinLeave(r);
    case T.Hello:
      return decodeHello(r);
    case T.Welcome:
      return decodeWelcome(r);
    case T.Auth: {
      const token = r.str(2);
      r.done();
      return { type: t, token };
    }
    case T.Login: {
      const user = r.str(1);
      const password = r.str(2);
      r.done();
      return { type: t, user, password };
    }
    case T.AuthOK: {
      const expires = r.i64();
      const token = r.str(2);
      r.done();
      return { type: t, expires, token };
    }
    case T.Error:
      return decodeError(r);
  }
  throw new FrameError("unknown_type", `unknown type 0x${t.toString(16).padStart(2, "0")}`);
}

function decodeHeaders(r: Reader): Header[] {
  const n = r.u16();
  if (n === 0) return EMPTY;
  const h: Header[] = [];
  for (let k = 0; k < n; k++) {
    const key = r.str(2);
    if (key === "") throw new FrameError("header", "empty header key");
    h.push([key, r.str(2)]);
  }
  return h;
}

const EMPTY: Header[] = [];

function decodePub(r: Reader): Pub {
  r.need(3);
  const fl = r.u8();
  if ((fl & ~PUB_FLAGS) !== 0) throw new FrameError("flags");
  const topic = r.str(2);
  const id = r.str(1);
  const headers = decodeHeaders(r);
  const qos = fl & F_QOS;
  const f: Pub = {
    type: T.Pub,
    qos,
    envelope: (fl & F_ENVELOPE) !== 0,
    dup: (fl & F_DUP) !== 0,
    topic,
    id,
    headers,
    payload: r.rest(),
  };
  parsedMessage(qos, topic, id);
  return f;
}

function decodeMsg(r: Reader): Msg {
  r.need(1 + 4 + 8 + 8 + 2);
  const fl = r.u8();
  if ((fl & ~MSG_FLAGS) !== 0) throw new FrameError("flags");
  const sid = r.u32();
  const offset = r.u64();
  const time = r.i64();
  const topic = r.str(2);
  const id = r.str(1);
  const headers = decodeHeaders(r);
  const qos = fl & F_QOS;
  const f: Msg = {
    type: T.Msg,
    qos,
    envelope: (fl & F_ENVELOPE) !== 0,
    dup: (fl & F_DUP) !== 0,
    replay: (fl & F_REPLAY) !== 0,
    sid,
    offset,
    time,
    topic,
    id,
    headers,
    payload: r.rest(),
  };
  if (sid === 0) throw new FrameError("sid");
  parsedMessage(qos, topic, id);
  return f;
}

function parsedMessage(q: number, topic: string, id: string): void {
  if (q === 3) throw new FrameError("qos");
  if (topic === "") throw new FrameError("empty_topic");
  if (q > 0 && id === "") throw new FrameError("missing_id");
}

function decodeAck(t: Ack["type"], r: Reader): Ack {
  r.need(6);
  const sid = r.u32();
  const code = r.u8();
  const id = r.str(1);
  if (id === "") throw new FrameError("missing_id");
  const f: Ack = { type: t, sid, code, id, text: "", offset: 0n };
  const left = r.end - r.i;
  if (left === 0) return f;
  if (code === 0 && sid !== 0 && left === 8) {
    f.offset = r.u64();
    if (f.offset === 0n) throw new FrameError("trailing", "zero offset");
    return f;
  }
  if (code === 0) throw new FrameError("trailing");
  f.text = r.str(2);
  if (f.text === "") throw new FrameError("trailing", "empty text");
  r.done();
  return f;
}

function decodeSub(r: Reader): Sub {
  r.need(6);
  const sid = r.u32();
  const qosByte = r.u8();
  const qos = qosByte & ~SUB_PRESENCE;
  const mode = r.u8();
  let resume: Resume;
  if (mode === 0) resume = { mode: 0 };
  else if (mode === 1) resume = { mode: 1, last: r.u32() };
  else if (mode === 2) resume = { mode: 2, epoch: r.u64(), offset: r.u64() };
  else if (mode === 3) resume = { mode: 3 };
  else throw new FrameError("resume");
  const topic = r.str(2);
  if (sid === 0) throw new FrameError("sid");
  if (qos > 2) throw new FrameError("qos");
  if (topic === "") throw new FrameError("empty_topic");
  r.done();
  const f: Sub = { type: T.Sub, sid, qos, resume, topic };
  if ((qosByte & SUB_PRESENCE) !== 0) f.presence = true;
  return f;
}

function decodePresence(r: Reader): Presence {
  r.need(5);
  const id = r.u32();
  const fl = r.u8();
  const topic = r.str(2);
  if ((fl & ~1) !== 0) throw new FrameError("flags");
  if (id === 0) throw new FrameError("sid", "presence request id 0");
  if (topic === "") throw new FrameError("empty_topic");
  r.done();
  return { type: T.Presence, id, stats: (fl & 1) !== 0, topic };
}

function decodePresenceInfo(r: Reader): PresenceInfo {
  r.need(14);
  const id = r.u32();
  const code = r.u8();
  const fl = r.u8();
  const count = r.u32();
  const users = r.u32();
  const n = r.u16();
  const clients: PresenceClient[] = [];
  for (let k = 0; k < n; k++) clients.push({ user: r.str(2), client: r.str(2) });
  const txt = r.str(2);
  if ((fl & ~1) !== 0) throw new FrameError("flags");
  if (id === 0) throw new FrameError("sid", "presence request id 0");
  r.done();
  return { type: T.PresenceInfo, id, code, truncated: (fl & 1) !== 0, count, users, clients, text: txt };
}

function decodeJoinLeave(r: Reader): JoinLeave {
  r.need(5);
  const sid = r.u32();
  const fl = r.u8();
  const user = r.str(2);
  const client = r.str(2);
  if ((fl & ~1) !== 0) throw new FrameError("flags");
  if (sid === 0) throw new FrameError("sid");
  r.done();
  return { type: T.JoinLeave, sid, leave: (fl & 1) !== 0, user, client };
}

function decodeSubAck(r: Reader): SubAck {
  r.need(22);
  const sid = r.u32();
  const code = r.u8();
  const fl = r.u8();
  const epoch = r.u64();
  const offset = r.u64();
  const txt = r.str(2);
  if ((fl & ~1) !== 0) throw new FrameError("flags");
  if (sid === 0) throw new FrameError("sid");
  r.done();
  return { type: T.SubAck, sid, code, recovered: (fl & 1) !== 0, epoch, offset, text: txt };
}

function decodeHello(r: Reader): Hello {
  r.need(13);
  for (const m of MAGIC) if (r.u8() !== m) throw new FrameError("magic");
  const version = r.u8();
  const caps = r.u32();
  const maxFrame = r.u32();
  const session = r.str(1);
  const name = r.str(1);
  if (version === 0) throw new FrameError("version");
  const f: Hello = { type: T.Hello, version, caps, maxFrame, session, name };
  if (version > VERSION) {
    if (r.i < r.end) f.ext = r.rest();
    return f;
  }
  r.done();
  return f;
}

function decodeWelcome(r: Reader): Welcome {
  r.need(14);
  const version = r.u8();
  const fl = r.u8();
  const caps = r.u32();
  const maxFrame = r.u32();
  const pingInterval = r.u32();
  const session = r.str(1);
  const server = r.str(1);
  if ((fl & ~1) !== 0) throw new FrameError("flags");
  if (version === 0) throw new FrameError("version");
  r.done();
  return { type: T.Welcome, version, resumed: (fl & 1) !== 0, caps, maxFrame, pingInterval, session, server };
}

function decodeError(r: Reader): ErrorFrame {
  r.need(3);
  const code = r.u8();
  const fl = r.u8();
  const ref = r.u8();
  const txt = r.str(2);
  if ((fl & ~1) !== 0) throw new FrameError("flags");
  if (code === 0) throw new FrameError("code", "error code 0");
  if (ref !== 0 && !knownType(ref)) throw new FrameError("code", `ref 0x${ref.toString(16)}`);
  r.done();
  return { type: T.Error, code, fatal: (fl & 1) !== 0, ref, text: txt };
}
