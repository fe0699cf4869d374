// /metrics and the JSON API on the inspector's HTTP server, with no page open, against real RTMFP clients:
// what they report follows what the clients do, and the actions disconnect a client and end a publication.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { hex } from '../../src/bytes.ts';
import { startTestServer } from '../helpers/server.ts';
import { connect, player, publisher, until } from '../streams/helpers.ts';
import { appDir } from './helpers.ts';

const TOKEN = 'op-secret';
const GROUP = hex(createHash('sha256').update('G:ops metrics group').digest());

/** A Prometheus sample's value, summed over the series whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => have[key] === value)) {
      total += Number(match[3]);
      found = true;
    }
  }
  return found ? total : NaN;
}

test('/metrics and /api/v1 follow real clients; POST actions close a client and a publication', async (t) => {
  const lua = 'function onConnection(client)\n  function client:boom() error("boom") end\nend\n';
  const dir = appDir(t, '', { 'www/live/main.lua': lua });
  const server = await startTestServer({ dir, args: ['--inspector.enabled=true', '--inspector.port=0', `--inspector.token=${TOKEN}`] });
  t.after(() => server.close());
  const inspector = server.server.inspector!;
  const base = `http://127.0.0.1:${inspector.address.port}`;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = async (path: string): Promise<Response> => fetch(`${base}${path}`, { headers: auth });
  const json = async (path: string): Promise<{ count: number; items: Array<Record<string, unknown>> }> => {
    const response = await get(path);
    assert.equal(response.status, 200, path);
    return (await response.json()) as { count: number; items: Array<Record<string, unknown>> };
  };
  const metrics = async (): Promise<string> => {
    const response = await get('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  // the token is asked for, as for the page
  assert.equal((await fetch(`${base}/metrics`)).status, 403);
  assert.equal((await fetch(`${base}/api/v1/clients`)).status, 403);
  assert.equal((await fetch(`${base}/metrics?token=${TOKEN}`)).status, 200);

  const idle = await metrics();
  assert.equal(sample(idle, 'nimbus_clients'), 0);
  assert.ok(sample(idle, 'nimbus_nodejs_eventloop_lag_seconds') >= 0, 'event-loop lag');
  assert.ok(sample(idle, 'nimbus_process_resident_memory_bytes') > 0, 'memory');

  const pub = await publisher(server.port, 'cam');
  t.after(() => pub.nc.close());
  const play = await player(server.port, 'cam');
  t.after(() => play.nc.close());
  for (let i = 0; i < 20; i++) pub.stream.sendAudio(i * 20, Uint8Array.of(0xaf, 0x01, ...new Array<number>(200).fill(i)));
  await until(() => play.media.length >= 20, 'media relayed');
  const member = await connect(server.port);
  t.after(() => member.close());
  member.joinGroup(GROUP);
  await until(() => server.server.rtmfp.groups.count === 1, 'group joined');
  await assert.rejects(pub.nc.call('boom'));
  const garbage = dgram.createSocket('udp4');
  t.after(() => garbage.close());
  garbage.send(Uint8Array.of(1, 2, 3), server.port, '127.0.0.1');

  await until(() => server.server.core.clientCount === 3, 'three clients');
  let text = '';
  await (async () => {
    const end = Date.now() + 5_000;
    for (;;) {
      text = await metrics();
      if (sample(text, 'nimbus_malformed_total', { cause: 'session-id' }) === 1 || Date.now() > end) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  assert.equal(sample(text, 'nimbus_malformed_total', { protocol: 'RTMFP', cause: 'session-id' }), 1);
  assert.equal(sample(text, 'nimbus_clients'), 3);
  assert.equal(sample(text, 'nimbus_sessions', { protocol: 'RTMFP' }), 3);
  assert.equal(sample(text, 'nimbus_sessions_opened_total', { protocol: 'RTMFP' }), 3);
  assert.equal(sample(text, 'nimbus_publications'), 1);
  assert.equal(sample(text, 'nimbus_publications_started_total'), 1);
  assert.equal(sample(text, 'nimbus_listeners'), 1);
  assert.equal(sample(text, 'nimbus_groups'), 1);
  assert.ok(sample(text, 'nimbus_handshakes_total') >= 3, 'nimbus_handshakes_total');
  assert.ok(sample(text, 'nimbus_bytes_total', { protocol: 'RTMFP', direction: 'in' }) > 20 * 200, 'bytes in');
  assert.ok(sample(text, 'nimbus_bytes_total', { protocol: 'RTMFP', direction: 'out' }) > 20 * 200, 'bytes out');
  assert.ok(sample(text, 'nimbus_packets_total', { protocol: 'RTMFP', direction: 'out' }) > 0, 'packets out');
  assert.equal(sample(text, 'nimbus_lua_errors_total', { level: 'warn' }), 1);
  assert.ok(sample(text, 'nimbus_retransmissions_total', { protocol: 'RTMFP' }) >= 0, 'retransmissions');
  assert.ok(sample(text, 'nimbus_dropped_media_total', { kind: 'video-frames' }) >= 0, 'nimbus_dropped_media_total');

  const clients = await json('/api/v1/clients');
  assert.equal(clients.count, 3);
  const publisherId = hex(pub.nc.peerId);
  const playerId = hex(play.nc.peerId);
  const publishing = clients.items.find((client) => client['id'] === publisherId)!;
  assert.deepEqual(publishing['publishing'], ['cam']);
  assert.equal(publishing['protocol'], 'RTMFP');
  assert.equal((publishing['session'] as Record<string, unknown>)['state'], 'open');
  assert.deepEqual(clients.items.find((client) => client['id'] === playerId)!['playing'], ['cam']);

  const streams = await json('/api/v1/streams');
  assert.equal(streams.count, 1);
  const cam = streams.items[0]!;
  assert.equal(cam['name'], 'cam');
  assert.equal((cam['publisher'] as Record<string, unknown>)['id'], publisherId);
  const listeners = cam['listeners'] as Array<Record<string, unknown>>;
  assert.equal(listeners.length, 1);
  assert.equal((listeners[0]!['client'] as Record<string, unknown>)['id'], playerId);
  assert.deepEqual(listeners[0]!['drops'], { videoFrames: 0, audioMessages: 0 });
  assert.equal(typeof (cam['kbps'] as Record<string, unknown>)['audio'], 'number');

  const groups = await json('/api/v1/groups');
  assert.equal(groups.count, 1);
  assert.equal(groups.items[0]!['id'], GROUP);
  assert.equal(groups.items[0]!['members'], 1);

  // actions: POST only, token required, not from another site's page
  assert.equal((await fetch(`${base}/api/v1/streams/cam/close`, { method: 'POST' })).status, 403);
  assert.equal((await fetch(`${base}/api/v1/streams/cam/close`, { headers: auth })).status, 405);
  assert.equal(
    (await fetch(`${base}/api/v1/streams/cam/close`, { method: 'POST', headers: { ...auth, origin: 'http://evil.example' } })).status,
    403,
  );
  assert.equal((await fetch(`${base}/api/v1/streams/nope/close`, { method: 'POST', headers: auth })).status, 404);
  const closed = await fetch(`${base}/api/v1/streams/cam/close`, { method: 'POST', headers: auth });
  assert.equal(closed.status, 200);
  assert.deepEqual(await closed.json(), { closed: 'stream', name: 'cam' });
  await until(() => !server.server.core.publications.get('cam')?.running, 'publication ended');

  const gone = new Promise<string>((resolve) => play.nc.once('close', resolve));
  const kicked = await fetch(`${base}/api/v1/clients/${playerId}/close`, { method: 'POST', headers: auth });
  assert.equal(kicked.status, 200);
  await gone;
  await until(() => server.server.core.clientCount === 2, 'client closed');
  const after = await metrics();
  assert.equal(sample(after, 'nimbus_clients'), 2);
  assert.ok(sample(after, 'nimbus_sessions_closed_total', { protocol: 'RTMFP' }) >= 1, 'sessions closed');
  // the closed session's traffic stays counted
  assert.ok(
    sample(after, 'nimbus_bytes_total', { protocol: 'RTMFP', direction: 'out' }) >=
      sample(text, 'nimbus_bytes_total', { protocol: 'RTMFP', direction: 'out' }),
    'bytes out never go back',
  );
});
