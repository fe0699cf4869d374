// Where the process's log lines go: stdout (one readable line per entry on a terminal, JSON lines otherwise)
// and, when [logs] directory is set, files rotated by size and count (pino-roll), as MonaServer's [logs] does.
//
// Stdout never blocks the server: on a pipe it is a non-blocking socket whose unsent backlog is capped (lines
// beyond it are dropped and counted), and a reader that has gone away (EPIPE) only stops the output. A stalled
// or dead log reader therefore can neither freeze the event loop nor keep the process from exiting.
import { fstatSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { isatty } from 'node:tty';
import { resolve } from 'node:path';
import { pino } from 'pino';
import type prettyModule from 'pino-pretty';
import { LEVELS, type Logger } from '../log.ts';
import type { NimbusConfig } from '../config.ts';

/** Unsent stdout bytes beyond which lines are dropped rather than queued. */
export const MAX_STDOUT_BACKLOG = 4 * 1024 * 1024;

/** A destination pino writes whole lines to. */
export interface LineSink {
  write(line: string): boolean;
}

export class StdoutSink implements LineSink {
  /** lines dropped: backlog full or reader gone */
  dropped = 0;
  /** the reader went away (EPIPE, or any write error): nothing more is written */
  broken = false;
  readonly isTTY: boolean;
  private readonly socket: Socket | undefined;

  constructor(
    private readonly fd = 1,
    private readonly maxBacklog = MAX_STDOUT_BACKLOG,
  ) {
    let pipe = false;
    try {
      const stat = fstatSync(fd);
      pipe = stat.isFIFO() || stat.isSocket();
    } catch {
      this.broken = true; // no stdout at all
    }
    this.isTTY = !pipe && !this.broken && isatty(fd);
    if (pipe) {
      // libuv opens the pipe non-blocking: a full pipe queues here instead of stopping the event loop
      this.socket = new Socket({ fd, readable: false, writable: true });
      this.socket.on('error', () => {
        this.broken = true;
        this.socket?.destroy();
      });
      this.socket.unref();
    }
  }

  write(line: string): boolean {
    if (this.broken) {
      this.dropped++;
      return true;
    }
    if (this.socket) {
      if (this.socket.writableLength > this.maxBacklog) this.dropped++;
      else this.socket.write(line);
      return true;
    }
    // a terminal or a file: a synchronous write, where only a real error (EPIPE, EIO, ENOSPC) can happen
    try {
      writeSync(this.fd, line);
    } catch (error) {
      this.dropped++;
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') this.broken = true;
    }
    return true;
  }

  /** Resolves when what is queued has been written, the reader is gone, or `timeoutMs` passed: never hangs. */
  flush(timeoutMs: number): Promise<void> {
    const socket = this.socket;
    if (!socket || this.broken || socket.writableLength === 0) return Promise.resolve();
    return new Promise((done) => {
      const timer = setTimeout(finish, timeoutMs);
      function finish(): void {
        clearTimeout(timer);
        socket!.off('drain', finish);
        socket!.off('close', finish);
        done();
      }
      socket.once('drain', finish);
      socket.once('close', finish);
    });
  }
}

/** One line per entry on a terminal, as MonaServer prints: time, level, component, message, then the fields. */
export function terminalFormat(colorize: boolean): (line: string) => string {
  // loaded only for a terminal: a server logging JSON lines to a pipe never pays for pino-pretty's start-up and memory
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof prettyModule;
  const format = pretty.prettyFactory({
    colorize,
    customLevels: LEVELS,
    useOnlyCustomProps: false,
    ignore: 'pid,hostname,component',
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    messageFormat: '{if component}{component}  {end}{msg}',
  });
  return (line) => {
    try {
      return format(JSON.parse(line) as object);
    } catch {
      return line;
    }
  };
}

export interface LogOutputs {
  logger: Logger;
  stdout: StdoutSink;
  /** the rotated files' stream, when [logs] directory is set */
  files: { flushSync(): void; end(): void } | undefined;
  /** path of the current log file's base (`<directory>/<name>`), when set */
  filesBase: string | undefined;
  /** writes what can be written, within `timeoutMs`; never hangs */
  flush(timeoutMs: number): Promise<void>;
}

/** The logger of the process: stdout (pretty or JSON by [logs] pretty) plus rotated files by [logs] directory. */
export async function openLogOutputs(
  logs: NimbusConfig['logs'],
  applicationDir: string,
  stdout = new StdoutSink(),
  onFileError: (error: Error) => void = () => {},
): Promise<LogOutputs> {
  const wantPretty = logs.pretty === 'true' || (logs.pretty === 'auto' && stdout.isTTY);
  const format = wantPretty ? terminalFormat(stdout.isTTY) : undefined;
  const console: LineSink = format ? { write: (line) => stdout.write(format(line)) } : stdout;
  const streams: pino.StreamEntry[] = [{ level: 'trace', stream: console }];
  let files: LogOutputs['files'];
  let filesBase: string | undefined;
  if (logs.directory !== '') {
    filesBase = resolve(applicationDir, logs.directory, logs.name);
    // loaded only with [logs] directory set (idle memory of a server logging to stdout alone)
    const roll = (await import('pino-roll')).default;
    const stream = await roll({
      file: filesBase,
      size: `${logs.maxSize}b`,
      mkdir: true,
      ...(logs.rotation > 0 ? { limit: { count: logs.rotation } } : {}),
    });
    // a full or vanished disk must not take the server down: the error is reported, the lines are lost
    stream.on('error', onFileError);
    files = stream;
    streams.push({ level: 'trace', stream });
  }
  const logger: Logger = pino(
    { level: logs.level, customLevels: { note: LEVELS.note, critic: LEVELS.critic }, useOnlyCustomLevels: false },
    pino.multistream(streams, { levels: { ...pino.levels.values, ...LEVELS } }),
  );
  return {
    logger,
    stdout,
    files,
    filesBase,
    async flush(timeoutMs) {
      try {
        files?.flushSync();
      } catch {
        // the file is gone or full: nothing more to save
      }
      await stdout.flush(timeoutMs);
    },
  };
}
