import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';
import {
  AMFDictionary,
  AMFReader,
  AMFVector,
  AMFWriter,
  AMFXML,
  MixedArray,
  TypedObject,
  type AMFObject,
  type AMFValue,
} from '../../src/flash/amf/index.ts';

const ONE = '3ff0000000000000';
const enc0 = (v: AMFValue): string => hex(new AMFWriter().writeAMF0(v).toBytes());
const dec0 = (h: string): AMFValue => {
  const r = new AMFReader(fromHex(h));
  const v = r.readAMF0();
  assert.equal(r.available, 0, 'value consumed exactly');
  return v;
};
const both = (v: AMFValue, h: string): void => {
  assert.equal(enc0(v), h.replace(/\s+/g, ''));
  assert.deepEqual(dec0(h), v);
};
const rejects = (h: string): void => {
  assert.throws(() => new AMFReader(fromHex(h)).readAll(), WireError);
};

test('0x00 number', () => {
  both(1, `00 ${ONE}`);
  both(-0, '00 8000000000000000');
  assert.ok(Number.isNaN(dec0('00 7ff8000000000000')));
});

test('0x01 boolean', () => {
  both(true, '01 01');
  both(false, '01 00');
  assert.equal(dec0('01 05'), true);
});

test('0x02 string and 0x0c long string', () => {
  both('ab', '02 0002 6162');
  both('', '02 0000');
  both('é', '02 0002 c3a9');
  both('\ufeffa', '02 0004 efbbbf 61');
  const long = 'x'.repeat(70000);
  const bytes = new AMFWriter().writeAMF0(long).toBytes();
  assert.equal(hex(bytes.subarray(0, 5)), '0c00011170');
  assert.equal(new AMFReader(bytes).readAMF0(), long);
  assert.equal(dec0('0c 00000002 6162'), 'ab');
});

test('0x03 object', () => {
  both({ a: 1 }, `03 0001 61 00 ${ONE} 0000 09`);
  both({}, '03 0000 09');
  both({ a: { b: null } }, '03 0001 61 03 0001 62 05 0000 09 0000 09');
});

test('0x03 object: a "__proto__" member is data, not a prototype', () => {
  const v = dec0(`03 0009 5f5f70726f746f5f5f 03 0001 78 00 ${ONE} 0000 09 0000 09`) as AMFObject;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal((v['__proto__'] as AMFObject)['x'], 1);
});

test('0x04 movieclip, 0x0e recordset and a stray 0x09 are rejected', () => {
  rejects('04');
  rejects('0e');
  rejects('09');
  rejects('ff');
});

test('0x05 null, 0x06 undefined, 0x0d unsupported', () => {
  both(null, '05');
  both(undefined, '06');
  assert.equal(dec0('0d'), undefined);
});

test('0x07 reference: reader resolves, writer emits for repeated objects', () => {
  // strict array = index 0, object = index 1
  const v = dec0('0a 00000002 03 0000 09 07 0001') as AMFValue[];
  assert.equal(v.length, 2);
  assert.equal(v[0], v[1]);
  const o = {};
  assert.equal(enc0([o, o]), '0a0000000203000009070001');
  rejects('07 0000');
  rejects('0a 00000001 07 0001');
});

test('0x07 reference: cycles decode and encode', () => {
  const v = dec0('03 0004 73656c66 07 0000 0000 09') as AMFObject;
  assert.equal(v['self'], v);
  const o: AMFObject = { n: 1 };
  o['self'] = o;
  const h = enc0(o);
  assert.equal(h, `030001 6e00${ONE} 000473656c66 070000 000009`.replace(/\s+/g, ''));
  const back = dec0(h) as AMFObject;
  assert.equal(back['self'], back);
});

test('0x08 ECMA array: indices are the dense part, the count is only a hint', () => {
  both(new MixedArray([1], { x: 'y' }), `08 00000002 0001 30 00 ${ONE} 0001 78 02 0001 79 0000 09`);
  assert.deepEqual(dec0(`08 00000063 0001 78 05 0000 09`), new MixedArray([], { x: null }));
  assert.deepEqual(dec0(`08 00000000 0001 31 05 0000 09`), new MixedArray([], { 1: null }));
});

test('0x0a strict array', () => {
  both([1, 'a'], `0a 00000002 00 ${ONE} 02 0001 61`);
  both([], '0a 00000000');
});

test('0x0a strict array with a huge count fails fast', () => {
  rejects('0a ffffffff 05 05 05 05 05 05 05 05 05 05');
  rejects('0a 00000002 05');
});

test('0x0b date: time zone written as 0, ignored on read', () => {
  const d = new Date(Date.UTC(2013, 4, 1));
  const ms = hex(new Uint8Array(new Float64Array([d.getTime()]).buffer).reverse());
  both(d, `0b ${ms} 0000`);
  assert.deepEqual(dec0(`0b ${ms} fe20`), d);
});

test('0x0f XML document', () => {
  both(new AMFXML('<a/>', true), '0f 00000004 3c612f3e');
  assert.equal(enc0(new AMFXML('<a/>')), '0f000000043c612f3e');
});

test('0x10 typed object', () => {
  both(new TypedObject('C', { a: 1 }), `10 0001 43 0001 61 00 ${ONE} 0000 09`);
  // no class name: written as an anonymous object
  assert.equal(enc0(new TypedObject('', { a: 1 })), `0300016100${ONE}000009`);
});

test('0x11 switch: exactly one AMF3 value, then AMF0 again', () => {
  assert.deepEqual(new AMFReader(fromHex(`11 04 01 00 ${ONE} 11 06 05 6162 11 06 00`)).readAll(), [1, 1, 'ab', 'ab']);
  // values AMF0 cannot express switch even in pure AMF0
  assert.equal(enc0(new Uint8Array([1, 2])), '110c050102');
  assert.equal(enc0(new AMFDictionary([[1, 2]])), '1111030004010402');
  assert.equal(enc0(new AMFVector('int', [1])), '110d0300' + '00000001');
  assert.equal(
    enc0(new TypedObject('flex.messaging.io.ArrayList', {}, true, [])),
    '110a0737' + hex(new TextEncoder().encode('flex.messaging.io.ArrayList')) + '090101',
  );
});

test('write(): primitives in AMF0, complex values in AMF3 unless amf0Only', () => {
  const w = new AMFWriter().write(1).write('a').write(true).write(null).write(undefined).write({ a: 1 }).write([1]);
  assert.equal(hex(w.toBytes()), `00${ONE} 02000161 0101 05 06 11 0a0b01036104010111 09030104 01`.replace(/\s+/g, ''));
  const w0 = new AMFWriter({ amf0Only: true }).write({ a: 1 }).write(new Uint8Array([7]));
  assert.equal(hex(w0.toBytes()), `0300016100${ONE}000009 110c0307`.replace(/\s+/g, ''));
});

test('truncated values throw WireError', () => {
  for (const h of [
    '00 3ff0',
    '01',
    '02 0003 6162',
    '03 0001 61',
    '03 0001 61 05',
    '08 000000',
    '0b 3ff0000000000000 00',
    '0c 0000',
    '10 0005 41',
    '11',
    '11 0a',
  ]) {
    rejects(h);
  }
});

test('deep nesting is rejected, not a stack overflow', () => {
  rejects('0a00000001'.repeat(10000) + '05');
  rejects('030001 61'.repeat(10000));
  const ok = '0a00000001'.repeat(60) + '05';
  assert.doesNotThrow(() => dec0(ok));
});
