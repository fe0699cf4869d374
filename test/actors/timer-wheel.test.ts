import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from 'xstate';
import { TimerWheel } from '../../src/actors/timer-wheel.ts';
import type { Clock } from '../../src/clock.ts';

/** A SimulatedClock that counts the platform timers set on it. */
function countingClock(): { clock: SimulatedClock; pending: () => number } {
  const clock = new SimulatedClock();
  const live = new Set<unknown>();
  const setTimeout = clock.setTimeout.bind(clock);
  const clearTimeout = clock.clearTimeout.bind(clock);
  clock.setTimeout = (fn: (...args: unknown[]) => void, ms: number) => {
    const id = setTimeout(() => {
      live.delete(id);
      fn();
    }, ms);
    live.add(id);
    return id;
  };
  clock.clearTimeout = (id: unknown) => {
    live.delete(id);
    clearTimeout(id as number);
  };
  return { clock, pending: () => live.size };
}

test('many delays share one base timer and fire in deadline order, ties in the order they were set', () => {
  const { clock, pending } = countingClock();
  const wheel: Clock = new TimerWheel(clock);
  const fired: string[] = [];
  for (const [name, ms] of [
    ['c', 300],
    ['a', 100],
    ['b', 200],
    ['a2', 100],
    ['d', 1000],
  ] as const) {
    wheel.setTimeout(() => fired.push(name), ms);
  }
  assert.equal(pending(), 1);
  clock.increment(99);
  assert.deepEqual(fired, []);
  clock.increment(1);
  assert.deepEqual(fired, ['a', 'a2']);
  clock.increment(250);
  assert.deepEqual(fired, ['a', 'a2', 'b', 'c']);
  assert.equal(pending(), 1);
  clock.increment(650);
  assert.deepEqual(fired, ['a', 'a2', 'b', 'c', 'd']);
  assert.equal(pending(), 0);
});

test('a cancelled delay never fires, and the others keep their deadlines', () => {
  const { clock } = countingClock();
  const wheel = new TimerWheel(clock);
  const fired: number[] = [];
  const handles = [50, 10, 30, 20, 40].map((ms) => wheel.setTimeout(() => fired.push(ms), ms));
  wheel.clearTimeout(handles[1]);
  wheel.clearTimeout(handles[3]);
  wheel.clearTimeout(handles[3]); // twice: nothing more
  assert.equal(wheel.size, 3);
  clock.increment(100);
  assert.deepEqual(fired, [30, 40, 50]);
  assert.equal(wheel.size, 0);
});

test('a callback setting a zero delay does not run it in the same pass', () => {
  const { clock } = countingClock();
  const wheel = new TimerWheel(clock);
  let runs = 0;
  const again = (): void => {
    runs++;
    if (runs < 1000) wheel.setTimeout(again, 0);
  };
  wheel.setTimeout(again, 10);
  clock.increment(10);
  assert.equal(runs, 1);
  clock.increment(0);
  assert.equal(runs, 2);
});

test('an earlier delay set later re-arms the base timer for its deadline', () => {
  const { clock } = countingClock();
  const wheel = new TimerWheel(clock);
  const fired: string[] = [];
  wheel.setTimeout(() => fired.push('late'), 1000);
  wheel.setTimeout(() => fired.push('early'), 10);
  clock.increment(10);
  assert.deepEqual(fired, ['early']);
});

test('10,000 delays with random deadlines come out sorted', () => {
  const { clock } = countingClock();
  const wheel = new TimerWheel(clock);
  const fired: number[] = [];
  const handles: unknown[] = [];
  for (let i = 0; i < 10_000; i++) {
    const ms = 1 + Math.floor(Math.random() * 4990);
    handles.push(wheel.setTimeout(() => fired.push(clock.now() - ms), ms));
  }
  for (let i = 0; i < 10_000; i += 3) wheel.clearTimeout(handles[i]);
  for (let t = 0; t < 5000; t += 7) clock.increment(7);
  assert.equal(fired.length, 10_000 - Math.ceil(10_000 / 3));
  // each fired at its own deadline's step (within one 7 ms increment)
  for (const lateness of fired) assert.ok(lateness >= 0 && lateness < 7, `late by ${lateness}`);
});

test('a callback that throws leaves the other delays armed', () => {
  // a hand-driven base clock (SimulatedClock stops flushing for good once a callback throws)
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let ids = 0;
  const base: Clock = {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => {
      timers.set(++ids, { at: now + ms, fn });
      return ids;
    },
    clearTimeout: (id: unknown) => void timers.delete(id as number),
  };
  const advance = (to: number) => {
    now = to;
    for (const [id, timer] of [...timers]) {
      if (timer.at > now) continue;
      timers.delete(id);
      timer.fn();
    }
  };
  const wheel = new TimerWheel(base);
  const fired: string[] = [];
  wheel.setTimeout(() => {
    throw new Error('boom');
  }, 100);
  wheel.setTimeout(() => fired.push('later'), 200);
  assert.throws(() => advance(100), /boom/);
  assert.equal(timers.size, 1, 'the base timer is set again for the next deadline');
  advance(200);
  assert.deepEqual(fired, ['later']);
});
