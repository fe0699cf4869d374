// AMF ↔ Lua, as MonaServer documents it: object / array / mixed tables, {__raw=bytes} ByteArray,
// {__size=n,...} Dictionary (weak keys ↔ __mode 'k'), {__time=ms, year..msec} Date, {__type=class}
// typed objects with onTypedObject(type, object), and __readExternal / __writeExternal for
// IExternalizable classes. Our additions: Vectors become arrays, XML its text.
import { AmfError } from '../../errors.ts';
import {
  AMFDictionary,
  AMFVector,
  AMFXML,
  MAX_DEPTH,
  MixedArray,
  TypedObject,
  isAMFObject,
  setMember,
  type AMFObject,
  type AMFValue,
} from '../../flash/amf/types.ts';
import type { AMF3Input, AMFReadOptions } from '../../flash/amf/reader.ts';
import type { AMF3Output, AMFWriteOptions } from '../../flash/amf/writer.ts';
import { lua, lauxlib, toBytes, toText, identity, pushBytes, type LuaState } from '../lua/state.ts';
import { pushNumber } from '../lua/number.ts';
import type { Runtime, RunningApplication } from '../runtime.ts';
import { pushByteReader, pushByteWriter, type ExternalOp, type ValueConverter } from './bytes.ts';

// the API objects import it from here: their numbers reach scripts as AMF numbers do
export { pushNumber };

/** Recorded __writeExternal output, replayed when the message is encoded (with its tables). */
const recorded = new WeakMap<object, ExternalOp[]>();

export class AMFConverter implements ValueConverter {
  /** Which application handles onTypedObject when no script is running (the root). */
  fallback: RunningApplication | null = null;

  constructor(private readonly rt: Runtime) {}

  /** Hooks for an AMFReader decoding values that scripts will see. */
  readonly readOptions: AMFReadOptions = {
    readExternal: (className, input) => this.readExternal(className, input),
  };

  /** Hooks for an AMFWriter encoding values produced by scripts. */
  readonly writeOptions: AMFWriteOptions = {
    writeExternal: (obj, out) => replay(obj, out),
  };

  // ---- AMF → Lua ----------------------------------------------------------------------------

  push(L: LuaState, v: AMFValue): void {
    const p = new Pusher(this, L);
    p.push(v, 0);
    p.finish();
  }

  /** Pushes every value; returns how many. */
  pushAll(L: LuaState, values: readonly AMFValue[]): number {
    lauxlib.luaL_checkstack(L, values.length + 8, 'too many values');
    const p = new Pusher(this, L);
    for (const v of values) p.push(v, 0);
    p.finish();
    return values.length;
  }

  /** onTypedObject(type, object) with the table at the top of the stack. */
  typedObject(L: LuaState, className: string): void {
    const app = this.rt.current ?? this.fallback;
    if (!app) return;
    app.pushGlobal('onTypedObject');
    if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
      lua.lua_pop(L, 1);
      return;
    }
    lua.lua_pushliteral(L, className);
    lua.lua_pushvalue(L, -3);
    this.rt.call(app, 2, 0, 'onTypedObject');
  }

  private readExternal(className: string, input: AMF3Input): AMFValue {
    const L = this.rt.lua.L;
    const top = lua.lua_gettop(L);
    try {
      lua.lua_createtable(L, 0, 2);
      lua.lua_pushliteral(L, className);
      lua.lua_setfield(L, -2, '__type');
      this.typedObject(L, className);
      if (getField(L, -1, '__readExternal') !== lua.LUA_TFUNCTION) {
        throw new AmfError(`AMF3 externalizable class '${className}' has no __readExternal (define it in onTypedObject)`);
      }
      lua.lua_pushvalue(L, -2);
      pushByteReader(L, this, input);
      const app = this.rt.current ?? this.fallback;
      const r = app ? this.rt.call(app, 2, 0, '__readExternal') : this.rt.lua.pcall(2, 0);
      if (!r.ok) throw new AmfError(`__readExternal of '${className}': ${r.message}`, { cause: 'error' in r ? r.error : undefined });
      // the values now in the table are what the script will get (TypedObject.external)
      return this.fields(L, -1);
    } finally {
      lua.lua_settop(L, top);
    }
  }

  // ---- Lua → AMF ----------------------------------------------------------------------------

  toAMF(L: LuaState, idx: number): AMFValue {
    return new Puller(this, L).pull(lua.lua_absindex(L, idx), 0);
  }

  /** Values at from..to (inclusive, absolute or relative indexes). */
  range(L: LuaState, from: number, to: number): AMFValue[] {
    // (absindex only for relative indexes: 0 means "nothing" here, e.g. to = top of an empty stack)
    const a = from < 0 ? lua.lua_absindex(L, from) : from;
    const b = to < 0 ? lua.lua_absindex(L, to) : to;
    const out: AMFValue[] = [];
    if (a > b) return out;
    const p = new Puller(this, L);
    for (let i = a; i <= b; i++) out.push(p.pull(i, 0));
    return out;
  }

  /** With obj.__writeExternal at the top: runs it now, keeping what it wrote for the AMF writer. */
  recordExternal(L: LuaState, tableIdx: number, className: string): TypedObject {
    const ops: ExternalOp[] = [];
    lua.lua_pushvalue(L, tableIdx);
    pushByteWriter(L, this, ops);
    const app = this.rt.current ?? this.fallback;
    const r = app ? this.rt.call(app, 2, 0, '__writeExternal') : this.rt.lua.pcall(2, 0);
    if (!r.ok) throw new AmfError(`__writeExternal of '${className}': ${r.message}`, { cause: 'error' in r ? r.error : undefined });
    const obj = new TypedObject(className, {}, true, {});
    recorded.set(obj, ops);
    return obj;
  }

  /** The data members of the table at idx (no metadata, no functions). */
  fields(L: LuaState, idx: number): AMFObject {
    const out: AMFObject = {};
    new Puller(this, L).members(lua.lua_absindex(L, idx), 0, out, null);
    return out;
  }
}

