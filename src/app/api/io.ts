// What a script may do with files and the system (docs/lua-differences.md, "Files and the system"):
// io.open/io.lines read and write inside the applications folder and data/ only, relative paths
// from the running application's folder; the stock dofile/loadfile/require reachable through _G
// are the running application's confined ones; os.remove/os.rename are confined the same way;
// os.execute, io.popen, package.loadlib and os.exit only with [application] unsafe=true;
// io.write and io.stdout/io.stderr go to the logger, never raw to stdout.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { lua, lauxlib, identity, pushBytes, toBytes, toDisplay, toText, where, type LuaJSFunction, type LuaState } from '../lua/state.ts';
import type { Runtime } from '../runtime.ts';

export interface SandboxOptions {
  /** os.execute, io.popen, package.loadlib, os.exit allowed ([application] unsafe) */
  unsafe: boolean;
  /** the data/ folder beside www, also open to io.open (null: none) */
  dataDir: string | null;
}

/** Functions the loaders of an application give, for the stock ones in _G. */
export interface ApplicationLoaders {
  loadfile: LuaJSFunction;
  dofile: LuaJSFunction;
  require: LuaJSFunction;
}

/** The running application as the sandbox needs it (src/app/application.ts sets these). */
interface SandboxedApplication {
  dir?: string;
  loaders?: ApplicationLoaders;
}

interface OpenFile {
  path: string;
  data: Buffer;
  pos: number;
  readable: boolean;
  writable: boolean;
  append: boolean;
  closed: boolean;
}

const files = new WeakMap<object, OpenFile>();

