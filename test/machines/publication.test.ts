// Model-based test of the publication lifecycle: shortest paths and every edge of machines/publication.ts,
// replayed on a real Publication through the Publications registry. The registry decides PUBLISH and
// ALLOW/DENY in one call (onPublish runs in between), so the driver checks `authorizing` from inside onPublish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { publicationMachine, type PublicationEvent } from '../../machines/publication.ts';
import { Publications } from '../../src/core/media/publications.ts';
import type { Listener, Publication } from '../../src/core/media/publication.ts';
import type { ClientPort } from '../../src/core/ports.ts';
import { modelOf } from '../helpers/pair.ts';
import { recordingSink } from '../media/helpers.ts';

type Snap = ReturnType<typeof publicationMachine.transition>;
type Step = { event: PublicationEvent; state: Snap };

const model = modelOf(publicationMachine, {});
const events: PublicationEvent[] = [
  { type: 'PUBLISH', publisherId: '07'.repeat(32) },
  { type: 'ALLOW' },
  { type: 'DENY', reason: 'Not allowed to publish m' },
  { type: 'UNPUBLISH' },
  { type: 'CLOSE' },
];
const traversal = { events, serializeState: (s: Snap) => JSON.stringify(s.value) };
const shortest = getShortestPaths(model, traversal as never) as unknown as Array<{ steps: Step[]; state: Snap }>;
const byState = new Map(shortest.map((p) => [traversal.serializeState(p.state), p]));
const edges: Array<{ steps: Step[]; state: Snap }> = [];
const adjacency = getAdjacencyMap(model, traversal as never) as unknown as Record<
  string,
  { state: Snap; transitions: Record<string, { event: PublicationEvent; state: Snap }> }
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

class Driver {
  readonly publications = new Publications();
  publication: Publication | undefined;
  /** a waiting listener keeps the idle name alive; unsubscribing it releases the name (CLOSE) */
  private readonly keeper: Listener;
  private verdict: 'ALLOW' | 'DENY' = 'ALLOW';

  constructor() {
    this.publications.events = {
      onPublish: (_client, publication) => {
        assert.equal(publication.state, 'authorizing');
        assert.equal(publication.publisherId, '07'.repeat(32));
        return this.verdict === 'ALLOW' ? { allowed: true } : { allowed: false };
      },
      onUnpublish() {},
      onSubscribe: () => ({ allowed: true }),
      onUnsubscribe() {},
    };
    const outcome = this.publications.subscribe('m', undefined, recordingSink());
    assert.ok(outcome.ok);
    this.keeper = outcome.listener;
    this.publication = outcome.listener.publication;
  }

  /** PUBLISH is played together with the decision that follows it (or ALLOW when the path ends there). */
  run(steps: Step[]): void {
    for (let i = 0; i < steps.length; i++) {
      const { event, state } = steps[i]!;
      switch (event.type) {
        case 'PUBLISH': {
          const next = steps[i + 1]?.event.type;
          this.verdict = next === 'DENY' ? 'DENY' : 'ALLOW';
          const outcome = this.publications.publish('m', { client, close() {} });
          assert.equal(outcome.ok, this.verdict === 'ALLOW');
          if (next === 'ALLOW' || next === 'DENY') i++;
          else return; // path ends in authorizing, verified inside onPublish
          break;
        }
        case 'UNPUBLISH':
          this.publications.unpublish(this.publication!);
          break;
        case 'CLOSE':
          this.publications.unsubscribe(this.keeper, false);
          break;
        default:
          throw new Error(`${event.type} cannot be driven on its own`);
      }
      assert.equal(this.publication!.state, String(steps[i]!.state.value), `after ${event.type}`);
      void state;
    }
  }
}

function unsupported(steps: Step[]): string | undefined {
  for (let i = 0; i < steps.length; i++) {
    const before = i === 0 ? 'idle' : String(steps[i - 1]!.state.value);
    const type = steps[i]!.event.type;
    if (type === 'CLOSE' && before !== 'idle') return `the registry releases a name only when idle, never from ${before}`;
  }
  return undefined;
}

const seen = new Set<string>();
for (const full of [...shortest, ...edges]) {
  const path = { ...full, steps: full.steps.filter((s) => !s.event.type.startsWith('xstate.')) };
  const title = `publication model: "${String(path.state.value)}" via ${path.steps.map((s) => s.event.type).join(' → ') || '(start)'}`;
  if (seen.has(title)) continue;
  seen.add(title);
  test(title, { todo: unsupported(path.steps) }, () => {
    new Driver().run(path.steps);
  });
}
