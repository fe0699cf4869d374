// Three Nimbus processes: L balances handshakes over the servers linked to it (test/fixtures/servers/balance),
// B and C run the rendezvous/NetGroup application (test/fixtures/servers/meet); B targets L, C targets L and B.
// Handshakes to L are redirected to B and C in turn; a peer on C reaches a peer on B by its peer id, and meets it
// in one NetGroup; C frozen
// (SIGSTOP: no FIN, as a pulled cable) is seen gone by L and B within 10 s, and L stops sending clients there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { hex } from '../../src/bytes.ts';
import { NodeProcess } from '../helpers/node-process.ts';
import { Requester } from '../helpers/requester.ts';
import { until } from '../streams/helpers.ts';
import { NetConnection, urlEndpointDiscriminator } from '../../src/client/net-connection.ts';

const BALANCE = fileURLToPath(new URL('../fixtures/servers/balance', import.meta.url));
const MEET = fileURLToPath(new URL('../fixtures/servers/meet', import.meta.url));

test('round-robin handshakes, rendezvous across servers, a frozen server detected', { timeout: 120_000 }, async (t) => {
  const l = await NodeProcess.start({ dir: BALANCE });
  t.after(() => l.stop());
  const b = await NodeProcess.start({ dir: MEET, args: [`--servers.targets=${l.serversAddress}`] });
  t.after(() => b.stop());
  await until(() => l.count(/^linked/) === 1, 'B linked to L', 15_000);
  const c = await NodeProcess.start({ dir: MEET, args: [`--servers.targets=${l.serversAddress};${b.serversAddress}`] });
  t.after(() => c.stop());
  await until(() => l.count(/^linked/) === 2 && b.count(/^linked/) === 2 && c.count(/^linked/) === 2, 'all linked', 15_000);

  // onHandshake at L: B (linked first), C, B again
  const requester = await Requester.open();
  t.after(() => requester.close());
  const epd = urlEndpointDiscriminator(l.url);
  const redirects = [
    await requester.hello(l.rtmfpPort, epd),
    await requester.hello(l.rtmfpPort, epd),
    await requester.hello(l.rtmfpPort, epd),
  ];
  const onB = `127.0.0.1:${b.rtmfpPort}`;
  const onC = `127.0.0.1:${c.rtmfpPort}`;
  assert.deepEqual(redirects, [[onB], [onC], [onB]]);

  // a peer connected to C reaches a peer connected to B by its id: C redirects the lookup to L and B, B introduces
  const p1 = await NetConnection.connect(b.url);
  t.after(() => p1.close());
  const p2 = await NetConnection.connect(c.url);
  t.after(() => p2.close());
  const peer = await p2.connectToPeer(p1.peerId, 10_000);
  assert.ok(peer, 'P2P session from a peer on C to a peer on B');

  // one NetGroup across B and C: P1 joins on B (B tells C, which keeps P1 as a virtual member), then P2 joins on
  // C and is introduced to P1
  const groupId = createHash('sha256').update('G:servers test group').digest();
  const g1 = p1.joinGroup(groupId);
  await c.waitLog(/^virtual member/, 10_000);
  const g2 = p2.joinGroup(groupId);
  await until(() => g2.members.includes(hex(p1.peerId)), 'P2 (on C) introduced to P1 (on B)', 10_000);
  assert.ok(!g1.members.includes(hex(p1.peerId)));

  // C frozen: no FIN, only silence; L and B find out by the missing pings
  const frozenAt = Date.now();
  c.signal('SIGSTOP');
  t.after(() => c.signal('SIGCONT'));
  await l.waitLog(/^Disconnection from 127\.0\.0\.1:\d+ server, peer silent/, 10_000);
  await b.waitLog(/^Disconnection from 127\.0\.0\.1:\d+ server, peer silent/, 10_000);
  const seenIn = Date.now() - frozenAt;
  assert.ok(seenIn < 10_000, `seen in ${seenIn} ms`);
  await b.waitLog(/^unlinked 127\.0\.0\.1:\d+ peer silent/, 2_000);
  assert.deepEqual([await requester.hello(l.rtmfpPort, epd), await requester.hello(l.rtmfpPort, epd)], [[onB], [onB]]);
});
