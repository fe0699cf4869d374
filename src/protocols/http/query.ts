// A URL query as MonaServer hands it to onConnection, onRead and method calls (its QueryReader, MonaServer-behaviour.md
// §2.2): consecutive `k=v` pairs merge into one table, a bare token is an argument of its own, and values are typed
// (null, booleans, numbers, else text). `?a=1&b=x&flag&t=true` → `{a=1,b="x"}, "flag", {t=true}`.
import type { AMFObject, AMFValue } from '../../flash/amf/types.ts';

/** Query values as scripts get them: null, booleans and numbers typed, the rest as text. */
export function typedValue(text: string): AMFValue {
  if (text === 'null') return null;
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The arguments a query gives (the raw query, without '?'). At most `limit` pairs are read. */
export function queryArguments(query: string, limit = 256): AMFValue[] {
  const out: AMFValue[] = [];
  let table: AMFObject | undefined;
  let count = 0;
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (++count > limit) break;
    const eq = part.indexOf('=');
    if (eq < 0) {
      table = undefined;
      out.push(typedValue(decode(part)));
      continue;
    }
    const key = decode(part.slice(0, eq));
    if (key === '__proto__') continue;
    if (!table) out.push((table = {}));
    table[key] = typedValue(decode(part.slice(eq + 1)));
  }
  return out;
}
