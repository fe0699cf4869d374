// A Nimbus node as its own process (node src/cli.ts), for tests of several servers linked together: its JSON
// log lines are kept, and it can be killed (SIGKILL), frozen (SIGSTOP) and restarted on the same ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { freeTcpPort } from './rtmp-client.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export interface NodeSpec {
  /** folder holding www/ */
  dir: string;
  /** extra arguments (--servers.targets=...) */
  args?: string[];
}

export class NodeProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  private child: ChildProcess | undefined;

  private constructor(
    readonly spec: NodeSpec,
    readonly rtmfpPort: number,
    readonly serversPort: number,
  ) {}

  static async start(spec: NodeSpec): Promise<NodeProcess> {
    const node = new NodeProcess(spec, await freeUdpPort(), await freeTcpPort());
    try {
      await node.run();
    } catch (error) {
      // a node that did not come up is never left behind
      await node.stop();
      throw error;
    }
    return node;
  }

  get url(): string {
    return `rtmfp://127.0.0.1:${this.rtmfpPort}/`;
  }

  get serversAddress(): string {
    return `127.0.0.1:${this.serversPort}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process (again, on the same ports) and waits for its RTMFP socket and server link. */
  async run(): Promise<void> {
    const args = [
      '--import',
      'tsx',
      CLI,
      `--application.dir=${this.spec.dir}`,
      `--RTMFP.port=${this.rtmfpPort}`,
      '--RTMFP.host=127.0.0.1',
      '--RTMP.port=0',
      '--HTTP.port=0',
      `--servers.port=${this.serversPort}`,
      '--logs.pretty=false',
      '--logs.level=info',
      ...(this.spec.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // a run cut short (timeout, force-exit) skips t.after: the node must not outlive the test process
    const orphan = (): void => void child.kill('SIGKILL');
    process.once('exit', orphan);
    child.once('exit', () => process.off('exit', orphan));
    this.child = child;
    let rest = '';
    child.stdout.on('data', (chunk: Buffer) => {
      rest += chunk.toString();
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => this.lines.push({ msg: chunk.toString(), stderr: true }));
    const from = this.lines.length;
    await this.waitLog(/Servers incoming connection/, 30_000, from);
  }

  /** The first log line (from index `from`) whose message matches, waiting for it. */
  async waitLog(pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find((l) => pattern.test(String(l.msg)));
      if (found) return found;
      if (!this.running) throw new Error(`node exited waiting for ${pattern}: ${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${this.tail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(String(l.msg))).length;
  }

  tail(n = 8): string {
    return this.lines
      .slice(-n)
      .map((l) => String(l.msg))
      .join(' | ');
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (a clean stop), SIGKILL if it does not exit in 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
