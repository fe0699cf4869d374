// Redirects seen by an independent requester (a bare UDP socket speaking startup packets): onHandshake and
// onRendezVousUnknown returning each documented form, attempts counting, the introduction of a connected
// peer (Redirect to the requester, Forwarded IHello to the target), blacklisted requesters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Requester } from '../helpers/requester.ts';
import { startTestServer } from '../helpers/server.ts';
import { NetConnection, urlEndpointDiscriminator } from '../../src/client/net-connection.ts';
import { acceptAll, type ApplicationPort } from '../../src/core/ports.ts';
import { equalBytes, hex } from '../../src/bytes.ts';
import { CHUNK, type Chunk, type FIHelloChunk, type RedirectChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { peerEpd } from '../../src/protocols/rtmfp/rendezvous.ts';

const listed = (chunk: Chunk | undefined) => {
  assert.equal(chunk?.type, CHUNK.REDIRECT, 'a Redirect');
  return (chunk as RedirectChunk).addresses.map((a) => `${a.family === 6 ? `[${a.host}]` : a.host}:${a.port}/${a.origin}`);
};

test('onHandshake: one address, several, "again", nothing; attempts count the retries of a tag', async () => {
  const calls: Array<{ address: string; path: string; properties: Record<string, string>; attempts: number }> = [];
  let answer: string[] = [];
  const application: ApplicationPort = {
    ...acceptAll,
    onHandshake: (address, path, properties, attempts) => {
      calls.push({ address, path, properties, attempts });
      return answer;
    },
  };
  const server = await startTestServer({ application });
  const requester = await Requester.open();
  const self = `127.0.0.1:${server.port}/3`;
  const url = `rtmfp://127.0.0.1:${server.port}/live/room?acceptableAttempts=2`;
  try {
    answer = ['192.168.0.2:1935'];
    let tag = randomBytes(16);
    requester.ihello(server.port, urlEndpointDiscriminator(url), tag);
    assert.deepEqual(listed(await requester.answer(tag)), ['192.168.0.2:1935/3']);
    assert.deepEqual(calls[0], {
      address: `127.0.0.1:${requester.port}`,
      path: 'live/room',
      properties: { acceptableAttempts: '2' },
      attempts: 1,
    });

    answer = ['192.168.0.2:1935', '192.168.0.3:1936'];
    requester.received.length = 0;
    requester.ihello(server.port, urlEndpointDiscriminator(url), tag);
    assert.deepEqual(listed(await requester.answer(tag)), ['192.168.0.2:1935/3', '192.168.0.3:1936/3']);
    assert.equal(calls[1]!.attempts, 2, 'the same tag again: a second attempt');

    answer = ['192.168.0.2:1935', 'again'];
    tag = randomBytes(16);
    requester.ihello(server.port, urlEndpointDiscriminator(url), tag);
    assert.deepEqual(listed(await requester.answer(tag)), ['192.168.0.2:1935/3', self]);
    assert.equal(calls[2]!.attempts, 1, 'a new tag starts again');

    answer = ['again'];
    tag = randomBytes(16);
    requester.ihello(server.port, urlEndpointDiscriminator(url), tag);
    assert.deepEqual(listed(await requester.answer(tag)), [self]);

    answer = [];
    tag = randomBytes(16);
    requester.ihello(server.port, urlEndpointDiscriminator(url), tag);
    assert.equal((await requester.answer(tag))?.type, CHUNK.RHELLO, 'nothing returned: a normal RHello');
  } finally {
    requester.close();
    await server.close();
  }
});

test('onRendezVousUnknown: one address, several, "again", nothing', async () => {
  const asked: Array<[string, string]> = [];
  let answer: string[] = [];
  const application: ApplicationPort = {
    ...acceptAll,
    onRendezVousUnknown: (peerId, protocol) => {
      asked.push([peerId, protocol]);
      return answer;
    },
  };
  const server = await startTestServer({ application });
  const requester = await Requester.open();
  const unknown = randomBytes(32);
  try {
    const ask = async (returned: string[]) => {
      answer = returned;
      const tag = randomBytes(16);
      requester.ihello(server.port, peerEpd(unknown), tag);
      return requester.answer(tag);
    };
    assert.deepEqual(listed(await ask(['192.168.0.2:1935'])), ['192.168.0.2:1935/3']);
    assert.deepEqual(asked[0], [hex(unknown), 'RTMFP']);
    assert.deepEqual(listed(await ask(['192.168.0.2:1935', '192.168.0.3:1935'])), ['192.168.0.2:1935/3', '192.168.0.3:1935/3']);
    assert.deepEqual(listed(await ask(['again', '10.0.0.1:1935'])), [`127.0.0.1:${server.port}/3`, '10.0.0.1:1935/3']);
    assert.equal(await ask([]), undefined, 'nothing returned: no answer');
    assert.equal(await ask(['not an address']), undefined);
  } finally {
    requester.close();
    await server.close();
  }
});

test("a connected target: Redirect with its addresses to the requester, FIHello with the requester's to the target", async () => {
  const server = await startTestServer();
  const b = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/app`);
  const requester = await Requester.open();
  const forwarded: FIHelloChunk[] = [];
  const original = b.onForwardedHello.bind(b);
  b.onForwardedHello = (session, chunk) => {
    forwarded.push(chunk);
    original(session, chunk);
  };
  try {
    b.send('setPeerInfo', '192.168.1.20:5000', '[fe80::1]:5000');
    const client = [...server.server.rtmfp.clients.values()][0]!;
    for (let i = 0; i < 200 && client.peerAddresses.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const tag = randomBytes(16);
    requester.ihello(server.port, peerEpd(b.peerId), tag);
    const bPort = server.server.rtmfp.clients.values().next().value!.session.address.port;
    assert.deepEqual(listed(await requester.answer(tag)), [`127.0.0.1:${bPort}/2`, '192.168.1.20:5000/1', '[fe80::1]:5000/1']);
    for (let i = 0; i < 200 && forwarded.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(forwarded.length, 1);
    assert.ok(equalBytes(forwarded[0]!.tag, tag));
    assert.deepEqual(forwarded[0]!.replyAddress, { host: '127.0.0.1', port: requester.port, family: 4, origin: 2 });
    assert.equal(hex(forwarded[0]!.epdRaw), '210f' + hex(b.peerId));
    // B answered the forwarded hello with an RHello straight to the requester
    const rhello = requester.received.find((c) => c.type === CHUNK.RHELLO);
    assert.ok(rhello, 'the target said hello to the requester');
  } finally {
    requester.close();
    await b.close();
    await server.close();
  }
});

test('blacklisted requesters get nothing', async () => {
  let called = 0;
  const application: ApplicationPort = { ...acceptAll, onRendezVousUnknown: () => (called++, ['192.168.0.2:1935']) };
  const server = await startTestServer({ application });
  const requester = await Requester.open();
  try {
    server.server.core.blacklist.add('127.0.0.1');
    const tag = randomBytes(16);
    requester.ihello(server.port, peerEpd(randomBytes(32)), tag);
    requester.ihello(server.port, urlEndpointDiscriminator(`rtmfp://127.0.0.1:${server.port}/app`), randomBytes(16));
    assert.equal(await requester.answer(tag), undefined);
    assert.equal(requester.received.length, 0);
    assert.equal(called, 0);
  } finally {
    requester.close();
    await server.close();
  }
});
