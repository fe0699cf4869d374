// One AMFReader per message: the AMF0 and AMF3 reference tables it holds are scoped to that message,
// and AMF3 values met after successive 0x11 switches share them (as Cumulus and Mona read).

import { ByteReader } from '../../bytes.ts';
import { readAMF0Value, type AMF0DecodeContext } from './amf0.ts';
import { readAMF3Value, type AMF3DecodeContext, type AMF3Traits } from './amf3.ts';
import type { AMFReadOptions } from './options.ts';
import type { AMFValue } from './types.ts';

// callers configure an AMFReader: they find its options here
export type { AMFReadOptions, AMF3Input } from './options.ts';

export class AMFReader implements AMF0DecodeContext, AMF3DecodeContext {
  readonly bytes: ByteReader;
  readonly options: AMFReadOptions;
  /** @internal AMF0 complex-object table */
  readonly references: AMFValue[] = [];
  /** @internal AMF3 string table */
  readonly strings: string[] = [];
  /** @internal AMF3 object table */
  readonly objects: AMFValue[] = [];
  /** @internal AMF3 traits table */
  readonly traits: AMF3Traits[] = [];
  /** @internal current nesting of containers */
  depth = 0;

  constructor(source: Uint8Array | ByteReader, options: AMFReadOptions = {}) {
    this.bytes = source instanceof ByteReader ? source : new ByteReader(source);
    this.options = options;
  }

  get available(): number {
    return this.bytes.available;
  }

  /** One AMF0 value; marker 0x11 yields exactly one AMF3 value, then the stream is AMF0 again. */
  readAMF0(): AMFValue {
    return readAMF0Value(this);
  }

  /** One AMF3 value. */
  readAMF3(): AMFValue {
    return readAMF3Value(this);
  }

  /** AMF0 values until the end of the input. */
  readAll(): AMFValue[] {
    const values: AMFValue[] = [];
    while (this.bytes.available > 0) values.push(readAMF0Value(this));
    return values;
  }
}
