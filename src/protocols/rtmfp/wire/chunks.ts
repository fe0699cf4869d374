// Chunks (RFC 7016 §2.3): `type u8 | length u16 | payload`, back to back after the packet header.
// Decoding returns views into the cleartext (no copies); a chunk whose own fields do not add up throws
// WireError so the whole packet is dropped, while unknown chunk types are kept and skipped by callers.

import { ByteReader, ByteWriter, vluLength } from '../../../bytes.ts';
import { WireError } from '../../../errors.ts';
import { readAddress, writeAddress, type RTMFPAddress } from './address.ts';
import { encodeOptionList, readOptionList, writeOptionList, type RTMFPOption } from './options.ts';

export const CHUNK = {
  IHELLO: 0x30,
  FIHELLO: 0x0f,
  RHELLO: 0x70,
  REDIRECT: 0x71,
  COOKIE_CHANGE: 0x79,
  IIKEYING: 0x38,
  RIKEYING: 0x78,
  PING: 0x01,
  PING_REPLY: 0x41,
  USER_DATA: 0x10,
  NEXT_USER_DATA: 0x11,
  ACK_BITMAP: 0x50,
  ACK_RANGES: 0x51,
  BUFFER_PROBE: 0x18,
  FLOW_EXCEPTION: 0x5e,
  CLOSE: 0x0c,
  CLOSE_ACK: 0x4c,
} as const;

export const USER_DATA_FLAG = {
  OPTIONS: 0x80,
  FRAGMENT_MASK: 0x30,
  BEGIN: 0x10,
  END: 0x20,
  MIDDLE: 0x30,
  ABANDON: 0x02,
  FINAL: 0x01,
} as const;

/** type + length. */
export const CHUNK_HEADER_SIZE = 3;

export interface IHelloChunk {
  type: 0x30;
  epd: RTMFPOption[];
  epdRaw: Uint8Array;
  tag: Uint8Array;
}
export interface FIHelloChunk {
  type: 0x0f;
  epd: RTMFPOption[];
  epdRaw: Uint8Array;
  replyAddress: RTMFPAddress;
  tag: Uint8Array;
}
export interface RHelloChunk {
  type: 0x70;
  tag: Uint8Array;
  cookie: Uint8Array;
  certificate: Uint8Array;
}
export interface RedirectChunk {
  type: 0x71;
  tag: Uint8Array;
  addresses: RTMFPAddress[];
}
export interface CookieChangeChunk {
  type: 0x79;
  oldCookie: Uint8Array;
  newCookie: Uint8Array;
}
export interface IIKeyingChunk {
  type: 0x38;
  initiatorSessionId: number;
  cookie: Uint8Array;
  certificate: Uint8Array;
  skic: Uint8Array;
  /** Everything before the signature (what a signature covers); ignored when writing. */
  signedParameters: Uint8Array;
  signature: Uint8Array;
}
export interface RIKeyingChunk {
  type: 0x78;
  responderSessionId: number;
  skrc: Uint8Array;
  signature: Uint8Array;
}
export interface PingChunk {
  type: 0x01 | 0x41;
  payload: Uint8Array;
}
export interface UserDataChunk {
  type: 0x10;
  flags: number;
  flowId: number;
  sequence: number;
  fsnOffset: number;
  /** Null when OPT is clear; when writing, non-null sets OPT whatever `flags` says. */
  options: RTMFPOption[] | null;
  /** A view into the cleartext, not a copy. */
  data: Uint8Array;
  /** Came as (or is to be written as) 0x11: flow, sequence + 1 and the same fsn as the previous one. */
  next: boolean;
}
/** Bitmap acks (0x50) are decoded into this shape too. */
export interface AckChunk {
  type: 0x51;
  flowId: number;
  bufferBlocks: number;
  cumulativeAck: number;
  /** [from, to] absolute sequence numbers, ascending, each above the previous by at least 2. */
  ranges: Array<[number, number]>;
}
export interface BufferProbeChunk {
  type: 0x18;
  flowId: number;
}
export interface FlowExceptionChunk {
  type: 0x5e;
  flowId: number;
  code: number;
}
export interface CloseChunk {
  type: 0x0c | 0x4c;
}
export interface UnknownChunk {
  type: number;
  unknown: true;
  payload: Uint8Array;
}

