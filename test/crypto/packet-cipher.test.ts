import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ReplayWindow,
  checksum,
  createPacketCipher,
  readSessionId,
  startupCipher,
  type PacketCipher,
  type Protection,
} from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import { createBlockCipher, loadBlockCipher, type CipherImpl } from '../../src/protocols/rtmfp/crypto/aes.ts';
import { fromHex, hex } from '../../src/bytes.ts';

await loadBlockCipher('noble');

const KEY_A = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const KEY_B = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const MAC_A = Uint8Array.from({ length: 32 }, (_, i) => 3 * i);
const MAC_B = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

/** One direction's settings, as the sender and the receiver of that direction see them. */
interface Direction {
  hmacLength: number;
  sequence: boolean;
}
const DIRECTIONS: Direction[] = [0, 4, 10, 16, 32].flatMap((hmacLength) => [false, true].map((sequence) => ({ hmacLength, sequence })));

/** A pair of ciphers for one direction A → B with the given settings, the other direction in Flash profile. */
function pair(d: Direction, impl: CipherImpl = 'noble'): { sender: PacketCipher; receiver: PacketCipher } {
  const sender: Protection = {
    sendHMACLength: d.hmacLength,
    recvHMACLength: 0,
    sendSequence: d.sequence,
    recvSequence: false,
    ...(d.hmacLength > 0 ? { sendHMACKey: MAC_A } : {}),
  };
  const receiver: Protection = {
    sendHMACLength: 0,
    recvHMACLength: d.hmacLength,
    sendSequence: false,
    recvSequence: d.sequence,
    ...(d.hmacLength > 0 ? { recvHMACKey: MAC_A } : {}),
  };
  return {
    sender: createPacketCipher(KEY_A, KEY_B, sender, impl),
    receiver: createPacketCipher(KEY_B, KEY_A, receiver, impl),
  };
}

const label = (d: Direction): string => `hmac ${d.hmacLength} sseq ${d.sequence}`;
const CLEAR = fromHex('8d1e706451 10000b80020101050054430400 00 ffffff'.replace(/ /g, '')).subarray(0, 19);

test('readSessionId: W0 ^ W1 ^ W2, -1 under 12 bytes', () => {
  assert.equal(readSessionId(fromHex('aa3b94548ea6bff7249d2ba3')), 0);
  assert.equal(readSessionId(fromHex('cdc8f1c57954ccdcb49c3d18')), 1);
  assert.equal(readSessionId(fromHex('ffffffff0000000000000000')), 0xffffffff);
  assert.equal(readSessionId(new Uint8Array(11)), -1);
});

test('checksum: RFC 1071 over big-endian words, odd byte low-order', () => {
  const clear = fromHex('a6270d1e76645551000401ff7f01ffff');
  assert.equal(checksum(clear, 2, clear.length), 0xa627);
  assert.equal(checksum(Uint8Array.of(0x12), 0, 1), ~0x0012 & 0xffff);
  assert.equal(checksum(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4), 0);
  assert.equal(checksum(new Uint8Array(0), 0, 0), 0xffff);
});

test('round trip for every protection combination, both directions, both impls', () => {
  for (const d of DIRECTIONS) {
    for (const impl of ['noble', 'node'] as const) {
      const { sender, receiver } = pair(d, impl);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 1200 }), fc.nat(), (clear, far) => {
          const datagram = sender.seal(far, clear);
          assert.equal(readSessionId(datagram), far >>> 0);
          const body = datagram.length - 4 - d.hmacLength;
          assert.ok(body >= 16 && body % 16 === 0);
          const opened = receiver.open(datagram);
          assert.ok(opened, label(d));
          assert.equal(hex(opened.subarray(0, clear.length)), hex(clear));
          assert.ok(
            opened.subarray(clear.length).every((b) => b === 0xff),
            'padding',
          );
          assert.ok(opened.length - clear.length < 16 || clear.length === 0, 'at most one block of padding');
        }),
        { numRuns: 30 },
      );
      // and back: the reverse direction is the Flash profile
      const back = sender.open(receiver.seal(7, CLEAR));
      assert.ok(back);
      assert.equal(hex(back.subarray(0, CLEAR.length)), hex(CLEAR));
    }
  }
});

