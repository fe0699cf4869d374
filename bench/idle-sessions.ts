// Server heap per idle session: 1,000 Flash sessions opened and left idle, the server's heap (after a full
// gc in its own process) compared before and after. Run: node --import tsx bench/idle-sessions.ts.
import { NetConnection } from '../src/client/index.ts';
import { startServerProcess } from './lib/server-process.ts';
import { MB, round, seconds } from './lib/measure.ts';

const SESSIONS = 1_000;
const PARALLEL = 25;

const server = await startServerProcess();
const connections: NetConnection[] = [];
let output: Record<string, unknown>;
try {
  // one session first, so that lazily loaded code and first-use caches do not count as per-session cost
  connections.push(await NetConnection.connect(server.url(), { style: 'flash' }));
  const before = await server.gcSnapshot();
  const start = process.hrtime.bigint();
  while (connections.length < SESSIONS + 1) {
    const batch = Math.min(PARALLEL, SESSIONS + 1 - connections.length);
    connections.push(...(await Promise.all(Array.from({ length: batch }, () => NetConnection.connect(server.url(), { style: 'flash' })))));
  }
  const openSeconds = seconds(start);
  const after = await server.gcSnapshot();
  const opened = after.sessions - before.sessions;
  output = {
    bench: 'idle-sessions',
    sessions: opened,
    openSeconds: round(openSeconds),
    heapBytesPerSession: Math.round((after.memory.heapUsed - before.memory.heapUsed) / opened),
    externalBytesPerSession: Math.round((after.memory.external - before.memory.external) / opened),
    rssBytesPerSession: Math.round((after.memory.rss - before.memory.rss) / opened),
    heapBeforeMB: round(before.memory.heapUsed / MB),
    heapAfterMB: round(after.memory.heapUsed / MB),
    pendingKeyings: after.pendingKeyings,
  };
} finally {
  for (const nc of connections) nc.destroy();
  await server.stop();
}
console.log(JSON.stringify(output));
