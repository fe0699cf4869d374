// Logging: pino with the two extra levels that the Lua API needs (NOTE, CRITIC), so that
// each of FATAL CRITIC ERROR WARN NOTE INFO DEBUG TRACE keeps its own severity.
import { pino } from 'pino';
import { createRequire } from 'node:module';
import type prettyFactory from 'pino-pretty';
import { ConfigError } from './errors.ts';

export type Logger = pino.Logger<'note' | 'critic'>;

/** Severity of every level, highest first; the six pino defaults keep their usual numbers. */
export const LEVELS = {
  fatal: 60,
  critic: 55,
  error: 50,
  warn: 40,
  note: 35,
  info: 30,
  debug: 20,
  trace: 10,
} as const;

export type LevelName = keyof typeof LEVELS;

/** The Lua log functions, by the level each one writes at. */
export const LUA_LOG_FUNCTIONS: Readonly<Record<'FATAL' | 'CRITIC' | 'ERROR' | 'WARN' | 'NOTE' | 'INFO' | 'DEBUG' | 'TRACE', LevelName>> = {
  FATAL: 'fatal',
  CRITIC: 'critic',
  ERROR: 'error',
  WARN: 'warn',
  NOTE: 'note',
  INFO: 'info',
  DEBUG: 'debug',
  TRACE: 'trace',
};

export type PrettyMode = 'auto' | 'true' | 'false';

export interface LoggerOptions {
  level: string;
  pretty?: PrettyMode;
  /** Where lines go; stdout when absent. */
  destination?: NodeJS.WritableStream;
}

export function isLevelName(name: string): name is LevelName {
  return Object.prototype.hasOwnProperty.call(LEVELS, name);
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level.toLowerCase();
  if (!isLevelName(level) && level !== 'silent') {
    throw new ConfigError(`logs.level: expected one of ${Object.keys(LEVELS).join(', ')}, got "${options.level}"`, { key: 'logs.level' });
  }
  const settings: pino.LoggerOptions<'note' | 'critic', false> = {
    level,
    customLevels: { note: LEVELS.note, critic: LEVELS.critic },
    useOnlyCustomLevels: false,
  };
  const target = options.destination;
  if (wantsPretty(options.pretty ?? 'auto', target)) {
    const colorize = isTTY(target ?? process.stdout);
    // loaded only for a terminal: a server logging JSON never pays its start-up time and memory
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof prettyFactory;
    const stream = pretty({
      colorize,
      customLevels: LEVELS,
      useOnlyCustomProps: false,
      ignore: 'pid,hostname',
      translateTime: 'SYS:HH:MM:ss.l',
      // a terminal reads at human speed; writing stdout synchronously loses nothing at exit
      destination: target ?? 1,
      sync: target === undefined,
    });
    return pino(settings, stream);
  }
  return target === undefined ? pino(settings) : pino(settings, target);
}

/** One child per session, so every line about a session carries its id and address. */
export function sessionLogger(parent: Logger, bindings: { session: number; address: string }): Logger {
  return parent.child({ session: bindings.session, address: bindings.address });
}

function wantsPretty(mode: PrettyMode, target: NodeJS.WritableStream | undefined): boolean {
  if (mode === 'true') return true;
  if (mode === 'false') return false;
  return isTTY(target ?? process.stdout);
}

function isTTY(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** Longest text put in a log line from input (paths, urls): the rest is replaced by its length. */
export const MAX_LOGGED_TEXT = 256;

/** `text` cut to `max` characters, saying how long it was: hostile input never makes a log line large. */
export function clip(text: string, max = MAX_LOGGED_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/**
 * One log line per cause per interval, whatever the input rate: the lines an attacker's packets can cause
 * are bounded. The first occurrence of a cause logs at once; later ones within the interval are only counted,
 * and the next line says how many were suppressed. Causes are a small fixed vocabulary (capped anyway).
 * A suppressed call allocates nothing.
 */
export class RateLimitedLog {
  private readonly causes = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    readonly intervalMs = 10_000,
    private readonly now: () => number = () => performance.now(),
    private readonly maxCauses = 256,
  ) {}

  /** Logs `message` at `level` unless `cause` was logged less than an interval ago; true when it logged. */
  log(level: 'info' | 'warn' | 'error', cause: string, message: string, fields?: Record<string, unknown>): boolean {
    const now = this.now();
    let entry = this.causes.get(cause);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return false;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (!entry) {
      if (this.causes.size >= this.maxCauses) this.causes.clear();
      entry = { at: now, suppressed: 0 };
      this.causes.set(cause, entry);
    } else {
      entry.at = now;
      entry.suppressed = 0;
    }
    this.logger[level]({ ...fields, cause, ...(suppressed > 0 ? { suppressed } : {}) }, message);
    return true;
  }
}
