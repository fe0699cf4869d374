import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, fromHex, hex } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';
import {
  AMFDictionary,
  AMFReader,
  AMFVector,
  AMFWriter,
  AMFXML,
  MixedArray,
  TypedObject,
  isAMF3Integer,
  isAMFObject,
  readU29,
  writeU29,
  type AMFObject,
  type AMFValue,
} from '../../src/flash/amf/index.ts';

const ONE = '3ff0000000000000';
const ascii = (s: string): string => hex(new TextEncoder().encode(s));
const enc3 = (v: AMFValue): string => hex(new AMFWriter().writeAMF3(v).toBytes());
const dec3 = (h: string, reader?: (b: Uint8Array) => AMFReader): AMFValue => {
  const bytes = fromHex(h);
  const r = reader ? reader(bytes) : new AMFReader(bytes);
  const v = r.readAMF3();
  assert.equal(r.available, 0, 'value consumed exactly');
  return v;
};
const both = (v: AMFValue, h: string): void => {
  assert.equal(enc3(v), h.replace(/\s+/g, ''));
  assert.deepEqual(dec3(h), v);
};
const rejects = (h: string): void => {
  assert.throws(() => new AMFReader(fromHex(h)).readAMF3(), WireError);
};

test('U29: the examples of RTMFP.md §8.3.1, and the range', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [0x7f, '7f'],
    [0x80, '8100'],
    [0x3fff, 'ff7f'],
    [0x4000, '818000'],
    [0x1fffff, 'ffff7f'],
    [0x200000, '80c08000'],
    [0x1fffffff, 'ffffffff'],
  ];
  for (const [v, h] of cases) {
    const w = new ByteWriter();
    writeU29(w, v);
    assert.equal(hex(w.bytes()), h);
    const r = new ByteReader(fromHex(h));
    assert.equal(readU29(r), v);
    assert.equal(r.available, 0);
  }
  assert.throws(() => writeU29(new ByteWriter(), 0x20000000), WireError);
  assert.throws(() => writeU29(new ByteWriter(), -1), WireError);
  assert.throws(() => readU29(new ByteReader(fromHex('ffffff'))), WireError);
});

test('0x00-0x03 undefined, null, false, true', () => {
  both(undefined, '00');
  both(null, '01');
  both(false, '02');
  both(true, '03');
});

test('0x04 integer and 0x05 double: which numbers are integers', () => {
  both(1, '04 01');
  both(0, '04 00');
  both(-1, '04 ffffffff');
  both(0x0fffffff, '04 bfffffff');
  both(-0x10000000, '04 c0808000');
  both(0x10000000, '05 41b0000000000000');
  both(-0, '05 8000000000000000');
  both(1.5, '05 3ff8000000000000');
  assert.equal(isAMF3Integer(2 ** 28 - 1), true);
  assert.equal(isAMF3Integer(-(2 ** 28) - 1), false);
  assert.equal(isAMF3Integer(NaN), false);
  assert.ok(Number.isNaN(dec3('05 7ff8000000000000')));
});

test('0x06 string, string references, the empty string is never referenced', () => {
  both('ab', '06 05 6162');
  both('', '06 01');
  both('\ufeffa', '06 09 efbbbf 61');
  both(['ab', 'ab'], '09 05 01 06 05 6162 06 00');
  both(['', 'ab', '', 'ab'], '09 09 01 06 01 06 05 6162 06 01 06 00');
  // member names and values share the table
  both({ ab: 'ab' }, '0a 0b 01 05 6162 06 00 01');
  rejects('06 00');
  rejects('06 07 6162');
});

test('0x07 XMLDocument and 0x0b XML', () => {
  both(new AMFXML('<a/>', true), '07 09 3c612f3e');
  both(new AMFXML('<a/>'), '0b 09 3c612f3e');
  const x = new AMFXML('<a/>');
  const v = dec3('09 05 01 0b 09 3c612f3e 0b 02') as AMFValue[];
  assert.equal(v[0], v[1]);
  assert.equal(enc3([x, x]), '090501 0b093c612f3e 0b02'.replace(/\s+/g, ''));
});

test('0x08 date, and date references', () => {
  const d = new Date(Date.UTC(2013, 4, 1));
  const ms = hex(new Uint8Array(new Float64Array([d.getTime()]).buffer).reverse());
  both(d, `08 01 ${ms}`);
  const v = dec3(`09 05 01 08 01 ${ms} 08 02`) as AMFValue[];
  assert.deepEqual(v[0], d);
  assert.equal(v[0], v[1]);
  assert.equal(enc3([d, d]), `090501 0801${ms} 0802`.replace(/\s+/g, ''));
});

test('0x09 array: dense, associative, references', () => {
  both([1, 2], '09 05 01 04 01 04 02');
  both([], '09 01 01');
  both(new MixedArray([1], { x: 2 }), '09 03 03 78 04 02 01 04 01');
  both(new MixedArray([], { x: 2 }), '09 01 03 78 04 02 01');
  const a: AMFValue[] = [];
  a.push(a);
  const h = enc3(a);
  assert.equal(h, '0903010900');
  const back = dec3(h) as AMFValue[];
  assert.equal(back[0], back);
  rejects('09 ffffffff 01 01 01 01 01');
});

