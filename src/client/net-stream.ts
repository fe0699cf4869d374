// The client's NetStream over RTMFP (RTMFP.md §5.5): commands and data on one flow with metadata
// `TC 04 <id>` associated with the server's NetConnection writer, audio and video on a flow each so that
// their reliability can differ (audioReliable / videoReliable, as Flash's NetStream has them). Whatever the
// server sends on flows of this stream arrives here as status, media and data events.
import { EventEmitter } from 'node:events';
import type { FlowWriter } from '../protocols/rtmfp/flow/writer.ts';
import type { FlowHandler, Session } from '../protocols/rtmfp/session/session.ts';
import { tcSignature } from '../protocols/rtmfp/session/writer-port.ts';
import { StatusError, TimeoutError, WireError } from '../errors.ts';
import type { AMFObject, AMFValue } from '../flash/amf/types.ts';
import { isAMFObject } from '../flash/amf/types.ts';
import { TC, decodeCommand, decodeData, decodeTCMessage, encodeCommand, encodeData, encodeTCMessage } from '../flash/tc.ts';

export interface NetStreamEvents {
  status: [info: AMFObject];
  /** media as received: timestamp and the FLV AUDIODATA / VIDEODATA body */
  audio: [time: number, packet: Uint8Array];
  video: [time: number, packet: Uint8Array];
  /** a data message: handler name, decoded arguments, and the raw body after the type and timestamp */
  data: [name: string, args: AMFValue[], body: Uint8Array];
  /** a command that is not onStatus (e.g. `close` from publication:close) */
  invocation: [name: string, args: AMFValue[]];
}

/** What a NetStream needs from its NetConnection. */
export interface NetStreamTransport {
  readonly session: Session;
  /** the server's NetConnection writer as seen here: client stream flows are associated with it (§4.4) */
  netConnectionFlowId(): number | undefined;
}

export class NetStream extends EventEmitter<NetStreamEvents> {
  readonly id: number;
  /** publisher side: media repeated until acknowledged (true) or sent once (false) */
  audioReliable = true;
  videoReliable = true;
  dataReliable = true;
  /** messages the server's flows reported lost before delivering the next one (unbuffered play) */
  lost = 0;
  private readonly transport: NetStreamTransport;
  private readonly signature: Uint8Array;
  private commandWriter: FlowWriter | undefined;
  private audioWriter: FlowWriter | undefined;
  private videoWriter: FlowWriter | undefined;

  constructor(transport: NetStreamTransport, id: number) {
    super();
    this.transport = transport;
    this.id = id;
    this.signature = tcSignature(id);
  }

  publish(name: string, type: 'live' | 'record' | 'append' = 'live'): void {
    this.command('publish', name, type);
  }

  /** `start` in seconds as Flash takes it: −2 live or recorded (default), −1 live only, −3 unbuffered (Cumulus). */
  play(name: string, start = -2): void {
    this.command('play', name, start * 1000);
  }

  closeStream(): void {
    this.command('closeStream');
  }

  receiveAudio(enabled: boolean): void {
    this.command('receiveAudio', enabled);
  }

  receiveVideo(enabled: boolean): void {
    this.command('receiveVideo', enabled);
  }

  pause(paused: boolean): void {
    this.command('pause', paused, 0);
  }

  sendAudio(time: number, packet: Uint8Array): void {
    this.audioWriter ??= this.newWriter();
    this.audioWriter.write(encodeTCMessage(TC.AUDIO, time, packet), this.audioReliable);
  }

  sendVideo(time: number, packet: Uint8Array): void {
    this.videoWriter ??= this.newWriter();
    this.videoWriter.write(encodeTCMessage(TC.VIDEO, time, packet), this.videoReliable);
  }

  /** NetStream.send(name, ...args): a data message (0x0f) on the command flow. */
  send(name: string, ...args: AMFValue[]): void {
    this.writer().write(encodeData(name, args), this.dataReliable);
  }

  /** A data message exactly as given (type 0x0f or 0x12, body after the timestamp), e.g. from an FLV tag. */
  sendDataMessage(type: number, body: Uint8Array): void {
    this.writer().write(encodeTCMessage(type, 0, body), this.dataReliable);
  }

  /** The next status whose code is `code` (or any of `codes`); rejects on a level "error" status otherwise. */
  waitStatus(code: string | string[], timeoutMs = 5_000): Promise<AMFObject> {
    const codes = Array.isArray(code) ? code : [code];
    return new Promise<AMFObject>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('status', onStatus);
        reject(new TimeoutError(`no ${codes.join('/')} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onStatus = (info: AMFObject) => {
        if (codes.includes(String(info.code))) {
          clearTimeout(timer);
          this.off('status', onStatus);
          resolve(info);
        } else if (info.level === 'error') {
          clearTimeout(timer);
          this.off('status', onStatus);
          reject(new StatusError(String(info.description ?? info.code), typeof info.code === 'string' ? info.code : '', info));
        }
      };
      this.on('status', onStatus);
    });
  }

  /** Stop sending: close this stream's flows (the NetConnection's deleteStream tells the server). */
  close(): void {
    this.commandWriter?.close();
    this.audioWriter?.close();
    this.videoWriter?.close();
  }

  /** A flow the server opened for this stream. */
  flow(): FlowHandler {
    return { onMessage: (message, lostBefore) => this.onMessage(message, lostBefore) };
  }

  private onMessage(message: Uint8Array, lostBefore: number): void {
    if (message.length < 5) return;
    this.lost += lostBefore;
    const type = message[0]!;
    if (type === TC.AUDIO || type === TC.VIDEO) {
      const time = ((message[1]! << 24) | (message[2]! << 16) | (message[3]! << 8) | message[4]!) >>> 0;
      this.emit(type === TC.AUDIO ? 'audio' : 'video', time, message.subarray(5));
      return;
    }
    try {
      const tc = decodeTCMessage(message);
      if (type === TC.DATA_AMF0 || type === TC.DATA_AMF3) {
        const data = decodeData(tc);
        this.emit('data', data.name, data.args, tc.body);
      } else if (type === TC.COMMAND_AMF0 || type === TC.COMMAND_AMF3) {
        const command = decodeCommand(tc);
        const info = command.args[0];
        if (command.name === 'onStatus' && isAMFObject(info)) this.emit('status', info);
        else this.emit('invocation', command.name, command.args);
      }
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
    }
  }

  private command(name: string, ...args: AMFValue[]): void {
    this.writer().write(encodeCommand(name, 0, null, args), true);
  }

  private writer(): FlowWriter {
    this.commandWriter ??= this.newWriter();
    return this.commandWriter;
  }

  private newWriter(): FlowWriter {
    return this.transport.session.newWriter(this.signature, this.transport.netConnectionFlowId());
  }
}
