// Loss detection, the shared congestion window, time-critical priority and dead peers on two real Sessions over an
// in-memory wire and a simulated clock (RFC 7016 §3.5.2, §3.6.2.5, §3.5.4.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK, writeChunk, type UserDataChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import {
  BURST_RTT_THRESH_MS,
  CWND_DECAY_MARGIN,
  CWND_INIT,
  CWND_TIMEDOUT,
  DEFAULT_PEER_TIMEOUT_MS,
  MAX_DATA_PACKET_BURST,
  MINIMUM_ERTO_MS,
  NAKS_FOR_LOSS,
} from '../../src/protocols/rtmfp/params.ts';
import { ByteWriter } from '../../src/bytes.ts';
import { Pair, macrotask } from '../helpers/pair.ts';

const SIGNATURE = Uint8Array.of(0x54, 0x43, 0x04, 0x00);

function dataFrom(pair: Pair, since: number, flowId?: number): UserDataChunk[] {
  return (pair.chunksFrom('initiator', since, CHUNK.USER_DATA) as UserDataChunk[]).filter(
    (c) => flowId === undefined || c.flowId === flowId,
  );
}

test(`a lost fragment is resent after ${NAKS_FOR_LOSS} later acknowledgements, not after the first`, async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(0));
  await pair.settle(); // an RTT sample and an open flow
  pair.wire.drop.initiator = true;
  writer.write(Uint8Array.of(1)); // this packet is lost
  await pair.settle();
  pair.wire.drop.initiator = false;
  const lostSeq = dataFrom(pair, 0, writer.id).at(-1)!.sequence;
  const resends = () => dataFrom(pair, 0, writer.id).filter((c) => c.sequence === lostSeq).length - 1;
  for (let later = 1; later <= NAKS_FOR_LOSS; later++) {
    // each message leaves in its own packet and is acknowledged by its own ack packet: one NAK for the lost one
    writer.write(Uint8Array.of(1 + later));
    await pair.settle();
    if (later < NAKS_FOR_LOSS) assert.equal(resends(), 0, `not resent after ${later} later acknowledgement(s)`);
  }
  assert.equal(resends(), 1, `resent once after ${NAKS_FOR_LOSS} later acknowledgements (no timer involved)`);
  const got = pair.records.responder.messages.get(writer.id)!.map((m) => m[0]);
  assert.deepEqual(got, [0, 1, 2, 3, 4], 'delivered in order once the hole is filled');
  assert.equal(pair.initiator.congestion.stats.nakLosses, 1);
  assert.equal(pair.initiator.congestion.stats.timeouts, 0);
});

test('the congestion window is one per session: two writers together never have more than it outstanding', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const a = pair.initiator.newWriter(SIGNATURE, undefined);
  const b = pair.initiator.newWriter(SIGNATURE, undefined);
  pair.wire.drop.responder = true; // no acknowledgement comes back: the window cannot open
  a.write(new Uint8Array(50_000));
  b.write(new Uint8Array(50_000));
  await pair.settle();
  const sent = dataFrom(pair, 0).reduce((sum, c) => sum + c.data.length, 0);
  // the last fragment may start just below the window and end past it (as in the RFC: the window is checked per packet)
  assert.ok(sent <= CWND_INIT + 1_200 && sent > CWND_INIT - 1_200, `${sent} bytes sent with a ${CWND_INIT}-byte window`);
  assert.ok(dataFrom(pair, 0, a.id).length > 0 && dataFrom(pair, 0, b.id).length > 0, 'both writers had a share');
  // acknowledgements open the window again and everything arrives
  pair.wire.drop.responder = false;
  const done = (id: number) => (pair.records.responder.messages.get(id)?.length ?? 0) > 0;
  for (let i = 0; i < 300 && !(done(a.id) && done(b.id)); i++) await pair.advance(100, 50);
  assert.equal(pair.records.responder.messages.get(a.id)?.[0]?.length, 50_000);
  assert.equal(pair.records.responder.messages.get(b.id)?.[0]?.length, 50_000);
  assert.ok(pair.initiator.congestion.cwnd > CWND_INIT, 'the window grew while the data flowed');
});

