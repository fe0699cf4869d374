// A stop always stops. SIGTERM or SIGINT closes the server cleanly (clients' onDisconnection, onStop), but
// within a bounded time whatever happens: a client that never answers, a log reader that went away. A second
// signal exits at once. Nothing here writes synchronously to a pipe, so a signal is always handled.
import type { Logger } from '../log.ts';
import { errorCode } from '../errors.ts';

/** Longest clean close before the process exits anyway (code 1). */
export const STOP_DEADLINE_MS = 10_000;
/** Longest wait for the last log lines to reach a slow reader. */
export const LOG_FLUSH_MS = 1_000;

export interface StopOptions {
  close(): Promise<void>;
  logger: Logger;
  /** writes pending log lines, bounded by its argument */
  flush(timeoutMs: number): Promise<void>;
  deadlineMs?: number;
  exit?: (code: number) => never;
}

export function stopOnSignals(options: StopOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const deadlineMs = options.deadlineMs ?? STOP_DEADLINE_MS;
  const { logger } = options;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // a second signal means the operator no longer wants to wait for a clean close
      logger.warn({ signal }, 'forced stop');
      exit(1);
      return;
    }
    stopping = true;
    logger.note({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      logger.error({ signal, deadlineMs }, 'clean stop took too long, exiting');
      exit(1);
    }, deadlineMs);
    const finish = (code: number): void => {
      void options.flush(LOG_FLUSH_MS).finally(() => {
        clearTimeout(deadline);
        exit(code);
      });
    };
    options.close().then(
      () => {
        logger.note('stopped');
        finish(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error, code: errorCode(error) }, 'failed to stop cleanly');
        finish(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
