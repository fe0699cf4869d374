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
