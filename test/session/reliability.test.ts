// Issue 12 regression tests for the reliability machinery, on two real Sessions over an in-memory wire and a
// simulated clock: RTO growth and jitter, a lost FIN, reliable data under a multi-megabyte backlog with loss,
// and flows opened after others closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../src/bytes.ts';
import { CHUNK, decodeChunks, writeChunk, type UserDataChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { RETRANSMIT_JITTER } from '../../src/protocols/rtmfp/flow/writer.ts';
import { MAX_PACKET_CLEARTEXT } from '../../src/protocols/rtmfp/session/session.ts';
import pino from 'pino';
import type { Logger } from '../../src/log.ts';
import { Pair } from '../helpers/pair.ts';

const SIGNATURE = Uint8Array.of(0x54, 0x43, 0x04, 0x00);

/** Times (simulated ms) at which the initiator sent user data with sequence number `sequence` on `flowId`. */
function sendTimes(pair: Pair, times: Map<number, number>, since: number, flowId: number, sequence: number): number {
  for (let i = since; i < pair.log.length; i++) {
    const packet = pair.log[i]!;
    if (packet.from !== 'initiator') continue;
    for (const chunk of packet.chunks) {
      if (chunk.type === CHUNK.USER_DATA && (chunk as UserDataChunk).flowId === flowId && (chunk as UserDataChunk).sequence === sequence) {
        times.set(i, pair.clock.now());
      }
    }
  }
  return pair.log.length;
}

test(
  'RTO growth: with every ack lost, the resends of a fragment come at growing intervals, capped near 10 s',
  { timeout: 60_000 },
  async () => {
    const pair = new Pair({ giveUpMs: 120_000, keepAliveMs: 600_000 });
    const writer = pair.initiator.newWriter(SIGNATURE, undefined);
    pair.wire.drop.initiator = true; // the data never arrives (so no ack comes back): pure timer behaviour
    writer.write(Uint8Array.of(1, 2, 3));
    await pair.settle();
    const times = new Map<number, number>();
    let cursor = 0;
    for (let t = 0; t < 60_000; t += 50) {
      await pair.advance(50, 50);
      cursor = sendTimes(pair, times, cursor, writer.id, 1);
    }
    const at = [...times.values()];
    const gaps = at.slice(1).map((v, i) => v - at[i]!);
    assert.ok(gaps.length >= 6, `resends: ${gaps.length}`);
    // each gap at least the previous one (backoff ×√2, jitter ≤ 10 %), and the early ones really grow
    for (let i = 1; i < gaps.length; i++) {
      assert.ok(gaps[i]! >= gaps[i - 1]! * 0.85, `gap ${i}: ${gaps[i]} after ${gaps[i - 1]} (${gaps.join(', ')})`);
    }
    assert.ok(gaps[3]! >= gaps[0]! * 2, `grows: ${gaps.join(', ')}`);
    // capped: never far beyond 10 s (+ jitter + one 50 ms step)
    for (const gap of gaps) assert.ok(gap <= 10_000 * (1 + RETRANSMIT_JITTER) + 100, `capped: ${gaps.join(', ')}`);
    assert.ok(gaps.at(-1)! >= 7_000, `reaches the cap: ${gaps.join(', ')}`);
  },
);

test('RTO jitter: the retransmission timer varies within RETRANSMIT_JITTER of the RTO', async () => {
  const pair = new Pair();
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  pair.wire.drop.initiator = true;
  writer.write(Uint8Array.of(1));
  await pair.settle();
  const rto = pair.initiator.rto();
  const ticks = new Set<number>();
  for (let i = 0; i < 200; i++) ticks.add(writer.nextTick());
  assert.ok(ticks.size > 5, `jittered: ${[...ticks].join(', ')}`);
  for (const tick of ticks)
    assert.ok(tick >= rto - 1 && tick <= Math.ceil(rto * (1 + RETRANSMIT_JITTER)) + 1, `tick ${tick} for rto ${rto}`);
});

test('a lost FIN is retransmitted: the receiver sees the flow end and the writer closes', { timeout: 30_000 }, async () => {
  const pair = new Pair();
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle();
  assert.equal(pair.records.responder.messages.get(writer.id)?.length, 1);
  pair.wire.drop.initiator = true; // the FIN is lost
  writer.close();
  await pair.settle();
  const fins = () => pair.chunksFrom('initiator', 0, CHUNK.USER_DATA).filter((c) => ((c as UserDataChunk).flags & 0x01) !== 0).length;
  assert.equal(fins(), 1);
  assert.deepEqual(pair.records.responder.ended, []);
  pair.wire.drop.initiator = false;
  await pair.advance(5_000);
  assert.ok(fins() >= 2, 'the FIN was sent again');
  assert.deepEqual(pair.records.responder.ended, [writer.id]);
  await pair.advance(5_000);
  assert.equal(writer.closed, true);
});

test(
  'reliable data under a multi-megabyte backlog, with bursts of loss both ways, arrives whole and in order',
  { timeout: 120_000 },
  async () => {
    const pair = new Pair({ giveUpMs: 600_000, keepAliveMs: 600_000 });
    const writer = pair.initiator.newWriter(SIGNATURE, undefined);
    const MESSAGES = 48;
    const SIZE = 64 * 1024; // 3 MiB queued at once
    const sent: Uint8Array[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const message = new Uint8Array(SIZE);
      for (let j = 0; j < SIZE; j += 997) message[j] = (i * 31 + j) & 0xff;
      message[0] = i;
      sent.push(message);
      writer.write(message);
    }
    for (let round = 0; round < 2_000 && (pair.records.responder.messages.get(writer.id)?.length ?? 0) < MESSAGES; round++) {
      // every fifth round, a burst of loss on one side or the other
      pair.wire.drop.initiator = round % 10 === 5;
      pair.wire.drop.responder = round % 10 === 7;
      await pair.advance(100, 100);
    }
    pair.wire.drop.initiator = pair.wire.drop.responder = false;
    const got = pair.records.responder.messages.get(writer.id) ?? [];
    assert.equal(got.length, MESSAGES, `${got.length} of ${MESSAGES} messages`);
    for (let i = 0; i < MESSAGES; i++) assert.deepEqual(got[i], sent[i], `message ${i}`);
    assert.equal(pair.responder.bufferedBytes, 0, 'nothing left buffered at the receiver');
    assert.equal(pair.responder.state, 'open');
  },
);

test(
  'new flows after others closed: a finished flow is not reopened by retransmissions, a new one opens normally',
  { timeout: 30_000 },
  async () => {
    const pair = new Pair();
    const first = pair.initiator.newWriter(SIGNATURE, undefined);
    first.write(Uint8Array.of(1));
    first.close();
    await pair.advance(3_000);
    assert.deepEqual(pair.records.responder.ended, [first.id]);
    const openings = pair.records.responder.flows.length;
    // a late duplicate of the finished flow's first fragment: acknowledged again, not a new flow
    const firstData = pair.log.find(
      (p) => p.from === 'initiator' && p.chunks.some((c) => c.type === CHUNK.USER_DATA && (c as UserDataChunk).flowId === first.id),
    );
    assert.ok(firstData);
    const duplicate = new ByteWriter(64);
    writeChunk(
      duplicate,
      firstData.chunks.find((c) => c.type === CHUNK.USER_DATA)!,
    );
    const acksBefore = pair.chunksFrom('responder', 0, CHUNK.ACK_RANGES).length;
    pair.inject('initiator', duplicate.bytes());
    await pair.settle();
    assert.equal(pair.records.responder.flows.length, openings, 'the duplicate did not reopen the flow');
    assert.ok(pair.chunksFrom('responder', 0, CHUNK.ACK_RANGES).length > acksBefore, 'it was acknowledged again');
    for (let i = 0; i < 3; i++) {
      const second = pair.initiator.newWriter(SIGNATURE, undefined);
      second.write(Uint8Array.of(2, i));
      await pair.settle();
      assert.deepEqual(pair.records.responder.messages.get(second.id), [Uint8Array.of(2, i)]);
      second.close();
      await pair.advance(3_000);
    }
    assert.equal(pair.records.responder.flows.length, openings + 3, 'three new flows, the finished one never reopened');
    // once the session is closed, nothing opens a flow any more
    pair.responder.kill('test');
    const late = pair.initiator.newWriter(SIGNATURE, undefined);
    late.write(Uint8Array.of(9));
    await pair.settle();
    assert.equal(pair.records.responder.flows.length, openings + 3);
    assert.deepEqual(pair.responder.describe().flows, []);
  },
);

test('RTT: the smoothed round trip time follows the measured one (timestamp echoes)', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  for (let round = 0; round < 30; round++) {
    writer.write(Uint8Array.of(round));
    await new Promise((r) => setImmediate(r)); // the initiator's flush: its packet waits on the wire 200 ms
    pair.clock.increment(200);
    pair.pump(); // delivered, acknowledged at once, the ack delivered in the same pump
    await pair.settle();
  }
  const srtt = pair.initiator.srtt;
  assert.ok(srtt >= 180 && srtt <= 220, `srtt ${srtt} for a 200 ms round trip`);
  assert.ok(pair.initiator.rto() >= srtt + 200 && pair.initiator.rto() <= srtt + 400, `rto ${pair.initiator.rto()}`);
});

