// The server side of one RTMP NetStream (a message stream from createStream, RTMP.md §5.3–5.4). What publish,
// play and pause mean is the protocol-neutral NetStream's (src/core/media/net-stream.ts), shared with RTMFP;
// this class says how it goes on an RTMP connection: relayed messages go out on csid 5 (status, data), 6 (audio),
// 7 (video) with this stream's id, so Flash routes them to the NetStream and ffmpeg sees FLV tags.
import { WireError } from '../../errors.ts';
import { NetStream } from '../../core/media/net-stream.ts';
import { decodeCommand, encodeStatus } from '../../flash/tc.ts';
import type { RtmpMessage } from './chunk-reader.ts';
import type { ClientPort } from '../../core/ports.ts';
import type { RtmpLink } from './link.ts';
import { splitAggregate } from './aggregate.ts';
import { CSID, EVENT, MSG } from './params.ts';

export class RtmpNetStream extends NetStream {
  private readonly connection: RtmpLink;

  constructor(client: ClientPort, connection: RtmpLink, id: number) {
    super(id, client, connection.core.publications, connection.logger);
    this.connection = connection;
  }

  onMessage(message: RtmpMessage): void {
    if (this.closed) return;
    const type = message.type;
    const publication = this.publication;
    if (type === MSG.AUDIO) {
      if (publication) this.relayAudio(publication, message.timestamp, message.payload);
      return;
    }
    if (type === MSG.VIDEO) {
      if (publication) this.relayVideo(publication, message.timestamp, message.payload);
      return;
    }
    if (type === MSG.AGGREGATE) {
      if (publication) for (const tag of splitAggregate(message.payload, message.timestamp)) this.onMessage({ ...message, ...tag });
      return;
    }
    try {
      if (type === MSG.DATA_AMF0 || type === MSG.DATA_AMF3) this.relayData(type, message.payload);
      else if (type === MSG.COMMAND_AMF0 || type === MSG.COMMAND_AMF3) {
        this.onCommand(
          decodeCommand({ type, time: message.timestamp, body: message.payload }, this.connection.core.application.amfReadOptions),
        );
      }
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.connection.logger.debug({ err: error.message, code: error.code, stream: this.id }, 'malformed RTMP NetStream message');
    }
  }

  protected override onPublishing(): void {
    this.streamBegin();
  }

  protected streamBegin(): void {
    this.connection.userControl(EVENT.STREAM_BEGIN, this.id);
  }

  /** MonaServer sends StreamEOF with Play.Stop and Pause.Notify (RTMP.md §4). */
  protected override streamEOF(): void {
    this.connection.userControl(EVENT.STREAM_EOF, this.id);
  }

  protected writeCommand(message: Uint8Array): void {
    this.connection.sendTC(CSID.STREAM, this.id, message);
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
