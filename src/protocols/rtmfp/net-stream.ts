// The RTMFP side of one NetStream (RTMFP.md §5.5–5.6): every client flow carrying `TC 04 <id>` feeds it;
// it answers on its own writer with the same metadata, associated with the client's NetConnection flow, and
// when playing adds an audio and a video writer (with the first message of each). What publish, play and
// pause mean is the protocol-neutral NetStream's (src/core/media/net-stream.ts); media from a publisher goes
// straight to the publication's fan-out.
import type { FlowWriter } from './flow/writer.ts';
import type { Logger } from '../../log.ts';
import type { Publications } from '../../core/media/publications.ts';
import { NetStream } from '../../core/media/net-stream.ts';
import type { FlowHandler, Session } from './session/session.ts';
import { tcSignature } from './session/writer-port.ts';
import { WireError } from '../../errors.ts';
import { TC, UserControl, decodeCommand, decodeTCMessage, encodeStatus, encodeUserControl } from '../../flash/tc.ts';
import type { ClientPort } from '../../core/ports.ts';
import { AUDIO_LIFETIME_MS, VIDEO_LIFETIME_MS } from './params.ts';

function pendingWithin(writer: FlowWriter | undefined, lifetimeMs: number): number {
  if (!writer) return 0;
  if (writer.unsentAge() <= lifetimeMs) return writer.pendingBytes;
  writer.dropUnsent();
  return EXPIRED;
}

/** What pendingAudio/pendingVideo report for a track whose oldest unsent message outlived its lifetime: more than
 *  any backlog bound, so the listener drops media (video until the next key frame) as it does for a slow player. */
const EXPIRED = Number.MAX_SAFE_INTEGER;

export interface NetStreamHost {
  readonly session: Session;
  readonly client: ClientPort;
  readonly publications: Publications;
  readonly logger: Logger;
  /** the client's NetConnection flow, which every server NetStream writer is associated with (§4.4) */
  netConnectionFlowId(): number | undefined;
}

/** Per client flow of a stream: whether it has carried video, i.e. whether its losses may be video frames. */
interface FlowCarried {
  video: boolean;
}

export class ServerNetStream extends NetStream {
  private readonly host: NetStreamHost;
  private readonly signature: Uint8Array;
  private statusWriter: FlowWriter | undefined;
  private audioWriter: FlowWriter | undefined;
  private videoWriter: FlowWriter | undefined;
  /** messages the publisher's flows lost since the last video message: decoding restarts at a key frame */
  private lost = 0;
  /** messages an audio-only flow lost since the last audio message: the publication's audio QoS counts them */
  private audioLost = 0;

  constructor(host: NetStreamHost, id: number) {
    super(id, host.client, host.publications, host.logger);
    this.host = host;
    this.signature = tcSignature(id);
  }

  /** This stream's own writers, for the inspector (status/commands, and audio and video while playing). */
  get writers(): { status: FlowWriter | undefined; audio: FlowWriter | undefined; video: FlowWriter | undefined } {
    return { status: this.statusWriter, audio: this.audioWriter, video: this.videoWriter };
  }

  /** A handler for one more client flow of this stream (clients may use several per stream). */
  flow(): FlowHandler {
    const carried: FlowCarried = { video: false };
    return {
      onMessage: (message, lostBefore) => this.onMessage(message, lostBefore, carried),
      onEnd: () => this.stop(true),
    };
  }

  /** deleteStream or session end: stop publishing/playing without status, close the writers. */
  override close(): void {
    if (this.closed) return;
    super.close();
    this.audioWriter?.close();
    this.videoWriter?.close();
    this.statusWriter?.close();
  }

