// Streams across nodes with no script code: a publisher on A, players on B and C served by their own node,
// which pulls one copy from A over the server link; UnpublishNotify when the origin stops or goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { redisUnavailable, startRedis } from '../helpers/redis.ts';
import { makeSampleTags } from '../fixtures/media/make-flv.ts';
import { player, publisher, sendTags, split, until, type Player } from '../streams/helpers.ts';

const skip = redisUnavailable();
const tags = makeSampleTags();
const expected = (type: number) => tags.filter((t) => t.type === type);

test(
  'cluster streams: publish on A, play on B and C byte-identical, one copy per edge, UnpublishNotify',
  { skip, timeout: 45_000 },
  async (t) => {
    const redis = await startRedis();
    const nodes: TestServer[] = [];
    const players: Player[] = [];
    t.after(async () => {
      for (const p of players) await p.nc.close().catch(() => undefined);
      for (const node of nodes) await node.close().catch(() => undefined);
      await redis.close();
    });
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await startTestServer({
          args: [`--cluster.redis=${redis.url}`],
          beforeStart: (server) => {
            server.clusterTimings = { heartbeatMs: 200, nodeTtlMs: 800 };
          },
        }),
      );
    }
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    // every pair of nodes linked (one link each), as the directory found them
    await until(() => nodes.every((n) => n.server.servers.all.length === 2), 'the nodes to link with each other');

    const pub = await publisher(a.port, 'edge');
    t.after(() => pub.nc.close().catch(() => undefined));
    players.push(await player(b.port, 'edge'), await player(b.port, 'edge'), await player(c.port, 'edge'));
    const origin = a.server.core.publications.get('edge')!;
    // B and C each pull one copy, whatever their number of players
    await until(() => origin.listeners.size === 2, 'one feed per edge node');
    await until(() => [b, c].every((n) => n.server.core.publications.get('edge')?.running === true), 'the copies published on B and C');
    assert.equal(b.server.core.publications.get('edge')!.listeners.size, 2);

    sendTags(pub.stream, tags);
    const total = expected(8).length + expected(9).length;
    await until(() => players.every((p) => p.media.length >= total), 'all media at every player');
    for (const p of players) {
      for (const type of [8, 9]) {
        const got = split(p.media, type);
        const want = expected(type);
        assert.equal(got.length, want.length, `messages of type ${type}`);
        for (let i = 0; i < want.length; i++) {
          assert.equal(got[i]!.time, want[i]!.time, `time of ${type}#${i}`);
          assert.deepEqual(got[i]!.data, want[i]!.data, `bytes of ${type}#${i}`);
        }
      }
      const meta = p.data.find((d) => d.name === 'onMetaData');
      assert.deepEqual(meta?.args[0], { duration: 2, width: 320, height: 240, videocodecid: 7, audiocodecid: 10 });
    }

    // C's only player leaves: C's copy ends and A stops feeding it; B's two players keep theirs
    const leaving = players.pop()!;
    await leaving.nc.close();
    await until(() => origin.listeners.size === 1, "the origin's feed to C released");
    await until(() => c.server.core.publications.get('edge')?.running !== true, "C's copy ended");
    players.push(await player(c.port, 'edge'));
    await until(() => origin.listeners.size === 2, 'pulled again for a new player on C');

    // the publisher stops: every edge player hears it
    pub.stream.closeStream();
    await until(() => players.every((p) => p.statuses.includes('NetStream.Play.UnpublishNotify')), 'UnpublishNotify at the edges');

    // published again, then the origin node goes away: the edges' players are told, nothing hangs
    const again = await pub.nc.createNetStream();
    const started = again.waitStatus('NetStream.Publish.Start');
    again.publish('edge');
    await started;
    await until(
      () => players.every((p) => p.statuses.filter((s) => s === 'NetStream.Play.PublishNotify').length >= 2),
      'PublishNotify again',
    );
    for (const p of players) p.statuses.length = 0;
    await a.close();
    await until(
      () => players.every((p) => p.statuses.includes('NetStream.Play.UnpublishNotify')),
      'UnpublishNotify when the origin node is gone',
    );
    await until(() => [b, c].every((n) => n.server.core.publications.get('edge')?.running !== true), 'the copies ended');
  },
);

test(
  'cluster streams: a player waiting on B before the stream exists gets it when A publishes it',
  { skip, timeout: 30_000 },
  async (t) => {
    const redis = await startRedis();
    const nodes: TestServer[] = [];
    t.after(async () => {
      for (const node of nodes) await node.close().catch(() => undefined);
      await redis.close();
    });
    for (let i = 0; i < 2; i++) {
      nodes.push(
        await startTestServer({
          args: [`--cluster.redis=${redis.url}`],
          beforeStart: (server) => {
            server.clusterTimings = { heartbeatMs: 200, nodeTtlMs: 800 };
          },
        }),
      );
    }
    const [a, b] = nodes as [TestServer, TestServer];
    await until(() => nodes.every((n) => n.server.servers.all.length === 1), 'the nodes to link');

    const waiting = await player(b.port, 'later');
    t.after(() => waiting.nc.close().catch(() => undefined));
    await until(() => waiting.statuses.includes('NetStream.Play.Start'), 'Play.Start on B');
    assert.equal(b.server.core.publications.get('later')?.running, false);

    const pub = await publisher(a.port, 'later');
    t.after(() => pub.nc.close().catch(() => undefined));
    await until(() => waiting.statuses.includes('NetStream.Play.PublishNotify'), 'PublishNotify on B once A publishes');
    sendTags(pub.stream, tags);
    const total = expected(8).length + expected(9).length;
    await until(() => waiting.media.length >= total, 'all media at the waiting player');
    for (const type of [8, 9])
      assert.deepEqual(
        split(waiting.media, type).map((m) => m.data),
        expected(type).map((m) => m.data),
      );
  },
);
