// AMF3 encoding and decoding (Adobe AMF 3 specification; RTMFP.md §8.3). The reference tables live in
// the context (one per message); this file only knows how each marker is laid out.

import { ByteReader, ByteWriter, utf8Encode } from '../../bytes.ts';
import { AmfError } from '../../errors.ts';
import { AMFDictionary, AMFVector, AMFXML, MAX_DEPTH, MixedArray, TypedObject, setMember, type AMFObject, type AMFValue } from './types.ts';
import { encodeUTF8, readUTF8 } from './amf0.ts';
import type { AMF3Input, AMF3Output, AMFReadOptions, AMFWriteOptions } from './options.ts';

export const AMF3 = {
  UNDEFINED: 0x00,
  NULL: 0x01,
  FALSE: 0x02,
  TRUE: 0x03,
  INTEGER: 0x04,
  DOUBLE: 0x05,
  STRING: 0x06,
  XML_DOCUMENT: 0x07,
  DATE: 0x08,
  ARRAY: 0x09,
  OBJECT: 0x0a,
  XML: 0x0b,
  BYTE_ARRAY: 0x0c,
  VECTOR_INT: 0x0d,
  VECTOR_UINT: 0x0e,
  VECTOR_DOUBLE: 0x0f,
  VECTOR_OBJECT: 0x10,
  DICTIONARY: 0x11,
} as const;

const U29_MAX = 0x1fffffff;
const INT29_MIN = -0x10000000;
const INT29_MAX = 0x0fffffff;

/** Flex classes whose writeExternal body is a single AMF3 value. */
const BUILTIN_EXTERNALIZABLES = new Set([
  'flex.messaging.io.ArrayCollection',
  'flex.messaging.io.ObjectProxy',
  'flex.messaging.io.ArrayList',
]);

export interface AMF3Traits {
  className: string;
  sealed: string[];
  dynamic: boolean;
  externalizable: boolean;
}

export interface AMF3DecodeContext extends AMF3Input {
  readonly options: AMFReadOptions;
  readonly strings: string[];
  readonly objects: AMFValue[];
  readonly traits: AMF3Traits[];
  depth: number;
}

export interface AMF3EncodeContext extends AMF3Output {
  readonly options: AMFWriteOptions;
  readonly strings: Map<string, number>;
  readonly objects: Map<object, number>;
  readonly traits: Map<string, number>;
}

// ---------------------------------------------------------------------------------------------
// U29

export function readU29(r: ByteReader): number {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const b = r.u8();
    value = (value << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) return value;
  }
  // the fourth byte carries 8 bits, which is what makes the range 29 bits
  return ((value << 8) | r.u8()) >>> 0;
}

export function writeU29(w: ByteWriter, v: number): void {
  if (!(v >= 0 && v <= U29_MAX) || !Number.isInteger(v)) throw new AmfError(`U29 out of range: ${v}`);
  if (v < 0x80) {
    w.u8(v);
  } else if (v < 0x4000) {
    w.u8((v >>> 7) | 0x80).u8(v & 0x7f);
  } else if (v < 0x200000) {
    w.u8((v >>> 14) | 0x80)
      .u8(((v >>> 7) & 0x7f) | 0x80)
      .u8(v & 0x7f);
  } else {
    w.u8((v >>> 22) | 0x80)
      .u8(((v >>> 15) & 0x7f) | 0x80)
      .u8(((v >>> 8) & 0x7f) | 0x80)
      .u8(v & 0xff);
  }
}

/** Whether a number goes on the wire as an AMF3 integer (0x04) rather than a double. */
export function isAMF3Integer(v: number): boolean {
  return Number.isInteger(v) && v >= INT29_MIN && v <= INT29_MAX && !Object.is(v, -0);
}

// ---------------------------------------------------------------------------------------------
// decoding

function reference<T>(table: T[], index: number, what: string): T {
  if (index >= table.length) throw new AmfError(`AMF3 ${what} reference ${index} out of range (${table.length})`);
  return table[index]!;
}