export function installSandbox(rt: Runtime, options: SandboxOptions): void {
  const L = rt.lua.L;
  const dataDir = options.dataDir === null ? null : resolve(options.dataDir);
  const roots = (): string[] => [rt.wwwDir, ...(dataDir ? [realOrSelf(dataDir)] : [])];
  const baseDir = (): string => (rt.current as SandboxedApplication | null)?.dir ?? rt.wwwDir;

  /** The absolute path of `name` when it is inside a root, else null. */
  const confine = (name: string): string | null => {
    if (name.includes('\0')) return null;
    const full = isAbsolute(name) ? resolve(name) : resolve(baseDir(), name);
    // data/ is made on first use (the data table may not have created it yet)
    if (dataDir !== null && full.startsWith(dataDir + sep) && !existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });
    let real: string;
    try {
      real = existsSync(full) ? realpathSync(full) : resolve(realpathSync(dirname(full)), full.slice(dirname(full).length + 1));
    } catch {
      return null;
    }
    return roots().some((root) => real === root || real.startsWith(root + sep)) ? real : null;
  };
  const denied = (name: string): string => `${name}: access denied (files are confined to the applications folder and data/)`;

  // --- file objects
  lua.lua_createtable(L, 0, 8);
  const metaIndex = lua.lua_gettop(L);
  const fileOf = (L1: LuaState): OpenFile => {
    const f = lua.lua_type(L1, 1) === lua.LUA_TTABLE ? files.get(identity(L1, 1) ?? {}) : undefined;
    if (!f) return lauxlib.luaL_error(L1, 'bad argument #1 (file expected)');
    if (f.closed) return lauxlib.luaL_error(L1, 'attempt to use a closed file');
    return f;
  };
  const readFormats = (L1: LuaState, f: OpenFile, first: number): number => {
    if (lua.lua_gettop(L1) < first) lua.lua_pushliteral(L1, 'l');
    return readFormatsAt(L1, f, first, lua.lua_gettop(L1));
  };
  const methods: Record<string, LuaJSFunction> = {
    read: (L1) => {
      const f = fileOf(L1);
      if (!f.readable) {
        lua.lua_pushnil(L1);
        lua.lua_pushliteral(L1, 'file not opened for reading');
        return 2;
      }
      return readFormats(L1, f, 2);
    },
    lines: (L1) => {
      const f = fileOf(L1);
      lua.lua_pushcclosure(L1, linesIterator(f, formatsFrom(L1, 2)), 0);
      return 1;
    },
    write: (L1) => {
      const f = fileOf(L1);
      if (!f.writable) {
        lua.lua_pushnil(L1);
        lua.lua_pushliteral(L1, 'file not opened for writing');
        return 2;
      }
      const n = lua.lua_gettop(L1);
      for (let i = 2; i <= n; i++) {
        const t = lua.lua_type(L1, i);
        if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) lauxlib.luaL_error(L1, `bad argument #${i - 1} to 'write' (string expected)`);
        writeBytes(f, toBytes(L1, i));
      }
      lua.lua_pushvalue(L1, 1);
      return 1;
    },
    seek: (L1) => {
      const f = fileOf(L1);
      const whence = lua.lua_type(L1, 2) > lua.LUA_TNIL ? toText(L1, 2) : 'cur';
      const offset = lua.lua_type(L1, 3) > lua.LUA_TNIL ? lauxlib.luaL_checknumber(L1, 3) : 0;
      const base = whence === 'set' ? 0 : whence === 'end' ? f.data.length : whence === 'cur' ? f.pos : NaN;
      if (Number.isNaN(base)) return lauxlib.luaL_error(L1, `bad argument #1 to 'seek' (invalid option '${whence}')`);
      const pos = base + Math.trunc(offset);
      if (pos < 0) {
        lua.lua_pushnil(L1);
        lua.lua_pushliteral(L1, 'Invalid argument');
        lua.lua_pushinteger(L1, 22);
        return 3;
      }
      f.pos = pos;
      lua.lua_pushnumber(L1, pos);
      return 1;
    },
    flush: (L1) => {
      fileOf(L1);
      lua.lua_pushvalue(L1, 1);
      return 1;
    },
    setvbuf: (L1) => {
      fileOf(L1);
      lua.lua_pushboolean(L1, true);
      return 1;
    },
    close: (L1) => {
      fileOf(L1).closed = true;
      lua.lua_pushboolean(L1, true);
      return 1;
    },
  };
  lua.lua_createtable(L, 0, Object.keys(methods).length);
  for (const [name, fn] of Object.entries(methods)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, name);
  }
  lua.lua_setfield(L, metaIndex, '__index');
  lua.lua_pushcfunction(L, (L1) => {
    const f = files.get(identity(L1, 1) ?? {});
    lua.lua_pushliteral(L1, f === undefined ? 'file' : f.closed ? 'file (closed)' : `file (${f.path})`);
    return 1;
  });
  lua.lua_setfield(L, metaIndex, '__tostring');
  const metaRef = rt.lua.ref();

  const pushFile = (L1: LuaState, f: OpenFile): void => {
    lua.lua_createtable(L1, 0, 0);
    const id = identity(L1, -1);
    if (id) files.set(id, f);
    lua.lua_rawgeti(L1, lua.LUA_REGISTRYINDEX, metaRef);
    lua.lua_setmetatable(L1, -2);
  };

  /** Opens `name` (mode as C's fopen); pushes the file, or nil, message, errno. */
  const open = (L1: LuaState, name: string, mode: string): number => {
    const fail = (message: string, errno: number): number => {
      lua.lua_pushnil(L1);
      lua.lua_pushliteral(L1, message);
      lua.lua_pushinteger(L1, errno);
      return 3;
    };
    const m = /^([rwa])(\+?)b?$/.exec(mode);
    if (!m) return lauxlib.luaL_error(L1, `bad argument #2 to 'open' (invalid mode '${mode}')`);
    const path = confine(name);
    if (path === null) return fail(denied(name), 13);
    const kind = m[1]!;
    const plus = m[2] === '+';
    let data: Buffer;
    try {
      if (kind === 'r') {
        if (statSync(path).isDirectory()) return fail(`${name}: Is a directory`, 21);
        data = readFileSync(path);
      } else if (kind === 'w') {
        writeFileSync(path, '');
        data = Buffer.alloc(0);
      } else {
        data = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
        if (!existsSync(path)) writeFileSync(path, '');
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(code === 'ENOENT' ? `${name}: No such file or directory` : `${name}: ${(e as Error).message}`, code === 'ENOENT' ? 2 : 5);
    }
    pushFile(L1, {
      path,
      data,
      pos: kind === 'a' ? data.length : 0,
      readable: kind === 'r' || plus,
      writable: kind !== 'r' || plus,
      append: kind === 'a',
      closed: false,
    });
    return 1;
  };

  // --- io
  lua.lua_getglobal(L, 'io');
  const io = lua.lua_gettop(L);
  const set = (table: number, name: string, fn: LuaJSFunction): void => {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, table, name);
  };
  set(io, 'open', (L1) => open(L1, toText(L1, 1), lua.lua_type(L1, 2) > lua.LUA_TNIL ? toText(L1, 2) : 'r'));
  set(io, 'lines', (L1) => {
    if (lua.lua_type(L1, 1) <= lua.LUA_TNIL)
      return lauxlib.luaL_error(L1, "'io.lines' without a file name reads the standard input, which a server has not");
    const name = toText(L1, 1);
    const formats = formatsFrom(L1, 2);
    if (open(L1, name, 'r') !== 1) return lauxlib.luaL_error(L1, toText(L1, -2));
    const f = files.get(identity(L1, -1) ?? {})!;
    lua.lua_pushcclosure(L1, linesIterator(f, formats, true), 0);
    return 1;
  });
  set(io, 'type', (L1) => {
    const f = lua.lua_type(L1, 1) === lua.LUA_TTABLE ? files.get(identity(L1, 1) ?? {}) : undefined;
    if (f === undefined) lua.lua_pushnil(L1);
    else lua.lua_pushliteral(L1, f.closed ? 'closed file' : 'file');
    return 1;
  });
  set(io, 'read', (L1) => {
    lua.lua_pushnil(L1);
    return 1;
  });
  // io.write and the standard streams: through the logger, at INFO (stderr at WARN)
  const logWriter =
    (level: 'info' | 'warn', first: number): LuaJSFunction =>
    (L1) => {
      const n = lua.lua_gettop(L1);
      const parts: string[] = [];
      for (let i = first; i <= n; i++) parts.push(toDisplay(L1, i));
      const text = parts.join('').replace(/\n$/, '');
      if (text !== '' && (!rt.logger.isLevelEnabled || rt.logger.isLevelEnabled(level))) {
        rt.logger[level]({ app: rt.current?.path || '/', source: where(L1, 1) }, text);
      }
      if (first === 1) lua.lua_getfield(L1, lua.lua_upvalueindex(1), 'stdout');
      else lua.lua_pushvalue(L1, 1);
      return 1;
    };
  lua.lua_pushvalue(L, io);
  lua.lua_pushcclosure(L, logWriter('info', 1), 1);
  lua.lua_setfield(L, io, 'write');
  for (const [stream, level] of [
    ['stdout', 'info'],
    ['stderr', 'warn'],
  ] as const) {
    lua.lua_createtable(L, 0, 4);
    set(lua.lua_gettop(L), 'write', logWriter(level, 2));
    for (const name of ['flush', 'setvbuf', 'close']) set(lua.lua_gettop(L), name, () => 0);
    lua.lua_setfield(L, io, stream);
  }
  const stdoutOf: LuaJSFunction = (L1) => {
    lua.lua_getfield(L1, lua.lua_upvalueindex(1), 'stdout');
    return 1;
  };
  lua.lua_pushvalue(L, io);
  lua.lua_pushcclosure(L, stdoutOf, 1);
  lua.lua_setfield(L, io, 'output');
  lua.lua_pushnil(L);
  lua.lua_setfield(L, io, 'stdin');
  set(io, 'input', (L1) => lauxlib.luaL_error(L1, "'io.input' is not available: a server has no standard input"));
  if (!options.unsafe) set(io, 'popen', disabled('io.popen'));
  lua.lua_pop(L, 1);

  // --- os
  lua.lua_getglobal(L, 'os');
  const os = lua.lua_gettop(L);
  set(os, 'remove', (L1) => {
    const name = toText(L1, 1);
    const path = confine(name);
    return fileResult(L1, name, path, () => rmSync(path!));
  });
  set(os, 'rename', (L1) => {
    const from = toText(L1, 1);
    const to = toText(L1, 2);
    const a = confine(from);
    const b = confine(to);
    return fileResult(L1, a === null ? from : to, a === null ? null : b, () => renameSync(a!, b!));
  });
  if (!options.unsafe) {
    set(os, 'execute', disabled('os.execute'));
    set(os, 'exit', disabled('os.exit'));
    set(os, 'tmpname', disabled('os.tmpname'));
  }
  lua.lua_pop(L, 1);

  // --- package and the stock loaders reachable through _G
  lua.lua_getglobal(L, 'package');
  const pkg = lua.lua_gettop(L);
  if (!options.unsafe) set(pkg, 'loadlib', disabled('package.loadlib'));
  set(pkg, 'searchpath', (L1) => {
    lua.lua_pushnil(L1);
    lua.lua_pushliteral(L1, 'package.searchpath is not available: require looks in the application folders');
    return 2;
  });
  // only package.preload stays: files are found by the applications' require
  lua.lua_getfield(L, pkg, 'searchers');
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    for (let i = lua.lua_rawlen(L, -1); i >= 2; i--) {
      lua.lua_pushnil(L);
      lua.lua_rawseti(L, -2, i);
    }
  }
  lua.lua_pop(L, 2);
  for (const name of ['loadfile', 'dofile', 'require'] as const) {
    lua.lua_pushcfunction(L, (L1) => {
      const loaders = (rt.current as SandboxedApplication | null)?.loaders;
      if (!loaders) return lauxlib.luaL_error(L1, `${name}: no application is running`);
      return loaders[name](L1);
    });
    lua.lua_setglobal(L, name);
  }

  function disabled(name: string): LuaJSFunction {
    return (L1) => lauxlib.luaL_error(L1, `${name} is disabled (set [application] unsafe=true to allow it)`);
  }

  function fileResult(L1: LuaState, name: string, path: string | null, action: () => void): number {
    if (path === null) {
      lua.lua_pushnil(L1);
      lua.lua_pushliteral(L1, denied(name));
      lua.lua_pushinteger(L1, 13);
      return 3;
    }
    try {
      action();
    } catch (e) {
      lua.lua_pushnil(L1);
      lua.lua_pushliteral(
        L1,
        `${name}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`,
      );
      lua.lua_pushinteger(L1, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 2 : 5);
      return 3;
    }
    lua.lua_pushboolean(L1, true);
    return 1;
  }

  function linesIterator(f: OpenFile, formats: (string | number)[], closeAtEnd = false): LuaJSFunction {
    return (L1) => {
      if (f.closed) return lauxlib.luaL_error(L1, 'file is already closed');
      lua.lua_settop(L1, 0);
      if (formats.length === 0) lua.lua_pushliteral(L1, 'l');
      for (const format of formats) {
        if (typeof format === 'number') lua.lua_pushnumber(L1, format);
        else lua.lua_pushliteral(L1, format);
      }
      const n = lua.lua_gettop(L1);
      const got = readFormatsAt(L1, f, 1, n);
      if (closeAtEnd && lua.lua_type(L1, n + 1) <= lua.LUA_TNIL) f.closed = true;
      return got;
    };
  }
}