test('RTT: RTTVAR starts at half the first sample and keeps 3/4 of itself on a steady one (ERTO 800 ms, then 700 ms)', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  const ertos: number[] = [];
  for (let round = 0; round < 2; round++) {
    writer.write(Uint8Array.of(round));
    await new Promise((r) => setImmediate(r));
    pair.clock.increment(200);
    pair.pump();
    await pair.settle();
    ertos.push(pair.initiator.rto());
  }
  // SRTT + 4·RTTVAR + 200 ms: 200 + 4·100 + 200, then 200 + 4·75 + 200
  assert.deepEqual(ertos, [800, 700]);
});

test('on a clean wire nothing is retransmitted, and small messages share packets as 0x11 continuations', async () => {
  const pair = new Pair();
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(0));
  await pair.settle();
  const since = pair.log.length;
  for (let i = 1; i <= 10; i++) writer.write(new Uint8Array(50).fill(i));
  await pair.settle();
  assert.equal(pair.records.responder.messages.get(writer.id)?.length, 11);
  assert.equal(writer.stats.bytesSent, 1 + 10 * 50);
  const data = pair.chunksFrom('initiator', since, CHUNK.USER_DATA) as UserDataChunk[];
  assert.equal(data.length, 10);
  assert.equal(data.filter((c) => c.next).length, 9, 'all but the first are continuations');
  // two flushes before any ack: the second sends only the new message, nothing of the first again
  writer.write(Uint8Array.of(11));
  await new Promise((r) => setImmediate(r));
  writer.write(Uint8Array.of(12));
  await new Promise((r) => setImmediate(r));
  await pair.settle();
  assert.equal(pair.records.responder.messages.get(writer.id)?.length, 13);
  assert.equal(pair.initiator.stats.retransmissions, 0);
  assert.equal(writer.stats.retransmissions, 0);
});

