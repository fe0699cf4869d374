import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectedApp } from './harness.ts';
import { MixedArray, TypedObject } from '../../src/flash/amf/types.ts';
import { fromJSON, toJSON } from '../../src/app/api/json.ts';
import { fromQuery, toQuery } from '../../src/app/api/query.ts';
import { fromXMLRPC, toXMLRPC } from '../../src/app/api/xmlrpc.ts';

const app = () => connectedApp('serial');

const DOC =
  '<?xml version="1.0" ?><document ><article ><p >This is the first paragraph.</p><h2 class="opt" >Title with opt style</h2></article><article ><p >Some<b >important</b>text.</p></article></document>';

test('JSON: empty forms, and a round trip of dates, bytes, typed objects, maps, mixed tables and nil', () => {
  const t = app();
  try {
    const [empty, one, nested, back, check, typed] = t.call('json');
    assert.deepEqual([empty, one, nested, back], ['[]', '[[]]', '[[[]]]', 0]);
    assert.equal(check, 'ok');
    assert.ok((typed as number) >= 2, 'onTypedObject called for the typed objects read back');
  } finally {
    t.cleanup();
  }
});

test('JSON text form', () => {
  assert.equal(toJSON([1, 'a"b', true, null, new Uint8Array([255, 0, 20])]), '[1,"a\\"b",true,null,{"__raw":"/wAU"}]');
  assert.equal(toJSON([new Date(1412082917000)]), '["2014-09-30T13:15:17.000Z"]');
  assert.equal(toJSON([new MixedArray(['elt1'], { prop: 'prop' })]), '[[{"prop":"prop"},"elt1"]]');
  assert.equal(toJSON([new TypedObject('Cat', { name: 'tom' })]), '[{"__type":"Cat","name":"tom"}]');
  assert.deepEqual(fromJSON('[1,{"__raw":"/wAU"},"2014-09-30T13:15:17.000Z",{"__type":"Cat","n":1}]'), [
    1,
    new Uint8Array([255, 0, 20]),
    new Date(1412082917000),
    new TypedObject('Cat', { n: 1 }),
  ]);
  assert.deepEqual(fromJSON('{"a":1}'), [{ a: 1 }]);
  assert.throws(() => fromJSON('[1,'));
});

test('JSON through Lua: strings, nesting, cycles end in null, malformed input returns nothing', () => {
  const t = app();
  try {
    assert.deepEqual(t.call('toJSON', 'x', 1.5, [1, 2], { a: { b: 'c' } }), ['["x",1.5,[1,2],{"a":{"b":"c"}}]']);
    assert.deepEqual(t.call('fromJSON', '[1,"two",{"k":[true,null]}]'), [1, 'two', { k: [true] }]);
    assert.deepEqual(t.call('jsonCycle'), ['[{"a":1,"self":null}]']);
    assert.deepEqual(t.call('fromJSON', '[1,'), []);
    assert.ok(t.logger.messages('error').some((m) => m.includes('fromJSON')));
  } finally {
    t.cleanup();
  }
});

test('XML-RPC: empty response and a round trip of every type', () => {
  const t = app();
  try {
    const [empty, n, check] = t.call('xmlrpc');
    assert.equal(empty, '<?xml version="1.0"?><methodResponse><params></params></methodResponse>');
    assert.equal(n, 0);
    assert.equal(check, 'ok');
  } finally {
    t.cleanup();
  }
});

test('XML-RPC text form: methodCall, i4/int/double/boolean/string/base64/dateTime, struct, array', () => {
  const call =
    '<?xml version="1.0"?><methodCall><methodName>test</methodName><params>' +
    '<param><value><i4>4</i4></value></param><param><value><double>1.5</double></value></param>' +
    '<param><value><boolean>1</boolean></value></param><param><value>plain</value></param>' +
    '<param><value><string>a &amp; b</string></value></param><param><value><base64>/wAU</base64></value></param>' +
    '<param><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></param>' +
    '<param><value><struct><member><name>k</name><value><int>1</int></value></member></struct></value></param>' +
    '<param><value><array><data><value><string>x</string></value><value><nil/></value></data></array></value></param>' +
    '</params></methodCall>';
  assert.deepEqual(fromXMLRPC(call), [
    'test',
    4,
    1.5,
    true,
    'plain',
    'a & b',
    new Uint8Array([255, 0, 20]),
    new Date(Date.UTC(1998, 6, 17, 14, 8, 55)),
    { k: 1 },
    ['x', null],
  ]);
  assert.equal(
    toXMLRPC([1, 2.5, 'a<b', false, null, { k: [1] }, new TypedObject('T', { v: 'w' })]),
    '<?xml version="1.0"?><methodResponse><params>' +
      '<param><value><int>1</int></value></param><param><value><double>2.5</double></value></param>' +
      '<param><value><string>a&lt;b</string></value></param><param><value><boolean>0</boolean></value></param>' +
      '<param><value></value></param>' +
      '<param><value><struct><member><name>k</name><value><array size="1"><data><value><int>1</int></value></data></array></value></member></struct></value></param>' +
      '<param><value><struct type="T"><member><name>v</name><value><string>w</string></value></member></struct></value></param>' +
      '</params></methodResponse>',
  );
  assert.throws(() => fromXMLRPC('<a><b></a>'));
  assert.throws(() => fromXMLRPC('<other/>'));
});

test('Query: MonaServer form, typed values read back', () => {
  const t = app();
  try {
    const [q, key1, key2, s, key3, key4, key5, kind] = t.call('queries');
    // members in the order the table yields them (fengari: insertion order)
    assert.equal(q, 'key1=val1&key2=val2&str%23ing&key3=val3&key4=10&key5=true');
    assert.deepEqual([key1, key2, s, key3, key4, key5, kind], ['val1', 'val2', 'str#ing', 'val3', 10, true, 'number']);
    assert.deepEqual(t.call('fromQuery', 'a=1&b=x+y%20z&c=null&d=FALSE&lone'), [{ a: 1, b: 'x y z', d: false }, 'lone']);
  } finally {
    t.cleanup();
  }
  assert.equal(toQuery(['a b', { 'k&': 'é' }, [1, 2]]), 'a%20b&k%26=%C3%A9&1&2');
  assert.deepEqual(fromQuery('x=2014-09-30T13:15:17.000Z&y=-1.5e3'), [{ x: new Date(1412082917000), y: -1500 }]);
});

test('XML: MonaServer Lua form, __value, child by name, exact round trip', () => {
  const t = app();
  try {
    const [xml, checks, n, changed] = t.call('xml', DOC);
    assert.equal(xml, DOC);
    assert.deepEqual(checks, [true, true, true, true, true, true, true]);
    assert.equal(n, 1);
    assert.equal(changed, 'changed');
    assert.deepEqual(t.call('buildXML'), ['<?xml version="1.0" ?><a x="1 &amp; 2" ><b />t&lt;</a>']);
  } finally {
    t.cleanup();
  }
});

test('XML errors: raised through the handler argument, silent without it', () => {
  const t = app();
  try {
    const [ok, err, silent, ok2, err2] = t.call('badXML', '<a><b></a>');
    assert.equal(ok, false);
    assert.match(err as string, /malformed XML/);
    assert.equal(silent, 0);
    assert.equal(ok2, false);
    assert.match(err2 as string, /__name/);
  } finally {
    t.cleanup();
  }
});
