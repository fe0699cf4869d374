// One named publication and its listeners: the publisher's media fanned out to the listeners in plain code, with
// what a late joiner needs kept aside (metadata from @setDataFrame, AVC/AAC sequence headers). The publication
// actor (machines/publication.ts) carries who publishes and whether the application allowed it. Publication and
// Listener share this file because each works the other on every message: the publication calls its listeners,
// a listener reads the publication's caches and shared encodings and counts the frames it drops.
import { createActor, type Actor } from 'xstate';
import { listenerMachine } from '../../../machines/listener.ts';
import { publicationMachine } from '../../../machines/publication.ts';
import type { Clock } from '../../clock.ts';
import type { ClientPort } from '../ports.ts';
import { Bindings } from '../../actors/bindings.ts';
import { observe, provideFacts } from '../../actors/observe.ts';
import { inSystem } from '../../actors/system.ts';
import { utf8Encode } from '../../bytes.ts';
import { encodeData, encodeTCMessage } from '../../flash/tc.ts';
import { dataName, isAudioConfig, isKeyFrame, isVideoConfig } from './media.ts';
import { QualityOfService } from './qos.ts';

/** The publishing side as a publication sees it: a client's NetStream, or nothing for script publications. */
export interface Publisher {
  readonly client: ClientPort;
  /** publication:close(code, description) on a client publication: status, then close the client's stream */
  close(code?: string, description?: string): void;
}

const SET_DATA_FRAME = '@setDataFrame';
const CLEAR_DATA_FRAME = '@clearDataFrame';
const ENCODE_CACHE = 4;

export class Publication {
  readonly name: string;
  readonly actor: Actor<typeof publicationMachine>;
  /** subscribers in arrival order, by listener id; a listener joins only once onSubscribe accepted it */
  readonly listeners = new Map<number, Listener>();
  readonly audioQOS: QualityOfService;
  readonly videoQOS: QualityOfService;
  readonly dataQOS: QualityOfService;
  /** free-form values the script attaches (publication.properties) */
  properties: Record<string, unknown> = {};
  publisher: Publisher | undefined;
  lastTime = 0;
  /** video frames listeners skipped waiting for a key frame or behind a slow link */
  droppedFrames = 0;
  /** the data message sent to each listener as onMetaData (timestamp 0), if the publisher set one */
  metadata: Uint8Array | undefined;
  audioConfig: Uint8Array | undefined;
  videoConfig: Uint8Array | undefined;
  // the last encodings of the message being relayed: listeners with the same time offset share one buffer
  private readonly cacheTimes = new Array<number>(ENCODE_CACHE).fill(-1);
  private readonly cacheBytes = new Array<Uint8Array | undefined>(ENCODE_CACHE);
  private cachePacket: Uint8Array | undefined;
  private cacheType = 0;
  private cacheNext = 0;

  constructor(name: string, clock: Clock) {
    this.name = name;
    this.audioQOS = new QualityOfService(clock);
    this.videoQOS = new QualityOfService(clock);
    this.dataQOS = new QualityOfService(clock);
    this.actor = createActor(publicationMachine, { clock, ...observe('publication', name) });
    byActor.set(this.actor, this);
    this.actor.start();
  }

  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  get running(): boolean {
    return this.state === 'publishing';
  }

  /** hex peer id of the publishing client; '' for a script publication or nobody */
  get publisherId(): string {
    return this.actor.getSnapshot().context.publisherId;
  }

  /** Publishing begins (after authorization): listeners already waiting hear PublishNotify. */
  start(): void {
    this.actor.send({ type: 'ALLOW' });
    this.lastTime = 0;
    for (const listener of this.listeners.values()) listener.onPublished();
  }

  /** The publisher left: listeners stay subscribed (UnpublishNotify), what was cached goes. */
  stop(): void {
    if (!this.running) return;
    this.actor.send({ type: 'UNPUBLISH' });
    this.publisher = undefined;
    this.metadata = undefined;
    this.audioConfig = undefined;
    this.videoConfig = undefined;
    for (const listener of this.listeners.values()) listener.onUnpublished();
    this.flush();
  }

