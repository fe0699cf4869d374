// Bytes of the server link (MonaServer-behaviour.md §0, §1.2, §1.3; MonaServer ServerConnection::send and
// ::onData). Every frame is a u32 big-endian size then:
//   u8 nameLen; nameLen > 0: the handler name, then the payload
//               nameLen = 0: a 7-bit (LEB128) handler reference; ref > 0: the payload follows
//                                                                 ref = 0: a control frame
//   control: u8 01 (hello) then (String key, String value) pairs to the end, or u8 00 (reject) then String text
// String = 7-bit length + bytes. Handler references are per link and per direction, numbered from 1 in order
// of first use, cleared with the connection.
import { WireError } from '../errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** LEB128, low group first (MonaBase BinaryWriter::write7BitEncoded); not AMF3's U29. */
export function write7Bit(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    let c = v & 0x7f;
    v >>>= 7;
    if (v) c |= 0x80;
    out.push(c);
  } while (v);
}

export function size7Bit(value: number): number {
  let n = 1;
  for (let v = value >>> 7; v; v >>>= 7) n++;
  return n;
}

/** Reads what write7Bit wrote; at most 5 bytes (a u32), anything longer is malformed. */
export function read7Bit(bytes: Uint8Array, at: { offset: number }): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at.offset >= bytes.length) throw new WireError('server link: 7-bit value past the end', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    const c = bytes[at.offset++]!;
    value += (c & 0x7f) * 2 ** shift;
    if (!(c & 0x80)) return value;
  }
  throw new WireError('server link: 7-bit value longer than 5 bytes');
}

function pushString(out: number[], bytes: Uint8Array): void {
  write7Bit(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function readString(bytes: Uint8Array, at: { offset: number }): Uint8Array {
  const n = read7Bit(bytes, at);
  if (n > bytes.length - at.offset) throw new WireError('server link: string overruns its frame', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
  const s = bytes.subarray(at.offset, at.offset + n);
  at.offset += n;
  return s;
}

function frame(body: number[] | Uint8Array, payload?: Uint8Array): Uint8Array {
  const size = body.length + (payload?.length ?? 0);
  const out = new Uint8Array(4 + size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(body, 4);
  if (payload) out.set(payload, 4 + body.length);
  return out;
}

/** Hello: every (key, value) pair, in the given order. */
export function encodeHello(pairs: Iterable<readonly [string, string]>): Uint8Array {
  const body = [0, 0, 1];
  for (const [k, v] of pairs) {
    pushString(body, encoder.encode(k));
    pushString(body, encoder.encode(v));
  }
  return frame(body);
}

export function encodeReject(text: string): Uint8Array {
  const body = [0, 0, 0];
  pushString(body, encoder.encode(text));
  return frame(body);
}

/** The handler names one direction of a link has used, and the references they took. */
export class SendingRefs {
  private readonly refs = new Map<string, number>();

  /** A frame for handler + payload: the name inline on its first use, its reference afterwards. */
  frame(handlerName: Uint8Array, payload: Uint8Array): Uint8Array {
    const key = decoder.decode(handlerName);
    const ref = this.refs.get(key);
    if (ref !== undefined) {
      const body = [0];
      write7Bit(body, ref);
      return frame(body, payload);
    }
    this.refs.set(key, this.refs.size + 1);
    const body = new Uint8Array(1 + handlerName.length);
    body[0] = handlerName.length;
    body.set(handlerName, 1);
    return frame(body, payload);
  }

  clear(): void {
    this.refs.clear();
  }
}

export type Frame =
  | { kind: 'hello'; pairs: Array<[string, string]> }
  | { kind: 'reject'; text: string }
  /** handler '' when the reference is unknown (MonaServer logs it and calls nothing) */
  | { kind: 'message'; handler: string; ref: number; payload: Uint8Array };

/** The handler names the peer has sent, by reference. */
export class ReceivingRefs {
  private readonly names: string[] = [];

  /** One frame body (without its size); throws WireError when malformed. */
  decode(body: Uint8Array): Frame {
    if (body.length === 0) throw new WireError('server link: empty frame', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    const at = { offset: 1 };
    const nameLen = body[0]!;
    if (nameLen > 0) {
      if (nameLen > body.length - 1)
        throw new WireError('server link: handler name overruns its frame', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
      const handler = decoder.decode(body.subarray(1, 1 + nameLen));
      this.names.push(handler);
      return { kind: 'message', handler, ref: this.names.length, payload: body.subarray(1 + nameLen) };
    }
    const ref = read7Bit(body, at);
    if (ref > 0) return { kind: 'message', handler: this.names[ref - 1] ?? '', ref, payload: body.subarray(at.offset) };
    if (at.offset >= body.length) throw new WireError('server link: control frame without its flag', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    const flag = body[at.offset++]!;
    if (flag === 0) return { kind: 'reject', text: decoder.decode(readString(body, at)) };
    const pairs: Array<[string, string]> = [];
    while (at.offset < body.length) {
      const key = decoder.decode(readString(body, at));
      pairs.push([key, decoder.decode(readString(body, at))]);
    }
    return { kind: 'hello', pairs };
  }

  clear(): void {
    this.names.length = 0;
  }
}

/** Cuts a TCP byte stream into frame bodies; a frame larger than the limit of the moment is an error. */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private need = -1;

  /** the largest body accepted now (the hello limit until the hello, then the frame limit) */
  constructor(public limit: number) {}

  /** Frame bodies complete with this chunk; throws WireError on a frame over the limit. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const head = this.take(4);
        const size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
        if (size > this.limit) throw new WireError(`server link: frame of ${size} bytes over the ${this.limit} bytes limit`);
        this.need = size;
      }
      if (this.buffered < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  /** bytes held for an incomplete frame */
  get pending(): number {
    return this.buffered;
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - filled);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}
