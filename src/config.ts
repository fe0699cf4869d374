// Configuration: an ini file in the MonaServer.ini layout (CumulusServer.ini's flat keys accepted),
// then `--SECTION.key=value` overrides from the command line, checked once at start-up.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parse as parseIni } from 'ini';
import { ConfigError } from './errors.ts';
import { LEVELS, type LevelName, type PrettyMode } from './log.ts';

export interface NimbusConfig {
  rtmfp: {
    host: string;
    port: number;
    keepAliveServer: number;
    keepAlivePeer: number;
    /** seconds of silence after which a client's session fails (onDisconnection runs) */
    timeout: number;
    publicAddress: string;
    maxSessions: number;
    maxHandshakes: number;
    /** sessions not yet connected (half-open) from one address, and in total */
    maxHalfOpenPerAddress: number;
    maxHalfOpen: number;
    /** startup packets (IHello, IIKeying) accepted per second from one address, before any crypto */
    startupPacketsPerSecond: number;
    /** AES implementation behind the PacketCipher seam for session packets */
    cipher: 'node' | 'noble';
  };
  /** RTMP over TCP (src/protocols/rtmp); port 0 disables it */
  rtmp: { host: string; port: number; timeout: number };
  /** HTTP and WebSocket on one TCP port (src/protocols/http); port 0 disables both */
  http: {
    host: string;
    port: number;
    /** folder requests: 'true' a listing, 'false' refused, else a file (or client method) name */
    index: string;
    /** seconds an idle keep-alive connection is kept */
    timeout: number;
    maxConnections: number;
    /** seconds a client may take to send its request headers (slowloris bound) */
    headersTimeout: number;
    /** bytes of a request body (POST) */
    maxBody: number;
  };
  websocket: { timeout: number; maxMessage: number };
  application: {
    dir: string;
    www: string;
    /** os.execute, io.popen, package.loadlib and os.exit allowed to scripts */
    unsafe: boolean;
    /** seconds one Lua event may run before it is aborted with "script timeout" (0: no limit) */
    scriptTimeout: number;
    /** megabytes of JavaScript heap the Lua scripts may grow it by before an allocation fails (0: no limit) */
    scriptMemory: number;
  };
  /** MonaServer's [logs]: files `<directory>/<name>.N` when directory is set, rotated past maxSize bytes, `rotation` of them kept */
  logs: { level: LevelName; pretty: PrettyMode; directory: string; name: string; rotation: number; maxSize: number };
  inspector: { enabled: boolean; host: string; port: number; token: string; stately: string };
  smtp: { host: string; port: number; timeout: number };
  /** cluster mode (src/cluster): off while `redis` is empty */
  cluster: {
    redis: string;
    name: string;
    region: string;
    /** PEM file of the CA that signed Redis's certificate (rediss://); empty: the system's CAs */
    ca: string;
  };
  /** The server link (src/servers/, docs/servers.md): MonaServer's multi-server framework */
  servers: {
    /** TCP port receiving server links; 0: none */
    port: number;
    /** servers to join: host:port?key=value;... */
    targets: ServerTargetConfig[];
    /** what an unconfigured server must present to link; '' for none */
    secret: string;
    /** top-level `host`: this server's public address given to clients on redirection ('' = the bound one) */
    publicHost: string;
  };
  /** The whole ini plus overrides, as strings, for `mona.configs`; known keys hold their effective value. */
  raw: Record<string, Record<string, string>>;
  /** Path of the ini file used, or null when none was. */
  source: string | null;
}

export interface ServerTargetConfig {
  host: string;
  port: number;
  /** the entry's query, in order: that link's properties */
  properties: Array<[string, string]>;
}

export interface LoadedConfig {
  config: NimbusConfig;
  warnings: string[];
  /** `--help` was given: the caller prints `usage()` and stops. */
  help: boolean;
  /** `--version` was given: the caller prints the version and stops. */
  version: boolean;
  /** `--check` was given: validate, compile every main.lua, report and stop (like `nginx -t`). */
  check: boolean;
}

