// What public CumulusServer/MonaServer applications rely on, reproduced by small applications of our own
// (test/fixtures/public-apps): a MonaStatus-style monitor, a Cumulus room application, a Cumulus TCP audio
// bridge. docs/lua-differences.md lists the public applications these come from and how they ran.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NetConnection } from '../../src/client/index.ts';
import type { AMFObject } from '../../src/flash/amf/types.ts';

const DIR = fileURLToPath(new URL('../fixtures/public-apps/', import.meta.url));
let server: TestServer;
let tcp: net.Server;
let peer: net.Socket | undefined;
const fromPeer: Buffer[] = [];
const opened: NetConnection[] = [];

before(async () => {
  tcp = net.createServer((socket) => {
    peer = socket;
    socket.on('data', (d) => fromPeer.push(d));
  });
  // "localhost" may resolve to ::1 or 127.0.0.1: listen on both
  await new Promise<void>((resolve) => tcp.listen(0, '::', resolve));
  const port = (tcp.address() as net.AddressInfo).port;
  server = await startTestServer({ dir: DIR, args: [`--bridge.port=${port}`] });
});

after(async () => {
  for (const nc of opened) nc.destroy();
  await server?.close();
  peer?.destroy();
  await new Promise((resolve) => tcp?.close(resolve));
});

const url = (app: string) => `rtmfp://127.0.0.1:${server.port}/${app}`;
async function connect(app: string): Promise<NetConnection> {
  const nc = await NetConnection.connect(url(app));
  opened.push(nc);
  return nc;
}
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a monitor: # of clients and listeners, listeners keyed by client, QualityOfService, age of the last frame', async () => {
  const publisher = await connect('stats');
  const stream = await publisher.createNetStream();
  stream.publish('cam');
  await stream.waitStatus('NetStream.Publish.Start');
  const player = await connect('stats');
  const play = await player.createNetStream();
  play.play('cam');
  await play.waitStatus('NetStream.Play.Start');
  for (let i = 0; i < 10; i++) stream.sendVideo(i * 40, Uint8Array.of(0x17, 0x01, 0, 0, 0, i));
  await new Promise((r) => setTimeout(r, 200));
  const admin = await connect('stats');
  const [stats] = (await admin.call('stats', 'cam')) as [AMFObject];
  assert.equal(stats.clients, 3);
  assert.equal(stats.listeners, 1);
  assert.deepEqual(stats.ids, [Buffer.from(player.peerId).toString('hex')]);
  assert.ok(typeof stats.age === 'number' && stats.age >= 0 && stats.age < 5_000, `age of the last frame ${String(stats.age)} ms`);
  assert.equal(stats.lost, '0.000%');
  assert.equal(typeof stats.rate, 'number');
  assert.match(String(stats.latency), /^\d+ms$/);
  assert.equal((await admin.call('stats', 'none'))[0], false);
});

test('a room application: clients kept by id, a field stored on the client, writeAMFMessage, cleanup on disconnection', async () => {
  const a = await connect('rooms');
  const b = await connect('rooms');
  const arrivals: unknown[] = [];
  a.on('invocation', (name: string, args: unknown[]) => arrivals.push([name, ...args]));
  assert.deepEqual((await a.call('enter', 'lobby'))[0], []);
  assert.deepEqual((await b.call('enter', 'lobby'))[0], [Buffer.from(a.peerId).toString('hex')]);
  await until(() => arrivals.length === 1, 'onArrival');
  assert.deepEqual(arrivals, [['onArrival', Buffer.from(b.peerId).toString('hex')]]);
  await b.close();
  const c = await connect('rooms');
  assert.deepEqual((await c.call('enter', 'lobby'))[0], [Buffer.from(a.peerId).toString('hex')], 'b left the room');
});

test('a TCP bridge: onAudioPacket to a TCP peer, and what the peer sends published with cumulus:publish', async () => {
  const source = await connect('bridge'); // the first connection starts the application: onStart connects
  await until(() => peer !== undefined, 'the bridge to connect to its TCP peer');
  const mic = await source.createNetStream();
  mic.publish('mic');
  await mic.waitStatus('NetStream.Publish.Start');
  mic.sendAudio(1234, Uint8Array.of(0xaf, 0x01, 0x55, 0x66));
  await until(() => Buffer.concat(fromPeer).length >= 23, 'the audio packet at the TCP peer');
  assert.equal(Buffer.concat(fromPeer).toString('latin1'), 'A001234mic     0004\xaf\x01\x55\x66');

  const listener = await connect('bridge');
  const radio = await listener.createNetStream();
  const audio: number[][] = [];
  radio.on('audio', (_time: number, data: Uint8Array) => audio.push([...data]));
  const frame = (time: number, byte: number) =>
    Buffer.from(`A${String(time).padStart(6, '0')}radio   0003\xaf\x01${String.fromCharCode(byte)}`, 'latin1');
  peer!.write(frame(100, 1)); // the publication exists from the first packet on
  await new Promise((r) => setTimeout(r, 100));
  radio.play('radio');
  await radio.waitStatus('NetStream.Play.Start');
  peer!.write(Buffer.concat([frame(120, 2), frame(140, 3).subarray(0, 10)])); // a message split across two reads
  await new Promise((r) => setTimeout(r, 50));
  peer!.write(frame(140, 3).subarray(10));
  await until(() => audio.length >= 2, 'the published audio at the player');
  assert.deepEqual(audio.slice(-2), [
    [0xaf, 0x01, 2],
    [0xaf, 0x01, 3],
  ]);
});
