// One server application: a folder of the applications tree, its main.lua run in its own
// environment, and the file loaders (require/dofile/loadfile) that look in its folder first,
// then in its parents' folders, never outside the applications folder.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { lua, pushRef, lauxlib, toText, type LuaJSFunction, type LuaState } from './lua/state.ts';
import type { Runtime, RunningApplication } from './runtime.ts';
import type { ApplicationLoaders } from './api/io.ts';

/** What the host adds to every application: globals at build time, cleanup when it stops. */
export interface ApplicationHooks {
  built?(app: Application): void;
  stopping?(app: Application): void;
}
const applicationHooks = new WeakMap<Runtime, ApplicationHooks[]>();
export function addApplicationHooks(rt: Runtime, hooks: ApplicationHooks): void {
  applicationHooks.set(rt, [...(applicationHooks.get(rt) ?? []), hooks]);
}

export class Application implements RunningApplication {
  readonly name: string;
  readonly dir: string;
  readonly children = new Map<string, Application>();
  parent: Application | null;
  envRef = 0;
  /** mtime of main.lua when built; -1 when there was none. */
  mtimeMs = -1;
  running = false;
  /** why main.lua failed to compile or run: connections are refused with it until the file changes (fail closed) */
  failure: string | null = null;
  private readonly modules = new Map<string, number>();
  /** this application's loadfile/dofile/require, which the stock ones in _G call (src/app/api/io.ts) */
  loaders: ApplicationLoaders | undefined;

  constructor(
    private readonly rt: Runtime,
    /** '' for the root, '/a/b' otherwise */
    readonly path: string,
    parent: Application | null,
  ) {
    this.parent = parent;
    this.name = path.slice(path.lastIndexOf('/') + 1);
    this.dir = path === '' ? rt.wwwDir : join(rt.wwwDir, ...path.slice(1).split('/'));
  }

  get mainFile(): string {
    return join(this.dir, 'main.lua');
  }

  /** Current mtime of main.lua, -1 if it is gone. */
  scriptTime(): number {
    try {
      const st = statSync(this.mainFile);
      return st.isFile() ? st.mtimeMs : -1;
    } catch {
      return -1;
    }
  }

  pushGlobal(name: string): void {
    const L = this.rt.lua.L;
    this.rt.lua.push(this.envRef);
    this.rt.lua.pushName(name);
    lua.lua_gettable(L, -2);
    lua.lua_remove(L, -2);
  }

  /** Pushes the event function (own or inherited) and returns true; pushes nothing otherwise. */
  pushEvent(name: string): boolean {
    this.pushGlobal(name);
    if (lua.lua_type(this.rt.lua.L, -1) === lua.LUA_TFUNCTION) return true;
    lua.lua_pop(this.rt.lua.L, 1);
    return false;
  }

  /** Fresh environment, main.lua run in it, then onStart(path). */
  build(): void {
    const rt = this.rt;
    const L = rt.lua.L;
    this.envRef = rt.envs.create(this.name, this.path);
    if (this.parent) rt.envs.attach(this.parent.envRef, this.name, this.envRef);
    this.installLoaders();
    for (const h of applicationHooks.get(rt) ?? []) h.built?.(this);
    this.running = true;
    this.mtimeMs = this.scriptTime();
    this.failure = null;
    if (this.mtimeMs >= 0) {
      if (this.loadChunk(L, this.mainFile)) {
        this.rt.lua.push(this.envRef);
        lua.lua_setupvalue(L, -2, 1);
        const r = rt.call(this, 0, 0, 'main.lua');
        if (!r.ok) this.failure = r.message;
      } else {
        this.failure = toText(L, -1);
        rt.scriptError(this, 'main.lua', this.failure, 'error');
        lua.lua_pop(L, 1);
      }
    }
    rt.logger.debug({ app: this.path || '/' }, 'application started');
    this.fire('onStart');
  }

  /** onStop(path), then the environment is dropped. */
  stop(): void {
    if (!this.running) return;
    this.fire('onStop');
    for (const h of applicationHooks.get(this.rt) ?? []) h.stopping?.(this);
    this.running = false;
    if (this.parent) this.rt.envs.detach(this.parent.envRef, this.name, this.envRef);
    for (const ref of this.modules.values()) this.rt.lua.unref(ref);
    this.modules.clear();
    this.rt.lua.unref(this.envRef);
    this.envRef = 0;
    this.rt.logger.debug({ app: this.path || '/' }, 'application stopped');
  }

  private fire(event: 'onStart' | 'onStop'): void {
    if (!this.pushEvent(event)) return;
    lua.lua_pushliteral(this.rt.lua.L, this.path);
    this.rt.call(this, 1, 0, event);
  }

  /** A file inside the applications folder: `name` as given if absolute, else from this folder up. */
  resolveFile(name: string): string | null {
    if (name.includes('\0')) return null;
    if (isAbsolute(name)) return this.inside(resolve(name));
    for (let dir = this.dir; ; dir = dirname(dir)) {
      const found = this.inside(resolve(dir, name));
      if (found) return found;
      if (dir === this.rt.wwwDir || !dir.startsWith(this.rt.wwwDir)) return null;
    }
  }

