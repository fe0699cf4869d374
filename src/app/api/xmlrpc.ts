// mona:toXMLRPC(...) / mona:fromXMLRPC(data). Writing gives a methodResponse with one <param>
// per argument; reading takes a methodCall (its methodName comes first) or a methodResponse.
// Types: struct (a "type" attribute for typed objects), array, i4/int/double, boolean, string,
// base64, dateTime.iso8601, and an empty <value/> (or <nil/>) for nil. Mixed tables and
// Dictionaries take the same shapes as in JSON (see json.ts).
import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';
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
import { parseISODate } from './json.ts';
import { ConversionError, errorCode } from '../../errors.ts';

export function escapeXML(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

export function toXMLRPC(values: readonly AMFValue[]): string {
  const path = new Set<object>();
  const params = values.map((v) => `<param>${value(v, path, 0)}</param>`).join('');
  return `<?xml version="1.0"?><methodResponse><params>${params}</params></methodResponse>`;
}

function typed(tag: string, text: string): string {
  return `<value><${tag}>${text}</${tag}></value>`;
}

function value(v: AMFValue, path: Set<object>, depth: number): string {
  if (v === undefined || v === null) return '<value></value>';
  switch (typeof v) {
    case 'boolean':
      return typed('boolean', v ? '1' : '0');
    case 'number':
      return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? typed('int', String(v)) : typed('double', String(v));
    case 'string':
      return typed('string', escapeXML(v));
  }
  if (v instanceof Uint8Array) return typed('base64', Buffer.from(v).toString('base64'));
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '<value></value>' : typed('dateTime.iso8601', v.toISOString());
  if (v instanceof AMFXML) return typed('string', escapeXML(v.text));
  if (path.has(v) || depth >= MAX_DEPTH) return '<value></value>';
  path.add(v);
  try {
    const inner = (x: AMFValue): string => value(x, path, depth + 1);
    const array = (items: string[]): string => `<value><array size="${items.length}"><data>${items.join('')}</data></array></value>`;
    const struct = (o: AMFObject, type?: string, extra = ''): string => {
      let out = type === undefined ? '<value><struct>' : `<value><struct type="${escapeXML(type)}">`;
      for (const k of Object.keys(o)) out += `<member><name>${escapeXML(k)}</name>${inner(o[k])}</member>`;
      return out + extra + '</struct></value>';
    };
    if (Array.isArray(v)) return array(v.map(inner));
    if (v instanceof AMFVector) return array(v.items.map(inner));
    if (v instanceof MixedArray) {
      const dense = v.dense.map(inner);
      return Object.keys(v.assoc).length ? array([struct(v.assoc), ...dense]) : array(dense);
    }
    if (v instanceof TypedObject) return struct(v.properties, v.className);
    if (v instanceof AMFDictionary) {
      const o: AMFObject = {};
      for (const [k, x] of v.entries) {
        if (typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean') setMember(o, String(k), x);
      }
      return struct(o, undefined, `<member><name>__size</name>${typed('int', String(v.entries.length))}</member>`);
    }
    return Object.keys(v).length === 0 ? array([]) : struct(v);
  } finally {
    path.delete(v);
  }
}

// ---- reading --------------------------------------------------------------------------------

/** A node of fast-xml-parser's ordered output: { tag: children, ':@': attributes } or { '#text': text }. */
type XNode = Record<string, unknown>;

/** fast-xml-parser keeping document order and attributes as written; toXML keeps the <?xml?> declaration. */
export function orderedXMLParser(keepDeclarations: boolean): XMLParser {
  // loaded on first use: most applications never parse XML, and the parser costs start-up time and memory
  const { XMLParser } = createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser');
  return new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: true,
    htmlEntities: true,
    ignoreDeclaration: !keepDeclarations,
    ignorePiTags: !keepDeclarations,
    ...(keepDeclarations ? { commentPropName: false as const } : {}),
  });
}

let parser: XMLParser | null = null;
export function tagOf(node: XNode): string | null {
  for (const k of Object.keys(node)) if (k !== ':@') return k;
  return null;
}

export function childrenOf(node: XNode): XNode[] {
  const tag = tagOf(node);
  const c = tag === null ? undefined : node[tag];
  return Array.isArray(c) ? (c as XNode[]) : [];
}

