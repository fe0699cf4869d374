// The Lua side of P2P over real UDP (fixture test/fixtures/p2p/www): groups, group and member objects,
// onJoinGroup / onUnjoinGroup and their per-client methods, virtual members, linked servers (two more
// in-process nodes), and onHandshake / onRendezVousUnknown redirects in every documented form, seen by a bare
// UDP requester. Also client properties read inside a coroutine resumed later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { Requester } from '../helpers/requester.ts';
import { urlEndpointDiscriminator } from '../../src/client/net-connection.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NetConnection } from '../../src/client/index.ts';
import { hex } from '../../src/bytes.ts';
import { CHUNK } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { peerEpd } from '../../src/protocols/rtmfp/rendezvous.ts';
import type { AMFObject } from '../../src/flash/amf/types.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/p2p/', import.meta.url));
import { freeTcpPort } from '../helpers/rtmp-client.ts';

const GROUP = hex(createHash('sha256').update('G:lua p2p group').digest());

/** Two linked servers that give clients 192.0.2.10:1935 and 192.0.2.12:1935 (their RTMFP.publicAddress). */
async function linkedServers(): Promise<{ ports: number[]; close(): Promise<void> }> {
  const ports = [await freeTcpPort(), await freeTcpPort()];
  const publicAddresses = ['192.0.2.10:1935', '192.0.2.12:1935'];
  const servers = await Promise.all(
    ports.map((port, i) => startTestServer({ args: [`--servers.port=${port}`, `--RTMFP.publicAddress=${publicAddresses[i]!}`] })),
  );
  return { ports, close: async () => void (await Promise.all(servers.map((s) => s.close()))) };
}