/** Embedded defaults, by section as written in the ini file. docs/configuration.md explains each key. */
export const DEFAULTS = {
  RTMFP: {
    host: '0.0.0.0',
    port: 1935,
    keepAliveServer: 15,
    keepAlivePeer: 10,
    timeout: 20,
    publicAddress: '',
    maxSessions: 10000,
    maxHandshakes: 1000,
    maxHalfOpenPerAddress: 32,
    maxHalfOpen: 1024,
    // the default is STARTUP_PACKETS_PER_SECOND of src/protocols/rtmfp/params.ts (why 64 is told there)
    startupPacketsPerSecond: 64,
    cipher: 'node',
  },
  RTMP: { host: '0.0.0.0', port: 1935, timeout: 60 },
  HTTP: { host: '0.0.0.0', port: 80, index: 'true', timeout: 7, maxConnections: 10000, headersTimeout: 10, maxBody: 1048576 },
  WebSocket: { timeout: 80, maxMessage: 1048576 },
  application: { dir: '.', unsafe: false, scriptTimeout: 2, scriptMemory: 512 },
  logs: { level: 'info', pretty: 'auto', directory: '', name: 'log', rotation: 10, maxSize: 1000000 },
  inspector: { enabled: false, host: '127.0.0.1', port: 19350, token: '', stately: '' },
  smtp: { host: 'localhost', port: 25, timeout: 60 },
  cluster: { redis: '', name: '', region: '', ca: '' },
  servers: { port: 0, targets: '', secret: '' },
} as const;

type SectionName = keyof typeof DEFAULTS;
const SECTIONS = Object.keys(DEFAULTS) as SectionName[];

/** CumulusServer.ini keeps these at the top level; MonaServer.ini has them under [RTMFP]. */
const CUMULUS_FLAT_KEYS = ['port', 'keepAliveServer', 'keepAlivePeer', 'host'] as const;

/** The section holding top-level keys that belong to no section. */
const ROOT = '';

/** Top-level keys the command line accepts without a section (`--host=`). */
const TOP_LEVEL_KEYS = ['host'];

export function usage(): string {
  const sections = SECTIONS.map((section) => {
    const keys = Object.entries(DEFAULTS[section]).map(([key, value]) => `${key}=${String(value)}`);
    return `  [${section}]${' '.repeat(Math.max(1, 14 - section.length))}${keys.join(' ')}`;
  });
  return [
    'Usage: nimbus [--config FILE] [--SECTION.key=value ...] [--check] [--inspect] [--version] [--help]',
    '',
    '  --config FILE          ini file to read (default: ./nimbus.ini when present, or $NIMBUS_CONFIG)',
    '  --SECTION.key=value    override one key, e.g. --RTMFP.port=19350 --application.dir=/srv/nimbus',
    '  --check                check the configuration and compile every main.lua, then exit (0 when all is well, 2 if not)',
    '  --inspect[=WS_URL]     attach the Stately inspector (default ws://localhost:8080)',
    '  --version              print the version',
    '  --help                 print this text',
    '',
    'Signals: SIGTERM/SIGINT stop (a second one stops at once), SIGHUP reloads the ini file.',
    '',
    'Sections and their keys with their defaults:',
    ...sections,
    '',
    'Every key, its default and its meaning: docs/configuration.md',
  ].join('\n');
}

