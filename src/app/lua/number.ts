// How every number reaches a script, from AMF values and from the API objects alike.
import { lua, type LuaState } from './state.ts';

/** Numbers that are 32-bit integers go in as Lua integers, so scripts print 3 and not 3.0. */
export function pushNumber(L: LuaState, n: number): void {
  if (Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 && !Object.is(n, -0)) lua.lua_pushinteger(L, n);
  else lua.lua_pushnumber(L, n);
}