/** The fixture server, linked to two servers: the first by [servers] targets, the second added later with connect(). */
async function withServer(body: (server: TestServer, url: string) => Promise<void>): Promise<void> {
  const others = await linkedServers();
  const server = await startTestServer({ dir: FIXTURE, args: [`--servers.targets=127.0.0.1:${others.ports[0]!}`] });
  try {
    await until(() => server.server.servers.all.length === 1, 'the first server linked');
    server.server.servers.connect({ host: '127.0.0.1', port: others.ports[1]!, properties: new Map([['region', 'eu']]) });
    await until(() => server.server.servers.all.length === 2, 'the second server linked');
    await body(server, `rtmfp://127.0.0.1:${server.port}/`);
  } finally {
    await server.close();
    await others.close();
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function events(nc: NetConnection): Promise<string[]> {
  const log = (await nc.call('events'))[0];
  return Array.isArray(log) ? (log as string[]) : []; // an empty table comes as an object
}

/** Waits until the script's event log (drained on each read) has gathered `count` lines. */
async function collect(nc: NetConnection, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 200 && out.length < count; i++) {
    out.push(...(await events(nc)));
    if (out.length < count) await new Promise((r) => setTimeout(r, 10));
  }
  return out;
}

test('client properties read in a coroutine resumed by a later call are the right values', async () => {
  await withServer(async (_server, url) => {
    const nc = await NetConnection.connect(url, { args: ['probe'] });
    await nc.call('startProbe');
    const got = await nc.call('resumeProbe');
    assert.deepEqual(got, ['table', true, hex(nc.peerId), '', 'probe', 'table', 1, true, 'table', 42, true]);
    await nc.close();
  });
});

test('groups: events in order, client methods in place of the globals, group and groups objects', async () => {
  await withServer(async (_server, url) => {
    const a = await NetConnection.connect(url, { args: ['A'] });
    const b = await NetConnection.connect(url, { args: ['B', 'methods'] });
    const c = await NetConnection.connect(url, { args: ['C'] });
    const ga = a.joinGroup(GROUP);
    assert.deepEqual(await collect(a, 1), ['onJoinGroup A 1 1']);
    const gb = b.joinGroup(GROUP);
    assert.deepEqual(await collect(a, 1), ['client:onJoinGroup B 2']);
    c.joinGroup(GROUP);
    assert.deepEqual(await collect(a, 1), ['onJoinGroup C 3 3']);
    await until(() => ga.members.length === 2 && gb.members.length === 2, 'introductions');
    assert.deepEqual(new Set(ga.members), new Set([hex(b.peerId), hex(c.peerId)]));

    const info = (await a.call('groupInfo', GROUP))[0] as AMFObject;
    assert.equal(info.id, GROUP);
    assert.equal(info.size, 3);
    assert.equal(info.length, 3);
    assert.deepEqual(new Set(info.names as string[]), new Set(['A', 'B', 'C']));
    assert.equal((info.viaMethod as string).split(',').length, 3);
    assert.equal(info.byRaw, true);
    assert.equal(info.byIndex, true);
    assert.equal(info.rawLength, 32);
    assert.equal(info.count, 1);
    assert.equal(info.length2, 1);
    assert.deepEqual(info.ids, [GROUP]);
    assert.deepEqual(await a.call('groupInfo', '00'.repeat(32)), [null]);

    ga.leave();
    assert.deepEqual(await collect(b, 1), ['onUnjoinGroup A 2']);
    await b.close();
    assert.deepEqual(await collect(c, 2), ['client:onUnjoinGroup B 1', 'onDisconnection B']);
    await c.close();
    assert.deepEqual(await collect(a, 2), ['onUnjoinGroup C 0', 'onDisconnection C']);
    assert.deepEqual(await a.call('groupInfo', GROUP), [null], 'the group is gone with its last member');
    await a.close();
  });
});

test('virtual members (groups:join, mona:joinGroup) are introduced to newcomers until released', async () => {
  await withServer(async (_server, url) => {
    const admin = await NetConnection.connect(url, { args: ['admin'] });
    const x = hex(randomBytes(32));
    const y = hex(randomBytes(32));
    assert.deepEqual(await admin.call('addVirtual', x, GROUP), [x, 32]);
    assert.deepEqual(await admin.call('addVirtual', y, GROUP, true), [y, 32]);
    assert.deepEqual(await admin.call('addVirtual', 'nothex', GROUP), [false]);
    const info = (await admin.call('groupInfo', GROUP))[0] as AMFObject;
    assert.equal(info.size, 0, 'virtual members are not clients');

    const first = await NetConnection.connect(url, { args: ['first'] });
    const g1 = first.joinGroup(GROUP);
    await until(() => g1.members.length === 2, 'virtual members introduced');
    assert.deepEqual(new Set(g1.members), new Set([x, y]));

    await admin.call('releaseVirtual', x);
    const second = await NetConnection.connect(url, { args: ['second'] });
    const g2 = second.joinGroup(GROUP);
    await until(() => g2.members.length === 2, 'introductions after release');
    assert.deepEqual(new Set(g2.members), new Set([y, hex(first.peerId)]));
    await admin.call('releaseVirtual', y);
    await Promise.all([admin.close(), first.close(), second.close()]);
  });
});

test('a virtual member whose object the script dropped leaves its group when the collector takes it', async () => {
  await withServer(async (server, url) => {
    const admin = await NetConnection.connect(url, { args: ['admin'] });
    try {
      const z = hex(randomBytes(32));
      assert.deepEqual(await admin.call('addVirtual', z, GROUP), [z, 32]);
      const ring = () => (server.server.rtmfp.groups.group(GROUP)?.ring ?? []).map((m) => hex(m.rawId));
      assert.deepEqual(ring(), [z]);
      await admin.call('dropVirtual', z);
      // the seeds: "on its destruction by the LUA garbage collector"; here the JavaScript collector's
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; i < 100 && ring().includes(z); i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(ring(), [], 'released once collected');
    } finally {
      await admin.close();
    }
  });
});

test('servers: linked targets as server objects in connection order, empty initiators, broadcasts reaching both', async () => {
  await withServer(async (server, url) => {
    const nc = await NetConnection.connect(url, { args: ['S'] });
    const got = await nc.call('servers');
    const [first, second] = server.server.servers.all.map((s) => s.port);
    assert.deepEqual(got, [
      2,
      2,
      0,
      2,
      [`127.0.0.1:${first}|192.0.2.10:1935|127.0.0.1|${first}|true`, `127.0.0.1:${second}|192.0.2.12:1935|127.0.0.1|${second}|true`],
      true,
      'eu',
      'eu',
      2,
    ]);
    await nc.close();
  });
});

test('onHandshake: each returned form redirects; nothing answers normally', async () => {
  await withServer(async (server, url) => {
    const r = await Requester.open();
    const self = `127.0.0.1:${server.port}`;
    try {
      const hello = (form: string) => r.hello(server.port, urlEndpointDiscriminator(`${url}?form=${form}`));
      assert.deepEqual(await hello('one'), ['192.0.2.1:1935']);
      assert.deepEqual(await hello('several'), ['192.0.2.1:1935', '192.0.2.2:1936']);
      assert.deepEqual(await hello('array'), ['192.0.2.3:1935', '192.0.2.4:1935']);
      assert.deepEqual(await hello('server'), ['192.0.2.12:1935'], 'a server object: its public address');
      assert.deepEqual(await hello('servers'), ['192.0.2.10:1935', '192.0.2.12:1935']);
      assert.deepEqual(await hello('targets'), ['192.0.2.10:1935', '192.0.2.12:1935']);
      assert.deepEqual(await hello('again'), ['192.0.2.10:1935', '192.0.2.12:1935', self]);
      assert.deepEqual(await hello('myself'), ['192.0.2.10:1935', '192.0.2.12:1935', self]);
      assert.deepEqual(await hello('nothing'), [`chunk ${CHUNK.RHELLO}`]);
      const nc = await NetConnection.connect(url);
      try {
        await nc.call('events');
        await nc.call('monaHandshake');
        assert.deepEqual(await hello('one'), ['192.0.2.1:1935'], 'onHandshake(protocol, address, path, properties, attempts)');
        assert.deepEqual(await nc.call('events'), [['onHandshake RTMFP string [] 1']]);
      } finally {
        await nc.close();
      }
    } finally {
      r.close();
    }
  });
});

test('a NetConnection sees the Redirect status during its handshake', async () => {
  await withServer(async (_server, url) => {
    const seen: AMFObject[] = [];
    const emit = NetConnection.prototype.emit;
    NetConnection.prototype.emit = function (this: NetConnection, ...args: Parameters<typeof emit>) {
      if (args[0] === 'status') seen.push(args[1]);
      return emit.apply(this, args);
    };
    try {
      await assert.rejects(NetConnection.connect(`${url}?form=several`, { timeoutMs: 300 }), /timed out/);
    } finally {
      NetConnection.prototype.emit = emit;
    }
    assert.deepEqual(seen[0], { code: 'NetConnection.Connect.Redirect', addresses: ['192.0.2.1:1935', '192.0.2.2:1936'] });
  });
});

test('onRendezVousUnknown: Cumulus (peerId) and Mona (protocol, peerId) signatures, every returned form', async () => {
  await withServer(async (server, url) => {
    const nc = await NetConnection.connect(url, { args: ['R'] });
    const r = await Requester.open();
    try {
      const unknown = randomBytes(32);
      const ask = () => r.hello(server.port, peerEpd(unknown));
      for (const style of ['cumulus', 'mona']) {
        await nc.call('rendezvous', style, 'nothing');
        assert.equal(await ask(), undefined, 'nothing returned: no answer');
        const heard = await events(nc);
        assert.deepEqual(heard, [
          style === 'mona' ? `onRendezVousUnknown RTMFP 32 ${hex(unknown)}` : `onRendezVousUnknown 32 ${hex(unknown)}`,
        ]);
        const expected: Record<string, string[]> = {
          one: ['192.0.2.1:1935'],
          several: ['192.0.2.1:1935', '192.0.2.2:1936'],
          array: ['192.0.2.3:1935', '192.0.2.4:1935'],
          server: ['192.0.2.12:1935'],
          servers: ['192.0.2.10:1935', '192.0.2.12:1935'],
          again: ['192.0.2.10:1935', '192.0.2.12:1935', `127.0.0.1:${server.port}`],
        };
        for (const [form, addresses] of Object.entries(expected)) {
          await nc.call('rendezvous', style, form);
          assert.deepEqual(await ask(), addresses, `${style} ${form}`);
        }
        await events(nc);
      }
      // a connected peer id is introduced by the server itself, the script is not asked
      await nc.call('rendezvous', 'cumulus', 'one');
      const other = await NetConnection.connect(url, { args: ['other'] });
      const answer = await r.hello(server.port, peerEpd(other.peerId));
      assert.ok(answer && !answer.includes('192.0.2.1:1935'));
      assert.deepEqual(await events(nc), []);
      await other.close();
    } finally {
      r.close();
      await nc.close();
    }
  });
});
