// mona:toQuery(...) / mona:fromQuery(data): URL-encoded "k=v&item" text. Members of tables become
// k=v pairs (nested tables flatten into the same list), other values bare items; reading back,
// consecutive pairs form one table and values are typed again (null, booleans, numbers, dates).
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
import { utf8Decode, utf8Encode } from '../../bytes.ts';
import { lua, pushText, toText } from '../lua/state.ts';
import type { Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { parseISODate } from './json.ts';

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** Percent-encodes every byte but the RFC 3986 unreserved characters. */
export function encodeURIBytes(text: string): string {
  let out = '';
  for (const b of utf8Encode(text)) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && UNRESERVED.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function toQuery(values: readonly AMFValue[]): string {
  const parts: string[] = [];
  let pendingName: string | null = null;
  const item = (text: string): void => {
    if (pendingName !== null) {
      parts.push(`${pendingName}=${text}`);
      pendingName = null;
    } else parts.push(text);
  };
  const name = (key: string): void => {
    if (pendingName !== null) parts.push(pendingName);
    pendingName = encodeURIBytes(key);
  };
  const seen = new Set<object>();
  const write = (v: AMFValue, depth: number): void => {
    if (v === undefined || v === null) return item('null');
    switch (typeof v) {
      case 'boolean':
        return item(v ? 'true' : 'false');
      case 'number':
        return item(String(v));
      case 'string':
        return item(encodeURIBytes(v));
    }
    if (v instanceof Uint8Array) return item(encodeURIBytes(Buffer.from(v).toString('base64')));
    if (v instanceof Date) return item(encodeURIBytes(v.toISOString()));
    if (v instanceof AMFXML) return item(encodeURIBytes(v.text));
    if (seen.has(v) || depth >= MAX_DEPTH) return item('null');
    seen.add(v);
    const object = (o: AMFObject): void => {
      for (const k of Object.keys(o)) {
        name(k);
        write(o[k], depth + 1);
      }
    };
    if (Array.isArray(v)) v.forEach((x) => write(x, depth + 1));
    else if (v instanceof AMFVector) v.items.forEach((x) => write(x, depth + 1));
    else if (v instanceof MixedArray) {
      object(v.assoc);
      v.dense.forEach((x) => write(x, depth + 1));
    } else if (v instanceof TypedObject) object(v.properties);
    else if (v instanceof AMFDictionary) {
      for (const [k, x] of v.entries) {
        name(String(k));
        write(x, depth + 1);
      }
    } else object(v);
    seen.delete(v);
  };
  for (const v of values) write(v, 0);
  if (pendingName !== null) parts.push(pendingName);
  return parts.join('&');
}

/** The typed value of a query item, as MonaServer reads it. */
export function queryItemValue(text: string): AMFValue {
  const lower = text.toLowerCase();
  if (lower === 'null') return null;
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  const date = parseISODate(text);
  if (date) return date;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  return text;
}

function decode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 0x2b) bytes.push(0x20);
    else for (const b of utf8Encode(text[i]!)) bytes.push(b);
  }
  return utf8Decode(Uint8Array.from(bytes));
}

export function fromQuery(query: string): AMFValue[] {
  const out: AMFValue[] = [];
  let current: AMFObject | null = null;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      current = null;
      out.push(queryItemValue(decode(part)));
      continue;
    }
    if (!current) {
      current = {};
      out.push(current);
    }
    setMember(current, decode(part.slice(0, eq)), queryItemValue(decode(part.slice(eq + 1))));
  }
  return out;
}

/** toQuery / fromQuery for the global object. */
export function queryMethods(ctx: HostContext): Record<string, Method> {
  const { conv } = ctx;
  return {
    toQuery: (L, a) => {
      pushText(L, toQuery(conv.range(L, a, lua.lua_gettop(L))));
      return 1;
    },
    fromQuery: (L, a) => conv.pushAll(L, fromQuery(toText(L, a))),
  };
}