  private inside(file: string): string | null {
    const www = this.rt.wwwDir;
    if (file !== www && !file.startsWith(www + sep)) return null;
    try {
      if (!statSync(file).isFile()) return null;
      const real = realpathSync(file);
      return real.startsWith(www + sep) ? real : null;
    } catch {
      return null;
    }
  }

  /** Pushes the compiled chunk (true) or the error message (false). */
  private loadChunk(L: LuaState, file: string): boolean {
    let code: Uint8Array;
    try {
      code = readFileSync(file);
    } catch (e) {
      lua.lua_pushliteral(L, `cannot read ${file}: ${(e as Error).message}`);
      return false;
    }
    const chunkname = '@' + relative(dirname(this.rt.wwwDir), file).split(sep).join('/');
    return lauxlib.luaL_loadbufferx(L, code, code.length, chunkname, 't') === lua.LUA_OK;
  }

  private installLoaders(): void {
    const rt = this.rt;
    const L = rt.lua.L;

    const loadfile: LuaJSFunction = (L1) => {
      const name = toText(L1, 1);
      const file = this.resolveFile(name);
      if (!file) {
        lua.lua_pushnil(L1);
        lua.lua_pushliteral(L1, `cannot open ${name}`);
        return 2;
      }
      if (!this.loadChunk(L1, file)) {
        lua.lua_pushnil(L1);
        lua.lua_insert(L1, -2);
        return 2;
      }
      if (lua.lua_type(L1, 3) > lua.LUA_TNIL) lua.lua_pushvalue(L1, 3);
      else pushRef(L1, this.envRef);
      lua.lua_setupvalue(L1, -2, 1);
      return 1;
    };

    const dofile: LuaJSFunction = (L1) => {
      const name = toText(L1, 1);
      const file = this.resolveFile(name);
      if (!file) return lauxlib.luaL_error(L1, `cannot open ${name}`);
      lua.lua_settop(L1, 0);
      if (!this.loadChunk(L1, file)) return lua.lua_error(L1);
      pushRef(L1, this.envRef);
      lua.lua_setupvalue(L1, -2, 1);
      lua.lua_call(L1, 0, lua.LUA_MULTRET);
      return lua.lua_gettop(L1);
    };

    const require: LuaJSFunction = (L1) => {
      const name = toText(L1, 1);
      const file = this.findModule(name);
      if (!file) {
        // the standard libraries (string, table, ...) and module() tables stay reachable
        if (pushLoaded(L1, name)) return 1;
        return lauxlib.luaL_error(L1, `module '${name}' not found in ${this.path || '/'} or its parents`);
      }
      const cached = this.modules.get(file);
      if (cached !== undefined) {
        pushRef(L1, cached);
        return 1;
      }
      if (!this.loadChunk(L1, file)) return lua.lua_error(L1);
      pushRef(L1, this.envRef);
      lua.lua_setupvalue(L1, -2, 1);
      lua.lua_pushliteral(L1, name);
      lua.lua_pushliteral(L1, file);
      lua.lua_call(L1, 2, 1);
      if (lua.lua_type(L1, -1) === lua.LUA_TNIL) {
        lua.lua_pop(L1, 1);
        // a Lua 5.1 module("name") file returns nothing: its table is package.loaded[name]
        if (!pushLoaded(L1, name)) lua.lua_pushboolean(L1, true);
      }
      lua.lua_pushvalue(L1, -1);
      // ref from the running thread: inside a coroutine the value is on its stack, not the main one
      this.modules.set(file, lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX));
      return 1;
    };

    this.loaders = { loadfile, dofile, require };
    rt.lua.push(this.envRef);
    for (const [key, fn] of [
      ['loadfile', loadfile],
      ['dofile', dofile],
      ['require', require],
    ] as const) {
      lua.lua_pushliteral(L, key);
      lua.lua_pushcfunction(L, fn);
      lua.lua_rawset(L, -3);
    }
    lua.lua_pop(L, 1);
  }

  private findModule(name: string): string | null {
    if (name === '' || name.includes('\0')) return null;
    const base = name.endsWith('.lua') ? name.slice(0, -4) : name;
    const asPath = base.split('.').join('/');
    for (const candidate of [`${asPath}.lua`, `${asPath}/init.lua`, `${base}.lua`]) {
      const file = this.resolveFile(candidate);
      if (file) return file;
    }
    return null;
  }
}

/** Pushes package.loaded[name] and returns true when it is set; pushes nothing otherwise. */
function pushLoaded(L: LuaState, name: string): boolean {
  const top = lua.lua_gettop(L);
  if (lua.lua_getglobal(L, 'package') === lua.LUA_TTABLE && lua.lua_getfield(L, -1, 'loaded') === lua.LUA_TTABLE) {
    if (lua.lua_getfield(L, -1, name) !== lua.LUA_TNIL) {
      lua.lua_insert(L, top + 1);
      lua.lua_settop(L, top + 1);
      return true;
    }
  }
  lua.lua_settop(L, top);
  return false;
}
