// Big-endian byte reader/writer shared by every codec. Readers throw WireError on truncation so
// that decoders can be written straight-line and the supervisor drops (and counts) the packet.

import { WireError } from './errors.ts';

// ignoreBOM: a leading U+FEFF is data, not a byte order mark, in every RTMFP/AMF string
const textDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const textEncoder = new TextEncoder();
const TRUNCATED = { code: 'NIMBUS_ERR_WIRE_TRUNCATED' } as const;

export function utf8Decode(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

export function utf8Encode(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  position: number;
  readonly end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = start;
    this.end = end;
  }

  get available(): number {
    return this.end - this.position;
  }

  private need(n: number): number {
    const at = this.position;
    if (n < 0 || at + n > this.end) throw new WireError(`truncated: need ${n} bytes at ${at}, have ${this.end - at}`, TRUNCATED);
    this.position = at + n;
    return at;
  }

  u8(): number {
    return this.bytes[this.need(1)]!;
  }

  peek(): number {
    if (this.position >= this.end) throw new WireError('truncated: peek past end', TRUNCATED);
    return this.bytes[this.position]!;
  }

  u16(): number {
    return this.view.getUint16(this.need(2));
  }

  i16(): number {
    return this.view.getInt16(this.need(2));
  }

  u32(): number {
    return this.view.getUint32(this.need(4));
  }

  i32(): number {
    return this.view.getInt32(this.need(4));
  }

  f32(): number {
    return this.view.getFloat32(this.need(4));
  }

  f64(): number {
    return this.view.getFloat64(this.need(8));
  }

  /** A view (not a copy) of the next n bytes. */
  read(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  rest(): Uint8Array {
    return this.read(this.available);
  }

  skip(n: number): void {
    this.need(n);
  }

  /** RTMFP variable length unsigned integer (RFC 7016 §2.1.2); values up to 2^53. */
  vlu(): number {
    let value = 0;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      value = value * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return value;
    }
    throw new WireError('VLU longer than 8 bytes');
  }

  utf8(n: number): string {
    return utf8Decode(this.read(n));
  }
}

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.buffer = new Uint8Array(capacity);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Grows the buffer if needed; callers must read this.buffer/this.view only after calling it. */
  private reserve(n: number): number {
    const at = this.length;
    const needed = at + n;
    if (needed > this.buffer.length) {
      let size = this.buffer.length * 2;
      while (size < needed) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buffer.subarray(0, at));
      this.buffer = next;
      this.view = new DataView(next.buffer);
    }
    this.length = needed;
    return at;
  }

  u8(v: number): this {
    const at = this.reserve(1);
    this.buffer[at] = v;
    return this;
  }

  u16(v: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, v);
    return this;
  }

  u32(v: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, v >>> 0);
    return this;
  }

  i32(v: number): this {
    const at = this.reserve(4);
    this.view.setInt32(at, v | 0);
    return this;
  }

  f64(v: number): this {
    const at = this.reserve(8);
    this.view.setFloat64(at, v);
    return this;
  }

  write(bytes: Uint8Array): this {
    // reserve first: it may replace this.buffer
    const at = this.reserve(bytes.length);
    this.buffer.set(bytes, at);
    return this;
  }

  /** bytes[start, end): the caller keeps offsets instead of a view that would live as long as it does */
  writeRange(bytes: Uint8Array, start: number, end: number): this {
    const at = this.reserve(end - start);
    this.buffer.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), at);
    return this;
  }

  /** Same bytes as encodeVLU(v), written in place: no array per VLU (three per fragment header). */
  vlu(v: number): this {
    // reserve first: it may replace this.buffer
    const at = this.reserve(vluLength(checkVLU(v)));
    writeVLU(this.buffer, at, v);
    return this;
  }

  /** Overwrite a u16 already written at `at` (length fields written after their content). */
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }

  /** A view of the written bytes; valid until the next write. */
  view_(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** A copy of the written bytes. */
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

export function vluLength(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * The VLU at `offset` (RFC 7016 §2.1.2) outside a ByteReader (flow signatures, options), or -1 when it
 * runs past the end of `bytes` or past `maxBytes` (8 by default: 56 bits, as ByteReader.vlu allows).
 */
export function decodeVLU(bytes: Uint8Array, offset = 0, maxBytes = 8): number {
  let value = 0;
  const end = Math.min(bytes.length, offset + maxBytes);
  for (let at = offset; at < end; at++) {
    const b = bytes[at]!;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return value;
  }
  return -1;
}

export function encodeVLU(v: number): Uint8Array {
  const out = new Uint8Array(vluLength(checkVLU(v)));
  writeVLU(out, 0, v);
  return out;
}

/** Writes the VLU of `v` (RFC 7016 §2.1.2) at `bytes[at]`, in place: no array per number on the packet paths.
 *  Returns how many bytes it took; `bytes` must have room for vluLength(v) of them. */
export function writeVLU(bytes: Uint8Array, at: number, v: number): number {
  const n = vluLength(checkVLU(v));
  for (let i = n - 1; i >= 0; i--) {
    bytes[at + i] = (v % 128) | (i === n - 1 ? 0 : 0x80);
    v = Math.floor(v / 128);
  }
  return n;
}

function checkVLU(v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new WireError(`VLU out of range: ${v}`);
  return v;
}

/**
 * `n` bytes of uninitialised memory carved from Node's shared Buffer pool (for n below 4 KB): per-datagram
 * buffers then cost no ArrayBuffer of their own (each one is a separate allocation for the collector to track
 * and free, the largest share of the relay's garbage collection). Returned as a plain Uint8Array so that
 * slice() still copies. The caller must write every byte before reading any.
 */
export function pooledBytes(n: number): Uint8Array {
  const pooled = Buffer.allocUnsafe(n);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, n);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `text` without leading and trailing slashes, in linear time (a regex like /\/+$/ is quadratic on hostile input). */
export function trimSlashes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 0x2f) start++;
  while (end > start && text.charCodeAt(end - 1) === 0x2f) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}
