// Connection lifecycle (issue 18): N connections, a few at a time, each one handshake, NetConnection connect
// (Lua onConnection), ~1.5 s idle, orderly close. Reports the server CPU per connection for the first 100
// (a fresh process: first-use compilation included) and for the rest.
// Run: node --import tsx bench/lifecycle.ts [--connections=300] [--concurrency=10] [--idle=1500] [--phases=100,900,1000]
//        [--warmup=1500 [--warmup-concurrency=50]] [--client=nimbus|nimbus-stream|librtmfp] [--path=]  → one JSON object.
// --beside=<url> --beside-pid=<pid>: another server (MonaServer) measured in the same phases at the same time, each
// with its own --concurrency workers, so that both see the same machine over the same seconds; adds "beside" and
// the ratio of each phase (this server's CPU per connection over the other's).
// --warmup=N: N lifecycles first, --warmup-concurrency at a time (default 50), reported apart: the phases then
// measure a server whose JIT has compiled the per-connection code, as one that has been up a while.
// Another server with the same connections (MonaServer, a Nimbus started by hand):
//   --url=rtmfp://127.0.0.1:1935/ --pid=<its pid>
// Server CPU comes from /proc/<pid>/stat (10 ms ticks) for both, all threads counted (V8's compiler and GC
// threads, libuv's pool).
// --client=librtmfp runs /tmp/ext/librtmfp/TestClient (built by hand, see its README) once per connection:
// it also creates a stream and plays a missing one, and sends setPeerInfo, so it costs the server more.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetConnection } from '../src/client/index.ts';
import { startServerProcess, type ServerSnapshot } from './lib/server-process.ts';
import { procSnapshot } from './lib/proc-usage.ts';
import { MB, cpuMs, round } from './lib/measure.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const CONNECTIONS = Number(option('connections', '300'));
const CONCURRENCY = Number(option('concurrency', '10'));
const IDLE_MS = Number(option('idle', '1500'));
const CLIENT = option('client', 'nimbus');
const PATH = option('path', '');
const EXTERNAL_URL = option('url', '');
const EXTERNAL_PID = Number(option('pid', '0'));
const TEST_CLIENT = option('testclient', '/tmp/ext/librtmfp/TestClient/TestClient');
const FIRST = 100;
/** --phases=100,900,1000: consecutive phases measured apart (V8 keeps compiling per-connection code for the
 * first thousand or so connections: a later phase is the steady state of a server that has been up a while) */
const PHASES = option('phases', '').split(',').filter(Boolean).map(Number);
const BESIDE_URL = option('beside', '');
const BESIDE_PID = Number(option('beside-pid', '0'));
const WARMUP = Number(option('warmup', '0'));
const WARMUP_CONCURRENCY = Number(option('warmup-concurrency', '50'));
/** after a phase's last close: the server finishes its closes before the reading */
const SETTLE_MS = 1_000;

interface Server {
  url: string;
  snapshot(): Promise<ServerSnapshot>;
  stop(): Promise<void>;
}

async function measuredServer(): Promise<Server> {
  if (EXTERNAL_URL) {
    if (!EXTERNAL_PID) throw new Error('--url needs --pid=<server pid> to measure its CPU');
    return { url: EXTERNAL_URL, snapshot: async () => procSnapshot(EXTERNAL_PID), stop: async () => {} };
  }
  // Every client of this bench has the same address: the per-address startup budget (64 packets a second, there
  // against floods) would drop IHellos at --concurrency=100 and measure retries instead of lifecycles
  const server = await startServerProcess(['--RTMFP.startupPacketsPerSecond=1000000']);
  // read from /proc as for another server: an IPC snapshot would cost the measured process itself
  return { url: server.url(PATH), snapshot: async () => procSnapshot(server.pid), stop: () => server.stop() };
}

async function nimbusClient(url: string): Promise<void> {
  const nc = await NetConnection.connect(url, { style: 'flash', timeoutMs: 10_000 });
  await sleep(IDLE_MS);
  await nc.close();
}

/** the project's client doing what librtmfp's TestClient does: also a stream playing a missing name */
async function nimbusStreamClient(url: string): Promise<void> {
  const nc = await NetConnection.connect(url, { style: 'flash', timeoutMs: 10_000 });
  const stream = await nc.createNetStream();
  stream.play('lifecycle');
  await sleep(IDLE_MS);
  await nc.close();
}

/** librtmfp's URL names a stream last: the NetConnection URL plus "/lifecycle" */
async function librtmfpClient(url: string): Promise<void> {
  const child = spawn('stdbuf', ['-oL', TEST_CLIENT, `--url=${url.replace(/\/$/, '')}/lifecycle`], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error('TestClient: no NetConnection.Connect.Success in 10 s')), 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.includes('NetConnection.Connect.Success')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`TestClient exited with ${code} before connecting`));
      });
    });
    await sleep(IDLE_MS);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