function replay(obj: TypedObject, out: AMF3Output): boolean {
  const ops = recorded.get(obj);
  if (!ops) return false;
  for (const op of ops) {
    if (op.bytes) out.bytes.write(op.bytes);
    else out.writeAMF3(op.value);
  }
  return true;
}

/** t[key] with __index tables followed (classes set by onTypedObject), without running code. */
function getField(L: LuaState, idx: number, key: string): number {
  const t = lua.lua_absindex(L, idx);
  lua.lua_pushliteral(L, key);
  lua.lua_rawget(L, t);
  if (lua.lua_type(L, -1) !== lua.LUA_TNIL) return lua.lua_type(L, -1);
  lua.lua_pop(L, 1);
  let depth = 0;
  lua.lua_pushvalue(L, t);
  while (depth++ < 8 && lua.lua_getmetatable(L, -1)) {
    lua.lua_pushliteral(L, '__index');
    lua.lua_rawget(L, -2);
    lua.lua_remove(L, -2); // metatable
    lua.lua_remove(L, -2); // previous table
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) break;
    lua.lua_pushliteral(L, key);
    lua.lua_rawget(L, -2);
    if (lua.lua_type(L, -1) !== lua.LUA_TNIL) {
      lua.lua_remove(L, -2);
      return lua.lua_type(L, -1);
    }
    lua.lua_pop(L, 1);
  }
  lua.lua_pop(L, 1);
  lua.lua_pushnil(L);
  return lua.LUA_TNIL;
}

const dateFields = (d: Date): Array<[string, number | boolean]> => {
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  return [
    ['year', d.getUTCFullYear()],
    ['month', d.getUTCMonth() + 1],
    ['day', d.getUTCDate()],
    ['yday', Math.floor((d.getTime() - start) / 86400000) + 1],
    ['wday', d.getUTCDay() + 1],
    ['hour', d.getUTCHours()],
    ['min', d.getUTCMinutes()],
    ['sec', d.getUTCSeconds()],
    ['msec', d.getUTCMilliseconds()],
    ['isdst', false],
  ];
};

class Pusher {
  /** AMF objects already pushed in this conversion (references, cycles) → slot in `seen` */
  private ids: Map<object, number> | null = null;
  private seenRef = 0;

  constructor(
    private readonly conv: AMFConverter,
    private readonly L: LuaState,
  ) {}

