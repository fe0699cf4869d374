// Live relay over a bad network: every client (the publisher and the players) reaches the server through a
// proxy that loses 5 % of the datagrams and reorders some, in both directions. Reliable play must still be
// byte-identical; unbuffered play (play(name, -3)) must keep up with the live stream and count its losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { startLossyRelay } from '../helpers/lossy-relay.ts';
import { makeSampleTags } from '../fixtures/media/make-flv.ts';
import type { FLVTag } from '../../src/core/media/media.ts';
import type { NetConnection } from '../../src/client/index.ts';
import { player, publisher, sendTags, split, until, type Player } from './helpers.ts';

const tags = makeSampleTags();
const media = tags.filter((t) => t.type === 0x08 || t.type === 0x09);

/** Publish in real time (one batch per 40 ms of media time), as an encoder does. */
async function sendPaced(send: (batch: FLVTag[]) => void, all: readonly FLVTag[]): Promise<void> {
  let batch: FLVTag[] = [];
  let batchTime = 0;
  for (const tag of all) {
    if (tag.time >= batchTime + 40 && batch.length > 0) {
      send(batch);
      batch = [];
      batchTime = tag.time;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    batch.push(tag);
  }
  send(batch);
}

/** Whatever happened, no client socket outlives its test (an orderly close through the relay may wait on a lost ack). */
function closeAll(connections: NetConnection[]): void {
  for (const nc of connections) nc.destroy('test over');
}

function assertSameTrack(p: Player, type: number): void {
  const got = split(p.media, type);
  const want = media.filter((t) => t.type === type);
  assert.equal(got.length, want.length, `messages of type ${type}`);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i]!.time, want[i]!.time, `time of ${type}#${i}`);
    assert.deepEqual(got[i]!.data, want[i]!.data, `bytes of ${type}#${i}`);
  }
}

test('reliable play through 5 % loss and reordering on both legs stays byte-identical', async () => {
  const server = await startTestServer();
  const relay = await startLossyRelay({ target: { host: '127.0.0.1', port: server.port }, seed: 7 });
  const connections: NetConnection[] = [];
  try {
    const pub = await publisher(relay.port, 'lossy');
    connections.push(pub.nc);
    const players = await Promise.all([1, 2, 3].map(() => player(relay.port, 'lossy')));
    connections.push(...players.map((p) => p.nc));
    assert.equal(server.server.core.publications.get('lossy')?.listeners.size, 3);
    sendTags(pub.stream, tags);
    await until(() => players.every((p) => p.media.length >= media.length), 'all media at every player', 30_000);
    for (const p of players) {
      assertSameTrack(p, 0x08);
      assertSameTrack(p, 0x09);
      assert.equal(p.data.find((d) => d.name === 'onMetaData')?.args[0] !== undefined, true);
      assert.equal(p.stream.lost, 0, 'a reliable flow gives up on nothing');
    }
    assert.ok(relay.upstream.dropped > 0 && relay.downstream.dropped > 0, 'the relay lost datagrams both ways');
    assert.ok(relay.upstream.reordered > 0 && relay.downstream.reordered > 0, 'and reordered some');
  } finally {
    closeAll(connections);
    await relay.close();
    await server.close();
  }
});

