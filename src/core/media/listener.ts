// One subscriber of a publication: relays audio, video and data to its sink with timestamps rebased to its
// own start, codec configuration first, video from a key frame on, and a bounded backlog (a slow receiver
// loses media, never server memory). Called once per message per listener: plain code, flags, no actor
// event except on the rare transitions the listener machine models.
import { createActor, type Actor } from 'xstate';
import { listenerMachine } from '../../../machines/listener.ts';
import type { Clock } from '../../clock.ts';
import type { ClientPort } from '../ports.ts';
import { observe } from '../../actors/observe.ts';
import { encodeData } from '../../flash/tc.ts';
import { isAudioConfig, isKeyFrame, isVideoConfig } from './media.ts';
import { QualityOfService } from './qos.ts';
import type { Publication } from './publication.ts';

/** Where a listener's messages go: the subscriber's NetStream writers (src/protocols/rtmfp/net-stream.ts) or a test. */
export interface ListenerSink {
  /** complete TC messages (type | time | payload) for the audio, video and data/status flows */
  writeAudio(message: Uint8Array, reliable: boolean): void;
  writeVideo(message: Uint8Array, reliable: boolean): void;
  writeData(message: Uint8Array, reliable: boolean): void;
  status(code: string, description: string, level?: 'status' | 'error'): void;
  /** bytes written to that track's writer and not yet acknowledged */
  pendingAudio(): number;
  pendingVideo(): number;
  /** round trip to the subscriber in ms (0 when unknown) */
  latency(): number;
  /** fragments of that track given up on so far (unreliable media lost on the way), for lostRate */
  lostAudio?(): number;
  lostVideo?(): number;
  flush(): void;
}

export interface ListenerOptions {
  id: number;
  publication: Publication;
  client: ClientPort | undefined;
  sink: ListenerSink;
  clock: Clock;
  /** query-string parameters of the play name (`name?unbuffered=true&x=1`) */
  parameters?: Record<string, string>;
  /** play(name, -3) or `unbuffered=true`: media sent once, never repeated */
  unbuffered?: boolean;
}

/** Backlog per media track above which a listener drops media instead of queueing it. */
export const MAX_PENDING_BYTES = 256 * 1024;

export class Listener {
  readonly id: number;
  readonly publication: Publication;
  readonly client: ClientPort | undefined;
  readonly parameters: Record<string, string>;
  readonly unbuffered: boolean;
  readonly audioQOS: QualityOfService;
  readonly videoQOS: QualityOfService;
  readonly dataQOS: QualityOfService;
  readonly actor: Actor<typeof listenerMachine>;
  audioSampleAccess = false;
  videoSampleAccess = false;
  receiveAudio = true;
  /** media messages dropped because the subscriber could not keep up */
  droppedMessages = 0;
  private readonly sink: ListenerSink;
  private _receiveVideo = true;
  private started = false;
  private paused = false;
  private awaitingKeyFrame = true;
  private audioConfigSent = false;
  private videoConfigSent = false;
  /** media time that becomes 0 for this listener; undefined until its first message */
  private base: number | undefined;
  private lastOut = 0;
  /** the sink's lost-fragment counts already reported to audioQOS / videoQOS */
  private lostAudioSeen = 0;
  private lostVideoSeen = 0;

  constructor(options: ListenerOptions) {
    this.id = options.id;
    this.publication = options.publication;
    this.client = options.client;
    this.sink = options.sink;
    this.parameters = options.parameters ?? {};
    this.unbuffered = options.unbuffered ?? false;
    this.audioQOS = new QualityOfService(options.clock);
    this.videoQOS = new QualityOfService(options.clock);
    this.dataQOS = new QualityOfService(options.clock);
    const publication = this.publication;
    this.actor = createActor(
      listenerMachine.provide({ guards: { publishing: () => publication.running } }),
      { clock: options.clock, ...observe('listener', `${publication.name}#${this.id}`, `publication:${publication.name}`) },
    );
    this.actor.start();
  }

  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  get closed(): boolean {
    return this.actor.getSnapshot().status === 'done';
  }

  get receiveVideo(): boolean {
    return this._receiveVideo;
  }

  set receiveVideo(value: boolean) {
    if (value && !this._receiveVideo) this.resync();
    this._receiveVideo = value;
  }

  /** Accepted by the application: status events, then whatever a late joiner needs (metadata). */
  start(): void {
    if (this.started) return;
    this.started = true;
    // a NetStream playing again keeps its writers: only losses from now on are this listener's
    this.lostAudioSeen = this.sink.lostAudio?.() ?? 0;
    this.lostVideoSeen = this.sink.lostVideo?.() ?? 0;
    this.actor.send({ type: 'ALLOW' });
    const name = this.publication.name;
    this.sink.status('NetStream.Play.Reset', `Playing and resetting ${name}`);
    this.sink.status('NetStream.Play.Start', `Started playing ${name}`);
    this.sink.writeData(encodeData('|RtmpSampleAccess', [this.audioSampleAccess, this.videoSampleAccess]), true);
    if (this.publication.running) this.sendMetadata();
    this.sink.flush();
  }

