import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { makeSampleTags } from '../fixtures/media/make-flv.ts';
import { player, publisher, sendTags, split, until } from './helpers.ts';

const tags = makeSampleTags();
const expected = (type: number) => tags.filter((t) => t.type === type);

test('one publisher, three players: every audio and video message once, in order, byte-identical', async () => {
  const server = await startTestServer();
  try {
    const pub = await publisher(server.port, 'sample');
    const players = await Promise.all([1, 2, 3].map(() => player(server.port, 'sample')));
    const publication = server.server.core.publications.get('sample');
    assert.equal(publication?.listeners.size, 3);
    sendTags(pub.stream, tags);
    const total = expected(8).length + expected(9).length;
    await until(() => players.every((p) => p.media.length >= total), 'all media at every player');
    for (const p of players) {
      for (const type of [8, 9]) {
        const got = split(p.media, type);
        const want = expected(type);
        assert.equal(got.length, want.length);
        for (let i = 0; i < want.length; i++) {
          assert.equal(got[i]!.time, want[i]!.time, `time of ${type}#${i}`);
          assert.deepEqual(got[i]!.data, want[i]!.data, `bytes of ${type}#${i}`);
        }
      }
      const meta = p.data.find((d) => d.name === 'onMetaData');
      assert.deepEqual(meta?.args[0], { duration: 2, width: 320, height: 240, videocodecid: 7, audiocodecid: 10 });
    }
    await Promise.all([pub.nc.close(), ...players.map((p) => p.nc.close())]);
  } finally {
    await server.close();
  }
});

test('a late player gets metadata, sequence headers and starts at a key frame; the publisher leaving notifies it', async () => {
  const server = await startTestServer();
  try {
    const pub = await publisher(server.port, 'late');
    const [meta, avc, aac] = tags;
    sendTags(pub.stream, [meta!, avc!, aac!]);
    const media = tags.slice(3);
    // the first second's frames (one key frame at 0) go out before the late player arrives
    const firstHalf = media.filter((t) => t.time < 520);
    sendTags(pub.stream, firstHalf);
    await until(() => (server.server.core.publications.get('late')?.lastTime ?? 0) >= 480, 'publisher media at the server');
    const p = await player(server.port, 'late');
    sendTags(
      pub.stream,
      media.filter((t) => t.time >= 520),
    );
    await until(() => split(p.media, 9).length >= 25, 'video from the second key frame on');
    const video = split(p.media, 9);
    assert.deepEqual(video[0]!.data, avc!.data);
    assert.equal(video[1]!.data[0], 0x17);
    assert.equal(video[0]!.time, video[1]!.time);
    const audio = split(p.media, 8);
    assert.deepEqual(audio[0]!.data, aac!.data);
    assert.equal(p.data[1]?.name, 'onMetaData');
    assert.ok((server.server.core.publications.get('late')?.droppedFrames ?? 0) > 0);
    await pub.nc.close();
    await until(() => p.statuses.includes('NetStream.Play.UnpublishNotify'), 'UnpublishNotify');
    assert.equal(server.server.core.publications.get('late')?.running, false);
    await p.nc.close();
    await until(() => server.server.core.publications.count === 0, 'the name released');
  } finally {
    await server.close();
  }
});

test('Publish.BadName for a name in use; a player leaving mid-stream does not disturb the others', async () => {
  const server = await startTestServer();
  try {
    const pub = await publisher(server.port, 'busy');
    const second = await (await import('./helpers.ts')).connect(server.port);
    const stream = await second.createNetStream();
    const bad = stream.waitStatus('NetStream.Publish.BadName');
    stream.publish('busy');
    assert.equal((await bad).description, 'busy is already published');

    const stay = await player(server.port, 'busy');
    const leave = await player(server.port, 'busy');
    const half = tags.slice(0, 60);
    sendTags(pub.stream, half);
    await until(() => leave.media.length >= 55, 'first half at the leaving player');
    const stopped = leave.stream.waitStatus('NetStream.Play.Stop');
    leave.stream.closeStream();
    await stopped;
    const publication = server.server.core.publications.get('busy')!;
    await until(() => publication.listeners.size === 1, 'one listener left');
    sendTags(pub.stream, tags.slice(60));
    const total = tags.length - 1;
    await until(() => stay.media.length >= total, 'everything at the staying player');
    assert.equal(stay.media.length, total);
    const unpublished = pub.stream.waitStatus('NetStream.Unpublish.Success');
    pub.stream.closeStream();
    await unpublished;
    await Promise.all([pub.nc.close(), second.close(), stay.nc.close(), leave.nc.close()]);
  } finally {
    await server.close();
  }
});
