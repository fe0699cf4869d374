import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from '../../src/errors.ts';
import {
  AMFDictionary,
  AMFReader,
  AMFVector,
  AMFWriter,
  AMFXML,
  MixedArray,
  TypedObject,
  isAMFObject,
  setMember,
  type AMFObject,
  type AMFValue,
} from '../../src/flash/amf/index.ts';

// AMF_FC_SCALE=40 multiplies the number of runs for a longer soak
const SCALE = Number(process.env['AMF_FC_SCALE'] ?? '1');
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

const FLEX = ['flex.messaging.io.ArrayCollection', 'flex.messaging.io.ObjectProxy', 'flex.messaging.io.ArrayList'];

const text = fc.string({ unit: 'binary', maxLength: 12 });
// writers drop empty names (they would read as end markers)
const memberName = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 });
// associative keys that cannot be mistaken for the indices of an AMF0 ECMA array
const assocKey = memberName.filter((k) => !/^(0|[1-9][0-9]*)$/.test(k));

const objectOf = (name: fc.Arbitrary<string>, value: fc.Arbitrary<AMFValue>, minLength = 0): fc.Arbitrary<AMFObject> =>
  fc.array(fc.tuple(name, value), { minLength, maxLength: 4 }).map((entries) => {
    const o: AMFObject = {};
    for (const [k, v] of entries) setMember(o, k, v);
    return o;
  });

const leaf: fc.Arbitrary<AMFValue> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer({ min: -(2 ** 28) - 2, max: 2 ** 28 + 2 }),
  fc.integer(),
  text,
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 8 }),
  fc.tuple(text, fc.boolean()).map(([t, legacy]) => new AMFXML(t, legacy)),
  fc
    .tuple(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 4 }), fc.boolean())
    .map(([items, fixed]) => new AMFVector('int', items, fixed)),
  fc
    .tuple(fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 4 }), fc.boolean())
    .map(([items, fixed]) => new AMFVector('uint', items, fixed)),
  fc.tuple(fc.array(fc.double(), { maxLength: 4 }), fc.boolean()).map(([items, fixed]) => new AMFVector('double', items, fixed)),
);

const { value } = fc.letrec<{ value: AMFValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    objectOf(memberName, tie('value')),
    fc
      .tuple(fc.constantFrom('C', 'com.example.Point', 'é.Klass'), objectOf(memberName, tie('value')))
      .map(([c, p]) => new TypedObject(c, p)),
    fc.tuple(fc.array(tie('value'), { maxLength: 3 }), objectOf(assocKey, tie('value'), 1)).map(([d, a]) => new MixedArray(d, a)),
    fc.tuple(fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }), fc.boolean()).map(([e, weak]) => new AMFDictionary(e, weak)),
    fc
      .tuple(fc.array(tie('value'), { maxLength: 3 }), fc.boolean(), fc.constantFrom('*', 'Object', 'com.example.Point'))
      .map(([items, fixed, cls]) => new AMFVector('object', items, fixed, cls)),
    fc.tuple(fc.constantFrom(...FLEX), tie('value')).map(([c, body]) => new TypedObject(c, {}, true, body)),
  ),
}));

/** What a value written in pure AMF0 reads back as: E4X XML becomes XMLDocument, except inside switched AMF3. */
function asAMF0(v: AMFValue): AMFValue {
  if (v instanceof AMFXML) return new AMFXML(v.text, true);
  if (Array.isArray(v)) return v.map(asAMF0);
  if (v instanceof MixedArray) return new MixedArray(v.dense.map(asAMF0), mapObject(v.assoc));
  if (v instanceof TypedObject && !v.externalizable) return new TypedObject(v.className, mapObject(v.properties));
  if (isAMFObject(v)) return mapObject(v);
  return v;
}

function mapObject(o: AMFObject): AMFObject {
  const out: AMFObject = {};
  for (const k of Object.keys(o)) setMember(out, k, asAMF0(o[k]));
  return out;
}

