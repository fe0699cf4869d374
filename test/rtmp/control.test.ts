// The RTMP dialogue message by message with the raw test client: what connect sends, acknowledgements, peer
// bandwidth, pings, abort, createStream/deleteStream, encoder commands, pause and receiveVideo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawRtmpClient } from '../helpers/rtmp-client.ts';
import { EVENT, MSG } from '../../src/protocols/rtmp/params.ts';
import type { AMFObject } from '../../src/flash/amf/types.ts';
import { makeSampleTags } from '../fixtures/media/make-flv.ts';
import { player, split, until } from '../streams/helpers.ts';

async function withClients(count: number, body: (server: TestServer, clients: RawRtmpClient[]) => Promise<void>): Promise<void> {
  const server = await startTestServer({ rtmp: true });
  const clients: RawRtmpClient[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const client = await RawRtmpClient.open({ port: server.rtmpPort, digest: i % 2 === 0 });
      clients.push(client);
      await client.connect('live');
    }
    await body(server, clients);
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
}

const u32 = (value: number) => Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
const readU32 = (bytes: Uint8Array, at = 0) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(at);
const userEvents = (client: RawRtmpClient) =>
  client.messages.filter((m) => m.type === MSG.USER_CONTROL).map((m) => [(m.payload[0]! << 8) | m.payload[1]!, readU32(m.payload, 2)]);

test(
  'connect: Window Ack Size, Set Peer Bandwidth, Set Chunk Size 4096 and StreamBegin 0 before the _result',
  { timeout: 10_000 },
  async () => {
    await withClients(1, async (_server, [client]) => {
      const types = client!.messages.map((m) => m.type);
      const result = client!.messages.findIndex((m) => m.type === MSG.COMMAND_AMF0);
      assert.deepEqual(types.slice(0, result), [MSG.WINDOW_ACK_SIZE, MSG.SET_PEER_BANDWIDTH, MSG.SET_CHUNK_SIZE, MSG.USER_CONTROL]);
      assert.equal(readU32(client!.messages[2]!.payload), 4096);
      assert.equal(client!.messages[1]!.payload[4], 2, 'peer bandwidth dynamic');
      assert.deepEqual(userEvents(client!)[0], [EVENT.STREAM_BEGIN, 0]);
      assert.equal(client!.serverDigestValid, true, 'digest answer valid for a digest C1');
      const connect = client!.commands.find((c) => c.name === '_result')!;
      assert.equal((connect.commandObject as AMFObject).fmsVer, 'FMS/3,0,1,123');
    });
  },
);

test('acknowledgements follow the client window; peer bandwidth is answered; pings both ways', { timeout: 10_000 }, async () => {
  await withClients(1, async (_server, [client]) => {
    client!.send(2, MSG.WINDOW_ACK_SIZE, 0, 0, u32(1000));
    client!.send(2, MSG.SET_PEER_BANDWIDTH, 0, 0, Uint8Array.of(...u32(123_456), 2));
    client!.send(2, MSG.USER_CONTROL, 0, 0, Uint8Array.of(0, EVENT.PING_REQUEST, ...u32(4242)));
    for (let i = 0; i < 10; i++) client!.command('noSuchMethod', []); // ~500 bytes of commands each time
    await client!.until(() => client!.messages.some((m) => m.type === MSG.ACK), 'an Acknowledgement');
    const ack = client!.messages.find((m) => m.type === MSG.ACK)!;
    assert.ok(readU32(ack.payload) >= 1000, `acknowledged ${readU32(ack.payload)}`);
    await client!.until(
      () => client!.messages.some((m) => m.type === MSG.WINDOW_ACK_SIZE && readU32(m.payload) === 123_456),
      'window answer',
    );
    await client!.until(() => userEvents(client!).some(([e, v]) => e === EVENT.PING_RESPONSE && v === 4242), 'PingResponse');
  });
});

test(
  'createStream takes the lowest free id; deleteStream ends its publication; encoder commands get no answer',
  { timeout: 10_000 },
  async () => {
    await withClients(1, async (server, [client]) => {
      const release = client!.command('releaseStream', ['s']);
      const fcpublish = client!.command('FCPublish', ['s']);
      assert.equal(await client!.createStream(), 1);
      assert.equal(await client!.createStream(), 2);
      client!.command('publish', ['s', 'live'], 1, null, 8);
      await client!.status('NetStream.Publish.Start', 1);
      assert.deepEqual(userEvents(client!).at(-1), [EVENT.STREAM_BEGIN, 1]);
      client!.command('deleteStream', [1]);
      await client!.until(() => server.server.core.publications.get('s') === undefined, 'publication gone');
      assert.equal(await client!.createStream(), 1);
      assert.ok(
        !client!.commands.some((c) => c.transactionId === release || c.transactionId === fcpublish),
        'no answer to releaseStream/FCPublish',
      );
    });
  },
);

