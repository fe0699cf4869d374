// Arguments of server messages (server:send, broadcast, RPCs from other servers) in MonaServer's form
// (MonaServer-behaviour.md §1.5): AMF0 framing, strings and integers switched to AMF3 (0x11), values
// concatenated without a count. A Lua string is bytes, not text: it crosses as the AMF3 string of exactly
// those bytes and comes back as the same Lua string, so media packets relayed between servers stay byte-exact.
import { AMFReader } from '../../flash/amf/reader.ts';
import { AMFWriter } from '../../flash/amf/writer.ts';
import { isAMF3Integer, readU29, writeU29 } from '../../flash/amf/amf3.ts';
import { lua, lauxlib, pushBytes, toBytes, type LuaState } from '../lua/state.ts';
import type { AMFConverter } from './amf-convert.ts';

const AVMPLUS = 0x11;
const AMF3_INTEGER = 0x04;
const AMF3_STRING = 0x06;
const AMF0_STRING = 0x02;
const AMF0_LONG_STRING = 0x0c;
const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder();

/** The AMF3 string table's key for bytes: their text when valid UTF-8 (shared with strings inside tables). */
function tableKey(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    // a lone surrogate never comes out of UTF-8 decoding: binary keys cannot meet text keys
    return '\uD800' + Buffer.from(bytes).toString('latin1');
  }
}

/** Lua values from..to as one server message payload. */
export function encodeServerArgs(conv: AMFConverter, L: LuaState, from: number, to: number): Uint8Array {
  const w = new AMFWriter(conv.writeOptions);
  for (let i = from; i <= to; i++) {
    switch (lua.lua_type(L, i)) {
      case lua.LUA_TBOOLEAN:
        w.writeAMF0(lua.lua_toboolean(L, i));
        break;
      case lua.LUA_TNUMBER: {
        const v = lua.lua_tonumber(L, i);
        if (isAMF3Integer(v)) {
          w.bytes.u8(AVMPLUS).u8(AMF3_INTEGER);
          writeU29(w.bytes, v & 0x1fffffff);
        } else w.writeAMF0(v);
        break;
      }
      case lua.LUA_TSTRING: {
        const bytes = toBytes(L, i);
        w.bytes.u8(AVMPLUS).u8(AMF3_STRING);
        if (bytes.length === 0) {
          w.bytes.u8(0x01);
          break;
        }
        const key = tableKey(bytes);
        const index = w.strings.get(key);
        if (index !== undefined) writeU29(w.bytes, index << 1);
        else {
          writeU29(w.bytes, (bytes.length << 1) | 1);
          w.bytes.write(bytes);
          w.strings.set(key, w.strings.size);
        }
        break;
      }
      case lua.LUA_TTABLE:
        w.write(conv.toAMF(L, i));
        break;
      default:
        w.writeAMF0(null);
    }
  }
  return w.toBytes();
}

/** Pushes the values of a server message payload; returns how many. Throws WireError on malformed input. */
export function decodeServerArgs(conv: AMFConverter, L: LuaState, payload: Uint8Array): number {
  const r = new AMFReader(payload, conv.readOptions);
  const b = r.bytes;
  /** bytes of the AMF3 strings read at the top level, by string table index */
  const raw: Array<Uint8Array | undefined> = [];
  let count = 0;
  while (b.available > 0) {
    lauxlib.luaL_checkstack(L, 4, 'too many values');
    const marker = b.peek();
    if (marker === AVMPLUS && b.available >= 2 && payload[payload.length - b.available + 1] === AMF3_STRING) {
      b.skip(2);
      const h = readU29(b);
      if ((h & 1) === 0) {
        const index = h >>> 1;
        const text = r.strings[index];
        if (text === undefined) throw new RangeError(`AMF3 string reference ${index} out of range`);
        pushBytes(L, raw[index] ?? new TextEncoder().encode(text));
      } else {
        const bytes = b.read(h >>> 1).slice();
        if (bytes.length > 0) {
          r.strings.push(lenient.decode(bytes));
          raw[r.strings.length - 1] = bytes;
        }
        pushBytes(L, bytes);
      }
    } else if (marker === AMF0_STRING || marker === AMF0_LONG_STRING) {
      b.skip(1);
      const n = marker === AMF0_STRING ? b.u16() : b.u32();
      pushBytes(L, b.read(n).slice());
    } else conv.push(L, r.readAMF0());
    count++;
  }
  return count;
}
