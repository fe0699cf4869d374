// The `data` global, MonaServer's persistent "NoSQL cache": a tree of values in which each
// application sees its own subtree (`data` of /a/b is data.a.b of the root). Assignments are
// written at once to an embedded SQLite database (WAL journal: a crash mid-write loses nothing
// committed). Values come back as MonaServer gives them: numbers as strings, "true"/"false" as
// booleans; assigning a table stores its members as a subtree; nil deletes a value or a subtree.
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { dirname, join } from 'node:path';
import { lua, lauxlib, pushText, toDisplay, toText, type LuaState } from '../lua/state.ts';
import { pushObject } from '../lua/object.ts';
import type { Runtime } from '../runtime.ts';
import { addApplicationHooks } from '../application.ts';

type Stored = string;

/** Deeper tables (or cycles) are cut there. */
const MAX_DEPTH = 32;

class DataNode {
  readonly values = new Map<string, Stored>();
  readonly children = new Map<string, DataNode>();
  /** registry reference of its script object, once made */
  ref = 0;
  constructor(
    readonly parent: DataNode | null,
    /** encoded path: segments percent-encoded, joined with '/'; '' for the root */
    readonly path: string,
  ) {}
  child(key: string): DataNode {
    let c = this.children.get(key);
    if (!c) {
      c = new DataNode(this, this.path === '' ? encodeURIComponent(key) : `${this.path}/${encodeURIComponent(key)}`);
      this.children.set(key, c);
    }
    return c;
  }
}

/** A primitive as MonaServer stores it (booleans as true/false, numbers in their text form). */
function serialize(L: LuaState, idx: number): Stored {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx) ? 'true' : 'false';
    case lua.LUA_TNUMBER: {
      // Lua 5.1 (MonaServer) wrote 11, not fengari's 11.0, for an integral float
      const n = lua.lua_tonumber(L, idx);
      return Number.isInteger(n) && Math.abs(n) < 1e15 ? String(n) : toText(L, idx);
    }
    case lua.LUA_TSTRING:
      return toText(L, idx);
    default:
      return toDisplay(L, idx);
  }
}

function pushStored(L: LuaState, v: Stored): void {
  if (v === 'true' || v === 'false') lua.lua_pushboolean(L, v === 'true');
  else pushText(L, v);
}

/** A key as a name: strings as they are, numbers in their Lua text form ("1"), else null. */
function keyName(L: LuaState, idx: number): string | null {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING) return toText(L, idx);
  if (t !== lua.LUA_TNUMBER) return null;
  // on a copy: converting a key in place would break lua_next
  lua.lua_pushvalue(L, idx);
  const text = serialize(L, -1);
  lua.lua_pop(L, 1);
  return text;
}

export class PersistentData {
  private db: Database.Database | null = null;
  private root: DataNode | null = null;
  private statements: { put: Database.Statement; del: Database.Statement; delTree: Database.Statement } | null = null;

  constructor(
    private readonly rt: Runtime,
    /** the SQLite file (':memory:' for none) */
    readonly file: string,
  ) {}

