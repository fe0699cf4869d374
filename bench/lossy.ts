// One live stream to N players through an emulated lossy, limited path, all in this process: the server, a
// publisher at --kbps, N "constrained" players behind the path, and one "unconstrained" player straight on
// loopback. The path, between the players and the server, delays each direction by RTT/2, loses --loss of the
// datagrams each way, and puts the server → player direction through a --bottleneck kbit/s link with a drop-tail
// queue of --queue KiB; with --path=shared (default) all constrained players share that one link (the path
// cannot carry N copies of the stream: the server must drop media, not flood it), with --path=each every
// player has its own link (the stream fits: goodput and latency show how well loss is repaired).
// Reports, per group of players: goodput (media payload kbit/s per player), latency (time from the publisher's
// send to a player's receipt, carried in the payload), share of the published media received; the server's
// retransmission ratio (fragments resent / fragments sent to the constrained players) and what the path dropped.
// Run: node --import tsx bench/lossy.ts [--players=30] [--seconds=20] [--kbps=580] [--loss=0.01] [--rtt=50]
//        [--bottleneck=1000] [--queue=64] [--path=shared|each]
import dgram from 'node:dgram';
import { Nimbus } from '../src/nimbus.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { acceptAll } from '../src/core/ports.ts';
import { NetConnection } from '../src/client/index.ts';
import type { NetStream } from '../src/client/net-stream.ts';
import { AAC_SEQUENCE_HEADER, AVC_SEQUENCE_HEADER, SyntheticStream, isConfig } from './lib/relay-media.ts';
import { round } from './lib/measure.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const PLAYERS = Number(option('players', '30'));
const SECONDS = Number(option('seconds', '20'));
const KBPS = Number(option('kbps', '580'));
const LOSS = Number(option('loss', '0.01'));
const RTT_MS = Number(option('rtt', '50'));
const BOTTLENECK_KBPS = Number(option('bottleneck', '1000'));
const QUEUE_BYTES = Number(option('queue', '64')) * 1024;
const PATH = option('path', 'shared') as 'shared' | 'each';
/** players join, then the publisher runs this long before the measurement starts */
const WARMUP_MS = 3_000;
/** where the publisher writes its send time into each media payload (past the FLV audio/video headers) */
const STAMP_AT = 8;

/** xorshift32, seeded: the same losses every run */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

interface LinkStats {
  forwarded: number;
  randomLoss: number;
  queueDrops: number;
}

/** A serialising link: datagrams leave one after the other at `kbps`, past `queueBytes` waiting they are dropped. */
class Link {
  private busyUntil = 0;
  constructor(
    private readonly kbps: number,
    private readonly queueBytes: number,
    readonly stats: LinkStats,
  ) {}

  /** When the datagram has left the link, or undefined when the queue is full. */
  admit(size: number, now: number): number | undefined {
    const start = Math.max(now, this.busyUntil);
    const backlog = (start - now) * (this.kbps / 8); // bytes still ahead of it
    if (backlog + size > this.queueBytes) {
      this.stats.queueDrops++;
      return undefined;
    }
    this.busyUntil = start + (size * 8) / this.kbps;
    return this.busyUntil;
  }
}

interface PathStats {
  up: { forwarded: number; randomLoss: number };
  down: LinkStats;
}