  pushAudio(time: number, packet: Uint8Array, lost = 0): void {
    if (!this.running) return;
    this.lastTime = time;
    this.audioQOS.add(time, packet.length, lost);
    if (isAudioConfig(packet)) this.audioConfig = packet;
    for (const listener of this.listeners.values()) listener.pushAudio(time, packet);
  }

  pushVideo(time: number, packet: Uint8Array, lost = 0): void {
    if (!this.running) return;
    this.lastTime = time;
    this.videoQOS.add(time, packet.length, lost);
    if (isVideoConfig(packet)) this.videoConfig = packet;
    // a frame lost on the way in breaks decoding for everyone until the next key frame
    if (lost > 0) for (const listener of this.listeners.values()) listener.resync();
    for (const listener of this.listeners.values()) listener.pushVideo(time, packet);
  }

  /**
   * A data message from the publisher: type 0x0f (format byte first) or 0x12, body after the timestamp.
   * `@setDataFrame` is kept as metadata and relayed without its first name; `@clearDataFrame` forgets it.
   */
  pushDataMessage(type: number, body: Uint8Array): void {
    if (!this.running) return;
    const named = dataName(type, body);
    let message: Uint8Array;
    if (named?.name === SET_DATA_FRAME) {
      message = stripName(type, body, named.end);
      this.metadata = message;
    } else if (named?.name === CLEAR_DATA_FRAME) {
      this.metadata = undefined;
      return;
    } else {
      message = encodeTCMessage(type, 0, body);
    }
    this.dataQOS.add(this.lastTime, body.length);
    for (const listener of this.listeners.values()) listener.pushData(message);
  }

  /** pushDataPacket(name, packet) of the Lua API: an AMF0 data message `name` followed by raw AMF values. */
  pushDataPacket(name: string, packet: Uint8Array): void {
    const bytes = utf8Encode(name);
    const body = new Uint8Array(3 + bytes.length + packet.length);
    body[0] = 0x02;
    body[1] = bytes.length >> 8;
    body[2] = bytes.length & 0xff;
    body.set(bytes, 3);
    body.set(packet, 3 + bytes.length);
    this.pushDataMessage(0x12, body);
  }

  flush(): void {
    for (const listener of this.listeners.values()) listener.flush();
  }

  addListener(listener: Listener): void {
    this.listeners.set(listener.id, listener);
  }

  removeListener(listener: Listener): void {
    this.listeners.delete(listener.id);
  }

  /**
   * `type | time | packet` for one listener. Consecutive listeners asking for the same time get the same
   * buffer (writers never modify what they queue), so a publisher watched from the start costs one copy.
   */
  encodeMedia(type: number, time: number, packet: Uint8Array): Uint8Array {
    if (this.cachePacket !== packet || this.cacheType !== type) {
      this.cachePacket = packet;
      this.cacheType = type;
      this.cacheTimes.fill(-1);
    } else {
      for (let i = 0; i < ENCODE_CACHE; i++) if (this.cacheTimes[i] === time) return this.cacheBytes[i]!;
    }
    const bytes = encodeTCMessage(type, time, packet);
    this.cacheTimes[this.cacheNext] = time;
    this.cacheBytes[this.cacheNext] = bytes;
    this.cacheNext = (this.cacheNext + 1) % ENCODE_CACHE;
    return bytes;
  }
}

/** The data message without its first handler name: `@setDataFrame, onMetaData, {…}` → `onMetaData, {…}`. */
function stripName(type: number, body: Uint8Array, nameEnd: number): Uint8Array {
  const prefix = type === 0x0f ? 1 : 0;
  const out = new Uint8Array(5 + prefix + body.length - nameEnd);
  out[0] = type;
  if (prefix) out[5] = body[0]!;
  out.set(body.subarray(nameEnd), 5 + prefix);
  return out;
}

const byActor = new WeakMap<object, Publication>();

