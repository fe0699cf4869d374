// The server link (src/servers/, docs/servers.md), measured between processes over loopback:
//  1. messages/s and added latency over one link: this process is a raw server-link peer of a Nimbus node whose
//     script echoes each "echo" RPC back (decode, Lua call, encode, send): round trips one at a time (latency),
//     then a pipelined burst (messages/s).
//  2. CPU per relayed Mbit on the receiving node: a publisher on node A, players on node B, the stream forwarded
//     by the publication-forwarding application (server RPCs per packet, script publications on B); compared with
//     the same publisher and players on a third node linked to nobody (a local publication). CPU from /proc.
// Run: node --import tsx bench/servers.ts [--seconds=10] [--kbps=1000] [--players=10] [--messages=20000]
//   → two JSON lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { FrameReader, ReceivingRefs, SendingRefs, encodeHello } from '../src/servers/wire.ts';
import { NetConnection } from '../src/client/index.ts';
import { SyntheticStream } from './lib/relay-media.ts';
import { procSnapshot } from './lib/proc-usage.ts';
import { round } from './lib/measure.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SECONDS = Number(option('seconds', '10'));
const KBPS = Number(option('kbps', '1000'));
const PLAYERS = Number(option('players', '10'));
const MESSAGES = Number(option('messages', '20000'));
// the forwarding test's application, which also echoes for the round-trip measure
const DIR = fileURLToPath(new URL('../test/fixtures/servers/forward', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

async function freePort(udp: boolean): Promise<number> {
  if (udp) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const port = s.address().port;
    s.close();
    return port;
  }
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Node {
  child: ChildProcess;
  rtmfp: number;
  link: number;
  stop(): Promise<void>;
}

async function startNode(args: string[] = []): Promise<Node> {
  const rtmfp = await freePort(true);
  const link = await freePort(false);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
      `--application.dir=${DIR}`,
      `--RTMFP.port=${rtmfp}`,
      '--RTMFP.host=127.0.0.1',
      '--RTMP.port=0',
      '--HTTP.port=0',
      `--servers.port=${link}`,
      '--logs.level=warn',
      '--logs.pretty=false',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // ready when its link port answers
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: link });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 300) throw new Error('node did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
  return {
    child,
    rtmfp,
    link,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A raw server-link peer: echo round trips. */
async function linkBench(node: Node): Promise<Record<string, unknown>> {
  const socket: Socket = connect({ host: '127.0.0.1', port: node.link });
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay(true);
  const reader = new FrameReader(64 * 1024 * 1024);
  const receiving = new ReceivingRefs();
  const sending = new SendingRefs();
  let echoed = 0;
  let helloed = false;
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    for (const body of reader.push(chunk)) {
      const frame = receiving.decode(body);
      if (frame.kind === 'hello') helloed = true;
      else if (frame.kind === 'message' && frame.handler === 'echoed') echoed++;
    }
    waiter?.();
  });
  const until = (cond: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (cond() ? ((waiter = undefined), resolve()) : undefined);
      waiter = check;
      check();
    });
  socket.write(encodeHello([['bench', '1']]));
  process.stderr.write('bench servers: hello sent\n');
  await until(() => helloed);
  process.stderr.write('bench servers: linked\n');
  await new Promise((r) => setTimeout(r, 200));
  const name = new TextEncoder().encode('echo');
  // "m1", 42: MonaServer's worked example payload, plus a 60-byte binary string (its U29 length fits one byte)
  const payload = Buffer.concat([Buffer.from('1106056d3111042a11', 'hex'), Buffer.from([0x06, (60 << 1) | 1]), Buffer.alloc(60, 7)]);
  const rtts: number[] = [];
  for (let i = 0; i < 500; i++) {
    const before = echoed;
    const t0 = process.hrtime.bigint();
    socket.write(sending.frame(name, payload));
    await until(() => echoed > before);
    rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  rtts.sort((a, b) => a - b);
  const before = echoed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) socket.write(sending.frame(name, payload));
  await until(() => echoed - before >= MESSAGES);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  socket.destroy();
  return {
    bench: 'servers-link',
    payloadBytes: payload.length,
    roundTripMedianMs: round(rtts[rtts.length >> 1]!, 3),
    roundTripP99Ms: round(rtts[Math.floor(rtts.length * 0.99)]!, 3),
    // one-way: half a round trip through this node (receive, Lua RPC, send); a relay crosses one link one way
    addedLatencyMedianMs: round(rtts[rtts.length >> 1]! / 2, 3),
    messagesPerSecond: Math.round(MESSAGES / seconds),
  };
}

/** Publisher on `pubPort`, players on `playPort`: B's CPU seconds per Mbit it delivered to its players. */
async function relayRun(
  pubPort: number,
  playPort: number,
  pid: number,
  name: string,
): Promise<{ cpuSecondsPerMbit: number; deliveredMbit: number }> {
  const pub = await NetConnection.connect(`rtmfp://127.0.0.1:${pubPort}/live`);
  const stream = await pub.createNetStream();
  const started = stream.waitStatus('NetStream.Publish.Start');
  stream.publish(name);
  await started;
  await new Promise((r) => setTimeout(r, 300));
  let bytes = 0;
  const players = await Promise.all(
    Array.from({ length: PLAYERS }, async () => {
      const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${playPort}/live`);
      const s = await nc.createNetStream();
      s.on('audio', (_t, d) => (bytes += d.length));
      s.on('video', (_t, d) => (bytes += d.length));
      const playing = s.waitStatus('NetStream.Play.Start');
      s.play(name);
      await playing;
      return nc;
    }),
  );
  const media = new SyntheticStream(KBPS);
  const before = procSnapshot(pid);
  const start = Date.now();
  while (Date.now() - start < SECONDS * 1000) {
    for (const tag of media.next(Date.now() - start)) {
      if (tag.type === 8) stream.sendAudio(tag.time, tag.data);
      else stream.sendVideo(tag.time, tag.data);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = procSnapshot(pid);
  const cpu = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1e6;
  const mbit = (bytes * 8) / 1e6;
  await Promise.all(players.map((p) => p.close()));
  await pub.close();
  return { cpuSecondsPerMbit: round(cpu / mbit, 5), deliveredMbit: round(mbit, 2) };
}

process.stderr.write('bench servers: starting nodes\n');
const a = await startNode();
const b = await startNode([`--servers.targets=127.0.0.1:${a.link}`]);
// the local baseline runs on a node linked to nobody, so that it forwards nothing
const c = await startNode();
try {
  await new Promise((r) => setTimeout(r, 1500)); // B links to A
  console.log(JSON.stringify(await linkBench(a)));
  const relayed = await relayRun(a.rtmfp, b.rtmfp, b.child.pid!, 'relayed');
  const local = await relayRun(c.rtmfp, c.rtmfp, c.child.pid!, 'local');
  console.log(
    JSON.stringify({
      bench: 'servers-relay',
      kbps: KBPS,
      players: PLAYERS,
      seconds: SECONDS,
      relayedCpuSecondsPerMbit: relayed.cpuSecondsPerMbit,
      localCpuSecondsPerMbit: local.cpuSecondsPerMbit,
      relayedOverLocal: round(relayed.cpuSecondsPerMbit / local.cpuSecondsPerMbit, 2),
      relayedDeliveredMbit: relayed.deliveredMbit,
      localDeliveredMbit: local.deliveredMbit,
    }),
  );
} finally {
  await Promise.all([a.stop(), b.stop(), c.stop()]);
}
