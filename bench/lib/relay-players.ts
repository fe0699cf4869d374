// Relay benchmark, player process: opens `count` NetConnections (a few at a time, as a crowd arrives), plays
// the stream on each and counts what arrives. Codec configuration is left out of the counts: the publisher
// sent it before the measured run.
// IPC: parent → { cmd: 'report' } | { cmd: 'stop' }; child → { ready: number } | { report: PlayersReport }.
import { NetConnection } from '../../src/client/index.ts';
import { isConfig } from './relay-media.ts';

export interface PlayersReport {
  players: number;
  messages: number;
  bytes: number;
  /** messages whose timestamp went backwards on their track */
  outOfOrder: number;
  /** fragments the server's flows gave up on (unbuffered play) */
  lostFragments: number;
  packetsIn: number;
  packetsOut: number;
}

const [url, name, countText, mode] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countText);
const CONCURRENT_CONNECTS = 10;
const connections: NetConnection[] = [];
const streams: Array<{ lost: number }> = [];
let messages = 0;
let bytes = 0;
let outOfOrder = 0;

async function startPlayer(): Promise<void> {
  const nc = await NetConnection.connect(url, { timeoutMs: 30_000 });
  connections.push(nc);
  const stream = await nc.createNetStream();
  streams.push(stream);
  let lastAudio = -1;
  let lastVideo = -1;
  stream.on('audio', (time, packet) => {
    if (isConfig(packet)) return;
    messages++;
    bytes += packet.length;
    if (time < lastAudio) outOfOrder++;
    lastAudio = time;
  });
  stream.on('video', (time, packet) => {
    if (isConfig(packet)) return;
    messages++;
    bytes += packet.length;
    if (time < lastVideo) outOfOrder++;
    lastVideo = time;
  });
  const started = stream.waitStatus('NetStream.Play.Start', 30_000);
  stream.play(name, mode === 'unbuffered' ? -3 : -2);
  await started;
}

let next = 0;
await Promise.all(
  Array.from({ length: Math.min(CONCURRENT_CONNECTS, count) }, async () => {
    while (next < count) {
      next++;
      await startPlayer();
    }
  }),
);
process.send!({ ready: count });

process.on('message', (m) => {
  const message = m as { cmd: string };
  if (message.cmd === 'report') {
    let packetsIn = 0;
    let packetsOut = 0;
    for (const nc of connections) {
      packetsIn += nc.session?.stats.packetsIn ?? 0;
      packetsOut += nc.session?.stats.packetsOut ?? 0;
    }
    const lostFragments = streams.reduce((sum, s) => sum + s.lost, 0);
    const report: PlayersReport = { players: connections.length, messages, bytes, outOfOrder, lostFragments, packetsIn, packetsOut };
    process.send!({ report });
  } else if (message.cmd === 'stop') {
    for (const nc of connections) nc.destroy('bench over');
    process.exit(0);
  }
});