export function attributesOf(node: XNode): Record<string, string> {
  const a = node[':@'];
  return a && typeof a === 'object' ? (a as Record<string, string>) : {};
}

function elements(node: XNode): XNode[] {
  return childrenOf(node).filter((c) => tagOf(c) !== '#text');
}

function text(node: XNode): string {
  let out = '';
  for (const c of childrenOf(node)) if (tagOf(c) === '#text') out += String(c['#text']);
  return out;
}

function child(node: XNode, name: string): XNode | undefined {
  return elements(node).find((c) => tagOf(c)?.toLowerCase() === name);
}

/** XML-RPC's own "19980717T14:08:55" as well as ISO 8601 with dashes. */
function parseDateTime(s: string): Date | null {
  const t = s.trim();
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (m) return parseISODate(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${m[8] ?? 'Z'}`);
  return parseISODate(t) ?? parseISODate(t + 'Z');
}

function readValue(node: XNode, depth: number): AMFValue {
  if (depth >= MAX_DEPTH) return null;
  const inner = elements(node)[0];
  if (!inner) {
    const s = text(node);
    return s === '' ? null : s;
  }
  const tag = (tagOf(inner) ?? '').toLowerCase();
  const s = text(inner);
  switch (tag) {
    case 'i4':
    case 'i8':
    case 'int':
    case 'double': {
      const n = Number(s.trim());
      return Number.isNaN(n) ? null : n;
    }
    case 'boolean': {
      const b = s.trim().toLowerCase();
      return !(b === '' || b === '0' || b === 'false');
    }
    case 'string':
      return s;
    case 'base64':
      return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'base64'));
    case 'datetime.iso8601':
      return parseDateTime(s);
    case 'nil':
      return null;
    case 'array': {
      const data = child(inner, 'data');
      return data
        ? elements(data)
            .filter((v) => tagOf(v) === 'value')
            .map((v) => readValue(v, depth + 1))
        : [];
    }
    case 'struct': {
      const o: AMFObject = {};
      for (const m of elements(inner)) {
        if (tagOf(m)?.toLowerCase() !== 'member') continue;
        const name = child(m, 'name');
        const v = child(m, 'value');
        if (name) setMember(o, text(name), v ? readValue(v, depth + 1) : null);
      }
      const type = attributesOf(inner)['type'];
      return type === undefined ? o : new TypedObject(type, o);
    }
  }
  throw new ConversionError(`XML-RPC type ${tag} unknown`);
}

/** The values of a methodCall (methodName first) or methodResponse. Throws on malformed input. */
export function fromXMLRPC(xml: string): AMFValue[] {
  parser ??= orderedXMLParser(false);
  const roots = (parser.parse(xml, true) as XNode[]).filter((n) => tagOf(n) !== '#text');
  const root = roots[0];
  const kind = root ? tagOf(root) : null;
  if (!root || (kind !== 'methodCall' && kind !== 'methodResponse'))
    throw new ConversionError('not an XML-RPC methodCall or methodResponse');
  const out: AMFValue[] = [];
  if (kind === 'methodCall') out.push(text(child(root, 'methodname') ?? {}));
  const fault = child(root, 'fault');
  if (fault) {
    const v = child(fault, 'value');
    if (v) out.push(readValue(v, 0));
    return out;
  }
  const params = child(root, 'params');
  for (const p of params ? elements(params) : []) {
    if (tagOf(p)?.toLowerCase() !== 'param') continue;
    const v = child(p, 'value');
    out.push(v ? readValue(v, 0) : null);
  }
  return out;
}

/** toXMLRPC / fromXMLRPC for the global object. */
export function xmlrpcMethods(ctx: HostContext): Record<string, Method> {
  const { conv, rt } = ctx;
  return {
    toXMLRPC: (L, a) => {
      pushText(L, toXMLRPC(conv.range(L, a, lua.lua_gettop(L))));
      return 1;
    },
    fromXMLRPC: (L, a) => {
      let values: AMFValue[];
      try {
        values = fromXMLRPC(toText(L, a));
      } catch (e) {
        rt.logger.error({ app: rt.current?.path || '/', code: errorCode(e) }, `fromXMLRPC: ${(e as Error).message}`);
        return 0;
      }
      return conv.pushAll(L, values);
    },
  };
}