provideFacts('publication', (ref) => {
  const publication = byActor.get(ref as object);
  if (!publication) return undefined;
  const bytesPerSecond = publication.audioQOS.byteRate + publication.videoQOS.byteRate + publication.dataQOS.byteRate;
  return {
    label: publication.name,
    facts: {
      name: publication.name,
      publisher: publication.publisherId.slice(0, 16),
      listeners: publication.listeners.size,
      kbps: Math.round((bytesPerSecond * 8) / 100) / 10,
      droppedFrames: publication.droppedFrames,
      lastTime: publication.lastTime,
    },
  };
});

// ---------------------------------------------------------------------------------------------
// Listener: one subscriber of a publication. It relays audio, video and data to its sink with timestamps rebased
// to its own start, codec configuration first, video from a key frame on, and a bounded backlog (a slow receiver
// loses media, never server memory). Called once per message per listener: plain code, flags, no actor event
// except on the rare transitions the listener machine models.

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

// The listener machine bound once (a per-actor provide() rebuilt its state-node tree: ~49 KB per play).
const listenerBindings = new Bindings<Listener>();
const boundListenerMachine = listenerMachine.provide({
  guards: { publishing: ({ context }) => listenerBindings.get(context.key)?.publication.running ?? false },
});

/** Listeners whose actor has not reached a final state (closed or refused): each holds a binding until then. */
export function boundListeners(): number {
  return listenerBindings.size;
}

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
  private audioAccess = false;
  private videoAccess = false;
  receiveAudio = true;
  /** media messages dropped because the subscriber could not keep up */
  droppedMessages = 0;
  /** video frames not sent because decoding must restart at a key frame (joined late, resynced, resumed) */
  skippedUntilKeyFrame = 0;
  /** audio and video messages not sent because the subscriber's backlog was over MAX_PENDING_BYTES */
  droppedForCongestion = 0;
  private readonly sink: ListenerSink;
  /** this listener in listenerBindings, for its actor's guard */
  private readonly key: number;
  private _receiveVideo = true;
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
    this.key = listenerBindings.bind(this);
    this.actor = createActor(
      boundListenerMachine,
      inSystem(options.clock, observe('listener', `${publication.name}#${this.id}`, `publication:${publication.name}`), {
        key: this.key,
      }),
    );
    this.actor.start();
  }

  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  get closed(): boolean {
    return this.actor.getSnapshot().status === 'done';
  }

  /** Whether the player may read the audio samples (BitmapData/SoundMixer access); told at start, and at once on a change. */
  get audioSampleAccess(): boolean {
    return this.audioAccess;
  }

  set audioSampleAccess(value: boolean) {
    if (value === this.audioAccess) return;
    this.audioAccess = value;
    this.sampleAccessChanged();
  }

  get videoSampleAccess(): boolean {
    return this.videoAccess;
  }

  set videoSampleAccess(value: boolean) {
    if (value === this.videoAccess) return;
    this.videoAccess = value;
    this.sampleAccessChanged();
  }

  // set while the application decides (onSubscribe), it goes out with the start; later, as CumulusServer's
  // listener.sampleAccess(), at once
  private sampleAccessChanged(): void {
    if (!this.subscribed) return;
    this.sink.writeData(encodeData('|RtmpSampleAccess', [this.audioAccess, this.videoAccess]), true);
    this.sink.flush();
  }

  // The listener obeys its actor: accepted and not yet closed (subscribed), media relayed unless paused, video
  // held back until a key frame unless playing. Read per message: one snapshot field, no copy of it kept here.
  private get subscribed(): boolean {
    const state = this.actor.getSnapshot().value;
    return state !== 'authorizing' && state !== 'refused' && state !== 'closed';
  }

  private get relaying(): boolean {
    const state = this.actor.getSnapshot().value;
    return state === 'playing' || state === 'awaitingKeyFrame' || state === 'waiting';
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
    if (this.state !== 'authorizing') return;
    // a NetStream playing again keeps its writers: only losses from now on are this listener's
    this.lostAudioSeen = this.sink.lostAudio?.() ?? 0;
    this.lostVideoSeen = this.sink.lostVideo?.() ?? 0;
    this.actor.send({ type: 'ALLOW' });
    const name = this.publication.name;
    this.sink.status('NetStream.Play.Reset', `Playing and resetting ${name}`);
    this.sink.status('NetStream.Play.Start', `Started playing ${name}`);
    // joining a running publication: told it is published, as MonaServer does
    if (this.publication.running) this.sink.status('NetStream.Play.PublishNotify', `${name} is now published`);
    this.sink.writeData(encodeData('|RtmpSampleAccess', [this.audioSampleAccess, this.videoSampleAccess]), true);
    if (this.publication.running) this.sendMetadata();
    this.sink.flush();
  }

  deny(reason: string): void {
    this.actor.send({ type: 'DENY', reason });
    if (this.closed) listenerBindings.unbind(this.key);
  }

  /** The publication (re)started while this listener was subscribed. */
  onPublished(): void {
    if (!this.subscribed) return;
    this.sink.status('NetStream.Play.PublishNotify', `${this.publication.name} is now published`);
    this.audioConfigSent = false;
    this.videoConfigSent = false;
    this.actor.send({ type: 'PUBLISHED' });
    this.sendMetadata();
  }

  onUnpublished(): void {
    if (!this.subscribed) return;
    this.sink.status('NetStream.Play.UnpublishNotify', `${this.publication.name} is now unpublished`);
    // the next publisher's first message continues this listener's timeline where it stopped
    this.base = undefined;
    this.actor.send({ type: 'UNPUBLISHED' });
  }

  pause(paused: boolean): void {
    if (paused === (this.state === 'paused') || this.closed) return;
    // resuming goes through awaitingKeyFrame (or waiting): video restarts at a key frame
    this.actor.send({ type: paused ? 'PAUSE' : 'RESUME' });
  }

  /** Video must restart at the next key frame (publisher-side loss, track re-enabled, backlog dropped). */
  resync(): void {
    if (this.state === 'playing') this.actor.send({ type: 'RESYNC' });
  }

  /** Stop relaying (unsubscribed, stream closed, session gone). `stopStatus` sends Play.Stop first. */
  close(stopStatus: boolean): void {
    if (this.closed) return;
    if (stopStatus && this.subscribed) {
      this.sink.status('NetStream.Play.Stop', `Stopped playing ${this.publication.name}`);
      this.sink.flush();
    }
    this.actor.send({ type: 'CLOSE' });
    listenerBindings.unbind(this.key);
  }

  pushAudio(time: number, packet: Uint8Array): void {
    if (!this.receiveAudio || !this.relaying) return;
    const config = isAudioConfig(packet);
    if (config) this.audioConfigSent = true;
    else if (!this.audioConfigSent) {
      this.audioConfigSent = true;
      const cached = this.publication.audioConfig;
      if (cached) this.sink.writeAudio(this.publication.encodeMedia(0x08, this.rebase(time), cached), true);
    }
    if (!config && this.sink.pendingAudio() > MAX_PENDING_BYTES) {
      this.droppedMessages++;
      this.droppedForCongestion++;
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
    if (!this._receiveVideo || !this.relaying) return;
    if (isVideoConfig(packet)) {
      this.videoConfigSent = true;
      this.sink.writeVideo(this.publication.encodeMedia(0x09, this.rebase(time), packet), true);
      return;
    }
    const key = isKeyFrame(packet);
    const playing = this.state === 'playing';
    if (!playing || this.sink.pendingVideo() > MAX_PENDING_BYTES) {
      if (!key || this.sink.pendingVideo() > MAX_PENDING_BYTES) {
        if (this.sink.pendingVideo() > MAX_PENDING_BYTES) this.droppedForCongestion++;
        else this.skippedUntilKeyFrame++;
        // nothing decodable can follow a dropped frame until the next key frame
        if (playing) this.resync();
        this.videoQOS.droppedFrames++;
        this.publication.droppedFrames++;
        return;
      }
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
    if (!this.relaying) return;
    this.sink.writeData(message, true);
    this.dataQOS.add(this.lastOut, message.length);
  }

  flush(): void {
    if (this.subscribed) this.sink.flush();
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
