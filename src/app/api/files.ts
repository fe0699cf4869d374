// mona:listPaths(dir) (Mona) / mona:files(dir) (Mona rst): the entries of a folder of the
// applications folder, as File objects. The folder is relative to www (a leading '/' too) and
// can't lead outside it, symlinks included.
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { lua, pushText, toText, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { PathError, errorCode } from '../../errors.ts';

export interface FileInfo {
  /** full path; folders end with '/' */
  value: string;
  name: string;
  baseName: string;
  extension: string;
  /** the parent folder's full path, ending with '/' */
  parent: string;
  size: number;
  /** seconds since the epoch */
  lastModified: number;
  isFolder: boolean;
}

export function fileInfo(path: string, st: Stats): FileInfo {
  const name = basename(path);
  const isFolder = st.isDirectory();
  const extension = isFolder ? '' : extname(name).slice(1);
  return {
    value: isFolder ? path + '/' : path,
    name,
    baseName: extension ? name.slice(0, -extension.length - 1) : name,
    extension,
    parent: dirname(path) + '/',
    size: isFolder ? 0 : st.size,
    lastModified: Math.floor(st.mtimeMs / 1000),
    isFolder,
  };
}

/** The entries of `dir` (relative to www), sorted by name; throws when it is outside or unreadable. */
export function listFolder(wwwDir: string, dir: string): FileInfo[] {
  const target = resolve(wwwDir, '.' + sep + dir.replace(/^[/\\]+/, ''));
  const inside = (p: string): boolean => p === wwwDir || p.startsWith(wwwDir + sep);
  if (!inside(target)) throw new PathError(`${dir} is outside the applications folder`);
  const real = realpathSync(target);
  if (!inside(real)) throw new PathError(`${dir} leads outside the applications folder`);
  const out: FileInfo[] = [];
  for (const name of readdirSync(real).sort()) {
    const path = join(real, name);
    try {
      const link = lstatSync(path);
      if (link.isSymbolicLink() && !inside(realpathSync(path))) continue;
      out.push(fileInfo(path, statSync(path)));
    } catch {
      // vanished or dangling: not listed
    }
  }
  return out;
}

const PROPERTIES = [
  'name',
  'baseName',
  'parent',
  'extension',
  'size',
  'lastModified',
  'isFolder',
  'isDirectory',
  'value',
  'fullPath',
  'path',
];

export function pushFile(L: LuaState, f: FileInfo): void {
  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'name':
        case 'baseName':
        case 'parent':
        case 'extension':
          pushText(L1, f[key]);
          return true;
        case 'value':
        case 'fullPath':
        case 'path':
          pushText(L1, f.value);
          return true;
        case 'size':
        case 'lastModified':
          lua.lua_pushnumber(L1, f[key]);
          return true;
        case 'isFolder':
        case 'isDirectory':
          lua.lua_pushboolean(L1, f.isFolder);
          return true;
      }
      return false;
    },
    set: (L1, key) => (PROPERTIES.includes(key) ? readOnly(L1, key) : false),
    meta(L1) {
      lua.lua_pushcfunction(L1, (L2) => {
        pushText(L2, f.value);
        return 1;
      });
      lua.lua_setfield(L1, -2, '__tostring');
    },
  });
}

export function fileMethods(ctx: HostContext): Record<string, Method> {
  const { rt } = ctx;
  const list: Method = (L, a) => {
    let entries: FileInfo[] = [];
    try {
      entries = listFolder(rt.wwwDir, lua.lua_type(L, a) === lua.LUA_TSTRING ? toText(L, a) : '');
    } catch (e) {
      rt.logger.error({ app: rt.current?.path || '/', code: errorCode(e) }, `listPaths: ${(e as Error).message}`);
    }
    lua.lua_createtable(L, entries.length, 0);
    entries.forEach((f, i) => {
      pushFile(L, f);
      lua.lua_rawseti(L, -2, i + 1);
    });
    return 1;
  };
  return { listPaths: list, files: list };
}