  /** `carried`: what the flow delivering it has carried so far; without it, any loss counts against video. */
  onMessage(message: Uint8Array, lostBefore: number, carried?: FlowCarried): void {
    if (this.closed || message.length < 5) return;
    const type = message[0]!;
    if (carried && type === TC.VIDEO) carried.video = true;
    // what an audio-only flow lost (unreliable audio, expired audio) leaves the video decodable
    if (lostBefore > 0) {
      if (!carried || carried.video) this.lost += lostBefore;
      else this.audioLost += lostBefore;
    }
    const publication = this.publication;
    if (publication && (type === TC.AUDIO || type === TC.VIDEO)) {
      const time = ((message[1]! << 24) | (message[2]! << 16) | (message[3]! << 8) | message[4]!) >>> 0;
      const packet = message.subarray(5);
      if (type === TC.VIDEO) {
        const lost = this.lost;
        this.lost = 0;
        this.relayVideo(publication, time, packet, lost);
      } else {
        const lost = this.audioLost;
        this.audioLost = 0;
        this.relayAudio(publication, time, packet, lost);
      }
      return;
    }
    try {
      if (type === TC.DATA_AMF0 || type === TC.DATA_AMF3) this.relayData(type, message.subarray(5));
      else if (type === TC.COMMAND_AMF0 || type === TC.COMMAND_AMF3) this.onCommand(decodeCommand(decodeTCMessage(message)));
      // user control on a stream flow (flow sync) carries nothing for the server
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.host.logger.debug({ err: error.message, code: error.code, stream: this.id }, 'malformed NetStream message');
    }
  }

  protected override onPublishing(): void {
    this.lost = 0;
    this.audioLost = 0;
  }

  /** Audio and video are time-critical: they fill packets before the session's other writers (RFC 7016 §3.5.2.1). */
  private mediaWriter(): FlowWriter {
    const writer = this.host.session.newWriter(this.signature, this.host.netConnectionFlowId());
    writer.timeCritical = true;
    return writer;
  }

  protected streamBegin(): void {
    this.writeCommand(encodeUserControl(UserControl.STREAM_BEGIN, this.id));
  }

  protected writeCommand(message: Uint8Array): void {
    this.statusOut().write(message, true);
  }

  // ListenerSink: what the listener relays lands on this client's writers ------------------------------------
  // Only this stream's listener writes media, and only while it plays: the audio and video writers (and their
  // flows) open with the first message of each, so a player waiting for a stream that is not published holds no
  // writer actors. A closed stream opens none.
  writeAudio(message: Uint8Array, reliable: boolean): void {
    if (this.closed) return;
    (this.audioWriter ??= this.mediaWriter()).write(message, reliable);
  }

  writeVideo(message: Uint8Array, reliable: boolean): void {
    if (this.closed) return;
    (this.videoWriter ??= this.mediaWriter()).write(message, reliable);
  }

  writeData(message: Uint8Array, reliable: boolean): void {
    this.statusOut().write(message, reliable);
  }

  status(code: string, description: string, level: 'status' | 'error' = 'status'): void {
    this.writeCommand(encodeStatus('onStatus', 0, { level, code, description }));
  }

  // A path that cannot carry the stream holds media back in the writers (the congestion window is full). Once the
  // oldest unsent message outlives its lifetime the whole unsent backlog is dropped and reported as over the bound,
  // so the listener drops this message too (video then resumes at the next key frame) instead of queueing seconds
  // of media behind a path that will never catch up.
  pendingAudio(): number {
    return pendingWithin(this.audioWriter, AUDIO_LIFETIME_MS);
  }

  pendingVideo(): number {
    return pendingWithin(this.videoWriter, VIDEO_LIFETIME_MS);
  }

  latency(): number {
    return Math.round(this.host.session.srtt);
  }

  lostAudio(): number {
    return this.audioWriter?.stats.lostFragments ?? 0;
  }

  lostVideo(): number {
    return this.videoWriter?.stats.lostFragments ?? 0;
  }

  flush(): void {
    this.host.session.scheduleFlush();
  }

  private statusOut(): FlowWriter {
    this.statusWriter ??= this.host.session.newWriter(this.signature, this.host.netConnectionFlowId());
    return this.statusWriter;
  }
}
