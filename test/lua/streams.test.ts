// The Lua side of live streams, end to end over UDP: test/fixtures/www/streams (Cumulus dialect) and
// test/fixtures/www/streamsMona (Mona dialect) driven by TypeScript publishers and players.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NetConnection } from '../../src/client/index.ts';
import type { NetStream } from '../../src/client/net-stream.ts';
import type { AMFObject, AMFValue } from '../../src/flash/amf/types.ts';
import { makeSampleTags } from '../fixtures/media/make-flv.ts';
import { sendTags, split, until, type Player } from '../streams/helpers.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

async function withServer(body: (server: TestServer, url: (path: string) => string) => Promise<void>): Promise<void> {
  const server = await startTestServer({ dir: FIXTURES });
  try {
    await body(server, (path) => `rtmfp://127.0.0.1:${server.port}/${path}`);
  } finally {
    await server.close();
  }
}

async function publish(nc: NetConnection, name: string): Promise<NetStream> {
  const stream = await nc.createNetStream();
  const started = stream.waitStatus('NetStream.Publish.Start');
  stream.publish(name);
  await started;
  return stream;
}

/** The status a refused publish or play ends with (level error). */
async function refusal(nc: NetConnection, action: 'publish' | 'play', name: string): Promise<AMFObject> {
  const stream = await nc.createNetStream();
  const outcome = stream.waitStatus(action === 'publish' ? 'NetStream.Publish.Start' : 'NetStream.Play.Start');
  if (action === 'publish') stream.publish(name);
  else stream.play(name);
  const error = await outcome.then(
    () => assert.fail(`${action} ${name} was accepted`),
    (e: Error & { info?: AMFObject }) => e,
  );
  return error.info ?? {};
}

async function play(url: string, name: string): Promise<Player> {
  const nc = await NetConnection.connect(url);
  const stream = await nc.createNetStream();
  const p: Player = { nc, stream, media: [], data: [], statuses: [] };
  stream.on('audio', (time, data) => p.media.push({ type: 8, time, data: data.slice() }));
  stream.on('video', (time, data) => p.media.push({ type: 9, time, data: data.slice() }));
  stream.on('data', (dataName, args) => p.data.push({ name: dataName, args }));
  stream.on('status', (info) => p.statuses.push(String(info.code)));
  const started = stream.waitStatus('NetStream.Play.Start');
  stream.play(name);
  await started;
  return p;
}

async function events(nc: NetConnection): Promise<string[]> {
  const [list] = await nc.call('events');
  return (list as AMFValue[]).map(String);
}

async function untilEvent(nc: NetConnection, line: string): Promise<string[]> {
  let seen: string[] = [];
  const deadline = Date.now() + 5_000;
  while (!seen.includes(line)) {
    if (Date.now() > deadline) assert.fail(`no "${line}" in ${JSON.stringify(seen)}`);
    seen = await events(nc);
  }
  return seen;
}

const bytes = (...values: number[]) => Uint8Array.from(values);

test('Cumulus: onPublish and onSubscribe refuse with false or error(), with the documented descriptions', async () => {
  await withServer(async (_server, url) => {
    const nc = await NetConnection.connect(url('streams'));
    assert.equal((await refusal(nc, 'publish', 'forbidden')).description, 'Not allowed to publish forbidden');
    assert.equal((await refusal(nc, 'publish', 'secret')).description, 'no rights to publish it');
    assert.equal((await refusal(nc, 'publish', 'forbidden')).code, 'NetStream.Publish.Failed');
    const denied = await refusal(nc, 'play', 'private');
    assert.equal(denied.code, 'NetStream.Play.Failed');
    assert.equal(denied.description, 'Not authorized to play private');
    assert.equal((await refusal(nc, 'play', 'vip')).description, 'no rights to play it');
    // a refused name leaves nothing behind
    assert.deepEqual(await nc.call('publicationInfo', 'forbidden'), [null]);
    await nc.close();
  });
});

test('publications holds the names actually publishing: not one only waited for by a player', async () => {
  await withServer(async (_server, url) => {
    const admin = await NetConnection.connect(url('streams'));
    const early = await play(url('streams'), 'later');
    try {
      await untilEvent(admin, 'onSubscribe later 0 true nil true number number');
      assert.deepEqual(await admin.call('publicationInfo', 'later'), [null], 'a waited-for name is no publication');
      const pub = await NetConnection.connect(url('streams'));
      await publish(pub, 'later');
      const [info] = (await admin.call('publicationInfo', 'later')) as [AMFObject];
      assert.deepEqual([info.count, info.len, info.names, info.running], [1, 1, ['later=later'], true]);
      await pub.close();
    } finally {
      await early.nc.close();
      await admin.close();
    }
  });
});

