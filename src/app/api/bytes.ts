// ByteReader / ByteWriter: the IDataInput / IDataOutput that __readExternal(reader) and
// __writeExternal(writer) get, with readObject/writeObject replaced by readAMF(n)/writeAMF(...).
// Big-endian, as in Flash.

import type { AMFValue } from '../../flash/amf/types.ts';
import type { AMF3Input } from '../../flash/amf/reader.ts';
import { lua, lauxlib, pushBytes, toBytes, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method } from '../lua/object.ts';
import { pushNumber } from '../lua/number.ts';

/** The AMF ↔ Lua conversions readAMF and writeAMF need: AMFConverter's, which makes these objects. */
export interface ValueConverter {
  pushAll(L: LuaState, values: readonly AMFValue[]): number;
  range(L: LuaState, from: number, to: number): AMFValue[];
}

/** What __writeExternal wrote: raw bytes, or an AMF3 value to encode with the message's tables. */
export type ExternalOp = { bytes: Uint8Array } | { bytes?: undefined; value: AMFValue };

export function pushByteReader(L: LuaState, conv: ValueConverter, input: AMF3Input): void {
  const r = input.bytes;
  const num =
    (read: () => number): Method =>
    (L1) => {
      pushNumber(L1, read());
      return 1;
    };
  const count = (L1: LuaState, arg: number): number => {
    // readBytes(n) in Lua terms; readBytes(bytes, offset, n) as AS3 writes it
    const at = lua.lua_type(L1, arg) === lua.LUA_TNUMBER ? arg : arg + 2;
    return lua.lua_type(L1, at) === lua.LUA_TNUMBER ? lauxlib.luaL_checkinteger(L1, at) : r.available;
  };
  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'bytesAvailable':
          pushNumber(L1, r.available);
          return true;
        case 'endian':
          lua.lua_pushliteral(L1, 'bigEndian');
          return true;
        case 'objectEncoding':
          lua.lua_pushinteger(L1, 3);
          return true;
      }
      return false;
    },
    set(L1, key) {
      return key === 'bytesAvailable' ? readOnly(L1, key) : false;
    },
    methods: {
      readBoolean: (L1) => {
        lua.lua_pushboolean(L1, r.u8() !== 0);
        return 1;
      },
      readByte: num(() => (r.u8() << 24) >> 24),
      readUnsignedByte: num(() => r.u8()),
      readShort: num(() => r.i16()),
      readUnsignedShort: num(() => r.u16()),
      readInt: num(() => r.i32()),
      readUnsignedInt: num(() => r.u32()),
      readFloat: num(() => r.f32()),
      readDouble: num(() => r.f64()),
      readUTF: (L1) => {
        lua.lua_pushliteral(L1, r.utf8(r.u16()));
        return 1;
      },
      readUTFBytes: (L1, a) => {
        lua.lua_pushliteral(L1, r.utf8(lauxlib.luaL_checkinteger(L1, a)));
        return 1;
      },
      readMultiByte: (L1, a) => {
        pushBytes(L1, r.read(lauxlib.luaL_checkinteger(L1, a)));
        return 1;
      },
      readBytes: (L1, a) => {
        pushBytes(L1, r.read(count(L1, a)));
        return 1;
      },
      readAMF: (L1, a) => {
        const n = lauxlib.luaL_optinteger(L1, a, 1);
        const values: AMFValue[] = [];
        for (let i = 0; i < n && r.available > 0; i++) values.push(input.readAMF3());
        return conv.pushAll(L1, values);
      },
    },
  });
}

export function pushByteWriter(L: LuaState, conv: ValueConverter, ops: ExternalOp[]): void {
  const put = (size: number, fill: (v: DataView) => void): void => {
    const b = new Uint8Array(size);
    fill(new DataView(b.buffer));
    ops.push({ bytes: b });
  };
  const numeric =
    (size: number, fill: (v: DataView, x: number) => void): Method =>
    (L1, a) => {
      const x = lauxlib.luaL_checknumber(L1, a);
      put(size, (v) => fill(v, x));
      return 0;
    };
  const text = (L1: LuaState, a: number): Uint8Array => {
    lauxlib.luaL_checklstring(L1, a);
    return toBytes(L1, a);
  };
  pushObject(L, {
    get(L1, key) {
      if (key === 'endian') {
        lua.lua_pushliteral(L1, 'bigEndian');
        return true;
      }
      if (key === 'objectEncoding') {
        lua.lua_pushinteger(L1, 3);
        return true;
      }
      return false;
    },
    methods: {
      writeBoolean: (L1, a) => {
        ops.push({ bytes: Uint8Array.of(lua.lua_toboolean(L1, a) ? 1 : 0) });
        return 0;
      },
      writeByte: numeric(1, (v, x) => v.setUint8(0, x & 0xff)),
      writeShort: numeric(2, (v, x) => v.setUint16(0, x & 0xffff)),
      writeInt: numeric(4, (v, x) => v.setInt32(0, x | 0)),
      writeUnsignedInt: numeric(4, (v, x) => v.setUint32(0, x >>> 0)),
      writeFloat: numeric(4, (v, x) => v.setFloat32(0, x)),
      writeDouble: numeric(8, (v, x) => v.setFloat64(0, x)),
      writeUTF: (L1, a) => {
        const b = text(L1, a);
        if (b.length > 0xffff) return lauxlib.luaL_error(L1, 'writeUTF: string longer than 65535 bytes');
        put(2, (v) => v.setUint16(0, b.length));
        ops.push({ bytes: b });
        return 0;
      },
      writeUTFBytes: (L1, a) => {
        ops.push({ bytes: text(L1, a) });
        return 0;
      },
      writeMultiByte: (L1, a) => {
        ops.push({ bytes: text(L1, a) });
        return 0;
      },
      writeBytes: (L1, a) => {
        const b = text(L1, a);
        const offset = lauxlib.luaL_optinteger(L1, a + 1, 0);
        const length = lauxlib.luaL_optinteger(L1, a + 2, b.length - offset);
        ops.push({ bytes: b.subarray(Math.max(0, offset), Math.max(0, offset) + Math.max(0, length)) });
        return 0;
      },
      writeAMF: (L1, a) => {
        const top = lua.lua_gettop(L1);
        for (const value of conv.range(L1, a, top)) ops.push({ value });
        return 0;
      },
    },
  });
}