  deny(reason: string): void {
    this.actor.send({ type: 'DENY', reason });
  }

  /** The publication (re)started while this listener was subscribed. */
  onPublished(): void {
    if (!this.started) return;
    this.sink.status('NetStream.Play.PublishNotify', `${this.publication.name} is now published`);
    this.awaitingKeyFrame = true;
    this.audioConfigSent = false;
    this.videoConfigSent = false;
    this.actor.send({ type: 'PUBLISHED' });
    this.sendMetadata();
  }

  onUnpublished(): void {
    if (!this.started) return;
    this.sink.status('NetStream.Play.UnpublishNotify', `${this.publication.name} is now unpublished`);
    // the next publisher's first message continues this listener's timeline where it stopped
    this.base = undefined;
    this.actor.send({ type: 'UNPUBLISHED' });
  }

  pause(paused: boolean): void {
    if (paused === this.paused || this.closed) return;
    this.paused = paused;
    if (paused) {
      this.actor.send({ type: 'PAUSE' });
    } else {
      this.awaitingKeyFrame = true;
      this.actor.send({ type: 'RESUME' });
    }
  }

  /** Video must restart at the next key frame (publisher-side loss, track re-enabled, backlog dropped). */
  resync(): void {
    if (this.awaitingKeyFrame) return;
    this.awaitingKeyFrame = true;
    this.actor.send({ type: 'RESYNC' });
  }

  /** Stop relaying (unsubscribed, stream closed, session gone). `stopStatus` sends Play.Stop first. */
  close(stopStatus: boolean): void {
    if (this.closed) return;
    if (stopStatus && this.started) {
      this.sink.status('NetStream.Play.Stop', `Stopped playing ${this.publication.name}`);
      this.sink.flush();
    }
    this.actor.send({ type: 'CLOSE' });
  }

  pushAudio(time: number, packet: Uint8Array): void {
    if (!this.started || this.paused || !this.receiveAudio) return;
    const config = isAudioConfig(packet);
    if (config) this.audioConfigSent = true;
    else if (!this.audioConfigSent) {
      this.audioConfigSent = true;
      const cached = this.publication.audioConfig;
      if (cached) this.sink.writeAudio(this.publication.encodeMedia(0x08, this.rebase(time), cached), true);
    }
    if (!config && this.sink.pendingAudio() > MAX_PENDING_BYTES) {
      this.droppedMessages++;
      return;
    }
    const out = this.rebase(time);
    this.sink.writeAudio(this.publication.encodeMedia(0x08, out, packet), config || !this.unbuffered);
    // losses are learnt from acks after the fact: each message reports those found since the previous one
    const lost = this.sink.lostAudio?.() ?? 0;
    this.audioQOS.latency = this.sink.latency();
    this.audioQOS.add(out, packet.length, lost - this.lostAudioSeen);
    this.lostAudioSeen = lost;
  }

  pushVideo(time: number, packet: Uint8Array): void {
    if (!this.started || this.paused || !this._receiveVideo) return;
    if (isVideoConfig(packet)) {
      this.videoConfigSent = true;
      this.sink.writeVideo(this.publication.encodeMedia(0x09, this.rebase(time), packet), true);
      return;
    }
    const key = isKeyFrame(packet);
    if (this.awaitingKeyFrame || this.sink.pendingVideo() > MAX_PENDING_BYTES) {
      if (!key || this.sink.pendingVideo() > MAX_PENDING_BYTES) {
        // nothing decodable can follow a dropped frame until the next key frame
        if (!this.awaitingKeyFrame) this.resync();
        this.videoQOS.droppedFrames++;
        this.publication.droppedFrames++;
        return;
      }
      this.awaitingKeyFrame = false;
      this.actor.send({ type: 'KEY_FRAME' });
    }
    const out = this.rebase(time);
    if (!this.videoConfigSent) {
      this.videoConfigSent = true;
      const cached = this.publication.videoConfig;
      if (cached) this.sink.writeVideo(this.publication.encodeMedia(0x09, out, cached), true);
    }
    this.sink.writeVideo(this.publication.encodeMedia(0x09, out, packet), key || !this.unbuffered);
    const lost = this.sink.lostVideo?.() ?? 0;
    this.videoQOS.latency = this.sink.latency();
    this.videoQOS.add(out, packet.length, lost - this.lostVideoSeen);
    this.lostVideoSeen = lost;
  }

  /** A complete data message (type 0x0f/0x12, timestamp 0) shared by every listener. */
  pushData(message: Uint8Array): void {
    if (!this.started || this.paused) return;
    this.sink.writeData(message, true);
    this.dataQOS.add(this.lastOut, message.length);
  }

  flush(): void {
    if (this.started) this.sink.flush();
  }

  private sendMetadata(): void {
    const metadata = this.publication.metadata;
    if (metadata) this.sink.writeData(metadata, true);
  }

  private rebase(time: number): number {
    if (this.base === undefined) this.base = (time - this.lastOut) >>> 0;
    const out = (time - this.base) >>> 0;
    this.lastOut = out;
    return out;
  }
}