/** A count of items that each take at least `unit` bytes must fit in what is left. */
function checkCount(c: AMF3DecodeContext, count: number, unit: number, what: string): void {
  if (count * unit > c.bytes.available) throw new AmfError(`AMF3 ${what} count ${count} exceeds the input`);
}

/** UTF-8-vr: string values, member names, class names, array keys. */
export function readAMF3String(c: AMF3DecodeContext): string {
  const h = readU29(c.bytes);
  if ((h & 1) === 0) return reference(c.strings, h >>> 1, 'string');
  const n = h >>> 1;
  if (n === 0) return '';
  const s = readUTF8(c.bytes, n);
  c.strings.push(s);
  return s;
}

export function readAMF3Value(c: AMF3DecodeContext): AMFValue {
  const r = c.bytes;
  const marker = r.u8();
  switch (marker) {
    case AMF3.UNDEFINED:
      return undefined;
    case AMF3.NULL:
      return null;
    case AMF3.FALSE:
      return false;
    case AMF3.TRUE:
      return true;
    case AMF3.INTEGER: {
      const v = readU29(r);
      return v > INT29_MAX ? v - 0x20000000 : v;
    }
    case AMF3.DOUBLE:
      return r.f64();
    case AMF3.STRING:
      return readAMF3String(c);
    case AMF3.XML_DOCUMENT:
    case AMF3.XML: {
      const h = readU29(r);
      if ((h & 1) === 0) return reference(c.objects, h >>> 1, 'object');
      const xml = new AMFXML(readUTF8(r, h >>> 1), marker === AMF3.XML_DOCUMENT);
      c.objects.push(xml);
      return xml;
    }
    case AMF3.DATE: {
      const h = readU29(r);
      if ((h & 1) === 0) return reference(c.objects, h >>> 1, 'object');
      const date = new Date(r.f64());
      c.objects.push(date);
      return date;
    }
    case AMF3.BYTE_ARRAY: {
      const h = readU29(r);
      if ((h & 1) === 0) return reference(c.objects, h >>> 1, 'object');
      // a copy: the message buffer may be reused once decoding is over
      const bytes = new Uint8Array(r.read(h >>> 1));
      c.objects.push(bytes);
      return bytes;
    }
    case AMF3.ARRAY:
    case AMF3.OBJECT:
    case AMF3.VECTOR_INT:
    case AMF3.VECTOR_UINT:
    case AMF3.VECTOR_DOUBLE:
    case AMF3.VECTOR_OBJECT:
    case AMF3.DICTIONARY:
      if (++c.depth > MAX_DEPTH) throw new AmfError(`AMF3 nesting deeper than ${MAX_DEPTH}`);
      try {
        return readContainer(c, marker);
      } finally {
        c.depth--;
      }
    default:
      throw new AmfError(`AMF3 unknown marker 0x${marker.toString(16)}`);
  }
}

function readContainer(c: AMF3DecodeContext, marker: number): AMFValue {
  switch (marker) {
    case AMF3.ARRAY:
      return readArray(c);
    case AMF3.OBJECT:
      return readObject(c);
    case AMF3.DICTIONARY:
      return readDictionary(c);
    default:
      return readVector(c, marker);
  }
}

function readArray(c: AMF3DecodeContext): AMFValue {
  const h = readU29(c.bytes);
  if ((h & 1) === 0) return reference(c.objects, h >>> 1, 'object');
  const count = h >>> 1;
  checkCount(c, count, 1, 'array');
  // the associative part comes first; an empty first key means a plain dense array
  let key = readAMF3String(c);
  let dense: AMFValue[];
  let result: AMFValue;
  if (key === '') {
    dense = [];
    result = dense;
    c.objects.push(dense);
  } else {
    const mixed = new MixedArray();
    dense = mixed.dense;
    result = mixed;
    c.objects.push(mixed);
    while (key !== '') {
      setMember(mixed.assoc, key, readAMF3Value(c));
      key = readAMF3String(c);
    }
  }
  for (let i = 0; i < count; i++) dense.push(readAMF3Value(c));
  return result;
}

