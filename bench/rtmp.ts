// RTMP live relay: one ffmpeg publisher (a generated ~1.3 Mbit/s H.264/AAC FLV, looped, `-re -c copy`) to N
// raw RTMP players (N = 100 by default; 100 per child process), the server in its own process. Reports server
// CPU seconds per delivered Mbit (media payload bytes, as bench/relay.ts), server RSS (and peak), media
// messages per player (lowest/highest: a gap means the server dropped media for slow players) and players dropped.
// `--to=rtmfp`: the same publisher to N RTMFP players (bench/lib/relay-players.ts), the cross-protocol relay.
// Run: node --import tsx bench/rtmp.ts [--players=100,300] [--seconds=15] [--to=rtmfp]   → one JSON object per N.
// Another RTMP server (node-media-server, MonaServer, nginx-rtmp) with the same clients: --port=<its RTMP port>
// --pid=<its pid> (application `live`; CPU and RSS then come from /proc/<pid>; restart it between runs).
// node-media-server 4 (a devDependency) runs with the same clients in the same run, right after Nimbus for each
// N (`--servers=nimbus,nms`, the default for RTMP players; `--servers=nimbus` leaves it out).
// Needs ffmpeg (Debian's).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type ServerSnapshot } from './lib/server-process.ts';
import { procSnapshot } from './lib/proc-usage.ts';
import { MB, cpuMs, round } from './lib/measure.ts';
import type { RtmpPlayersReport } from './lib/rtmp-players.ts';
import { reply } from './lib/child.ts';
import { hasFfmpeg, sampleFlv } from '../test/helpers/ffmpeg.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const COUNTS = option('players', '100').split(',').map(Number);
const SECONDS = Number(option('seconds', '15'));
const TO = option('to', 'rtmp');
const EXTERNAL_PORT = Number(option('port', '0'));
const EXTERNAL_PID = Number(option('pid', '0'));
const SERVERS = option('servers', EXTERNAL_PORT || TO === 'rtmfp' ? 'nimbus' : 'nimbus,nms').split(',');
const PLAYERS_PER_PROCESS = 100;
const DRAIN_MS = 1_000;

