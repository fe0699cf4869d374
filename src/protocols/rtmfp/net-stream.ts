// The server side of one NetStream (RTMFP.md §5.5–5.6): every client flow carrying `TC 04 <id>` feeds it;
// it answers on its own writer with the same metadata, associated with the client's NetConnection flow, and
// when playing adds an audio and a video writer. Media from a publisher goes straight to the publication's
// plain-code fan-out; commands (publish, play, closeStream...) go through the registry and its actors.
import type { FlowWriter } from './flow/writer.ts';
import type { Logger } from '../../log.ts';
import type { Listener, ListenerSink, Publication, Publisher } from '../../core/media/publication.ts';
import type { Publications } from '../../core/media/publications.ts';
import { dataName } from '../../core/media/media.ts';
import type { FlowHandler, Session } from './session/session.ts';
import { tcSignature } from './session/writer-port.ts';
import { WireError } from '../../errors.ts';
import {
  TC,
  UserControl,
  decodeCommand,
  decodeTCMessage,
  encodeCommand,
  encodeStatus,
  encodeUserControl,
  type TCCommand,
} from '../../flash/tc.ts';
import type { ClientPort } from '../../core/ports.ts';

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

/** play(name, -3) arrives as start −3000 (ms); some clients send the seconds as they were given. */
const UNBUFFERED_STARTS = new Set([-3000, -3]);

export class ServerNetStream implements ListenerSink {
  readonly id: number;
  private readonly host: NetStreamHost;
  private readonly signature: Uint8Array;
  private statusWriter: FlowWriter | undefined;
  private audioWriter: FlowWriter | undefined;
  private videoWriter: FlowWriter | undefined;
  private publication: Publication | undefined;
  private listener: Listener | undefined;
  /** messages the publisher's flows lost since the last video message: decoding restarts at a key frame */
  private lost = 0;
  private closed = false;

  constructor(host: NetStreamHost, id: number) {
    this.host = host;
    this.id = id;
    this.signature = tcSignature(id);
  }

  get publishing(): Publication | undefined {
    return this.publication;
  }