export function loadConfig(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  if (argv.includes('--help') || argv.includes('-h')) {
    return { config: build({}, new Set(), cwd, cwd, null), warnings, help: true, version: false, check: false };
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    return { config: build({}, new Set(), cwd, cwd, null), warnings, help: false, version: true, check: false };
  }
  const check = argv.includes('--check');
  const args = parseArgs(argv.filter((arg) => arg !== '--check'));

  const raw: Record<string, Record<string, string>> = {};
  let source: string | null = null;
  const fromArgv = new Set<string>();

  const file = args.config ?? (env['NIMBUS_CONFIG'] || undefined) ?? defaultFile(cwd);
  let lines = new Map<string, number>();
  if (file !== undefined) {
    source = resolve(cwd, file);
    const ini = readIni(source);
    lines = ini.lines;
    mergeIni(raw, ini.sections);
  }
  for (const [section, key, value] of args.overrides) {
    const canonical = sectionOf(raw, section);
    const name = keyOf(raw[canonical], canonical, key);
    raw[canonical]![name] = value;
    fromArgv.add(`${canonical}.${name}`);
  }
  warnings.push(...unknownNames(raw, lines, source));
  let config: NimbusConfig;
  try {
    config = build(raw, fromArgv, cwd, source === null ? cwd : dirname(source), source);
  } catch (error) {
    // a bad value from the file says where it is, so the operator goes straight to the line
    const line =
      error instanceof ConfigError && error.key !== undefined && !fromArgv.has(error.key) ? lines.get(error.key.toLowerCase()) : undefined;
    if (line === undefined || source === null || !(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${error.message} (${source}:${line})`, { key: error.key, cause: error });
  }
  if (config.inspector.enabled && config.inspector.token === '' && !isLoopback(config.inspector.host)) {
    warnings.push(`inspector.token: empty while the inspector listens on ${config.inspector.host}; anyone who reaches it can use it`);
  }
  return { config, warnings, help: false, version: false, check };
}

/**
 * Unknown keys of known sections, and unknown sections that look like a known one, with the nearest valid name.
 * Other sections are an application's own (read through mona.configs): they are kept silently.
 */
function unknownNames(raw: Record<string, Record<string, string>>, lines: Map<string, number>, source: string | null): string[] {
  const warnings: string[] = [];
  const where = (name: string): string => {
    const line = lines.get(name.toLowerCase());
    return line !== undefined && source !== null ? ` (${source}:${line})` : '';
  };
  for (const section of SECTIONS) {
    const known = Object.keys(DEFAULTS[section]);
    for (const key of Object.keys(raw[section] ?? {})) {
      if (known.includes(key)) continue;
      const near = nearest(key, known);
      const hint = near === undefined ? '' : ` (did you mean ${section}.${near}?)`;
      warnings.push(`${section}.${key}: unknown key${hint}, kept for mona.configs${where(`${section}.${key}`)}`);
    }
  }
  for (const section of Object.keys(raw)) {
    if (section === ROOT || (SECTIONS as string[]).includes(section)) continue;
    const near = nearest(section, SECTIONS);
    if (near !== undefined)
      warnings.push(`[${section}]: unknown section (did you mean [${near}]?), kept for mona.configs${where(`[${section}]`)}`);
  }
  return warnings;
}

/** The candidate closest to `name` (case ignored) when it is a plausible typo: at most 2 edits, or a prefix. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    const distance = other.startsWith(lower) && lower.length >= 3 ? 1 : editDistance(lower, other);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.min(2, Math.floor(name.length / 2)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

interface Args {
  config: string | undefined;
  overrides: Array<[section: string, key: string, value: string]>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { config: undefined, overrides: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--inspect' || arg.startsWith('--inspect=')) {
      // the Stately inspector (a WebSocket client of @statelyai/inspect's receiver); the built-in one is [inspector] enabled
      args.overrides.push(['inspector', 'stately', arg.includes('=') ? arg.slice('--inspect='.length) : 'ws://localhost:8080']);
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(`${arg}: unexpected argument (see --help)`, { key: arg });
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`${name}: missing value`, { key: name });
      value = next;
      i++;
    }
    if (name === 'config') {
      args.config = value;
      continue;
    }
    const dot = name.indexOf('.');
    if (dot < 0 && TOP_LEVEL_KEYS.includes(name)) {
      // a top-level key of the ini (MonaServer's `host`)
      args.overrides.push([ROOT, name, value]);
      continue;
    }
    if (dot <= 0 || dot === name.length - 1) throw new ConfigError(`--${name}: unknown option (see --help)`, { key: name });
    args.overrides.push([name.slice(0, dot), name.slice(dot + 1), value]);
  }
  return args;
}

function defaultFile(cwd: string): string | undefined {
  const path = resolve(cwd, 'nimbus.ini');
  return existsSync(path) ? path : undefined;
}

interface IniFile {
  sections: Record<string, Record<string, string>>;
  /** line of each `section.key` and `[section]`, lower case, for messages */
  lines: Map<string, number>;
}

function readIni(path: string): IniFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ConfigError(`config: cannot read "${path}" (${reason})`, { key: 'config', cause: error });
  }
  const lines = checkIniLines(path, text);
  const sections: Record<string, Record<string, string>> = {};
  flatten(parseIni(text), '', sections);
  return { sections, lines };
}

/**
 * The ini package accepts anything; a line that is neither a comment, a `[section]` nor `key=value` is an error
 * naming the file and the line. Returns where each key was written.
 */
function checkIniLines(path: string, text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let section = ROOT;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    if (line.startsWith('[')) {
      const match = /^\[([^\]]+)\]\s*([;#].*)?$/.exec(line);
      if (!match) throw new ConfigError(`${path}:${number}: expected "[section]", got "${clipText(line)}"`, { key: 'config' });
      section = match[1]!.trim();
      const canonical = SECTIONS.find((known) => known.toLowerCase() === section.toLowerCase()) ?? section;
      if (!lines.has(`[${canonical.toLowerCase()}]`)) lines.set(`[${canonical.toLowerCase()}]`, number);
      section = canonical;
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${path}:${number}: expected "key=value", got "${clipText(line)}"`, { key: 'config' });
    const key = line.slice(0, eq).trim();
    const flat = section === ROOT && (CUMULUS_FLAT_KEYS as readonly string[]).some((name) => name.toLowerCase() === key.toLowerCase());
    lines.set(`${flat ? 'rtmfp' : section.toLowerCase()}.${key.toLowerCase()}`, number);
  });
  return lines;
}

