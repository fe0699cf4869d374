// The chunk layer and the handshake alone: every header form, extended timestamps, chunk sizes, aborts, the
// bounds, and the digest answer as ffmpeg's player checks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChunkReader, type RtmpMessage } from '../../src/protocols/rtmp/chunk-reader.ts';
import { ChunkWriter } from '../../src/protocols/rtmp/chunk-writer.ts';
import { answerHandshake, clientC1, validateC1, verifyServerAnswer } from '../../src/protocols/rtmp/handshake.ts';
import { splitAggregate } from '../../src/protocols/rtmp/aggregate.ts';
import { WireError } from '../../src/errors.ts';

function collect(): { reader: ChunkReader; got: RtmpMessage[] } {
  const got: RtmpMessage[] = [];
  return { reader: new ChunkReader((m) => got.push({ ...m, payload: m.payload.slice() })), got };
}

test('writer → reader round trip over csids of 1, 2 and 3 bytes, chunk sizes, timestamps forwards, backwards and extended', () => {
  for (const chunkSize of [1, 128, 4096, 0xffffff]) {
    const writer = new ChunkWriter();
    writer.chunkSize = chunkSize;
    const { reader, got } = collect();
    reader.setChunkSize(chunkSize);
    const sent: Array<Omit<RtmpMessage, 'payload'> & { payload: Uint8Array }> = [];
    const times = [0, 40, 40, 80, 20, 0xfffffe, 0xffffff, 0x1000000, 0xfffffff0, 5];
    for (const csid of [3, 64, 319, 320, 65599]) {
      for (const [i, timestamp] of times.entries()) {
        const payload = new Uint8Array(randomBytes(i % 3 === 0 ? 300 : 300 + i));
        sent.push({ type: 9, timestamp, streamId: 1 + (i >> 2), csid, payload });
        // bytes arrive in odd pieces
        const bytes = writer.encode(csid, 9, 1 + (i >> 2), timestamp, payload);
        for (let at = 0; at < bytes.length; at += 7) reader.push(bytes.subarray(at, at + 7));
      }
    }
    assert.equal(got.length, sent.length, `chunk size ${chunkSize}`);
    for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i], sent[i], `chunk size ${chunkSize}, message ${i}`);
  }
});

test('fmt 3 starting a message adds the last delta, after a fmt 0 the fmt 0 timestamp (SPEC, RTMP.md §2.3)', () => {
  const { reader, got } = collect();
  // fmt 0 csid 4: ts 100, length 1, type 8, stream 1; then fmt 3 twice
  reader.push(Uint8Array.of(0x04, 0, 0, 100, 0, 0, 1, 8, 1, 0, 0, 0, 0xaa, 0xc4, 0xbb, 0xc4, 0xcc));
  // fmt 2 delta 20, then fmt 3
  reader.push(Uint8Array.of(0x84, 0, 0, 20, 0xdd, 0xc4, 0xee));
  assert.deepEqual(
    got.map((m) => m.timestamp),
    [100, 200, 300, 320, 340],
  );
});

test('extended timestamps on type-3 continuation chunks are read whether or not the sender repeats them', () => {
  for (const repeat of [true, false]) {
    const { reader, got } = collect();
    const header = [0x04, 0xff, 0xff, 0xff, 0, 0, 200, 9, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00];
    const first = new Array(128).fill(0x11);
    const rest = new Array(72).fill(0x22);
    reader.push(Uint8Array.of(...header, ...first, 0xc4, ...(repeat ? [0x01, 0, 0, 0] : []), ...rest));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.timestamp, 0x01000000);
    assert.deepEqual([...got[0]!.payload], [...first, ...rest], `repeat ${repeat}`);
  }
});