  /** Opens and loads the database on first use. */
  private tree(): DataNode {
    if (this.root) return this.root;
    const firstStart = this.file !== ':memory:' && !existsSync(this.file);
    if (this.file !== ':memory:') mkdirSync(dirname(this.file), { recursive: true });
    // loaded when an application first touches `data`: the native binding is not mapped until then
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    const db = new Sqlite(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS entries (parent TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (parent, key))');
    this.db = db;
    this.statements = {
      put: db.prepare(
        'INSERT INTO entries (parent, key, value) VALUES (?, ?, ?) ON CONFLICT (parent, key) DO UPDATE SET value = excluded.value',
      ),
      del: db.prepare('DELETE FROM entries WHERE parent = ? AND key = ?'),
      delTree: db.prepare("DELETE FROM entries WHERE parent = ? OR parent LIKE ? ESCAPE '\\'"),
    };
    if (firstStart) {
      const imported = importMonaServerData(dirname(this.file), this.statements.put, db);
      if (imported > 0) this.rt.logger.info({ folder: dirname(this.file), entries: imported }, "MonaServer's data folder imported");
    }
    const root = new DataNode(null, '');
    for (const row of db.prepare('SELECT parent, key, value FROM entries').iterate() as Iterable<{
      parent: string;
      key: string;
      value: string;
    }>) {
      let node = root;
      if (row.parent !== '') for (const s of row.parent.split('/')) node = node.child(decodeURIComponent(s));
      node.values.set(row.key, row.value);
    }
    this.root = root;
    this.rt.logger.debug({ file: this.file }, 'persistent data loaded');
    return root;
  }

  /** The node of an application path ('' or '/a/b'), created if needed. */
  private nodeFor(appPath: string): DataNode {
    let node = this.tree();
    for (const s of appPath.split('/')) if (s !== '') node = node.child(s);
    return node;
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.root = null;
    this.statements = null;
  }

  /** Pushes the `data` object of an application path. */
  pushFor(L: LuaState, appPath: string): void {
    // the database opens on first use, not when applications start
    this.pushNode(L, () => this.nodeFor(appPath));
  }

  /** Pushes the script object of a node (or of the node `target()` gives when used). */
  private pushNode(L: LuaState, target: DataNode | (() => DataNode)): void {
    if (typeof target !== 'function' && target.ref) {
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, target.ref); // the registry is shared by every thread
      return;
    }
    const at = typeof target === 'function' ? target : () => target;
    pushObject(L, {
      index: (L1, keyIdx) => {
        const node = at();
        const key = keyName(L1, keyIdx);
        if (key === null) return false;
        const child = node.children.get(key);
        if (child) {
          this.pushNode(L1, child);
          return true;
        }
        const v = node.values.get(key);
        if (v !== undefined) {
          pushStored(L1, v);
          return true;
        }
        if (key === 'count') {
          lua.lua_pushinteger(L1, node.values.size);
          return true;
        }
        return false;
      },
      meta: (L1) => {
        lua.lua_pushcfunction(L1, (L2) => {
          const key = keyName(L2, 2);
          if (key === null) return lauxlib.luaL_error(L2, 'Key database entry must be a string or a number');
          // one transaction: a crash never leaves half of an assigned table on disk
          const node = at();
          this.db!.transaction(() => this.assign(L2, node, key, 3))();
          return 0;
        });
        lua.lua_setfield(L1, -2, '__newindex');
        lua.lua_pushcfunction(L1, (L2) => {
          lua.lua_pushinteger(L2, at().values.size);
          return 1;
        });
        lua.lua_setfield(L1, -2, '__len');
        lua.lua_pushcfunction(L1, (L2) => {
          // a snapshot: assignments during the loop don't disturb it
          const node = at();
          const keys = [...node.values.keys(), ...node.children.keys()];
          let i = 0;
          lua.lua_pushcfunction(L2, (L3) => {
            while (i < keys.length) {
              const k = keys[i++]!;
              const child = node.children.get(k);
              if (child) {
                pushText(L3, k);
                this.pushNode(L3, child);
                return 2;
              }
              const v = node.values.get(k);
              if (v === undefined) continue;
              pushText(L3, k);
              pushStored(L3, v);
              return 2;
            }
            lua.lua_pushnil(L3);
            return 1;
          });
          lua.lua_pushvalue(L2, 1);
          lua.lua_pushnil(L2);
          return 3;
        });
        lua.lua_setfield(L1, -2, '__pairs');
      },
    });
    if (typeof target === 'function') return;
    lua.lua_pushvalue(L, -1);
    target.ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  /** node[key] = value at idx, written through. */
  private assign(L: LuaState, node: DataNode, key: string, idx: number, depth = 0): void {
    const s = this.statements!;
    const type = lua.lua_type(L, idx);
    const existing = node.children.get(key);
    if (type === lua.LUA_TNIL) {
      if (existing) this.dropTree(node, key, existing);
      if (node.values.delete(key)) s.del.run(node.path, key);
      return;
    }
    if (existing) {
      this.rt.logger.error(
        { app: this.rt.current?.path || '/' },
        `Complex type exists already on data entry ${key}, for secure reasons delete explicitly this entry with a nil assignation before override`,
      );
      return;
    }
    if (type === lua.LUA_TTABLE) {
      if (depth >= MAX_DEPTH) return;
      if (node.values.delete(key)) s.del.run(node.path, key);
      const child = node.child(key);
      const t = lua.lua_absindex(L, idx);
      lauxlib.luaL_checkstack(L, 4, 'data too deep');
      lua.lua_pushnil(L);
      while (lua.lua_next(L, t)) {
        const k = keyName(L, -2);
        if (k !== null) this.assign(L, child, k, lua.lua_gettop(L), depth + 1);
        lua.lua_pop(L, 1);
      }
      return;
    }
    const v = serialize(L, idx);
    s.put.run(node.path, key, v);
    node.values.set(key, v);
  }

  private dropTree(parent: DataNode, key: string, node: DataNode): void {
    const like = node.path.replace(/[\\%_]/g, (c) => '\\' + c) + '/%';
    this.statements!.delTree.run(node.path, like);
    const release = (n: DataNode): void => {
      if (n.ref) this.rt.lua.unref(n.ref);
      n.ref = 0;
      n.children.forEach(release);
    };
    release(node);
    parent.children.delete(key);
  }
}

/**
 * MonaServer's on-disk `data` (MonaBase's PersistentData): every entry a folder `a/b/key` holding one
 * file named by the MD5 of its value (lowercase hex) with the value as content. Imported once, in
 * one transaction, when the SQLite file is created; files whose MD5 does not match are skipped, as
 * MonaServer skipped them. Returns how many entries were imported.
 */
function importMonaServerData(root: string, put: Database.Statement, db: Database.Database): number {
  const rows: Array<[string, string, string]> = [];
  const walk = (dir: string, segments: string[]): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full, [...segments, entry.name]);
      } else if (entry.isFile() && segments.length > 0 && /^[0-9a-f]{32}$/.test(entry.name)) {
        const content = readFileSync(full);
        if (createHash('md5').update(content).digest('hex') !== entry.name) continue;
        const parent = segments.slice(0, -1).map(encodeURIComponent).join('/');
        rows.push([parent, segments[segments.length - 1]!, content.toString('utf8')]);
      }
    }
  };
  walk(root, []);
  db.transaction(() => {
    for (const [parent, key, value] of rows) put.run(parent, key, value);
  })();
  return rows.length;
}

/**
 * Gives every application of `rt` its `data` global; returns what closes the database. The file
 * defaults to data/data.sqlite beside the applications folder.
 */
export function attachPersistentData(rt: Runtime, file: string): PersistentData {
  const data = new PersistentData(rt, file);
  addApplicationHooks(rt, {
    built(app) {
      const L = rt.lua.L;
      rt.lua.push(app.envRef);
      lua.lua_pushliteral(L, 'data');
      data.pushFor(L, app.path);
      lua.lua_rawset(L, -3);
      lua.lua_pop(L, 1);
    },
  });
  return data;
}
