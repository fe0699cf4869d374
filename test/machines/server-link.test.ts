// The server link and target machines on a simulated clock: the hello must come in time, a silent Nimbus peer
// fails the link at a ping tick, rejects and closes end the socket first; a target redials after each DOWN
// with the delay its core computes, and stops for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock, createActor } from 'xstate';
import { serverLinkMachine } from '../../machines/server-link.ts';
import { serverTargetMachine } from '../../machines/server-target.ts';

function link(silent: () => boolean) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const machine = serverLinkMachine.provide({
    actions: {
      connected: () => void calls.push('connected'),
      ping: () => void calls.push('ping'),
      endSocket: () => void calls.push('endSocket'),
      destroySocket: () => void calls.push('destroySocket'),
      closed: () => void calls.push('closed'),
    },
    guards: { silent },
  });
  const actor = createActor(machine, { input: { key: 1 }, clock }).start();
  return { clock, calls, actor, state: () => String(actor.getSnapshot().value) };
}

test('server link: no hello within the greeting timeout fails; a hello connects', () => {
  const late = link(() => false);
  late.clock.increment(4_999);
  assert.equal(late.state(), 'greeting');
  late.clock.increment(1);
  assert.equal(late.state(), 'failed');
  assert.deepEqual(late.calls, ['destroySocket']);
  late.actor.send({ type: 'SOCKET_CLOSED' });
  assert.equal(late.state(), 'closed');
  assert.equal(late.actor.getSnapshot().context.reason, 'no hello in time');

  const ok = link(() => false);
  ok.actor.send({ type: 'HELLO' });
  assert.equal(ok.state(), 'connected');
  ok.clock.increment(2_000);
  ok.clock.increment(2_000);
  assert.deepEqual(ok.calls, ['connected', 'ping', 'ping']);
});

test('server link: silence found at a ping tick fails the link; a reject ends the socket, then closes', () => {
  let silent = false;
  const l = link(() => silent);
  l.actor.send({ type: 'HELLO' });
  l.clock.increment(2_000);
  silent = true;
  l.clock.increment(2_000);
  assert.equal(l.state(), 'failed');
  assert.equal(l.actor.getSnapshot().context.reason, 'peer silent (ping timeout)');

  const r = link(() => false);
  r.actor.send({ type: 'HELLO' });
  r.actor.send({ type: 'REJECT', reason: 'rejected: bye' });
  assert.equal(r.state(), 'closing');
  assert.deepEqual(r.calls, ['connected', 'endSocket']);
  r.actor.send({ type: 'SOCKET_CLOSED' });
  assert.equal(r.state(), 'closed');
  assert.deepEqual(r.calls, ['connected', 'endSocket', 'closed']);
});

test('server target: dial, linked, down, redial after the back-off, stop hangs up', () => {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const delays = [1_000, 2_000];
  const machine = serverTargetMachine.provide({
    actions: {
      dial: () => void calls.push('dial'),
      resetBackoff: () => void calls.push('reset'),
      hangUp: () => void calls.push('hangUp'),
    },
    delays: { retryDelay: () => delays.shift() ?? 16_000 },
  });
  const actor = createActor(machine, { input: { key: 1 }, clock }).start();
  assert.deepEqual(calls, ['dial']);
  actor.send({ type: 'DOWN' });
  clock.increment(999);
  assert.deepEqual(calls, ['dial']);
  clock.increment(1);
  assert.deepEqual(calls, ['dial', 'dial']);
  actor.send({ type: 'LINKED' });
  actor.send({ type: 'DOWN' });
  clock.increment(2_000);
  assert.deepEqual(calls, ['dial', 'dial', 'reset', 'dial']);
  actor.send({ type: 'STOP' });
  assert.equal(actor.getSnapshot().status, 'done');
  assert.deepEqual(calls.at(-1), 'hangUp');
});