test('abort drops the partial message; chunk size 0, bit 31, oversized and fresh fmt 2/3 chunks are refused', () => {
  const { reader, got } = collect();
  reader.push(Uint8Array.of(0x04, 0, 0, 10, 0, 1, 0, 9, 1, 0, 0, 0, ...new Array(128).fill(1)));
  reader.abort(4);
  reader.push(Uint8Array.of(0x44, 0, 0, 5, 0, 0, 1, 8, 0x77)); // fmt 1: delta from the aborted message's timestamp
  assert.deepEqual(
    got.map((m) => [m.timestamp, m.payload.length]),
    [[15, 1]],
  );
  assert.throws(() => reader.setChunkSize(0), WireError);
  assert.throws(() => reader.setChunkSize(0x80000000), WireError);
  reader.setChunkSize(0x7fffffff);
  assert.equal(reader.peerChunkSize, 0xffffff);
  assert.throws(() => reader.push(Uint8Array.of(0x05, 0, 0, 0, 0x90, 0, 0, 9, 1, 0, 0, 0)), /message of/);
  assert.throws(() => collect().reader.push(Uint8Array.of(0x86, 0, 0, 0)), /starts with fmt 2/);
  assert.throws(() => collect().reader.push(Uint8Array.of(0x03, 0, 0, 0, 0x01, 0, 1, 0x14, 0, 0, 0, 0)), /message of/);
});

test('the digest handshake: either C1 layout validates, S1/S2 pass the checks ffmpeg makes; a simple C1 gets S2 = C1', () => {
  for (const scheme of ['A', 'B'] as const) {
    const c1 = clientC1(scheme);
    assert.equal(validateC1(c1)?.scheme, scheme);
    const answer = answerHandshake(Uint8Array.of(3, ...c1));
    assert.equal(answer.digest, true);
    assert.equal(answer.bytes[0], 3);
    assert.ok(answer.bytes[5]! >= 3, 'S1 version makes ffmpeg validate');
    assert.ok(verifyServerAnswer(c1, answer.bytes.subarray(1, 1537), answer.bytes.subarray(1537)));
  }
  const simple = new Uint8Array(randomBytes(1536)).fill(0, 0, 8);
  assert.equal(validateC1(simple), undefined);
  const answer = answerHandshake(Uint8Array.of(3, ...simple));
  assert.equal(answer.digest, false);
  assert.deepEqual(answer.bytes.subarray(1537), simple);
  assert.throws(() => answerHandshake(Uint8Array.of(6, ...simple)), WireError);
});

test('aggregate messages split into their tags with rebased timestamps; truncated ones are refused', () => {
  const tag = (type: number, time: number, body: number[]) => [
    type,
    0,
    0,
    body.length,
    (time >> 16) & 0xff,
    (time >> 8) & 0xff,
    time & 0xff,
    0,
    0,
    0,
    0,
    ...body,
    0,
    0,
    0,
    11 + body.length,
  ];
  const body = Uint8Array.of(...tag(8, 1000, [0xaf, 1]), ...tag(9, 1040, [0x27, 1, 2]));
  assert.deepEqual(
    splitAggregate(body, 50).map((m) => [m.type, m.timestamp, m.payload.length]),
    [
      [8, 50, 2],
      [9, 90, 3],
    ],
  );
  assert.throws(() => splitAggregate(body.subarray(0, body.length - 2), 0), WireError);
});

test('a full encoding is fmt 0 whatever came before on the csid, so one buffer serves every player', () => {
  const a = new ChunkWriter();
  const b = new ChunkWriter();
  a.encode(7, 9, 1, 100, Uint8Array.of(1, 2, 3));
  const payload = new Uint8Array(randomBytes(300));
  const full = a.encode(7, 9, 1, 140, payload, true);
  assert.equal(full[0]! >> 6, 0, 'fmt 0');
  assert.ok(full.equals(b.encode(7, 9, 1, 140, payload, true)), 'independent of the writer state');
  // a reader that saw the earlier message decodes the full encoding, and the writer's next header follows it
  const { reader, got } = collect();
  reader.push(new ChunkWriter().encode(7, 9, 1, 100, Uint8Array.of(1, 2, 3)));
  reader.push(full);
  b.note(7, 9, 1, 140, 300);
  reader.push(b.encode(7, 9, 1, 180, payload));
  assert.deepEqual(
    got.map((m) => m.timestamp),
    [100, 140, 180],
  );
});