test('unbuffered play through 5 % loss keeps up: what arrives is intact and in order, losses are counted', async () => {
  const server = await startTestServer();
  const relay = await startLossyRelay({ target: { host: '127.0.0.1', port: server.port }, seed: 11 });
  const connections: NetConnection[] = [];
  try {
    const pub = await publisher(relay.port, 'live');
    connections.push(pub.nc);
    const players = await Promise.all([1, 2].map(() => player(relay.port, 'live', -3)));
    connections.push(...players.map((p) => p.nc));
    const listeners = [...server.server.core.publications.get('live')!.listeners.values()];
    assert.deepEqual(
      listeners.map((l) => l.unbuffered),
      [true, true],
    );
    const [meta, avc, aac] = tags;
    sendTags(pub.stream, [meta!, avc!, aac!]);
    // QualityOfService reads the last complete one-second window: sample it while the stream runs
    let lostRate = 0;
    const sampler = setInterval(() => {
      for (const l of listeners) lostRate = Math.max(lostRate, l.audioQOS.lostRate, l.videoQOS.lostRate);
    }, 100);
    await sendPaced((batch) => sendTags(pub.stream, batch), tags.slice(3));
    clearInterval(sampler);
    assert.ok(lostRate > 0, "the listeners' QualityOfService saw the losses");
    const last = media[media.length - 1]!;
    // live: the end of the stream arrives although the messages lost on the way are never repeated
    await until(() => players.every((p) => p.media.some((m) => m.time >= last.time - 120)), 'the last media at every player', 15_000);
    // type, time and packet type (sequence header or not) name a message of the fixture
    const keyOf = (type: number, time: number, data: Uint8Array) => `${type}:${time}:${data[1]}`;
    const byKey = new Map(media.map((t) => [keyOf(t.type, t.time, t.data), t.data]));
    for (const p of players) {
      for (const type of [0x08, 0x09]) {
        const got = split(p.media, type);
        // the sequence header and the first key frame share time 0; media times strictly increase after them
        for (let i = 2; i < got.length; i++) assert.ok(got[i]!.time > got[i - 1]!.time, `type ${type} in order at ${i}`);
      }
      // codec configuration first, then every message that arrived is one the publisher sent, byte for byte
      assert.deepEqual(split(p.media, 0x09)[0]!.data, avc!.data);
      assert.deepEqual(split(p.media, 0x08)[0]!.data, aac!.data);
      for (const m of p.media) assert.deepEqual(m.data, byKey.get(keyOf(m.type, m.time, m.data)), `bytes at ${m.type}:${m.time}`);
      // key frames travel reliably even when unbuffered: the picture can always restart
      const keys = split(p.media, 0x09).filter((m) => m.data[0] === 0x17 && m.data[1] === 0x01);
      assert.equal(keys.length, media.filter((t) => t.type === 0x09 && t.data[0] === 0x17 && t.data[1] === 0x01).length);
    }
    const missing = players.map((p) => media.length - p.media.length);
    const lostAtPlayers = players.map((p) => p.stream.lost);
    assert.ok(
      missing.some((n) => n > 0),
      `some media never arrived (${missing.join(', ')})`,
    );
    for (let i = 0; i < players.length; i++) {
      if (missing[i]! > 0) assert.ok(lostAtPlayers[i]! > 0, `player ${i} counted its losses`);
    }
  } finally {
    closeAll(connections);
    await relay.close();
    await server.close();
  }
});

test("a publisher with unreliable audio over a lossy link: audio losses do not hold back anyone's video", async () => {
  const server = await startTestServer();
  const relay = await startLossyRelay({ target: { host: '127.0.0.1', port: server.port }, seed: 23, loss: 0.1 });
  const connections: NetConnection[] = [];
  try {
    const pub = await publisher(relay.port, 'mixed');
    connections.push(pub.nc);
    pub.stream.audioReliable = false;
    const p = await player(server.port, 'mixed');
    connections.push(p.nc);
    const [meta, avc, aac] = tags;
    sendTags(pub.stream, [meta!, avc!, aac!]);
    // the audio lost on the way in counts in the publication's audio QualityOfService (sampled while it runs)
    let audioLostRate = 0;
    const sampler = setInterval(() => {
      audioLostRate = Math.max(audioLostRate, server.server.core.publications.get('mixed')?.audioQOS.lostRate ?? 0);
    }, 100);
    await sendPaced((batch) => sendTags(pub.stream, batch), tags.slice(3)).finally(() => clearInterval(sampler));
    const video = media.filter((t) => t.type === 0x09);
    await until(() => split(p.media, 0x09).length >= video.length, 'every video message at the player', 15_000);
    assertSameTrack(p, 0x09);
    const audio = split(p.media, 0x08).length;
    assert.ok(audio < media.length - video.length, 'some audio was lost on the way in');
    assert.equal(server.server.core.publications.get('mixed')?.droppedFrames, 0);
    assert.ok(audioLostRate > 0, 'publication.audioQOS.lostRate saw the audio losses');
  } finally {
    closeAll(connections);
    await relay.close();
    await server.close();
  }
});
