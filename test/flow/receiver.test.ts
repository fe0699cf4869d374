import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteWriter, hex } from '../../src/bytes.ts';
import { decodeChunks, USER_DATA_FLAG, type AckChunk, type UserDataChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { FlowReceiver, MAX_ACK_BYTES, type ReceiverLimits } from '../../src/protocols/rtmfp/flow/receiver.ts';

const { BEGIN, MIDDLE, END, ABANDON, FINAL } = USER_DATA_FLAG;

interface Delivery {
  text: string;
  lostBefore: number;
}

function receiver(limits?: Partial<ReceiverLimits>, id = 2): { flow: FlowReceiver; got: Delivery[] } {
  const got: Delivery[] = [];
  const flow = new FlowReceiver(id, (m, info) => got.push({ text: new TextDecoder().decode(m), lostBefore: info.lostBefore }), limits);
  return { flow, got };
}

/** fsnOffset defaults to `sequence`: forward sequence number 0, nothing may be skipped. */
function fragment(sequence: number, data: string, flags = 0, fsnOffset = sequence): UserDataChunk {
  return { type: 0x10, flags, flowId: 2, sequence, fsnOffset, options: null, data: new TextEncoder().encode(data), next: false };
}

function ackOf(flow: FlowReceiver): { bytes: string; ack: AckChunk } {
  const w = new ByteWriter(4096);
  flow.writeAck(w);
  const [ack] = decodeChunks(w.bytes(), 0);
  return { bytes: hex(w.view_()), ack: ack as AckChunk };
}

const texts = (got: Delivery[]): string[] => got.map((d) => d.text);

test('in-order whole messages are delivered at once and acked cumulatively', () => {
  const { flow, got } = receiver();
  assert.equal(flow.ackNeeded, false);
  flow.onFragment(fragment(1, 'connect'));
  assert.deepEqual(got, [{ text: 'connect', lostBefore: 0 }]);
  assert.equal(flow.cumulativeAck, 1);
  assert.equal(flow.ackNeeded, true);
  assert.equal(ackOf(flow).bytes, '510003027f01', 'the §3.12 packet 6 ack');
  assert.equal(flow.ackNeeded, false);
  flow.onFragment(fragment(2, 'setPeerInfo', 0, 1));
  assert.deepEqual(texts(got), ['connect', 'setPeerInfo']);
  assert.equal(flow.receivedFragments, 2);
  assert.equal(flow.bytesReceived, 'connect'.length + 'setPeerInfo'.length);
  assert.equal(flow.lostFragments, 0);
});

test('reordered fragments are buffered and delivered in sequence order', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(3, 'c'));
  flow.onFragment(fragment(2, 'b'));
  assert.equal(got.length, 0);
  assert.equal(flow.bufferedFragments, 2);
  assert.deepEqual(ackOf(flow).ack.ranges, [[2, 3]]);
  flow.onFragment(fragment(1, 'a'));
  assert.deepEqual(texts(got), ['a', 'b', 'c']);
  assert.equal(flow.cumulativeAck, 3);
  assert.equal(flow.bufferedFragments, 0);
});

test('duplicates are ignored but acked again', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'a'));
  flow.onFragment(fragment(3, 'c'));
  flow.writeAck(new ByteWriter(64));
  flow.onFragment(fragment(1, 'a'));
  assert.equal(flow.ackNeeded, true, 'a duplicate means our ack was lost');
  flow.onFragment(fragment(3, 'c'));
  flow.onFragment(fragment(2, 'b'));
  flow.onFragment(fragment(2, 'b'));
  assert.deepEqual(texts(got), ['a', 'b', 'c']);
  assert.equal(flow.receivedFragments, 3);
});

