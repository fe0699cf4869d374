// Delayed acknowledgement (RFC 7016 §3.6.3.4.4, DELAYED_ACK_MS): a session with ackDelayMs (the project's client)
// lets the acks of a lone data packet wait for a second one, for a packet it sends anyway, or for the timer; a
// session without it (the server's) acks at the end of the datagram batch. Two real Sessions, simulated clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { Pair } from '../helpers/pair.ts';

const SIGNATURE = Uint8Array.of(0x54, 0x43, 0x04, 0x00);
const DELAY = 50;

const acksFrom = (pair: Pair, side: 'initiator' | 'responder', since = 0) => pair.chunksFrom(side, since, CHUNK.ACK_RANGES).length;

test('a lone data packet is acknowledged when the delay ends, not before', { timeout: 10_000 }, async () => {
  const pair = new Pair({ initiatorAckDelayMs: DELAY });
  const writer = pair.responder.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1, 2, 3));
  await pair.settle();
  assert.equal(pair.received('initiator', writer.id).length, 3, 'delivered at once');
  assert.equal(acksFrom(pair, 'initiator'), 0, 'no ack at the end of the batch');
  await pair.advance(DELAY - 1, 7);
  assert.equal(acksFrom(pair, 'initiator'), 0, 'none before the delay');
  await pair.advance(1, 1);
  assert.equal(acksFrom(pair, 'initiator'), 1, 'one ack when the delay ends');
  assert.ok(writer.drained, 'the sender has nothing in flight');
});

test('the second data packet is acknowledged at once, and the timer then sends nothing more', { timeout: 10_000 }, async () => {
  const pair = new Pair({ initiatorAckDelayMs: DELAY });
  const writer = pair.responder.newWriter(SIGNATURE, undefined);
  writer.write(new Uint8Array(1_800).fill(7)); // two packets' worth: both fragments leave in one flush
  await pair.settle();
  assert.equal(pair.received('initiator', writer.id).length, 1_800);
  const dataPackets = pair.log.filter((p) => p.from === 'responder' && p.chunks.some((c) => c.type === CHUNK.USER_DATA));
  assert.equal(dataPackets.length, 2, 'the message took two packets');
  assert.equal(acksFrom(pair, 'initiator'), 1, 'acked after the second packet, without waiting');
  assert.ok(writer.drained);
  const before = pair.log.length;
  await pair.advance(DELAY * 3, 10);
  assert.equal(acksFrom(pair, 'initiator', before), 0, 'the timer found nothing to acknowledge');
});

test('the acks ride on data the receiver sends within the delay', { timeout: 10_000 }, async () => {
  const pair = new Pair({ initiatorAckDelayMs: DELAY });
  const writer = pair.responder.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1));
  await pair.settle();
  assert.equal(acksFrom(pair, 'initiator'), 0);
  await pair.advance(10, 10);
  const reply = pair.initiator.newWriter(SIGNATURE, undefined);
  const before = pair.log.length;
  reply.write(Uint8Array.of(2));
  await pair.settle();
  const sent = pair.log.slice(before).filter((p) => p.from === 'initiator');
  assert.equal(sent.length, 1, 'one packet out');
  const types = sent[0]!.chunks.map((c) => c.type);
  assert.ok(types.includes(CHUNK.USER_DATA) && types.includes(CHUNK.ACK_RANGES), `data and ack together: ${types.join(',')}`);
  const after = pair.log.length;
  await pair.advance(DELAY * 2, 10);
  const pureAcks = pair.log.slice(after).filter((p) => p.from === 'initiator' && p.chunks.every((c) => c.type === CHUNK.ACK_RANGES));
  assert.equal(pureAcks.length, 0, 'no separate ack after the delay');
});

test('without a delay (a server session) a lone data packet is acknowledged at the end of the batch', { timeout: 10_000 }, async () => {
  const pair = new Pair();
  const writer = pair.initiator.newWriter(SIGNATURE, undefined);
  writer.write(Uint8Array.of(1, 2, 3));
  await pair.settle();
  assert.equal(acksFrom(pair, 'responder'), 1, 'acked without any time passing');
});
