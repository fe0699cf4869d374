// One Nimbus node's server link against a raw MonaServer-protocol peer over loopback: the hello exchange,
// RPC bytes both ways (MonaServer's worked examples), rejects, the secret, and hostile input dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startTestServer } from '../helpers/server.ts';
import { freeTcpPort } from '../helpers/rtmp-client.ts';
import { RawServerPeer, message } from '../helpers/server-peer.ts';
import { NetConnection } from '../../src/client/index.ts';

const DIR = fileURLToPath(new URL('../fixtures/servers/rpc', import.meta.url));
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function node(args: string[] = []) {
  const port = await freeTcpPort();
  const server = await startTestServer({ dir: DIR, args: [`--servers.port=${port}`, '--host=10.1.2.3', ...args] });
  return { server, port };
}

test('hello answered with the configuration; RPCs cross in MonaServer bytes both ways', async (t) => {
  const { server, port } = await node();
  t.after(() => server.close());
  const peer = await RawServerPeer.connect(port);
  t.after(() => peer.close());
  peer.hello([['k', 'v']]);
  const hello = await peer.next((f) => f.kind === 'hello');
  assert.ok(hello.kind === 'hello');
  const pairs = new Map(hello.pairs);
  assert.equal(pairs.get('host'), '10.1.2.3');
  assert.equal(pairs.get('RTMFP.publicAddress'), `10.1.2.3:${server.port}`);
  assert.equal(pairs.get('servers.port'), String(port));
  assert.equal(pairs.get('nimbus.link'), '1');
  const keys = hello.pairs.map(([k]) => k);
  assert.deepEqual(
    keys,
    [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  // the "." frame: the root application, a String "" (§1.4)
  const apps = await peer.next(message('.'));
  assert.ok(apps.kind === 'message');
  assert.equal(hex(apps.payload), '00');
  // server:send("hello","m1",42) bytes from MonaServer (§1.8), echoed back by the application
  peer.send('echo', bytes('11 06 05 6D 31 11 04 2A'));
  const echoed = await peer.next(message('echoed'));
  assert.ok(echoed.kind === 'message');
  assert.equal(hex(echoed.payload), '1106056d3111042a');
  // every kind of value, binary strings byte-exact, a repeated string by reference, a table, -1, 1.5, nil
  const binary = Buffer.from([0, 0xff, 0xc3, 0x28, 0x80, 1]);
  const payload = Buffer.concat([
    bytes('11 06'),
    Buffer.from([(binary.length << 1) | 1]),
    binary,
    bytes('11 06 00'), // the same bytes by reference
    bytes('11 04 FF FF FF FF'), // -1
    bytes('00 3F F8 00 00 00 00 00 00'), // 1.5
    bytes('01 01 05'), // true, nil
    bytes('11 0A 0B 01 03 6B 04 01 01'), // {k=1}
    bytes('11 09 05 01 04 01 04 02'), // {1,2}
  ]);
  peer.send('echo', payload);
  const second = await peer.next(message('echoed'), 5_000, peer.frames.indexOf(echoed) + 1);
  assert.ok(second.kind === 'message');
  assert.equal(hex(second.payload), hex(payload));
  // what the application sees of this server
  peer.send('describe', new Uint8Array(0));
  const described = await peer.next(message('described'));
  assert.ok(described.kind === 'message');
  // address (string), isTarget false, k = "v" from our hello, servers.count 1, initiators 1, targets 0
  const text = Buffer.from(described.payload).toString('latin1');
  assert.match(text, /127\.0\.0\.1:\d+/);
  assert.ok(hex(described.payload).endsWith('0100' + '1106037' + '6' + '110401' + '110401' + '110400'), hex(described.payload));
});

test('an error in onServerConnection rejects the link with its message', async (t) => {
  const { server, port } = await node();
  t.after(() => server.close());
  const peer = await RawServerPeer.connect(port);
  t.after(() => peer.close());
  peer.hello([['rejectMe', 'yes']]);
  const reject = await peer.next((f) => f.kind === 'reject');
  assert.ok(reject.kind === 'reject');
  assert.match(reject.text, /main\.lua:4: rejected by the test application$/);
  await peer.waitClosed();
});

test('server:reject(message) from a handler ends the link with that message', async (t) => {
  const { server, port } = await node();
  t.after(() => server.close());
  const peer = await RawServerPeer.connect(port);
  t.after(() => peer.close());
  peer.hello([['k', 'v']]);
  await peer.next((f) => f.kind === 'hello');
  peer.send('kick', new Uint8Array(0));
  const reject = await peer.next((f) => f.kind === 'reject');
  assert.ok(reject.kind === 'reject');
  assert.equal(reject.text, 'kicked by the application');
  await peer.waitClosed();
});

test('with [servers] secret, a peer without it is refused; with it, admitted', async (t) => {
  const { server, port } = await node(['--servers.secret=open sesame']);
  t.after(() => server.close());
  const stranger = await RawServerPeer.connect(port);
  t.after(() => stranger.close());
  stranger.hello([['k', 'v']]);
  const refused = await stranger.next((f) => f.kind === 'reject');
  assert.ok(refused.kind === 'reject');
  assert.match(refused.text, /not allowed/);
  await stranger.waitClosed();
  const friend = await RawServerPeer.connect(port);
  t.after(() => friend.close());
  friend.hello([['secret', 'open sesame']]);
  const hello = await friend.next((f) => f.kind === 'hello');
  assert.ok(hello.kind === 'hello');
  assert.ok(!hello.pairs.some(([k, v]) => /secret/.test(k) || v === 'open sesame'), 'the secret is never sent back');
});

test('garbage, oversized frames, messages before the hello and silent sockets are dropped; clients unaffected', async (t) => {
  const { server, port } = await node();
  t.after(() => server.close());
  const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
  t.after(() => nc.close());
  const oversized = await RawServerPeer.connect(port);
  oversized.raw(bytes('7F FF FF FF 00'));
  await oversized.waitClosed(2_000);
  const early = await RawServerPeer.connect(port);
  early.send('echo', bytes('05'));
  await early.waitClosed(2_000);
  const garbage = await RawServerPeer.connect(port);
  garbage.raw(bytes('00 00 00 03 00 FF FF'));
  await garbage.waitClosed(2_000);
  // a big hello is over the hello limit (64 KiB)
  const bigHello = await RawServerPeer.connect(port);
  bigHello.hello([['k', 'x'.repeat(70_000)]]);
  await bigHello.waitClosed(2_000);
  const silent = await RawServerPeer.connect(port);
  const waited = await silent.waitClosed(8_000);
  assert.ok(waited >= 4_000 && waited < 7_500, `slow-loris dropped after ${waited} ms`);
  // the client still works, and a good peer still links
  const answer = await nc.call('nothing').catch((error: Error) => error.message);
  assert.ok(typeof answer === 'string' || answer === undefined);
  const good = await RawServerPeer.connect(port);
  t.after(() => good.close());
  good.hello([['k', 'v']]);
  await good.next((f) => f.kind === 'hello');
  for (const p of [oversized, early, garbage, bigHello, silent]) p.close();
});