/** 5 s at 640×360, ~1.3 Mbit/s, a key frame every 2 s: what an encoder sends for a small live stream. */
function sample(): string {
  const encoder = ['-b:v', '1200k', '-b:a', '128k'];
  return sampleFlv({ width: 640, height: 360, seconds: 5, gop: 50, encoder }, 'nimbus-rtmp-bench');
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function sum(reports: RtmpPlayersReport[]): RtmpPlayersReport {
  return reports.reduce(
    (a, r) => ({
      players: a.players + r.players,
      messages: a.messages + r.messages,
      bytes: a.bytes + r.bytes,
      minMessages: Math.min(a.minMessages, r.minMessages ?? Infinity),
      maxMessages: Math.max(a.maxMessages, r.maxMessages ?? 0),
      closed: a.closed + (r.closed ?? 0),
    }),
    { players: 0, messages: 0, bytes: 0, minMessages: Infinity, maxMessages: 0, closed: 0 },
  );
}

interface BenchServer {
  url(path?: string): string;
  snapshot(): Promise<ServerSnapshot>;
  stop(): Promise<void>;
}

/** node-media-server in its own process, measured from /proc as any other server. */
async function startNodeMediaServer(port: number): Promise<BenchServer> {
  const data = mkdtempSync(join(tmpdir(), 'nimbus-bench-nms-'));
  const child = fork(fileURLToPath(new URL('./lib/nms-server.mjs', import.meta.url)), [String(port), data], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  for (let tries = 0; ; tries++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (up) break;
    if (tries > 100 || child.exitCode !== null) throw new Error('node-media-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: () => '',
    snapshot: async () => procSnapshot(child.pid!),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}

async function runOnce(players: number, file: string, which: string): Promise<Record<string, unknown>> {
  if (EXTERNAL_PORT && !EXTERNAL_PID) throw new Error('--port needs --pid=<server pid> to measure its CPU and RSS');
  if (which !== 'nimbus' && TO === 'rtmfp') throw new Error('--to=rtmfp measures Nimbus only');
  const rtmpPort = EXTERNAL_PORT || (await freePort());
  const server: BenchServer = EXTERNAL_PORT
    ? { url: () => '', snapshot: async () => procSnapshot(EXTERNAL_PID), stop: async () => {} }
    : which === 'nms'
      ? await startNodeMediaServer(rtmpPort)
      : await startServerProcess([`--RTMP.port=${rtmpPort}`, '--RTMP.host=127.0.0.1']);
  const children: ChildProcess[] = [];
  try {
    const groups: ChildProcess[] = [];
    for (let left = players; left > 0; left -= PLAYERS_PER_PROCESS) {
      const n = String(Math.min(left, PLAYERS_PER_PROCESS));
      const [script, args] =
        TO === 'rtmfp'
          ? ['relay-players.ts', [server.url('live'), 'bench', n, 'reliable']]
          : ['rtmp-players.ts', [String(rtmpPort), 'bench', n]];
      const group = fork(fileURLToPath(new URL(`./lib/${script}`, import.meta.url)), args, {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      groups.push(group);
      children.push(group);
    }
    await Promise.all(groups.map((g) => reply(g, 'ready')));
    const before: ServerSnapshot = await server.snapshot();
    let peakRss = before.memory.rss;
    const sampler = setInterval(() => void server.snapshot().then((s) => (peakRss = Math.max(peakRss, s.memory.rss))), 1_000);
    const started = Date.now();
    const publisher = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-re',
        '-stream_loop',
        '-1',
        '-i',
        file,
        '-t',
        String(SECONDS),
        '-c',
        'copy',
        '-f',
        'flv',
        `rtmp://127.0.0.1:${rtmpPort}/live/bench`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await new Promise((resolve) => publisher.once('exit', resolve));
    const seconds = (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    clearInterval(sampler);
    const after: ServerSnapshot = await server.snapshot();
    peakRss = Math.max(peakRss, after.memory.rss);
    const report = sum(await Promise.all(groups.map((g) => reply<RtmpPlayersReport>(g, 'report', { cmd: 'report' }))));
    const rtmfp = TO === 'rtmfp';
    const cpu = cpuMs(before, after) / 1000;
    const deliveredMbit = (report.bytes * 8) / 1e6;
    return {
      bench: 'rtmp',
      server: EXTERNAL_PORT ? `pid ${EXTERNAL_PID}` : which === 'nms' ? 'node-media-server' : 'nimbus',
      to: TO,
      players,
      seconds: round(seconds, 1),
      serverCpuSeconds: round(cpu, 2),
      serverCpuPercent: round((cpu / (seconds + DRAIN_MS / 1000)) * 100, 1),
      deliveredMbit: round(deliveredMbit, 1),
      deliveredMbitPerSecond: round(deliveredMbit / seconds, 1),
      serverCpuSecondsPerDeliveredMbit: round(cpu / deliveredMbit, 5),
      serverRssBeforeMB: round(before.memory.rss / MB, 1),
      serverRssMB: round(after.memory.rss / MB, 1),
      serverPeakRssMB: round(peakRss / MB, 1),
      // RTMFP players report totals only (codec headers left out)
      messagesPerPlayerMin: rtmfp ? null : report.minMessages,
      messagesPerPlayerMax: rtmfp ? null : report.maxMessages,
      messagesPerPlayerAverage: round(report.messages / players, 1),
      playersDropped: rtmfp ? null : report.closed,
    };
  } finally {
    for (const child of children) if (child.connected) child.send({ cmd: 'stop' });
    await Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
    await server.stop();
  }
}

if (!hasFfmpeg) {
  console.log(JSON.stringify({ bench: 'rtmp', skipped: 'ffmpeg is not installed' }));
} else {
  const file = sample();
  for (const players of COUNTS) for (const which of SERVERS) console.log(JSON.stringify(await runOnce(players, file, which)));
}