function clipText(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** The ini package nests `[a.b]` under a; mona.configs wants the section named "a.b" again. */
function flatten(node: Record<string, unknown>, prefix: string, out: Record<string, Record<string, string>>): void {
  for (const [key, value] of Object.entries(node)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      flatten(value as Record<string, unknown>, prefix === '' ? key : `${prefix}.${key}`, out);
    } else {
      ownSection(out, prefix)[key] = Array.isArray(value) ? value.map(String).join(',') : String(value);
    }
  }
}

function mergeIni(raw: Record<string, Record<string, string>>, ini: Record<string, Record<string, string>>): void {
  for (const [section, keys] of Object.entries(ini)) {
    if (section === ROOT) continue;
    const canonical = sectionOf(raw, section);
    for (const [key, value] of Object.entries(keys)) raw[canonical]![keyOf(raw[canonical], canonical, key)] = value;
  }
  // A section, more specific, wins over the same key left at the top level by a CumulusServer.ini.
  for (const [key, value] of Object.entries(ini[ROOT] ?? {})) {
    const flat = CUMULUS_FLAT_KEYS.find((name) => name.toLowerCase() === key.toLowerCase());
    const dotted = /^servers\.(port|targets|secret)$/i.exec(key);
    if (dotted) {
      // `servers.port = 1936` written flat, outside any section
      const servers = ownSection(raw, 'servers');
      servers[dotted[1]!.toLowerCase()] ??= value;
    } else if (flat === undefined) {
      ownSection(raw, ROOT)[key] = value;
    } else {
      // top-level `host` is also MonaServer's public address for redirections (docs/servers.md)
      if (flat === 'host') ownSection(raw, ROOT)[key] = value;
      // (as the RTMFP bind host only when it is a bare host: `host = www.myhost.com:1935` is a public address)
      const bare = flat !== 'host' || isIP(value.trim()) !== 0 || HOST_NAME.test(value.trim());
      if (bare) ownSection(raw, 'RTMFP')[flat] ??= value;
    }
  }
}

/** Section names match whatever their case: the known ones take their documented spelling. */
function sectionOf(raw: Record<string, Record<string, string>>, section: string): string {
  const lower = section.toLowerCase();
  const name =
    SECTIONS.find((known) => known.toLowerCase() === lower) ?? Object.keys(raw).find((seen) => seen.toLowerCase() === lower) ?? section;
  ownSection(raw, name);
  return name;
}

