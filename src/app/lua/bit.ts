// LuaJIT's `bit` library (http://bitop.luajit.org/api.html), which CumulusServer/MonaServer scripts
// use for flags and hashes: every argument is reduced to a signed 32-bit integer as LuaJIT's
// bit.tobit does (rounded to the nearest integer, modulo 2^32) and every result is one.
import fengari from 'fengari';
import type { LuaState, LuaJSFunction } from 'fengari';

const { lua, lauxlib } = fengari;

/** bit.tobit: the nearest integer (halves to even, as LuaJIT's 2^52+2^51 trick), modulo 2^32, signed. */
export function tobit(n: number): number {
  if (!Number.isFinite(n)) return 0;
  let r = Math.round(n);
  if (r - n === 0.5 && r % 2 !== 0) r -= 1;
  return r | 0;
}

function arg(L: LuaState, i: number): number {
  return tobit(lauxlib.luaL_checknumber(L, i));
}

function fold(op: (a: number, b: number) => number): LuaJSFunction {
  return (L) => {
    let r = arg(L, 1);
    const n = lua.lua_gettop(L);
    for (let i = 2; i <= n; i++) r = op(r, arg(L, i));
    lua.lua_pushinteger(L, r | 0);
    return 1;
  };
}

function shift(op: (x: number, n: number) => number): LuaJSFunction {
  return (L) => {
    lua.lua_pushinteger(L, op(arg(L, 1), arg(L, 2) & 31) | 0);
    return 1;
  };
}

const functions: Record<string, LuaJSFunction> = {
  tobit: (L) => {
    lua.lua_pushinteger(L, arg(L, 1));
    return 1;
  },
  bnot: (L) => {
    lua.lua_pushinteger(L, ~arg(L, 1));
    return 1;
  },
  band: fold((a, b) => a & b),
  bor: fold((a, b) => a | b),
  bxor: fold((a, b) => a ^ b),
  lshift: shift((x, n) => x << n),
  rshift: shift((x, n) => x >>> n),
  arshift: shift((x, n) => x >> n),
  rol: shift((x, n) => (x << n) | (x >>> (32 - n))),
  ror: shift((x, n) => (x >>> n) | (x << (32 - n))),
  bswap: (L) => {
    const x = arg(L, 1);
    lua.lua_pushinteger(L, ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24));
    return 1;
  },
  tohex: (L) => {
    const x = arg(L, 1);
    let n = lua.lua_type(L, 2) <= lua.LUA_TNIL ? 8 : arg(L, 2);
    const upper = n < 0;
    if (upper) n = -n;
    if (n > 8) n = 8;
    let text = (x >>> 0)
      .toString(16)
      .padStart(8, '0')
      .slice(8 - n);
    if (upper) text = text.toUpperCase();
    lua.lua_pushliteral(L, text);
    return 1;
  },
};

/** Sets the global `bit` (and package.loaded.bit, so `require("bit")` finds it). */
export function openBit(L: LuaState): void {
  lua.lua_createtable(L, 0, Object.keys(functions).length);
  for (const [name, fn] of Object.entries(functions)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, name);
  }
  lua.lua_pushvalue(L, -1);
  lua.lua_setglobal(L, 'bit');
  lua.lua_getglobal(L, 'package');
  lua.lua_getfield(L, -1, 'loaded');
  lua.lua_pushvalue(L, -3);
  lua.lua_setfield(L, -2, 'bit');
  lua.lua_pop(L, 3);
}
