// Issue 12: every per-session table is bounded, and the bound is asserted: bytes held by receiving flows (per
// session and server-wide; the offending flow is dropped with a Flow Exception), receiving flows open at once,
// and control chunks waiting for a flush.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../src/bytes.ts';
import { CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { MAX_CONTROL_BYTES, MAX_FLOWS, type BufferBudget } from '../../src/protocols/rtmfp/session/session.ts';
import { Pair } from '../helpers/pair.ts';
import { userDataFragment } from '../helpers/user-data.ts';

const fragment = userDataFragment;

function exceptionsFor(pair: Pair, flowId: number, since = 0): number {
  return pair.chunksFrom('responder', since, CHUNK.FLOW_EXCEPTION).filter((c) => (c as { flowId: number }).flowId === flowId).length;
}

test('bytes held by one session are bounded: the flow that grows them past the bound is dropped (Flow Exception)', async () => {
  const pair = new Pair({ maxBufferedBytes: 8_192 });
  const responder = pair.responder;
  let peak = 0;
  // flow 2: five out-of-order fragments (1 missing), 5,000 bytes held
  for (let seq = 2; seq <= 6; seq++) {
    pair.inject('initiator', fragment(2, seq));
    await pair.settle();
    peak = Math.max(peak, responder.bufferedBytes);
  }
  assert.equal(responder.bufferedBytes, 5_000);
  // flow 3 tries to add 5,000 more: dropped at the fragment that crosses 8,192
  for (let seq = 2; seq <= 6; seq++) {
    pair.inject('initiator', fragment(3, seq));
    await pair.settle();
    peak = Math.max(peak, responder.bufferedBytes);
  }
  assert.ok(peak <= 8_192, `peak ${peak}`);
  assert.equal(responder.bufferedBytes, 5_000, 'the dropped flow released what it held');
  assert.equal(responder.stats.droppedFlows, 1);
  assert.equal(exceptionsFor(pair, 3), 1, 'the sender is told');
  assert.equal(exceptionsFor(pair, 2), 0);
  // flow 2 is unharmed: its missing fragment arrives, everything is delivered, nothing is held any more
  pair.inject('initiator', fragment(2, 1));
  await pair.settle();
  assert.equal(pair.records.responder.messages.get(2)?.length, 6);
  assert.equal(responder.bufferedBytes, 0);
  assert.ok(!responder.describe().flows.includes(3), 'the dropped flow keeps no slot');
});

test('bytes held by all sessions are bounded by the shared (server) budget, and a closed session gives its bytes back', async () => {
  const shared: BufferBudget = { used: 0, max: 6_000 };
  const a = new Pair({ sharedBuffer: shared });
  const b = new Pair({ sharedBuffer: shared });
  for (let seq = 2; seq <= 5; seq++) a.inject('initiator', fragment(2, seq));
  await a.settle();
  assert.equal(shared.used, 4_000);
  for (let seq = 2; seq <= 5; seq++) b.inject('initiator', fragment(2, seq));
  await b.settle();
  assert.ok(shared.used <= 6_000, `used ${shared.used}`);
  assert.equal(b.responder.stats.droppedFlows, 1);
  assert.equal(exceptionsFor(b, 2), 1);
  a.responder.kill('test');
  assert.equal(shared.used, 0, 'what the closed session held is released');
});

test(`receiving flows are bounded: flow ${MAX_FLOWS + 1} is refused with a Flow Exception and keeps no state`, async () => {
  const pair = new Pair();
  for (let id = 1; id <= MAX_FLOWS + 3; id++) pair.inject('initiator', fragment(id, 2, 10));
  await pair.settle();
  assert.equal(pair.responder.describe().flows.length, MAX_FLOWS);
  for (let id = MAX_FLOWS + 1; id <= MAX_FLOWS + 3; id++) assert.ok(exceptionsFor(pair, id) >= 1, `flow ${id} refused`);
  assert.equal(pair.responder.bufferedBytes, MAX_FLOWS * 10);
});

test('control chunks waiting for a flush are bounded (a ping flood cannot grow them)', () => {
  const pair = new Pair();
  const session = pair.responder;
  const ping = new Uint8Array(200).fill(0x41);
  // queued without flushing: the queue stops growing at the bound
  for (let i = 0; i < 1_000; i++) session.queueControl(ping, false);
  const control = (session as unknown as { control: ByteWriter }).control;
  assert.ok(control.length <= MAX_CONTROL_BYTES, `${control.length} bytes queued`);
  assert.ok(control.length > MAX_CONTROL_BYTES - ping.length, 'filled up to the bound');
});
