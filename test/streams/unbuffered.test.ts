import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { makeSampleTags } from '../fixtures/media/make-flv.ts';
import { player, publisher, sendTags, until } from './helpers.ts';

test('play(name, -3) and name?unbuffered=true make unbuffered listeners; parameters reach the listener', async () => {
  const server = await startTestServer();
  try {
    const pub = await publisher(server.port, 'live');
    const cumulus = await player(server.port, 'live', -3);
    const mona = await player(server.port, 'live?unbuffered=true&quality=low');
    const normal = await player(server.port, 'live');
    const listeners = [...server.server.core.publications.get('live')!.listeners.values()];
    assert.deepEqual(
      listeners.map((l) => l.unbuffered),
      [true, true, false],
    );
    assert.deepEqual(listeners[1]!.parameters, { unbuffered: 'true', quality: 'low' });
    const tags = makeSampleTags(1);
    sendTags(pub.stream, tags);
    const total = tags.length - 1;
    // over loopback nothing is lost: unbuffered media still arrives whole and in order, track by track (audio and
    // video are flows of their own: how they interleave depends on each session's packets, not on the listener)
    await until(() => [cumulus, mona, normal].every((p) => p.media.length >= total), 'media at all players');
    const track = (p: typeof normal, type: number) => p.media.filter((m) => m.type === type).map((m) => m.data);
    for (const p of [cumulus, mona]) for (const type of [8, 9]) assert.deepEqual(track(p, type), track(normal, type), `track ${type}`);
    await Promise.all([pub.nc.close(), cumulus.nc.close(), mona.nc.close(), normal.nc.close()]);
  } finally {
    await server.close();
  }
});

test('onPublish / onSubscribe refusals answer Publish.Failed and Play.Failed with their descriptions', async () => {
  const server = await startTestServer();
  server.server.core.publications.events = {
    onPublish: (_c, p) => (p.name === 'open' ? { allowed: true } : { allowed: false }),
    onUnpublish() {},
    onSubscribe: (_c, l) => (l.publication.name === 'open' ? { allowed: false, description: 'members only' } : { allowed: false }),
    onUnsubscribe() {},
  };
  try {
    const { connect } = await import('./helpers.ts');
    const nc = await connect(server.port);
    const stream = await nc.createNetStream();
    const failed = stream.waitStatus('NetStream.Publish.Failed');
    stream.publish('closed');
    assert.equal((await failed).description, 'Not allowed to publish closed');
    const play = await nc.createNetStream();
    const refused = play.waitStatus('NetStream.Play.Failed');
    play.play('open');
    assert.equal((await refused).description, 'members only');
    const refused2 = play.waitStatus('NetStream.Play.Failed');
    play.play('other');
    assert.equal((await refused2).description, 'Not authorized to play other');
    await until(() => server.server.core.publications.count === 0, 'no publication left');
    await nc.close();
  } finally {
    await server.close();
  }
});
