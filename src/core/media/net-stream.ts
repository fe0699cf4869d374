// What a Flash NetStream means on the server, whatever carries it (RTMFP flows, an RTMP message stream):
// publish, play, pause, receiveAudio/receiveVideo and closeStream against the core's publications, with
// the status events Flash and MonaServer send. A protocol subclass only says how its bytes go out
// (status and media writers, StreamBegin/StreamEOF) and feeds incoming media to relayAudio/relayVideo.
import type { Logger } from '../../log.ts';
import type { TCCommand } from '../../flash/tc.ts';
import { encodeCommand } from '../../flash/tc.ts';
import type { ClientPort } from '../ports.ts';
import { dataName } from './media.ts';
import type { Listener, ListenerSink, Publication, Publisher } from './publication.ts';
import type { Publications } from './publications.ts';

/** play(name, -3) arrives as start −3000 (ms); some clients send the seconds as they were given. */
const UNBUFFERED_STARTS = new Set([-3000, -3]);

/** play(name) without a start: live, as Flash's default −2 (in ms). */
const DEFAULT_PLAY_START = -2000;

export abstract class NetStream implements ListenerSink {
  readonly id: number;
  protected readonly client: ClientPort;
  protected readonly publications: Publications;
  protected readonly logger: Logger;
  protected publication: Publication | undefined;
  protected listener: Listener | undefined;
  protected closed = false;
  private batchScheduled = false;

  constructor(id: number, client: ClientPort, publications: Publications, logger: Logger) {
    this.id = id;
    this.client = client;
    this.publications = publications;
    this.logger = logger;
  }

  get publishing(): Publication | undefined {
    return this.publication;
  }

  get playing(): Listener | undefined {
    return this.listener;
  }

  /** deleteStream or the connection's end: stop publishing/playing without status. */
  close(): void {
    if (this.closed) return;
    this.stop(false);
    this.closed = true;
  }

  onCommand(command: TCCommand): void {
    const args = command.args;
    switch (command.name) {
      case 'publish':
        // publish(name, "live"|"record"|"append"): every stream is live; publish(null|false) stops
        if (typeof args[0] === 'string') this.publish(args[0]);
        else this.stop(true);
        return;
      case 'play':
        // play(name, start, duration, reset): live streams only, so duration and reset change nothing
        if (typeof args[0] === 'string') this.play(args[0], typeof args[1] === 'number' ? args[1] : DEFAULT_PLAY_START);
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
        this.logger.debug({ name: command.name, stream: this.id }, 'NetStream command ignored');
    }
  }

  // Incoming media of a publisher: plain code per message --------------------------------------------------
  /** `lost`: messages lost before this one since the last video message (decoding restarts at a key frame) */
  protected relayVideo(publication: Publication, time: number, packet: Uint8Array, lost = 0): void {
    this.batchEnd();
    publication.pushVideo(time, packet, lost);
    this.publications.events.onVideo?.(this.client, publication, time, packet);
  }

  /** `lost`: audio messages lost before this one (they count in the publication's audioQOS) */
  protected relayAudio(publication: Publication, time: number, packet: Uint8Array, lost = 0): void {
    this.batchEnd();
    publication.pushAudio(time, packet, lost);
    this.publications.events.onAudio?.(this.client, publication, time, packet);
  }

  /** A data message (onMetaData, @setDataFrame, a script's handler) of type `type` (AMF0 or AMF3 data). */
  protected relayData(type: number, body: Uint8Array): void {
    const publication = this.publication;
    if (!publication) return;
    this.batchEnd();
    publication.pushDataMessage(type, body);
    const onData = this.publications.events.onData;
    if (onData) {
      const named = dataName(type, body);
      if (named) onData(this.client, publication, named.name, body.subarray(named.end));
    }
  }

  /** Once what arrived together is relayed, the publication's onFlush hears of it (one call per batch). */
  protected batchEnd(): void {
    if (this.batchScheduled || !this.publications.events.onFlush) return;
    this.batchScheduled = true;
    setImmediate(() => {
      this.batchScheduled = false;
      const publication = this.publication;
      if (publication) this.publications.events.onFlush?.(this.client, publication);
    });
  }

