// A POST body as MonaServer reads it (MonaServer-behaviour.md §2.6): by Content-Type; when the decoded values start
// with a string, that string is the method name, otherwise the values go to client:onMessage. JSON arrays, a JSON
// object (its first key names the method), XML-RPC methodCalls, forms (MonaServer's query reading) and raw text.
import { WireError } from '../../errors.ts';
import { isAMFObject, type AMFValue } from '../../flash/amf/types.ts';
import { parseJSON } from './json.ts';
import { queryArguments } from './query.ts';
import { readMethodCall } from './xmlrpc.ts';

export type BodyFormat = 'json' | 'xml' | 'form' | 'raw';

export interface BodyCall {
  /** '' → client:onMessage */
  method: string;
  args: AMFValue[];
  /** how the answer is written (the request's format, §2.5) */
  format: BodyFormat;
}

export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '' || type.endsWith('json')) return type === '' ? 'raw' : 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type.endsWith('/xml') || type.endsWith('+xml')) return 'xml';
  return 'raw';
}

/** The call a body makes; a WireError for malformed JSON. */
export function readBody(contentType: string | undefined, body: Buffer): BodyCall {
  const format = bodyFormat(contentType);
  if (format === 'raw') return { method: '', args: [body.toString('utf8')], format };
  if (format === 'xml') return { ...readMethodCall(body.toString('utf8')), format };
  let values: AMFValue[];
  if (format === 'json') {
    const parsed = parseJSON(body.toString('utf8'));
    if (Array.isArray(parsed)) values = parsed;
    else if (isAMFObject(parsed)) {
      const [first] = Object.keys(parsed);
      if (first === undefined) throw new WireError('empty JSON object');
      return { method: first, args: [parsed[first]], format };
    } else values = [parsed];
  } else values = queryArguments(body.toString('latin1'));
  const [first, ...rest] = values;
  if (typeof first === 'string') return { method: first, args: rest, format };
  return { method: '', args: values, format };
}
