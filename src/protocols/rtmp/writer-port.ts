// The application-facing writer of an RTMP client (WriterPort): TC messages (src/flash/tc.ts) sent on one
// chunk stream and message stream. Writing after the connection ended is silently ignored, as the Lua API
// promises; the main writer's close() closes the connection.
import type { AMFObject, AMFValue } from '../../flash/amf/types.ts';
import type { AMFWriteOptions } from '../../flash/amf/writer.ts';
import { encodeCommand, encodeData, encodeStatus } from '../../flash/tc.ts';
import type { WriterPort } from '../../core/ports.ts';
import type { RtmpLink } from './link.ts';

const OBJECT_PREFIX = /^(NetConnection|NetStream|NetGroup|SharedObject)\./;

export class RtmpWriterPort implements WriterPort {
  readonly connection: RtmpLink;
  readonly csid: number;
  readonly streamId: number;
  readonly options: AMFWriteOptions;
  /** TCP delivers everything: the flag is kept for scripts that read it back */
  reliable = true;
  private readonly main: boolean;
  private ownClosed = false;

  constructor(connection: RtmpLink, csid: number, streamId: number, options: AMFWriteOptions, main: boolean) {
    this.connection = connection;
    this.csid = csid;
    this.streamId = streamId;
    this.options = options;
    this.main = main;
  }

  get closed(): boolean {
    return this.ownClosed || !this.connection.writable;
  }

  write(message: Uint8Array): void {
    if (!this.closed) this.connection.sendTC(this.csid, this.streamId, message);
  }

  /** A command with a null command object (RTMP.md §5.1): `_result`, `close`, server calls. */
  writeCommand(name: string, transactionId: number, args: AMFValue[]): void {
    this.write(encodeCommand(name, transactionId, null, args, this.options));
  }

  writeInvocation(name: string, args: AMFValue[]): void {
    this.writeCommand(name, 0, args);
  }

  writeResult(transactionId: number, values: AMFValue[]): void {
    this.writeCommand('_result', transactionId, values);
  }

  writeError(transactionId: number, code: string, description: string): void {
    this.write(encodeStatus('_error', transactionId, { level: 'error', code, description }));
  }

  writeStatus(code: string, description: string, level: 'status' | 'error' = 'status', extra: AMFObject = {}): void {
    const full = OBJECT_PREFIX.test(code) ? code : `NetConnection.${code}`;
    this.write(encodeStatus('onStatus', 0, { level, code: full, description, ...extra }));
  }

  writeData(name: string, args: AMFValue[]): void {
    this.write(encodeData(name, args, this.options));
  }

  /** A complete TC message: type u8 | time u32 | payload. */
  writeRaw(bytes: Uint8Array): void {
    if (bytes.length >= 5) this.write(bytes);
  }

  flush(): void {
    if (!this.closed) this.connection.flush();
  }

  newWriter(): WriterPort {
    return new RtmpWriterPort(this.connection, this.csid, this.streamId, this.options, false);
  }

  close(): void {
    if (this.main) this.connection.close('main writer closed');
    this.ownClosed = true;
  }
}
