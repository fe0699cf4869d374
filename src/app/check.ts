// `nimbus --check`: every main.lua of the applications tree compiled (not run), as `nginx -t` checks a
// configuration without serving it. A syntax error is reported with its file and line, as Lua gives it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { lauxlib, lua, lualib } from './lua/state.ts';

export interface ScriptCheck {
  /** path relative to the folder holding www/, as Lua names chunks: 'www/main.lua', 'www/live/main.lua' */
  file: string;
  /** Lua's message ("www/main.lua:3: 'end' expected near <eof>"), undefined when it compiled */
  error: string | undefined;
}

/** Most folders walked: a www/ tree is applications, not a file system to crawl. */
const MAX_FOLDERS = 10_000;

export function checkScripts(wwwDir: string): ScriptCheck[] {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const results: ScriptCheck[] = [];
  const folders = [wwwDir];
  let seen = 0;
  while (folders.length > 0 && seen++ < MAX_FOLDERS) {
    const folder = folders.shift()!;
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(folder, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) folders.push(path);
      else if (name === 'main.lua' && stat?.isFile()) results.push(compile(L, wwwDir, path));
    }
  }
  return results;
}

function compile(L: ReturnType<typeof lauxlib.luaL_newstate>, wwwDir: string, path: string): ScriptCheck {
  const file = relative(dirname(wwwDir), path).split(sep).join('/');
  let code: Uint8Array;
  try {
    code = readFileSync(path);
  } catch (error) {
    return { file, error: `${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  const status = lauxlib.luaL_loadbufferx(L, code, code.length, `@${file}`, 't');
  if (status === lua.LUA_OK) {
    lua.lua_pop(L, 1);
    return { file, error: undefined };
  }
  const message = lua.lua_tojsstring(L, -1) ?? `${file}: does not compile`;
  lua.lua_pop(L, 1);
  return { file, error: message };
}
