// A Nimbus server in a child process, so that benchmarks measure its CPU and heap apart from the clients'.
// Parent side: startServerProcess(). Child side: this same file run by fork(), answering IPC requests.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServerSnapshot {
  /** process.cpuUsage() of the server process, µs */
  cpu: { user: number; system: number };
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  sessions: number;
  pendingKeyings: number;
  stats: Record<string, number>;
  /** log lines and bytes written so far (all levels at or above the server's --log-level; 'fatal' by default) */
  logLines: number;
  logBytes: number;
}

type Request = { id: number; cmd: 'snapshot' | 'gc' };
type Reply = { id: number; snapshot: ServerSnapshot };

export interface ServerProcess {
  port: number;
  url(path?: string): string;
  snapshot(): Promise<ServerSnapshot>;
  /** Full garbage collection (twice, for weak references) then a snapshot. */
  gcSnapshot(): Promise<ServerSnapshot>;
  stop(): Promise<void>;
}

export async function startServerProcess(args: string[] = []): Promise<ServerProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', ...args], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
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

async function runChild(args: string[]): Promise<void> {
  const { Nimbus } = await import('../../src/nimbus.ts');
  const { loadConfig } = await import('../../src/config.ts');
  const { createLogger } = await import('../../src/log.ts');
  const { Writable } = await import('node:stream');
  // --log-level=<level> (ours, not the server's configuration): log at that level into a counter
  const levelArg = args.find((a) => a.startsWith('--log-level='));
  const level = levelArg ? levelArg.slice('--log-level='.length) : 'fatal';
  const configArgs = args.filter((a) => a !== levelArg);
  let logLines = 0;
  let logBytes = 0;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logBytes += chunk.length;
      for (const byte of chunk) if (byte === 0x0a) logLines++;
      done();
    },
  });
  // the repository's www/ whatever the working directory (bench/run.ts runs each script from bench/)
  const repository = fileURLToPath(new URL('../..', import.meta.url));
  const defaults = ['--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0', '--HTTP.port=0', `--application.dir=${repository}`];
  const { config } = loadConfig([...defaults, ...configArgs], {
    cwd: process.cwd(),
    env: {},
  });
  const nimbus = new Nimbus({ config, logger: createLogger({ level, pretty: 'false', destination }) });
  const server = nimbus.rtmfp;
  await nimbus.start();
  const snapshot = (): ServerSnapshot => {
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    return {
      cpu: process.cpuUsage(),
      memory: { rss, heapUsed, heapTotal, external, arrayBuffers },
      sessions: server.sessions.size,
      pendingKeyings: server.handshake.pendingKeyings,
      stats: { ...server.stats },
      logLines,
      logBytes,
    };
  };
  process.on('message', (m) => {
    const request = m as Request;
    if (request.cmd === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
    }
    process.send!({ id: request.id, snapshot: snapshot() } satisfies Reply);
  });
  process.once('SIGTERM', () => void nimbus.close().then(() => process.exit(0)));
  process.send!({ port: server.address.port });
}

if (process.argv[2] === '--child') await runChild(process.argv.slice(3));
