// Live relay: one publisher at ~600 kbit/s to N players (N = 10, 100, 300 by default), every client in
// processes apart from the server's. Reports server CPU seconds per delivered Mbit, datagrams per second
// through the server, server RSS and media loss at the players.
// Run: node --import tsx bench/relay.ts [--players=10,100,300] [--seconds=15] [--kbps=600] [--unbuffered] [--warmup=0]
//   → one JSON object per N. --warmup=S streams S seconds first (rounded up to whole key-frame intervals), its loss
//   reported apart, as bench/cluster.ts does; 0 (the default) counts from the first frame, as earlier figures did.
// Another server (MonaServer, CumulusServer, a Nimbus under a profiler) with the same clients:
//   --url=rtmfp://127.0.0.1:1935/live --pid=<its pid>   (CPU and RSS then come from /proc/<pid>)
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { startServerProcess, type ServerSnapshot } from './lib/server-process.ts';
import { MB, cpuMs, round } from './lib/measure.ts';
import { procSnapshot } from './lib/proc-usage.ts';
import type { PlayersReport } from './lib/relay-players.ts';
import type { PublisherReport } from './lib/relay-publisher.ts';
import { reply } from './lib/child.ts';
import { warmUp, warmupSeconds } from './lib/warmup.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const COUNTS = option('players', '10,100,300').split(',').map(Number);
const SECONDS = Number(option('seconds', '15'));
const KBPS = Number(option('kbps', '600'));
const MODE = process.argv.includes('--unbuffered') ? 'unbuffered' : 'reliable';
const EXTERNAL_URL = option('url', '');
const EXTERNAL_PID = Number(option('pid', '0'));
const PLAYERS_PER_PROCESS = 100;
/** after the publisher's last frame: retransmissions and queues settle before the counts are read */
const DRAIN_MS = 2_000;
const WARMUP = warmupSeconds(Number(option('warmup', '0')));

const lib = (file: string) => fileURLToPath(new URL(`./lib/${file}`, import.meta.url));

function start(file: string, args: string[]): ChildProcess {
  return fork(lib(file), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function sum(reports: PlayersReport[]): PlayersReport {
  const total: PlayersReport = { players: 0, messages: 0, bytes: 0, outOfOrder: 0, lostFragments: 0, packetsIn: 0, packetsOut: 0 };
  for (const r of reports) for (const key of Object.keys(total) as Array<keyof PlayersReport>) total[key] += r[key];
  return total;
}

interface MeasuredServer {
  url(path?: string): string;
  snapshot(): Promise<ServerSnapshot>;
  stop(): Promise<void>;
}

async function measuredServer(): Promise<MeasuredServer> {
  if (!EXTERNAL_URL) return startServerProcess();
  if (!EXTERNAL_PID) throw new Error('--url needs --pid=<server pid> to measure its CPU and RSS');
  return {
    url: () => EXTERNAL_URL,
    snapshot: async () => procSnapshot(EXTERNAL_PID),
    stop: async () => {},
  };
}

async function runOnce(players: number): Promise<Record<string, unknown>> {
  const server = await measuredServer();
  // a distinct stream name per run: an external server may still hold the previous run's publication
  const name = `bench${players}`;
  const children: ChildProcess[] = [];
  try {
    const setupStart = Date.now();
    const publisher = start('relay-publisher.ts', [server.url(), name, String(KBPS)]);
    children.push(publisher);
    await reply(publisher, 'ready');
    const groups: ChildProcess[] = [];
    for (let left = players; left > 0; left -= PLAYERS_PER_PROCESS) {
      const group = start('relay-players.ts', [server.url(), name, String(Math.min(left, PLAYERS_PER_PROCESS)), MODE]);
      groups.push(group);
      children.push(group);
    }
    await Promise.all(groups.map((g) => reply(g, 'ready')));
    const setupSeconds = (Date.now() - setupStart) / 1000;

    const report = async () => sum(await Promise.all(groups.map((g) => reply<PlayersReport>(g, 'report', { cmd: 'report' }))));
    const warmupLoss =
      WARMUP > 0 ? round(await warmUp(publisher, WARMUP, DRAIN_MS, players, async () => (await report()).messages), 5) : undefined;
    const playersBefore = await report();
    const before = await server.snapshot();
    let peakRss = before.memory.rss;
    const sampler = setInterval(() => {
      void server.snapshot().then((s) => (peakRss = Math.max(peakRss, s.memory.rss)));
    }, 1_000);
    const sent = await reply<PublisherReport>(publisher, 'sent', { cmd: 'go', seconds: SECONDS });
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    clearInterval(sampler);
    const after: ServerSnapshot = await server.snapshot();
    peakRss = Math.max(peakRss, after.memory.rss);
    const playersAfter = await report();

    const wall = sent.seconds + DRAIN_MS / 1000;
    const delivered = playersAfter.bytes - playersBefore.bytes;
    const deliveredMbit = (delivered * 8) / 1e6;
    const expected = sent.messages * players;
    const received = playersAfter.messages - playersBefore.messages;
    const cpu = cpuMs(before, after) / 1000;
    const datagramsOut = playersAfter.packetsIn - playersBefore.packetsIn + sent.packetsIn;
    const datagramsIn = playersAfter.packetsOut - playersBefore.packetsOut + sent.packetsOut;
    return {
      bench: 'relay',
      server: EXTERNAL_URL ? `pid ${EXTERNAL_PID}` : 'nimbus',
      mode: MODE,
      players,
      publishKbps: round((sent.bytes * 8) / 1000 / sent.seconds, 1),
      seconds: round(sent.seconds, 1),
      setupSeconds: round(setupSeconds, 1),
      serverCpuSeconds: round(cpu, 2),
      serverCpuUserSeconds: round((after.cpu.user - before.cpu.user) / 1e6, 2),
      serverCpuSystemSeconds: round((after.cpu.system - before.cpu.system) / 1e6, 2),
      serverCpuPercent: round((cpu / wall) * 100, 1),
      deliveredMbit: round(deliveredMbit, 1),
      deliveredMbitPerSecond: round(deliveredMbit / sent.seconds, 1),
      serverCpuSecondsPerDeliveredMbit: round(cpu / deliveredMbit, 5),
      // as the clients counted them: datagrams that reached a client from the server, and the reverse
      datagramsOutPerSecond: Math.round(datagramsOut / wall),
      datagramsInPerSecond: Math.round(datagramsIn / wall),
      serverRssMB: round(after.memory.rss / MB, 1),
      serverPeakRssMB: round(peakRss / MB, 1),
      ...(warmupLoss === undefined ? {} : { warmupSeconds: WARMUP, warmupLoss }),
      loss: round(1 - received / expected, 5),
      messagesExpected: expected,
      messagesReceived: received,
      outOfOrder: playersAfter.outOfOrder - playersBefore.outOfOrder,
      lostFragments: playersAfter.lostFragments - playersBefore.lostFragments,
      // where the loss happened: media the server's listeners dropped (behind a congested path), Nimbus only
      listenerDroppedMessages: (after.stats.droppedMessages ?? 0) - (before.stats.droppedMessages ?? 0),
      listenerDroppedForCongestion: (after.stats.droppedForCongestion ?? 0) - (before.stats.droppedForCongestion ?? 0),
    };
  } finally {
    for (const child of children) if (child.connected) child.send({ cmd: 'stop' });
    await Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
    await server.stop();
  }
}

for (const players of COUNTS) {
  const result = await runOnce(players);
  console.log(JSON.stringify(result));
}
