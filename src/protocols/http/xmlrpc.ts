// XML-RPC bodies (xmlrpc.com specification) as MonaServer's HTTP clients use them (MonaServer-behaviour.md §2.5, §2.6):
// a POST whose Content-Type is XML carries a methodCall, answered by a methodResponse of the return values. Only what
// the HTTP protocol needs; the Lua global's toXMLRPC/fromXMLRPC (src/app/api/xmlrpc.ts) stay with the Lua host.
import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';
import { WireError } from '../../errors.ts';
import { MAX_DEPTH, MixedArray, TypedObject, isAMFObject, setMember, type AMFObject, type AMFValue } from '../../flash/amf/types.ts';

// made on the first XML-RPC body: most servers never see one, and fast-xml-parser costs start-up time and memory
let parser: XMLParser | undefined;
const newParser = (): XMLParser => {
  const { XMLParser } = createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser');
  return new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
    isArray: (_name, jpath) => /(^|\.)(param|member)$/.test(String(jpath)) || String(jpath).endsWith('data.value'),
  });
};

type Node = string | Record<string, unknown>;

function readValue(node: unknown, depth: number): AMFValue {
  if (depth > MAX_DEPTH) throw new WireError('XML-RPC nested too deeply');
  if (node === undefined || node === null || node === '') return '';
  if (typeof node !== 'object') return String(node);
  const entries = Object.entries(node as Record<string, Node>).filter(([key]) => key !== '#text');
  if (entries.length === 0) return String((node as Record<string, unknown>)['#text'] ?? '');
  const [type, content] = entries[0]!;
  const text = typeof content === 'string' ? content : '';
  switch (type) {
    case 'i4':
    case 'int':
    case 'double': {
      const n = Number(text.trim());
      if (!Number.isFinite(n)) throw new WireError(`XML-RPC ${type} is not a number`);
      return n;
    }
    case 'boolean':
      return text.trim() === '1' || text.trim() === 'true';
    case 'string':
      return text;
    case 'nil':
      return null;
    case 'base64':
      return new Uint8Array(Buffer.from(text, 'base64'));
    case 'dateTime.iso8601': {
      const t = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text.trim());
      return t ? new Date(Date.UTC(+t[1]!, +t[2]! - 1, +t[3]!, +t[4]!, +t[5]!, +t[6]!)) : text;
    }
    case 'struct': {
      const out: AMFObject = {};
      const members =
        typeof content === 'object' ? ((content as { member?: Array<{ name?: unknown; value?: unknown }> }).member ?? []) : [];
      for (const member of members) {
        setMember(out, typeof member.name === 'string' ? member.name : '', readValue(member.value, depth + 1));
      }
      return out;
    }
    case 'array': {
      const data = typeof content === 'object' ? (content as { data?: { value?: unknown[] } }).data : undefined;
      return (typeof data === 'object' ? (data.value ?? []) : []).map((item) => readValue(item, depth + 1));
    }
    default:
      throw new WireError(`XML-RPC type ${type} unknown`);
  }
}

/** A methodCall → its method name and parameters; a WireError for anything else. */
export function readMethodCall(xml: string): { method: string; args: AMFValue[] } {
  // no document type: entity definitions are how XML bombs start
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new WireError('XML-RPC with a document type');
  let document: Record<string, unknown>;
  try {
    document = (parser ??= newParser()).parse(xml) as Record<string, unknown>;
  } catch {
    throw new WireError('malformed XML');
  }
  const call = document.methodCall as { methodName?: unknown; params?: { param?: Array<{ value?: unknown }> } } | undefined;
  if (!call || typeof call !== 'object' || typeof call.methodName !== 'string') throw new WireError('not an XML-RPC methodCall');
  const params = typeof call.params === 'object' ? (call.params.param ?? []) : [];
  return { method: call.methodName.trim(), args: params.map((param) => readValue(param.value, 0)) };
}

const escape = (text: string): string => text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));

function writeValue(value: AMFValue, depth: number): string {
  if (depth > MAX_DEPTH || value === undefined || value === null) return '<value><nil/></value>';
  if (typeof value === 'boolean') return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (typeof value === 'number')
    return Number.isInteger(value) && Math.abs(value) < 2 ** 31
      ? `<value><int>${value}</int></value>`
      : `<value><double>${value}</double></value>`;
  if (typeof value === 'string') return `<value><string>${escape(value)}</string></value>`;
  if (value instanceof Date) return `<value><dateTime.iso8601>${value.toISOString().replace(/\.\d{3}Z$/, '')}</dateTime.iso8601></value>`;
  if (value instanceof Uint8Array) return `<value><base64>${Buffer.from(value).toString('base64')}</base64></value>`;
  if (Array.isArray(value))
    return `<value><array><data>${value.map((item) => writeValue(item, depth + 1)).join('')}</data></array></value>`;
  const object = isAMFObject(value)
    ? value
    : value instanceof TypedObject
      ? value.properties
      : value instanceof MixedArray
        ? value.assoc
        : {};
  const members = Object.entries(object).map(([key, item]) => `<member><name>${escape(key)}</name>${writeValue(item, depth + 1)}</member>`);
  return `<value><struct>${members.join('')}</struct></value>`;
}

/** The return values as a methodResponse, one param each. */
export function methodResponse(values: readonly AMFValue[]): string {
  const params = values.map((value) => `<param>${writeValue(value, 0)}</param>`).join('');
  return `<?xml version="1.0"?><methodResponse><params>${params}</params></methodResponse>`;
}