test('§4.6 ack example: received 1–5, 8, 9, 12', () => {
  const { flow } = receiver({}, 3);
  for (const s of [1, 2, 3, 4, 5, 8, 9, 12]) flow.onFragment(fragment(s, 'x'));
  const { bytes, ack } = ackOf(flow);
  assert.equal(bytes, '510007037f0501010100');
  assert.deepEqual(ack, {
    type: 0x51,
    flowId: 3,
    bufferBlocks: 0x7f,
    cumulativeAck: 5,
    ranges: [
      [8, 9],
      [12, 12],
    ],
  });
});

test('fragmented messages are reassembled, also out of order', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'hel', BEGIN));
  flow.onFragment(fragment(3, 'o w', MIDDLE));
  flow.onFragment(fragment(4, 'orld', END));
  assert.equal(got.length, 0);
  flow.onFragment(fragment(2, 'l', MIDDLE));
  flow.onFragment(fragment(5, '!'));
  assert.deepEqual(texts(got), ['hello world', '!']);
});

test('kept fragments are copies: the packet buffer may be reused', () => {
  const { flow, got } = receiver();
  const packet = new TextEncoder().encode('abcdef');
  const view = (from: number, to: number, sequence: number, flags: number): UserDataChunk => ({
    ...fragment(sequence, '', flags),
    data: packet.subarray(from, to),
  });
  flow.onFragment(view(0, 3, 1, BEGIN)); // in order: kept as a partial message
  flow.onFragment(view(3, 6, 3, END)); // out of order: stored
  packet.fill(0x7a);
  flow.onFragment(fragment(2, '-', MIDDLE));
  assert.deepEqual(texts(got), ['abc-def']);
});

test('forward sequence number: the sender abandoned a gap', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'a'));
  // 2 was unreliable and lost; 3 says everything up to 2 is settled
  flow.onFragment(fragment(3, 'c', 0, 1));
  assert.deepEqual(got, [
    { text: 'a', lostBefore: 0 },
    { text: 'c', lostBefore: 1 },
  ]);
  assert.equal(flow.lostFragments, 1);
  assert.equal(flow.cumulativeAck, 3);
});

test('forward sequence number processes what was buffered below it', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(3, 'c'));
  flow.onFragment(fragment(7, 'g'));
  flow.onFragment(fragment(6, 'f', 0, 1)); // fsn 5: 1, 2, 4 and 5 are gone; 3 is processed; 6 in order; 7 drains
  assert.deepEqual(got, [
    { text: 'c', lostBefore: 2 },
    { text: 'f', lostBefore: 2 },
    { text: 'g', lostBefore: 0 },
  ]);
  assert.equal(flow.lostFragments, 4);
  assert.equal(flow.cumulativeAck, 7);
  assert.equal(flow.bufferedFragments, 0);
});

test('a fragment stored at exactly the forward sequence number is delivered, not counted lost', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'a'));
  flow.onFragment(fragment(3, 'c')); // 2 missing: 3 waits
  flow.onFragment(fragment(4, 'd', 0, 1)); // fsn 3: 2 is gone, 3 (stored, at the fsn itself) is processed, then 4
  assert.deepEqual(got, [
    { text: 'a', lostBefore: 0 },
    { text: 'c', lostBefore: 1 },
    { text: 'd', lostBefore: 0 },
  ]);
  assert.equal(flow.lostFragments, 1);
  assert.equal(flow.cumulativeAck, 4);
  assert.equal(flow.bufferedFragments, 0);
});

test('a gap inside a fragmented message drops the message', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'ab', BEGIN));
  // 2 (middle) lost and abandoned
  flow.onFragment(fragment(3, 'cd', END, 1));
  flow.onFragment(fragment(4, 'whole', 0, 1));
  assert.deepEqual(got, [{ text: 'whole', lostBefore: 1 }]);
  assert.equal(flow.droppedFragments, 2, 'the begin fragment and the orphaned end');
});

test('a skip ahead of the next expected fragment keeps later ones waiting', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(5, 'e', 0, 3)); // fsn 2: 1 and 2 gone, 3 and 4 may still come
  assert.equal(flow.cumulativeAck, 2);
  assert.equal(got.length, 0);
  flow.onFragment(fragment(4, 'd', 0, 2));
  flow.onFragment(fragment(3, 'c', 0, 1));
  assert.deepEqual(texts(got), ['c', 'd', 'e']);
  assert.equal(got[0]!.lostBefore, 2);
});

