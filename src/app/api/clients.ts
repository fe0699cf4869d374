// The clients collection (cumulus.clients / mona.clients): count, #, pairs/ipairs (as methods and
// as Lua's own pairs/ipairs), and lookup by id (64 hex chars), by rawId (32 bytes) or by position.
import { hex } from '../../bytes.ts';
import { lua, pushRef, toBytes, toText, type LuaJSFunction, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import type { ClientState } from './client.ts';

export function pushClients(ctx: HostContext, clients: ReadonlyMap<string, ClientState>): void {
  const L = ctx.rt.lua.L;
  const lookup = (L1: LuaState, idx: number): boolean => {
    let found: ClientState | undefined;
    const t = lua.lua_type(L1, idx);
    if (t === lua.LUA_TNUMBER) {
      const i = lua.lua_tonumber(L1, idx);
      if (Number.isInteger(i) && i >= 1 && i <= clients.size) found = [...clients.values()][i - 1];
    } else if (t === lua.LUA_TSTRING) {
      const bytes = toBytes(L1, idx);
      found = bytes.length === 32 ? clients.get(hex(bytes)) : clients.get(toText(L1, idx).toLowerCase());
    }
    if (!found) return false;
    pushRef(L1, found.ref);
    return true;
  };
  const iterate =
    (byIndex: boolean): LuaJSFunction =>
    (L1) => {
      const list = [...clients.values()];
      let i = 0;
      lua.lua_pushcfunction(L1, (L2) => {
        const c = list[i++];
        if (!c) return 0;
        if (byIndex) lua.lua_pushinteger(L2, i);
        else lua.lua_pushliteral(L2, c.id);
        pushRef(L2, c.ref);
        return 2;
      });
      return 1;
    };
  const pairs = iterate(false);
  const ipairs = iterate(true);
  pushObject(L, {
    get(L1, key) {
      if (key !== 'count') return false;
      lua.lua_pushinteger(L1, clients.size);
      return true;
    },
    set(L1, key) {
      return readOnly(L1, key);
    },
    index: lookup,
    methods: { pairs: (L1) => pairs(L1), ipairs: (L1) => ipairs(L1) },
    meta(L1) {
      lua.lua_pushcfunction(L1, (L2) => {
        lua.lua_pushinteger(L2, clients.size);
        return 1;
      });
      lua.lua_setfield(L1, -2, '__len');
      lua.lua_pushcfunction(L1, (L2) => (lookup(L2, 2) ? 1 : 0));
      lua.lua_setfield(L1, -2, '__call');
      lua.lua_pushcfunction(L1, pairs);
      lua.lua_setfield(L1, -2, '__pairs');
    },
  });
}
