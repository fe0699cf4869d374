// RTMP messages → chunks (RTMP.md §2; SPEC §5.3). Each message becomes one buffer (headers and payload
// pieces copied together: one socket write per message). Headers are compressed per csid: fmt 0 for a
// csid's first message, a stream change, a timestamp going backwards or a jump too large for a delta
// (RTMP.md §2.3–2.4); fmt 2 when length and type repeat, fmt 1 otherwise; continuation chunks fmt 3
// repeating the extended timestamp when there is one (ERRATA §5.1).
import { DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP } from './params.ts';

interface OutStream {
  timestamp: number;
  length: number;
  type: number;
  streamId: number;
}

export class ChunkWriter {
  /** our outbound chunk size; changed only together with a Set Chunk Size message */
  chunkSize = DEFAULT_CHUNK_SIZE;
  private readonly streams = new Map<number, OutStream>();

  /** Records the header of a message sent on `csid` (by encode, or as a shared full encoding). */
  note(csid: number, type: number, streamId: number, timestamp: number, length: number): void {
    const last = this.streams.get(csid);
    if (last) {
      last.timestamp = timestamp >>> 0;
      last.length = length;
      last.type = type;
      last.streamId = streamId;
    } else {
      this.streams.set(csid, { timestamp: timestamp >>> 0, length, type, streamId });
    }
  }

  /** Forget a csid's header state (after an Abort): its next message starts with fmt 0. */
  reset(csid: number): void {
    this.streams.delete(csid);
  }

  /**
   * `full`: fmt 0 whatever the csid's state, so the bytes depend only on the arguments and the chunk size and
   * one encoding can be written to every player of a message (as Node-Media-Server relays, RTMP.md §6.2).
   */
  encode(csid: number, type: number, streamId: number, timestamp: number, payload: Uint8Array, full = false): Buffer {
    timestamp >>>= 0;
    const last = this.streams.get(csid);
    let fmt = 0;
    let field = timestamp;
    if (last && last.streamId === streamId && !full) {
      const delta = (timestamp - last.timestamp) >>> 0;
      // a delta of 2^31 or more is a timestamp going backwards in serial arithmetic (RTMP.md §6.1)
      if (delta < EXTENDED_TIMESTAMP && delta < 0x80000000) {
        fmt = last.length === payload.length && last.type === type ? 2 : 1;
        field = delta;
      }
    }
    this.note(csid, type, streamId, timestamp, payload.length);
    const extended = field >= EXTENDED_TIMESTAMP;
    const basic = csid < 64 ? 1 : csid < 320 ? 2 : 3;
    const chunks = Math.max(1, Math.ceil(payload.length / this.chunkSize));
    const headerSize = basic + [11, 7, 3, 0][fmt]! + (extended ? 4 : 0);
    const continuationSize = basic + (extended ? 4 : 0);
    const out = Buffer.allocUnsafe(headerSize + (chunks - 1) * continuationSize + payload.length);
    let at = writeBasic(out, 0, fmt, csid, basic);
    const stamp = extended ? EXTENDED_TIMESTAMP : field;
    out[at++] = stamp >>> 16;
    out[at++] = (stamp >>> 8) & 0xff;
    out[at++] = stamp & 0xff;
    if (fmt <= 1) {
      out[at++] = payload.length >>> 16;
      out[at++] = (payload.length >>> 8) & 0xff;
      out[at++] = payload.length & 0xff;
      out[at++] = type;
    }
    if (fmt === 0) {
      out.writeUInt32LE(streamId >>> 0, at);
      at += 4;
    }
    if (extended) {
      out.writeUInt32BE(field >>> 0, at);
      at += 4;
    }
    let sent = 0;
    for (let i = 0; i < chunks; i++) {
      if (i > 0) {
        at = writeBasic(out, at, 3, csid, basic);
        if (extended) {
          out.writeUInt32BE(field >>> 0, at);
          at += 4;
        }
      }
      const n = Math.min(this.chunkSize, payload.length - sent);
      out.set(payload.subarray(sent, sent + n), at);
      at += n;
      sent += n;
    }
    return out;
  }
}

/** An encoding made once for several connections: each writer that sends it records it as its last header. */
export interface SharedEncoding {
  csid: number;
  streamId: number;
  chunkSize: number;
  bytes: Buffer;
}
function writeBasic(out: Buffer, at: number, fmt: number, csid: number, size: number): number {
  if (size === 1) {
    out[at] = (fmt << 6) | csid;
  } else if (size === 2) {
    out[at] = fmt << 6;
    out[at + 1] = csid - 64;
  } else {
    out[at] = (fmt << 6) | 1;
    out[at + 1] = (csid - 64) & 0xff;
    out[at + 2] = (csid - 64) >>> 8;
  }
  return at + size;
}