test('time-critical writers (media) take the window before the others', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const bulk = pair.initiator.newWriter(SIGNATURE, undefined);
  const media = pair.initiator.newWriter(SIGNATURE, undefined);
  media.timeCritical = true;
  pair.wire.drop.responder = true;
  bulk.write(new Uint8Array(20_000));
  media.write(new Uint8Array(20_000));
  await pair.settle();
  const bulkBytes = dataFrom(pair, 0, bulk.id).reduce((s, c) => s + c.data.length, 0);
  const mediaBytes = dataFrom(pair, 0, media.id).reduce((s, c) => s + c.data.length, 0);
  assert.ok(mediaBytes > CWND_INIT - 1_200, `media took the window (${mediaBytes} bytes)`);
  assert.equal(bulkBytes, 0, 'nothing of the bulk writer while media waits');
});

test('a window the path cannot carry holds media back rather than flooding it: outstanding stays within cwnd', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const media = pair.initiator.newWriter(SIGNATURE, undefined, false);
  media.timeCritical = true;
  let maxOutstanding = 0;
  for (let frame = 0; frame < 100; frame++) {
    // every fourth packet each way is lost, and the responder answers late (40 ms)
    pair.wire.drop.initiator = frame % 4 === 1;
    media.write(new Uint8Array(3_000));
    await pair.advance(40, 40);
    maxOutstanding = Math.max(maxOutstanding, pair.initiator.congestion.outstanding);
    assert.ok(pair.initiator.congestion.outstanding <= pair.initiator.congestion.cwnd + 1_200);
  }
  assert.ok(pair.initiator.congestion.stats.decreases > 0, 'losses cut the window');
  assert.ok(maxOutstanding > 0);
});

test(`a silent peer fails the session ${DEFAULT_PEER_TIMEOUT_MS / 1000} s after its last packet, after keepalive pings`, async () => {
  const pair = new Pair({ keepAliveMs: 15_000, peerTimeoutMs: DEFAULT_PEER_TIMEOUT_MS });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle();
  const lastHeard = pair.clock.now();
  pair.wire.drop.initiator = true; // the initiator vanishes
  let failedAt: number | undefined;
  for (let t = 0; t < 40_000 && failedAt === undefined; t += 100) {
    await pair.advance(100, 100);
    if (pair.records.responder.failed.length > 0) failedAt = pair.clock.now();
  }
  assert.ok(failedAt !== undefined, 'the session failed');
  const silence = failedAt - lastHeard;
  assert.ok(silence <= DEFAULT_PEER_TIMEOUT_MS + 100 && silence >= DEFAULT_PEER_TIMEOUT_MS - 100, `failed after ${silence} ms`);
  assert.deepEqual(pair.records.responder.failed, ['keepalive timeout']);
  const pings = pair.chunksFrom('responder', 0, CHUNK.PING).length;
  assert.ok(pings >= 2, `${pings} keepalive pings before giving up`);
});

test('a live peer answering pings is never failed by the timeout', async () => {
  const pair = new Pair({ keepAliveMs: 15_000, peerTimeoutMs: DEFAULT_PEER_TIMEOUT_MS });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle();
  await pair.advance(60_000, 500); // idle, but the initiator answers the responder's pings
  assert.equal(pair.responder.state, 'open');
  assert.deepEqual(pair.records.responder.failed, []);
});

test('a fragment first sent without a timestamp echo is resent whole in a packet that carries one', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  pair.wire.drop.initiator = true; // the first packets (3-byte headers: nothing heard yet, no echo) are lost
  const message = Uint8Array.from({ length: 3_000 }, (_, i) => (i * 31) & 0xff);
  writer.write(message);
  await pair.settle();
  // the initiator hears from the responder: its packets now carry a timestamp echo (a 5-byte header)
  pair.responder.newWriter(SIGNATURE, undefined).write(Uint8Array.of(7));
  await pair.settle();
  pair.wire.drop.initiator = false;
  await pair.advance(8_000, 100);
  assert.deepEqual(pair.records.responder.messages.get(writer.id), [message]);
});