test('0x0a object: the §8.3.4 example, traits references, sealed members', () => {
  both({ a: 1 }, '0a 0b 01 03 61 04 01 01');
  // the second anonymous object refers to the first one's traits
  both([{ a: 1 }, { b: 2 }], '09 05 01 0a 0b 01 03 61 04 01 01 0a 01 03 62 04 02 01');
  // typed objects: properties as sealed members; identical shapes share the traits
  both(new TypedObject('C', { x: 1 }), '0a 13 03 43 03 78 04 01');
  both([new TypedObject('C', { x: 1 }), new TypedObject('C', { x: 2 })], '09 05 01 0a 13 03 43 03 78 04 01 0a 01 04 02');
  // a dynamic typed object with sealed and dynamic members reads as one set of properties
  assert.deepEqual(dec3(`0a 1b 03 43 03 78 04 01 03 79 04 02 01`), new TypedObject('C', { x: 1, y: 2 }));
  // anonymous class with a sealed member is still a plain object
  assert.deepEqual(dec3(`0a 13 01 03 78 04 01`), { x: 1 });
  rejects('0a 05');
  rejects('0a 0b 01 03 61 04 01');
  rejects('0a fffffff3 01');
});

test('0x0a object: references and cycles', () => {
  const o: AMFObject = { n: 1 };
  o['self'] = o;
  const h = enc3(o);
  assert.equal(h, `0a0b01 036e 0401 09${ascii('self')} 0a00 01`.replace(/\s+/g, ''));
  const back = dec3(h) as AMFObject;
  assert.ok(isAMFObject(back));
  assert.equal(back['self'], back);
  const shared = { k: true };
  const pair = dec3(enc3([shared, shared])) as AMFValue[];
  assert.equal(pair[0], pair[1]);
  rejects('0a 02');
});

test('0x0a object: "__proto__" member names stay data', () => {
  const v = dec3(`0a 0b 01 13 ${ascii('__proto__')} 0a 01 03 78 04 01 01 01`) as AMFObject;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(v['__proto__'], { x: 1 });
});

test('0x0a externalizable: built-in Flex classes, hooks, unknown classes', () => {
  const name = 'flex.messaging.io.ArrayCollection';
  const h = `0a 07 43 ${ascii(name)} 09 05 01 04 01 04 02`;
  both(new TypedObject(name, {}, true, [1, 2]), h);
  both(
    new TypedObject('flex.messaging.io.ObjectProxy', {}, true, { a: 1 }),
    `0a 07 3b ${ascii('flex.messaging.io.ObjectProxy')} 0a 0b 01 03 61 04 01 01`,
  );
  // second instance of a class: traits reference
  const two = [new TypedObject(name, {}, true, []), new TypedObject(name, {}, true, [])];
  assert.equal(enc3(two), `090501 0a0743${ascii(name)}090101 0a01090101`.replace(/\s+/g, ''));
  assert.deepEqual(dec3(enc3(two)), two);

  const custom = `0a 07 03 58 0000002a`;
  assert.throws(() => dec3(custom), WireError);
  const withHook = dec3(custom, (b) => new AMFReader(b, { readExternal: (cls, input) => (cls === 'X' ? input.bytes.u32() : null) }));
  assert.deepEqual(withHook, new TypedObject('X', {}, true, 42));

  const x = new TypedObject('X', {}, true, 42);
  assert.throws(() => enc3(x), WireError);
  const w = new AMFWriter({ writeExternal: (obj, out) => (out.bytes.u32(Number(obj.external)), true) });
  assert.equal(hex(w.writeAMF3(x).toBytes()), '0a0703580000002a');
});

test('0x0c ByteArray: a copy, always a plain Uint8Array', () => {
  both(new Uint8Array([1, 2, 3]), '0c 07 010203');
  const v = new AMFReader(Buffer.from(fromHex('0c07010203'))).readAMF3();
  assert.equal(Object.getPrototypeOf(v), Uint8Array.prototype);
  rejects('0c 07 0102');
});

test('0x0d-0x10 vectors', () => {
  both(new AMFVector('int', [1, -1]), '0d 05 00 00000001 ffffffff');
  both(new AMFVector('uint', [0xffffffff], true), '0e 03 01 ffffffff');
  both(new AMFVector('double', [1]), `0f 03 00 ${ONE}`);
  both(new AMFVector('object', ['a', null], false, '*'), '10 05 00 03 2a 06 03 61 01');
  both(new AMFVector('object', [{ a: 1 }], false, 'Object'), `10 03 00 0d ${ascii('Object')} 0a 0b 01 03 61 04 01 01`);
  rejects('0d 7fffffff 00 00000001');
  rejects('0f 03 00 3ff0');
});

test('0x11 dictionary', () => {
  const key = { k: 1 };
  both(
    new AMFDictionary(
      [
        [key, 'v'],
        [1, true],
      ],
      true,
    ),
    '11 05 01 0a 0b 01 03 6b 04 01 01 06 03 76 04 01 03',
  );
  rejects('11 7fffffff 00 01 01');
});

test('unknown markers and dangling references throw WireError', () => {
  for (const h of ['12', 'ff', '08 00', '09 02', '0c 00', '0d 02', '11 02', '07 02', '0a 05 ']) rejects(h);
});

test('deep nesting is rejected, not a stack overflow', () => {
  rejects('090301'.repeat(10000) + '01');
  rejects('0a0b01 0361'.repeat(10000));
  rejects('1003002a'.repeat(10000));
  assert.doesNotThrow(() => dec3('090301'.repeat(60) + '01'));
});

test('values larger than the writer buffer', () => {
  const big = Array.from({ length: 500 }, (_, i) => (i % 2 ? i * 1.5 : `s${i}`));
  assert.deepEqual(new AMFReader(new AMFWriter().writeAMF3(big).toBytes()).readAMF3(), big);
  const bytes = new Uint8Array(100000).map((_, i) => i & 0xff);
  assert.deepEqual(new AMFReader(new AMFWriter().writeAMF3(bytes).toBytes()).readAMF3(), bytes);
});
