// CPU time and RSS of any process by pid, read from /proc (Linux), so that the relay benchmark can measure a
// server it did not start — another Nimbus, MonaServer or CumulusServer — with the same clients.
import { readFileSync } from 'node:fs';
import type { ServerSnapshot } from './server-process.ts';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every common Linux build. */
const TICKS_PER_SECOND = 100;

export function procSnapshot(pid: number): ServerSnapshot {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the parenthesised command name, which may itself contain spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = (Number(fields[11]) / TICKS_PER_SECOND) * 1e6;
  const system = (Number(fields[12]) / TICKS_PER_SECOND) * 1e6;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  return {
    cpu: { user, system },
    memory: { rss, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 },
    sessions: 0,
    pendingKeyings: 0,
    stats: {},
    links: [],
    logLines: 0,
    logBytes: 0,
  };
}
