// Server heap per idle session: 1,000 Flash sessions (--sessions=N) opened and left idle, the server's heap
// and RSS (after a full gc in its own process) compared before and after; then how long one more client takes
// to connect (handshake and connect round trip) while they stay. Run: node --import tsx bench/idle-sessions.ts
import { NetConnection } from '../src/client/index.ts';
import { startServerProcess } from './lib/server-process.ts';
import { MB, round, seconds } from './lib/measure.ts';

const SESSIONS = Number(process.argv.find((a) => a.startsWith('--sessions='))?.slice('--sessions='.length) ?? '1000');
const PARALLEL = 25;

/** On a loaded machine a handshake can outlast the client's timeout: try again rather than abort the run. */
async function connectPatiently(url: string): Promise<NetConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await NetConnection.connect(url, { style: 'flash', timeoutMs: 30_000 });
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

// maxSessions (default 10,000) above the sessions opened here, so the run measures memory, not the cap
const server = await startServerProcess([`--RTMFP.maxSessions=${SESSIONS + 100}`]);
const connections: NetConnection[] = [];
let output: Record<string, unknown>;
try {
  // one session first, so that lazily loaded code and first-use caches do not count as per-session cost
  connections.push(await NetConnection.connect(server.url(), { style: 'flash' }));
  const before = await server.gcSnapshot();
  const start = process.hrtime.bigint();
  while (connections.length < SESSIONS + 1) {
    const batch = Math.min(PARALLEL, SESSIONS + 1 - connections.length);
    connections.push(...(await Promise.all(Array.from({ length: batch }, () => connectPatiently(server.url())))));
  }
  const openSeconds = seconds(start);
  const after = await server.gcSnapshot();
  const opened = after.sessions - before.sessions;
  // a new client among them: the median of 5 connects (the server's event loop still answers promptly)
  const connectMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    connections.push(await NetConnection.connect(server.url(), { style: 'flash' }));
    connectMs.push(seconds(t) * 1000);
  }
  connectMs.sort((a, b) => a - b);
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
    newConnectMsMedian: round(connectMs[2]!),
    serverRssAfterMB: round(after.memory.rss / MB),
  };
} finally {
  for (const nc of connections) nc.destroy();
  await server.stop();
}
console.log(JSON.stringify(output));
