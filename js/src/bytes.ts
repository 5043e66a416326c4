// Byte helpers shared by the codec and the client: UTF-8 with an ASCII fast
// path, and a growable writer.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** utf8 encodes s. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** utf8Length returns the number of bytes of s in UTF-8. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else n += 2;
  }
  return n;
}

/** text decodes b[start:end] as UTF-8, without a copy for short ASCII. */
export function text(b: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c >= 0x80) return decoder.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(b.subarray(start, end));
}

/** Writer appends big-endian fields to a growing buffer. */
export class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** reserve makes room for n more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  u64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  i64(v: bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** str writes s as UTF-8 after a length prefix of width bytes (1 or 2). */
  str(s: string, width: 1 | 2, field: string): void {
    const max = width === 1 ? 0xff : 0xffff;
    let ascii = s.length <= max;
    if (ascii) {
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) {
      if (width === 1) this.u8(s.length);
      else this.u16(s.length);
      this.reserve(s.length);
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    const b = encoder.encode(s);
    if (b.length > max) throw new RangeError(`whispeer: ${field} longer than ${max} bytes`);
    if (width === 1) this.u8(b.length);
    else this.u16(b.length);
    this.bytes(b);
  }

  /** finish returns the bytes written, a view of the buffer. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
