// The application-facing face of a flow writer: TC messages (RTMFP.md §5) encoded for the client's
// object encoding. Writing after the session ended is silently ignored, as the Lua API promises.
import type { AMFObject, AMFValue } from '../../../flash/amf/types.ts';
import { encodeCommand, encodeData, encodeStatus } from '../../../flash/tc.ts';
import { concat, encodeVLU } from '../../../bytes.ts';
import type { FlowWriter } from '../flow/writer.ts';
import type { AMFWriteOptions } from '../../../flash/amf/writer.ts';
import type { Session } from './session.ts';
import type { WriterPort } from '../../../core/ports.ts';

const OBJECT_PREFIX = /^(NetConnection|NetStream|NetGroup|SharedObject)\./;

const TC_STREAM_PREFIX = Uint8Array.of(0x54, 0x43, 0x04);

/** The flow signature of a NetConnection (0) or NetStream (its id) flow: "TC" 04 VLU(id) (RTMFP.md §4.4). */
export function tcSignature(streamId: number): Uint8Array {
  return concat(TC_STREAM_PREFIX, encodeVLU(streamId));
}

export class FlowWriterPort implements WriterPort {
  readonly session: Session;
  readonly writer: FlowWriter;
  /** how values are encoded: pure AMF0 for objectEncoding 0 clients, the application's externalizable hook */
  readonly options: AMFWriteOptions;
  /** prefix of status codes written through writeStatus ("NetConnection", "NetStream") */
  readonly objectName: string;

  constructor(session: Session, writer: FlowWriter, options: AMFWriteOptions = {}, objectName = 'NetConnection') {
    this.session = session;
    this.writer = writer;
    this.options = options;
    this.objectName = objectName;
  }

  get closed(): boolean {
    return this.writer.closed || this.session.closed;
  }

  get reliable(): boolean {
    return this.writer.reliable;
  }

  set reliable(value: boolean) {
    this.writer.reliable = value;
  }

  write(message: Uint8Array): void {
    if (this.closed || !this.session.usable) return;
    this.writer.write(message);
  }

  writeInvocation(name: string, args: AMFValue[]): void {
    this.write(encodeCommand(name, 0, null, args, this.options));
  }

  writeResult(transactionId: number, values: AMFValue[]): void {
    this.write(encodeCommand('_result', transactionId, null, values, this.options));
  }

  writeError(transactionId: number, code: string, description: string): void {
    this.write(encodeStatus('_error', transactionId, { level: 'error', code, description }));
  }

  writeStatus(code: string, description: string, level: 'status' | 'error' = 'status', extra: AMFObject = {}): void {
    const full = OBJECT_PREFIX.test(code) ? code : `${this.objectName}.${code}`;
    this.write(encodeStatus('onStatus', 0, { level, code: full, description, ...extra }));
  }

  writeData(name: string, args: AMFValue[]): void {
    this.write(encodeData(name, args, this.options));
  }

  writeRaw(bytes: Uint8Array): void {
    this.write(bytes);
  }

  flush(): void {
    if (!this.closed) this.session.flush();
  }

  newWriter(): WriterPort {
    const writer = this.session.newWriter(this.writer.signature, this.writer.associatedFlowId, this.writer.reliable);
    return new FlowWriterPort(this.session, writer, this.options, this.objectName);
  }

  close(): void {
    if (this.writer.critical) {
      this.session.close('main writer closed');
      return;
    }
    this.writer.close();
  }
}
