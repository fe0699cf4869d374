// NetGroup bootstrap over UDP: TypeScript clients join one group through GC flows, the server introduces
// ring neighbours both ways, leaving re-links the others, scripts' virtual members are introduced, and the
// application hears onJoinGroup / onUnjoinGroup in order, before onDisconnection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestServer } from '../helpers/server.ts';
import { NetConnection } from '../../src/client/net-connection.ts';
import type { NetGroup } from '../../src/client/group.ts';
import { acceptAll, type ApplicationPort, type ClientPort, type GroupPort } from '../../src/core/ports.ts';
import { RING_SIDE, groupAddress } from '../../src/protocols/rtmfp/groups.ts';
import { hex } from '../../src/bytes.ts';

const GROUP_ID = createHash('sha256').update('G:nimbus test group').digest();

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** What each member should have been told, replaying the registry's rule on the ring (docs/p2p.md). */
function nearestOnRing(ids: string[], id: string): string[] {
  const key = (x: string) => hex(groupAddress(Buffer.from(x, 'hex')));
  const ring = [...ids].sort((x, y) => (key(x) < key(y) ? -1 : 1));
  const at = ring.indexOf(id);
  const out: string[] = [];
  for (let step = 1; step <= RING_SIDE && step < ring.length; step++) {
    for (const i of [(at + step) % ring.length, (at - step + ring.length) % ring.length]) {
      if (ring[i] !== id && !out.includes(ring[i]!)) out.push(ring[i]!);
    }
  }
  return out;
}

function recordingApplication(log: string[]): ApplicationPort {
  const name = (client: ClientPort) => hex(client.rawId).slice(0, 6);
  return {
    ...acceptAll,
    onJoinGroup: (client: ClientPort, group: GroupPort) => void log.push(`join ${name(client)} ${group.id.slice(0, 6)} ${group.size}`),
    onUnjoinGroup: (client: ClientPort, group: GroupPort) => void log.push(`unjoin ${name(client)} ${group.id.slice(0, 6)} ${group.size}`),
    onDisconnection: (client: ClientPort) => void log.push(`disconnect ${name(client)}`),
  };
}

test('clients joining one group learn their ring neighbours; leaving re-links the others', async () => {
  const log: string[] = [];
  const server = await startTestServer({ application: recordingApplication(log) });
  const url = `rtmfp://127.0.0.1:${server.port}/app`;
  const clients: NetConnection[] = [];
  const groups: NetGroup[] = [];
  try {
    for (let i = 0; i < 9; i++) clients.push(await NetConnection.connect(url));
    const ids = clients.map((c) => hex(c.peerId));
    for (let i = 0; i < clients.length; i++) {
      groups.push(clients[i]!.joinGroup(GROUP_ID));
      const joined = ids.slice(0, i + 1);
      // a join is complete when everyone has heard what the rule says (introductions only add)
      await until(
        () => joined.every((id, k) => nearestOnRing(joined, id).every((n) => groups[k]!.members.includes(n))),
        `introductions after join ${i + 1}`,
      );
    }
    // nobody heard of a peer that was never one of its nearest at some point, nor of itself
    for (let k = 0; k < clients.length; k++) {
      assert.ok(!groups[k]!.members.includes(ids[k]!));
      assert.ok(groups[k]!.members.length <= clients.length - 1);
    }
    const group = server.server.rtmfp.groups.group(GROUP_ID)!;
    assert.equal(group.size, 9);
    assert.equal(server.server.rtmfp.groups.count, 1);

    // one member leaves (its GC flow ends): its former neighbours learn their new nearest
    const leaver = 4;
    groups[leaver]!.leave();
    const rest = ids.filter((_, k) => k !== leaver);
    await until(() => group.size === 8, 'the leave');
    await until(
      () => rest.every((id) => nearestOnRing(rest, id).every((n) => groups[ids.indexOf(id)]!.members.includes(n))),
      're-link after the leave',
    );
    assert.ok(log.includes(`unjoin ${ids[leaver]!.slice(0, 6)} ${hex(GROUP_ID).slice(0, 6)} 8`));
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
  // every join in order, then on disconnection each unjoin comes right before its disconnection
  const joins = log.filter((l) => l.startsWith('join'));
  assert.equal(joins.length, 9);
  assert.deepEqual(
    joins.map((l) => Number(l.split(' ')[3])),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  for (let i = 0; i < log.length; i++) {
    if (!log[i]!.startsWith('disconnect')) continue;
    const who = log[i]!.split(' ')[1]!;
    const unjoin = log.findIndex((l) => l.startsWith(`unjoin ${who}`));
    assert.ok(unjoin >= 0 && unjoin < i, `unjoin of ${who} before its disconnection`);
  }
  assert.equal(server.server.rtmfp.groups.count, 0, 'the group went with its last member');
});

test('a virtual member added by the script is introduced to newcomers until released', async () => {
  const server = await startTestServer();
  const url = `rtmfp://127.0.0.1:${server.port}/app`;
  const virtualId = createHash('sha256').update('a peer on another server').digest();
  const member = server.server.rtmfp.groups.join(hex(virtualId), GROUP_ID)!;
  const a = await NetConnection.connect(url);
  const b = await NetConnection.connect(url);
  try {
    const ga = a.joinGroup(GROUP_ID);
    await until(() => ga.members.includes(hex(virtualId)), 'the virtual member introduced');
    member.release();
    const gb = b.joinGroup(hex(GROUP_ID));
    await until(() => gb.members.includes(hex(a.peerId)), 'the real member introduced');
    assert.deepEqual(gb.members, [hex(a.peerId)]);
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

test('two members of a group open a direct session to each other from the introduction', async () => {
  const server = await startTestServer();
  const url = `rtmfp://127.0.0.1:${server.port}/app`;
  const a = await NetConnection.connect(url);
  const b = await NetConnection.connect(url);
  try {
    a.joinGroup(GROUP_ID);
    const gb = b.joinGroup(GROUP_ID);
    const [peerId] = await new Promise<[Uint8Array]>((resolve) => gb.once('member', (id) => resolve([id])));
    assert.equal(hex(peerId), hex(a.peerId));
    const incoming = new Promise<string>((resolve) => a.peers.once('peer', (p) => p.once('invocation', (name) => resolve(name))));
    const toA = await b.connectToPeer(peerId);
    toA.send('groupHello');
    assert.equal(await incoming, 'groupHello');
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});
