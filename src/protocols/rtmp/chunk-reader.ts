// Incoming chunk stream → whole RTMP messages (RTMP.md §2; SPEC §5.3). Plain code, called per socket read:
// headers of every fmt, 1–3 byte basic headers (the 3-byte csid little-endian, ERRATA §4.1), extended
// timestamps (repeated on type-3 chunks or not: SRS's heuristic, RTMP.md §2.4), aborts, and the bounds of
// RTMP.md §7.1 checked when a message is announced, before any byte of it is buffered.
import { WireError } from '../../errors.ts';
import {
  DEFAULT_CHUNK_SIZE,
  EXTENDED_TIMESTAMP,
  MAX_CHUNK_SIZE,
  MAX_CHUNK_STREAMS,
  MAX_COMMAND_MESSAGE,
  MAX_MEDIA_MESSAGE,
  MAX_PARTIAL_BYTES,
  MESSAGE_HEADER_SIZE,
  MSG,
} from './params.ts';

export interface RtmpMessage {
  type: number;
  /** ms, 32 bits */
  timestamp: number;
  /** message stream id (0 = NetConnection) */
  streamId: number;
  csid: number;
  payload: Uint8Array;
}

interface ChunkStream {
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  streamId: number;
  /** the last fmt 0/1/2 header used an extended timestamp: type-3 chunks may repeat it */
  extended: boolean;
  extendedValue: number;
  /** the message being reassembled, undefined between messages */
  payload: Uint8Array | undefined;
  received: number;
}

/** Largest message header: 3-byte basic header, 11-byte fmt 0, 4-byte extended timestamp. */
const MAX_HEADER = 18;

/** Types that may be large (media, data, aggregates); everything else is a command or control message. */
function maxLength(type: number): number {
  return type === MSG.AUDIO || type === MSG.VIDEO || type === MSG.AGGREGATE || type === MSG.DATA_AMF0 || type === MSG.DATA_AMF3
    ? MAX_MEDIA_MESSAGE
    : MAX_COMMAND_MESSAGE;
}

export class ChunkReader {
  /** the peer's chunk size (Set Chunk Size applies to its next chunk on every csid) */
  private chunkSize = DEFAULT_CHUNK_SIZE;
  private readonly streams = new Map<number, ChunkStream>();
  /** header bytes of a chunk split across reads (never more than MAX_HEADER) */
  private leftover: Uint8Array = new Uint8Array(0);
  /** the chunk whose payload is being read, and how much of it is still to come */
  private current: ChunkStream | undefined;
  private currentCsid = 0;
  private chunkRemaining = 0;
  /** announced lengths of the messages being reassembled */
  private partialBytes = 0;
  private readonly onMessage: (message: RtmpMessage) => void;

  constructor(onMessage: (message: RtmpMessage) => void) {
    this.onMessage = onMessage;
  }

  /** Set Chunk Size from the peer: 1..2^31-1, values above 0xFFFFFF act as 0xFFFFFF (RTMP.md §2.5). */
  setChunkSize(size: number): void {
    if (size < 1 || size > 0x7fffffff) throw new WireError(`chunk size ${size}`);
    this.chunkSize = Math.min(size, MAX_CHUNK_SIZE);
  }

  get peerChunkSize(): number {
    return this.chunkSize;
  }

  /** Abort (type 2): the partial message on that csid is dropped, its timestamp stays the base (ERRATA §6). */
  abort(csid: number): void {
    const stream = this.streams.get(csid);
    if (!stream?.payload) return;
    this.partialBytes -= stream.length;
    stream.payload = undefined;
    stream.received = 0;
    if (this.current === stream) {
      this.current = undefined;
      this.chunkRemaining = 0;
    }
  }

