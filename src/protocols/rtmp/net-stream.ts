// The server side of one RTMP NetStream (a message stream from createStream, RTMP.md §5.3–5.4): publish and
// play through the core's publications, with the Flash status events RTMFP's ServerNetStream sends. It is
// the ListenerSink of its listener: relayed messages go out on csid 5 (status, data), 6 (audio), 7 (video)
// with this stream's id, so Flash routes them to the NetStream and ffmpeg sees FLV tags.
import { WireError } from '../../errors.ts';
import type { Listener, ListenerSink, Publication, Publisher } from '../../core/media/publication.ts';
import type { Publications } from '../../core/media/publications.ts';
import { dataName } from '../../core/media/media.ts';
import { decodeCommand, encodeCommand, encodeStatus, type TCCommand } from '../../flash/tc.ts';
import type { RtmpMessage } from './chunk-reader.ts';
import type { ClientPort } from '../../core/ports.ts';
import type { RtmpLink } from './link.ts';
import { splitAggregate } from './aggregate.ts';
import { CSID, EVENT, MSG } from './params.ts';

/** play(name, -3) arrives as start −3000 (ms); some clients send the seconds as they were given. */
const UNBUFFERED_STARTS = new Set([-3000, -3]);

export class RtmpNetStream implements ListenerSink {
  readonly id: number;
  private readonly client: ClientPort;
  private readonly connection: RtmpLink;
  private publication: Publication | undefined;
  private listener: Listener | undefined;
  private closed = false;
  private batchScheduled = false;

  constructor(client: ClientPort, connection: RtmpLink, id: number) {
    this.client = client;
    this.connection = connection;
    this.id = id;
  }

  private get publications(): Publications {
    return this.connection.core.publications;
  }

  get publishing(): Publication | undefined {
    return this.publication;
  }

  get playing(): Listener | undefined {
    return this.listener;
  }

  /** deleteStream or connection end: stop publishing/playing without status. */
  close(): void {
    if (this.closed) return;
    this.stop(false);
    this.closed = true;
  }

  onMessage(message: RtmpMessage): void {
    if (this.closed) return;
    const type = message.type;
    const publication = this.publication;
    if (type === MSG.AUDIO || type === MSG.VIDEO) {
      if (publication) this.pushMedia(publication, type, message.timestamp, message.payload);
      return;
    }
    if (type === MSG.AGGREGATE) {
      if (publication) for (const tag of splitAggregate(message.payload, message.timestamp)) this.onMessage({ ...message, ...tag });
      return;
    }
    try {
      if (type === MSG.DATA_AMF0 || type === MSG.DATA_AMF3) this.onData(type, message.payload);
      else if (type === MSG.COMMAND_AMF0 || type === MSG.COMMAND_AMF3) {
        this.onCommand(
          decodeCommand({ type, time: message.timestamp, body: message.payload }, this.connection.core.application.amfReadOptions),
        );
      }
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.connection.logger.debug({ err: error.message, stream: this.id }, 'malformed RTMP NetStream message');
    }
  }

  private pushMedia(publication: Publication, type: number, time: number, packet: Uint8Array): void {
    this.batchEnd();
    const events = this.publications.events;
    if (type === MSG.VIDEO) {
      publication.pushVideo(time, packet);
      events.onVideo?.(this.client, publication, time, packet);
    } else {
      publication.pushAudio(time, packet);
      events.onAudio?.(this.client, publication, time, packet);
    }
  }

  /** Once what arrived together is relayed, the publication's onFlush hears of it (one call per batch). */
  private batchEnd(): void {
    if (this.batchScheduled || !this.publications.events.onFlush) return;
    this.batchScheduled = true;
    setImmediate(() => {
      this.batchScheduled = false;
      const publication = this.publication;
      if (publication) this.publications.events.onFlush?.(this.client, publication);
    });
  }

  private onData(type: number, body: Uint8Array): void {
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

  onCommand(command: TCCommand): void {
    const args = command.args;
    switch (command.name) {
      case 'publish':
        // publish(name, "live"|"record"|"append"): everything is live here; publish(false) stops
        if (typeof args[0] === 'string') this.publish(args[0]);
        else this.stop(true);
        return;
      case 'play':
        // play(name, start, duration, reset): live streams only, so duration and reset change nothing
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
        this.connection.logger.debug({ name: command.name, stream: this.id }, 'RTMP NetStream command ignored');
    }
  }

  private publish(requested: string): void {
    this.stop(false);
    const name = requested.split('?')[0]!;
    const publisher: Publisher = {
      client: this.client,
      close: (code, description) => {
        if (code) this.status(code.startsWith('NetStream.') ? code : `NetStream.${code}`, description ?? '', 'error');
        this.connection.sendTC(CSID.STREAM, this.id, encodeCommand('close', 0, null, [], { amf0Only: true }));
        this.stop(false);
      },
    };
    const outcome = this.publications.publish(name, publisher);
    if (!outcome.ok) {
      this.status(outcome.code, outcome.description, 'error');
      return;
    }
    this.publication = outcome.publication;
    this.connection.userControl(EVENT.STREAM_BEGIN, this.id);
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
    // StreamBegin, then Play.Reset, Play.Start, |RtmpSampleAccess, metadata (RTMP.md §5.6)
    this.connection.userControl(EVENT.STREAM_BEGIN, this.id);
    outcome.listener.start();
  }

  private pause(paused: boolean): void {
    const listener = this.listener;
    if (!listener) return;
    listener.pause(paused);
    const name = listener.publication.name;
    if (paused) {
      this.status('NetStream.Pause.Notify', `Paused ${name}`);
      this.connection.userControl(EVENT.STREAM_EOF, this.id);
    } else {
      this.connection.userControl(EVENT.STREAM_BEGIN, this.id);
      this.status('NetStream.Unpause.Notify', `Unpaused ${name}`);
    }
  }

  /** Stop publishing or playing; `withStatus` tells the client (closeStream) rather than going silently. */
  private stop(withStatus: boolean): void {
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
      // MonaServer sends StreamEOF with Play.Stop (RTMP.md §4)
      if (withStatus) this.connection.userControl(EVENT.STREAM_EOF, this.id);
    }
  }

  // ListenerSink ---------------------------------------------------------------------------------------
  writeAudio(message: Uint8Array): void {
    this.connection.sendMedia(CSID.AUDIO, this.id, message);
  }

  writeVideo(message: Uint8Array): void {
    this.connection.sendMedia(CSID.VIDEO, this.id, message);
  }

  writeData(message: Uint8Array): void {
    this.connection.sendTC(CSID.STREAM, this.id, message);
  }

  status(code: string, description: string, level: 'status' | 'error' = 'status'): void {
    this.connection.sendTC(CSID.STREAM, this.id, encodeStatus('onStatus', 0, { level, code, description }));
  }

  /** One socket for everything: its backlog is each track's backlog (the listener drops above 256 KiB). */
  pendingAudio(): number {
    return this.connection.backlog;
  }

  pendingVideo(): number {
    return this.connection.backlog;
  }

  latency(): number {
    return this.connection.rtt;
  }

  flush(): void {
    this.connection.flush();
  }
}
