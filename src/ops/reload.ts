// SIGHUP: the ini file read again. What the server reads afresh for each new session or line changes at once
// (log level, keep-alives, session limits, RTMP timeout); any other change is reported as waiting for a
// restart, and a file that no longer loads is reported while the server keeps its current configuration.
import { DEFAULTS, type LoadedConfig, type NimbusConfig } from '../config.ts';
import type { Logger } from '../log.ts';

/** Keys applied live, with how: each is read by the server when it next needs it (new session, next log line). */
const LIVE: Record<string, (config: NimbusConfig, next: NimbusConfig, logger: Logger) => void> = {
  'logs.level': (config, next, logger) => {
    config.logs.level = next.logs.level;
    logger.level = next.logs.level; // child loggers that never set their own level follow the root's
  },
  'RTMFP.keepAliveServer': (config, next) => void (config.rtmfp.keepAliveServer = next.rtmfp.keepAliveServer),
  'RTMFP.keepAlivePeer': (config, next) => void (config.rtmfp.keepAlivePeer = next.rtmfp.keepAlivePeer),
  'RTMFP.maxSessions': (config, next) => void (config.rtmfp.maxSessions = next.rtmfp.maxSessions),
  'RTMP.timeout': (config, next) => void (config.rtmp.timeout = next.rtmp.timeout),
};

export const LIVE_KEYS: readonly string[] = Object.keys(LIVE);

export interface ReloadResult {
  /** keys changed live, as "key: old → new" */
  applied: string[];
  /** keys whose change waits for a restart */
  restart: string[];
}

/** Applies `next` onto the running `config` (mutated in place: the server holds that object). */
export function applyReload(config: NimbusConfig, next: NimbusConfig, logger: Logger): ReloadResult {
  const applied: string[] = [];
  const restart: string[] = [];
  for (const [section, keys] of Object.entries(DEFAULTS)) {
    for (const key of Object.keys(keys)) {
      const before = config.raw[section]?.[key];
      const after = next.raw[section]?.[key];
      if (before === after) continue;
      const name = `${section}.${key}`;
      const apply = LIVE[name];
      if (apply) {
        apply(config, next, logger);
        config.raw[section]![key] = after ?? '';
        applied.push(`${name}: ${before ?? ''} → ${after ?? ''}`);
      } else {
        restart.push(name);
      }
    }
  }
  return { applied, restart };
}

/** The SIGHUP handler: reload with `load` (the start-up arguments again), apply, and say what happened. */
export function reloadOnHangup(config: NimbusConfig, load: () => LoadedConfig, logger: Logger): () => void {
  const reload = (): void => {
    let loaded: LoadedConfig;
    try {
      loaded = load();
    } catch (error) {
      logger.error({ err: (error as Error).message }, `configuration not reloaded: ${(error as Error).message}`);
      return;
    }
    for (const warning of loaded.warnings) logger.warn(warning);
    const { applied, restart } = applyReload(config, loaded.config, logger);
    logger.note(
      { source: config.source ?? 'built-in defaults', applied, restart },
      applied.length === 0 && restart.length === 0
        ? 'configuration reloaded: nothing changed'
        : `configuration reloaded: ${applied.length} key(s) applied${restart.length ? `, ${restart.join(', ')} need a restart` : ''}`,
    );
  };
  process.on('SIGHUP', reload);
  return () => process.off('SIGHUP', reload);
}
