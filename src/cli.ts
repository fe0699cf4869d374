// Entry point (`npm start`): the process around a Nimbus server (src/nimbus.ts composes its parts):
// configuration, logger, exit codes, and a clean stop on SIGINT/SIGTERM.
import { loadConfig, usage, type LoadedConfig } from './config.ts';
import { ConfigError, errorCode } from './errors.ts';
import { createLogger, type Logger } from './log.ts';
import { Nimbus } from './nimbus.ts';
import { setInspectionSink } from './actors/observe.ts';

/** Exit codes: 0 stopped on request, 1 failure or forced stop, 2 bad configuration. */
const EXIT_BAD_CONFIG = 2;

function configure(argv: string[]): LoadedConfig {
  try {
    return loadConfig(argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_BAD_CONFIG);
  }
}

function stopOnSignals(server: Nimbus, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // a second signal means the operator no longer wants to wait for a clean close
      logger.warn({ signal }, 'forced stop');
      process.exit(1);
    }
    stopping = true;
    logger.note({ signal }, 'stopping');
    server.close().then(
      () => {
        logger.note('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error, code: errorCode(error) }, 'failed to stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Every actor created from now on reports to the Stately inspector at `url`. */
async function attachStatelyInspector(url: string, logger: Logger): Promise<void> {
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url });
  setInspectionSink((event) => inspector.inspect.next?.(event));
  logger.note({ url }, 'actors report to the Stately inspector');
}

async function main(argv: string[]): Promise<void> {
  const { config, warnings, help } = configure(argv);
  if (help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const logger = createLogger({ level: config.logs.level, pretty: config.logs.pretty });
  for (const warning of warnings) logger.warn(warning);
  logger.info({ config: config.source ?? 'built-in defaults', www: config.application.www }, 'configuration loaded');

  // A forgotten promise in one script or session must not take every other session down.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason, code: errorCode(reason) }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error: Error) => {
    logger.fatal({ err: error, code: errorCode(error) }, 'uncaught exception');
    process.exit(1);
  });

  if (config.inspector.stately) await attachStatelyInspector(config.inspector.stately, logger);
  const server = new Nimbus({ config, logger });
  stopOnSignals(server, logger);
  try {
    await server.start();
  } catch (error) {
    logger.fatal({ err: error, code: errorCode(error) }, 'cannot start');
    process.exit(1);
  }
  const { address, port } = server.rtmfp.address;
  logger.note({ address, port }, `RTMFP server listening on ${address}:${port} (UDP)`);
}

await main(process.argv.slice(2));
