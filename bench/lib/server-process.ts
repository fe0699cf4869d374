// A Nimbus server in a child process, so that benchmarks measure its CPU and heap apart from the clients'.
// Parent side: startServerProcess(). Child side: server-child.mjs, the compiled server (dist/, built by
// `npm run build`) answering IPC requests; NIMBUS_BENCH_FROM=src measures the sources under tsx instead.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ServerSnapshot {
  /** process.cpuUsage() of the server process, µs */
  cpu: { user: number; system: number };
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  sessions: number;
  pendingKeyings: number;
  stats: Record<string, number>;
  /** server links with the bytes each carried so far */
  links: Array<{ address: string; bytesOut: number; bytesIn: number }>;
  /** log lines and bytes written so far (all levels at or above the server's --log-level; 'fatal' by default) */
  logLines: number;
  logBytes: number;
}

type Request = { id: number; cmd: 'snapshot' | 'gc' };
type Reply = { id: number; snapshot: ServerSnapshot };

export interface ServerProcess {
  port: number;
  /** the child process, for /proc readings */
  pid: number;
  /** ms from fork() to the server listening (process start, module loading, application start) */
  startupMs: number;
  url(path?: string): string;
  snapshot(): Promise<ServerSnapshot>;
  /** Full garbage collection (twice, for weak references) then a snapshot. */
  gcSnapshot(): Promise<ServerSnapshot>;
  stop(): Promise<void>;
}

/** nodeArgs: Node options for this server process only, after NIMBUS_BENCH_NODE_ARGS (e.g. an --import preload) */
export async function startServerProcess(args: string[] = [], nodeArgs: string[] = []): Promise<ServerProcess> {
  const fromSource = process.env.NIMBUS_BENCH_FROM === 'src';
  if (!fromSource && !existsSync(new URL('../../dist/src/nimbus.js', import.meta.url))) {
    throw new Error('dist/ is missing: run npm run build (or NIMBUS_BENCH_FROM=src to measure the sources under tsx)');
  }
  const forked = process.hrtime.bigint();
  const child: ChildProcess = fork(fileURLToPath(new URL('./server-child.mjs', import.meta.url)), args, {
    // NIMBUS_BENCH_NODE_ARGS: more Node/V8 options for the server process only (e.g. "--trace-gc")
    execArgv: [
      ...(fromSource ? ['--import', 'tsx', '--expose-gc'] : ['--expose-gc']),
      // NIMBUS_BENCH_PROFILE=<dir>: a V8 CPU profile of the server process (only) written there when it exits
      ...(process.env.NIMBUS_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.NIMBUS_BENCH_PROFILE}`] : []),
      ...(process.env.NIMBUS_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ...nodeArgs,
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  const startupMs = Number(process.hrtime.bigint() - forked) / 1e6;
  let nextId = 1;
  const waiting = new Map<number, (s: ServerSnapshot) => void>();
  child.on('message', (m) => {
    const reply = m as Reply;
    waiting.get(reply.id)?.(reply.snapshot);
    waiting.delete(reply.id);
  });
  const ask = (cmd: Request['cmd']) =>
    new Promise<ServerSnapshot>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      child.send({ id, cmd } satisfies Request);
    });
  return {
    port,
    pid: child.pid!,
    startupMs,
    // 'live': an application folder www/ has (a missing folder is InvalidApp, as MonaServer)
    url: (path = 'live') => `rtmfp://127.0.0.1:${port}/${path}`,
    snapshot: () => ask('snapshot'),
    gcSnapshot: () => ask('gc'),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
