// HTTP and WebSocket, the server in its own process (bench/lib/server-process.ts, the repository's www/):
//  - static: keep-alive clients GET /player/index.html as fast as answers come → requests/s and server CPU per request;
//  - rpc: WebSocket clients send ["echo", n] and wait for each answer → round trips/s and server CPU per round trip;
//  - viewers: one ffmpeg publisher (the 640×360 H.264/AAC sample of bench/rtmp.ts, RTMP, looped) to N HTTP-FLV
//    viewers, then the same publisher to N RTMFP players (bench/lib/relay-players.ts) on a fresh server: server CPU
//    seconds per delivered Mbit (media payload bytes) and RSS of each, side by side.
// The load generators run in this process (static, rpc) or in child processes of 100 viewers (viewers): on a small
// machine the clients, not the server, may set the static and rpc rates; the server CPU per request says what it costs.
// Run: node --import tsx bench/http.ts [--seconds=5] [--clients=32] [--viewers=300] [--only=static,rpc,viewers]
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startServerProcess, type ServerProcess, type ServerSnapshot } from './lib/server-process.ts';
import { MB, cpuMs, round } from './lib/measure.ts';
import { reply } from './lib/child.ts';
import type { FlvViewersReport } from './lib/flv-viewers.ts';
import type { PlayersReport } from './lib/relay-players.ts';
import { hasFfmpeg, sampleFlv } from '../test/helpers/ffmpeg.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SECONDS = Number(option('seconds', '5'));
const CLIENTS = Number(option('clients', '32'));
const VIEWERS = Number(option('viewers', '300'));
const ONLY = option('only', 'static,rpc,viewers').split(',');
const PER_PROCESS = 100;
const DRAIN_MS = 1_000;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function withServer<T>(args: string[], body: (server: ServerProcess, httpPort: number, rtmpPort: number) => Promise<T>): Promise<T> {
  const httpPort = await freePort();
  const rtmpPort = await freePort();
  const server = await startServerProcess([
    `--HTTP.port=${httpPort}`,
    '--HTTP.host=127.0.0.1',
    `--RTMP.port=${rtmpPort}`,
    '--RTMP.host=127.0.0.1',
    '--HTTP.maxConnections=100000',
    ...args,
  ]);
  try {
    return await body(server, httpPort, rtmpPort);
  } finally {
    await server.stop();
  }
}

async function staticFiles(): Promise<Record<string, unknown>> {
  return withServer([], async (server, port) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    let requests = 0;
    let bytes = 0;
    let failures = 0;
    const one = () =>
      new Promise<void>((resolve) => {
        http
          .get({ host: '127.0.0.1', port, path: '/player/index.html', agent }, (res) => {
            if (res.statusCode !== 200) failures++;
            res.on('data', (chunk: Buffer) => (bytes += chunk.length));
            res.on('end', () => {
              requests++;
              resolve();
            });
          })
          .on('error', () => {
            failures++;
            resolve();
          });
      });
    await Promise.all(Array.from({ length: CLIENTS }, () => one()));
    const before = await server.snapshot();
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    const counted = requests;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < deadline) await one();
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = await server.snapshot();
    agent.destroy();
    const done = requests - counted;
    const cpu = cpuMs(before, after);
    return {
      bench: 'http',
      case: 'static',
      clients: CLIENTS,
      seconds: round(seconds, 1),
      requests: done,
      requestsPerSecond: round(done / seconds, 0),
      failures,
      serverCpuMsPerRequest: round(cpu / done, 4),
      serverCpuPercent: round((cpu / 1000 / seconds) * 100, 1),
      serverRssMB: round(after.memory.rss / MB, 1),
    };
  });
}

