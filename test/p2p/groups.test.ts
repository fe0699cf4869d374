// The NetGroup registry (RTMFP.md §6.6): ring order, who is introduced to whom on join and leave, virtual
// members, application events and their order, the GC join message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GroupRegistry, RING_SIDE, groupAddress, memberMessage, readJoin, type MemberChannel } from '../../src/protocols/rtmfp/groups.ts';
import { encodeJoin } from '../../src/client/group.ts';
import type { ClientPort } from '../../src/core/ports.ts';
import { hex } from '../../src/bytes.ts';

const GROUP = new Uint8Array(32).fill(0x47);

interface FakeClient {
  client: ClientPort;
  channel: MemberChannel & { heard: string[]; closed: boolean };
}

function fake(n: number): FakeClient {
  const rawId = createHash('sha256').update(`peer ${n}`).digest();
  const client = { rawId: new Uint8Array(rawId), name: `c${n}` } as unknown as ClientPort;
  const channel = {
    heard: [] as string[],
    closed: false,
    introduce(peerId: Uint8Array) {
      this.heard.push(hex(peerId));
    },
    close() {
      this.closed = true;
    },
  };
  return { client, channel };
}

/** peer ids (hex) in ring order */
function ringOrder(clients: FakeClient[]): string[] {
  return clients
    .map((c) => ({ id: hex(c.client.rawId), key: hex(groupAddress(c.client.rawId)) }))
    .sort((x, y) => (x.key < y.key ? -1 : 1))
    .map((x) => x.id);
}

/** what the registry should pick: up to RING_SIDE on each side, wrapping, alternately after/before */
function expectedNearest(ring: string[], id: string): string[] {
  const at = ring.indexOf(id);
  const out: string[] = [];
  for (let step = 1; step <= RING_SIDE && step < ring.length; step++) {
    for (const i of [(at + step) % ring.length, (at - step + ring.length) % ring.length]) {
      if (ring[i] !== id && !out.includes(ring[i]!)) out.push(ring[i]!);
    }
  }
  return out;
}

test('join message: raw id (0x15), hashed id (0x10), other messages', () => {
  assert.equal(hex(encodeJoin(GROUP)), '012115' + hex(GROUP));
  assert.deepEqual(readJoin(encodeJoin(GROUP)), GROUP);
  const old = Uint8Array.of(0x01, 0x04, 0x10, 0x61, 0x62, 0x63);
  assert.equal(hex(readJoin(old)!), createHash('sha256').update('abc').digest('hex'));
  assert.equal(readJoin(Uint8Array.of(0x0b, 1, 2)), undefined);
  assert.throws(() => readJoin(Uint8Array.of(0x01, 0x30, 0x15, 1)));
  assert.equal(hex(memberMessage(GROUP)), '0b' + hex(GROUP));
});

test('a newcomer learns its ring neighbours and they learn about it', () => {
  const registry = new GroupRegistry();
  const clients = Array.from({ length: 10 }, (_, i) => fake(i));
  const joined: FakeClient[] = [];
  for (const c of clients) {
    const before = new Map(joined.map((j) => [j, j.channel.heard.length]));
    registry.open(c.client, c.channel).join(GROUP);
    joined.push(c);
    const ring = ringOrder(joined);
    const id = hex(c.client.rawId);
    const nearest = expectedNearest(ring, id);
    assert.deepEqual(c.channel.heard, nearest, `member ${joined.length} learns its nearest`);
    assert.ok(nearest.length <= 2 * RING_SIDE);
    for (const other of joined.slice(0, -1)) {
      const news = other.channel.heard.slice(before.get(other));
      assert.deepEqual(news, nearest.includes(hex(other.client.rawId)) ? [id] : [], 'neighbours hear of the newcomer');
    }
  }
  const group = registry.group(GROUP)!;
  assert.equal(group.size, 10);
  assert.equal(registry.count, 1);
  assert.equal(registry.group(hex(GROUP)), group);
  assert.equal(registry.group(hex(GROUP).toUpperCase()), group);
  assert.deepEqual(
    group.ring.map((m) => m.id),
    ringOrder(clients),
  );
});