/** Names come from the command line and the file: none may reach Object.prototype. */
function ownSection(raw: Record<string, Record<string, string>>, name: string): Record<string, string> {
  if (name === '__proto__') throw new ConfigError(`${name}: not a usable section name`, { key: name });
  if (!Object.hasOwn(raw, name)) raw[name] = {};
  return raw[name]!;
}

/** Known keys match whatever their case, so `keepaliveserver` still counts. */
function keyOf(keys: Record<string, string> | undefined, section: string, key: string): string {
  if (key === '__proto__') throw new ConfigError(`${section}.${key}: not a usable key name`, { key: `${section}.${key}` });
  const lower = key.toLowerCase();
  const known = (SECTIONS as string[]).includes(section) ? Object.keys(DEFAULTS[section as SectionName]) : [];
  return known.find((name) => name.toLowerCase() === lower) ?? Object.keys(keys ?? {}).find((name) => name.toLowerCase() === lower) ?? key;
}

function build(
  raw: Record<string, Record<string, string>>,
  fromArgv: Set<string>,
  cwd: string,
  iniDir: string,
  source: string | null,
): NimbusConfig {
  const get = <S extends SectionName, K extends keyof (typeof DEFAULTS)[S] & string, T>(
    section: S,
    key: K,
    parse: (text: string, name: string) => T,
  ): T => {
    const text = raw[section]?.[key];
    const fallback = String(DEFAULTS[section][key]);
    return parse(text === undefined ? fallback : text.trim(), `${section}.${key}`);
  };
  const dirText = get('application', 'dir', anyText);
  const dir = resolve(fromArgv.has('application.dir') ? cwd : iniDir, dirText === '' ? '.' : dirText);
  const config: NimbusConfig = {
    rtmfp: {
      host: get('RTMFP', 'host', hostName),
      port: get('RTMFP', 'port', port(true)),
      keepAliveServer: get('RTMFP', 'keepAliveServer', integer(5, 3600, ' (seconds)')),
      keepAlivePeer: get('RTMFP', 'keepAlivePeer', integer(5, 3600, ' (seconds)')),
      timeout: get('RTMFP', 'timeout', integer(1, 3600, ' (seconds)')),
      publicAddress: get('RTMFP', 'publicAddress', publicAddress),
      maxSessions: get('RTMFP', 'maxSessions', integer(1, 1_000_000)),
      maxHandshakes: get('RTMFP', 'maxHandshakes', integer(1, 1_000_000)),
      maxHalfOpenPerAddress: get('RTMFP', 'maxHalfOpenPerAddress', integer(1, 1_000_000)),
      maxHalfOpen: get('RTMFP', 'maxHalfOpen', integer(1, 1_000_000)),
      startupPacketsPerSecond: get('RTMFP', 'startupPacketsPerSecond', integer(1, 1_000_000)),
      cipher: get('RTMFP', 'cipher', cipherImpl),
    },
    rtmp: {
      host: get('RTMP', 'host', hostName),
      // 0 disables RTMP (MonaServer's meaning), so unlike RTMFP it never asks for an ephemeral port
      port: get('RTMP', 'port', port(true)),
      timeout: get('RTMP', 'timeout', integer(1, 86_400, ' (seconds)')),
    },
    http: {
      host: get('HTTP', 'host', hostName),
      // 0 disables HTTP and WebSocket (MonaServer's meaning), never an ephemeral port
      port: get('HTTP', 'port', port(true)),
      index: get('HTTP', 'index', anyText),
      timeout: get('HTTP', 'timeout', integer(1, 86_400, ' (seconds)')),
      maxConnections: get('HTTP', 'maxConnections', integer(1, 1_000_000)),
      headersTimeout: get('HTTP', 'headersTimeout', integer(1, 3600, ' (seconds)')),
      maxBody: get('HTTP', 'maxBody', integer(0, 1024 * 1024 * 1024, ' (bytes)')),
    },
    websocket: {
      timeout: get('WebSocket', 'timeout', integer(1, 86_400, ' (seconds)')),
      maxMessage: get('WebSocket', 'maxMessage', integer(1, 1024 * 1024 * 1024, ' (bytes)')),
    },
    application: {
      dir,
      www: resolve(dir, 'www'),
      unsafe: get('application', 'unsafe', boolean),
      scriptTimeout: get('application', 'scriptTimeout', decimal(0, 3600, ' (seconds, 0 for no limit)')),
      scriptMemory: get('application', 'scriptMemory', integer(0, 1_000_000, ' (megabytes, 0 for no limit)')),
    },
    logs: {
      level: get('logs', 'level', logLevel),
      pretty: get('logs', 'pretty', prettyMode),
      directory: get('logs', 'directory', anyText),
      name: get('logs', 'name', fileName),
      rotation: get('logs', 'rotation', integer(0, 1000, ' (files kept besides the current one)')),
      maxSize: get('logs', 'maxSize', integer(1024, 1_000_000_000_000, ' (bytes)')),
    },
    inspector: {
      enabled: get('inspector', 'enabled', boolean),
      host: get('inspector', 'host', hostName),
      port: get('inspector', 'port', port(true)),
      token: get('inspector', 'token', anyText),
      stately: get('inspector', 'stately', anyText),
    },
    smtp: {
      host: get('smtp', 'host', anyText),
      port: get('smtp', 'port', port(false)),
      timeout: get('smtp', 'timeout', integer(1, 3600, ' (seconds)')),
    },
    cluster: {
      redis: get('cluster', 'redis', redisUrl),
      name: get('cluster', 'name', anyText),
      region: get('cluster', 'region', anyText),
      ca: get('cluster', 'ca', anyText),
    },
    servers: {
      port: get('servers', 'port', port(true)),
      targets: get('servers', 'targets', serverTargets),
      secret: get('servers', 'secret', anyText),
      publicHost: publicAddress((raw[ROOT]?.['host'] ?? '').trim(), 'host'),
    },
    raw,
    source,
  };
  const effective: Record<SectionName, Record<string, string | number | boolean>> = {
    RTMFP: config.rtmfp,
    RTMP: config.rtmp,
    HTTP: config.http,
    WebSocket: config.websocket,
    application: {
      dir: config.application.dir,
      unsafe: config.application.unsafe,
      scriptTimeout: config.application.scriptTimeout,
      scriptMemory: config.application.scriptMemory,
    },
    logs: config.logs,
    inspector: config.inspector,
    smtp: config.smtp,
    cluster: config.cluster,
    servers: { port: config.servers.port, targets: raw['servers']?.['targets'] ?? '', secret: config.servers.secret },
  };
  for (const section of SECTIONS) {
    const keys = (raw[section] ??= {});
    for (const key of Object.keys(DEFAULTS[section])) keys[key] = String(effective[section][key]);
  }
  return config;
}

