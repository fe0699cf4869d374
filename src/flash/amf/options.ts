// What callers plug into an AMFReader or AMFWriter. Kept apart from reader.ts and writer.ts because the AMF3
// codec (amf3.ts) calls the externalizable hooks, and reader/writer in turn call the codec.

import type { ByteReader, ByteWriter } from '../../bytes.ts';
import type { AMFValue, TypedObject } from './types.ts';

export interface AMFReadOptions {
  /**
   * Called for an AMF3 externalizable object of a class the codec does not know; must consume
   * exactly the body from `input`. The result is stored in TypedObject.external.
   */
  readExternal?: (className: string, input: AMF3Input) => AMFValue;
}

/** What a readExternal hook gets: the bytes, and AMF3 values decoded with the message's tables. */
export interface AMF3Input {
  readonly bytes: ByteReader;
  readAMF3(): AMFValue;
}

export interface AMFWriteOptions {
  /** Pure AMF0 client (objectEncoding 0): never switch except for values AMF0 cannot express. */
  amf0Only?: boolean;
  /** Writes the body of an externalizable object; returns true if it did. */
  writeExternal?: (obj: TypedObject, out: AMF3Output) => boolean;
}

/** What a writeExternal hook gets: the bytes, and AMF3 values encoded with the message's tables. */
export interface AMF3Output {
  readonly bytes: ByteWriter;
  writeAMF3(v: AMFValue): void;
}
