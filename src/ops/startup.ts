// Start-up problems as one line the operator can act on: which key to change, which folder to create.
// cli.ts prints the line and exits with code 2, without a stack (a stack is for bugs, not for a busy port).
import { readFileSync, statSync } from 'node:fs';
import type { NimbusConfig } from '../config.ts';

/** What must exist before a server starts: the application folder and its www/. */
export function checkFolders(config: NimbusConfig): string | undefined {
  const { dir, www } = config.application;
  const where =
    config.source === null ? '--application.dir=FOLDER or [application] dir in nimbus.ini' : `[application] dir in ${config.source}`;
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) return `application.dir: folder "${dir}" does not exist (set ${where})`;
  if (!stat.isDirectory()) return `application.dir: "${dir}" is not a folder`;
  const wwwStat = statSync(www, { throwIfNoEntry: false });
  if (!wwwStat?.isDirectory())
    return `application.dir: no www/ folder in "${dir}" (create ${www} with a main.lua, or point application.dir elsewhere)`;
  const { ca } = config.cluster;
  if (ca !== '') {
    try {
      readFileSync(ca);
    } catch (error) {
      return `cluster.ca: cannot read "${ca}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
  }
  return undefined;
}

interface ListenError {
  code?: string;
  syscall?: string;
  port?: number;
  address?: string;
}

/**
 * The line for a socket that could not be opened, naming the key that chose its port; undefined for any other
 * error (a bug: the caller logs it with its stack). UDP (RTMFP) fails in bind, TCP servers in listen.
 */
export function describeListenError(error: unknown, config: NimbusConfig): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, syscall, port, address } = error as ListenError;
  const reasons: Record<string, string> = {
    EADDRINUSE: 'already in use by another process',
    EACCES: 'not allowed (ports below 1024 need privileges)',
    EADDRNOTAVAIL: 'address not available on this machine',
  };
  if (code === undefined || !(code in reasons) || (syscall !== 'bind' && syscall !== 'listen')) return undefined;
  const candidates: Array<[key: string, port: number, host: string, syscall: string]> = [
    ['RTMFP', config.rtmfp.port, config.rtmfp.host, 'bind'],
    ['RTMP', config.rtmp.port, config.rtmp.host, 'listen'],
    ['inspector', config.inspector.port, config.inspector.host, 'listen'],
  ];
  // sections added later ([HTTP], [servers]...) are found by their `port` key in the raw configuration
  for (const [section, keys] of Object.entries(config.raw)) {
    if (syscall === 'listen' && section !== 'RTMFP' && !candidates.some(([name]) => name === section) && Number(keys['port']) === port) {
      candidates.push([section, port, keys['host'] ?? '', 'listen']);
    }
  }
  const match = candidates.find(([, p, , call]) => p === port && call === syscall);
  const where = `${address ?? '?'}:${port ?? '?'}`;
  if (!match) return `port ${where}: ${reasons[code]}`;
  const [section, , host] = match;
  const key = code === 'EADDRNOTAVAIL' ? `${section}.host` : `${section}.port`;
  const value = code === 'EADDRNOTAVAIL' ? host : String(port);
  return `${key}: ${where} ${reasons[code]} (change ${key}, now ${value})`;
}
