// The value model shared by the AMF0 and AMF3 codecs, the TC message codec and the Lua bridge.
// One model for both encodings, so that application code never needs to know which one a client used.

export type AMFValue =
  | undefined
  | null
  | boolean
  | number
  | string
  | Date
  | Uint8Array // AMF3 ByteArray
  | AMFValue[] // dense array: AMF0 strict array / AMF3 array without associative part
  | AMFObject // anonymous dynamic object: a plain object (Object.prototype or null prototype)
  | TypedObject
  | MixedArray
  | AMFDictionary
  | AMFVector
  | AMFXML;

export interface AMFObject {
  [key: string]: AMFValue;
}

/** An object of a registered class (AMF0 0x10, AMF3 object with a class name). */
export class TypedObject {
  constructor(
    public className: string,
    public properties: AMFObject = {},
    public externalizable = false,
    /** decoded body of an externalizable object (built-in Flex classes or a readExternal hook) */
    public external?: AMFValue,
  ) {}
}

/** AMF0 ECMA array, AMF3 array with an associative part. */
export class MixedArray {
  constructor(
    public dense: AMFValue[] = [],
    public assoc: AMFObject = {},
  ) {}
}

/** AMF3 flash.utils.Dictionary: keys may be any value, so entries are kept as pairs. */
export class AMFDictionary {
  constructor(
    public entries: Array<[AMFValue, AMFValue]> = [],
    public weakKeys = false,
  ) {}
}

export type AMFVectorKind = 'int' | 'uint' | 'double' | 'object';

/** AMF3 Vector.<int|uint|Number|Object>; className is the element type of object vectors. */
export class AMFVector {
  constructor(
    public kind: AMFVectorKind,
    public items: AMFValue[] = [],
    public fixed = false,
    public className = '*',
  ) {}
}

/** XML text; legacy = flash.xml.XMLDocument (AMF0 0x0f / AMF3 0x07), otherwise E4X XML (AMF3 0x0b). */
export class AMFXML {
  constructor(
    public text: string,
    public legacy = false,
  ) {}
}

/** True only for plain objects: the anonymous dynamic objects of AMF. */
export function isAMFObject(v: AMFValue): v is AMFObject {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Set a decoded member without letting a "__proto__" name replace the prototype of the object
 * being built (names come straight from the network).
 */
export function setMember(target: AMFObject, name: string, value: AMFValue): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

/** Nesting limit for decoding: deeper input is rejected rather than risking the stack. */
export const MAX_DEPTH = 64;