test('Cumulus: a listener joins publication.listeners after onSubscribe and leaves after onUnsubscribe', async () => {
  await withServer(async (_server, url) => {
    const admin = await NetConnection.connect(url('streams'));
    const pub = await NetConnection.connect(url('streams'));
    await publish(pub, 'show');
    const p = await play(url('streams'), 'show?x=7');
    const log = await untilEvent(admin, 'onSubscribe show 0 true 7 true number number');
    assert.ok(log.includes('onPublish show false true 0'), log.join('\n'));
    const [ids, count] = await admin.call('listenerIds', 'show');
    assert.equal(count, 1);
    assert.equal(typeof (ids as number[])[0], 'number');
    p.stream.closeStream();
    await untilEvent(admin, 'onUnsubscribe show 1');
    await until(() => p.statuses.includes('NetStream.Play.Stop'), 'Play.Stop');
    assert.deepEqual((await admin.call('listenerIds', 'show'))[1], 0);
    await pub.close();
    await untilEvent(admin, 'onUnpublish show false');
    await Promise.all([p.nc.close(), admin.close()]);
  });
});

test('Cumulus: media events, publication and QoS objects, the publications collection', async () => {
  await withServer(async (server, url) => {
    const tags = makeSampleTags(1);
    const admin = await NetConnection.connect(url('streams'));
    const pub = await NetConnection.connect(url('streams'));
    const stream = await publish(pub, 'cam');
    assert.ok(server.server.core.publications.events.onAudio, 'onAudioPacket is defined: audio hooked');
    const p = await play(url('streams'), 'cam?access=1');
    sendTags(stream, tags);
    const audio = tags.filter((t) => t.type === 8);
    const video = tags.filter((t) => t.type === 9);
    await until(() => split(p.media, 9).length >= video.length && split(p.media, 8).length >= audio.length, 'media');
    const [counted] = (await admin.call('media', 'cam')) as [AMFObject];
    assert.equal(counted.audio, audio.length);
    assert.equal(counted.video, video.length);
    assert.equal(
      counted.bytes,
      [...audio, ...video].reduce((n, t) => n + t.data.length, 0),
    );
    await untilEvent(admin, 'onDataPacket cam @setDataFrame true');
    const [info] = (await admin.call('publicationInfo', 'cam')) as [AMFObject];
    assert.equal(info.name, 'cam');
    assert.equal(info.publisherId, Buffer.from(pub.peerId).toString('hex'));
    assert.equal(info.running, true);
    // audio and video travel on flows of their own: either track's last message may arrive last
    assert.ok([audio[audio.length - 1]!.time, video[video.length - 1]!.time].includes(info.lastTime as number));
    assert.equal(info.listeners, 1);
    assert.equal(info.lenListeners, 1);
    assert.equal(info.count, 1);
    assert.equal(info.len, 1);
    assert.deepEqual(info.names, ['cam=cam']);
    assert.equal(info.same, true);
    // the wall-clock time of the last frame, as mona:time() (MonaStatus shows mona:time() - lastSendingTime)
    assert.ok(Math.abs(Date.now() - (info.videoLast as number)) < 10_000, `videoLast ${String(info.videoLast)}`);
    assert.equal(info.audioRate, 'number');
    assert.equal(info.lostRate, 0);
    assert.equal(info.latency, 'number');
    assert.equal(info.width, 320, 'properties are the publisher metadata');
    // audioSampleAccess/videoSampleAccess set in onSubscribe reach the player
    const access = p.data.find((d) => d.name === '|RtmpSampleAccess');
    assert.deepEqual(access?.args, [true, true]);
    await assert.rejects(admin.call('setReadOnly', 'cam'), /'name' is read-only/);
    assert.deepEqual(await admin.call('inCoroutine', 'cam'), ['cam', 1, true, true], 'objects read inside a coroutine');
    await Promise.all([pub.close(), p.nc.close(), admin.close()]);
  });
});

