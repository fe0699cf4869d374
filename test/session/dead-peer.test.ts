// Dead peers on a real server: the project's TS client vanishes (its socket closes without a word) and the server
// fails its session `[RTMFP] timeout` seconds after its last packet, runs onDisconnection at that moment and releases
// its publications and listeners then, not a closeTimeout later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { player, publisher, until } from '../streams/helpers.ts';
import { acceptAll, type ApplicationPort, type ClientPort } from '../../src/core/ports.ts';
import { loadConfig } from '../../src/config.ts';
import type { NetConnection } from '../../src/client/index.ts';

const TIMEOUT_S = 2;

interface Departure {
  client: ClientPort;
  at: number;
  failedBefore: boolean;
  publishing: boolean | undefined;
  listeners: number | undefined;
}

test('[RTMFP] timeout defaults to 20 s', () => {
  const { config } = loadConfig([], { cwd: process.cwd(), env: {} });
  assert.equal(config.rtmfp.timeout, 20);
});

test(
  'a vanished publisher: onDisconnection runs when its session fails, its publication is released then',
  { timeout: 30_000 },
  async () => {
    const departures: Departure[] = [];
    const failed = new Set<ClientPort>();
    const ref: { server?: Awaited<ReturnType<typeof startTestServer>> } = {};
    const application: ApplicationPort = {
      ...acceptAll,
      onFailed: (client: ClientPort) => void failed.add(client),
      onDisconnection: (client: ClientPort) => {
        const publication = ref.server?.server.core.publications.get('vanish');
        departures.push({
          client,
          at: performance.now(),
          failedBefore: failed.has(client),
          publishing: publication?.running,
          listeners: publication?.listeners.size,
        });
      },
    };
    const server = await startTestServer({ application, args: [`--RTMFP.timeout=${TIMEOUT_S}`] });
    ref.server = server;
    const clients: NetConnection[] = [];
    try {
      const pub = await publisher(server.port, 'vanish');
      clients.push(pub.nc);
      const watcher = await player(server.port, 'vanish');
      clients.push(watcher.nc);
      pub.stream.sendAudio(0, Uint8Array.of(0xaf, 0x01, 1, 2, 3));
      await until(() => watcher.media.length > 0, 'the player receiving');
      // the publisher vanishes: no close, no further packet
      pub.nc.destroy('vanished');
      const vanished = performance.now();
      await until(() => departures.length > 0, 'onDisconnection', TIMEOUT_S * 1000 + 3_000);
      const departure = departures[0]!;
      assert.equal(departures.length, 1, 'only the vanished client left');
      const after = departure.at - vanished;
      assert.ok(
        after >= TIMEOUT_S * 1000 - 300 && after <= TIMEOUT_S * 1000 + 1_000,
        `onDisconnection ${Math.round(after)} ms after the last packet`,
      );
      assert.equal(departure.failedBefore, true, 'onFailed, then onDisconnection at the same moment');
      assert.notEqual(departure.publishing, true, 'the publication was stopped before onDisconnection');
      await until(() => watcher.statuses.includes('NetStream.Play.UnpublishNotify'), 'the player told of the unpublish', 2_000);
      // the player is still there and healthy
      assert.equal(server.server.core.publications.get('vanish')?.listeners.size ?? 1, 1);
    } finally {
      for (const nc of clients) nc.destroy();
      await server.close();
    }
  },
);

test('a vanished player: its listener is released when its session fails', { timeout: 30_000 }, async () => {
  const server = await startTestServer({ args: [`--RTMFP.timeout=${TIMEOUT_S}`] });
  const clients: NetConnection[] = [];
  try {
    const pub = await publisher(server.port, 'stays');
    clients.push(pub.nc);
    const gone = await player(server.port, 'stays');
    const kept = await player(server.port, 'stays');
    clients.push(gone.nc, kept.nc);
    const publication = server.server.core.publications.get('stays')!;
    assert.equal(publication.listeners.size, 2);
    const sessions = server.server.rtmfp.sessions;
    const before = sessions.size;
    gone.nc.destroy('vanished');
    const vanished = performance.now();
    // the publisher keeps sending: the server's writers to the vanished player get no acks, nothing is heard
    const feeding = setInterval(() => pub.stream.sendAudio(Math.round(performance.now()), Uint8Array.of(0xaf, 0x01, 9, 9)), 50);
    try {
      await until(() => publication.listeners.size === 1, 'the listener released', TIMEOUT_S * 1000 + 3_000);
    } finally {
      clearInterval(feeding);
    }
    const after = performance.now() - vanished;
    assert.ok(after <= TIMEOUT_S * 1000 + 1_000, `released ${Math.round(after)} ms after the last packet`);
    assert.equal(sessions.size, before, 'the failed session is still in its close dialogue, yet released everything');
    const heard = kept.media.length;
    pub.stream.sendAudio(Math.round(performance.now()), Uint8Array.of(0xaf, 0x01, 7, 7));
    await until(() => kept.media.length > heard, 'the other player still served', 2_000);
  } finally {
    for (const nc of clients) nc.destroy();
    await server.close();
  }
});