  push(v: AMFValue, depth: number): void {
    const L = this.L;
    if (v === undefined || v === null) return lua.lua_pushnil(L);
    switch (typeof v) {
      case 'boolean':
        return lua.lua_pushboolean(L, v);
      case 'number':
        return pushNumber(L, v);
      case 'string':
        return lua.lua_pushliteral(L, v);
    }
    if (depth >= MAX_DEPTH) return lua.lua_pushnil(L);
    lauxlib.luaL_checkstack(L, 6, 'AMF value too deep');
    if (this.ids?.has(v)) return this.pushSeen(v);
    if (v instanceof Uint8Array) {
      lua.lua_createtable(L, 0, 1);
      pushBytes(L, v);
      lua.lua_setfield(L, -2, '__raw');
      return;
    }
    if (v instanceof Date) {
      lua.lua_createtable(L, 0, 11);
      for (const [k, x] of dateFields(v)) {
        if (typeof x === 'boolean') lua.lua_pushboolean(L, x);
        else lua.lua_pushinteger(L, x);
        lua.lua_setfield(L, -2, k);
      }
      lua.lua_pushnumber(L, v.getTime());
      lua.lua_setfield(L, -2, '__time');
      return;
    }
    if (v instanceof AMFXML) return lua.lua_pushliteral(L, v.text);
    lua.lua_createtable(L, 0, 0);
    this.remember(v);
    if (Array.isArray(v)) return this.fillArray(v, depth);
    if (v instanceof AMFVector) return this.fillArray(v.items, depth);
    if (v instanceof MixedArray) {
      this.fillArray(v.dense, depth);
      return this.fillObject(v.assoc, depth);
    }
    if (v instanceof AMFDictionary) {
      for (const [k, x] of v.entries) {
        this.push(k, depth + 1);
        if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
          lua.lua_pop(L, 1);
          continue;
        }
        this.push(x, depth + 1);
        lua.lua_rawset(L, -3);
      }
      pushNumber(L, v.entries.length);
      lua.lua_setfield(L, -2, '__size');
      if (v.weakKeys) {
        lua.lua_createtable(L, 0, 1);
        lua.lua_pushliteral(L, 'k');
        lua.lua_setfield(L, -2, '__mode');
        lua.lua_setmetatable(L, -2);
      }
      return;
    }
    if (v instanceof TypedObject) {
      this.fillObject(v.properties, depth);
      if (v.externalizable) {
        const ext = v.external;
        if (isAMFObject(ext)) this.fillObject(ext, depth);
        else if (ext !== undefined) {
          this.push(ext, depth + 1);
          lua.lua_setfield(L, -2, 'source');
        }
      }
      lua.lua_pushliteral(L, v.className);
      lua.lua_setfield(L, -2, '__type');
      if (v.className !== '') this.conv.typedObject(L, v.className);
      return;
    }
    this.fillObject(v, depth);
  }

  private fillArray(items: readonly AMFValue[], depth: number): void {
    const L = this.L;
    for (let i = 0; i < items.length; i++) {
      this.push(items[i], depth + 1);
      lua.lua_rawseti(L, -2, i + 1);
    }
  }

  private fillObject(o: AMFObject, depth: number): void {
    const L = this.L;
    for (const k of Object.keys(o)) {
      lua.lua_pushliteral(L, k);
      this.push(o[k], depth + 1);
      lua.lua_rawset(L, -3);
    }
  }

  private remember(v: object): void {
    const L = this.L;
    if (!this.ids) {
      this.ids = new Map();
      lua.lua_createtable(L, 4, 0);
      this.seenRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    }
    const id = this.ids.size + 1;
    this.ids.set(v, id);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.seenRef);
    lua.lua_pushvalue(L, -2);
    lua.lua_rawseti(L, -2, id);
    lua.lua_pop(L, 1);
  }

  private pushSeen(v: object): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.seenRef);
    lua.lua_rawgeti(L, -1, this.ids!.get(v)!);
    lua.lua_remove(L, -2);
  }

  /** Releases the reference table. */
  finish(): void {
    if (this.seenRef) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, this.seenRef);
  }
}

class Puller {
  /** tables already converted in this conversion → their AMF value (shared references, cycles) */
  private readonly seen = new Map<object, AMFValue>();

  constructor(
    private readonly conv: AMFConverter,
    private readonly L: LuaState,
  ) {}

  pull(idx: number, depth: number): AMFValue {
    const L = this.L;
    switch (lua.lua_type(L, idx)) {
      case lua.LUA_TBOOLEAN:
        return lua.lua_toboolean(L, idx);
      case lua.LUA_TNUMBER:
        return lua.lua_tonumber(L, idx);
      case lua.LUA_TSTRING:
        return toText(L, idx);
      case lua.LUA_TTABLE:
        return depth >= MAX_DEPTH ? null : this.table(idx, depth);
      default:
        return null;
    }
  }

