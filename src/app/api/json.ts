// mona:toJSON(...) / mona:fromJSON(data), MonaServer's JSON form of Lua values: the arguments
// make one JSON array; ByteArray is {"__raw":"<base64>"}, a Date an ISO 8601 string, a typed
// object carries "__type", a mixed table is an array whose first element holds its named members,
// a Dictionary an object with its "__size", and an empty table is [] (Lua can't tell {} from []).
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
import { lua, pushText, toText } from '../lua/state.ts';
import type { Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';

/** The values as the JSON array MonaServer writes (`[]` for none). */
export function toJSON(values: readonly AMFValue[]): string {
  return stringify([...values], new Set(), 0);
}

/**
 * The values of a JSON text: the elements of a top-level array, or the one value otherwise.
 * Throws a SyntaxError on malformed text.
 */
export function fromJSON(text: string): AMFValue[] {
  const parsed: unknown = JSON.parse(text);
  if (Array.isArray(parsed)) return parsed.map((v) => revive(v, 0));
  return [revive(parsed, 0)];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** An ISO 8601 date-time string as a Date, as MonaServer's readers take it, or null. */
export function parseISODate(text: string): Date | null {
  if (!ISO_DATE.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

function stringify(v: AMFValue, path: Set<object>, depth: number): string {
  if (v === undefined || v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'string':
      return JSON.stringify(v);
  }
  if (v instanceof Uint8Array) return `{"__raw":"${Buffer.from(v).toString('base64')}"}`;
  if (v instanceof Date) return JSON.stringify(Number.isNaN(v.getTime()) ? null : v.toISOString());
  if (v instanceof AMFXML) return JSON.stringify(v.text);
  // a cycle (or absurd depth) has no JSON form: it ends in null
  if (path.has(v) || depth >= MAX_DEPTH) return 'null';
  path.add(v);
  try {
    const inner = (x: AMFValue): string => stringify(x, path, depth + 1);
    if (Array.isArray(v)) return `[${v.map(inner).join(',')}]`;
    if (v instanceof AMFVector) return `[${v.items.map(inner).join(',')}]`;
    if (v instanceof MixedArray) {
      if (Object.keys(v.assoc).length === 0) return `[${v.dense.map(inner).join(',')}]`;
      return `[${[members(v.assoc, inner, []), ...v.dense.map(inner)].join(',')}]`;
    }
    if (v instanceof TypedObject) {
      const head = [`"__type":${JSON.stringify(v.className)}`];
      return members(v.properties, inner, head);
    }
    if (v instanceof AMFDictionary) {
      const parts: string[] = [];
      for (const [k, x] of v.entries) {
        if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean') continue;
        parts.push(`${JSON.stringify(String(k))}:${inner(x)}`);
      }
      parts.push(`"__size":${v.entries.length}`);
      return `{${parts.join(',')}}`;
    }
    const keys = Object.keys(v);
    return keys.length === 0 ? '[]' : members(v, inner, []);
  } finally {
    path.delete(v);
  }
}

function members(o: AMFObject, inner: (x: AMFValue) => string, head: string[]): string {
  for (const k of Object.keys(o)) head.push(`${JSON.stringify(k)}:${inner(o[k])}`);
  return `{${head.join(',')}}`;
}

function revive(v: unknown, depth: number): AMFValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'string') return parseISODate(v) ?? v;
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(v)) return v.map((x) => revive(x, depth + 1));
  const o = v as Record<string, unknown>;
  const raw = o['__raw'];
  if (typeof raw === 'string' && /^[A-Za-z0-9+/=\s]*$/.test(raw)) return new Uint8Array(Buffer.from(raw, 'base64'));
  const type = o['__type'];
  const out: AMFObject = {};
  for (const k of Object.keys(o)) {
    if (k === '__type' && typeof type === 'string') continue;
    setMember(out, k, revive(o[k], depth + 1));
  }
  return typeof type === 'string' ? new TypedObject(type, out) : out;
}

/** toJSON / fromJSON for the global object. */
export function jsonMethods(ctx: HostContext): Record<string, Method> {
  const { conv, rt } = ctx;
  return {
    toJSON: (L, a) => {
      pushText(L, toJSON(conv.range(L, a, lua.lua_gettop(L))));
      return 1;
    },
    fromJSON: (L, a) => {
      let values: AMFValue[];
      try {
        values = fromJSON(toText(L, a));
      } catch (e) {
        rt.logger.error({ app: rt.current?.path || '/' }, `fromJSON: malformed JSON, ${(e as Error).message}`);
        return 0;
      }
      return conv.pushAll(L, values);
    },
  };
}
