// AMF0 encoding and decoding (Adobe AMF 0 specification; RTMFP.md §8.1, §8.2, §8.4).

import { ByteReader, ByteWriter, utf8Encode } from '../../bytes.ts';
import { AmfError } from '../../errors.ts';
import { AMFDictionary, AMFVector, AMFXML, MAX_DEPTH, MixedArray, TypedObject, setMember, type AMFObject, type AMFValue } from './types.ts';

export const AMF0 = {
  NUMBER: 0x00,
  BOOLEAN: 0x01,
  STRING: 0x02,
  OBJECT: 0x03,
  MOVIECLIP: 0x04,
  NULL: 0x05,
  UNDEFINED: 0x06,
  REFERENCE: 0x07,
  ECMA_ARRAY: 0x08,
  OBJECT_END: 0x09,
  STRICT_ARRAY: 0x0a,
  DATE: 0x0b,
  LONG_STRING: 0x0c,
  UNSUPPORTED: 0x0d,
  RECORDSET: 0x0e,
  XML_DOCUMENT: 0x0f,
  TYPED_OBJECT: 0x10,
  AVMPLUS: 0x11,
} as const;

export interface AMF0DecodeContext {
  readonly bytes: ByteReader;
  /** complex values in the order their markers were met (§8.2) */
  readonly references: AMFValue[];
  depth: number;
  readAMF3(): AMFValue;
}

export interface AMF0EncodeContext {
  readonly bytes: ByteWriter;
  readonly references: Map<object, number>;
  /** marker 0x11 and one AMF3 value: for what AMF0 cannot express */
  writeSwitched(v: AMFValue): void;
}

// ---------------------------------------------------------------------------------------------
// decoding

// bytes.ts utf8Decode drops a leading U+FEFF (TextDecoder's BOM handling); AMF strings keep every character
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** n bytes of UTF-8 as a string, keeping a leading U+FEFF. */
export function readUTF8(r: ByteReader, n: number): string {
  return n === 0 ? '' : textDecoder.decode(r.read(n));
}

export function readAMF0Value(c: AMF0DecodeContext): AMFValue {
  const r = c.bytes;
  const marker = r.u8();
  switch (marker) {
    case AMF0.NUMBER:
      return r.f64();
    case AMF0.BOOLEAN:
      return r.u8() !== 0;
    case AMF0.STRING:
      return readUTF8(r, r.u16());
    case AMF0.LONG_STRING:
      return readUTF8(r, r.u32());
    case AMF0.NULL:
      return null;
    case AMF0.UNDEFINED:
    case AMF0.UNSUPPORTED:
      return undefined;
    case AMF0.REFERENCE: {
      const index = r.u16();
      if (index >= c.references.length) {
        throw new AmfError(`AMF0 reference ${index} out of range (${c.references.length})`);
      }
      return c.references[index];
    }
    case AMF0.DATE: {
      const date = new Date(r.f64());
      r.skip(2); // time zone: always 0 from Flash, ignored by everyone
      return date;
    }
    case AMF0.XML_DOCUMENT:
      return new AMFXML(readUTF8(r, r.u32()), true);
    case AMF0.AVMPLUS:
      return c.readAMF3();
    case AMF0.OBJECT:
    case AMF0.ECMA_ARRAY:
    case AMF0.STRICT_ARRAY:
    case AMF0.TYPED_OBJECT:
      if (++c.depth > MAX_DEPTH) throw new AmfError(`AMF0 nesting deeper than ${MAX_DEPTH}`);
      try {
        return readComplex(c, marker);
      } finally {
        c.depth--;
      }
    default:
      throw new AmfError(`AMF0 unexpected marker 0x${marker.toString(16)}`);
  }
}

function readComplex(c: AMF0DecodeContext, marker: number): AMFValue {
  const r = c.bytes;
  switch (marker) {
    case AMF0.OBJECT: {
      const obj: AMFObject = {};
      c.references.push(obj);
      readProperties(c, (name, value) => setMember(obj, name, value));
      return obj;
    }
    case AMF0.TYPED_OBJECT: {
      const obj = new TypedObject(readUTF8(r, r.u16()));
      c.references.push(obj);
      readProperties(c, (name, value) => setMember(obj.properties, name, value));
      return obj;
    }
    case AMF0.ECMA_ARRAY: {
      r.skip(4); // the count is only a hint: the end marker is authoritative
      const array = new MixedArray();
      c.references.push(array);
      readProperties(c, (name, value) => {
        // indices 0, 1, 2… written first (as Flash does) are the dense part
        if (name === String(array.dense.length)) array.dense.push(value);
        else setMember(array.assoc, name, value);
      });
      return array;
    }
    default: {
      const count = r.u32();
      if (count > r.available) throw new AmfError(`AMF0 strict array count ${count} exceeds the input`);
      const array: AMFValue[] = [];
      c.references.push(array);
      for (let i = 0; i < count; i++) array.push(readAMF0Value(c));
      return array;
    }
  }
}