const clients: Record<string, (url: string) => Promise<void>> = {
  nimbus: nimbusClient,
  'nimbus-stream': nimbusStreamClient,
  librtmfp: librtmfpClient,
};
const chosen = clients[CLIENT];
if (chosen === undefined) throw new Error(`--client=${CLIENT}: one of ${Object.keys(clients).join(', ')}`);
const connectOne = chosen;

/** Runs `count` lifecycles, `CONCURRENCY` at a time; returns the failures. */
async function phase(url: string, count: number, concurrency = CONCURRENCY): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        await connectOne(url);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  await sleep(SETTLE_MS);
  return failed;
}

const server = await measuredServer();
if (BESIDE_URL && !BESIDE_PID) throw new Error('--beside needs --beside-pid=<server pid> to measure its CPU');
const servers: Server[] = [server];
if (BESIDE_URL) servers.push({ url: BESIDE_URL, snapshot: async () => procSnapshot(BESIDE_PID), stop: async () => {} });
try {
  // what each server spends with nobody connected, over as long as a phase lasts on average
  const idleBefore = await Promise.all(servers.map((s) => s.snapshot()));
  await sleep(3_000);
  const idleAfter = await Promise.all(servers.map((s) => s.snapshot()));
  const idleCpuMsPerSecond = servers.map((_, i) => cpuMs(idleBefore[i]!, idleAfter[i]!) / 3);

  const results: Array<Record<string, unknown>> = servers.map((_, i) => ({ idleServerCpuMsPerSecond: round(idleCpuMsPerSecond[i]!, 3) }));
  const result: Record<string, unknown> = {
    bench: 'lifecycle',
    server: EXTERNAL_URL ? `pid ${EXTERNAL_PID}` : 'nimbus',
    client: CLIENT,
    connections: PHASES.length ? PHASES.reduce((a, b) => a + b, 0) : CONNECTIONS,
    concurrency: CONCURRENCY,
    idleMs: IDLE_MS,
    ...results[0],
  };
  if (WARMUP > 0) {
    const before = await Promise.all(servers.map((s) => s.snapshot()));
    const failed = await Promise.all(servers.map((s) => phase(s.url, WARMUP, WARMUP_CONCURRENCY)));
    const after = await Promise.all(servers.map((s) => s.snapshot()));
    servers.forEach((_, i) => {
      results[i]!['warmup'] = {
        connections: WARMUP,
        concurrency: WARMUP_CONCURRENCY,
        failed: failed[i],
        serverCpuMsPerConnection: round(cpuMs(before[i]!, after[i]!) / WARMUP, 3),
      };
    });
  }
  const phases: Array<[string, number]> = PHASES.length
    ? PHASES.map((count, i) => {
        const from = PHASES.slice(0, i).reduce((a, b) => a + b, 0);
        return [`connections ${from + 1}-${from + count}`, count];
      })
    : [
        ['first', Math.min(FIRST, CONNECTIONS)],
        ['rest', Math.max(0, CONNECTIONS - FIRST)],
      ];
  for (const [name, count] of phases) {
    if (count === 0) continue;
    const before = await Promise.all(servers.map((s) => s.snapshot()));
    const start = process.hrtime.bigint();
    const failed = await Promise.all(servers.map((s) => phase(s.url, count)));
    const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    const after = await Promise.all(servers.map((s) => s.snapshot()));
    servers.forEach((_, i) => {
      const cpu = cpuMs(before[i]!, after[i]!);
      results[i]![name] = {
        connections: count,
        failed: failed[i],
        wallSeconds: round(wallSeconds, 1),
        serverCpuMsPerConnection: round(cpu / count, 3),
        serverUserMsPerConnection: round((after[i]!.cpu.user - before[i]!.cpu.user) / 1000 / count, 3),
        serverSystemMsPerConnection: round((after[i]!.cpu.system - before[i]!.cpu.system) / 1000 / count, 3),
        // the same less what the server spends idle over the phase's wall time
        serverCpuMsPerConnectionLessIdle: round((cpu - idleCpuMsPerSecond[i]! * wallSeconds) / count, 3),
        serverRssMB: round(after[i]!.memory.rss / MB, 1),
      };
    });
  }
  Object.assign(result, results[0]);
  if (BESIDE_URL) {
    result['beside'] = { server: `pid ${BESIDE_PID}`, ...results[1] };
    const ratio: Record<string, number> = {};
    for (const [name] of phases) {
      const ours = results[0]![name] as { serverCpuMsPerConnection: number } | undefined;
      const theirs = results[1]![name] as { serverCpuMsPerConnection: number } | undefined;
      if (ours && theirs) ratio[name] = round(ours.serverCpuMsPerConnection / theirs.serverCpuMsPerConnection, 2);
    }
    result['ratio'] = ratio;
  }
  console.log(JSON.stringify(result));
} finally {
  await server.stop();
}