// Value parsers: each names the key in its error, since that is what the user has to fix.

function anyText(text: string): string {
  return text;
}

function integer(min: number, max: number, unit = ''): (text: string, name: string) => number {
  return (text, name) => {
    const value = /^\+?\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max))
      throw new ConfigError(`${name}: expected an integer ${min}-${max}${unit}, got "${text}"`, { key: name });
    return value;
  };
}

function decimal(min: number, max: number, unit = ''): (text: string, name: string) => number {
  return (text, name) => {
    const value = /^\+?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max))
      throw new ConfigError(`${name}: expected a number ${min}-${max}${unit}, got "${text}"`, { key: name });
    return value;
  };
}

/** 0 asks the system for an ephemeral port, which tests rely on; the message keeps to the useful range. */
function port(allowEphemeral: boolean): (text: string, name: string) => number {
  const check = integer(allowEphemeral ? 0 : 1, 65535);
  return (text, name) => {
    try {
      return check(text, name);
    } catch {
      throw new ConfigError(`${name}: expected an integer 1-65535, got "${text}"`, { key: name });
    }
  };
}

/** A file name without a folder: logs go under [logs] directory. */
function fileName(text: string, name: string): string {
  if (text !== '' && !/[/\\\0]/.test(text) && text !== '.' && text !== '..') return text;
  throw new ConfigError(`${name}: expected a file name without "/", got "${text}"`, { key: name });
}