function readProperties(c: AMF0DecodeContext, set: (name: string, value: AMFValue) => void): void {
  const r = c.bytes;
  for (;;) {
    const n = r.u16();
    if (n === 0 && r.peek() === AMF0.OBJECT_END) {
      r.skip(1);
      return;
    }
    const name = readUTF8(r, n);
    set(name, readAMF0Value(c));
  }
}

// ---------------------------------------------------------------------------------------------
// encoding

// Member names, status codes and levels recur in every message: keep their UTF-8 bytes around.
const encodedCache = new Map<string, Uint8Array>();
const CACHE_ENTRIES = 1024;
const CACHE_MAX_LENGTH = 64;

/** UTF-8 bytes of a string; short strings come from a bounded cache (callers copy, never mutate). */
export function encodeUTF8(s: string): Uint8Array {
  if (s.length > CACHE_MAX_LENGTH) return utf8Encode(s);
  let bytes = encodedCache.get(s);
  if (bytes === undefined) {
    if (encodedCache.size >= CACHE_ENTRIES) encodedCache.clear();
    bytes = utf8Encode(s);
    encodedCache.set(s, bytes);
  }
  return bytes;
}

function writeName(w: ByteWriter, name: string): void {
  const bytes = encodeUTF8(name);
  if (bytes.length > 0xffff) throw new AmfError(`AMF0 name longer than 65535 bytes`);
  w.u16(bytes.length).write(bytes);
}

function writeProperties(c: AMF0EncodeContext, members: AMFObject): void {
  for (const name of Object.keys(members)) {
    // an empty name would be taken for the object end
    if (name === '') continue;
    writeName(c.bytes, name);
    writeAMF0Value(c, members[name]);
  }
  c.bytes.u16(0).u8(AMF0.OBJECT_END);
}

/** Writes marker 0x07 when `obj` was already written in this message, else registers it. */
function writeReference(c: AMF0EncodeContext, obj: object): boolean {
  const index = c.references.get(obj);
  if (index !== undefined) {
    c.bytes.u8(AMF0.REFERENCE).u16(index);
    return true;
  }
  // past the u16 range an object cannot be referred to, so it is not numbered either
  if (c.references.size <= 0xffff) c.references.set(obj, c.references.size);
  return false;
}

export function writeAMF0String(w: ByteWriter, s: string): void {
  const bytes = encodeUTF8(s);
  if (bytes.length > 0xffff) w.u8(AMF0.LONG_STRING).u32(bytes.length);
  else w.u8(AMF0.STRING).u16(bytes.length);
  w.write(bytes);
}

export function writeAMF0Value(c: AMF0EncodeContext, v: AMFValue): void {
  const w = c.bytes;
  switch (typeof v) {
    case 'undefined':
      w.u8(AMF0.UNDEFINED);
      return;
    case 'boolean':
      w.u8(AMF0.BOOLEAN).u8(v ? 1 : 0);
      return;
    case 'number':
      w.u8(AMF0.NUMBER).f64(v);
      return;
    case 'string':
      writeAMF0String(w, v);
      return;
    case 'bigint':
      w.u8(AMF0.NUMBER).f64(Number(v));
      return;
    case 'object':
      break;
    default:
      w.u8(AMF0.UNDEFINED);
      return;
  }
  if (v === null) {
    w.u8(AMF0.NULL);
    return;
  }
  if (v instanceof Date) {
    w.u8(AMF0.DATE).f64(v.getTime()).u16(0);
    return;
  }
  if (v instanceof AMFXML) {
    const bytes = encodeUTF8(v.text);
    w.u8(AMF0.XML_DOCUMENT).u32(bytes.length).write(bytes);
    return;
  }
  if (v instanceof Uint8Array || v instanceof AMFDictionary || v instanceof AMFVector || (v instanceof TypedObject && v.externalizable)) {
    c.writeSwitched(v);
    return;
  }
  if (c.references.has(v)) {
    writeReference(c, v);
    return;
  }
  if (Array.isArray(v)) {
    writeReference(c, v);
    w.u8(AMF0.STRICT_ARRAY).u32(v.length);
    for (let i = 0; i < v.length; i++) writeAMF0Value(c, v[i]);
    return;
  }
  if (v instanceof MixedArray) {
    writeReference(c, v);
    const dense = v.dense;
    w.u8(AMF0.ECMA_ARRAY).u32(dense.length + Object.keys(v.assoc).length);
    for (let i = 0; i < dense.length; i++) {
      writeName(w, String(i));
      writeAMF0Value(c, dense[i]);
    }
    writeProperties(c, v.assoc);
    return;
  }
  if (v instanceof TypedObject && v.className !== '') {
    writeReference(c, v);
    w.u8(AMF0.TYPED_OBJECT);
    writeName(w, v.className);
    writeProperties(c, v.properties);
    return;
  }
  writeReference(c, v);
  w.u8(AMF0.OBJECT);
  writeProperties(c, v instanceof TypedObject ? v.properties : v);
}
