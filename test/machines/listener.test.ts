// Model-based test of the subscription lifecycle: shortest paths and every edge of machines/listener.ts,
// replayed on a real Listener driven through the Publications registry (publish, unpublish, key frames,
// a publisher-side loss, pause, unsubscribe), checking the real actor's state after each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { listenerMachine, type ListenerEvent } from '../../machines/listener.ts';
import { Publications } from '../../src/core/media/publications.ts';
import type { Listener, Publication } from '../../src/core/media/publication.ts';
import type { ClientPort } from '../../src/core/ports.ts';
import { modelOf } from '../helpers/pair.ts';
import { recordingSink } from '../media/helpers.ts';

type ModelEvent = ListenerEvent & { publishing?: boolean };
type Snap = ReturnType<typeof listenerMachine.transition>;
type Step = { event: ModelEvent; state: Snap };

const model = modelOf(listenerMachine, { publishing: ({ event }) => (event as ModelEvent).publishing === true });
const events: ModelEvent[] = [
  { type: 'ALLOW', publishing: true },
  { type: 'ALLOW', publishing: false },
  { type: 'DENY', reason: 'no' },
  { type: 'PUBLISHED' },
  { type: 'UNPUBLISHED' },
  { type: 'KEY_FRAME' },
  { type: 'RESYNC' },
  { type: 'PAUSE' },
  { type: 'RESUME', publishing: true },
  { type: 'RESUME', publishing: false },
  { type: 'CLOSE' },
];
const traversal = { input: { key: 0 }, events, serializeState: (s: Snap) => JSON.stringify(s.value) };
const shortest = getShortestPaths(model, traversal as never) as unknown as Array<{ steps: Step[]; state: Snap }>;
const byState = new Map(shortest.map((p) => [traversal.serializeState(p.state), p]));
const edges: Array<{ steps: Step[]; state: Snap }> = [];
const adjacency = getAdjacencyMap(model, traversal as never) as unknown as Record<
  string,
  { state: Snap; transitions: Record<string, { event: ModelEvent; state: Snap }> }
>;
for (const [key, { state, transitions }] of Object.entries(adjacency)) {
  const prefix = byState.get(key);
  if (!prefix || state.status !== 'active') continue;
  for (const { event, state: next } of Object.values(transitions)) {
    if (traversal.serializeState(next) === key && !state.can(event)) continue;
    edges.push({ steps: [...prefix.steps, { event, state: next }], state: next });
  }
}

const client = { rawId: new Uint8Array(32).fill(7) } as unknown as ClientPort;
const KEY = Uint8Array.of(0x17, 0x01, 0, 0, 0, 1);
const INTER = Uint8Array.of(0x27, 0x01, 0, 0, 0, 2);

/** Drives one real listener; `publication` is whatever currently publishes the name. */
class Driver {
  readonly publications = new Publications();
  listener: Listener | undefined;
  publication: Publication | undefined;
  time = 0;
  private deny = false;

  constructor() {
    this.publications.events = {
      onPublish: () => ({ allowed: true }),
      onUnpublish() {},
      onSubscribe: (_client, listener) => {
        this.listener = listener;
        assert.equal(listener.state, 'authorizing');
        return this.deny ? { allowed: false } : { allowed: true };
      },
      onUnsubscribe() {},
    };
  }

  setPublishing(on: boolean): void {
    if (on && !this.publication) {
      const outcome = this.publications.publish('m', { client, close() {} });
      assert.ok(outcome.ok);
      this.publication = outcome.publication;
    } else if (!on && this.publication) {
      this.publications.unpublish(this.publication);
      this.publication = undefined;
    }
  }

  step(event: ModelEvent): void {
    switch (event.type) {
      case 'ALLOW':
      case 'DENY': {
        if (event.type === 'ALLOW') this.setPublishing(event.publishing === true);
        this.deny = event.type === 'DENY';
        const outcome = this.publications.subscribe('m', client, recordingSink());
        if (outcome.ok) outcome.listener.start();
        return;
      }
      case 'PUBLISHED':
        return this.setPublishing(true);
      case 'UNPUBLISHED':
        return this.setPublishing(false);
      case 'KEY_FRAME':
        this.publication!.pushVideo((this.time += 40), KEY);
        return;
      case 'RESYNC':
        this.publication!.pushVideo((this.time += 40), INTER, 1);
        return;
      case 'PAUSE':
        return this.listener!.pause(true);
      case 'RESUME':
        this.setPublishing(event.publishing === true);
        return this.listener!.pause(false);
      case 'CLOSE':
        return this.publications.unsubscribe(this.listener!, true);
    }
  }
}

function unsupported(steps: Step[]): string | undefined {
  if (steps[0]?.event.type === 'CLOSE') return 'authorization is synchronous: nothing can close a listener while onSubscribe runs';
  for (let i = 0; i < steps.length; i++) {
    const { event } = steps[i]!;
    const before = i === 0 ? undefined : String(steps[i - 1]!.state.value);
    // the model may fire events the world cannot produce in that state; the real code then has no publisher
    if ((event.type === 'KEY_FRAME' || event.type === 'RESYNC') && (before === 'waiting' || before === 'paused')) {
      return `${event.type} needs a running publication, which ${before} does not have`;
    }
  }
  return undefined;
}

const seen = new Set<string>();
for (const full of [...shortest, ...edges]) {
  const path = { ...full, steps: full.steps.filter((s) => !s.event.type.startsWith('xstate.')) };
  const title = `listener model: "${String(path.state.value)}" via ${path.steps.map((s) => s.event.type + (s.event.publishing === undefined ? '' : `(${s.event.publishing})`)).join(' → ') || '(start)'}`;
  if (seen.has(title)) continue;
  seen.add(title);
  const todo = unsupported(path.steps);
  test(title, { todo }, () => {
    const driver = new Driver();
    for (const { event, state } of path.steps) {
      driver.step(event);
      const expected = JSON.stringify(state.value);
      assert.equal(JSON.stringify(driver.listener?.state), expected, `after ${event.type}`);
    }
  });
}