/** A UDP proxy in front of the server: one upstream socket per client, so the server sees each at its own port. */
async function startPath(target: number, seed: number): Promise<{ port: number; stats: PathStats; close(): Promise<void> }> {
  const stats: PathStats = { up: { forwarded: 0, randomLoss: 0 }, down: { forwarded: 0, randomLoss: 0, queueDrops: 0 } };
  const shared = new Link(BOTTLENECK_KBPS, QUEUE_BYTES, stats.down);
  const random = generator(seed);
  const oneWay = RTT_MS / 2;
  const front = dgram.createSocket('udp4');
  const sockets: dgram.Socket[] = [front];
  const peers = new Map<string, dgram.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) action();
    }, ms);
    timers.add(timer);
  };
  const peerOf = (address: string, port: number): dgram.Socket => {
    const key = `${address}:${port}`;
    let socket = peers.get(key);
    if (socket) return socket;
    const link = PATH === 'shared' ? shared : new Link(BOTTLENECK_KBPS, QUEUE_BYTES, stats.down);
    const upstream = dgram.createSocket('udp4');
    upstream.bind(0, '127.0.0.1');
    upstream.on('error', () => {});
    upstream.on('message', (datagram) => {
      if (random() < LOSS) {
        stats.down.randomLoss++;
        return;
      }
      const now = performance.now();
      const leaves = link.admit(datagram.length + 28, now);
      if (leaves === undefined) return;
      stats.down.forwarded++;
      later(leaves - now + oneWay, () => front.send(datagram, port, address));
    });
    sockets.push(upstream);
    peers.set(key, upstream);
    socket = upstream;
    return socket;
  };
  front.on('error', () => {});
  front.on('message', (datagram, from) => {
    const upstream = peerOf(from.address, from.port);
    if (random() < LOSS) {
      stats.up.randomLoss++;
      return;
    }
    stats.up.forwarded++;
    later(oneWay, () => upstream.send(datagram, target, '127.0.0.1'));
  });
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
  return {
    port: front.address().port,
    stats,
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

interface Watched {
  nc: NetConnection;
  stream: NetStream;
  bytes: number;
  messages: number;
  latencies: number[];
  measuring: boolean;
}

async function watch(port: number, name: string): Promise<Watched> {
  const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${port}/live`, { timeoutMs: 30_000 });
  const stream = await nc.createNetStream();
  const w: Watched = { nc, stream, bytes: 0, messages: 0, latencies: [], measuring: false };
  const onMedia = (_time: number, packet: Uint8Array) => {
    if (!w.measuring || isConfig(packet) || packet.length < STAMP_AT + 8) return;
    w.messages++;
    w.bytes += packet.length;
    w.latencies.push(performance.now() - new DataView(packet.buffer, packet.byteOffset + STAMP_AT, 8).getFloat64(0));
  };
  stream.on('audio', onMedia);
  stream.on('video', onMedia);
  const started = stream.waitStatus('NetStream.Play.Start', 30_000);
  stream.play(name);
  await started;
  return w;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function summary(group: Watched[], published: { messages: number; bytes: number }, seconds: number): Record<string, unknown> {
  const goodputs = group.map((w) => (w.bytes * 8) / 1000 / seconds).sort((a, b) => a - b);
  const latencies = group.flatMap((w) => w.latencies).sort((a, b) => a - b);
  return {
    players: group.length,
    goodputKbps: { median: round(percentile(goodputs, 50), 1), min: round(goodputs[0] ?? NaN, 1), max: round(goodputs.at(-1) ?? NaN, 1) },
    receivedShare: round(group.reduce((s, w) => s + w.messages, 0) / group.length / Math.max(1, published.messages), 3),
    latencyMs: {
      p50: round(percentile(latencies, 50), 0),
      p95: round(percentile(latencies, 95), 0),
      p99: round(percentile(latencies, 99), 0),
    },
  };
}

async function main(): Promise<void> {
  const { config } = loadConfig(['--RTMFP.port=0', '--RTMFP.host=127.0.0.1', '--RTMP.port=0'], { cwd: process.cwd(), env: {} });
  const server = new Nimbus({ config, logger: createLogger({ level: 'fatal', pretty: 'false' }), application: acceptAll });
  await server.start();
  const serverPort = server.rtmfp.address.port;
  const path = await startPath(serverPort, 0x5eed);
  const connections: NetConnection[] = [];
  try {
    const name = 'lossy';
    const pub = await NetConnection.connect(`rtmfp://127.0.0.1:${serverPort}/live`);
    connections.push(pub);
    const publishing = await pub.createNetStream();
    const started = publishing.waitStatus('NetStream.Publish.Start');
    publishing.publish(name);
    await started;
    publishing.sendVideo(0, AVC_SEQUENCE_HEADER);
    publishing.sendAudio(0, AAC_SEQUENCE_HEADER);

    const constrained: Watched[] = [];
    for (let i = 0; i < PLAYERS; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, PLAYERS - i) }, () => watch(path.port, name)));
      constrained.push(...batch);
    }
    const free = await watch(serverPort, name);
    connections.push(...constrained.map((w) => w.nc), free.nc);

    // the publisher: real-time pacing, every media payload stamped with its send time
    const media = new SyntheticStream(KBPS);
    const published = { messages: 0, bytes: 0 };
    let measuring = false;
    const t0 = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      for (const tag of media.next(now - t0)) {
        if (tag.data.length >= STAMP_AT + 8)
          new DataView(tag.data.buffer, tag.data.byteOffset + STAMP_AT, 8).setFloat64(0, performance.now());
        if (tag.type === 0x08) publishing.sendAudio(tag.time, tag.data);
        else publishing.sendVideo(tag.time, tag.data);
        if (measuring) {
          published.messages++;
          published.bytes += tag.data.length;
        }
      }
    }, 10);

    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const sessions = constrained.map((w) => server.rtmfp.sessions.get(w.nc.session!.farId)!);
    const counters = () => {
      let retransmissions = 0;
      let fragments = 0;
      for (const session of sessions) {
        for (const { id } of session.describe().writers) {
          const writer = session.writer(id);
          if (!writer) continue;
          retransmissions += writer.stats.retransmissions;
          fragments += writer.stats.fragmentsSent;
        }
      }
      return { retransmissions, fragments };
    };
    const before = counters();
    const pathBefore = JSON.parse(JSON.stringify(path.stats)) as PathStats;
    measuring = true;
    for (const w of [...constrained, free]) w.measuring = true;
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    measuring = false;
    for (const w of [...constrained, free]) w.measuring = false;
    const seconds = (performance.now() - start) / 1000;
    clearInterval(timer);
    const after = counters();
    const publication = server.core.publications.get(name);
    const listenerDrops = publication
      ? [...publication.listeners.values()].reduce((s, l) => s + l.droppedMessages + l.videoQOS.droppedFrames, 0)
      : 0;
    // congestion state of the constrained sessions where the server has one (not before congestion control)
    const windows = sessions.map(
      (s) => (s as unknown as { congestion?: { cwnd: number; erto: number; stats: Record<string, number> } }).congestion,
    );
    const congestion = windows[0]
      ? {
          cwndMedian: percentile(
            windows.map((c) => c!.cwnd).sort((x, y) => x - y),
            50,
          ),
          ertoMedian: round(
            percentile(
              windows.map((c) => c!.erto).sort((x, y) => x - y),
              50,
            ),
            0,
          ),
          nakLosses: windows.reduce((t, c) => t + c!.stats.nakLosses!, 0),
          timeouts: windows.reduce((t, c) => t + c!.stats.timeouts!, 0),
          decreases: windows.reduce((t, c) => t + c!.stats.decreases!, 0),
        }
      : undefined;
    const fragments = after.fragments - before.fragments;
    const retransmissions = after.retransmissions - before.retransmissions;
    console.log(
      JSON.stringify({
        bench: 'lossy',
        path: PATH,
        players: PLAYERS,
        seconds: round(seconds, 1),
        streamKbps: KBPS,
        loss: LOSS,
        rttMs: RTT_MS,
        bottleneckKbps: BOTTLENECK_KBPS,
        queueKiB: QUEUE_BYTES / 1024,
        published: { messages: published.messages, kbps: round((published.bytes * 8) / 1000 / seconds, 1) },
        constrained: summary(constrained, published, seconds),
        unconstrained: summary([free], published, seconds),
        server: {
          fragmentsSent: fragments,
          retransmissions,
          retransmissionRatio: round(retransmissions / Math.max(1, fragments), 3),
          listenerDrops,
          congestion,
        },
        pathDrops: {
          downQueue: path.stats.down.queueDrops - pathBefore.down.queueDrops,
          downRandom: path.stats.down.randomLoss - pathBefore.down.randomLoss,
          downForwarded: path.stats.down.forwarded - pathBefore.down.forwarded,
          upRandom: path.stats.up.randomLoss - pathBefore.up.randomLoss,
        },
      }),
    );
  } finally {
    for (const nc of connections) nc.destroy('bench over');
    await path.close();
    await server.close();
  }
}

await main();