test('sseq sits first, the checksum covers only what follows it (A3, A4)', () => {
  const sender = createPacketCipher(KEY_A, KEY_B, { sendHMACLength: 0, recvHMACLength: 0, sendSequence: true, recvSequence: false });
  for (let sseq = 0; sseq < 130; sseq++) {
    const raw = sender.seal(1, CLEAR).slice(4);
    createBlockCipher(KEY_A).decrypt(raw);
    const n = sseq < 128 ? 1 : 2;
    assert.equal(hex(raw.subarray(0, n)), hex(sseq < 128 ? Uint8Array.of(sseq) : Uint8Array.of(0x81, sseq - 128)));
    assert.equal((raw[n]! << 8) | raw[n + 1]!, checksum(raw, n + 2, raw.length));
    assert.equal(hex(raw.subarray(n + 2, n + 2 + CLEAR.length)), hex(CLEAR));
  }
});

test('HMAC: checksum gone, MAC appended over the ciphertext only (A2.3)', () => {
  const sender = createPacketCipher(KEY_A, KEY_B, {
    sendHMACLength: 10,
    sendHMACKey: MAC_A,
    recvHMACLength: 0,
    sendSequence: false,
    recvSequence: false,
  });
  const datagram = sender.seal(5, CLEAR);
  assert.equal(datagram.length, 4 + 32 + 10);
  const raw = datagram.slice(4, 36);
  createBlockCipher(KEY_A).decrypt(raw);
  assert.equal(hex(raw.subarray(0, CLEAR.length)), hex(CLEAR));
});

test('both implementations produce the same datagrams', () => {
  for (const d of DIRECTIONS) {
    const a = pair(d, 'noble').sender;
    const b = pair(d, 'node').sender;
    for (let i = 0; i < 3; i++) assert.equal(hex(a.seal(9, CLEAR)), hex(b.seal(9, CLEAR)), label(d));
  }
});

test('flipping any byte after the SSID makes open return null', () => {
  for (const d of DIRECTIONS) {
    const { sender, receiver } = pair(d);
    const datagram = sender.seal(0x01020304, CLEAR);
    for (let i = 4; i < datagram.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Uint8Array.from(datagram);
        bad[i]! ^= bit;
        assert.equal(receiver.open(bad), null, `${label(d)} byte ${i} bit ${bit}`);
      }
    }
    assert.ok(receiver.open(datagram), `${label(d)} the original still opens after the forgeries`);
  }
});

test('a datagram under a different key or MAC key is refused', () => {
  const good = pair({ hmacLength: 16, sequence: true }).sender.seal(1, CLEAR);
  const otherMAC = createPacketCipher(KEY_B, KEY_A, {
    sendHMACLength: 0,
    recvHMACLength: 16,
    recvHMACKey: MAC_B,
    sendSequence: false,
    recvSequence: true,
  });
  assert.equal(otherMAC.open(good), null);
  assert.equal(createPacketCipher(KEY_A, KEY_B).open(pair({ hmacLength: 0, sequence: false }).sender.seal(1, CLEAR)), null);
});

test('open never mutates the datagram, Buffer included', () => {
  for (const d of DIRECTIONS) {
    for (const asBuffer of [false, true]) {
      const { sender, receiver } = pair(d);
      const sealed = sender.seal(3, CLEAR);
      const datagram = asBuffer ? Buffer.from(sealed) : sealed;
      const copy = hex(datagram);
      assert.ok(receiver.open(datagram));
      assert.equal(hex(datagram), copy);
    }
  }
});

