import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock, createActor, setup } from 'xstate';
import { inSystem, stopActor } from '../../src/actors/system.ts';
import { TimerWheel } from '../../src/actors/timer-wheel.ts';

const ticking = setup({
  actions: { boom: () => {} },
  delays: { tick: 1_000 },
}).createMachine({
  initial: 'waiting',
  states: {
    waiting: { after: { tick: 'done' }, on: { BOOM: { actions: 'boom' } } },
    done: { type: 'final' },
  },
});

test('actors of one clock share one system; stopping one cancels its delays only', () => {
  const clock = new SimulatedClock();
  const a = createActor(ticking, inSystem(clock, { id: 'a' }));
  const b = createActor(ticking, inSystem(clock, { id: 'b' }));
  assert.equal(a.system, b.system);
  a.start();
  b.start();
  stopActor(a);
  clock.increment(1_000);
  assert.equal(a.getSnapshot().status, 'stopped');
  assert.equal(b.getSnapshot().value, 'done');
  assert.equal(b.getSnapshot().status, 'done');
  // a different clock is a different system
  assert.notEqual(createActor(ticking, inSystem(new SimulatedClock(), { id: 'c' })).system, a.system);
});

test('10,000 actors in one system start and stop in linear time, leaving no delay behind', () => {
  const clock = new SimulatedClock();
  const wheel = new TimerWheel(clock);
  const actors = Array.from({ length: 10_000 }, (_, i) => createActor(ticking, inSystem(wheel, { id: `t${i}` })));
  const started = performance.now();
  for (const actor of actors) actor.start();
  for (const actor of actors) stopActor(actor);
  const ms = performance.now() - started;
  assert.equal(wheel.size, 0);
  const scheduled = (actors[0]!.system as unknown as { _snapshot: { _scheduledEvents: object } })._snapshot._scheduledEvents;
  assert.equal(Object.keys(scheduled).length, 0);
  // a scan of the system's delays at every stop took minutes here; indexed, well under a few seconds
  assert.ok(ms < 5_000, `${ms} ms`);
});

test("an actor's error reaches its own subscriber, and the shared system goes on", () => {
  const clock = new SimulatedClock();
  const failing = ticking.provide({
    actions: {
      boom: () => {
        throw new Error('boom');
      },
    },
  });
  const bad = createActor(failing, inSystem(clock, { id: 'bad' }));
  const good = createActor(ticking, inSystem(clock, { id: 'good' }));
  const errors: unknown[] = [];
  bad.subscribe({ error: (error) => errors.push(error) });
  bad.start();
  good.start();
  bad.send({ type: 'BOOM' });
  assert.equal(errors.length, 1);
  assert.equal(bad.getSnapshot().status, 'error');
  clock.increment(1_000);
  assert.equal(good.getSnapshot().value, 'done');
});

test('an inspected actor keeps a system of its own, so its inspection callback hears it', () => {
  const clock = new SimulatedClock();
  const events: string[] = [];
  const options = inSystem(clock, { id: 'seen', inspect: (event) => void events.push(event.type) });
  assert.equal(options.parent, undefined);
  const actor = createActor(ticking, options);
  actor.start();
  assert.notEqual(actor.system, createActor(ticking, inSystem(clock, { id: 'other' })).system);
  assert.ok(events.includes('@xstate.actor'));
  stopActor(actor);
});