test('media held back past its lifetime: the unsent backlog is dropped whole, the receiver sees no gap', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const media = pair.initiator.newWriter(SIGNATURE, undefined);
  media.timeCritical = true;
  media.write(new Uint8Array(1_000));
  await pair.settle();
  pair.wire.drop.responder = true; // no acknowledgement: the window stays full
  for (let i = 0; i < 20; i++) media.write(new Uint8Array(1_000).fill(i + 1));
  await pair.advance(2_500, 100);
  assert.ok(media.unsentAge() >= 2_500, `oldest unsent message waited ${media.unsentAge()} ms`);
  const dropped = media.dropUnsent();
  assert.ok(dropped > 10, `${dropped} unsent messages dropped`);
  // what remains is at most the message already started (it must finish: its first fragments are out)
  assert.equal(media.stats.droppedMessages, dropped);
  pair.wire.drop.responder = false;
  media.write(new Uint8Array(1_000).fill(99));
  await pair.advance(5_000, 100);
  const got = pair.records.responder.messages.get(media.id)!;
  assert.equal(got.length, 1 + (20 - dropped) + 1, 'what was sent arrives, nothing dropped is missed');
  assert.equal(got.at(-1)![0], 99);
});

test('only acknowledgements of progress move the window: data without an ack, or acks naming a hole, leave it', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(new Uint8Array(200_000));
  for (let i = 0; i < 100 && pair.received('responder', writer.id).length < 200_000; i++) await pair.advance(20, 20);
  await pair.settle();
  const cwnd = pair.initiator.congestion.cwnd;
  assert.ok(cwnd > CWND_DECAY_MARGIN + 10, `the window grew (${cwnd} bytes), now far larger than the nothing in flight`);
  // the responder sends data of its own: its packets acknowledge nothing, so the unused window does not decay
  const back = pair.responder.newWriter(SIGNATURE, undefined);
  for (let i = 0; i < 10; i++) {
    back.write(Uint8Array.of(i));
    await pair.settle();
  }
  assert.equal(pair.records.initiator.messages.get(back.id)?.length, 10);
  assert.equal(pair.initiator.congestion.cwnd, cwnd);
  // acknowledgements that name a hole (negative acknowledgements, before the loss is declared) leave it too
  pair.wire.drop.initiator = true;
  writer.write(Uint8Array.of(1)); // lost
  await pair.settle();
  pair.wire.drop.initiator = false;
  for (let later = 1; later < NAKS_FOR_LOSS; later++) {
    writer.write(Uint8Array.of(1 + later));
    await pair.settle();
  }
  assert.equal(pair.initiator.congestion.stats.nakLosses, 0, 'not declared lost yet');
  assert.equal(pair.initiator.congestion.cwnd, cwnd, 'no decay while acknowledgements report a hole');
  writer.write(Uint8Array.of(9));
  await pair.settle();
  assert.equal(pair.initiator.congestion.stats.nakLosses, 1);
});

test('dropping the unsent backlog keeps a message already partly sent (it arrives whole) and the end of the flow', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const media = pair.initiator.newWriter(SIGNATURE, undefined);
  media.timeCritical = true;
  pair.wire.drop.responder = true; // no acknowledgement: only the first window of the message leaves
  const big = Uint8Array.from({ length: 20_000 }, (_, i) => i & 0xff);
  media.write(big);
  media.write(new Uint8Array(1_000).fill(1));
  await pair.settle();
  assert.ok(dataFrom(pair, 0, media.id).length > 0, 'the big message started');
  media.close(); // the end of the flow, queued behind: never dropped
  assert.equal(media.dropUnsent(), 1, 'only the message not started yet is dropped');
  pair.wire.drop.responder = false;
  await pair.advance(5_000, 100);
  assert.deepEqual(pair.records.responder.messages.get(media.id), [big]);
  assert.deepEqual(pair.records.responder.ended, [media.id], 'the flow ended');
});

test('a retransmission timeout resends what is due, not fragments sent since', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(0));
  await pair.settle(); // a round trip sample: ERTO is its minimum
  await pair.advance(4_000, 100); // the writer's timer, set under the initial ERTO, comes and goes: the writer is idle
  assert.equal(pair.initiator.congestion.erto, MINIMUM_ERTO_MS);
  pair.wire.drop.initiator = true;
  writer.write(Uint8Array.of(1)); // lost
  await pair.settle();
  pair.wire.drop.initiator = false;
  pair.wire.drop.responder = true; // from here on acknowledgements are lost: the next fragment stays outstanding
  await pair.advance(100, 50);
  writer.write(Uint8Array.of(2));
  await pair.settle();
  const [lost, later] = dataFrom(pair, 0, writer.id)
    .slice(-2)
    .map((c) => c.sequence);
  const sent = (seq: number | undefined) => dataFrom(pair, 0, writer.id).filter((c) => c.sequence === seq).length;
  for (let i = 0; i < 100 && sent(lost) === 1; i++) await pair.advance(10, 10);
  assert.equal(sent(lost), 2, 'the lost fragment is resent when its timeout comes');
  assert.equal(sent(later), 1, 'the fragment sent 100 ms after it is not due yet: not resent with it');
});

