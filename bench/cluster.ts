// Cluster mode on one machine: 3 nodes sharing one redis-server, 1 publisher on node A, N players spread over
// A, B and C (all clients in processes apart from the servers'). Reports per-node CPU and RSS, the loss at the
// players, and what the origin sent over its server links: one copy of the stream per edge node, whatever the
// number of players there. Needs redis-server (prints `skipped` without it).
// The stream first runs for a warm-up (--warmup seconds, rounded up to whole key-frame intervals so that the counted
// run starts on a key frame), its loss reported apart: at its start seven cold processes (three servers, three
// player processes, the publisher) compile and allocate at once on the same cores, and the players fall behind
// by hundreds of milliseconds. The counted run is the steady state an operator's nodes live in.
// Run: node --import tsx bench/cluster.ts [--players=300] [--seconds=15] [--kbps=600] [--warmup=4]   (npm run build first)
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { startServerProcess, type ServerProcess, type ServerSnapshot } from './lib/server-process.ts';
import { MB, cpuMs, round } from './lib/measure.ts';
import type { PlayersReport } from './lib/relay-players.ts';
import type { PublisherReport } from './lib/relay-publisher.ts';
import { reply } from './lib/child.ts';
import { warmUp, warmupSeconds } from './lib/warmup.ts';
import { redisUnavailable, startRedis } from '../test/helpers/redis.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const PLAYERS = Number(option('players', '300'));
const SECONDS = Number(option('seconds', '15'));
const KBPS = Number(option('kbps', '600'));
const NODES = 3;
const PLAYERS_PER_PROCESS = 100;
const DRAIN_MS = Number(option('drain', '2000'));
const WARMUP = warmupSeconds(Number(option('warmup', '4')));

const lib = (file: string) => fileURLToPath(new URL(`./lib/${file}`, import.meta.url));
const start = (file: string, args: string[]): ChildProcess =>
  fork(lib(file), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

/** media the listeners dropped or skipped, and the sessions' congestion events (bench/lib/server-child.mjs) */
const NODE_EVENTS = ['droppedForCongestion', 'skippedUntilKeyFrame', 'timeouts', 'spuriousTimeouts', 'nakLosses'];
const linkBytesOut = (s: ServerSnapshot) => s.links.reduce((total, link) => total + link.bytesOut, 0);

async function until(condition: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const unavailable = redisUnavailable();
if (unavailable) {
  console.log(JSON.stringify({ bench: 'cluster', skipped: unavailable }));
  process.exit(0);
}

const redis = await startRedis();
const nodes: ServerProcess[] = [];
const children: ChildProcess[] = [];
try {
  for (let i = 0; i < NODES; i++) nodes.push(await startServerProcess([`--cluster.redis=${redis.url}`, `--cluster.name=node${i}`]));
  await until(
    async () => (await Promise.all(nodes.map((n) => n.snapshot()))).every((s) => s.links.length === NODES - 1),
    'the nodes to link',
  );
  const [origin] = nodes as [ServerProcess];
  const name = 'cluster';
  const publisher = start('relay-publisher.ts', [origin.url(), name, String(KBPS)]);
  children.push(publisher);
  await reply(publisher, 'ready');
  const groups: ChildProcess[] = [];
  const groupNode: number[] = [];
  const perNode = Math.ceil(PLAYERS / NODES);
  for (const [index, node] of nodes.entries()) {
    for (let left = Math.min(perNode, PLAYERS - index * perNode); left > 0; left -= PLAYERS_PER_PROCESS) {
      const group = start('relay-players.ts', [node.url(), name, String(Math.min(left, PLAYERS_PER_PROCESS)), 'reliable']);
      groups.push(group);
      groupNode.push(index);
      children.push(group);
    }
  }
  await Promise.all(groups.map((g) => reply(g, 'ready')));
  // the edges' pulls are set up when their first player subscribes: give them a moment
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  const sum = (reports: PlayersReport[]) =>
    reports.reduce((t, r) => ({ messages: t.messages + r.messages, bytes: t.bytes + r.bytes }), { messages: 0, bytes: 0 });
  const report = () => Promise.all(groups.map((g) => reply<PlayersReport>(g, 'report', { cmd: 'report' })));
  const warmupLoss = WARMUP > 0 ? await warmUp(publisher, WARMUP, DRAIN_MS, PLAYERS, async () => sum(await report()).messages) : 0;
  const reportsBefore = await report();
  const playersBefore = sum(reportsBefore);
  const before = await Promise.all(nodes.map((n) => n.snapshot()));
  const sent = await reply<PublisherReport>(publisher, 'sent', { cmd: 'go', seconds: SECONDS });
  await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
  const after = await Promise.all(nodes.map((n) => n.snapshot()));
  const reportsAfter = await report();
  const playersAfter = sum(reportsAfter);
  /** loss at the players of node i */
  const lossAt = (i: number): number => {
    let players = 0;
    let got = 0;
    groups.forEach((_, g) => {
      if (groupNode[g] !== i) return;
      players += reportsAfter[g]!.players;
      got += reportsAfter[g]!.messages - reportsBefore[g]!.messages;
    });
    return players === 0 ? 0 : 1 - got / (sent.messages * players);
  };

  const wall = sent.seconds + DRAIN_MS / 1000;
  const expected = sent.messages * PLAYERS;
  const received = playersAfter.messages - playersBefore.messages;
  const deliveredMbit = ((playersAfter.bytes - playersBefore.bytes) * 8) / 1e6;
  const originLinkBytes = linkBytesOut(after[0]!) - linkBytesOut(before[0]!);
  console.log(
    JSON.stringify({
      bench: 'cluster',
      nodes: NODES,
      players: PLAYERS,
      playersPerNode: perNode,
      publishKbps: round((sent.bytes * 8) / 1000 / sent.seconds, 1),
      seconds: round(sent.seconds, 1),
      warmupSeconds: WARMUP,
      warmupLoss: round(warmupLoss, 5),
      loss: round(1 - received / expected, 5),
      messagesExpected: expected,
      messagesReceived: received,
      deliveredMbit: round(deliveredMbit, 1),
      perNode: nodes.map((_, i) => {
        const cpu = cpuMs(before[i]!, after[i]!) / 1000;
        return {
          node: i === 0 ? 'origin' : `edge${i}`,
          cpuSeconds: round(cpu, 2),
          cpuPercent: round((cpu / wall) * 100, 1),
          rssMB: round(after[i]!.memory.rss / MB, 1),
          playerLoss: round(lossAt(i), 5),
          // what the node's listeners and sessions went through in the counted run
          events: Object.fromEntries(NODE_EVENTS.map((key) => [key, (after[i]!.stats[key] ?? 0) - (before[i]!.stats[key] ?? 0)])),
          linkMbitOut: round(((linkBytesOut(after[i]!) - linkBytesOut(before[i]!)) * 8) / 1e6, 2),
        };
      }),
      // one copy per edge node: the origin's link traffic over what the publisher sent, ≈ NODES - 1 (framing aside)
      originLinkCopies: round(originLinkBytes / sent.bytes, 2),
    }),
  );
} finally {
  for (const child of children) if (child.connected) child.send({ cmd: 'stop' });
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
  for (const node of nodes) await node.stop();
  await redis.close();
}