test('abandoned fragments (ABN) drop the partial message and count as lost', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'ab', BEGIN));
  flow.onFragment(fragment(2, '', ABANDON));
  flow.onFragment(fragment(3, 'cd', END));
  flow.onFragment(fragment(4, 'ok'));
  assert.deepEqual(got, [{ text: 'ok', lostBefore: 1 }]);
  assert.equal(flow.lostFragments, 1);
  assert.equal(flow.cumulativeAck, 4);
});

test('ABN with fsnOffset 0 settles that very fragment', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'a'));
  flow.onFragment(fragment(2, '', ABANDON, 0));
  assert.equal(flow.cumulativeAck, 2);
  flow.onFragment(fragment(3, 'c', 0, 1));
  assert.deepEqual(texts(got), ['a', 'c']);
});

test('FIN: finished once everything up to it is processed', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'a'));
  flow.onFragment(fragment(3, '', ABANDON | FINAL));
  assert.equal(flow.finished, false);
  flow.onFragment(fragment(4, 'beyond the end'));
  assert.equal(flow.bufferedFragments, 1, 'nothing stored past FIN');
  flow.onFragment(fragment(2, 'b'));
  assert.equal(flow.finished, true);
  assert.equal(flow.cumulativeAck, 3);
  assert.deepEqual(texts(got), ['a', 'b']);
  flow.writeAck(new ByteWriter(64));
  flow.onFragment(fragment(3, '', ABANDON | FINAL));
  assert.equal(flow.ackNeeded, true, 'a repeated FIN is acked again');
});

test('nothing stored past a FIN that arrives later is delivered', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(3, 'after the end'));
  flow.onFragment(fragment(2, 'end', FINAL));
  flow.onFragment(fragment(1, 'a'));
  assert.deepEqual(texts(got), ['a', 'end']);
  assert.equal(flow.finished, true);
  assert.equal(flow.cumulativeAck, 2);
});

test('FIN on a whole message in order', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(1, 'last', FINAL));
  assert.equal(flow.finished, true);
  assert.deepEqual(texts(got), ['last']);
});

test('bounds: a flood of far-ahead fragments keeps memory flat and is not acked', () => {
  const { flow } = receiver({ maxBufferedFragments: 64 });
  for (let s = 2; s < 10_000; s++) flow.onFragment(fragment(s, 'x'.repeat(100)));
  // the window is 64 sequence numbers past the cumulative ack, the missing 1 included
  assert.equal(flow.bufferedFragments, 63);
  assert.equal(flow.droppedFragments, 10_000 - 2 - 63);
  const { ack } = ackOf(flow);
  assert.deepEqual(ack.ranges, [[2, 64]]);
  flow.onFragment(fragment(2 ** 40, 'absurd'));
  flow.onFragment(fragment(Number.MAX_SAFE_INTEGER, 'absurd'));
  assert.equal(flow.bufferedFragments, 63);
  assert.equal(flow.ackNeeded, false, 'dropped fragments do not call for an ack');
  flow.onFragment(fragment(10_000, 'far but settling', 0, 9_900));
  assert.equal(flow.ackNeeded, true, 'refused, but its forward sequence number moved the cumulative ack');
  assert.equal(flow.cumulativeAck, 100);
  assert.equal(flow.bufferedFragments, 0);
});