  get playing(): Listener | undefined {
    return this.listener;
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
  close(): void {
    if (this.closed) return;
    this.stop(false);
    this.closed = true;
    this.audioWriter?.close();
    this.videoWriter?.close();
    this.statusWriter?.close();
  }

  /** `carried`: what the flow delivering it has carried so far; without it, any loss counts against video. */
  onMessage(message: Uint8Array, lostBefore: number, carried?: FlowCarried): void {
    if (this.closed || message.length < 5) return;
    if (this.publication) this.batchEnd();
    const type = message[0]!;
    if (carried && type === TC.VIDEO) carried.video = true;
    // what an audio-only flow lost (unreliable audio, expired audio) leaves the video decodable
    if (lostBefore > 0 && (!carried || carried.video)) this.lost += lostBefore;
    const publication = this.publication;
    if (publication && (type === TC.AUDIO || type === TC.VIDEO)) {
      const time = ((message[1]! << 24) | (message[2]! << 16) | (message[3]! << 8) | message[4]!) >>> 0;
      const packet = message.subarray(5);
      const events = this.host.publications.events;
      if (type === TC.VIDEO) {
        publication.pushVideo(time, packet, this.lost);
        this.lost = 0;
        events.onVideo?.(this.host.client, publication, time, packet);
      } else {
        publication.pushAudio(time, packet);
        events.onAudio?.(this.host.client, publication, time, packet);
      }
      return;
    }
    try {
      if (type === TC.DATA_AMF0 || type === TC.DATA_AMF3) this.onData(type, message.subarray(5));
      else if (type === TC.COMMAND_AMF0 || type === TC.COMMAND_AMF3) this.onCommand(decodeCommand(decodeTCMessage(message)));
      // user control on a stream flow (flow sync) carries nothing for the server
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.host.logger.debug({ err: error.message, code: error.code, stream: this.id }, 'malformed NetStream message');
    }
  }

  private batchScheduled = false;

  /** Once what arrived together is relayed, the publication's onFlush hears of it (one call per batch). */
  private batchEnd(): void {
    if (this.batchScheduled || !this.host.publications.events.onFlush) return;
    this.batchScheduled = true;
    setImmediate(() => {
      this.batchScheduled = false;
      const publication = this.publication;
      if (publication) this.host.publications.events.onFlush?.(this.host.client, publication);
    });
  }

  private onData(type: number, body: Uint8Array): void {
    const publication = this.publication;
    if (!publication) return;
    publication.pushDataMessage(type, body);
    const onData = this.host.publications.events.onData;
    if (onData) {
      const named = dataName(type, body);
      if (named) onData(this.host.client, publication, named.name, body.subarray(named.end));
    }
  }

  private onCommand(command: TCCommand): void {
    const args = command.args;
    switch (command.name) {
      case 'publish':
        if (typeof args[0] === 'string') this.publish(args[0]);
        else this.stop(true); // publish(null) / publish(false) stops publishing
        return;
      case 'play':
        if (typeof args[0] === 'string') this.play(args[0], typeof args[1] === 'number' ? args[1] : -2000);
        else this.stop(true);
        return;
      case 'closeStream':
        this.stop(true);
        return;
      case 'receiveAudio':
        if (this.listener) this.listener.receiveAudio = args[0] !== false;
        return;
      case 'receiveVideo':
        if (this.listener) this.listener.receiveVideo = args[0] !== false;
        return;
      case 'pause':
        this.pause(args[0] !== false);
        return;
      default:
        this.host.logger.debug({ name: command.name, stream: this.id }, 'NetStream command ignored');
    }
  }

  private publish(requested: string): void {
    this.stop(false);
    const name = requested.split('?')[0]!;
    const publisher: Publisher = {
      client: this.host.client,
      close: (code, description) => {
        if (code) this.status(code.startsWith('NetStream.') ? code : `NetStream.${code}`, description ?? '', 'error');
        this.writeStatusMessage(encodeCommand('close', 0, null, [], { amf0Only: true }));
        this.stop(false);
      },
    };
    const outcome = this.host.publications.publish(name, publisher);
    if (!outcome.ok) {
      this.status(outcome.code, outcome.description, 'error');
      return;
    }
    this.publication = outcome.publication;
    this.lost = 0;
    this.status('NetStream.Publish.Start', `${name} is now published`);
  }

  private play(requested: string, start: number): void {
    this.stop(false);
    const mark = requested.indexOf('?');
    const name = mark >= 0 ? requested.slice(0, mark) : requested;
    const parameters: Record<string, string> = {};
    if (mark >= 0) for (const [key, value] of new URLSearchParams(requested.slice(mark + 1))) parameters[key] = value;
    const unbuffered = UNBUFFERED_STARTS.has(start) || parameters.unbuffered === 'true';
    const outcome = this.host.publications.subscribe(name, this.host.client, this, { parameters, unbuffered });
    if (!outcome.ok) {
      this.status('NetStream.Play.Failed', outcome.description, 'error');
      return;
    }
    this.listener = outcome.listener;
    this.audioWriter ??= this.host.session.newWriter(this.signature, this.host.netConnectionFlowId());
    this.videoWriter ??= this.host.session.newWriter(this.signature, this.host.netConnectionFlowId());
    this.writeStatusMessage(encodeUserControl(UserControl.STREAM_BEGIN, this.id));
    outcome.listener.start();
  }

  private pause(paused: boolean): void {
    const listener = this.listener;
    if (!listener) return;
    listener.pause(paused);
    const name = listener.publication.name;
    if (paused) {
      this.status('NetStream.Pause.Notify', `Paused ${name}`);
    } else {
      this.writeStatusMessage(encodeUserControl(UserControl.STREAM_BEGIN, this.id));
      this.status('NetStream.Unpause.Notify', `Unpaused ${name}`);
    }
  }

  /** Stop publishing or playing; `withStatus` tells the client (closeStream) rather than going silently. */
  private stop(withStatus: boolean): void {
    const publication = this.publication;
    if (publication) {
      this.publication = undefined;
      this.host.publications.unpublish(publication);
      if (withStatus) this.status('NetStream.Unpublish.Success', `${publication.name} is now unpublished`);
    }
    const listener = this.listener;
    if (listener) {
      this.listener = undefined;
      this.host.publications.unsubscribe(listener, withStatus);
    }
  }

  // ListenerSink: what the listener relays lands on this client's writers ------------------------------------
  writeAudio(message: Uint8Array, reliable: boolean): void {
    this.audioWriter?.write(message, reliable);
  }

  writeVideo(message: Uint8Array, reliable: boolean): void {
    this.videoWriter?.write(message, reliable);
  }

  writeData(message: Uint8Array, reliable: boolean): void {
    this.statusOut().write(message, reliable);
  }

  status(code: string, description: string, level: 'status' | 'error' = 'status'): void {
    this.writeStatusMessage(encodeStatus('onStatus', 0, { level, code, description }));
  }

  pendingAudio(): number {
    return this.audioWriter?.pendingBytes ?? 0;
  }

  pendingVideo(): number {
    return this.videoWriter?.pendingBytes ?? 0;
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

  private writeStatusMessage(message: Uint8Array): void {
    this.statusOut().write(message, true);
  }

  private statusOut(): FlowWriter {
    this.statusWriter ??= this.host.session.newWriter(this.signature, this.host.netConnectionFlowId());
    return this.statusWriter;
  }
}