function readTraits(c: AMF3DecodeContext, h: number): AMF3Traits {
  if ((h & 3) === 1) return reference(c.traits, h >>> 2, 'traits');
  if ((h & 7) === 7) {
    const traits: AMF3Traits = { className: readAMF3String(c), sealed: [], dynamic: false, externalizable: true };
    c.traits.push(traits);
    return traits;
  }
  const count = h >>> 4;
  const dynamic = (h & 8) !== 0;
  const className = readAMF3String(c);
  checkCount(c, count, 1, 'sealed member');
  const sealed: string[] = [];
  for (let i = 0; i < count; i++) sealed.push(readAMF3String(c));
  const traits: AMF3Traits = { className, sealed, dynamic, externalizable: false };
  c.traits.push(traits);
  return traits;
}

function readObject(c: AMF3DecodeContext): AMFValue {
  const h = readU29(c.bytes);
  if ((h & 1) === 0) return reference(c.objects, h >>> 1, 'object');
  const traits = readTraits(c, h);
  if (traits.externalizable) {
    const obj = new TypedObject(traits.className, {}, true);
    c.objects.push(obj);
    if (BUILTIN_EXTERNALIZABLES.has(traits.className)) {
      obj.external = readAMF3Value(c);
    } else if (c.options.readExternal) {
      obj.external = c.options.readExternal(traits.className, c);
    } else {
      throw new AmfError(`AMF3 externalizable class '${traits.className}' is unknown`);
    }
    return obj;
  }
  let members: AMFObject;
  let result: AMFValue;
  if (traits.className === '') {
    members = {};
    result = members;
  } else {
    const typed = new TypedObject(traits.className);
    members = typed.properties;
    result = typed;
  }
  c.objects.push(result);
  for (const name of traits.sealed) setMember(members, name, readAMF3Value(c));
  if (traits.dynamic) {
    for (let name = readAMF3String(c); name !== ''; name = readAMF3String(c)) {
      setMember(members, name, readAMF3Value(c));
    }
  }
  return result;
}

function readVector(c: AMF3DecodeContext, marker: number): AMFValue {
  const r = c.bytes;
  const h = readU29(r);
  if ((h & 1) === 0) return reference(c.objects, h >>> 1, 'object');
  const count = h >>> 1;
  const fixed = r.u8() !== 0;
  let vector: AMFVector;
  switch (marker) {
    case AMF3.VECTOR_INT:
      checkCount(c, count, 4, 'vector');
      vector = new AMFVector('int', [], fixed);
      c.objects.push(vector);
      for (let i = 0; i < count; i++) vector.items.push(r.i32());
      return vector;
    case AMF3.VECTOR_UINT:
      checkCount(c, count, 4, 'vector');
      vector = new AMFVector('uint', [], fixed);
      c.objects.push(vector);
      for (let i = 0; i < count; i++) vector.items.push(r.u32());
      return vector;
    case AMF3.VECTOR_DOUBLE:
      checkCount(c, count, 8, 'vector');
      vector = new AMFVector('double', [], fixed);
      c.objects.push(vector);
      for (let i = 0; i < count; i++) vector.items.push(r.f64());
      return vector;
    default: {
      const className = readAMF3String(c);
      checkCount(c, count, 1, 'vector');
      vector = new AMFVector('object', [], fixed, className);
      c.objects.push(vector);
      for (let i = 0; i < count; i++) vector.items.push(readAMF3Value(c));
      return vector;
    }
  }
}

function readDictionary(c: AMF3DecodeContext): AMFValue {
  const h = readU29(c.bytes);
  if ((h & 1) === 0) return reference(c.objects, h >>> 1, 'object');
  const count = h >>> 1;
  const dict = new AMFDictionary([], c.bytes.u8() !== 0);
  checkCount(c, count, 2, 'dictionary');
  c.objects.push(dict);
  for (let i = 0; i < count; i++) {
    const key = readAMF3Value(c);
    dict.entries.push([key, readAMF3Value(c)]);
  }
  return dict;
}