test('a writer that has ended has nothing to send, whatever was queued', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(new Uint8Array(4000));
  assert.ok(writer.pendingBytes > 0, 'queued data');
  writer.abandon('test');
  await pair.settle();
  assert.equal(writer.closed, true);
  assert.equal(writer.emit(new ByteWriter(1200), 1200, { flowId: -1, seq: 0 }), false, 'an ended writer emits nothing');
  const closing = pair.initiator.newWriter(SIGNATURE, undefined);
  closing.write(Uint8Array.of(1));
  closing.close();
  await pair.settle();
  await pair.advance(1_000);
  assert.equal(closing.closed, true);
  const out = new ByteWriter(1200);
  assert.equal(closing.emit(out, 1200, { flowId: -1, seq: 0 }), false);
  assert.equal(out.length, 0, 'nothing written');
});

test('a flow associated with flow id 0 is opened with that association (0 is a valid flow id)', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, 0);
  writer.write(Uint8Array.of(1));
  await pair.settle();
  const opening = pair.records.responder.flows.find((f) => f.flowId === writer.id);
  assert.ok(opening, 'the flow was opened');
  assert.equal(opening.associatedFlowId, 0);
});

test('a session is usable while keying or open, never once closing', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  assert.equal(pair.initiator.usable, true, `usable in ${pair.initiator.state}`);
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle();
  assert.equal(pair.initiator.state, 'open');
  assert.equal(pair.initiator.usable, true);
  pair.initiator.close('test');
  assert.notEqual(pair.initiator.state, 'open');
  assert.equal(pair.initiator.usable, false, `not usable in ${pair.initiator.state}`);
});

