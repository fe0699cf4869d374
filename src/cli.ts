// Entry point (`npm start`): the process around a Nimbus server (src/nimbus.ts composes its parts):
// configuration, logs, exit codes, a stop that always stops (SIGINT/SIGTERM) and reload on SIGHUP.
// The pieces live in src/ops/; this file only orders them.
import './ops/young-generation.ts'; // first: bounds V8's young generation before anything allocates
import { resumeOptimisation } from './ops/startup-tiering.ts'; // second: no TurboFan for code that runs once
import { readFileSync, writeSync } from 'node:fs';
import { loadConfig, usage, type LoadedConfig } from './config.ts';
import { ConfigError, errorCode } from './errors.ts';
import type { Logger } from './log.ts';
import { Nimbus } from './nimbus.ts';
import { setInspectionSink } from './actors/observe.ts';
import { checkScripts } from './app/check.ts';
import { openLogOutputs, type LogOutputs } from './ops/log-output.ts';
import { checkFolders, describeListenError } from './ops/startup.ts';
import { stopOnSignals } from './ops/stop.ts';
import { reloadOnHangup } from './ops/reload.ts';

/** Exit codes: 0 stopped on request, 1 failure or forced stop, 2 bad configuration (or a failed --check). */
const EXIT_BAD_CONFIG = 2;

/** One line to stderr, never blocking forever and never throwing (stderr may be a closed pipe too). */
function say(line: string, fd = 2): void {
  try {
    writeSync(fd, `${line}\n`);
  } catch {
    // nobody is reading: the exit code still tells
  }
}

function fail(line: string): never {
  say(line);
  process.exit(EXIT_BAD_CONFIG);
}

function configure(argv: string[]): LoadedConfig {
  try {
    return loadConfig(argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fail(error.message);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `nimbus ${pkg.version} (node ${process.versions.node})`;
}

/** `--check`: configuration loaded (done by now), folders there, every main.lua compiles; like `nginx -t`. */
function check(loaded: LoadedConfig): never {
  const { config, warnings } = loaded;
  for (const warning of warnings) say(`nimbus: warning: ${warning}`, 1);
  say(`nimbus: configuration ${config.source ?? '(built-in defaults)'} is ok`, 1);
  const folders = checkFolders(config);
  if (folders) fail(`nimbus: ${folders}\nnimbus: configuration test failed`);
  const scripts = checkScripts(config.application.www);
  let failed = 0;
  for (const script of scripts) {
    if (script.error === undefined) say(`nimbus: ${script.file} compiles`, 1);
    else {
      failed++;
      say(`nimbus: ${script.error}`);
    }
  }
  if (failed > 0) fail(`nimbus: configuration test failed (${failed} of ${scripts.length} main.lua do not compile)`);
  say(`nimbus: configuration test successful (${scripts.length} main.lua)`, 1);
  process.exit(0);
}

/** Every actor created from now on reports to the Stately inspector at `url`. */
async function attachStatelyInspector(url: string, logger: Logger): Promise<void> {
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url });
  setInspectionSink((event) => inspector.inspect.next?.(event));
  logger.note({ url }, 'actors report to the Stately inspector');
}

async function openLogs(loaded: LoadedConfig): Promise<LogOutputs> {
  const { config } = loaded;
  try {
    return await openLogOutputs(config.logs, config.application.dir, undefined, (error) => say(`nimbus: log file: ${error.message}`));
  } catch (error) {
    fail(`logs.directory: cannot write log files under "${config.logs.directory}" (${errorCode(error) ?? (error as Error).message})`);
  }
}

async function main(argv: string[]): Promise<void> {
  const loaded = configure(argv);
  if (loaded.help) return say(usage(), 1);
  if (loaded.version) return say(version(), 1);
  if (loaded.check) check(loaded);
  const { config, warnings } = loaded;
  const folders = checkFolders(config);
  if (folders) fail(folders);

  const logs = await openLogs(loaded);
  const logger = logs.logger;
  for (const warning of warnings) logger.warn(warning);
  logger.info({ config: config.source ?? 'built-in defaults', www: config.application.www, logs: logs.filesBase }, 'configuration loaded');

  // A forgotten promise in one script or session must not take every other session down.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason, code: errorCode(reason) }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error: Error) => {
    logger.fatal({ err: error, code: errorCode(error) }, 'uncaught exception');
    void logs.flush(1_000).finally(() => process.exit(1));
  });

  if (config.inspector.stately) await attachStatelyInspector(config.inspector.stately, logger);
  const server = new Nimbus({ config, logger });
  stopOnSignals({ close: () => server.close(), logger, flush: (ms) => logs.flush(ms) });
  reloadOnHangup(config, () => loadConfig(argv), logger);
  try {
    await server.start();
  } catch (error) {
    const line = describeListenError(error, config);
    if (line === undefined) {
      logger.fatal({ err: error, code: errorCode(error) }, 'cannot start');
      await logs.flush(1_000);
      process.exit(1);
    }
    logger.fatal(line);
    await logs.flush(1_000);
    fail(line);
  }
  const { address, port } = server.rtmfp.address;
  logger.note({ address, port }, `RTMFP server listening on ${address}:${port} (UDP)`);
  if (server.rtmp) {
    const rtmp = server.rtmp.address;
    logger.note({ address: rtmp.address, port: rtmp.port }, `RTMP server listening on ${rtmp.address}:${rtmp.port} (TCP)`);
  }
  resumeOptimisation();
}

await main(process.argv.slice(2));
