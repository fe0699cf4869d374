// onConnection's `timeout` (Mona): a session silent for longer than the application's timeout fails,
// well before the keepalive pings alone would give up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { Pair } from '../helpers/pair.ts';

async function opened(pair: Pair): Promise<void> {
  const writer = pair.initiator.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined);
  writer.write(Uint8Array.of(1, 2, 3));
  await pair.settle();
  assert.equal(pair.responder.state, 'open');
}

test('a session timeout shorter than the keepalive period fails a silent session', async () => {
  const pair = new Pair({ keepAliveMs: 15_000 });
  await opened(pair);
  pair.responder.timeoutMs = 3_000;
  pair.wire.drop.initiator = true;
  await pair.advance(2_500);
  assert.equal(pair.responder.state, 'open');
  await pair.advance(3_000);
  assert.equal(pair.responder.state, 'failed');
  assert.deepEqual(pair.records.responder.failed, ['keepalive timeout']);
});

test('without a session timeout the same silence only starts keepalive pings', async () => {
  const pair = new Pair({ keepAliveMs: 15_000 });
  await opened(pair);
  pair.wire.drop.initiator = true;
  await pair.advance(5_500);
  assert.equal(pair.responder.state, 'open');
});

test('the keepalive check allows timers 5 ms of slack: heard 5 ms after the timer was set still counts as quiet', async () => {
  const pair = new Pair({ keepAliveMs: 10_000 });
  await opened(pair);
  pair.responder.timeoutMs = undefined; // re-arms the keepalive timer now: it fires 10 s after the last packet heard
  const armedAt = pair.clock.now();
  await pair.advance(5, 5);
  pair.initiator.newWriter(Uint8Array.of(0x54, 0x43, 0x04, 0x00), undefined).write(Uint8Array.of(4));
  await pair.settle(); // heard 5 ms after the timer was set: the check sees 9,995 ms of silence when it fires
  const since = pair.log.length;
  await pair.advance(armedAt + 10_000 - pair.clock.now(), 100);
  assert.equal(pair.clock.now(), armedAt + 10_000);
  assert.equal(pair.chunksFrom('responder', since, CHUNK.PING).length, 1, 'pinged when the timer fired, not 50 ms later');
});