// ---------------------------------------------------------------------------------------------
// encoding

function writeLength(w: ByteWriter, n: number, what: string): void {
  if (n > U29_MAX >>> 1) throw new AmfError(`AMF3 ${what} too long: ${n}`);
  writeU29(w, (n << 1) | 1);
}

/** Writes a reference if `obj` was already written in this message, else registers it. */
function writeReference(c: AMF3EncodeContext, obj: object): boolean {
  const index = c.objects.get(obj);
  if (index !== undefined) {
    writeU29(c.bytes, index << 1);
    return true;
  }
  c.objects.set(obj, c.objects.size);
  return false;
}

export function writeAMF3String(c: AMF3EncodeContext, s: string): void {
  const w = c.bytes;
  if (s === '') {
    w.u8(0x01);
    return;
  }
  const index = c.strings.get(s);
  if (index !== undefined) {
    writeU29(w, index << 1);
    return;
  }
  const bytes = encodeUTF8(s);
  writeLength(w, bytes.length, 'string');
  w.write(bytes);
  c.strings.set(s, c.strings.size);
}

const ANONYMOUS: AMF3Traits = { className: '', sealed: [], dynamic: true, externalizable: false };
const ANONYMOUS_KEY = 'D\u0000';

function writeTraits(c: AMF3EncodeContext, traits: AMF3Traits): void {
  const key =
    traits === ANONYMOUS
      ? ANONYMOUS_KEY
      : `${traits.externalizable ? 'E' : traits.dynamic ? 'D' : 'S'}${traits.className}\u0000${traits.sealed.join('\u0000')}`;
  const index = c.traits.get(key);
  if (index !== undefined) {
    writeU29(c.bytes, (index << 2) | 1);
    return;
  }
  c.traits.set(key, c.traits.size);
  if (traits.externalizable) {
    writeU29(c.bytes, 0x07);
  } else {
    if (traits.sealed.length > U29_MAX >>> 4) throw new AmfError('AMF3 too many sealed members');
    writeU29(c.bytes, ((traits.sealed.length << 4) | (traits.dynamic ? 0x0b : 0x03)) >>> 0);
  }
  writeAMF3String(c, traits.className);
  for (const name of traits.sealed) writeAMF3String(c, name);
}

/** Dynamic members and associative keys: an empty name would read as the end marker, so it is dropped. */
function writeDynamicMembers(c: AMF3EncodeContext, members: AMFObject): void {
  for (const name of Object.keys(members)) {
    if (name === '') continue;
    writeAMF3String(c, name);
    writeAMF3Value(c, members[name]);
  }
  c.bytes.u8(0x01);
}

