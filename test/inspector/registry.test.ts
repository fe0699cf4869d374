// The actor registry fed by observe(): creation, state changes and ends, bounded memory, and the tree.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { createActor } from 'xstate';
import { steppedMachine as flowMachine } from '../helpers/stepped-machine.ts';
import { ACTOR_CHANNEL, observe } from '../../src/actors/observe.ts';
import { ActorRegistry } from '../../src/inspector/registry.ts';
import { FeedSubscriber } from '../../src/inspector/feed.ts';
import { buildTree, type InspectorHost } from '../../src/inspector/tree.ts';

/** `registry` hears `nimbus:actor` until the test ends: actors created in `run` report to it. */
function withRegistry(t: TestContext, registry: ActorRegistry, run: () => void): void {
  diagnostics.subscribe(ACTOR_CHANNEL, registry.onActorMessage);
  t.after(() => void diagnostics.unsubscribe(ACTOR_CHANNEL, registry.onActorMessage));
  run();
}

const everything: InspectorHost = {
  summary: () => ({ sessions: 0 }),
  view: (entry) => ({ label: entry.name === 'flow:7.1' ? '192.0.2.1:5000' : '', facts: {} }),
};

test('without a sink observe() adds nothing to an actor', () => {
  assert.deepEqual(observe('flow', '1.2'), { id: 'flow:1.2' });
});

test('actors are registered with kind and parent; nothing is published while no page listens', (t) => {
  let now = 1_000;
  const registry = new ActorRegistry({ now: () => now, keepEnded: 5_000 });
  let actor!: ReturnType<typeof createActor<typeof flowMachine>>;
  withRegistry(t, registry, () => {
    actor = createActor(flowMachine, observe('flow', '7.1')).start();
  });
  const entry = registry.get(actor.sessionId)!;
  assert.equal(entry.name, 'flow:7.1');
  assert.equal(entry.kind, 'flow');
  assert.equal(entry.parent, 'session:7');
  assert.equal(registry.feed.lastSeq, 0);
  actor.send({ type: 'ACCEPT', kind: 'NetStream' });
  assert.equal(registry.feed.lastSeq, 0);
  actor.stop();
  assert.equal(entry.ended, 1_000);
  now += 6_000;
  registry.sweep();
  assert.equal(registry.size, 0, 'ended actors are forgotten even when no page ever connects');
});

test('with a page: creation, events, state changes and the end, in order', (t) => {
  const registry = new ActorRegistry();
  const page = new FeedSubscriber();
  registry.feed.subscribe(page);
  let actor!: ReturnType<typeof createActor<typeof flowMachine>>;
  withRegistry(t, registry, () => {
    actor = createActor(flowMachine, observe('flow', '3.2')).start();
  });
  actor.send({ type: 'ACCEPT', kind: 'NetStream' });
  actor.send({ type: 'FINISHED' });
  const seen = page.take().entries.map((e) => `${e.type}:${e.event ?? ''}:${e.from ?? ''}>${e.state ?? ''}`);
  assert.deepEqual(seen, [
    'created::>',
    'state:xstate.init:>opening',
    'event:ACCEPT:>',
    'state:ACCEPT:opening>open',
    'event:FINISHED:>',
    'state:FINISHED:open>complete',
    'ended::>done',
  ]);
});

test('ended actors beyond maxEnded are forgotten oldest first', (t) => {
  const registry = new ActorRegistry({ maxEnded: 3, keepEnded: 1e9 });
  withRegistry(t, registry, () => {
    for (let i = 0; i < 10; i++)
      createActor(flowMachine, observe('flow', `1.${i}`))
        .start()
        .stop();
  });
  assert.equal(registry.size, 3);
  assert.deepEqual(
    [...registry.values()].map((e) => e.name),
    ['flow:1.7', 'flow:1.8', 'flow:1.9'],
  );
});

