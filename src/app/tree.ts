// The application tree: which application serves a connection path (the nearest folder with a
// main.lua), built on first use, rebuilt when its main.lua changes, stopped when it is deleted.
// Connection paths are checked here so that none can name anything outside the folder.
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { Application } from './application.ts';
import type { Runtime } from './runtime.ts';

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

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
    // the deepest existing folder must really be inside (symlinks resolved)
    const www = this.rt.wwwDir;
    for (let n = segments.length; n > 0; n--) {
      const dir = join(www, ...segments.slice(0, n));
      try {
        lstatSync(dir);
      } catch {
        continue;
      }
      let real: string;
      try {
        real = realpathSync(dir);
      } catch {
        return { ok: false, reason: 'dangling link' };
      }
      if (real !== www && !real.startsWith(www + sep)) return { ok: false, reason: 'link out of the applications folder' };
      break;
    }
    // as MonaServer: a folder that does not exist is no application (InvalidApp), never the root's
    if (segments.length > 0 && !isDirectory(join(www, ...segments))) {
      return { ok: false, reason: `Application /${segments.join('/')} doesn't exist` };
    }
    return { ok: true, path: segments.join('/') };
  }

  /**
   * The application serving a checked path ('a/b'), its chain built or rebuilt as needed:
   * new main.lua files are built, edited ones rebuilt (onStop, onStart), deleted ones stopped.
   */
  applicationFor(path: string): Application {
    const segments = path === '' ? [] : path.split('/');
    this.refresh(this.root);
    let parent = this.root;
    for (let n = 1; n <= segments.length; n++) {
      const appPath = '/' + segments.slice(0, n).join('/');
      const existing = this.loaded.get(appPath);
      const present = hasMain(join(this.rt.wwwDir, ...segments.slice(0, n)));
      if (!present) {
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

function hasMain(dir: string): boolean {
  try {
    return statSync(join(dir, 'main.lua')).isFile();
  } catch {
    return false;
  }
}