test("a leaver is replaced in its neighbours' views by the members that become nearest", () => {
  const registry = new GroupRegistry();
  const clients = Array.from({ length: 9 }, (_, i) => fake(i));
  const members = clients.map((c) => registry.open(c.client, c.channel));
  for (const m of members) m.join(GROUP);
  const ring = ringOrder(clients);
  const leaver = clients[4]!;
  const leaverId = hex(leaver.client.rawId);
  const knownBefore = new Map(clients.map((c) => [c, new Set(c.channel.heard)]));
  const marks = new Map(clients.map((c) => [c, c.channel.heard.length]));
  members[4]!.leave('test');
  assert.ok(leaver.channel.closed, 'its GC writer is finished');
  const after = ring.filter((id) => id !== leaverId);
  for (const c of clients) {
    if (c === leaver) continue;
    const id = hex(c.client.rawId);
    const news = c.channel.heard.slice(marks.get(c));
    const wasNeighbour = expectedNearest(ring, leaverId).includes(id);
    const gained = expectedNearest(after, id).filter((n) => !expectedNearest(ring, id).includes(n));
    assert.deepEqual(news, wasNeighbour ? gained : [], `re-link of ${id.slice(0, 8)}`);
    for (const n of expectedNearest(after, id)) {
      if (wasNeighbour) assert.ok(knownBefore.get(c)!.has(n) || news.includes(n), 'each neighbour knows its nearest again');
    }
  }
  assert.equal(registry.group(GROUP)!.size, 8);
});

test('virtual members are introduced like real ones until released; the empty group goes', () => {
  const registry = new GroupRegistry();
  const virtualId = new Uint8Array(32).fill(0x99);
  const member = registry.join(hex(virtualId), hex(GROUP))!;
  assert.ok(member);
  assert.equal(member.id, hex(virtualId));
  assert.equal(registry.group(GROUP)!.size, 0, 'size counts clients only');
  assert.equal(registry.count, 1);
  const a = fake(1);
  registry.open(a.client, a.channel).join(GROUP);
  assert.deepEqual(a.channel.heard, [hex(virtualId)]);
  member.release();
  member.release();
  const b = fake(2);
  registry.open(b.client, b.channel).join(GROUP);
  assert.deepEqual(b.channel.heard, [hex(a.client.rawId)], 'released: no longer introduced');
  assert.equal(registry.join('nothex', GROUP), null);
  assert.equal(registry.join(virtualId, new Uint8Array(31)), null);
  registry.leaveAll(a.client);
  registry.leaveAll(b.client);
  assert.equal(registry.count, 0);
  assert.equal(registry.group(GROUP), undefined);
});

test('onJoinGroup / onUnjoinGroup: once each, in order, with the group as it is then', () => {
  const log: string[] = [];
  const registry = new GroupRegistry({
    onJoin: (client, group) => log.push(`join ${(client as unknown as { name: string }).name} size=${group.size}`),
    onUnjoin: (client, group) => log.push(`unjoin ${(client as unknown as { name: string }).name} size=${group.size}`),
  });
  const a = fake(1);
  const b = fake(2);
  const ma = registry.open(a.client, a.channel);
  const mb = registry.open(b.client, b.channel);
  mb.leave('flow ended before its join'); // nothing to tell anyone
  const mb2 = registry.open(b.client, b.channel);
  ma.join(GROUP);
  assert.equal(ma.join(GROUP), false, 'a second join message is ignored');
  mb2.join(GROUP);
  mb2.leave('flow end');
  mb2.leave('again');
  registry.leaveAll(a.client);
  registry.leaveAll(a.client);
  assert.deepEqual(log, ['join c1 size=1', 'join c2 size=2', 'unjoin c2 size=1', 'unjoin c1 size=0']);
  assert.deepEqual(registry.membersOf(a.client), []);
});
