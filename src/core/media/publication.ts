// One named publication: the publisher's media fanned out to its listeners in plain code, with what a late
// joiner needs kept aside (metadata from @setDataFrame, AVC/AAC sequence headers). The publication actor
// (machines/publication.ts) carries who publishes and whether the application allowed it.
import { createActor, type Actor } from 'xstate';
import { publicationMachine } from '../../../machines/publication.ts';
import type { Clock } from '../../clock.ts';
import type { ClientPort } from '../ports.ts';
import { observe, provideFacts } from '../../actors/observe.ts';
import { utf8Encode } from '../../bytes.ts';
import { encodeTCMessage } from '../../flash/tc.ts';
import { dataName, isAudioConfig, isVideoConfig } from './media.ts';
import { QualityOfService } from './qos.ts';
import type { Listener } from './listener.ts';

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
