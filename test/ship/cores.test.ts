// One process per core on consecutive ports (docs/deploy.md): two real server processes run the documented
// script (docs/examples/cores/www), clients all dial the first port, and each ends up on the process its path
// hashes to, redirected by onHandshake; clients of the same path meet in the same process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { NetConnection } from '../../src/client/index.ts';

const repository = fileURLToPath(new URL('../..', import.meta.url));
const example = `${repository}docs/examples/cores`;

/** The script's hash: the same path, the same process. */
function hash(text: string): number {
  let h = 0;
  for (const byte of Buffer.from(text)) h = (h * 31 + byte) % 2147483647;
  return h;
}

/** Two free consecutive UDP ports on loopback. */
async function consecutivePorts(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const sockets = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    const bound = await Promise.all(
      sockets.map(
        (socket, i) =>
          new Promise<boolean>((resolve) => {
            socket.once('error', () => resolve(false));
            socket.bind(base + i, '127.0.0.1', () => resolve(true));
          }),
      ),
    );
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    if (bound.every(Boolean)) return base;
  }
}

function startProcess(
  port: number,
  targets: string[],
  linkPort = 0,
): { child: ChildProcess; listening: Promise<void>; linked: Promise<void> } {
  const args = [
    '--import',
    'tsx',
    `${repository}src/cli.ts`,
    `--RTMFP.port=${port}`,
    '--RTMFP.host=127.0.0.1',
    '--RTMP.port=0',
    '--HTTP.port=0',
  ];
  args.push(`--application.dir=${example}`, '--logs.pretty=false', '--logs.level=note');
  if (targets.length > 0) args.push(`--servers.targets=${targets.join(';')}`);
  if (linkPort > 0) args.push(`--servers.port=${linkPort}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  // a run cut short (timeout, force-exit) skips t.after: the server must not outlive the test process
  const orphan = (): void => void child.kill('SIGKILL');
  process.once('exit', orphan);
  child.once('exit', () => process.off('exit', orphan));
  let output = '';
  let onLinked = (): void => {};
  const linked = new Promise<void>((resolve) => (onLinked = resolve));
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('RTMFP server listening')) resolve();
      if (output.includes('Connection established with')) onLinked();
    });
    child.once('exit', (code) => reject(new Error(`server on ${port} exited with ${code}: ${output}`)));
  });
  return { child, listening, linked };
}

test('one process per core: onHandshake on the first port spreads paths over the processes', async (t) => {
  const base = await consecutivePorts();
  // the worker's server link listens on the TCP port of its UDP number, as docs/deploy.md does
  const front = startProcess(base, [`127.0.0.1:${base + 1}`]);
  const worker = startProcess(base + 1, [], base + 1);
  const connections: NetConnection[] = [];
  t.after(async () => {
    for (const nc of connections) nc.destroy();
    for (const { child } of [front, worker]) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
  });
  await Promise.all([front.listening, worker.listening]);
  // the first process redirects only once it is linked to the others (mona.servers)
  await front.linked;

  const rooms = ['room1', 'room2', 'room3', 'room4', 'room5', 'room6'];
  const expected = (room: string) => base + (hash(`/${room}`) % 2);
  assert.ok(new Set(rooms.map(expected)).size === 2, 'the rooms cover both processes');
  for (const room of rooms) {
    for (let i = 0; i < 2; i++) {
      const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${base}/${room}`, { timeoutMs: 10_000 });
      connections.push(nc);
      assert.equal(nc.connectInfo?.process, expected(room), `${room}: served by the process its path hashes to`);
      assert.deepEqual(await nc.call('whichProcess'), [expected(room)], `${room}: calls reach the same process`);
    }
  }
});