test('an unreliable writer keeps at most maxQueuedBytes queued: the oldest unsent messages go first, no more', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const media = pair.initiator.newWriter(SIGNATURE, undefined, false);
  media.maxQueuedBytes = 3_000;
  // written in one turn of the event loop: all queued before the first flush
  for (let i = 1; i <= 3; i++) media.write(new Uint8Array(1_000).fill(i));
  assert.equal(media.stats.droppedMessages, 0, 'exactly maxQueuedBytes queued: nothing dropped');
  media.write(new Uint8Array(1_000).fill(4));
  assert.equal(media.stats.droppedMessages, 1, 'one over: the oldest goes, and only it');
  await pair.settle();
  assert.deepEqual(
    pair.records.responder.messages.get(media.id)?.map((m) => m[0]),
    [2, 3, 4],
  );
});

test("the receiver's advertised buffer bounds what a writer has in flight, whatever the congestion window", async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(0));
  await pair.settle();
  // a receiver with room for a single block: the sender may have about one fragment outstanding
  const ack = new ByteWriter(16);
  writeChunk(ack, { type: CHUNK.ACK_RANGES, flowId: writer.id, bufferBlocks: 1, cumulativeAck: 1, ranges: [] });
  pair.inject('responder', ack.bytes());
  await pair.settle();
  pair.wire.drop.responder = true; // from here the real receiver's acknowledgements (a large buffer) are lost
  const since = pair.log.length;
  for (let i = 0; i < 5; i++) writer.write(new Uint8Array(600).fill(i));
  await pair.settle();
  const inFlight = pair.chunksFrom('initiator', since, CHUNK.USER_DATA).reduce((sum, c) => sum + (c as UserDataChunk).data.length, 0);
  assert.ok(CWND_INIT > 5 * 600, 'the congestion window alone would let all five out');
  assert.equal(inFlight, 1_200, 'sending stops once the advertised buffer (at least 1,200 bytes) is in flight');
});

/** Deliver with `ms` of delay on every hop: the clock moves before each datagram arrives, so round trips are real. */
async function delayed(pair: Pair, ms: number): Promise<void> {
  for (let hop = 0; hop < 50; hop++) {
    await macrotask(); // scheduled flushes put their packets in the queue
    pair.clock.increment(ms);
    if (pair.pump() === 0) return;
  }
}

test('packets that carry only acknowledgements do not spend the burst allowance of data packets', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(0));
  await delayed(pair, 10);
  assert.ok(pair.initiator.srtt > BURST_RTT_THRESH_MS, `a ${pair.initiator.srtt} ms round trip: bursts are limited`);
  // the initiator receives 2 × MAX_DATA_PACKET_BURST messages, each acknowledged in a packet of its own
  const back = pair.responder.newWriter(SIGNATURE, undefined);
  for (let i = 0; i < 2 * MAX_DATA_PACKET_BURST; i++) {
    back.write(Uint8Array.of(i));
    await delayed(pair, 10);
  }
  assert.equal(pair.records.initiator.messages.get(back.id)?.length, 2 * MAX_DATA_PACKET_BURST);
  const since = pair.log.length;
  writer.write(Uint8Array.of(1));
  await macrotask();
  assert.equal(dataFrom(pair, since, writer.id).length, 1, 'its data still leaves at once');
});

/** A writer idle after one round trip sample: its ERTO is the minimum and its timer has nothing left to time. */
async function idleWriter(pair: Pair) {
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(0));
  await pair.settle();
  await pair.advance(4_000, 100);
  assert.equal(pair.initiator.congestion.erto, MINIMUM_ERTO_MS);
  return writer;
}

