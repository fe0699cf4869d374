import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, fromHex, hex } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';
import {
  MODE,
  PACKET_FLAG,
  packetHeaderSize,
  readPacketHeader,
  timestampNow,
  writePacketHeader,
} from '../../src/protocols/rtmfp/wire/packet.ts';

function header(mode: number, ts?: number, tse?: number, extra?: number): string {
  const w = new ByteWriter(16);
  writePacketHeader(w, mode, ts, tse, extra);
  return hex(w.view_());
}

test('flag values seen on the wire (§1.6)', () => {
  assert.equal(header(MODE.STARTUP, 0x1e60), '0b1e60');
  assert.equal(header(MODE.INITIATOR, 0x1e70, 0x6451, PACKET_FLAG.TC), '8d1e706451');
  assert.equal(header(MODE.INITIATOR, 0x1e76, 0x6455), '0d1e766455');
  assert.equal(header(MODE.RESPONDER, 0x6455, 0x1e70, PACKET_FLAG.TCR), '4e64551e70');
  assert.equal(header(MODE.RESPONDER, 0x6455, undefined, PACKET_FLAG.TCR), '4a6455');
  assert.equal(header(MODE.RESPONDER), '02');
  assert.equal(header(MODE.RESPONDER, 0x1_0005), '0a0005', 'timestamps wrap at 16 bits');
  assert.equal(packetHeaderSize(true, true), 5);
  assert.equal(packetHeaderSize(true, false), 3);
});

test('readPacketHeader', () => {
  assert.deepEqual(readPacketHeader(fromHex('8d1e706451 10')), {
    flags: 0x8d,
    mode: 1,
    timestamp: 0x1e70,
    timestampEcho: 0x6451,
    chunksOffset: 5,
  });
  assert.deepEqual(readPacketHeader(fromHex('0b1e60 30')), { flags: 0x0b, mode: 3, timestamp: 0x1e60, chunksOffset: 3 });
  assert.deepEqual(readPacketHeader(fromHex('4a6455')), { flags: 0x4a, mode: 2, timestamp: 0x6455, chunksOffset: 3 });
  assert.deepEqual(readPacketHeader(fromHex('06abcd')), { flags: 0x06, mode: 2, timestampEcho: 0xabcd, chunksOffset: 3 });
  assert.deepEqual(readPacketHeader(fromHex('01')), { flags: 1, mode: 1, chunksOffset: 1 });
  for (const bad of ['', '0d1e76', '0b1e', '08ff', '00', '0c12345678']) {
    assert.throws(() => readPacketHeader(fromHex(bad)), WireError, bad);
  }
});

test('timestampNow counts 4 ms ticks modulo 65536', () => {
  assert.equal(timestampNow(0), 0);
  assert.equal(timestampNow(3), 0);
  assert.equal(timestampNow(4), 1);
  assert.equal(timestampNow(4 * 65535), 65535);
  assert.equal(timestampNow(4 * 65536), 0);
  const now = 1_732_000_000_123;
  assert.equal(timestampNow(now), Math.floor(now / 4) % 65536);
});