test('abort drops a partial message; pause, unpause and receiveVideo on a player', { timeout: 10_000 }, async () => {
  await withClients(2, async (_server, [publisher, player]) => {
    const out = await publisher!.createStream();
    publisher!.command('publish', ['p', 'live'], out, null, 8);
    await publisher!.status('NetStream.Publish.Start', out);
    const id = await player!.createStream();
    player!.command('play', ['p'], id, null, 8);
    await player!.status('NetStream.Play.Start', id);
    // the first chunk of a 300-byte key frame, then Abort on its csid: it never reaches the player
    publisher!.socket.write(Uint8Array.of(0x07, 0, 0, 10, 0, 1, 0x2c, 9, out, 0, 0, 0, 0x17, 1, ...new Array(126).fill(9)));
    publisher!.send(2, MSG.ABORT, 0, 0, u32(7));
    publisher!.send(6, MSG.VIDEO, out, 20, Uint8Array.of(0x17, 1, 0, 0, 0, 5));
    await player!.until(() => player!.media(id).length === 1, 'the key frame');
    assert.deepEqual([...player!.media(id)[0]!.payload], [0x17, 1, 0, 0, 0, 5]);
    player!.command('pause', [true, 0], id, null, 8);
    await player!.status('NetStream.Pause.Notify', id);
    assert.deepEqual(userEvents(player!).at(-1), [EVENT.STREAM_EOF, id]);
    publisher!.send(6, MSG.VIDEO, out, 40, Uint8Array.of(0x17, 1, 0, 0, 0, 6));
    player!.command('pause', [false, 0], id, null, 8);
    await player!.status('NetStream.Unpause.Notify', id);
    assert.deepEqual(userEvents(player!).at(-1), [EVENT.STREAM_BEGIN, id]);
    player!.command('receiveVideo', [false], id, null, 8);
    publisher!.send(6, MSG.VIDEO, out, 60, Uint8Array.of(0x17, 1, 0, 0, 0, 7));
    publisher!.send(4, MSG.AUDIO, out, 60, Uint8Array.of(0xaf, 1, 1));
    await player!.until(() => player!.media(id).some((m) => m.type === MSG.AUDIO), 'audio');
    assert.deepEqual(player!.media(id).filter((m) => m.type === MSG.VIDEO).length, 1, 'paused and disabled video not sent');
    player!.command('closeStream', [], id, null, 8);
    await player!.status('NetStream.Play.Stop', id);
  });
});

test(
  'an OBS-style publisher (simple handshake, chunk size 4096 before connect, everything on csid 4) reaches RTMFP players intact',
  { timeout: 15_000 },
  async () => {
    const server = await startTestServer({ rtmp: true });
    const obs = await RawRtmpClient.open({ port: server.rtmpPort, digest: false, chunkSize: 4096 });
    const rtmfp = await player(server.port, 'obs');
    try {
      await obs.connect('live');
      const id = await obs.createStream();
      obs.command('publish', ['obs', 'live'], id, null, 4);
      await obs.status('NetStream.Publish.Start', id);
      const tags = makeSampleTags(2);
      for (const tag of tags) {
        const body =
          tag.type === 0x12 ? Uint8Array.of(0x02, 0x00, 0x0d, ...new TextEncoder().encode('@setDataFrame'), ...tag.data) : tag.data;
        obs.send(4, tag.type, id, tag.time, body);
      }
      const media = tags.filter((t) => t.type !== 0x12);
      await until(() => rtmfp.media.length >= media.length, 'every media message at the RTMFP player');
      for (const type of [8, 9]) {
        const sent = media.filter((t) => t.type === type);
        const got = split(rtmfp.media, type);
        assert.equal(got.length, sent.length);
        sent.forEach((t, i) => {
          assert.equal(got[i]!.time, t.time, `type ${type} #${i} time`);
          assert.deepEqual(got[i]!.data, t.data, `type ${type} #${i} payload`);
        });
      }
      assert.ok(rtmfp.data.some((d) => d.name === 'onMetaData'));
    } finally {
      obs.close();
      await rtmfp.nc.close();
      await server.close();
    }
  },
);
