import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient, setup } from './harness.ts';
import { AMFReader } from '../../src/flash/amf/reader.ts';
import { AMFWriter } from '../../src/flash/amf/writer.ts';
import { TypedObject, AMFVector, AMFXML, MixedArray } from '../../src/flash/amf/types.ts';
import { LuaHost, pushBytes, toBytes, lua, lauxlib } from '../../src/app/lua/state.ts';
import { utf8Encode } from '../../src/bytes.ts';

// 0x11 switch, AMF3 object, traits: externalizable (U29 0x07), class "test.Point", then the body
const className = utf8Encode('test.Point');
const POINT = Uint8Array.from([
  0x11,
  0x0a,
  0x07,
  (className.length << 1) | 1,
  ...className,
  0x00,
  0x00,
  0x00,
  0x07, // readInt 7
  0x3f,
  0xf8,
  0,
  0,
  0,
  0,
  0,
  0, // readDouble 1.5
  0x06,
  0x03,
  0x70, // readAMF(1) "p"
]);

test('a 0x00-0xFF byte string survives a Lua round trip', () => {
  const h = new LuaHost();
  const L = h.L;
  const code = utf8Encode('local s = ...; return s, #s, s:byte(1), s:byte(-1)');
  assert.equal(lauxlib.luaL_loadbufferx(L, code, code.length, '=t', 't'), lua.LUA_OK);
  const all = new Uint8Array(256).map((_, i) => i);
  pushBytes(L, all);
  assert.deepEqual(h.pcall(1, 4), { ok: true });
  assert.deepEqual(toBytes(L, 1), all);
  assert.deepEqual([lua.lua_tonumber(L, 2), lua.lua_tonumber(L, 3), lua.lua_tonumber(L, 4)], [256, 0, 255]);
});

test('__readExternal: onTypedObject adds it, the ByteReader reads the body (readInt, readDouble, readAMF)', () => {
  const t = setup();
  try {
    const c = new FakeClient('types');
    t.connect(c);
    const [value] = new AMFReader(POINT, t.host.amfReadOptions).readAll();
    assert.ok(value instanceof TypedObject && value.externalizable);
    const r = t.host.onCall(c, 'describe', 1, [value]);
    assert.deepEqual(r, { ok: true, results: ['test.Point', null, null, null, null, null, 7, 'p'] });
  } finally {
    t.cleanup();
  }
});

test('__writeExternal: what the ByteWriter wrote is encoded as the externalizable body', () => {
  const t = setup();
  try {
    const c = new FakeClient('types');
    t.connect(c);
    const r = t.host.onCall(c, 'point', 1, []);
    assert.equal(r.ok, true);
    const [point] = (r as { results: unknown[] }).results as TypedObject[];
    assert.ok(point instanceof TypedObject && point.externalizable && point.className === 'test.Point');
    const bytes = new AMFWriter(t.host.amfWriteOptions).write(point).toBytes();
    assert.deepEqual(bytes, POINT);
  } finally {
    t.cleanup();
  }
});

test('Vectors arrive as arrays, XML as its text, mixed arrays keep both parts', () => {
  const t = setup();
  try {
    const c = new FakeClient('types');
    t.connect(c);
    const r = t.host.onCall(c, 'roundTrip', 1, [
      new AMFVector('int', [1, 2]),
      new AMFXML('<a/>'),
      new MixedArray([1, 2], { x: 'y' }),
      undefined,
    ]);
    assert.deepEqual(r, { ok: true, results: [[1, 2], '<a/>', new MixedArray([1, 2], { x: 'y' }), null] });
  } finally {
    t.cleanup();
  }
});

test('shared references and cycles survive both ways', () => {
  const t = setup();
  try {
    const c = new FakeClient('types');
    t.connect(c);
    const inner = { v: 1 };
    const cyclic: Record<string, unknown> = { inner, again: inner };
    cyclic['self'] = cyclic;
    const r = t.host.onCall(c, 'roundTrip', 1, [cyclic as never]);
    assert.equal(r.ok, true);
    const [back] = (r as { results: Record<string, unknown>[] }).results;
    assert.equal(back!['self'], back);
    assert.equal(back!['inner'], back!['again']);
  } finally {
    t.cleanup();
  }
});

test('ByteWriter and ByteReader: every method, big-endian, byte for byte and back', () => {
  const t = setup();
  try {
    const c = new FakeClient('types');
    t.connect(c);
    const r = t.host.onCall(c, 'all', 1, []);
    assert.equal(r.ok, true);
    const [all] = (r as { results: unknown[] }).results as TypedObject[];
    const bytes = new AMFWriter(t.host.amfWriteOptions).write(all).toBytes();
    const name = utf8Encode('test.All');
    const header = [0x11, 0x0a, 0x07, (name.length << 1) | 1, ...name];
    const body = [
      0x01, // writeBoolean(true)
      0xfe, // writeByte(-2)
      0xc8, // writeByte(200)
      0xfe,
      0xd4, // writeShort(-300)
      0xfd,
      0xe8, // writeShort(65000)
      0xff,
      0xfe,
      0xee,
      0x90, // writeInt(-70000)
      0xee,
      0x6b,
      0x28,
      0x00, // writeUnsignedInt(4000000000)
      0x3f,
      0xc0,
      0x00,
      0x00, // writeFloat(1.5)
      0xbf,
      0xd0,
      0,
      0,
      0,
      0,
      0,
      0, // writeDouble(-0.25)
      0x00,
      0x06,
      ...utf8Encode('héllo'), // writeUTF: length then UTF-8
      0x61,
      0x62, // writeUTFBytes("ab")
      0x63,
      0x64, // writeMultiByte("cd")
      0x32,
      0x33,
      0x34, // writeBytes("0123456789", 2, 3)
      0x06,
      0x03,
      0x7a, // writeAMF("z")
    ];
    assert.deepEqual([...bytes], [...header, ...body]);
    const [decoded] = new AMFReader(bytes, t.host.amfReadOptions).readAll();
    const back = t.host.onCall(c, 'describeAll', 2, [decoded]);
    assert.deepEqual(back, {
      ok: true,
      results: [
        true,
        -2,
        200,
        -300,
        65000,
        -70000,
        4000000000,
        1.5,
        -0.25,
        'héllo',
        'ab',
        'cd',
        '234',
        'z',
        body.length,
        0,
        'bigEndian',
        3,
      ],
    });
  } finally {
    t.cleanup();
  }
});