test('bounds: stored bytes and message size', () => {
  const { flow, got } = receiver({ maxMessageBytes: 1000 });
  for (let s = 2; s < 40; s++) flow.onFragment(fragment(s, 'y'.repeat(100)));
  assert.equal(flow.bufferedFragments, 10, 'out-of-order bytes capped at maxMessageBytes');

  const big = receiver({ maxMessageBytes: 1000 });
  big.flow.onFragment(fragment(1, 'z'.repeat(600), BEGIN));
  big.flow.onFragment(fragment(2, 'z'.repeat(600), MIDDLE));
  big.flow.onFragment(fragment(3, 'z'.repeat(600), END));
  big.flow.onFragment(fragment(4, 'small'));
  assert.deepEqual(texts(big.got), ['small']);
  assert.equal(big.flow.cumulativeAck, 4, 'oversized messages are consumed, not stalled');
  assert.equal(got.length, 0);

  // exactly maxMessageBytes is within the bound, in one fragment or in several; a byte more is not
  const exact = receiver({ maxMessageBytes: 1000 });
  exact.flow.onFragment(fragment(1, 'a'.repeat(1000), BEGIN));
  exact.flow.onFragment(fragment(2, '', END));
  exact.flow.onFragment(fragment(3, 'b'.repeat(400), BEGIN));
  exact.flow.onFragment(fragment(4, 'b'.repeat(400), MIDDLE));
  exact.flow.onFragment(fragment(5, 'b'.repeat(200), END));
  exact.flow.onFragment(fragment(6, 'c'.repeat(1000), BEGIN));
  exact.flow.onFragment(fragment(7, 'c', END));
  assert.deepEqual(texts(exact.got), ['a'.repeat(1000), 'b'.repeat(1000)]);
});

test('an ack with hundreds of ranges stays under MAX_ACK_BYTES, lowest ranges first', () => {
  const { flow } = receiver({ maxBufferedFragments: 4000 });
  for (let s = 2; s < 4000; s += 2) flow.onFragment(fragment(s, 'x'));
  const w = new ByteWriter(8192);
  flow.writeAck(w);
  assert.ok(w.length <= MAX_ACK_BYTES, `${w.length} bytes`);
  const [ack] = decodeChunks(w.bytes(), 0) as AckChunk[];
  assert.ok(ack!.ranges.length > 300);
  ack!.ranges.forEach(([from, to], i) => assert.deepEqual([from, to], [2 + 2 * i, 2 + 2 * i]));
});

test('close forgets everything and ignores what follows', () => {
  const { flow, got } = receiver();
  flow.onFragment(fragment(2, 'b'));
  flow.onFragment(fragment(3, 'c', BEGIN));
  flow.close();
  assert.equal(flow.bufferedFragments, 0);
  flow.onFragment(fragment(1, 'a'));
  assert.equal(got.length, 0);
});

test('close from inside deliver stops processing', () => {
  const got: string[] = [];
  const flow: FlowReceiver = new FlowReceiver(2, (m) => {
    got.push(new TextDecoder().decode(m));
    flow.close();
  });
  flow.onFragment(fragment(3, 'c'));
  flow.onFragment(fragment(4, 'd'));
  flow.onFragment(fragment(5, 'e', 0, 4)); // skip to 1: nothing to process yet
  flow.onFragment(fragment(2, 'b', 0, 1)); // fsn 1 → 2, 3, 4, 5 would follow
  assert.deepEqual(got, ['b']);
});

