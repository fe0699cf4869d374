// A read-only collection as both servers' scripts use them (groups, a group's clients, servers,
// broadcasters): `count`, `#`, lookup by position or by the collection's own key, `coll(x)`,
// `pairs`/`ipairs` as methods and as Lua's own (Lua 5.3's ipairs walks __index from 1).
import { lua, type LuaJSFunction, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method } from '../lua/object.ts';

export interface CollectionSpec<T> {
  /** the items, in the collection's order (read at each use: collections are live) */
  items(): readonly T[];
  /** key of an item in pairs() */
  key(item: T): string;
  /** pushes the key of an item in pairs() instead of key(item) (an object, e.g. a listener's client) */
  pushKey?(L: LuaState, item: T): void;
  push(L: LuaState, item: T): void;
  /** an item named by the non-number value at idx, if any */
  find?(L: LuaState, idx: number): T | undefined;
  /** other read-only properties */
  get?(L: LuaState, key: string): boolean;
  methods?: Readonly<Record<string, Method>>;
}

export function pushCollection<T>(L: LuaState, spec: CollectionSpec<T>): void {
  const lookup = (L1: LuaState, idx: number): T | undefined => {
    if (lua.lua_type(L1, idx) === lua.LUA_TNUMBER) {
      const i = lua.lua_tonumber(L1, idx);
      return Number.isInteger(i) && i >= 1 ? spec.items()[i - 1] : undefined;
    }
    return spec.find?.(L1, idx);
  };
  const found = (L1: LuaState, idx: number): boolean => {
    const item = lookup(L1, idx);
    if (item === undefined) return false;
    spec.push(L1, item);
    return true;
  };
  const iterate =
    (byIndex: boolean): LuaJSFunction =>
    (L1) => {
      const list = [...spec.items()];
      let i = 0;
      lua.lua_pushcfunction(L1, (L2) => {
        const item = list[i++];
        if (item === undefined) return 0;
        if (byIndex) lua.lua_pushinteger(L2, i);
        else if (spec.pushKey) spec.pushKey(L2, item);
        else lua.lua_pushliteral(L2, spec.key(item));
        spec.push(L2, item);
        return 2;
      });
      return 1;
    };
  const pairs = iterate(false);
  const ipairs = iterate(true);
  const count = (L1: LuaState): number => {
    lua.lua_pushinteger(L1, spec.items().length);
    return 1;
  };
  pushObject(L, {
    get(L1, key) {
      if (key === 'count') return count(L1) === 1;
      return spec.get?.(L1, key) ?? false;
    },
    set(L1, key) {
      return readOnly(L1, key);
    },
    index: found,
    methods: { ...spec.methods, pairs: (L1) => pairs(L1), ipairs: (L1) => ipairs(L1) },
    meta(L1) {
      lua.lua_pushcfunction(L1, count);
      lua.lua_setfield(L1, -2, '__len');
      lua.lua_pushcfunction(L1, (L2) => (found(L2, 2) ? 1 : 0));
      lua.lua_setfield(L1, -2, '__call');
      lua.lua_pushcfunction(L1, pairs);
      lua.lua_setfield(L1, -2, '__pairs');
    },
  });
}