  // Commands ---------------------------------------------------------------------------------------------
  private publish(requested: string): void {
    this.stop(false);
    const name = requested.split('?')[0]!;
    const publisher: Publisher = {
      client: this.client,
      close: (code, description) => {
        if (code) this.status(code.startsWith('NetStream.') ? code : `NetStream.${code}`, description ?? '', 'error');
        this.writeCommand(encodeCommand('close', 0, null, [], { amf0Only: true }));
        this.stop(false);
      },
    };
    const outcome = this.publications.publish(name, publisher);
    if (!outcome.ok) {
      this.status(outcome.code, outcome.description, 'error');
      return;
    }
    this.publication = outcome.publication;
    this.onPublishing();
    this.status('NetStream.Publish.Start', `${name} is now published`);
  }

  private play(requested: string, start: number): void {
    this.stop(false);
    const mark = requested.indexOf('?');
    const name = mark >= 0 ? requested.slice(0, mark) : requested;
    const parameters: Record<string, string> = {};
    if (mark >= 0) for (const [key, value] of new URLSearchParams(requested.slice(mark + 1))) parameters[key] = value;
    const unbuffered = UNBUFFERED_STARTS.has(start) || parameters.unbuffered === 'true';
    const outcome = this.publications.subscribe(name, this.client, this, { parameters, unbuffered });
    if (!outcome.ok) {
      this.status('NetStream.Play.Failed', outcome.description, 'error');
      return;
    }
    this.listener = outcome.listener;
    this.onPlaying();
    // StreamBegin, then the listener's Play.Reset, Play.Start, |RtmpSampleAccess and metadata
    this.streamBegin();
    outcome.listener.start();
  }

  private pause(paused: boolean): void {
    const listener = this.listener;
    if (!listener) return;
    listener.pause(paused);
    const name = listener.publication.name;
    if (paused) {
      this.status('NetStream.Pause.Notify', `Paused ${name}`);
      this.streamEOF();
    } else {
      this.streamBegin();
      this.status('NetStream.Unpause.Notify', `Unpaused ${name}`);
    }
  }

  /** Stop publishing or playing; `withStatus` tells the client (closeStream) rather than going silently. */
  protected stop(withStatus: boolean): void {
    const publication = this.publication;
    if (publication) {
      this.publication = undefined;
      this.publications.unpublish(publication);
      if (withStatus) this.status('NetStream.Unpublish.Success', `${publication.name} is now unpublished`);
    }
    const listener = this.listener;
    if (listener) {
      this.listener = undefined;
      this.publications.unsubscribe(listener, withStatus);
      if (withStatus) this.streamEOF();
    }
  }

  // What each protocol says on its own wire -----------------------------------------------------------------
  /** A command message (the `close` a refused or kicked publisher gets) on this stream. */
  protected abstract writeCommand(message: Uint8Array): void;
  /** User control StreamBegin for this stream. */
  protected abstract streamBegin(): void;
  /** User control StreamEOF for this stream, where the protocol sends one (MonaServer does over RTMP). */
  protected streamEOF(): void {}
  /** The publication is this stream's, before Publish.Start goes out. */
  protected onPublishing(): void {}
  /** The listener is this stream's, before StreamBegin and the listener's first statuses go out. */
  protected onPlaying(): void {}

  // ListenerSink ----------------------------------------------------------------------------------------------
  abstract writeAudio(message: Uint8Array, reliable: boolean): void;
  abstract writeVideo(message: Uint8Array, reliable: boolean): void;
  abstract writeData(message: Uint8Array, reliable: boolean): void;
  abstract status(code: string, description: string, level?: 'status' | 'error'): void;
  abstract pendingAudio(): number;
  abstract pendingVideo(): number;
  abstract latency(): number;
  abstract flush(): void;
}
