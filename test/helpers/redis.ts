// A real redis-server on a free loopback port for a test (Debian's redis-server; .ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freeTcpPort } from './rtmp-client.ts';

export interface TestRedis {
  port: number;
  url: string;
  /** SIGKILL, as a crash */
  kill(): Promise<void>;
  /** a new redis-server on the same port (empty: the directory must be rebuilt by the nodes) */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Why redis-server cannot run here, or undefined when it can. */
export function redisUnavailable(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error ? 'redis-server is not installed (apt-get install -y redis-server)' : undefined;
}

/** `password`: Redis asks for AUTH (requirepass), and `url` carries it. */
export async function startRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const port = await freeTcpPort();
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const auth = options.password ? ['--requirepass', options.password] : [];
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start in 5 s')), 5000);
      let output = '';
      started.stdout.on('data', (data: Buffer) => {
        output += data.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
      });
    });
  };
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await exited;
  };
  await launch();
  return {
    port,
    url: options.password ? `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    kill: () => stop('SIGKILL'),
    restart: async () => {
      await stop('SIGKILL');
      await launch();
    },
    close: () => stop('SIGKILL'),
  };
}
