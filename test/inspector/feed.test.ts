// The event feed: bounded ring, per-page bounded queues with drop counting, filters, replay on reconnect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventFeed, FeedSubscriber, matchesFilter, type FeedInput } from '../../src/inspector/feed.ts';

function entry(n: number, over: Partial<FeedInput> = {}): FeedInput {
  return {
    time: n,
    type: 'event',
    actor: `x:${n % 3}`,
    name: `session:${n % 3}`,
    kind: 'session',
    label: `10.0.0.${n % 3}:1935 peer${n % 3}`,
    event: `E${n}`,
    ...over,
  };
}

test('nothing is kept for nobody: listening only while a page is subscribed', () => {
  const feed = new EventFeed(8);
  assert.equal(feed.listening, false);
  const unsubscribe = feed.subscribe(new FeedSubscriber());
  assert.equal(feed.listening, true);
  unsubscribe();
  assert.equal(feed.listening, false);
});

test('the ring keeps the last `capacity` entries, numbered in order', () => {
  const feed = new EventFeed(8);
  for (let i = 1; i <= 20; i++) feed.publish(entry(i));
  assert.equal(feed.lastSeq, 20);
  assert.equal(feed.oldestSeq, 13);
  const { entries, missed } = feed.since(0, {});
  assert.deepEqual(
    entries.map((e) => e.seq),
    [13, 14, 15, 16, 17, 18, 19, 20],
  );
  assert.equal(missed, 0);
});

test('a slow page loses entries beyond its queue, and is told how many', () => {
  const feed = new EventFeed(64);
  const slow = new FeedSubscriber({}, 5);
  feed.subscribe(slow);
  for (let i = 1; i <= 12; i++) feed.publish(entry(i));
  const first = slow.take();
  assert.equal(first.entries.length, 5);
  assert.equal(first.dropped, 7);
  assert.deepEqual(
    first.entries.map((e) => e.seq),
    [1, 2, 3, 4, 5],
  );
  feed.publish(entry(13));
  const second = slow.take();
  assert.equal(second.entries.length, 1);
  assert.equal(second.dropped, 0, 'the count restarts once reported');
  assert.equal(slow.droppedTotal, 7);
});

test('filters: kind, one actor by key or name, text in name or label, state', () => {
  const feed = new EventFeed(64);
  const e = feed.publish(entry(4, { type: 'state', state: 'open: connected · alive', from: 'keying' }));
  assert.ok(matchesFilter(e, {}));
  assert.ok(matchesFilter(e, { kind: 'session' }));
  assert.ok(!matchesFilter(e, { kind: 'flow' }));
  assert.ok(matchesFilter(e, { actor: 'x:1' }));
  assert.ok(matchesFilter(e, { actor: 'session:1' }));
  assert.ok(!matchesFilter(e, { actor: 'x:2' }));
  assert.ok(matchesFilter(e, { text: 'PEER1' }), 'case-insensitive, in the label');
  assert.ok(matchesFilter(e, { text: '10.0.0.1:' }));
  assert.ok(!matchesFilter(e, { text: 'peer2' }));
  assert.ok(matchesFilter(e, { state: 'Connected' }));
  assert.ok(!matchesFilter(e, { state: 'closing' }));
  const subscriber = new FeedSubscriber({ text: 'peer2' });
  feed.subscribe(subscriber);
  for (let i = 1; i <= 9; i++) feed.publish(entry(i));
  assert.deepEqual(
    subscriber.take().entries.map((x) => x.name),
    ['session:2', 'session:2', 'session:2'],
  );
});

test('a reconnecting page gets what followed its last entry, or learns how much is gone', () => {
  const feed = new EventFeed(10);
  for (let i = 1; i <= 6; i++) feed.publish(entry(i));
  // the page saw up to 4, dropped its socket, came back
  assert.deepEqual(
    feed.since(4, {}).entries.map((e) => e.seq),
    [5, 6],
  );
  assert.equal(feed.since(4, {}).missed, 0);
  // it stayed away long enough for the ring to turn over
  for (let i = 7; i <= 30; i++) feed.publish(entry(i));
  const late = feed.since(4, {});
  assert.equal(late.missed, 16, 'entries 5..20 left the ring');
  assert.deepEqual(
    late.entries.map((e) => e.seq),
    [21, 22, 23, 24, 25, 26, 27, 28, 29, 30],
  );
  // the server restarted: the page's number is in the future, so it starts again from what there is
  const restarted = new EventFeed(10);
  restarted.publish(entry(1));
  assert.deepEqual(
    restarted.since(4000, {}).entries.map((e) => e.seq),
    [1],
  );
  // filter and limit apply to the replay: the most recent matching ones
  assert.deepEqual(
    feed.since(0, { actor: 'x:0' }, 2).entries.map((e) => e.seq),
    [27, 30],
  );
});

test('timer ticks are hidden when asked, a timer that moves the actor still shows; entry types filter', () => {
  const tick = { seq: 1, ...entry(1, { event: 'xstate.after.keepAlive.session.open.liveness.alive' }) };
  const move = { seq: 2, ...entry(2, { type: 'state', event: 'xstate.after.keepAlive.session.open.liveness.alive', state: 'pinging' }) };
  const call = { seq: 3, ...entry(3, { event: 'KEYED' }) };
  assert.equal(matchesFilter(tick, { timers: false }), false);
  assert.equal(matchesFilter(tick, {}), true, 'shown unless hidden');
  assert.equal(matchesFilter(move, { timers: false }), true);
  assert.equal(matchesFilter(call, { timers: false }), true);
  assert.equal(matchesFilter(call, { types: ['state', 'ended'] }), false);
  assert.equal(matchesFilter(move, { types: ['state', 'ended'] }), true);
});