test('truncated and garbage input → null, never a throw', () => {
  const ciphers = DIRECTIONS.map((d) => pair(d).receiver).concat([startupCipher]);
  for (const c of ciphers) {
    for (const n of [0, 1, 3, 4, 11, 12, 19, 20, 21, 35, 36, 37, 52])
      assert.equal(c.open(new Uint8Array(n).fill(0xab)), null, `length ${n}`);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (garbage) => {
      for (const c of ciphers) assert.equal(c.open(garbage), null);
    }),
    { numRuns: 300 },
  );
  for (const d of DIRECTIONS) {
    const { sender, receiver } = pair(d);
    const datagram = sender.seal(1, CLEAR);
    for (let n = 0; n < datagram.length; n++) assert.equal(receiver.open(datagram.subarray(0, n)), null, `${label(d)} cut at ${n}`);
  }
});

test('sseq replay window (A3): duplicates and ≤ highest − 32 dropped, gaps and reordering accepted', () => {
  const { sender, receiver } = pair({ hmacLength: 16, sequence: true });
  const sent = Array.from({ length: 102 }, () => sender.seal(1, CLEAR));
  const opens = (n: number): boolean => receiver.open(sent[n]!) !== null;
  assert.ok(opens(0) && opens(1) && opens(2));
  assert.ok(!opens(1), 'duplicate');
  assert.ok(opens(100), 'jump ahead');
  assert.ok(!opens(100), 'duplicate of the highest');
  assert.ok(opens(90), 'late, inside the window');
  assert.ok(!opens(90), 'duplicate inside the window');
  assert.ok(!opens(68), '100 − 32');
  assert.ok(opens(69), '100 − 31');
  assert.ok(opens(101));
  assert.ok(!opens(69));
  assert.ok(!opens(3), 'far too old');
});

test('sseq is recorded only after the checksum or MAC verified', () => {
  for (const hmacLength of [0, 16]) {
    const { sender, receiver } = pair({ hmacLength, sequence: true });
    const datagram = sender.seal(1, CLEAR);
    const bad = Uint8Array.from(datagram);
    bad[bad.length - 1]! ^= 0x40;
    assert.equal(receiver.open(bad), null);
    assert.ok(receiver.open(datagram), `hmac ${hmacLength}: the genuine packet with the same sseq still opens`);
  }
});

test('ReplayWindow on its own', () => {
  const w = new ReplayWindow();
  const take = (n: number): boolean => {
    if (!w.accepts(n)) return false;
    w.record(n);
    return true;
  };
  assert.ok(take(5), 'any first number');
  assert.ok(take(3) && take(4) && !take(4));
  assert.ok(take(40), 'ahead by 35: window restarts');
  assert.ok(!take(8) && take(9) && !take(9));
  assert.ok(take(2 ** 40) && !take(2 ** 40) && take(2 ** 40 - 31) && !take(2 ** 40 - 32));
});

test('startupCipher: default key, checksum, stateless', () => {
  const clear = fromHex('0b1e60300000');
  const a = startupCipher.seal(0, clear);
  assert.equal(a.length, 20);
  assert.equal(hex(startupCipher.seal(0, clear)), hex(a));
  assert.equal(hex(startupCipher.open(a)!.subarray(0, clear.length)), hex(clear));
  assert.ok(startupCipher.open(a), 'no replay state');
});

test('createPacketCipher refuses an HMAC length without key or outside 4–32', () => {
  const base = { sendHMACLength: 0, recvHMACLength: 0, sendSequence: false, recvSequence: false };
  assert.throws(() => createPacketCipher(KEY_A, KEY_B, { ...base, sendHMACLength: 16 }), RangeError);
  assert.throws(() => createPacketCipher(KEY_A, KEY_B, { ...base, recvHMACLength: 3, recvHMACKey: MAC_A }), RangeError);
  assert.throws(() => createPacketCipher(KEY_A, KEY_B, { ...base, sendHMACLength: 33, sendHMACKey: MAC_A }), RangeError);
});
