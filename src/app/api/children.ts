// children("sub/app"): MonaServer's way to start a child application from its parent's script and
// get it (nil when that folder has no main.lua). The `children` table keeps listing loaded ones.
import { lua, toText } from '../lua/state.ts';
import { addApplicationHooks } from '../application.ts';
import type { Runtime } from '../runtime.ts';
import type { ApplicationTree } from '../tree.ts';

export function attachChildrenLoader(rt: Runtime, tree: ApplicationTree): void {
  addApplicationHooks(rt, {
    built(app) {
      const L = rt.lua.L;
      rt.lua.push(app.envRef);
      lua.lua_getfield(L, -1, 'children');
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushcfunction(L, (L1) => {
        const name = toText(L1, 2).replace(/^\/+|\/+$/g, '');
        const checked = tree.checkPath(app.path === '' ? name : `${app.path.slice(1)}/${name}`);
        if (!checked.ok || name === '') return 0;
        const child = tree.applicationFor(checked.path);
        if (child.path !== '/' + checked.path || !child.running) return 0;
        lua.lua_rawgeti(L1, lua.LUA_REGISTRYINDEX, child.envRef);
        lua.lua_getfield(L1, -1, 'this');
        return 1;
      });
      lua.lua_setfield(L, -2, '__call');
      lua.lua_setmetatable(L, -2);
      lua.lua_pop(L, 2);
    },
  });
}
