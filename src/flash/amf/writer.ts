// One AMFWriter per message. Servers speak AMF0 for everything Flash expects in AMF0 (command names,
// transaction IDs, status objects) and switch to AMF3 (marker 0x11) for application values, unless
// the client connected with objectEncoding 0.

import { ByteWriter } from '../../bytes.ts';
import { AMF0, writeAMF0Value, type AMF0EncodeContext } from './amf0.ts';
import { writeAMF3Value, type AMF3EncodeContext } from './amf3.ts';
import type { AMFWriteOptions } from './options.ts';
import type { AMFValue } from './types.ts';

// callers configure an AMFWriter: they find its options here
export type { AMFWriteOptions, AMF3Output } from './options.ts';

export class AMFWriter implements AMF0EncodeContext, AMF3EncodeContext {
  readonly bytes: ByteWriter;
  readonly options: AMFWriteOptions;
  /** @internal AMF0 complex-object table */
  readonly references = new Map<object, number>();
  /** @internal AMF3 string table */
  readonly strings = new Map<string, number>();
  /** @internal AMF3 object table */
  readonly objects = new Map<object, number>();
  /** @internal AMF3 traits table */
  readonly traits = new Map<string, number>();

  constructor(options: AMFWriteOptions = {}) {
    this.options = options;
    this.bytes = new ByteWriter();
  }

  /**
   * A value in an AMF0 stream: primitives as AMF0, complex values as 0x11 + AMF3 (or as AMF0 when
   * amf0Only, switching only for ByteArray, Dictionary, Vector and externalizable objects).
   */
  write(v: AMFValue): this {
    if (this.options.amf0Only || v === null || typeof v !== 'object') writeAMF0Value(this, v);
    else this.writeSwitched(v);
    return this;
  }

  /** Pure AMF0, switching to AMF3 only for values AMF0 cannot express. */
  writeAMF0(v: AMFValue): this {
    writeAMF0Value(this, v);
    return this;
  }

  /** A raw AMF3 value (no 0x11 marker). */
  writeAMF3(v: AMFValue): this {
    writeAMF3Value(this, v);
    return this;
  }

  /** @internal */
  writeSwitched(v: AMFValue): void {
    this.bytes.u8(AMF0.AVMPLUS);
    writeAMF3Value(this, v);
  }

  toBytes(): Uint8Array {
    return this.bytes.bytes();
  }
}