  private table(t: number, depth: number): AMFValue {
    const L = this.L;
    const id = identity(L, t)!;
    const known = this.seen.get(id);
    if (known !== undefined) return known;
    lauxlib.luaL_checkstack(L, 8, 'table too deep');

    if (rawType(L, t, '__raw') === lua.LUA_TSTRING) {
      const bytes = toBytes(L, -1);
      lua.lua_pop(L, 1);
      return bytes;
    }
    lua.lua_pop(L, 1);

    if (rawType(L, t, '__size') !== lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      const dict = new AMFDictionary([], weakKeys(L, t));
      this.seen.set(id, dict);
      this.each(t, (k, vIdx) => {
        if (lua.lua_type(L, k) === lua.LUA_TSTRING && toText(L, k) === '__size') return;
        dict.entries.push([this.pull(k, depth + 1), this.pull(vIdx, depth + 1)]);
      });
      return dict;
    }
    lua.lua_pop(L, 1);

    if (rawType(L, t, '__time') === lua.LUA_TNUMBER) {
      const d = new Date(lua.lua_tonumber(L, -1));
      lua.lua_pop(L, 1);
      return d;
    }
    lua.lua_pop(L, 1);

    if (rawType(L, t, '__type') === lua.LUA_TSTRING) {
      const className = toText(L, -1);
      lua.lua_pop(L, 1);
      if (getField(L, t, '__writeExternal') === lua.LUA_TFUNCTION) {
        const obj = this.conv.recordExternal(L, t, className);
        this.seen.set(id, obj);
        return obj;
      }
      lua.lua_pop(L, 1);
      const obj = new TypedObject(className, {});
      this.seen.set(id, obj);
      this.members(t, depth, obj.properties, null);
      return obj;
    }
    lua.lua_pop(L, 1);

    // the container is chosen before filling it, so that cycles point at the final value
    const n = lua.lua_rawlen(L, t);
    const hasAssoc = this.hasMembers(t, n);
    const dense: AMFValue[] = [];
    const assoc: AMFObject = {};
    // an empty table is an empty Array, as both reference servers send it (result.length works in Flash)
    const result: AMFValue = !hasAssoc ? dense : n === 0 ? assoc : new MixedArray(dense, assoc);
    this.seen.set(id, result);
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, t, i);
      dense.push(this.pull(lua.lua_gettop(L), depth + 1));
      lua.lua_pop(L, 1);
    }
    if (hasAssoc) this.members(t, depth, assoc, n);
    return result;
  }

  /** Whether members() would find anything besides the 1..sequence part. */
  private hasMembers(t: number, sequence: number): boolean {
    const L = this.L;
    let any = false;
    this.each(t, (k, v) => {
      if (any) return;
      const vt = lua.lua_type(L, v);
      if (vt === lua.LUA_TFUNCTION || vt === lua.LUA_TUSERDATA || vt === lua.LUA_TTHREAD) return;
      const kt = lua.lua_type(L, k);
      if (kt === lua.LUA_TSTRING) any = !toText(L, k).startsWith('__');
      else if (kt === lua.LUA_TNUMBER) {
        const x = lua.lua_tonumber(L, k);
        any = !(Number.isInteger(x) && x >= 1 && x <= sequence);
      } else any = kt === lua.LUA_TBOOLEAN;
    });
    return any;
  }

  /** String-keyed (and non-sequence) members into `into`; true if there were any. */
  members(t: number, depth: number, into: AMFObject, sequence: number | null): boolean {
    const L = this.L;
    let any = false;
    this.each(t, (k, v) => {
      let name: string;
      const kt = lua.lua_type(L, k);
      if (kt === lua.LUA_TSTRING) {
        name = toText(L, k);
        if (name.startsWith('__')) return;
      } else if (kt === lua.LUA_TNUMBER) {
        const x = lua.lua_tonumber(L, k);
        if (sequence !== null && Number.isInteger(x) && x >= 1 && x <= sequence) return;
        name = String(x);
      } else if (kt === lua.LUA_TBOOLEAN) {
        name = String(lua.lua_toboolean(L, k));
      } else return;
      const vt = lua.lua_type(L, v);
      if (vt === lua.LUA_TFUNCTION || vt === lua.LUA_TUSERDATA || vt === lua.LUA_TTHREAD) return;
      setMember(into, name, this.pull(v, depth + 1));
      any = true;
    });
    return any;
  }

  /** lua_next over t; fn gets the absolute indexes of key and value. */
  private each(t: number, fn: (k: number, v: number) => void): void {
    const L = this.L;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, t)) {
      const top = lua.lua_gettop(L);
      fn(top - 1, top);
      lua.lua_settop(L, top - 1);
    }
  }
}

/** Pushes rawget(t, key) and returns its type. */
function rawType(L: LuaState, t: number, key: string): number {
  lua.lua_pushliteral(L, key);
  return lua.lua_rawget(L, t);
}

function weakKeys(L: LuaState, t: number): boolean {
  if (!lua.lua_getmetatable(L, t)) return false;
  lua.lua_pushliteral(L, '__mode');
  lua.lua_rawget(L, -2);
  const mode = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toText(L, -1) : '';
  lua.lua_pop(L, 2);
  return mode.includes('k');
}
