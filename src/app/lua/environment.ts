// Application environments. Each application's main.lua runs with its own _ENV table whose
// misses fall through to loaded children by name, then to the parent application, then to the
// real globals: MonaServer's inheritance, with `super`, `this`, `name`, `path` and `children`.
// Written in Lua because every global lookup of every script goes through it.
import { lua, lauxlib, type LuaHost } from './state.ts';
import { utf8Encode } from '../../wire/bytes.ts';

const BOOTSTRAP = `
local G = ...
local rawget, rawset, rawequal, setmetatable, getmetatable, type, next =
      rawget, rawset, rawequal, setmetatable, getmetatable, type, next

-- What scripts see of an application (this, super, children.x, Games.myGame): reads and writes
-- go to its environment, and app:fn(...) calls fn(...) so that super:onConnection(client)
-- reaches the parent's onConnection(client).
local function newProxy(env)
  local proxy = {}
  setmetatable(proxy, {
    __index = function(_, k)
      local v = env[k]
      if type(v) ~= 'function' then return v end
      return function(first, ...)
        if rawequal(first, proxy) then return v(...) end
        return v(first, ...)
      end
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