const onlyWireErrors = (decode: () => void): void => {
  try {
    decode();
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
  }
};

test('AMF3 round trip', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = new AMFWriter().writeAMF3(v).toBytes();
      const r = new AMFReader(bytes);
      assert.deepStrictEqual(r.readAMF3(), v);
      assert.equal(r.available, 0);
    }),
    { numRuns: runs(500) },
  );
});

test('AMF0 round trip (pure AMF0, switching only where AMF0 cannot express a value)', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = new AMFWriter().writeAMF0(v).toBytes();
      const r = new AMFReader(bytes);
      assert.deepStrictEqual(r.readAMF0(), asAMF0(v));
      assert.equal(r.available, 0);
    }),
    { numRuns: runs(500) },
  );
});

test('mixed AMF0 stream round trip: several values in one message share the tables', () => {
  fc.assert(
    fc.property(fc.array(value, { maxLength: 5 }), fc.boolean(), (values, amf0Only) => {
      const w = new AMFWriter({ amf0Only });
      for (const v of values) w.write(v);
      const back = new AMFReader(w.toBytes()).readAll();
      assert.deepStrictEqual(back, amf0Only ? values.map(asAMF0) : values);
    }),
    { numRuns: runs(300) },
  );
});

test('fuzz: random bytes only ever throw WireError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      onlyWireErrors(() => new AMFReader(bytes).readAll());
      onlyWireErrors(() => {
        const r = new AMFReader(bytes);
        while (r.available > 0) r.readAMF3();
      });
    }),
    { numRuns: runs(3000) },
  );
});

test('fuzz: mutated encodings only ever throw WireError', () => {
  fc.assert(
    fc.property(value, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (v, at, byte, amf3) => {
      const bytes = amf3 ? new AMFWriter().writeAMF3(v).toBytes() : new AMFWriter().write(v).toBytes();
      bytes[at % bytes.length] = byte;
      onlyWireErrors(() => (amf3 ? new AMFReader(bytes).readAMF3() : new AMFReader(bytes).readAll()));
    }),
    { numRuns: runs(1000) },
  );
});

test('truncated encodings throw WireError', () => {
  fc.assert(
    fc.property(value, fc.boolean(), (v, amf3) => {
      const bytes = amf3 ? new AMFWriter().writeAMF3(v).toBytes() : new AMFWriter().writeAMF0(v).toBytes();
      for (let n = 0; n < bytes.length; n++) {
        const r = new AMFReader(bytes.subarray(0, n));
        assert.throws(() => (amf3 ? r.readAMF3() : r.readAMF0()), WireError);
      }
    }),
    { numRuns: runs(200) },
  );
});

test('cyclic and shared structures survive a round trip', () => {
  const o: AMFObject = { name: 'root' };
  const list: AMFValue[] = [o];
  o['list'] = list;
  const typed = new TypedObject('C', { parent: o });
  o['child'] = typed;
  const check = (back: AMFObject): void => {
    assert.deepStrictEqual(back, o);
    assert.equal((back['list'] as AMFValue[])[0], back);
    assert.equal((back['child'] as TypedObject).properties['parent'], back);
  };
  check(new AMFReader(new AMFWriter().writeAMF0(o).toBytes()).readAMF0() as AMFObject);
  // a dictionary needs AMF3; AMF3 cannot refer to AMF0 objects, so identity holds within AMF3 only
  o['dict'] = new AMFDictionary([[o, typed]]);
  for (const bytes of [new AMFWriter().writeAMF3(o).toBytes(), new AMFWriter().write(o).toBytes()]) {
    const r = new AMFReader(bytes);
    const back = (bytes[0] === 0x0a ? r.readAMF3() : r.readAMF0()) as AMFObject;
    check(back);
    const entries = (back['dict'] as AMFDictionary).entries;
    assert.equal(entries[0]![0], back);
    assert.equal(entries[0]![1], back['child']);
  }
});