  /** Bytes from the socket; complete messages are delivered synchronously, in order. */
  push(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.chunkRemaining > 0) {
        offset = this.readPayload(data, offset);
        continue;
      }
      let head: Uint8Array;
      const carried = this.leftover.length;
      if (carried > 0) {
        head = new Uint8Array(carried + Math.min(MAX_HEADER, data.length - offset));
        head.set(this.leftover);
        head.set(data.subarray(offset, offset + head.length - carried), carried);
      } else {
        head = data.subarray(offset);
      }
      const used = this.readHeader(head);
      if (used < 0) {
        // not a whole header yet: keep what we have (at most MAX_HEADER bytes)
        this.leftover = head.slice();
        return;
      }
      this.leftover = new Uint8Array(0);
      offset += used - carried;
    }
  }

  /** Parses one chunk header from `head`; returns its size, or -1 when more bytes are needed. */
  private readHeader(head: Uint8Array): number {
    if (head.length < 1) return -1;
    const fmt = head[0]! >> 6;
    let csid = head[0]! & 0x3f;
    let at = 1;
    if (csid === 0) {
      if (head.length < 2) return -1;
      csid = 64 + head[1]!;
      at = 2;
    } else if (csid === 1) {
      if (head.length < 3) return -1;
      csid = 64 + head[1]! + 256 * head[2]!;
      at = 3;
    }
    const size = MESSAGE_HEADER_SIZE[fmt]!;
    if (head.length < at + size) return -1;
    let stream = this.streams.get(csid);
    if (!stream) {
      // a fresh csid must start with fmt 0; fmt 1 is tolerated (librtmp's pings, RTMP.md §2.3)
      if (fmt > 1) throw new WireError(`chunk stream ${csid} starts with fmt ${fmt}`);
      if (this.streams.size >= MAX_CHUNK_STREAMS) throw new WireError(`more than ${MAX_CHUNK_STREAMS} chunk streams`);
      stream = {
        timestamp: 0,
        delta: 0,
        length: 0,
        type: 0,
        streamId: 0,
        extended: false,
        extendedValue: 0,
        payload: undefined,
        received: 0,
      };
      this.streams.set(csid, stream);
    }
    const continuing = stream.payload !== undefined;
    if (fmt < 3) {
      const field = (head[at]! << 16) | (head[at + 1]! << 8) | head[at + 2]!;
      let length = stream.length;
      let type = stream.type;
      let streamId = stream.streamId;
      if (fmt <= 1) {
        length = (head[at + 3]! << 16) | (head[at + 4]! << 8) | head[at + 5]!;
        type = head[at + 6]!;
      }
      if (fmt === 0) streamId = (head[at + 7]! | (head[at + 8]! << 8) | (head[at + 9]! << 16) | (head[at + 10]! << 24)) >>> 0;
      at += size;
      let value = field;
      stream.extended = field === EXTENDED_TIMESTAMP;
      if (stream.extended) {
        if (head.length < at + 4) return -1;
        value = ((head[at]! << 24) | (head[at + 1]! << 16) | (head[at + 2]! << 8) | head[at + 3]!) >>> 0;
        stream.extendedValue = value;
        at += 4;
      }
      if (continuing) {
        // a new header in the middle of a message: what was received of it is dropped (as an Abort would)
        this.partialBytes -= stream.length;
        stream.payload = undefined;
        stream.received = 0;
      }
      stream.length = length;
      stream.type = type;
      stream.streamId = streamId;
      stream.delta = value;
      stream.timestamp = fmt === 0 ? value : (stream.timestamp + value) >>> 0;
    } else {
      if (stream.extended) {
        if (head.length < at + 4) return -1;
        const value = ((head[at]! << 24) | (head[at + 1]! << 16) | (head[at + 2]! << 8) | head[at + 3]!) >>> 0;
        // a continuation chunk from a sender that does not repeat it carries payload here (RTMP.md §2.4)
        if (!continuing || value === stream.extendedValue) at += 4;
      }
      if (!continuing) stream.timestamp = (stream.timestamp + stream.delta) >>> 0;
    }
    if (!continuing) this.begin(stream);
    this.current = stream;
    this.currentCsid = csid;
    this.chunkRemaining = Math.min(this.chunkSize, stream.length - stream.received);
    if (this.chunkRemaining === 0) this.deliver(stream, csid);
    return at;
  }

  private begin(stream: ChunkStream): void {
    const limit = maxLength(stream.type);
    if (stream.length > limit) throw new WireError(`message of ${stream.length} bytes (type ${stream.type}, limit ${limit})`);
    if (this.partialBytes + stream.length > MAX_PARTIAL_BYTES)
      throw new WireError(`more than ${MAX_PARTIAL_BYTES} bytes of partial messages`);
    this.partialBytes += stream.length;
    stream.payload = stream.length === 0 ? new Uint8Array(0) : undefined;
    stream.received = 0;
    if (stream.length === 0) return;
    // allocated lazily in readPayload: a message read in one piece is a view of the socket's buffer
    stream.payload = EMPTY;
  }

  private readPayload(data: Uint8Array, offset: number): number {
    const stream = this.current!;
    const n = Math.min(this.chunkRemaining, data.length - offset);
    if (stream.payload === EMPTY) {
      if (n === stream.length) {
        stream.payload = data.subarray(offset, offset + n);
      } else {
        stream.payload = new Uint8Array(stream.length);
        stream.payload.set(data.subarray(offset, offset + n));
      }
    } else {
      stream.payload!.set(data.subarray(offset, offset + n), stream.received);
    }
    stream.received += n;
    this.chunkRemaining -= n;
    if (this.chunkRemaining === 0 && stream.received === stream.length) this.deliver(stream, this.currentCsid);
    return offset + n;
  }

  private deliver(stream: ChunkStream, csid: number): void {
    const payload = stream.payload === EMPTY ? new Uint8Array(0) : stream.payload!;
    this.partialBytes -= stream.length;
    stream.payload = undefined;
    stream.received = 0;
    this.current = undefined;
    this.chunkRemaining = 0;
    this.onMessage({ type: stream.type, timestamp: stream.timestamp, streamId: stream.streamId, csid, payload });
  }
}

/** Marks a message announced but not yet given a buffer. */
const EMPTY = new Uint8Array(0);
