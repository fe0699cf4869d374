// Redis unreachable for 30 s (issue 14): a cluster node keeps serving its clients the whole time — new
// sessions, a local stream, a local P2P rendezvous — logs the outage once rather than per heartbeat or retry,
// and registers again when Redis is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Directory } from '../../src/cluster/directory.ts';
import { createLogger } from '../../src/log.ts';
import { NetConnection } from '../../src/client/net-connection.ts';
import type { PeerConnection } from '../../src/client/peer.ts';
import { hex } from '../../src/bytes.ts';
import { startLoggedServer } from '../helpers/logged-server.ts';
import { redisUnavailable, startRedis } from '../helpers/redis.ts';
import { makeSampleTags } from '../fixtures/media/make-flv.ts';
import { player, publisher, sendTags, until, type Player } from '../streams/helpers.ts';

const skip = redisUnavailable();
const OUTAGE_MS = 30_000;
const UNREACHABLE = 'redis unreachable: local service continues, the directory is rebuilt when it returns';

test('Redis unreachable for 30 s: the node serves its clients throughout and says so once', { skip, timeout: 55_000 }, async (t) => {
  const redis = await startRedis();
  const node = await startLoggedServer([`--cluster.redis=${redis.url}`, '--cluster.name=alone']);
  const clients: NetConnection[] = [];
  const players: Player[] = [];
  const observer = new Directory({
    url: redis.url,
    self: { id: 'observer', name: 'observer', region: '', publicAddress: '127.0.0.1:1', link: '' },
    logger: createLogger({ level: 'fatal', pretty: 'false' }),
  });
  t.after(async () => {
    for (const p of players) await p.nc.close().catch(() => undefined);
    for (const c of clients) await c.close().catch(() => undefined);
    await observer.close();
    await node.close();
    await redis.close();
  });
  const first = await NetConnection.connect(node.url);
  clients.push(first);
  await until(() => node.lines('joined the cluster').length === 1, 'the node registered');

  await redis.kill();
  const started = Date.now();
  const tags = makeSampleTags();
  const mediaTags = tags.filter((tag) => tag.type === 8 || tag.type === 9).length;
  let rounds = 0;
  while (Date.now() - started < OUTAGE_MS) {
    // every round, with Redis away: a new session, a stream played end to end, a rendezvous between local peers
    const name = `outage-${rounds}`;
    const pub = await publisher(node.port, name);
    clients.push(pub.nc);
    const p = await player(node.port, name);
    players.push(p);
    sendTags(pub.stream, tags);
    await until(() => p.media.length === mediaTags, `round ${rounds}: the local stream played in full`);
    const atFirst = once(first.peers, 'peer') as Promise<[PeerConnection]>;
    const toFirst = await p.nc.connectToPeer(first.peerId);
    assert.equal(hex((await atFirst)[0].farPeerId), hex(p.nc.peerId), `round ${rounds}: local rendezvous`);
    await toFirst.close();
    rounds++;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  assert.ok(rounds >= 5, `rounds served during the outage: ${rounds}`);
  assert.equal(node.lines(UNREACHABLE).length, 1, 'the outage is logged once, not per heartbeat or reconnection attempt');

  await redis.restart();
  await until(() => node.lines('redis reachable again').length === 1, 'the node back in the directory', 15_000);
  await observer.start();
  assert.deepEqual(
    observer.nodes.map((n) => n.name),
    ['alone'],
    'registered again after the outage',
  );
  assert.equal((await observer.locatePeer(hex(first.peerId)))?.name, 'alone', 'its peers written back');
});