async function rpc(): Promise<Record<string, unknown>> {
  return withServer([], async (server, port) => {
    const sockets = await Promise.all(
      Array.from(
        { length: CLIENTS },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    let trips = 0;
    let wrong = 0;
    const before = await server.snapshot();
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      sockets.map(
        (ws, i) =>
          new Promise<void>((resolve) => {
            let n = 0;
            ws.on('message', (data: Buffer) => {
              if (data.toString() !== `[${i},${n}]`) wrong++;
              trips++;
              if (performance.now() >= deadline) return resolve();
              ws.send(`["echo",${i},${++n}]`);
            });
            ws.send(`["echo",${i},${n}]`);
          }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = await server.snapshot();
    for (const ws of sockets) ws.terminate();
    const cpu = cpuMs(before, after);
    return {
      bench: 'http',
      case: 'websocket-rpc',
      clients: CLIENTS,
      seconds: round(seconds, 1),
      roundTrips: trips,
      roundTripsPerSecond: round(trips / seconds, 0),
      wrongAnswers: wrong,
      serverCpuMsPerRoundTrip: round(cpu / trips, 4),
      serverCpuPercent: round((cpu / 1000 / seconds) * 100, 1),
      serverRssMB: round(after.memory.rss / MB, 1),
    };
  });
}

/** 5 s at 640×360, ~1.3 Mbit/s, a key frame every 2 s (bench/rtmp.ts' sample). */
function sample(): string {
  return sampleFlv({ width: 640, height: 360, seconds: 5, gop: 50, encoder: ['-b:v', '1200k', '-b:a', '128k'] }, 'nimbus-rtmp-bench');
}

async function viewers(to: 'http-flv' | 'rtmfp', file: string): Promise<Record<string, unknown>> {
  return withServer([], async (server, httpPort, rtmpPort) => {
    const children: ChildProcess[] = [];
    try {
      for (let left = VIEWERS; left > 0; left -= PER_PROCESS) {
        const n = String(Math.min(left, PER_PROCESS));
        const [script, args] =
          to === 'rtmfp'
            ? ['relay-players.ts', [server.url('live'), 'bench', n, 'reliable']]
            : ['flv-viewers.ts', [String(httpPort), '/live/bench.flv', n]];
        children.push(
          fork(fileURLToPath(new URL(`./lib/${script}`, import.meta.url)), args, {
            execArgv: ['--import', 'tsx'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        );
      }
      await Promise.all(children.map((c) => reply(c, 'ready')));
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
          String(SECONDS * 2),
          '-c',
          'copy',
          '-f',
          'flv',
          `rtmp://127.0.0.1:${rtmpPort}/live/bench`,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      await once(publisher, 'exit');
      const seconds = (Date.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
      clearInterval(sampler);
      const after: ServerSnapshot = await server.snapshot();
      peakRss = Math.max(peakRss, after.memory.rss);
      const reports = await Promise.all(children.map((c) => reply<FlvViewersReport | PlayersReport>(c, 'report', { cmd: 'report' })));
      const bytes = reports.reduce((a, r) => a + r.bytes, 0);
      const messages = reports.reduce((a, r) => a + r.messages, 0);
      const closed = reports.reduce((a, r) => a + ('closed' in r ? r.closed : 0), 0);
      const cpu = cpuMs(before, after) / 1000;
      const deliveredMbit = (bytes * 8) / 1e6;
      return {
        bench: 'http',
        case: 'viewers',
        to,
        viewers: VIEWERS,
        seconds: round(seconds, 1),
        serverCpuSeconds: round(cpu, 2),
        serverCpuPercent: round((cpu / (seconds + DRAIN_MS / 1000)) * 100, 1),
        deliveredMbit: round(deliveredMbit, 1),
        deliveredMbitPerSecond: round(deliveredMbit / seconds, 1),
        serverCpuSecondsPerDeliveredMbit: round(cpu / deliveredMbit, 5),
        serverRssBeforeMB: round(before.memory.rss / MB, 1),
        serverRssMB: round(after.memory.rss / MB, 1),
        serverPeakRssMB: round(peakRss / MB, 1),
        messagesPerViewerAverage: round(messages / VIEWERS, 1),
        viewersDropped: to === 'rtmfp' ? null : closed,
      };
    } finally {
      for (const child of children) if (child.connected) child.send({ cmd: 'stop' });
      await Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
    }
  });
}

if (ONLY.includes('static')) console.log(JSON.stringify(await staticFiles()));
if (ONLY.includes('rpc')) console.log(JSON.stringify(await rpc()));
if (ONLY.includes('viewers')) {
  if (!hasFfmpeg) console.log(JSON.stringify({ bench: 'http', case: 'viewers', skipped: 'ffmpeg is not installed' }));
  else {
    const file = sample();
    console.log(JSON.stringify(await viewers('http-flv', file)));
    console.log(JSON.stringify(await viewers('rtmfp', file)));
  }
}
