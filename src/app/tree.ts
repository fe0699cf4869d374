// The application tree: which application serves a connection path (the nearest folder with a
// main.lua), built on first use, rebuilt when its main.lua changes, stopped when it is deleted.
// Connection paths are checked here so that none can name anything outside the folder.
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { sep } from 'node:path';
import { Application } from './application.ts';
import type { Runtime } from './runtime.ts';
import type { PathCheck } from '../core/ports.ts';

/** Longest connection path accepted, in characters as received (encoded): anything longer is refused unread. */
export const MAX_PATH_LENGTH = 1024;
/** Deepest connection path accepted, in segments. */
export const MAX_PATH_DEPTH = 32;

export class ApplicationTree {
  readonly root: Application;
  private readonly loaded = new Map<string, Application>();

  constructor(private readonly rt: Runtime) {
    this.root = new Application(rt, '', null);
  }

  start(): void {
    this.loaded.set('', this.root);
    this.root.build();
  }

  /** onStop for every application, children before their parent. */
  stop(): void {
    this.stopTree(this.root);
  }

  /**
   * A connection path ('a/b', '/a/b/', percent-encoded or not) as 'a/b', or why it is refused:
   * dot segments, absolute or drive paths, NUL or backslash, or a symlink leading out.
   */
  checkPath(raw: string): PathCheck {
    const parsed = this.parsePath(raw);
    return parsed.ok ? this.checkLinks(parsed.path) : parsed;
  }

  /** checkPath's syntax part alone, with no filesystem work: the caps, the decoding, the forbidden forms. */
  parsePath(raw: string): PathCheck {
    // bounded before any work: a hostile path costs at most MAX_PATH_LENGTH characters of parsing
    if (raw.length > MAX_PATH_LENGTH) return { ok: false, reason: 'path too long' };
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: 'malformed percent-encoding' };
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, reason: 'forbidden character' };
    if (decoded.includes('%')) return { ok: false, reason: 'double percent-encoding' };
    if (decoded.startsWith('/')) decoded = decoded.slice(1);
    while (decoded.endsWith('/')) decoded = decoded.slice(0, -1);
    if (decoded.startsWith('/')) return { ok: false, reason: 'absolute path' };
    if (/^[A-Za-z]:/.test(decoded)) return { ok: false, reason: 'drive path' };
    const segments = decoded === '' ? [] : decoded.split('/');
    for (const s of segments) {
      if (s === '' || s === '.' || s === '..') return { ok: false, reason: 'dot or empty segment' };
    }
    if (segments.length > MAX_PATH_DEPTH) return { ok: false, reason: 'path too deep' };
    return { ok: true, path: segments.join('/') };
  }

  /** checkPath's filesystem part, for a parsed path ('a/b'): no symlink on it leads out of the folder. */
  checkLinks(path: string): PathCheck {
    const segments = path === '' ? [] : path.split('/');
    // the deepest existing folder must really be inside (symlinks resolved): walk down from the root, one
    // lstat per level, stopping at the first missing folder (nothing deeper can exist)
    const www = this.rt.wwwDir;
    let dir = www;
    let deepest: string | undefined;
    let complete = true;
    for (const s of segments) {
      const next = dir + sep + s;
      if (!exists(next)) {
        complete = false;
        break;
      }
      deepest = dir = next;
    }
    if (deepest !== undefined) {
      let real: string;
      try {
        real = realpathSync(deepest);
      } catch {
        return { ok: false, reason: 'dangling link' };
      }
      if (real !== www && !real.startsWith(www + sep)) return { ok: false, reason: 'link out of the applications folder' };
    }
    // as MonaServer: a folder that does not exist is no application (InvalidApp), never the root's
    if (!complete || (deepest !== undefined && !isDirectory(deepest))) {
      return { ok: false, reason: `Application /${path} doesn't exist`, missing: true };
    }
    return { ok: true, path };
  }

  /**
   * The application serving a checked path ('a/b'), its chain built or rebuilt as needed:
   * new main.lua files are built, edited ones rebuilt (onStop, onStart), deleted ones stopped.
   */
  applicationFor(path: string): Application {
    const segments = path === '' ? [] : path.split('/');
    this.refresh(this.root);
    let parent = this.root;
    let dir = this.rt.wwwDir;
    let appPath = '';
    for (let n = 0; n < segments.length; n++) {
      appPath += '/' + segments[n];
      dir += sep + segments[n];
      const existing = this.loaded.get(appPath);
      const main = folderMain(dir);
      if (main === 'no-folder') {
        // nothing deeper can exist: stop what was loaded below (its folder is gone), and stop looking
        if (existing) this.stopTree(existing);
        break;
      }
      if (main === 'absent') {
        if (existing) this.stopTree(existing);
        continue;
      }
      if (existing && existing.parent !== parent) this.stopTree(existing);
      let app = this.loaded.get(appPath);
      if (!app) {
        app = new Application(this.rt, appPath, parent);
        parent.children.set(app.name, app);
        this.loaded.set(appPath, app);
        app.build();
      } else {
        this.refresh(app);
      }
      parent = app;
    }
    return parent;
  }

  /** The deepest loaded application on a checked path ('a/b'), without touching the filesystem. */
  loadedFor(path: string): Application {
    let app = this.root;
    if (path === '') return app;
    let appPath = '';
    let from = 0;
    for (let depth = 0; depth <= MAX_PATH_DEPTH; depth++) {
      const slash = path.indexOf('/', from);
      appPath += '/' + (slash < 0 ? path.slice(from) : path.slice(from, slash));
      const found = this.loaded.get(appPath);
      if (found) app = found;
      if (slash < 0) break;
      from = slash + 1;
    }
    return app;
  }

  /** The loaded application for a Lua path ('' or '/a/b'), else its nearest loaded ancestor. */
  live(path: string): Application {
    for (let p = path; ; p = p.slice(0, p.lastIndexOf('/'))) {
      const app = this.loaded.get(p);
      if (app) return app;
      if (p === '') return this.root;
    }
  }

  /** Stops the applications whose main.lua was deleted (the root is rebuilt empty instead). */
  sweep(): void {
    for (const app of [...this.loaded.values()]) {
      if (app === this.root || !app.running) continue;
      if (app.scriptTime() < 0) this.stopTree(app);
    }
  }

  applications(): IterableIterator<Application> {
    return this.loaded.values();
  }

  private refresh(app: Application): void {
    const now = app.scriptTime();
    if (now === app.mtimeMs) return;
    this.rt.logger.info({ app: app.path || '/' }, now < 0 ? 'main.lua deleted' : 'main.lua changed, rebuilding');
    app.stop();
    app.build();
    for (const child of app.children.values()) {
      if (child.running) this.rt.envs.attach(app.envRef, child.name, child.envRef);
    }
  }

  private stopTree(app: Application): void {
    for (const child of [...app.children.values()]) this.stopTree(child);
    app.stop();
    if (app !== this.root) {
      this.loaded.delete(app.path);
      app.parent?.children.delete(app.name);
    }
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** lstat succeeds (any failure, a name too long or a file used as a folder included, counts as absent). */
function exists(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** Whether a folder has a main.lua file: 'no-folder' when the folder itself does not exist. */
function folderMain(dir: string): 'present' | 'absent' | 'no-folder' {
  try {
    const main = statSync(dir + sep + 'main.lua', { throwIfNoEntry: false });
    if (main) return main.isFile() ? 'present' : 'absent';
    return statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? 'absent' : 'no-folder';
  } catch {
    return 'no-folder';
  }
}
