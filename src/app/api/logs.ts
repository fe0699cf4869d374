// FATAL CRITIC ERROR WARN NOTE INFO DEBUG TRACE and print: through pino, with the application
// whose code is running and the script line that logged.
import { LUA_LOG_FUNCTIONS, type LevelName } from '../../log.ts';
import { lua, toDisplay, where, type LuaState } from '../lua/state.ts';
import type { Runtime } from '../runtime.ts';

function message(L: LuaState, separator: string): string {
  const n = lua.lua_gettop(L);
  const parts: string[] = [];
  for (let i = 1; i <= n; i++) parts.push(toDisplay(L, i));
  return parts.join(separator);
}

export function installLogFunctions(rt: Runtime): void {
  const L = rt.lua.L;
  const define = (name: string, level: LevelName, separator: string): void => {
    lua.lua_pushcfunction(L, (L1) => {
      if (rt.logger.isLevelEnabled && !rt.logger.isLevelEnabled(level)) return 0;
      rt.logger[level]({ app: rt.current?.path || '/', source: where(L1, 1) }, message(L1, separator));
      return 0;
    });
    lua.lua_setglobal(L, name);
  };
  for (const [name, level] of Object.entries(LUA_LOG_FUNCTIONS)) define(name, level, '');
  // print keeps Lua's tab-separated output, at INFO
  define('print', 'info', '\t');
}
