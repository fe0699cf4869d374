// The Lua 5.1 standard library that CumulusServer/MonaServer scripts (LuaJIT) use and Lua 5.3
// dropped: unpack, loadstring, table.getn/maxn/foreach/foreachi, math.pow/log10/atan2/ldexp/frexp/
// cosh/sinh/tanh/mod, string.gfind, setfenv/getfenv, and a collectgarbage that answers numbers.
import fengari from 'fengari';
import type { LuaState, LuaJSFunction } from 'fengari';

const { lua, lauxlib } = fengari;

const BOOTSTRAP = `
local G, js = ...
local table, math, string, debug, type, select, pairs, error, tostring =
      G.table, G.math, G.string, G.debug, type, select, pairs, error, tostring
local getinfo, getupvalue, upvaluejoin = debug.getinfo, debug.getupvalue, debug.upvaluejoin

G.unpack = table.unpack
G.loadstring = function(s, chunkname)
  if type(s) ~= 'string' then error("bad argument #1 to 'loadstring' (string expected, got " .. type(s) .. ")", 2) end
  return G.load(s, chunkname or s, 't', getfenv(2))
end

table.getn = function(t)
  if type(t) ~= 'table' then error("bad argument #1 to 'getn' (table expected, got " .. type(t) .. ")", 2) end
  return #t
end
table.maxn = function(t)
  if type(t) ~= 'table' then error("bad argument #1 to 'maxn' (table expected, got " .. type(t) .. ")", 2) end
  local max = 0
  for k in pairs(t) do
    if type(k) == 'number' and k > max then max = k end
  end
  return max
end
table.foreach = function(t, f)
  for k, v in pairs(t) do
    local r = f(k, v)
    if r ~= nil then return r end
  end
end
table.foreachi = function(t, f)
  for i = 1, #t do
    local r = f(i, t[i])
    if r ~= nil then return r end
  end
end
table.setn = function() error("'setn' is obsolete", 2) end

math.pow = function(x, y) return x ^ y end
math.mod = math.fmod
math.atan2 = function(y, x) return math.atan(y, x or 1) end
math.log10, math.ldexp, math.frexp, math.cosh, math.sinh, math.tanh =
  js.log10, js.ldexp, js.frexp, js.cosh, js.sinh, js.tanh
string.gfind = string.gmatch
G.collectgarbage = js.collectgarbage

-- Lua 5.3 additions LuaJIT lacks. Gone, so that a 5.1 script testing for them takes its 5.1 path and the
-- integer/float subtype fengari keeps internally cannot be observed (5.3's operators are refused by the
-- patched parser, src/app/lua/state.ts).
math.type, math.tointeger, math.ult, math.maxinteger, math.mininteger = nil, nil, nil, nil, nil
string.pack, string.unpack, string.packsize = nil, nil, nil
G.utf8, G.package.loaded.utf8 = nil, nil

-- 5.1's function environments over 5.3's _ENV upvalue: setfenv gives the function a fresh _ENV
-- cell (other closures of the same chunk keep theirs, as in 5.1).
local function cell(v) return function() return v end end
local function envIndex(f)
  local i = 1
  while true do
    local name = getupvalue(f, i)
    if name == nil then return nil end
    if name == '_ENV' then return i end
    i = i + 1
  end
end
local function target(f, level, fname)
  if type(f) == 'function' then return f end
  if f == nil then f = 1 end
  if type(f) ~= 'number' then error("bad argument #1 to '" .. fname .. "' (number expected, got " .. type(f) .. ")", 3) end
  if f < 0 then error("bad argument #1 to '" .. fname .. "' (level must be non-negative)", 3) end
  if f == 0 then return 0 end
  local info = getinfo(f + level, 'f')
  if info == nil then error("bad argument #1 to '" .. fname .. "' (invalid level)", 3) end
  return info.func
end
function getfenv(f)
  f = target(f, 2, 'getfenv')
  if f == 0 then return G end
  local i = envIndex(f)
  if i == nil then return G end
  local _, env = getupvalue(f, i)
  return env
end
function setfenv(f, t)
  if type(t) ~= 'table' then error("bad argument #2 to 'setfenv' (table expected, got " .. type(t) .. ")", 2) end
  local fn = target(f, 2, 'setfenv')
  if fn == 0 then error("'setfenv' cannot change the global environment in Nimbus", 2) end
  local i = envIndex(fn)
  if i == nil then
    if debug.getinfo(fn, 'S').what == 'C' then error("'setfenv' cannot change environment of given object", 2) end
    return fn -- a Lua function that reads no global: nothing to change
  end
  upvaluejoin(fn, i, cell(t), 1)
  return fn
end
G.getfenv, G.setfenv = getfenv, setfenv
`;

function numberFn(fn: (x: number) => number): LuaJSFunction {
  return (L) => {
    lua.lua_pushnumber(L, fn(lauxlib.luaL_checknumber(L, 1)));
    return 1;
  };
}

/** C's frexp: m in [0.5, 1) and e with x = m * 2^e. */
export function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
  let m = x * 2 ** -e;
  while (Math.abs(m) < 0.5) {
    m *= 2;
    e--;
  }
  while (Math.abs(m) >= 1) {
    m /= 2;
    e++;
  }
  return [m, e];
}

const helpers: Record<string, LuaJSFunction> = {
  log10: numberFn(Math.log10),
  cosh: numberFn(Math.cosh),
  sinh: numberFn(Math.sinh),
  tanh: numberFn(Math.tanh),
  ldexp: (L) => {
    const m = lauxlib.luaL_checknumber(L, 1);
    const e = lauxlib.luaL_checknumber(L, 2);
    // two steps, so that 2^e never overflows while m * 2^e still fits
    const half = Math.trunc(e / 2);
    lua.lua_pushnumber(L, m * 2 ** half * 2 ** (Math.trunc(e) - half));
    return 1;
  },
  frexp: (L) => {
    const [m, e] = frexp(lauxlib.luaL_checknumber(L, 1));
    lua.lua_pushnumber(L, m);
    lua.lua_pushinteger(L, e);
    return 2;
  },
  // fengari runs on the JavaScript garbage collector: nothing to collect or tune, "count" is the heap
  collectgarbage: (L) => {
    const option = lua.lua_type(L, 1) <= lua.LUA_TNIL ? 'collect' : lua.lua_tojsstring(L, 1);
    switch (option) {
      case 'count': {
        const kb = process.memoryUsage().heapUsed / 1024;
        lua.lua_pushnumber(L, kb);
        lua.lua_pushinteger(L, Math.floor((kb % 1) * 1024));
        return 2;
      }
      case 'step':
      case 'isrunning':
        lua.lua_pushboolean(L, true);
        return 1;
      case 'setpause':
      case 'setstepmul':
        lua.lua_pushinteger(L, option === 'setpause' ? 200 : 200);
        return 1;
      default:
        lua.lua_pushinteger(L, 0);
        return 1;
    }
  },
};

export function openCompat51(L: LuaState): void {
  const code = new TextEncoder().encode(BOOTSTRAP);
  if (lauxlib.luaL_loadbufferx(L, code, code.length, '=compat51', 't') !== lua.LUA_OK) {
    throw new Error(`compat51 bootstrap: ${lua.lua_tojsstring(L, -1) ?? ''}`);
  }
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  lua.lua_createtable(L, 0, Object.keys(helpers).length);
  for (const [name, fn] of Object.entries(helpers)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, name);
  }
  lua.lua_call(L, 2, 0);
}
