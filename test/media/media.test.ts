import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataName, isAACSequenceHeader, isAVCSequenceHeader, isKeyFrame, readFLV, writeFLV } from '../../src/core/media/media.ts';

test('key frames and sequence headers are recognised from their first bytes', () => {
  assert.equal(isKeyFrame(Uint8Array.of(0x17, 0x01)), true);
  assert.equal(isKeyFrame(Uint8Array.of(0x27, 0x01)), false);
  assert.equal(isKeyFrame(new Uint8Array(0)), false);
  assert.equal(isAVCSequenceHeader(Uint8Array.of(0x17, 0x00, 0, 0, 0)), true);
  assert.equal(isAVCSequenceHeader(Uint8Array.of(0x17, 0x01)), false);
  assert.equal(isAVCSequenceHeader(Uint8Array.of(0x12, 0x00)), false);
  assert.equal(isAACSequenceHeader(Uint8Array.of(0xaf, 0x00, 0x12, 0x10)), true);
  assert.equal(isAACSequenceHeader(Uint8Array.of(0xaf, 0x01)), false);
  assert.equal(isAACSequenceHeader(Uint8Array.of(0x2f, 0x00)), false);
});

test('FLV files round-trip, 32-bit timestamps included', () => {
  const tags = [
    { type: 9, time: 0, data: Uint8Array.of(0x17, 0, 1, 2) },
    { type: 8, time: 0x01abcdef, data: Uint8Array.of(0xaf, 1, 9) },
    { type: 0x12, time: 5, data: new Uint8Array(300).fill(7) },
  ];
  const back = readFLV(writeFLV(tags));
  assert.deepEqual(
    back.map((t) => ({ type: t.type, time: t.time, data: [...t.data] })),
    tags.map((t) => ({ ...t, data: [...t.data] })),
  );
});

test('data handler names are read from 0x12 and 0x0f bodies', () => {
  const name = [0x02, 0, 3, 0x61, 0x62, 0x63, 0x05];
  assert.deepEqual(dataName(0x12, Uint8Array.from(name)), { name: 'abc', end: 6 });
  assert.deepEqual(dataName(0x0f, Uint8Array.from([0, ...name])), { name: 'abc', end: 7 });
  assert.equal(dataName(0x12, Uint8Array.of(0x00, 0, 0)), undefined);
  assert.equal(dataName(0x12, Uint8Array.of(0x02, 0, 9, 0x61)), undefined);
});
