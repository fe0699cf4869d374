// Application environments. Each application's main.lua runs with its own _ENV table whose
// misses fall through to loaded children by name, then to the parent application, then to the
// real globals: MonaServer's inheritance, with `super`, `this`, `name`, `path` and `children`.
// Written in Lua because every global lookup of every script goes through it.
import { lua, lauxlib, type LuaHost } from './state.ts';
import { utf8Encode } from '../../bytes.ts';

const BOOTSTRAP = `
local G = ...
local rawget, rawset, rawequal, setmetatable, getmetatable, type, next, pcall =
      rawget, rawset, rawequal, setmetatable, getmetatable, type, next, pcall

-- What scripts see of an application (this, super, children.x, Games.myGame): reads and writes
-- go to its environment, and app:fn(...) calls fn(...) so that super:onConnection(client)
-- reaches the parent's onConnection(client).
-- The wrapper of a function is kept by name while the function stays the same, so that
-- children("x").f == children("x").f holds (handlers can be compared and removed).
local function newProxy(env)
  local proxy = {}
  local wrapped, wrappers = {}, {}
  setmetatable(proxy, {
    __index = function(_, k)
      local v = env[k]
      if type(v) ~= 'function' then return v end
      if rawequal(wrapped[k], v) then return wrappers[k] end
      local w = function(first, ...)
        if rawequal(first, proxy) then return v(...) end
        return v(first, ...)
      end
      wrapped[k], wrappers[k] = v, w
      return w
    end,
    __newindex = function(_, k, v) env[k] = v end,
    __pairs = function() return next, env, nil end,
    __len = function() return #env end,
  })
  return proxy
end

local function newEnvironment(name, path)
  local children = {}
  local meta = { children = children, parent = G }
  meta.__index = function(_, k)
    local child = children[k]
    if child ~= nil then return child end
    return meta.parent[k]
  end
  local env = setmetatable({}, meta)
  meta.proxy = newProxy(env)
  rawset(env, 'name', name)
  rawset(env, 'path', path)
  rawset(env, 'this', meta.proxy)
  rawset(env, 'children', children)
  return env
end

local function attach(parent, name, env)
  local pm, m = getmetatable(parent), getmetatable(env)
  pm.children[name] = m.proxy
  m.parent = parent
  rawset(env, 'super', pm.proxy)
end

local function detach(parent, name, env)
  local children = getmetatable(parent).children
  if rawequal(children[name], getmetatable(env).proxy) then children[name] = nil end
end

-- Lua 5.1's module(name, ...) for the scripts that still use it. 5.3 has no setfenv: the caller's
-- _ENV upvalue is re-pointed to a fresh cell holding the module, so functions the chunk defined
-- before module() keep their environment and those defined after it live in the module, as in
-- 5.1. The global path a.b.c is set in the caller's own environment (raw, so a child never writes
-- into its parent's tables), even when package.loaded already had the table: a rebuilt
-- application gets a fresh environment but finds its modules still loaded.
local debug, package, select, error = G.debug, G.package, select, error
local getinfo, getupvalue, upvaluejoin = debug.getinfo, debug.getupvalue, debug.upvaluejoin
local loaded = package.loaded
local seeing -- the environment module() was called from, while its options run

local function cell(v) return function() return v end end

local function findPath(env, name)
  local t, from = env, 1
  while true do
    local dot = name:find('.', from, true)
    local key = name:sub(from, (dot or 0) - 1)
    local v = rawget(t, key)
    if dot == nil then return t, key, v end
    if v == nil then v = {}; rawset(t, key, v) end
    if type(v) ~= 'table' then error("name conflict for module '" .. name .. "'", 3) end
    t, from = v, dot + 1
  end
end

local function module(name, ...)
  if type(name) ~= 'string' then error("bad argument #1 to 'module' (string expected)", 2) end
  local caller = getinfo(2, 'Sf')
  if caller == nil or (caller.what ~= 'Lua' and caller.what ~= 'main') then error("'module' not called from a Lua function", 2) end
  local f, envIndex, env = caller.func, 1, nil
  while true do
    local upname, v = getupvalue(f, envIndex)
    if upname == nil then error("'module' called from a function that sees no globals", 2) end
    if upname == '_ENV' then env = v; break end
    envIndex = envIndex + 1
  end
  if type(env) ~= 'table' then env = G end
  local parent, key, m = findPath(env, name)
  local fromLoaded = loaded[name]
  if type(fromLoaded) == 'table' then
    if m == nil then rawset(parent, key, fromLoaded) end
    m = fromLoaded
  else
    if m == nil then m = {}; rawset(parent, key, m) end
    if type(m) ~= 'table' then error("name conflict for module '" .. name .. "'", 2) end
    loaded[name] = m
  end
  if rawget(m, '_NAME') == nil then
    rawset(m, '_M', m)
    rawset(m, '_NAME', name)
    rawset(m, '_PACKAGE', name:match('^(.*%.)') or '')
  end
  upvaluejoin(f, envIndex, cell(m), 1)
  local previous = seeing
  seeing = env
  for i = 1, select('#', ...) do
    -- a string is the file name 5.3's require passes after the name: module(...) gets it too
    local option = select(i, ...)
    if type(option) ~= 'string' then
      local ok, err = pcall(option, m)
      if not ok then seeing = previous; error(err, 0) end
    end
  end
  seeing = previous
end

-- Outside module() (package.seeall(t) called directly) there is no caller to see: the globals.
local function seeall(m)
  if type(m) ~= 'table' then error("bad argument #1 to 'seeall' (table expected, got " .. type(m) .. ")", 2) end
  local meta = getmetatable(m)
  if meta == nil then meta = {}; setmetatable(m, meta) end
  meta.__index = seeing or G
end

rawset(G, 'module', module)
package.seeall = seeall

return newEnvironment, attach, detach
`;

export class Environments {
  private readonly newRef: number;
  private readonly attachRef: number;
  private readonly detachRef: number;

  constructor(private readonly host: LuaHost) {
    const L = host.L;
    const code = utf8Encode(BOOTSTRAP);
    if (lauxlib.luaL_loadbufferx(L, code, code.length, '=environment', 't') !== lua.LUA_OK) {
      throw new Error(`environment bootstrap: ${lua.lua_tojsstring(L, -1) ?? ''}`);
    }
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    lua.lua_call(L, 1, 3);
    this.detachRef = host.ref();
    this.attachRef = host.ref();
    this.newRef = host.ref();
  }

  /** A new environment; returns its registry reference. */
  create(name: string, path: string): number {
    const L = this.host.L;
    this.host.push(this.newRef);
    lua.lua_pushliteral(L, name);
    lua.lua_pushliteral(L, path);
    lua.lua_call(L, 2, 1);
    return this.host.ref();
  }

  attach(parentRef: number, name: string, envRef: number): void {
    this.call3(this.attachRef, parentRef, name, envRef);
  }

  detach(parentRef: number, name: string, envRef: number): void {
    this.call3(this.detachRef, parentRef, name, envRef);
  }

  private call3(fn: number, parentRef: number, name: string, envRef: number): void {
    const L = this.host.L;
    this.host.push(fn);
    this.host.push(parentRef);
    lua.lua_pushliteral(L, name);
    this.host.push(envRef);
    lua.lua_call(L, 3, 0);
  }
}