test('Cumulus: listener.audioSampleAccess / videoSampleAccess changed after onSubscribe reach the player at once', async () => {
  await withServer(async (_server, url) => {
    const admin = await NetConnection.connect(url('streams'));
    const pub = await NetConnection.connect(url('streams'));
    await publish(pub, 'samples');
    const p = await play(url('streams'), 'samples');
    try {
      const access = () => p.data.filter((d) => d.name === '|RtmpSampleAccess').map((d) => d.args);
      await until(() => access().length === 1, 'the sample access of the start');
      assert.deepEqual(access(), [[false, false]], 'none at the start');
      await admin.call('grantSamples', 'samples');
      await until(() => access().length === 3, 'two changes of sample access');
      assert.deepEqual(access(), [
        [false, false],
        [true, false],
        [true, true],
      ]);
    } finally {
      await Promise.all([pub.close(), p.nc.close(), admin.close()]);
    }
  });
});

test('Cumulus: cumulus:publish makes a server publication whose pushed, flushed media reaches players', async () => {
  await withServer(async (_server, url) => {
    const admin = await NetConnection.connect(url('streams'));
    assert.deepEqual(await admin.call('serverPublish', 'radio'), [true, true]);
    assert.deepEqual(await admin.call('serverPublish', 'radio'), [false, null], 'the name is taken');
    const pub = await NetConnection.connect(url('streams'));
    assert.equal((await refusal(pub, 'publish', 'radio')).code, 'NetStream.Publish.BadName');
    const p = await play(url('streams'), 'radio');
    await admin.call('serverPush');
    await until(() => p.media.length >= 3 && p.data.some((d) => d.name === 'onCue'), 'server media');
    assert.deepEqual(
      split(p.media, 8).map((m) => m.data),
      [bytes(0xaf, 0x00, 0x12, 0x10), bytes(0xaf, 0x01, 9, 8, 7)],
    );
    assert.deepEqual(
      split(p.media, 9).map((m) => m.data),
      [bytes(0x17, 0x01, 0, 0, 0, 1, 2, 3)],
      'offset 2 skips "xx"',
    );
    assert.deepEqual(p.data.find((d) => d.name === 'onCue')?.args, ['cue', 1]);
    const [info] = (await admin.call('publicationInfo', 'radio')) as [AMFObject];
    assert.equal(info.publisherId, '');
    await admin.call('serverClose');
    await until(() => p.statuses.includes('NetStream.Play.UnpublishNotify'), 'UnpublishNotify');
    // no onPublish/onUnpublish for script publications
    assert.ok(!(await events(admin)).some((line) => line.includes('radio') && line.startsWith('onPublish')));
    await Promise.all([pub.close(), p.nc.close(), admin.close()]);
  });
});

test("Cumulus: publication:close('Publish.Error', msg) on a client publication ends the publisher's stream", async () => {
  await withServer(async (_server, url) => {
    const admin = await NetConnection.connect(url('streams'));
    const pub = await NetConnection.connect(url('streams'));
    const stream = await publish(pub, 'doomed');
    const statuses: AMFObject[] = [];
    const invocations: string[] = [];
    stream.on('status', (info) => statuses.push(info));
    stream.on('invocation', (name) => invocations.push(name));
    await admin.call('closePublication', 'doomed', 'Publish.Error', 'bad stream');
    await until(() => invocations.includes('close'), 'close invocation');
    assert.equal(statuses[0]?.code, 'NetStream.Publish.Error');
    assert.equal(statuses[0]?.description, 'bad stream');
    await untilEvent(admin, 'onUnpublish doomed false');
    assert.deepEqual(await admin.call('publicationInfo', 'doomed'), [null]);
    await Promise.all([pub.close(), admin.close()]);
  });
});

