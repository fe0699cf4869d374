// A live publication as an FLV byte stream (Adobe FLV file format, spec v10.1 annex E): the sink a Listener writes to
// for an HTTP-FLV response or an FLV-over-WebSocket viewer. The FLV header goes first, then the metadata and codec
// headers the Listener sends a late joiner, then media from a video key frame on (audio before the first video frame of
// a stream that has video is left out, so the player starts on a picture). A viewer that cannot keep up is dropped,
// never buffered: its backlog is bounded by MAX_VIEWER_BACKLOG, and a backlog the Listener already sheds media for
// (MAX_PENDING_BYTES) may last VIEWER_STALL_MS at most.
import type { Clock } from '../../clock.ts';
import { dataName, isAudioConfig } from '../../core/media/media.ts';
import { MAX_PENDING_BYTES, type ListenerSink, type Publication } from '../../core/media/publication.ts';
import { MAX_VIEWER_BACKLOG, VIEWER_STALL_MS } from './params.ts';

/** Where the bytes go: an HTTP response or a WebSocket. */
export interface FlvOutput {
  write(bytes: Buffer): void;
  /** bytes written and not yet handed to the kernel */
  backlog(): number;
  flush(): void;
  /** too slow: end it (the listener is closed by whoever owns it) */
  drop(reason: string): void;
}

const TAG_HEADER = 11;
const TC_HEADER = 5;
const ENCODED_CACHE = 4;

/**
 * TC messages (`type | time | payload`, src/flash/tc.ts) → FLV tags. Listeners that share a timeline get the very
 * same message object from Publication.encodeMedia, so the last few encodings are shared too: 300 viewers of one
 * stream cost one FLV tag each, not 300.
 */
const cacheKeys: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(ENCODED_CACHE);
const cacheTags: Array<Buffer | undefined> = new Array<Buffer | undefined>(ENCODED_CACHE);
let cacheNext = 0;

export function flvTag(message: Uint8Array): Buffer {
  for (let i = 0; i < ENCODED_CACHE; i++) if (cacheKeys[i] === message) return cacheTags[i]!;
  let type = message[0]!;
  let payload = message.subarray(TC_HEADER);
  // AMF3 data (0x0f) carries a format byte then AMF0: FLV knows script data (0x12) only
  if (type === 0x0f) {
    type = 0x12;
    payload = payload.subarray(1);
  }
  const time = ((message[1]! << 24) | (message[2]! << 16) | (message[3]! << 8) | message[4]!) >>> 0;
  const length = payload.length;
  const tag = Buffer.allocUnsafe(TAG_HEADER + length + 4);
  tag[0] = type;
  tag.writeUIntBE(length, 1, 3);
  tag.writeUIntBE(time & 0xffffff, 4, 3);
  tag[7] = time >>> 24;
  tag.writeUIntBE(0, 8, 3);
  tag.set(payload, TAG_HEADER);
  tag.writeUInt32BE(TAG_HEADER + length, TAG_HEADER + length);
  cacheKeys[cacheNext] = message;
  cacheTags[cacheNext] = tag;
  cacheNext = (cacheNext + 1) % ENCODED_CACHE;
  return tag;
}

/** The 9-byte FLV header and PreviousTagSize0; flags say which tracks follow. */
export function flvHeader(audio: boolean, video: boolean): Buffer {
  return Buffer.from([0x46, 0x4c, 0x56, 0x01, (audio ? 0x04 : 0) | (video ? 0x01 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
}

export class FlvSink implements ListenerSink {
  private headerSent = false;
  private videoStarted = false;
  private stalledSince = -1;
  private dropped = false;
  private flushScheduled = false;
  /** bytes sent, for benches and the inspector */
  bytes = 0;

  constructor(
    private readonly out: FlvOutput,
    /** which tracks the stream has (its codec headers), read when the FLV header goes out */
    public publication: Pick<Publication, 'audioConfig' | 'videoConfig'>,
    private readonly clock: Clock,
  ) {}

  private send(tag: Buffer): void {
    if (this.dropped) return;
    if (!this.headerSent) {
      this.headerSent = true;
      // a publication not started yet (viewer first) is announced with both tracks, what an encoder usually sends
      const known = this.publication.audioConfig !== undefined || this.publication.videoConfig !== undefined;
      const header = flvHeader(
        known ? this.publication.audioConfig !== undefined : true,
        known ? this.publication.videoConfig !== undefined : true,
      );
      this.out.write(header);
      this.bytes += header.length;
    }
    this.out.write(tag);
    this.bytes += tag.length;
    // publishers relay message by message and never flush listeners: what one read brought leaves together
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    if (this.out.backlog() > MAX_VIEWER_BACKLOG) this.drop('viewer backlog over the limit');
  }

  writeAudio(message: Uint8Array): void {
    // audio before the first picture: a player would start on sound over a black frame, or stall waiting for video
    if (!this.videoStarted && this.publication.videoConfig !== undefined && !isAudioConfig(message.subarray(TC_HEADER))) return;
    this.send(flvTag(message));
  }

  writeVideo(message: Uint8Array): void {
    this.videoStarted = true;
    this.send(flvTag(message));
  }

  writeData(message: Uint8Array): void {
    const type = message[0]!;
    const named = dataName(type, message.subarray(TC_HEADER));
    // |RtmpSampleAccess and onStatus are Flash NetStream business; players read onMetaData and their own cues
    if (named && (named.name.startsWith('|') || named.name === 'onStatus')) return;
    this.send(flvTag(message));
  }

  status(): void {}

  private pending(): number {
    const backlog = this.out.backlog();
    if (backlog <= MAX_PENDING_BYTES) {
      this.stalledSince = -1;
      return backlog;
    }
    const now = this.clock.now();
    if (this.stalledSince < 0) this.stalledSince = now;
    else if (now - this.stalledSince > VIEWER_STALL_MS) this.drop('viewer stopped reading');
    return backlog;
  }

  pendingAudio(): number {
    return this.pending();
  }

  pendingVideo(): number {
    return this.pending();
  }

  latency(): number {
    return 0;
  }

  flush(): void {
    this.flushScheduled = false;
    if (!this.dropped) this.out.flush();
  }

  private drop(reason: string): void {
    if (this.dropped) return;
    this.dropped = true;
    this.out.drop(reason);
  }
}