test('property: any arrival order with duplicates delivers every message once, in order', () => {
  const message = fc.string({ minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(message, fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 25 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.infiniteStream(fc.nat()),
      (messages, duplicates, order) => {
        // split each message into up to 4 fragments
        const fragments: UserDataChunk[] = [];
        for (const [text, parts] of messages) {
          const bytes = new TextEncoder().encode(text);
          const n = Math.min(parts, bytes.length);
          for (let i = 0; i < n; i++) {
            const flags = n === 1 ? 0 : i === 0 ? BEGIN : i === n - 1 ? END : MIDDLE;
            const seq = fragments.length + 1;
            const slice = bytes.subarray(Math.floor((i * bytes.length) / n), Math.floor(((i + 1) * bytes.length) / n));
            fragments.push({ ...fragment(seq, '', flags), data: slice });
          }
        }
        const arrivals = [...fragments, ...duplicates.map((d) => fragments[d % fragments.length]!)];
        const it = order[Symbol.iterator]();
        for (let i = arrivals.length - 1; i > 0; i--) {
          const j = it.next().value! % (i + 1);
          [arrivals[i], arrivals[j]] = [arrivals[j]!, arrivals[i]!];
        }
        const got: Uint8Array[] = [];
        const flow = new FlowReceiver(2, (m) => got.push(m.slice()));
        for (const f of arrivals) flow.onFragment(f);
        assert.deepEqual(
          got.map((m) => new TextDecoder().decode(m)),
          messages.map(([t]) => new TextEncoder().encode(t)).map((b) => new TextDecoder().decode(b)),
        );
        assert.equal(flow.cumulativeAck, fragments.length);
        assert.equal(flow.bufferedFragments, 0);
        assert.equal(flow.lostFragments, 0);
      },
    ),
    { numRuns: 500 },
  );
});

test('property: with losses and honest forward sequence numbers the flow never stalls', () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), (lost) => {
      const { flow, got } = receiver();
      // unreliable sender: fsn = the sequence before the oldest fragment it still hopes to deliver,
      // here simply the previous sequence number (every message sent once)
      lost.forEach((isLost, i) => {
        if (!isLost) flow.onFragment(fragment(i + 1, String(i + 1), 0, 1));
      });
      const expected = lost.flatMap((isLost, i) => (isLost ? [] : [String(i + 1)]));
      assert.deepEqual(texts(got), expected);
      const lastKept = lost.lastIndexOf(false) + 1;
      assert.equal(flow.cumulativeAck, lastKept);
      assert.equal(flow.lostFragments, lost.slice(0, lastKept).filter(Boolean).length);
    }),
    { numRuns: 300 },
  );
});

test('property: arbitrary fragments never throw, stay within the limits, and always ack cleanly', () => {
  const arbitrary = fc.record({
    sequence: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1 })),
    back: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.nat()),
    flags: fc.integer({ min: 0, max: 0xff }),
    size: fc.integer({ min: 0, max: 300 }),
  });
  fc.assert(
    fc.property(fc.array(arbitrary, { maxLength: 200 }), (fragments) => {
      const flow = new FlowReceiver(9, () => {}, { maxBufferedFragments: 16, maxMessageBytes: 2000 });
      for (const { sequence, back, flags, size } of fragments) {
        const fsnOffset = Math.min(back, sequence);
        flow.onFragment({ type: 0x10, flags, flowId: 9, sequence, fsnOffset, options: null, data: new Uint8Array(size), next: false });
        assert.ok(flow.bufferedFragments <= 16);
        const w = new ByteWriter(2048);
        flow.writeAck(w);
        assert.ok(w.length < MAX_ACK_BYTES);
        const [ack] = decodeChunks(w.bytes(), 0) as AckChunk[];
        assert.equal(ack!.cumulativeAck, flow.cumulativeAck);
      }
    }),
    { numRuns: 500 },
  );
});

test('a FIN arriving after a later fragment drops what lies beyond it, and the ack stays well formed', () => {
  const flow = new FlowReceiver(9, () => {}, { maxBufferedFragments: 16, maxMessageBytes: 2000 });
  flow.onFragment({ type: 0x10, flags: 0, flowId: 9, sequence: 78, fsnOffset: 2, options: null, data: new Uint8Array(0), next: false });
  flow.onFragment({ type: 0x10, flags: 0x9d, flowId: 9, sequence: 77, fsnOffset: 0, options: null, data: new Uint8Array(0), next: false });
  assert.equal(flow.finished, true);
  assert.equal(flow.bufferedFragments, 0);
  const w = new ByteWriter(64);
  flow.writeAck(w);
  const [ack] = decodeChunks(w.bytes(), 0) as AckChunk[];
  assert.equal(ack!.cumulativeAck, 77);
  assert.deepEqual(ack!.ranges, []);
});