test("a lost ack of a FIN: the retransmitted FIN is acked again from the finished flow's record", { timeout: 30_000 }, async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  writer.close();
  pair.wire.drop.responder = true; // the responder's acks (of the data and the FIN) are lost
  await pair.settle();
  assert.deepEqual(pair.records.responder.ended, [writer.id], 'the receiver saw the flow end');
  const acks = () => pair.chunksFrom('responder', 0, CHUNK.ACK_RANGES).filter((c) => (c as { flowId: number }).flowId === writer.id).length;
  const lost = acks();
  assert.ok(lost >= 1);
  pair.wire.drop.responder = false;
  await pair.advance(10_000); // the sender's ERTO (initial 3 s, RFC 7016 §3.5.2.2) fires: it resends, the finished flow acks again
  assert.ok(acks() > lost, 'acked again');
  assert.equal(writer.closed, true, 'the writer closes once the ack arrives');
});

test('trace logging names each chunk of each packet, both ways: data by flow, sequence, flags and size; acks by flow', async () => {
  const lines: Array<{ direction: string; flags: string; chunks: string[] }> = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) as unknown as Logger;
  const pair = new Pair({ keepAliveMs: 600_000, logger });
  const writer = pair.initiator.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined);
  writer.write(Uint8Array.of(1, 2, 3));
  await pair.settle();
  const traced = lines.filter((l) => l.direction !== undefined).map((l) => `${l.direction} ${l.flags} ${l.chunks.join(' | ')}`);
  assert.deepEqual(traced, [
    `out 9 10 flow=${writer.id} seq=1 flags=80 3B`, // flags 80: options (the signature) precede the 3 data bytes
    `in 9 10 flow=${writer.id} seq=1 flags=80 3B`,
    `out e 51 flow=${writer.id} ack=1`, // e: responder, timestamp and echo; no TCR (no other session receives media)
    `in e 51 flow=${writer.id} ack=1`,
  ]);
});

test('a packet with little room left takes a fragment of 12 bytes or more, never a smaller one', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined);
  writer.write(new Uint8Array(500));
  // before the session's own flush: offer the writer packets with ever more room, from none
  let cut: UserDataChunk | undefined;
  for (let limit = 1; limit < 200 && cut === undefined; limit++) {
    const out = new ByteWriter(limit);
    writer.emit(out, limit, { flowId: -1, seq: -1 });
    if (out.length > 0) cut = decodeChunks(out.bytes(), 0)[0] as UserDataChunk;
  }
  assert.equal(cut?.data.length, 12, 'the first packet with room for a fragment takes 12 bytes of the message');
  // that fragment never reached a wire: it is resent on its timeout, after the rest
  await pair.advance(8_000, 100);
  assert.equal(pair.received('responder', writer.id).length, 500);
});

test('what a packet asks for is answered in one packet, after all its chunks: two pings, one packet of two replies', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(0));
  await pair.settle();
  const pings = new ByteWriter(16);
  writeChunk(pings, { type: CHUNK.PING, payload: Uint8Array.of(1) });
  writeChunk(pings, { type: CHUNK.PING, payload: Uint8Array.of(2) });
  const since = pair.log.length;
  pair.inject('initiator', pings.bytes());
  await pair.settle();
  const answers = pair.log.slice(since).filter((p) => p.from === 'responder');
  assert.equal(answers.length, 1);
  assert.deepEqual(
    answers[0]!.chunks.map((c) => [c.type, [...(c as Extract<typeof c, { payload: Uint8Array }>).payload]]),
    [
      [CHUNK.PING_REPLY, [1]],
      [CHUNK.PING_REPLY, [2]],
    ],
  );
});

test('flows refused together are refused in one packet: two flow exceptions, sent with the acknowledgements', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  pair.records.responder.accept = () => false;
  const since = pair.log.length;
  pair.initiator.newWriter(SIGNATURE, undefined).write(Uint8Array.of(1));
  pair.initiator.newWriter(SIGNATURE, undefined).write(Uint8Array.of(2)); // same turn: both in one packet
  await pair.settle();
  const first = pair.log.slice(since).find((p) => p.from === 'initiator')!;
  assert.equal(first.chunks.filter((c) => c.type === CHUNK.USER_DATA).length, 2, 'both flows open in one packet');
  const answer = pair.log.slice(since).find((p) => p.from === 'responder')!;
  assert.deepEqual(
    answer.chunks.map((c) => c.type).sort(),
    [CHUNK.ACK_RANGES, CHUNK.ACK_RANGES, CHUNK.FLOW_EXCEPTION, CHUNK.FLOW_EXCEPTION].sort(),
  );
});