export function writeAMF3Value(c: AMF3EncodeContext, v: AMFValue): void {
  const w = c.bytes;
  switch (typeof v) {
    case 'undefined':
      w.u8(AMF3.UNDEFINED);
      return;
    case 'boolean':
      w.u8(v ? AMF3.TRUE : AMF3.FALSE);
      return;
    case 'number':
      if (isAMF3Integer(v)) {
        w.u8(AMF3.INTEGER);
        writeU29(w, v < 0 ? v + 0x20000000 : v);
      } else {
        w.u8(AMF3.DOUBLE).f64(v);
      }
      return;
    case 'string':
      w.u8(AMF3.STRING);
      writeAMF3String(c, v);
      return;
    case 'bigint':
      w.u8(AMF3.DOUBLE).f64(Number(v));
      return;
    case 'object':
      break;
    default:
      // functions and symbols cannot cross the wire
      w.u8(AMF3.UNDEFINED);
      return;
  }
  if (v === null) {
    w.u8(AMF3.NULL);
    return;
  }
  if (Array.isArray(v)) {
    w.u8(AMF3.ARRAY);
    if (writeReference(c, v)) return;
    writeLength(w, v.length, 'array');
    w.u8(0x01);
    for (let i = 0; i < v.length; i++) writeAMF3Value(c, v[i]);
    return;
  }
  if (v instanceof Date) {
    w.u8(AMF3.DATE);
    if (writeReference(c, v)) return;
    w.u8(0x01).f64(v.getTime());
    return;
  }
  if (v instanceof Uint8Array) {
    w.u8(AMF3.BYTE_ARRAY);
    if (writeReference(c, v)) return;
    writeLength(w, v.length, 'byte array');
    w.write(v);
    return;
  }
  if (v instanceof TypedObject) {
    writeTypedObject(c, v);
    return;
  }
  if (v instanceof MixedArray) {
    w.u8(AMF3.ARRAY);
    if (writeReference(c, v)) return;
    writeLength(w, v.dense.length, 'array');
    writeDynamicMembers(c, v.assoc);
    for (let i = 0; i < v.dense.length; i++) writeAMF3Value(c, v.dense[i]);
    return;
  }
  if (v instanceof AMFDictionary) {
    w.u8(AMF3.DICTIONARY);
    if (writeReference(c, v)) return;
    writeLength(w, v.entries.length, 'dictionary');
    w.u8(v.weakKeys ? 1 : 0);
    for (const [key, value] of v.entries) {
      writeAMF3Value(c, key);
      writeAMF3Value(c, value);
    }
    return;
  }
  if (v instanceof AMFVector) {
    writeVector(c, v);
    return;
  }
  if (v instanceof AMFXML) {
    w.u8(v.legacy ? AMF3.XML_DOCUMENT : AMF3.XML);
    if (writeReference(c, v)) return;
    const bytes = utf8Encode(v.text);
    writeLength(w, bytes.length, 'XML');
    w.write(bytes);
    return;
  }
  // plain objects, and anything else the application hands over, go as anonymous dynamic objects
  w.u8(AMF3.OBJECT);
  if (writeReference(c, v)) return;
  writeTraits(c, ANONYMOUS);
  writeDynamicMembers(c, v);
}

function writeTypedObject(c: AMF3EncodeContext, v: TypedObject): void {
  const w = c.bytes;
  w.u8(AMF3.OBJECT);
  if (writeReference(c, v)) return;
  if (v.externalizable) {
    writeTraits(c, { className: v.className, sealed: [], dynamic: false, externalizable: true });
    if (c.options.writeExternal?.(v, c)) return;
    if (!BUILTIN_EXTERNALIZABLES.has(v.className)) {
      throw new AmfError(`AMF3 cannot write externalizable class '${v.className}'`);
    }
    writeAMF3Value(c, v.external);
    return;
  }
  if (v.className === '') {
    writeTraits(c, ANONYMOUS);
    writeDynamicMembers(c, v.properties);
    return;
  }
  // a class instance: its properties are the sealed members, as Flash writes public fields
  const names = Object.keys(v.properties).filter((name) => name !== '');
  writeTraits(c, { className: v.className, sealed: names, dynamic: false, externalizable: false });
  for (const name of names) writeAMF3Value(c, v.properties[name]);
}

function writeVector(c: AMF3EncodeContext, v: AMFVector): void {
  const w = c.bytes;
  const marker =
    v.kind === 'int'
      ? AMF3.VECTOR_INT
      : v.kind === 'uint'
        ? AMF3.VECTOR_UINT
        : v.kind === 'double'
          ? AMF3.VECTOR_DOUBLE
          : AMF3.VECTOR_OBJECT;
  w.u8(marker);
  if (writeReference(c, v)) return;
  writeLength(w, v.items.length, 'vector');
  w.u8(v.fixed ? 1 : 0);
  const items = v.items;
  switch (marker) {
    case AMF3.VECTOR_INT:
      for (let i = 0; i < items.length; i++) w.i32(Number(items[i]));
      return;
    case AMF3.VECTOR_UINT:
      for (let i = 0; i < items.length; i++) w.u32(Number(items[i]));
      return;
    case AMF3.VECTOR_DOUBLE:
      for (let i = 0; i < items.length; i++) w.f64(Number(items[i]));
      return;
    default:
      writeAMF3String(c, v.className);
      for (let i = 0; i < items.length; i++) writeAMF3Value(c, items[i]);
  }
}
