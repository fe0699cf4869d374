// JSON as MonaServer's HTTP and WebSocket clients exchange it (MonaServer-behaviour.md §2.5, §3.3): a request is a
// JSON array (method name then arguments), an answer is a JSON array of the return values. Unlike MonaServer, JSON
// escapes are decoded and encoded (a browser's JSON.parse must read what we send), `null` members are kept, dates
// go out as ISO strings and bytes as {"__raw": base64}.
import { WireError } from '../../errors.ts';
import {
  AMFDictionary,
  AMFVector,
  AMFXML,
  MAX_DEPTH,
  MixedArray,
  TypedObject,
  setMember,
  type AMFObject,
  type AMFValue,
} from '../../flash/amf/types.ts';

/** JSON text → values; a WireError when it is not JSON or nests deeper than AMF allows. */
export function parseJSON(text: string): AMFValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WireError('malformed JSON');
  }
  return fromJSON(parsed, 0);
}

function fromJSON(value: unknown, depth: number): AMFValue {
  if (depth > MAX_DEPTH) throw new WireError('JSON nested too deeply');
  if (value === null || typeof value !== 'object') return value as AMFValue;
  if (Array.isArray(value)) return value.map((item) => fromJSON(item, depth + 1));
  const out: AMFObject = {};
  for (const [key, item] of Object.entries(value)) setMember(out, key, fromJSON(item, depth + 1));
  return out;
}

/** Values → JSON text (an answer or an invocation is always an array). */
export function toJSON(values: readonly AMFValue[]): string {
  return JSON.stringify(values.map((value) => plain(value, 0)));
}

function plain(value: AMFValue, depth: number): unknown {
  if (depth > MAX_DEPTH) return null;
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') return typeof value === 'number' && !Number.isFinite(value) ? null : value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return { __raw: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map((item) => plain(item, depth + 1));
  if (value instanceof MixedArray) {
    const out: Record<string, unknown> = {};
    value.dense.forEach((item, i) => (out[String(i)] = plain(item, depth + 1)));
    for (const [key, item] of Object.entries(value.assoc)) out[key] = plain(item, depth + 1);
    return value.dense.length > 0 && Object.keys(value.assoc).length === 0 ? value.dense.map((item) => plain(item, depth + 1)) : out;
  }
  if (value instanceof TypedObject) return plainObject(value.properties, depth);
  if (value instanceof AMFVector) return value.items.map((item) => plain(item, depth + 1));
  if (value instanceof AMFDictionary) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value.entries) out[String(key)] = plain(item, depth + 1);
    return out;
  }
  if (value instanceof AMFXML) return value.text;
  return plainObject(value, depth);
}

function plainObject(object: AMFObject, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) {
    if (key === '__proto__') continue;
    out[key] = plain(item, depth + 1);
  }
  return out;
}

/** Raw concatenation of values, MonaServer's answer to a non-JSON message (§3.3) and to unknown content types. */
export function rawConcat(values: readonly AMFValue[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const value of values) {
    if (value instanceof Uint8Array) parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    else if (value === null || value === undefined) continue;
    else if (typeof value === 'object') parts.push(Buffer.from(JSON.stringify(plain(value, 0))));
    else parts.push(Buffer.from(String(value)));
  }
  return Buffer.concat(parts);
}