test('an acknowledgement shares a packet with the control chunks before it while 64 bytes remain', async () => {
  for (const [extra, finished] of [
    [0, false],
    [1, false],
    [0, true],
    [1, true],
  ] as const) {
    const pair = new Pair({ keepAliveMs: 600_000 });
    const writer = pair.initiator.newWriter(SIGNATURE, undefined);
    writer.write(Uint8Array.of(0));
    if (finished) writer.close(); // then the fragment below is a late retransmission to a finished flow, acked again
    await pair.settle(); // the responder's packets now carry a timestamp echo (a 5-byte header)
    assert.deepEqual(pair.records.responder.ended, finished ? [writer.id] : []);
    // one packet: a ping whose reply leaves exactly 64 bytes (or 63) of the answer free, and the flow's next fragment
    const payload = new Uint8Array(MAX_PACKET_CLEARTEXT - 64 - 5 - 3 + extra);
    const chunks = new ByteWriter(MAX_PACKET_CLEARTEXT);
    writeChunk(chunks, { type: CHUNK.PING, payload });
    writeChunk(chunks, {
      type: CHUNK.USER_DATA,
      flags: 0,
      flowId: writer.id,
      sequence: 2,
      fsnOffset: 1,
      options: null,
      data: Uint8Array.of(1),
      next: false,
    });
    const since = pair.log.length;
    pair.inject('initiator', chunks.bytes());
    await pair.settle();
    const answers = pair.log.slice(since).filter((p) => p.from === 'responder');
    assert.deepEqual(
      answers.map((p) => p.chunks.map((c) => c.type)),
      extra === 0 ? [[CHUNK.PING_REPLY, CHUNK.ACK_RANGES]] : [[CHUNK.PING_REPLY], [CHUNK.ACK_RANGES]],
      `${64 - extra} bytes left, ${finished ? 'finished' : 'open'} flow`,
    );
  }
});

test('a loss right after the first round trip sample is resent within an ERTO, not at the tick armed before it', async () => {
  const pair = new Pair();
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1)); // one packet: its tick is armed with the initial 3 s RTO
  await pair.settle(); // acknowledged: the first sample brings the RTO down to the 250 ms floor
  const rto = pair.initiator.rto();
  assert.ok(rto < 1_000, `RTO after the first sample: ${rto}`);
  pair.wire.drop.initiator = true;
  const start = pair.clock.now();
  const times = new Map<number, number>();
  let cursor = pair.log.length;
  writer.write(Uint8Array.of(2));
  await pair.settle();
  cursor = sendTimes(pair, times, cursor, writer.id, 2);
  assert.equal(times.size, 1, 'sent once');
  for (let t = 0; t < 3_000 && times.size < 2; t += 10) {
    await pair.advance(10, 10);
    cursor = sendTimes(pair, times, cursor, writer.id, 2);
  }
  const resentAt = [...times.values()][1];
  assert.ok(resentAt !== undefined, 'not resent within 3 s');
  assert.ok(resentAt - start <= rto * (1 + RETRANSMIT_JITTER) + 20, `resent after ${resentAt - start} ms (RTO ${rto})`);
});

test('an answer acknowledged within its RTO settles the writer at its first tick; a live stream never settles', async () => {
  const pair = new Pair();
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle(); // the first round trip sample: the next tick is armed with the 250 ms floor
  await pair.advance(3_500, 50); // the tick armed with the initial 3 s RTO has fired
  assert.equal(writer.state, 'idle');
  const rto = pair.initiator.rto();
  writer.write(Uint8Array.of(2)); // a command's answer
  await pair.settle();
  assert.equal(writer.state, 'awaitingAck');
  await pair.advance(Math.ceil(rto * (1 + RETRANSMIT_JITTER)) + 20, 10);
  // one tick, not a second one a quiet second later
  assert.equal(writer.state, 'idle', `RTO ${rto}`);

  // media: a message every 50 ms is never quiet for an RTO, so the writer stays out of idle between messages
  const seen = new Set<string>();
  for (let t = 0; t < 2_000; t += 50) {
    writer.write(Uint8Array.of(3));
    await pair.advance(50, 10);
    seen.add(writer.state);
  }
  assert.ok(!seen.has('idle'), `states between messages: ${[...seen].join(', ')}`);
});
