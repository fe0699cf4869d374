// Script objects backed by JS state: a table whose metatable answers reads of live properties
// and methods, and guards writes. Scripts can still store their own fields (and RPC or event
// functions) in the table itself.
import { lua, lauxlib, pushBoundMethod, firstArg, toText, type LuaJSFunction, type LuaState } from './state.ts';

/** A method gets the index of its first real argument (obj:m(x) and obj.m(x) both work). */
export type Method = (L: LuaState, arg: number) => number;

export interface ObjectSpec {
  /** Pushes the value of a live property and returns true, or returns false. */
  get?(L: LuaState, key: string): boolean;
  methods?: Readonly<Record<string, Method>>;
  /** Pushes the value for any other key (at keyIdx) and returns true, or returns false. */
  index?(L: LuaState, keyIdx: number): boolean;
  /** Handles an assignment (value at valueIdx) and returns true; false stores it in the table. */
  set?(L: LuaState, key: string, valueIdx: number): boolean;
  /** Adds more metamethods (__len, __call, __pairs...) to the metatable at the top of the stack. */
  meta?(L: LuaState): void;
}

/** Pushes a new object table. */
export function pushObject(L: LuaState, spec: ObjectSpec): void {
  const methods = new Map<string, LuaJSFunction>();
  for (const [name, m] of Object.entries(spec.methods ?? {})) methods.set(name, (L1) => m(L1, firstArg(L1)));
  lua.lua_createtable(L, 0, 0);
  lua.lua_createtable(L, 0, 4);
  lua.lua_pushcfunction(L, (L1) => {
    if (lua.lua_type(L1, 2) === lua.LUA_TSTRING) {
      const key = toText(L1, 2);
      const m = methods.get(key);
      if (m) {
        pushBoundMethod(L1, 1, m);
        return 1;
      }
      if (spec.get?.(L1, key)) return 1;
    }
    return spec.index?.(L1, 2) ? 1 : 0;
  });
  lua.lua_setfield(L, -2, '__index');
  lua.lua_pushcfunction(L, (L1) => {
    if (lua.lua_type(L1, 2) === lua.LUA_TSTRING) {
      const key = toText(L1, 2);
      if (methods.has(key)) return lauxlib.luaL_error(L1, `'${key}' is a method and cannot be replaced`);
      if (spec.set?.(L1, key, 3)) return 0;
    }
    lua.lua_settop(L1, 3);
    lua.lua_rawset(L1, 1);
    return 0;
  });
  lua.lua_setfield(L, -2, '__newindex');
  spec.meta?.(L);
  lua.lua_setmetatable(L, -2);
}

export function readOnly(L: LuaState, key: string): never {
  return lauxlib.luaL_error(L, `'${key}' is read-only`);
}

/**
 * Values an object makes on first read and then keeps (their registry references are added to `owned`, released
 * with the object). Pushed on L1, whichever thread reads: inside a coroutine the value lands on its stack.
 */
export function madeOnFirstRead(owned: number[]): (L1: LuaState, key: string, make: () => void) => void {
  const made = new Map<string, number>();
  return (L1, key, make) => {
    let ref = made.get(key);
    if (ref === undefined) {
      make();
      ref = lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX);
      made.set(key, ref);
      owned.push(ref);
    }
    lua.lua_rawgeti(L1, lua.LUA_REGISTRYINDEX, ref);
  };
}

/** A kind of object whose every instance shares one metatable and one set of method functions. */
export interface ObjectClass<S> {
  /** registry name of the shared metatable (one per Lua state) */
  name: string;
  /** Pushes the value of a live property of `self` and returns true, or returns false. */
  get?(L: LuaState, self: S, key: string): boolean;
  /** Handles an assignment (value at valueIdx) and returns true; false stores it in the table. */
  set?(L: LuaState, self: S, key: string, valueIdx: number): boolean;
  /** A method gets its object's state and the index of its first real argument. */
  methods?: Readonly<Record<string, (L: LuaState, self: S, arg: number) => number>>;
}

/**
 * pushObject for objects made by the thousand (a client and its writer per connection): the metatable, its
 * metamethods and the method functions exist once per kind, and each table finds its state in a weak map.
 * An instance then costs its table and its registry reference, not a metatable, closures and a method map
 * of its own (10,000 idle sessions, bench/README.md). Returns the function that pushes a new instance.
 */
export function objectClass<S>(cls: ObjectClass<S>): (L: LuaState, self: S) => void {
  const selves = new WeakMap<object, S>();
  const selfAt = (L: LuaState, idx: number): S | undefined => {
    const table = lua.lua_topointer(L, idx);
    return table === null ? undefined : selves.get(table);
  };
  const methods = new Map<string, LuaJSFunction>();
  for (const [name, m] of Object.entries(cls.methods ?? {})) {
    methods.set(name, (L1) => {
      const self = selfAt(L1, lua.lua_upvalueindex(1));
      return self === undefined ? 0 : m(L1, self, firstArg(L1));
    });
  }
  const index: LuaJSFunction = (L1) => {
    if (lua.lua_type(L1, 2) !== lua.LUA_TSTRING) return 0;
    const key = toText(L1, 2);
    const m = methods.get(key);
    if (m) {
      pushBoundMethod(L1, 1, m);
      return 1;
    }
    const self = selfAt(L1, 1);
    return self !== undefined && cls.get?.(L1, self, key) ? 1 : 0;
  };
  const newindex: LuaJSFunction = (L1) => {
    if (lua.lua_type(L1, 2) === lua.LUA_TSTRING) {
      const key = toText(L1, 2);
      if (methods.has(key)) return lauxlib.luaL_error(L1, `'${key}' is a method and cannot be replaced`);
      const self = selfAt(L1, 1);
      if (self !== undefined && cls.set?.(L1, self, key, 3)) return 0;
    }
    lua.lua_settop(L1, 3);
    lua.lua_rawset(L1, 1);
    return 0;
  };
  // kept in the registry (no __name field, unlike luaL_newmetatable: tostring(obj) stays "table: 0x...")
  const registryKey = `nimbus.${cls.name}`;
  return (L, self) => {
    lua.lua_createtable(L, 0, 0);
    selves.set(lua.lua_topointer(L, -1) as object, self);
    if (lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, registryKey) !== lua.LUA_TTABLE) {
      lua.lua_pop(L, 1);
      lua.lua_createtable(L, 0, 2);
      lua.lua_pushcfunction(L, index);
      lua.lua_setfield(L, -2, '__index');
      lua.lua_pushcfunction(L, newindex);
      lua.lua_setfield(L, -2, '__newindex');
      lua.lua_pushvalue(L, -1);
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, registryKey);
    }
    lua.lua_setmetatable(L, -2);
  };
}
