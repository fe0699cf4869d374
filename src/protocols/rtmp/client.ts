// The server's side of one RTMP client: the NetConnection dialogue on message stream 0 (RTMP.md §5.2–5.3)
// and the ClientPort the application sees, the same verdicts and answers as RTMFP's ServerClient
// (src/protocols/rtmfp/client.ts) so one Lua application serves both protocols.
import { clip } from '../../log.ts';
import { randomBytes } from 'node:crypto';
import { hex } from '../../bytes.ts';
import { decodeCommand, encodeCommand, encodeStatus, type TCCommand } from '../../flash/tc.ts';
import { isAMFObject, type AMFObject } from '../../flash/amf/types.ts';
import type { ApplicationPort, ClientPort, WriterPort } from '../../core/ports.ts';
import type { RtmpMessage } from './chunk-reader.ts';
import type { RtmpLink } from './link.ts';
import { CSID, MAX_STREAMS, MSG } from './params.ts';
import { RtmpNetStream } from './net-stream.ts';
import { RtmpWriterPort } from './writer-port.ts';
import { parseTcUrl } from '../../flash/tc-url.ts';

/**
 * Commands ffmpeg and OBS send around publish and play (RTMP.md §5.3–5.4). MonaServer hands them to the
 * application like any call; when the application has no such method they are answered as nginx-rtmp
 * does: not at all (ffmpeg ignores an `_error` to them, OBS does not wait).
 */
const ENCODER_COMMANDS = new Set(['releaseStream', 'FCPublish', 'FCUnpublish', 'FCSubscribe', 'FCUnsubscribe', 'getStreamLength']);

export class RtmpClient implements ClientPort {
  readonly protocol = 'RTMP';
  /** RTMP has no peer id: 32 random bytes stand for it, as the client registry keys on one */
  readonly rawId: Uint8Array = new Uint8Array(randomBytes(32));
  readonly id = hex(this.rawId);
  readonly connection: RtmpLink;
  properties: AMFObject = {};
  path = '';
  query = '';
  readonly peerAddresses: readonly string[] = [];
  connected = false;
  /** 0 (AMF0, the RTMP default) unless connect said 3 (ERRATA §8.1.1) */
  objectEncoding = 0;
  private mainWriter: RtmpWriterPort | undefined;
  private readonly streams = new Map<number, RtmpNetStream>();
  private disconnectNotified = false;

  constructor(connection: RtmpLink) {
    this.connection = connection;
  }

  private get application(): ApplicationPort {
    return this.connection.core.application;
  }

  // ClientPort -----------------------------------------------------------------------------------------
  get address(): string {
    return this.connection.address;
  }

  get ping(): number {
    return this.connection.rtt;
  }

  get lastReceptionTime(): number {
    return this.connection.lastReceptionTime;
  }

  get writer(): WriterPort {
    return this.mainWriter ?? this.ensureWriter();
  }

  get streamCount(): number {
    return this.streams.size;
  }

  setTimeout(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.connection.timeoutMs = seconds * 1000;
  }

  private ensureWriter(): RtmpWriterPort {
    this.mainWriter ??= new RtmpWriterPort(
      this.connection,
      CSID.COMMAND,
      0,
      {
        ...this.application.amfWriteOptions,
        amf0Only: this.objectEncoding === 0,
      },
      true,
    );
    return this.mainWriter;
  }

  // Messages ---------------------------------------------------------------------------------------------
  onMessage(message: RtmpMessage): void {
    if (message.streamId !== 0) {
      const stream = this.streams.get(message.streamId);
      // media or commands on a stream never created are dropped (MonaServer closes the session instead)
      if (stream) stream.onMessage(message);
      else this.connection.logger.debug({ streamId: message.streamId, type: message.type }, 'rtmp message on an unknown stream');
      return;
    }
    if (message.type !== MSG.COMMAND_AMF0 && message.type !== MSG.COMMAND_AMF3) return;
    const command = decodeCommand({ type: message.type, time: message.timestamp, body: message.payload }, this.application.amfReadOptions);
    this.onCommand(command);
  }

  /** SetBufferLength from the client: nothing to do for live streams. */
  onBufferLength(_streamId: number, _ms: number): void {}