export type KnownChunk =
  | IHelloChunk
  | FIHelloChunk
  | RHelloChunk
  | RedirectChunk
  | CookieChangeChunk
  | IIKeyingChunk
  | RIKeyingChunk
  | PingChunk
  | UserDataChunk
  | AckChunk
  | BufferProbeChunk
  | FlowExceptionChunk
  | CloseChunk;

export type Chunk = KnownChunk | UnknownChunk;

/**
 * Unknown chunks have `type: number`, which defeats narrowing in a `switch (chunk.type)`; test with this
 * first and the switch narrows to one known shape per case.
 */
export function isUnknownChunk(chunk: Chunk): chunk is UnknownChunk {
  return 'unknown' in chunk;
}

// ---------------------------------------------------------------------------------------------- decoding

/**
 * Chunks from `offset` to the end of the cleartext. Stops (without error) at padding (0xff or 0x00 type),
 * when fewer than 3 bytes remain, or when a length overruns the packet (RFC 7016 §2.3, as Z and Mona do).
 */
export function decodeChunks(cleartext: Uint8Array, offset: number): Chunk[] {
  const chunks: Chunk[] = [];
  const r = new ByteReader(cleartext, offset);
  const n = cleartext.length;
  let previous: UserDataChunk | null = null;
  while (n - r.position >= CHUNK_HEADER_SIZE) {
    const type = cleartext[r.position]!;
    if (type === 0xff || type === 0x00) break;
    const length = (cleartext[r.position + 1]! << 8) | cleartext[r.position + 2]!;
    const start = r.position + CHUNK_HEADER_SIZE;
    const end = start + length;
    if (end > n) break;
    r.position = start;
    let chunk: Chunk;
    if (type === CHUNK.USER_DATA || type === CHUNK.NEXT_USER_DATA) {
      chunk = previous = readUserData(r, end, type, previous);
    } else {
      chunk = readChunkBody(r, end, type);
    }
    if (r.position > end) throw new WireError(`chunk 0x${type.toString(16)} overruns its length`, { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    r.position = end;
    chunks.push(chunk);
  }
  return chunks;
}

function readUserData(r: ByteReader, end: number, type: number, previous: UserDataChunk | null): UserDataChunk {
  const flags = r.u8();
  let flowId: number;
  let sequence: number;
  let fsnOffset: number;
  if (type === CHUNK.USER_DATA) {
    flowId = r.vlu();
    sequence = r.vlu();
    fsnOffset = r.vlu();
    if (fsnOffset > sequence) throw new WireError('fsnOffset above the sequence number');
    // Beyond 2^53 arithmetic on sequence numbers stops being exact, and no flow lives that long.
    if (sequence > Number.MAX_SAFE_INTEGER - 1) throw new WireError('sequence number beyond 2^53');
  } else {
    if (!previous) throw new WireError('next user data without a preceding user data chunk');
    flowId = previous.flowId;
    sequence = previous.sequence + 1;
    fsnOffset = previous.fsnOffset + 1;
  }
  const options = flags & USER_DATA_FLAG.OPTIONS ? readOptionList(r, end) : null;
  const data = r.read(end - r.position);
  return { type: CHUNK.USER_DATA, flags, flowId, sequence, fsnOffset, options, data, next: type === CHUNK.NEXT_USER_DATA };
}

/** A VLU length then that many bytes, inside the chunk. */
function lengthPrefixed(r: ByteReader, end: number): Uint8Array {
  const length = r.vlu();
  if (r.position + length > end) throw new WireError('field overruns its chunk', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
  return r.read(length);
}

function rest(r: ByteReader, end: number): Uint8Array {
  return r.read(end - r.position);
}

function readChunkBody(r: ByteReader, end: number, type: number): Chunk {
  switch (type) {
    case CHUNK.IHELLO: {
      const epdRaw = lengthPrefixed(r, end);
      return { type, epd: readEpd(epdRaw), epdRaw, tag: rest(r, end) };
    }
    case CHUNK.FIHELLO: {
      const epdRaw = lengthPrefixed(r, end);
      const epd = readEpd(epdRaw);
      const replyAddress = readAddress(r);
      return { type, epd, epdRaw, replyAddress, tag: rest(r, end) };
    }
    case CHUNK.RHELLO: {
      const tag = lengthPrefixed(r, end);
      const cookie = lengthPrefixed(r, end);
      return { type, tag, cookie, certificate: rest(r, end) };
    }
    case CHUNK.REDIRECT: {
      const tag = lengthPrefixed(r, end);
      const addresses: RTMFPAddress[] = [];
      while (r.position < end) addresses.push(readAddress(r));
      return { type, tag, addresses };
    }
    case CHUNK.COOKIE_CHANGE: {
      const oldCookie = lengthPrefixed(r, end);
      return { type, oldCookie, newCookie: rest(r, end) };
    }
    case CHUNK.IIKEYING: {
      const from = r.position;
      const initiatorSessionId = r.u32();
      const cookie = lengthPrefixed(r, end);
      const certificate = lengthPrefixed(r, end);
      const skic = lengthPrefixed(r, end);
      const signedParameters = r.bytes.subarray(from, r.position);
      return { type, initiatorSessionId, cookie, certificate, skic, signedParameters, signature: rest(r, end) };
    }
    case CHUNK.RIKEYING: {
      const responderSessionId = r.u32();
      const skrc = lengthPrefixed(r, end);
      return { type, responderSessionId, skrc, signature: rest(r, end) };
    }
    case CHUNK.PING:
    case CHUNK.PING_REPLY:
      return { type, payload: rest(r, end) };
    case CHUNK.ACK_RANGES:
      return readRangeAck(r, end);
    case CHUNK.ACK_BITMAP:
      return readBitmapAck(r, end);
    case CHUNK.BUFFER_PROBE:
      return { type, flowId: r.vlu() };
    case CHUNK.FLOW_EXCEPTION: {
      const flowId = r.vlu();
      return { type, flowId, code: r.vlu() };
    }
    case CHUNK.CLOSE:
    case CHUNK.CLOSE_ACK:
      return { type };
    default:
      return { type, unknown: true, payload: rest(r, end) };
  }
}

function readEpd(raw: Uint8Array): RTMFPOption[] {
  return readOptionList(new ByteReader(raw));
}

function readRangeAck(r: ByteReader, end: number): AckChunk {
  const flowId = r.vlu();
  const bufferBlocks = r.vlu();
  const cumulativeAck = r.vlu();
  if (cumulativeAck > Number.MAX_SAFE_INTEGER) throw new WireError('cumulative ack beyond 2^53');
  const ranges: Array<[number, number]> = [];
  let cursor = cumulativeAck;
  while (r.position < end) {
    const from = cursor + r.vlu() + 2;
    const to = from + r.vlu();
    if (to > Number.MAX_SAFE_INTEGER) throw new WireError('ack range beyond 2^53');
    ranges.push([from, to]);
    cursor = to;
  }
  return { type: CHUNK.ACK_RANGES, flowId, bufferBlocks, cumulativeAck, ranges };
}

function readBitmapAck(r: ByteReader, end: number): AckChunk {
  const flowId = r.vlu();
  const bufferBlocks = r.vlu();
  const cumulativeAck = r.vlu();
  if (cumulativeAck > Number.MAX_SAFE_INTEGER - 2 - 8 * (end - r.position)) throw new WireError('bitmap ack beyond 2^53');
  const ranges: Array<[number, number]> = [];
  // Bit i (LSB first) of byte j stands for cumulativeAck + 2 + 8j + i.
  let sequence = cumulativeAck + 2;
  let open = -1;
  while (r.position < end) {
    const byte = r.u8();
    for (let bit = 0; bit < 8; bit++, sequence++) {
      if (byte & (1 << bit)) {
        if (open < 0) open = sequence;
      } else if (open >= 0) {
        ranges.push([open, sequence - 1]);
        open = -1;
      }
    }
  }
  if (open >= 0) ranges.push([open, sequence - 1]);
  return { type: CHUNK.ACK_RANGES, flowId, bufferBlocks, cumulativeAck, ranges };
}

// ---------------------------------------------------------------------------------------------- encoding

/** Any chunk; user data goes out as 0x11 when `chunk.next` (its flow and sequence are then implied). */
export function writeChunk(w: ByteWriter, chunk: Chunk): void {
  if (chunk.type === CHUNK.USER_DATA && !isUnknownChunk(chunk)) {
    const { flags, flowId, sequence, fsnOffset, options, data, next } = chunk;
    writeUserData(w, flags, flowId, sequence, fsnOffset, options ? encodeOptionList(options) : null, data, next);
    return;
  }
  w.u8(chunk.type);
  const lengthAt = w.length;
  w.u16(0);
  writeChunkBody(w, chunk);
  const length = w.length - lengthAt - 2;
  if (length > 0xffff) throw new RangeError(`chunk 0x${chunk.type.toString(16)} of ${length} bytes`);
  w.setU16(lengthAt, length);
}

function writeLengthPrefixed(w: ByteWriter, bytes: Uint8Array): void {
  w.vlu(bytes.length).write(bytes);
}

function writeChunkBody(w: ByteWriter, chunk: Chunk): void {
  if (isUnknownChunk(chunk)) {
    w.write(chunk.payload);
    return;
  }
  switch (chunk.type) {
    case CHUNK.IHELLO:
      writeLengthPrefixed(w, chunk.epdRaw);
      w.write(chunk.tag);
      return;
    case CHUNK.FIHELLO:
      writeLengthPrefixed(w, chunk.epdRaw);
      writeAddress(w, chunk.replyAddress);
      w.write(chunk.tag);
      return;
    case CHUNK.RHELLO:
      writeLengthPrefixed(w, chunk.tag);
      writeLengthPrefixed(w, chunk.cookie);
      w.write(chunk.certificate);
      return;
    case CHUNK.REDIRECT:
      writeLengthPrefixed(w, chunk.tag);
      for (const a of chunk.addresses) writeAddress(w, a);
      return;
    case CHUNK.COOKIE_CHANGE:
      writeLengthPrefixed(w, chunk.oldCookie);
      w.write(chunk.newCookie);
      return;
    case CHUNK.IIKEYING:
      w.u32(chunk.initiatorSessionId);
      writeLengthPrefixed(w, chunk.cookie);
      writeLengthPrefixed(w, chunk.certificate);
      writeLengthPrefixed(w, chunk.skic);
      w.write(chunk.signature);
      return;
    case CHUNK.RIKEYING:
      w.u32(chunk.responderSessionId);
      writeLengthPrefixed(w, chunk.skrc);
      w.write(chunk.signature);
      return;
    case CHUNK.PING:
    case CHUNK.PING_REPLY:
      w.write(chunk.payload);
      return;
    case CHUNK.ACK_RANGES:
      writeAckBody(w, chunk.flowId, chunk.bufferBlocks, chunk.cumulativeAck, chunk.ranges);
      return;
    case CHUNK.BUFFER_PROBE:
      w.vlu(chunk.flowId);
      return;
    case CHUNK.FLOW_EXCEPTION:
      w.vlu(chunk.flowId).vlu(chunk.code);
      return;
    case CHUNK.CLOSE:
    case CHUNK.CLOSE_ACK:
      return;
    case CHUNK.USER_DATA:
      throw new Error('unreachable: user data is written by writeUserData');
  }
}

/**
 * A 0x10 (or 0x11 when `next`) chunk straight from its parts, for writers packing fragments.
 * `options` is an encoded option list including its marker (see encodeOptionList); non-null sets OPT.
 */
export function writeUserData(
  w: ByteWriter,
  flags: number,
  flowId: number,
  sequence: number,
  fsnOffset: number,
  options: Uint8Array | null,
  data: Uint8Array,
  next = false,
): void {
  const headerSize = next
    ? nextUserDataHeaderSize(options ?? undefined)
    : userDataHeaderSize(flowId, sequence, fsnOffset, options ?? undefined);
  const length = headerSize - CHUNK_HEADER_SIZE + data.length;
  if (length > 0xffff) throw new RangeError(`user data chunk of ${length} bytes`);
  w.u8(next ? CHUNK.NEXT_USER_DATA : CHUNK.USER_DATA).u16(length);
  w.u8(options ? flags | USER_DATA_FLAG.OPTIONS : flags & ~USER_DATA_FLAG.OPTIONS);
  if (!next) w.vlu(flowId).vlu(sequence).vlu(fsnOffset);
  if (options) w.write(options);
  w.write(data);
}

/** Bytes a 0x10 chunk costs before its data; `options` as in writeUserData (marker included). */
export function userDataHeaderSize(flowId: number, sequence: number, fsnOffset: number, options?: Uint8Array): number {
  return CHUNK_HEADER_SIZE + 1 + vluLength(flowId) + vluLength(sequence) + vluLength(fsnOffset) + (options ? options.length : 0);
}

/** Bytes a 0x11 chunk costs before its data. */
export function nextUserDataHeaderSize(options?: Uint8Array): number {
  return CHUNK_HEADER_SIZE + 1 + (options ? options.length : 0);
}

/**
 * Range ack body from absolute ranges: each range becomes `VLU holesMinusOne | VLU receivedMinusOne`
 * relative to the end of the previous one (starting at cumulativeAck).
 */
function writeAckBody(
  w: ByteWriter,
  flowId: number,
  bufferBlocks: number,
  cumulativeAck: number,
  ranges: ReadonlyArray<readonly [number, number]>,
): void {
  w.vlu(flowId).vlu(bufferBlocks).vlu(cumulativeAck);
  let cursor = cumulativeAck;
  for (const [from, to] of ranges) {
    if (from < cursor + 2 || to < from) throw new RangeError(`ack range [${from}, ${to}] after ${cursor}`);
    w.vlu(from - cursor - 2).vlu(to - from);
    cursor = to;
  }
}

/** A 0x50 bitmap ack for the same absolute ranges (0x51 is what everyone sends; this exists for tests and peers). */
export function writeBitmapAck(w: ByteWriter, ack: Omit<AckChunk, 'type'>): void {
  const base = ack.cumulativeAck + 2;
  const last = ack.ranges.length ? ack.ranges[ack.ranges.length - 1]![1] : base - 1;
  const bitmap = new Uint8Array(Math.ceil((last - base + 1) / 8));
  let cursor = ack.cumulativeAck;
  for (const [from, to] of ack.ranges) {
    if (from < cursor + 2 || to < from) throw new RangeError(`ack range [${from}, ${to}] after ${cursor}`);
    for (let s = from; s <= to; s++) bitmap[(s - base) >> 3]! |= 1 << ((s - base) & 7);
    cursor = to;
  }
  w.u8(CHUNK.ACK_BITMAP);
  const lengthAt = w.length;
  w.u16(0);
  w.vlu(ack.flowId).vlu(ack.bufferBlocks).vlu(ack.cumulativeAck).write(bitmap);
  w.setU16(lengthAt, w.length - lengthAt - 2);
}

/** Bytes of a 0x51 chunk for these parts (to decide how many ranges fit). */
export function ackSize(
  flowId: number,
  bufferBlocks: number,
  cumulativeAck: number,
  ranges: ReadonlyArray<readonly [number, number]> = [],
): number {
  let n = CHUNK_HEADER_SIZE + vluLength(flowId) + vluLength(bufferBlocks) + vluLength(cumulativeAck);
  let cursor = cumulativeAck;
  for (const [from, to] of ranges) {
    n += vluLength(from - cursor - 2) + vluLength(to - from);
    cursor = to;
  }
  return n;
}

/** Option list of a user data chunk as written by writeChunk (re-exported for writers that pre-encode). */
export { encodeOptionList, writeOptionList };
