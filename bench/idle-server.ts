// The server as `npm start` runs it (node dist/cli.js, compiled JavaScript, no TypeScript runner): time from
// spawn to the "RTMFP server listening" log line, then its RSS (from /proc) idle with no client, after 2 s and
// after 10 s, and the CPU time it spent to get there. Several runs; medians. Run: node --import tsx bench/idle-server.ts [--runs=5]  (needs npm run build)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { procSnapshot } from './lib/proc-usage.ts';
import { MB, round } from './lib/measure.ts';

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? '5');
const repository = fileURLToPath(new URL('..', import.meta.url));
// --from=src: the sources under tsx, as `npm start` ran before the build existed (for before/after figures)
const FROM_SOURCE = process.argv.includes('--from=src');
const cli = FROM_SOURCE ? `${repository}src/cli.ts` : `${repository}dist/cli.js`;
if (!existsSync(cli)) throw new Error('dist/ is missing: run npm run build');
const execArgv = FROM_SOURCE ? ['--import', 'tsx'] : [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function once(): Promise<{ startupMs: number; startupCpuMs: number; rss2sMB: number; rss10sMB: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [...execArgv, cli, '--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0', '--logs.pretty=false'],
    {
      cwd: repository,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('RTMFP server listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
    });
    const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
    // CPU time to listening: on a shared machine the wall time mostly measures the other processes
    const { cpu } = procSnapshot(child.pid!);
    const startupCpuMs = (cpu.user + cpu.system) / 1000;
    await sleep(2_000);
    const rss2s = procSnapshot(child.pid!).memory.rss;
    await sleep(8_000);
    const rss10s = procSnapshot(child.pid!).memory.rss;
    return { startupMs, startupCpuMs, rss2sMB: rss2s / MB, rss10sMB: rss10s / MB };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
}

const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await once());
console.log(
  JSON.stringify({
    bench: 'idle-server',
    from: FROM_SOURCE ? 'src (tsx)' : 'dist',
    runs: RUNS,
    startupMsMedian: round(median(runs.map((r) => r.startupMs)), 0),
    startupMsMax: round(Math.max(...runs.map((r) => r.startupMs)), 0),
    startupCpuMsMedian: round(median(runs.map((r) => r.startupCpuMs)), 0),
    loadAverage: round(loadavg()[0]!, 1),
    idleRss2sMBMedian: round(median(runs.map((r) => r.rss2sMB)), 1),
    idleRss10sMBMedian: round(median(runs.map((r) => r.rss10sMB)), 1),
  }),
);