  private onCommand(command: TCCommand): void {
    if (command.name === 'connect') {
      this.onConnect(command);
      return;
    }
    const writer = this.ensureWriter();
    if (!this.connected) {
      writer.writeError(command.transactionId, 'NetConnection.Call.Failed', 'Client must be connected before remote procedure calling');
      return;
    }
    switch (command.name) {
      case 'createStream': {
        if (this.streams.size >= MAX_STREAMS) {
          writer.writeError(command.transactionId, 'NetConnection.Call.Failed', `Too many streams (${MAX_STREAMS})`);
          return;
        }
        // the lowest free id from 1, as MonaServer; ffmpeg wants exactly null then a number
        let id = 1;
        while (this.streams.has(id)) id++;
        this.streams.set(id, new RtmpNetStream(this, this.connection, id));
        writer.writeCommand('_result', command.transactionId, [id]);
        return;
      }
      case 'deleteStream': {
        const id = command.args[0];
        if (typeof id === 'number') {
          this.streams.get(id)?.close();
          this.streams.delete(id);
        }
        return;
      }
      case 'closeStream': {
        // some clients send it on stream 0 with the stream id as argument
        const id = command.args[0];
        if (typeof id === 'number') this.streams.get(id)?.onCommand(command);
        return;
      }
      default: {
        const outcome = this.application.onCall(this, command.name, command.transactionId, command.args);
        if (outcome.ok) {
          // transaction 0 too (NetConnection.call without a responder), as RTMFP and both reference servers
          writer.writeResult(command.transactionId, outcome.results);
        } else if (!ENCODER_COMMANDS.has(command.name)) {
          writer.writeError(command.transactionId, outcome.code, outcome.description);
        }
      }
    }
  }

  private onConnect(command: TCCommand): void {
    if (this.connected) return;
    const properties = isAMFObject(command.commandObject) ? command.commandObject : {};
    this.properties = properties;
    this.objectEncoding = properties.objectEncoding === 3 ? 3 : 0;
    const writer = this.ensureWriter();
    writer.options.amf0Only = this.objectEncoding === 0;
    const url = parseTcUrl(typeof properties.tcUrl === 'string' ? properties.tcUrl : '', properties.app);
    const resolved = this.application.resolvePath(url.path);
    if (!resolved.ok) {
      // any client can ask for any path, as often as it likes: one line per interval, as RTMFP does
      const fields = { path: clip(url.path), reason: resolved.reason, address: this.address };
      if (this.connection.rateLog) this.connection.rateLog.log('warn', 'connection-path-rejected', 'rtmp connection path rejected', fields);
      else this.connection.logger.warn(fields, 'rtmp connection path rejected');
      this.reject(command.transactionId, 'NetConnection.Connect.InvalidApp', resolved.reason);
      return;
    }
    this.path = resolved.path;
    this.query = url.query;
    const verdict = this.application.onConnection(this, command.args);
    if (!verdict.accepted) {
      this.reject(command.transactionId, 'NetConnection.Connect.Rejected', verdict.description);
      return;
    }
    this.connected = true;
    this.connection.core.addClient(this);
    if (verdict.timeout !== undefined) this.setTimeout(verdict.timeout);
    this.connection.sendProtocolSettings();
    const info: AMFObject = {
      level: 'status',
      code: 'NetConnection.Connect.Success',
      description: 'Connection succeeded',
      objectEncoding: this.objectEncoding,
      ...verdict.info,
    };
    // properties as nginx-rtmp and ffmpeg -listen send them (RTMP.md §5.2); the info object in AMF0
    const message = encodeCommand('_result', command.transactionId, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, [info], {
      amf0Only: true,
    });
    this.connection.sendTC(CSID.COMMAND, 0, message);
    this.connection.onConnected();
    this.connection.logger.info(
      {
        path: clip(this.path),
        flashVer: typeof properties.flashVer === 'string' ? clip(properties.flashVer) : undefined,
        address: this.address,
      },
      'rtmp client connected',
    );
  }

  private reject(transactionId: number, code: string, description: string): void {
    this.connection.sendTC(CSID.COMMAND, 0, encodeStatus('_error', transactionId, { level: 'error', code, description }));
    this.connection.sendTC(CSID.COMMAND, 0, encodeCommand('close', 0, null, [], { amf0Only: true }));
    this.connection.onRejected(description);
    this.connection.logger.info({ address: this.address, code, description: clip(description) }, 'rtmp connection refused');
  }

  onFailed(reason: string): void {
    if (this.connected) this.application.onFailed(this, reason);
  }

  /** The connection is gone: streams stop without status, then onDisconnection. */
  onClosed(): void {
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
    if (this.connected && !this.disconnectNotified) {
      this.disconnectNotified = true;
      try {
        this.application.onDisconnection(this);
      } finally {
        this.connection.core.removeClient(this);
      }
    }
  }
}
