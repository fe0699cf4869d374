// What XState costs inside the server over a connection's lifecycle (issue 18): two Nimbus servers side by side
// with the same clients, one of them doing every lifecycle actor's XState work twice (bench/lib/shadow-actors.mjs:
// a shadow actor per session, flow, writer and listener, sent the same events). The difference in server CPU per
// connection is XState's own cost there, its garbage included; the plain server's CPU less it is what the rest of
// the lifecycle costs. Each run starts both servers afresh; the second run swaps which one the bench reads first.
// Run: node --import tsx bench/xstate-share.ts [--warmup=500] [--phases=200] [--runs=2] [--client=nimbus-stream]
//   → one JSON object. The measured phase is the last of --phases. Needs dist/ (npm run build).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type ServerProcess } from './lib/server-process.ts';
import { round } from './lib/measure.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const WARMUP = Number(option('warmup', '500'));
const PHASES = option('phases', '200');
const RUNS = Number(option('runs', '2'));
const CLIENT = option('client', 'nimbus-stream');
/** actors a lifecycle creates (session, two receiving flows, two writers, the listener: bench/README.md) */
const ACTORS_PER_LIFECYCLE = 6;
const LIFECYCLE = fileURLToPath(new URL('./lifecycle.ts', import.meta.url));
const SHADOWS = fileURLToPath(new URL('./lib/shadow-actors.mjs', import.meta.url));

interface PhaseResult {
  serverCpuMsPerConnection: number;
  failed: number;
}

/** lifecycle.ts against `first` with `second` beside it; returns each one's last phase */
async function sideBySide(first: ServerProcess, second: ServerProcess): Promise<[PhaseResult, PhaseResult]> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      LIFECYCLE,
      `--client=${CLIENT}`,
      `--url=${first.url('')}`,
      `--pid=${first.pid}`,
      `--beside=${second.url('')}`,
      `--beside-pid=${second.pid}`,
      `--warmup=${WARMUP}`,
      `--phases=${PHASES}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`lifecycle.ts exited with ${code}`);
  const result = JSON.parse(out.split('\n').find((line) => line.startsWith('{'))!) as Record<string, unknown>;
  const beside = result['beside'] as Record<string, unknown>;
  const last = Object.keys(result['ratio'] as object).at(-1)!;
  return [result[last] as PhaseResult, beside[last] as PhaseResult];
}

const runs: Array<Record<string, number>> = [];
const dir = mkdtempSync(join(tmpdir(), 'nimbus-xstate-share-'));
try {
  for (let run = 0; run < RUNS; run++) {
    const countFile = join(dir, `shadows-${run}`);
    process.env.NIMBUS_SHADOW_COUNT_FILE = countFile;
    const servers: ServerProcess[] = [];
    try {
      const plain = await startServerProcess(['--RTMFP.startupPacketsPerSecond=1000000']);
      servers.push(plain);
      const doubled = await startServerProcess(['--RTMFP.startupPacketsPerSecond=1000000'], ['--import', SHADOWS]);
      servers.push(doubled);
      const plainFirst = run % 2 === 0;
      const [a, b] = await sideBySide(plainFirst ? plain : doubled, plainFirst ? doubled : plain);
      const [p, d] = plainFirst ? [a, b] : [b, a];
      if (p.failed > 0 || d.failed > 0) throw new Error(`failed lifecycles: plain ${p.failed}, doubled ${d.failed}`);
      await doubled.stop();
      servers.pop();
      const lifecycles = WARMUP + PHASES.split(',').reduce((sum, n) => sum + Number(n), 0);
      const shadows = Number(readFileSync(countFile, 'utf8'));
      // every lifecycle actor has its shadow, or the difference measures less than XState's work
      if (shadows < lifecycles * ACTORS_PER_LIFECYCLE) throw new Error(`${shadows} shadows for ${lifecycles} lifecycles`);
      runs.push({
        plainMsPerConnection: p.serverCpuMsPerConnection,
        doubledMsPerConnection: d.serverCpuMsPerConnection,
        xstateMsPerConnection: round(d.serverCpuMsPerConnection - p.serverCpuMsPerConnection, 3),
        shadowsPerLifecycle: round(shadows / lifecycles, 2),
      });
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const mean = (key: string) => round(runs.reduce((sum, r) => sum + r[key]!, 0) / runs.length, 3);
const xstate = mean('xstateMsPerConnection');
const plain = mean('plainMsPerConnection');
console.log(
  JSON.stringify({
    bench: 'xstate-share',
    client: CLIENT,
    warmup: WARMUP,
    phases: PHASES,
    runs,
    xstateMsPerConnection: xstate,
    restMsPerConnection: round(plain - xstate, 3),
    xstateShare: round(xstate / plain, 2),
  }),
);
