// A UDP proxy standing between RTMFP clients and a server, losing and reordering datagrams on both legs,
// so that tests exercise retransmission, forward sequence numbers and reassembly over a bad network.
// Decisions come from a seeded generator per leg (one for each direction of each client), so a run's
// pattern of losses depends only on the seed and on how many datagrams went that way before.
import dgram from 'node:dgram';

export interface LossyRelayOptions {
  /** the server to forward to */
  target: { host: string; port: number };
  /** fraction of datagrams dropped on each leg (default 0.05) */
  loss?: number;
  /** fraction of the datagrams that go through held back and sent after the next one on that leg (default 0.05) */
  reorder?: number;
  /** a held datagram that no other one overtakes goes out after this many ms (default 5) */
  holdMs?: number;
  seed?: number;
  /** datagrams each leg lets through before the first loss (e.g. to spare a handshake); default 0 */
  spareFirst?: number;
}

export interface LegStats {
  forwarded: number;
  dropped: number;
  reordered: number;
}

export interface LossyRelay {
  /** the port clients connect to */
  readonly port: number;
  /** totals over every client: client → server and server → client */
  readonly upstream: LegStats;
  readonly downstream: LegStats;
  close(): Promise<void>;
}

/** xorshift32: small, fast and the same on every platform. */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

type LegSettings = Required<Omit<LossyRelayOptions, 'target' | 'seed'>>;

/** One direction of one client's traffic: drops, holds back one datagram at a time, forwards the rest. */
class Leg {
  private readonly random: () => number;
  private readonly options: LegSettings;
  private readonly stats: LegStats;
  private readonly send: (datagram: Uint8Array) => void;
  private held: Uint8Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seen = 0;

  constructor(seed: number, options: LegSettings, stats: LegStats, send: (datagram: Uint8Array) => void) {
    this.random = generator(seed);
    this.options = options;
    this.stats = stats;
    this.send = send;
  }

  push(datagram: Uint8Array): void {
    // both draws are taken for every datagram so that one decision never shifts the other's sequence
    const lose = this.random() < this.options.loss;
    const hold = this.random() < this.options.reorder;
    if (this.seen++ >= this.options.spareFirst && lose) {
      this.stats.dropped++;
      return;
    }
    if (hold && !this.held) {
      this.held = datagram;
      this.timer = setTimeout(() => this.release(), this.options.holdMs);
      this.stats.reordered++;
      return;
    }
    this.forward(datagram);
    this.release();
  }

  close(): void {
    clearTimeout(this.timer);
    this.held = undefined;
  }

  private release(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    this.forward(held);
  }

  private forward(datagram: Uint8Array): void {
    this.stats.forwarded++;
    this.send(datagram);
  }
}

interface Peer {
  socket: dgram.Socket;
  up: Leg;
  down: Leg;
}

export async function startLossyRelay(options: LossyRelayOptions): Promise<LossyRelay> {
  const settings = {
    loss: options.loss ?? 0.05,
    reorder: options.reorder ?? 0.05,
    holdMs: options.holdMs ?? 5,
    spareFirst: options.spareFirst ?? 0,
  };
  const seed = options.seed ?? 1;
  const upstream: LegStats = { forwarded: 0, dropped: 0, reordered: 0 };
  const downstream: LegStats = { forwarded: 0, dropped: 0, reordered: 0 };
  const front = dgram.createSocket('udp4');
  const peers = new Map<string, Peer>();
  let closed = false;

  const peerOf = (address: string, port: number): Peer => {
    const key = `${address}:${port}`;
    let peer = peers.get(key);
    if (peer) return peer;
    // one upstream socket per client: the server sees each client at its own address, as without the relay
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    const index = peers.size;
    const up = new Leg(seed * 7919 + index * 2, settings, upstream, (d) => {
      if (!closed) socket.send(d, options.target.port, options.target.host);
    });
    const down = new Leg(seed * 7919 + index * 2 + 1, settings, downstream, (d) => {
      if (!closed) front.send(d, port, address);
    });
    socket.on('message', (datagram) => down.push(datagram));
    socket.on('error', () => {});
    peer = { socket, up, down };
    peers.set(key, peer);
    return peer;
  };

  front.on('message', (datagram, from) => peerOf(from.address, from.port).up.push(datagram));
  front.on('error', () => {});
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
  const port = front.address().port;

  return {
    port,
    upstream,
    downstream,
    async close() {
      closed = true;
      const sockets = [front, ...[...peers.values()].map((p) => p.socket)];
      for (const peer of peers.values()) {
        peer.up.close();
        peer.down.close();
      }
      peers.clear();
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
