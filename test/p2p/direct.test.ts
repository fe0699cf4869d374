// Two TypeScript clients of one Nimbus server open a direct session through the server's introduction
// (IHello with a peer-id EPD → FIHello to the target + Redirect to the requester) and talk peer to peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startTestServer } from '../helpers/server.ts';
import { NetConnection } from '../../src/client/net-connection.ts';
import type { PeerConnection } from '../../src/client/peer.ts';
import type { AMFValue } from '../../src/flash/amf/types.ts';
import { hex } from '../../src/bytes.ts';

test('two clients open a direct session through the introduction and exchange messages', async () => {
  const server = await startTestServer();
  const url = `rtmfp://127.0.0.1:${server.port}/app`;
  const a = await NetConnection.connect(url);
  const b = await NetConnection.connect(url);
  try {
    const incoming = once(b.peers, 'peer') as Promise<[PeerConnection]>;
    const toB = await a.connectToPeer(b.peerId);
    const [fromA] = await incoming;
    assert.equal(hex(toB.farPeerId), hex(b.peerId));
    assert.equal(hex(fromA.farPeerId), hex(a.peerId));
    assert.equal(toB.role, 'initiator');
    assert.equal(fromA.role, 'responder');
    // the session is direct: B's address as A sees it is B's own socket, not the server's
    assert.notEqual(toB.address.port, server.port);

    const atB = once(fromA, 'invocation') as Promise<[string, AMFValue[]]>;
    toB.send('hello', 'from A', 1);
    assert.deepEqual(await atB, ['hello', ['from A', 1]]);
    const atA = once(toB, 'invocation') as Promise<[string, AMFValue[]]>;
    fromA.send('reply', { text: 'from B' });
    assert.deepEqual(await atA, ['reply', [{ text: 'from B' }]]);

    const closedAtB = once(fromA, 'close');
    await toB.close();
    await closedAtB;
    assert.equal(b.peers.peers.length, 0);
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});
