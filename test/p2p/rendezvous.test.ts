// Rendezvous building blocks (RTMFP.md §6.3): the peer index, attempt counting, which address of the
// requester goes to the target, the FIHello and Redirect bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import {
  AttemptCounter,
  PeerIndex,
  candidateAddresses,
  epdPeerId,
  introduce,
  peerEpd,
  redirectAddresses,
  requesterAddress,
  type RendezvousPeer,
} from '../../src/protocols/rtmfp/rendezvous.ts';
import { ByteWriter, fromHex, hex } from '../../src/bytes.ts';
import { writeChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import type { Endpoint } from '../../src/protocols/rtmfp/session/session.ts';

function peer(
  idByte: number,
  address: Endpoint,
  peerAddresses: string[] = [],
  usable = true,
): RendezvousPeer & { session: { address: Endpoint; usable: boolean } } {
  return { rawId: new Uint8Array(32).fill(idByte), peerAddresses, session: { address, usable } };
}

test('peer EPD is 21 0f <id> and reads back', () => {
  const id = Uint8Array.from({ length: 32 }, (_, i) => i);
  const epd = peerEpd(id);
  assert.equal(hex(epd.subarray(0, 2)), '210f');
  assert.equal(epd.length, 34);
  assert.deepEqual(epdPeerId([{ type: 0x0f, value: id }]), id);
  assert.equal(epdPeerId([{ type: 0x0a, value: id }]), undefined);
  assert.equal(epdPeerId([{ type: 0x0f, value: id.subarray(1) }]), undefined);
});

test('peer index: by id, by address, moves, reconnection keeps the newest', () => {
  const index = new PeerIndex<ReturnType<typeof peer>>();
  const b = peer(0xbb, { host: '10.0.0.2', port: 5000 });
  index.add(b);
  assert.equal(index.byPeerId(b.rawId), b);
  assert.equal(index.byEndpoint({ host: '10.0.0.2', port: 5000 }), b);
  const previous = b.session.address;
  b.session.address = { host: '10.0.0.2', port: 6000 };
  index.moved(b, previous);
  assert.equal(index.byEndpoint(previous), undefined);
  assert.equal(index.byEndpoint({ host: '10.0.0.2', port: 6000 }), b);
  const again = peer(0xbb, { host: '10.0.0.3', port: 5000 });
  index.add(again);
  index.remove(b); // the old session ends after the new one registered
  assert.equal(index.byPeerId(b.rawId), again);
  index.remove(again);
  assert.equal(index.size, 0);
});

test('attempts count per tag, expire, and stay bounded', () => {
  const clock = new SimulatedClock();
  const counter = new AttemptCounter({ clock, capacity: 3, lifetimeMs: 1000 });
  const tag = (n: number) => new Uint8Array(16).fill(n);
  assert.equal(counter.count(tag(1)), 1);
  assert.equal(counter.count(tag(1)), 2);
  assert.equal(counter.count(tag(2)), 1);
  clock.increment(1500);
  assert.equal(counter.count(tag(1)), 1, 'an old count starts again');
  counter.count(tag(3));
  counter.count(tag(4));
  counter.count(tag(5));
  assert.equal(counter.size, 3);
  counter.expire();
  assert.equal(counter.size, 3);
  clock.increment(1500);
  counter.expire();
  assert.equal(counter.size, 0);
});

test('candidates: public first (origin 2), then setPeerInfo (origin 1), bad and repeated ones dropped', () => {
  const b = peer(0xbb, { host: '198.51.100.7', port: 40000 }, ['192.168.1.5:40000', 'nonsense', '198.51.100.7:40000', '[fe80::1]:40000']);
  assert.deepEqual(candidateAddresses(b), [
    { host: '198.51.100.7', port: 40000, family: 4, origin: 2 },
    { host: '192.168.1.5', port: 40000, family: 4, origin: 1 },
    { host: 'fe80::1', port: 40000, family: 6, origin: 1 },
  ]);
});

test("requester's address for the FIHello: seen address first, then a rotation over its candidates", () => {
  const from = { host: '203.0.113.5', port: 50000 };
  const a = peer(0xaa, from, ['192.168.0.10:50000', '10.1.1.1:50000']);
  const elsewhere = peer(0xbb, { host: '198.51.100.7', port: 40000 });
  const sameNat = peer(0xcc, { host: '203.0.113.5', port: 40000 });
  const pick = (target: RendezvousPeer, times: number) => {
    const address = requesterAddress(from, a, target, times)!;
    return `${address.host}:${address.port}/${address.origin}`;
  };
  // different public IPs: the address seen, then every candidate in turn
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((t) => pick(elsewhere, t)),
    ['203.0.113.5:50000/2', '192.168.0.10:50000/1', '10.1.1.1:50000/1', '203.0.113.5:50000/2', '192.168.0.10:50000/1'],
  );
  // same public IP: one step further, so the private addresses come first
  assert.deepEqual(
    [0, 1, 2].map((t) => pick(sameNat, t)),
    ['192.168.0.10:50000/1', '10.1.1.1:50000/1', '203.0.113.5:50000/2'],
  );
  // a requester unknown here (not connected on this socket): the address seen, always
  assert.equal(requesterAddress(from, undefined, sameNat, 3)?.host, '203.0.113.5');
});

test('introduction bytes follow the worked layout of RTMFP.md §6.3', () => {
  const bId = fromHex('9210df7c' + '00'.repeat(24) + 'aabbcbf8');
  const b: RendezvousPeer = {
    rawId: bId,
    peerAddresses: ['192.168.202.99:55655'],
    session: { address: { host: '198.51.100.7', port: 1234 }, usable: true },
  };
  const tag = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i);
  const intro = introduce(b, undefined, { host: '203.0.113.5', port: 50000 }, tag, 1)!;
  const w = new ByteWriter();
  writeChunk(w, intro.forward);
  assert.equal(hex(w.bytes()), '0f003a' + '22210f' + hex(bId) + '02cb007105c350' + hex(tag));
  assert.deepEqual(
    intro.redirect.map((a) => `${a.host}:${a.port}/${a.origin}`),
    ['198.51.100.7:1234/2', '192.168.202.99:55655/1'],
  );
  const r = new ByteWriter();
  writeChunk(r, { type: 0x71, tag, addresses: intro.redirect });
  assert.equal(hex(r.bytes()), '71001f' + '10' + hex(tag) + '02c6336407' + '04d2' + '01c0a8ca63d967');
  assert.equal(introduce({ ...b, session: { ...b.session, usable: false } }, undefined, { host: '203.0.113.5', port: 1 }, tag, 1), null);
});

test('application redirects: origin 3, "again" is this server, junk and repeats dropped', () => {
  assert.deepEqual(
    redirectAddresses(['192.168.0.2:1935', 'again', 'host.example:1935', '192.168.0.2:1935', '[::1]:1936'], '127.0.0.1:1935'),
    [
      { host: '192.168.0.2', port: 1935, family: 4, origin: 3 },
      { host: '127.0.0.1', port: 1935, family: 4, origin: 3 },
      { host: '::1', port: 1936, family: 6, origin: 3 },
    ],
  );
  assert.deepEqual(redirectAddresses([], '127.0.0.1:1935'), []);
});
