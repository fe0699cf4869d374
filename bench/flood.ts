// 20,000 IHellos (--ihellos=N) with fresh tags from 4 sockets against a server in its own process: its RSS and
// heap growth (goal ≤ 20 MB), the growth after the first 20,000 (flat is the goal), what it kept, and whether a
// client then connects. Run: node --import tsx bench/flood.ts [--ihellos=240000].
import { NetConnection } from '../src/client/index.ts';
import { floodIHellos } from '../test/helpers/flood.ts';
import { startServerProcess } from './lib/server-process.ts';
import { MB, cpuMs, round, seconds } from './lib/measure.ts';

const IHELLOS = Number(process.argv.find((a) => a.startsWith('--ihellos='))?.slice('--ihellos='.length) ?? '20000');
const GOAL_MB = 20;
const FIRST = 20_000;

// the per-address startup budget is lifted: this bench measures what each IHello handled costs
// (bench/attack.ts measures the budget, from another address than the probe's)
const server = await startServerProcess(['--RTMFP.startupPacketsPerSecond=1000000']);
let output: Record<string, unknown>;
try {
  // one handshake first, so that the cost of loading the handshake code is not counted as flood growth
  await (await NetConnection.connect(server.url(), { style: 'flash' })).close();
  const before = await server.gcSnapshot();
  const start = process.hrtime.bigint();
  // in two phases when more than 20,000: the RSS after the first 20,000 is the plateau the rest must keep
  const first = Math.min(IHELLOS, FIRST);
  const flood = await floodIHellos(server.port, { count: first, sockets: 4 });
  const atFirst = await server.snapshot();
  if (IHELLOS > first) {
    const rest = await floodIHellos(server.port, { count: IHELLOS - first, sockets: 4 });
    flood.sent += rest.sent;
    flood.answered += rest.answered;
  }
  const floodSeconds = seconds(start);
  const peak = await server.snapshot();
  const collected = await server.gcSnapshot();
  const nc = await NetConnection.connect(server.url(), { style: 'flash', timeoutMs: 10_000 }).catch(() => null);
  const clientConnected = nc !== null && typeof (await nc.createStream()) === 'number';
  await nc?.close();
  const rssGrowthMB = round((peak.memory.rss - before.memory.rss) / MB);
  output = {
    bench: 'flood',
    sent: flood.sent,
    // a Nimbus child always reports handshakes; NaN would show a snapshot without them
    received: (peak.stats.handshakes ?? NaN) - (before.stats.handshakes ?? NaN),
    answered: flood.answered,
    perSecond: Math.round(flood.sent / floodSeconds),
    serverCpuUsPerIHello: round((cpuMs(before, peak) * 1000) / flood.sent, 1),
    rssGrowthMB,
    heapGrowthMB: round((peak.memory.heapUsed - before.memory.heapUsed) / MB),
    heapGrowthAfterGcMB: round((collected.memory.heapUsed - before.memory.heapUsed) / MB),
    rssGrowthAfterGcMB: round((collected.memory.rss - before.memory.rss) / MB),
    rssAfterFirst20kMB: round(atFirst.memory.rss / MB),
    rssGrowthAfterFirst20kMB: round((peak.memory.rss - atFirst.memory.rss) / MB),
    goalMB: GOAL_MB,
    withinGoal: rssGrowthMB <= GOAL_MB,
    pendingKeyings: collected.pendingKeyings,
    sessionsAfterFlood: collected.sessions,
    clientConnected,
  };
} finally {
  await server.stop();
}
console.log(JSON.stringify(output));