test('Mona: client methods replace the globals; per-publication onAudio/onVideo/onData; hooks only while defined', async () => {
  await withServer(async (server, url) => {
    const events_ = server.server.core.publications.events;
    const admin = await NetConnection.connect(url('streamsMona'));
    assert.equal((await refusal(admin, 'publish', 'forbidden')).description, 'Not allowed to publish forbidden');
    assert.equal((await refusal(admin, 'publish', 'secret')).description, 'mona says no');
    assert.equal(events_.onAudio, undefined, 'no media event defined yet');
    const quietPub = await NetConnection.connect(url('streamsMona'));
    await publish(quietPub, 'quiet');
    assert.equal(events_.onAudio, undefined, 'a publication without media events hooks nothing');

    const pub = await NetConnection.connect(url('streamsMona'));
    const stream = await publish(pub, 'stage');
    assert.ok(events_.onAudio && events_.onVideo && events_.onData, 'publication:onAudio… hooked');
    const p = await play(url('streamsMona'), 'stage');
    assert.equal((await refusal(p.nc, 'play', 'private')).description, 'Not authorized to play private');
    assert.equal((await refusal(p.nc, 'play', 'vip')).description, 'members only');
    const tags = makeSampleTags(1);
    sendTags(stream, tags);
    stream.send('onChat', 'hi', 2);
    const audio = tags.filter((t) => t.type === 8);
    const video = tags.filter((t) => t.type === 9);
    await until(() => split(p.media, 8).length >= audio.length && split(p.media, 9).length >= video.length, 'media');
    let log = await untilEvent(admin, 'onData onChat 2');
    assert.ok(log.includes('onData @setDataFrame 2'), log.join('\n'));
    const [counted] = (await admin.call('media', 'stage')) as [AMFObject];
    assert.equal(counted.audio, audio.length);
    assert.equal(counted.video, video.length);
    assert.equal(counted.lastAudio, audio[audio.length - 1]!.time);
    assert.ok(typeof counted.flushes === 'number' && counted.flushes >= 1, 'publication:onFlush after batches of a client publisher');
    assert.ok(counted.flushes <= audio.length + video.length + 2, 'one onFlush per batch, not per message');
    assert.ok(log.includes('client:onSubscribe stage 0'));
    assert.ok(!log.some((line) => line.startsWith('global')), 'globals are not called for clients with methods');

    await p.nc.close();
    await untilEvent(admin, 'client:onUnsubscribe stage 1');
    await pub.close();
    log = await untilEvent(admin, 'client:onUnpublish stage');
    await until(() => events_.onAudio === undefined, 'media unhooked once the publication is gone');

    // a client without methods gets the globals
    const plain = await NetConnection.connect(`${url('streamsMona')}?plain=1`);
    await publish(plain, 'plainly');
    await untilEvent(admin, 'global onPublish plainly');
    await Promise.all([quietPub.close(), plain.close(), admin.close()]);
  });
});

test('Mona: mona:publish with pushAudio/pushVideo/pushAMF0Data/pushData, writeProperties to late joiners, onFlush', async () => {
  await withServer(async (_server, url) => {
    const admin = await NetConnection.connect(url('streamsMona'));
    assert.deepEqual(await admin.call('serverPublish', 'tv'), [true]);
    const early = await play(url('streamsMona'), 'tv');
    // a property by its own name, as MonaServer reads them (publication.title); an unknown one is nil
    // and the seeds' "pulications" spelling counts the same publications
    assert.deepEqual(await admin.call('serverPush'), ['live', 640, 'live', null, 1, 'number']);
    await until(() => early.media.length >= 2 && early.data.some((d) => d.name === 'onRaw'), 'server media');
    assert.deepEqual(split(early.media, 8)[0]?.data, bytes(0xaf, 0x00, 0x12, 0x10));
    assert.deepEqual(split(early.media, 9)[0]?.data, bytes(0x17, 0x01, 0, 0, 0, 4, 5, 6));
    assert.deepEqual(early.data.find((d) => d.name === 'onText')?.args, ['hello']);
    assert.deepEqual(early.data.find((d) => d.name === 'onRaw')?.args, [7]);
    assert.deepEqual(early.data.find((d) => d.name === 'onAmf3')?.args, [{ k: 1 }], 'pushAMFData');
    assert.deepEqual(early.data.find((d) => d.name === 'onMetaData')?.args[0], { title: 'live', width: 640 });
    await untilEvent(admin, 'onFlush tv');
    // a late joiner gets the properties first
    const late = await play(url('streamsMona'), 'tv');
    await until(() => late.data.some((d) => d.name === 'onMetaData'), 'metadata for the late joiner');
    assert.deepEqual(late.data.find((d) => d.name === 'onMetaData')?.args[0], { title: 'live', width: 640 });
    assert.deepEqual(await admin.call('serverClear'), [true]);
    await admin.call('serverClose');
    await until(() => late.statuses.includes('NetStream.Play.UnpublishNotify'), 'UnpublishNotify');
    await Promise.all([early.nc.close(), late.nc.close(), admin.close()]);
  });
});