test('acknowledgements late past ERTO, not lost: the timeout is found spurious and the window comes back', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = await idleWriter(pair);
  const congestion = pair.initiator.congestion;
  writer.write(new Uint8Array(40_000)); // a window grown by use
  await pair.advance(100, 10); // delivered, and not idle for an ERTO (which would restart the window)
  const before = congestion.cwnd;
  assert.ok(before > 4 * CWND_TIMEDOUT, `the window grew (${before} bytes)`);
  pair.wire.hold.responder = true; // the receiver gets everything; its acknowledgements are late
  writer.write(new Uint8Array(12_000));
  await pair.settle();
  for (let i = 0; i < 100; i++) {
    pair.clock.increment(10);
    if (congestion.stats.timeouts > 0) break;
    await pair.settle();
  }
  assert.equal(congestion.stats.timeouts, 1, 'no acknowledgement for an ERTO: a timeout');
  assert.ok(congestion.cwnd < before, 'the timeout took the window down');
  // the late acknowledgements were already waiting when the timer fired (as datagrams wait in a socket while an
  // event loop runs its timers first): they are read before anything is resent
  pair.release('responder');
  pair.pump();
  await pair.settle();
  assert.equal(congestion.stats.spuriousTimeouts, 1, 'fragments the timeout declared lost were acknowledged');
  // back to what it was, less the byte per acknowledgement an unused window decays by
  assert.ok(congestion.cwnd >= before - 64, `the window is back (${congestion.cwnd}, was ${before})`);
  assert.equal(congestion.stats.nakLosses, 0);
  assert.equal(pair.received('responder', writer.id).length, 1 + 40_000 + 12_000);
});

test('a timeout over a real loss is not undone: what it declared lost is resent before any acknowledgement of it', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = await idleWriter(pair);
  const congestion = pair.initiator.congestion;
  pair.wire.drop.initiator = true;
  writer.write(new Uint8Array(3_000));
  await pair.settle();
  pair.wire.drop.initiator = false;
  for (let i = 0; i < 100 && congestion.stats.timeouts === 0; i++) await pair.advance(10, 10);
  await pair.advance(2_000, 50);
  assert.ok(congestion.stats.timeouts >= 1);
  assert.equal(congestion.stats.spuriousTimeouts, 0, 'only retransmissions were acknowledged');
  assert.equal(pair.received('responder', writer.id).length, 1 + 3_000);
});

test('acknowledgements of fragments resent after a timeout name no negative acknowledgements (Karn): no false loss', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = await idleWriter(pair);
  const congestion = pair.initiator.congestion;
  pair.wire.hold.responder = true;
  for (let k = 1; k <= NAKS_FOR_LOSS; k++) {
    writer.write(Uint8Array.of(k)); // each in a packet of its own, each acknowledged by an ack packet of its own
    await pair.settle();
  }
  await pair.advance(100, 10);
  writer.write(Uint8Array.of(9)); // sent later: not due when the first ones time out
  await pair.settle();
  const resent = () => dataFrom(pair, 0, writer.id).length - (1 + NAKS_FOR_LOSS + 1);
  for (let i = 0; i < 100 && resent() === 0; i++) await pair.advance(10, 10);
  assert.equal(resent(), NAKS_FOR_LOSS, 'the first ones were resent, in packets after the later one');
  // the acks of their first transmissions come in, one packet each, before the later fragment's
  pair.release('responder');
  await pair.settle();
  assert.equal(congestion.stats.nakLosses, 0, 'the later fragment was not declared lost');
  assert.equal(resent(), NAKS_FOR_LOSS, 'nor resent');
  const got = pair.records.responder.messages.get(writer.id)!.map((m) => m[0]);
  assert.deepEqual(got, [0, 1, 2, 3, 9]);
});

test('an acknowledgement of a fragment already resent proves nothing: the timeouts over it are not undone', async () => {
  const pair = new Pair({ keepAliveMs: 600_000 });
  const writer = await idleWriter(pair);
  const congestion = pair.initiator.congestion;
  pair.wire.hold.responder = true;
  writer.write(new Uint8Array(2_000)); // two fragments: both fit the window a timeout leaves, so both are resent
  await pair.settle();
  const untilTimeouts = async (n: number) => {
    for (let i = 0; i < 200; i++) {
      pair.clock.increment(10);
      if (congestion.stats.timeouts >= n) return;
      await pair.settle();
    }
  };
  await untilTimeouts(1);
  await pair.settle(); // both resent
  await untilTimeouts(2); // and declared lost again, not resent yet
  assert.equal(congestion.stats.timeouts, 2);
  pair.release('responder');
  pair.pump();
  await pair.settle();
  assert.equal(congestion.stats.spuriousTimeouts, 0, 'which transmission arrived is unknown');
  assert.equal(pair.received('responder', writer.id).length, 1 + 2_000);
});