/** The formats given to lines(), from argument `first` on. */
function formatsFrom(L: LuaState, first: number): (string | number)[] {
  const formats: (string | number)[] = [];
  for (let i = first; i <= lua.lua_gettop(L); i++) {
    formats.push(lua.lua_type(L, i) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, i) : toText(L, i));
  }
  return formats;
}

function readFormatsAt(L: LuaState, f: OpenFile, first: number, last: number): number {
  let n = 0;
  for (let i = first; i <= last; i++) {
    n++;
    if (!readOne(L, f, i)) return n;
  }
  return n;
}

/** Pushes what format `idx` reads (nil at the end of the file); false when it pushed nil. */
function readOne(L: LuaState, f: OpenFile, idx: number): boolean {
  const data = f.data;
  if (lua.lua_type(L, idx) === lua.LUA_TNUMBER) {
    const count = Math.max(0, Math.trunc(lua.lua_tonumber(L, idx)));
    if (f.pos >= data.length && !(count === 0 && f.pos < data.length)) {
      lua.lua_pushnil(L);
      return false;
    }
    pushBytes(L, data.subarray(f.pos, f.pos + count));
    f.pos = Math.min(data.length, f.pos + count);
    return true;
  }
  const format = toText(L, idx).replace(/^\*/, '').slice(0, 1);
  switch (format) {
    case 'a':
      pushBytes(L, data.subarray(Math.min(f.pos, data.length)));
      f.pos = data.length;
      return true;
    case 'l':
    case 'L': {
      if (f.pos >= data.length) {
        lua.lua_pushnil(L);
        return false;
      }
      const nl = data.indexOf(10, f.pos);
      const end = nl < 0 ? data.length : nl;
      pushBytes(L, data.subarray(f.pos, format === 'L' && nl >= 0 ? end + 1 : end));
      f.pos = nl < 0 ? data.length : nl + 1;
      return true;
    }
    case 'n': {
      const rest = data.subarray(f.pos, f.pos + 200).toString('latin1');
      const m = /^\s*[-+]?(0[xX][0-9a-fA-F.]+([pP][-+]?\d+)?|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)/.exec(rest);
      if (!m) {
        lua.lua_pushnil(L);
        return false;
      }
      f.pos += m[0].length;
      lua.lua_pushnumber(L, Number(m[0].trim()));
      return true;
    }
    default:
      return lauxlib.luaL_error(L, `bad argument #${idx} to 'read' (invalid format)`);
  }
}

function writeBytes(f: OpenFile, bytes: Uint8Array): void {
  const at = f.append ? f.data.length : f.pos;
  const end = at + bytes.length;
  if (end > f.data.length) {
    const grown = Buffer.alloc(end);
    f.data.copy(grown, 0, 0, f.data.length);
    f.data = grown;
  }
  f.data.set(bytes, at);
  f.pos = end;
  // written through at once: fengari has no __gc, so a file never closed must not lose its data
  const fd = openSync(f.path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