function boolean(text: string, name: string): boolean {
  const lower = text.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(lower)) return true;
  if (['false', 'no', 'off', '0', ''].includes(lower)) return false;
  throw new ConfigError(`${name}: expected true or false, got "${text}"`, { key: name });
}

function cipherImpl(text: string, name: string): 'node' | 'noble' {
  const lower = text.toLowerCase();
  if (lower === 'node' || lower === 'noble') return lower;
  throw new ConfigError(`${name}: expected node or noble, got "${text}"`, { key: name });
}

function prettyMode(text: string, name: string): PrettyMode {
  if (text.toLowerCase() === 'auto') return 'auto';
  try {
    return boolean(text, name) ? 'true' : 'false';
  } catch {
    throw new ConfigError(`${name}: expected auto, true or false, got "${text}"`, { key: name });
  }
}

/** MonaServer names its levels after Poco's priorities, 1 (fatal) to 8 (trace); both spellings work. */
const LEVEL_ALIASES: Record<string, LevelName> = {
  '1': 'fatal',
  '2': 'critic',
  '3': 'error',
  '4': 'warn',
  '5': 'note',
  '6': 'info',
  '7': 'debug',
  '8': 'trace',
  critical: 'critic',
  warning: 'warn',
  notice: 'note',
  information: 'info',
};

function logLevel(text: string, name: string): LevelName {
  const lower = text.toLowerCase();
  if (Object.hasOwn(LEVELS, lower)) return lower as LevelName;
  if (Object.hasOwn(LEVEL_ALIASES, lower)) return LEVEL_ALIASES[lower]!;
  throw new ConfigError(`${name}: expected one of ${Object.keys(LEVELS).join(', ')}, got "${text}"`, { key: name });
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function hostName(text: string, name: string): string {
  if (isIP(text) !== 0 || HOST_NAME.test(text)) return text;
  throw new ConfigError(`${name}: expected an IP address or a host name, got "${text}"`, { key: name });
}

/** '' (derived from the bound socket), host, host:port, IPv6 or [IPv6]:port. */
function publicAddress(text: string, name: string): string {
  if (text === '' || isIP(text) !== 0 || HOST_NAME.test(text)) return text;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const colon = text.lastIndexOf(':');
  const host = bracketed ? bracketed[1]! : text.slice(0, colon);
  const portText = bracketed ? bracketed[2]! : text.slice(colon + 1);
  const hostOk = bracketed ? isIP(host) === 6 : colon > 0 && (isIP(host) === 4 || HOST_NAME.test(host));
  const portValue = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (hostOk && portValue >= 1 && portValue <= 65535) return text;
  throw new ConfigError(`${name}: expected host or host:port, got "${text}"`, { key: name });
}

/** '' (no cluster) or redis://, rediss:// (TLS) with optional user:password@ and /db. */
function redisUrl(text: string, name: string): string {
  if (text === '') return text;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '') return text;
  throw new ConfigError(`${name}: expected redis://host:port or rediss://host:port, got "${text}"`, { key: name });
}

/** `host:port[?key=value&...]` entries separated by ';' (MonaServer), empty ones skipped. */
function serverTargets(text: string, name: string): ServerTargetConfig[] {
  const out: ServerTargetConfig[] = [];
  for (const entry of text.split(';')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const q = trimmed.indexOf('?');
    const address = q < 0 ? trimmed : trimmed.slice(0, q);
    const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(address);
    const host = m ? m[1]!.replace(/^\[|\]$/g, '') : '';
    const portValue = m ? Number(m[2]) : NaN;
    if (!m || !(portValue >= 1 && portValue <= 65535) || (isIP(host) === 0 && !HOST_NAME.test(host))) {
      throw new ConfigError(`${name}: expected host:port[?key=value&...] entries separated by ';', got "${trimmed}"`, { key: name });
    }
    const properties: Array<[string, string]> = [];
    if (q >= 0) for (const [k, v] of new URLSearchParams(trimmed.slice(q + 1))) properties.push([k, v]);
    out.push({ host, port: portValue, properties });
  }
  return out;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
