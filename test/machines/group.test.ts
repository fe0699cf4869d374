// Model-based test of NetGroup membership: every path through machines/group.ts (and every edge out of each
// reachable state) replayed on a real GroupRegistry member, checking the ring, the application events and the
// member's channel after each step; then random interleavings of several members against the same invariants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { membershipMachine, type MembershipEvent } from '../../machines/group.ts';
import { GroupRegistry, type Member } from '../../src/protocols/rtmfp/groups.ts';
import type { ClientPort } from '../../src/core/ports.ts';
import { hex } from '../../src/bytes.ts';

type Snap = ReturnType<typeof membershipMachine.transition>;
type Step = { event: MembershipEvent; state: Snap };

const GROUP = new Uint8Array(32).fill(7);
const events: MembershipEvent[] = [{ type: 'JOIN' }, { type: 'LEAVE', reason: 'flow end' }];
const traversal = { input: { key: 0 }, events, serializeState: (s: Snap) => JSON.stringify(s.value) };
const shortest = getShortestPaths(membershipMachine, traversal) as Array<{ steps: Step[]; state: Snap }>;
const byState = new Map(shortest.map((p) => [traversal.serializeState(p.state), p]));
const paths = [...shortest];
for (const [key, { state, transitions }] of Object.entries(getAdjacencyMap(membershipMachine, traversal))) {
  const prefix = byState.get(key);
  if (!prefix || (state as Snap).status !== 'active') continue;
  for (const { event, state: next } of Object.values<{ event: MembershipEvent; state: Snap }>(transitions)) {
    // edges already walked by a shortest path are not repeated
    if (
      shortest.some(
        (p) =>
          p.steps.length === prefix.steps.length + 1 &&
          JSON.stringify(p.steps.at(-1)!.event) === JSON.stringify(event) &&
          p.steps.slice(0, -1).every((s, i) => JSON.stringify(s.event) === JSON.stringify(prefix.steps[i]!.event)),
      )
    )
      continue;
    paths.push({ steps: [...prefix.steps, { event, state: next }], state: next });
  }
}

const clients = new Map<number, ClientPort>();
/** one ClientPort per number: the registry keys memberships by client identity */
function client(n: number): ClientPort {
  let c = clients.get(n);
  if (!c) {
    const rawId = new Uint8Array(32);
    rawId[0] = n;
    rawId[31] = n * 37;
    clients.set(n, (c = { rawId } as unknown as ClientPort));
  }
  return c;
}

class World {
  readonly log: string[] = [];
  readonly registry = new GroupRegistry({
    onJoin: (c) => this.log.push(`join ${c.rawId[0]}`),
    onUnjoin: (c) => this.log.push(`unjoin ${c.rawId[0]}`),
  });
  readonly heard = new Map<number, string[]>();
  readonly closed = new Set<number>();

  open(n: number): Member {
    this.heard.set(n, []);
    return this.registry.open(client(n), {
      introduce: (peerId) => this.heard.get(n)!.push(hex(peerId)),
      close: () => this.closed.add(n),
    });
  }

  apply(member: Member, event: MembershipEvent): void {
    if (event.type === 'JOIN') member.join(GROUP);
    else member.leave(event.reason);
  }

  /** what must hold whatever happened */
  check(members: Map<number, Member>): void {
    const group = this.registry.group(GROUP);
    const onRing = new Set(group?.ring.map((m) => m.client!.rawId[0]) ?? []);
    for (const [n, m] of members) {
      assert.equal(onRing.has(n), m.state === 'member', `member ${n} on the ring iff joined`);
      assert.equal(this.closed.has(n), m.state === 'left', `channel of ${n} closed iff left`);
      const joins = this.log.filter((l) => l === `join ${n}`).length;
      const unjoins = this.log.filter((l) => l === `unjoin ${n}`).length;
      assert.ok(joins <= 1 && unjoins <= joins, `member ${n}: one join, then at most one unjoin`);
      if (m.state === 'member') assert.equal(unjoins, 0);
      if (this.log.includes(`unjoin ${n}`)) assert.ok(this.log.indexOf(`join ${n}`) < this.log.indexOf(`unjoin ${n}`));
    }
    if (group) {
      const keys = group.ring.map((m) => hex(m.ringKey));
      assert.deepEqual(keys, [...keys].sort(), 'ring ordered by group address');
      assert.equal(group.size, onRing.size);
    } else {
      assert.equal(onRing.size, 0);
    }
  }
}

for (const path of paths) {
  const steps = path.steps.slice(1);
  const name = `${JSON.stringify(path.state.value)} via ${steps.map((s) => s.event.type).join(' → ') || 'start'}`;
  test(`membership model: ${name}`, () => {
    const world = new World();
    const other = world.open(1);
    other.join(GROUP); // someone to be introduced to
    const member = world.open(2);
    const members = new Map([
      [1, other],
      [2, member],
    ]);
    for (const [index, step] of steps.entries()) {
      world.apply(member, step.event);
      assert.equal(JSON.stringify(member.actor.getSnapshot().value), JSON.stringify(step.state.value), `after step ${index + 1}`);
      world.check(members);
    }
    const everJoined = steps.some((s) => s.event.type === 'JOIN' && s.state.value === 'member');
    assert.equal(world.heard.get(2)!.includes(hex(client(1).rawId)), everJoined, 'introduced to the other member iff it joined');
    assert.equal(world.heard.get(1)!.includes(hex(client(2).rawId)), everJoined, 'the other member heard of it iff it joined');
    // after the final state nothing moves any more
    if (path.state.status === 'done') {
      const before = [...world.log];
      for (const event of events) world.apply(member, event);
      assert.deepEqual(world.log, before);
      world.check(members);
    }
  });
}

test('membership model covers every state', () => {
  assert.deepEqual(new Set(paths.map((p) => p.state.value)), new Set(['joining', 'member', 'left']));
});

test('random interleavings of several members keep the invariants', () => {
  const action = fc.record({ who: fc.integer({ min: 1, max: 6 }), what: fc.constantFrom('open', 'join', 'leave', 'leaveAll') });
  fc.assert(
    fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
      const world = new World();
      const members = new Map<number, Member>();
      for (const { who, what } of actions) {
        const m = members.get(who);
        if (what === 'open' && !m) members.set(who, world.open(who));
        else if (what === 'join' && m) m.join(GROUP);
        else if (what === 'leave' && m) m.leave('flow end');
        else if (what === 'leaveAll' && m) world.registry.leaveAll(client(who));
        world.check(members);
      }
      // introductions only ever name members of the group, never the member itself
      for (const [n, heard] of world.heard) {
        assert.ok(!heard.includes(hex(client(n).rawId)));
      }
    }),
    { numRuns: 300 },
  );
});
