// Three Nimbus nodes sharing one real redis-server, with no script code: rendezvous by peer id across nodes
// in one step, one NetGroup across nodes, a killed node's peers becoming "unknown", and a Redis restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { redisUnavailable, startRedis, type TestRedis } from '../helpers/redis.ts';
import { Requester } from '../helpers/requester.ts';
import { NetConnection } from '../../src/client/net-connection.ts';
import type { PeerConnection } from '../../src/client/peer.ts';
import { peerEpd } from '../../src/protocols/rtmfp/rendezvous.ts';
import { CHUNK, type RedirectChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { hex } from '../../src/bytes.ts';

const skip = redisUnavailable();

async function startNode(redis: TestRedis, args: string[] = []): Promise<TestServer> {
  const node = await startTestServer({
    args: [`--cluster.redis=${redis.url}`, ...args],
    beforeStart: (server) => {
      server.clusterTimings = { heartbeatMs: 200, nodeTtlMs: 800 };
    },
  });
  return node;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test(
  'cluster: P2P by peer id across nodes, one NetGroup across nodes, a dead node and a Redis restart',
  { skip, timeout: 45_000 },
  async (t) => {
    const redis = await startRedis();
    const nodes: TestServer[] = [];
    const clients: NetConnection[] = [];
    t.after(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      for (const node of nodes) await node.close().catch(() => undefined);
      await redis.close();
    });
    for (let i = 0; i < 3; i++) nodes.push(await startNode(redis));
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    await until(() => nodes.every((n) => n.server.cluster!.directory.nodes.length === 2), 'three nodes to see each other');

    const onA = await NetConnection.connect(`rtmfp://127.0.0.1:${a.port}/`);
    const onB = await NetConnection.connect(`rtmfp://127.0.0.1:${b.port}/`);
    const onC = await NetConnection.connect(`rtmfp://127.0.0.1:${c.port}/`);
    clients.push(onA, onB, onC);

    // a rendezvous on A for a peer held by B: A answers with B's address, in one step
    const requester = await Requester.open();
    try {
      const tag = randomBytes(16);
      await until(async () => (await a.server.cluster!.directory.locatePeer(hex(onB.peerId))) !== undefined, 'B to register its peer');
      requester.ihello(a.port, peerEpd(onB.peerId), tag);
      const answer = await requester.answer(tag);
      assert.equal(answer?.type, CHUNK.REDIRECT);
      assert.deepEqual(
        (answer as RedirectChunk).addresses.map((x) => `${x.host}:${x.port}`),
        [`127.0.0.1:${b.port}`],
      );
    } finally {
      requester.close();
    }

    // the real client follows it and meets B's client peer to peer
    const incoming = once(onB.peers, 'peer') as Promise<[PeerConnection]>;
    const toB = await onA.connectToPeer(onB.peerId);
    const [fromA] = await incoming;
    assert.equal(hex(toB.farPeerId), hex(onB.peerId));
    assert.equal(hex(fromA.farPeerId), hex(onA.peerId));
    await toB.close();

    // one NetGroup, one member per node: each is introduced to the others wherever they are
    const groupId = randomBytes(32);
    const gA = onA.joinGroup(groupId);
    await until(() => a.server.core.groups?.group(groupId)?.size === 1, 'A member on A');
    const gB = onB.joinGroup(groupId);
    await until(() => gB.members.includes(hex(onA.peerId)), 'B to learn of A');
    const gC = onC.joinGroup(groupId);
    await until(() => gC.members.includes(hex(onA.peerId)) && gC.members.includes(hex(onB.peerId)), 'C to learn of A and B');
    await until(() => gA.members.includes(hex(onB.peerId)) && gA.members.includes(hex(onC.peerId)), 'A to learn of B and C');

    // C's member meets B's through the rendezvous of the node it is on
    const fromC = once(onB.peers, 'peer') as Promise<[PeerConnection]>;
    const cToB = await onC.connectToPeer(onB.peerId);
    assert.equal(hex((await fromC)[0].farPeerId), hex(onC.peerId));
    await cToB.close();

    // a publication on C is entered in the directory, and leaves it with its publisher
    const stream = await onC.createNetStream();
    stream.publish('cluster-live');
    await stream.waitStatus('NetStream.Publish.Start');
    await until(
      async () => (await a.server.cluster!.directory.originOf('cluster-live'))?.publicAddress === `127.0.0.1:${c.port}`,
      'the origin of cluster-live',
    );
    stream.closeStream();
    await until(async () => (await a.server.cluster!.directory.originOf('cluster-live')) === undefined, 'cluster-live unpublished');

    // B killed without goodbye: the others drop it within the TTL, its peers become unknown
    const deadPeer = hex(onB.peerId);
    const bDirectory = b.server.cluster!.directory as unknown as { timer: NodeJS.Timeout; redis: { disconnect(): void } };
    clearInterval(bDirectory.timer);
    bDirectory.redis.disconnect();
    await until(() => a.server.cluster!.directory.nodes.length === 1, 'A to see B down', 3000);
    assert.equal(await a.server.cluster!.directory.locatePeer(deadPeer), undefined);
    assert.ok(!a.server.cluster!.remoteMembers(hex(groupId)).includes(deadPeer), "B's member is no longer on A's ring");

    // Redis restarted: sessions go on, the directory is written back
    await redis.restart();
    await until(
      async () => (await a.server.cluster!.directory.locatePeer(hex(onC.peerId)))?.publicAddress === `127.0.0.1:${c.port}`,
      'C written back',
      8000,
    );
    const atC = once(onC.peers, 'peer') as Promise<[PeerConnection]>;
    const aToC = await onA.connectToPeer(onC.peerId);
    assert.equal(hex((await atC)[0].farPeerId), hex(onA.peerId), 'a rendezvous across nodes works again after the restart');
    await aToC.close();
  },
);

test('cluster over TLS Redis ([cluster] ca, an ACL user): two nodes find each other and link', { skip, timeout: 30_000 }, async (t) => {
  const redis = await startRedis({ tls: true, user: 'nimbus', password: 's3cret' });
  const nodes: TestServer[] = [];
  t.after(async () => {
    for (const node of nodes) await node.close().catch(() => undefined);
    await redis.close();
  });
  for (let i = 0; i < 2; i++) nodes.push(await startNode(redis, [`--cluster.ca=${redis.ca!}`]));
  await until(() => nodes.every((n) => n.server.cluster!.directory.nodes.length === 1), 'the nodes to see each other');
  await until(() => nodes.every((n) => n.server.servers.all.length === 1), 'the server link between them');
});
