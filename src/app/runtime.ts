// What every part of the Lua host shares: the one Lua state, the environments, the logger, the
// applications folder, and which application's code is running (for logs and onTypedObject).
import { realpathSync } from 'node:fs';
import { LuaHost, type LuaFailure } from './lua/state.ts';
import { Environments } from './lua/environment.ts';
import type { Logger } from '../log.ts';
import { ScriptError } from '../errors.ts';
import { channels } from '../core/diagnostics.ts';

/** The logger methods the host uses; src/log.ts's pino logger has them all. */
export type AppLogger = Pick<Logger, 'fatal' | 'critic' | 'error' | 'warn' | 'note' | 'info' | 'debug' | 'trace'> &
  Partial<Pick<Logger, 'isLevelEnabled'>>;

/** What Runtime.call returns: a failure also carries its ScriptError (code NIMBUS_ERR_SCRIPT). */
export type ScriptCallResult = { ok: true } | (LuaFailure & { error: ScriptError });

/** The part of an application the runtime needs to know while its code runs. */
export interface RunningApplication {
  /** '' for the root, '/a/b' otherwise: the form scripts see. */
  readonly path: string;
  /** Pushes the inherited value of `name` in this application's environment. */
  pushGlobal(name: string): void;
}

export class Runtime {
  readonly lua = new LuaHost();
  readonly envs = new Environments(this.lua);
  readonly wwwDir: string;
  current: RunningApplication | null = null;

  constructor(
    wwwDir: string,
    readonly logger: AppLogger,
  ) {
    this.wwwDir = realpathSync(wwwDir);
  }

  /**
   * Protected call of the function below nargs arguments, as `app`'s code. A failure is logged
   * with its traceback and code (at `level`) and returned with its ScriptError; it never throws.
   */
  call(app: RunningApplication, nargs: number, nresults: number, what: string, level: 'error' | 'warn' = 'error'): ScriptCallResult {
    const previous = this.current;
    this.current = app;
    try {
      const result = this.lua.pcall(nargs, nresults);
      if (result.ok) return result;
      return { ...result, error: this.scriptError(app, what, result.message, level, result.traceback) };
    } finally {
      this.current = previous;
    }
  }

  /** A script failed: logged with its code (and traceback when there is one) and told to `nimbus:script:error` subscribers. */
  scriptError(app: RunningApplication, event: string, message: string, level: 'error' | 'warn', traceback?: string): ScriptError {
    const error = new ScriptError(message, { app: app.path || '/', event, traceback: traceback ?? '' });
    const fields = { app: error.app, event, code: error.code };
    this.logger[level](traceback === undefined ? fields : { ...fields, traceback }, message);
    if (channels.scriptError.hasSubscribers) {
      channels.scriptError.publish({ application: app.path, event, message, level, traceback });
    }
    return error;
  }
}

/** "www/main.lua:3: message" → "message": what error("message") meant to say. */
export function stripPosition(message: string): string {
  return message.replace(/^[^\n]*?:\d+: ?/, '');
}