test('the tree: parents, counts per state, filter by text keeps ancestors, capped list', (t) => {
  const registry = new ActorRegistry();
  registry.feed.subscribe(new FeedSubscriber());
  withRegistry(t, registry, () => {
    for (let s = 1; s <= 8; s++) createActor(flowMachine, observe('flow', `${s}.1`)).start();
    createActor(flowMachine, observe('flow', '7.2')).start().send({ type: 'ACCEPT', kind: 'NetStream' });
  });
  registry.refresh();
  const all = buildTree(registry, everything, {});
  assert.equal(all.total, 9);
  assert.deepEqual(all.counts, { flow: { opening: 8, open: 1 } });
  assert.ok(
    all.nodes.every((n) => n.parent === 'supervisor'),
    'no session actors here: flows hang from the supervisor',
  );

  const byAddress = buildTree(registry, everything, { text: '192.0.2.1' });
  assert.deepEqual(
    byAddress.nodes.map((n) => n.name),
    ['flow:7.1'],
  );
  const byState = buildTree(registry, everything, { state: 'open', kind: 'flow' });
  assert.equal(byState.matched, 9, '"open" is part of "opening" too');
  const capped = buildTree(registry, everything, {}, { limit: 4 });
  assert.equal(capped.nodes.length, 4);
  assert.equal(capped.matched, 9);
  const hidden = { ...everything, view: () => undefined };
  assert.equal(buildTree(registry, hidden, {}).total, 0, 'actors the host does not own are not shown');
});

test('the tree folds children under their parent, freezes ages at the end, and shows children of an ended actor as ended', (t) => {
  let now = 1_000_000;
  const registry = new ActorRegistry({ now: () => now });
  registry.feed.subscribe(new FeedSubscriber());
  const sessions: Array<ReturnType<typeof createActor<typeof flowMachine>>> = [];
  withRegistry(t, registry, () => {
    // flows named "session:N" stand in for sessions: what matters is the parent relation by name
    for (let s = 1; s <= 3; s++) {
      sessions.push(createActor(flowMachine, { ...observe('session', s) }).start());
      for (let f = 1; f <= 2; f++) createActor(flowMachine, observe('flow', `${s}.${f}`)).start();
    }
  });
  registry.refresh();
  const folded = buildTree(registry, everything, {}, { expanded: new Set(), now });
  assert.deepEqual(folded.nodes.map((n) => n.name).sort(), ['session:1', 'session:2', 'session:3']);
  assert.equal(folded.folded, 6);
  assert.ok(folded.nodes.every((n) => n.collapsed && n.children.flow === 2));

  const one = folded.nodes.find((n) => n.name === 'session:2')!.key;
  const open = buildTree(registry, everything, {}, { expanded: new Set([one]), now });
  assert.deepEqual(
    open.nodes
      .filter((n) => n.kind === 'flow')
      .map((n) => n.name)
      .sort(),
    ['flow:2.1', 'flow:2.2'],
  );
  assert.equal(open.nodes.find((n) => n.key === one)!.collapsed, false);
  assert.equal(
    buildTree(registry, everything, { kind: 'flow' }, { expanded: new Set(), now }).nodes.filter((n) => n.kind === 'flow').length,
    6,
    'a filter lists matches wherever they are',
  );
  assert.equal(buildTree(registry, everything, {}, { now }).nodes.length, 9, 'without `expanded` (the JSON API) everything is listed');

  // session:1 ends 5 s in; 60 s later its age and its flows' ages still read 5 s, and its flows read as ended
  now += 5_000;
  sessions[0]!.send({ type: 'ACCEPT', kind: 'test' });
  sessions[0]!.send({ type: 'CLOSE' });
  now += 60_000 - 1;
  registry.refresh();
  const later = buildTree(registry, everything, {}, { now });
  const byName = new Map(later.nodes.map((n) => [n.name, n]));
  assert.equal(byName.get('session:1')!.age, 5);
  assert.equal(byName.get('session:1')!.status, 'done');
  for (const name of ['flow:1.1', 'flow:1.2']) {
    assert.equal(byName.get(name)!.status, 'stopped');
    assert.equal(byName.get(name)!.endedWith, 'session:1');
    assert.equal(byName.get(name)!.age, 5);
  }
  assert.equal(byName.get('flow:2.1')!.status, 'active');
  assert.equal(byName.get('flow:2.1')!.age, 65);
});

test('a page arriving after another left reads states afresh (they were not tracked in between)', (t) => {
  const registry = new ActorRegistry();
  let flow: ReturnType<typeof createActor<typeof flowMachine>> | undefined;
  withRegistry(t, registry, () => {
    flow = createActor(flowMachine, observe('flow', '1.1')).start();
  });
  const first = registry.feed.subscribe(new FeedSubscriber());
  registry.refresh();
  assert.equal([...registry.values()][0]!.state, 'opening');
  first();
  flow!.send({ type: 'ACCEPT', kind: 'NetStream' });
  registry.feed.subscribe(new FeedSubscriber());
  registry.refresh();
  assert.equal([...registry.values()][0]!.state, 'open');
});
