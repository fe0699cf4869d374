// RTMP connections in the inspector: one actor `rtmp:<id>` per connection, its lifecycle and its facts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { ACTOR_CHANNEL } from '../../src/actors/observe.ts';
import { ActorRegistry } from '../../src/inspector/registry.ts';
import { ServerInspectorHost } from '../../src/inspector/server-host.ts';
import { startTestServer } from '../helpers/server.ts';
import { RawRtmpClient } from '../helpers/rtmp-client.ts';

test('each RTMP connection is an observed actor with its state and facts', { timeout: 15_000 }, async () => {
  const registry = new ActorRegistry();
  diagnostics.subscribe(ACTOR_CHANNEL, registry.onActorMessage);
  const server = await startTestServer({ rtmp: true });
  const client = await RawRtmpClient.open({ port: server.rtmpPort });
  try {
    await client.connect('live');
    const entry = [...registry.values()].find((e) => e.kind === 'rtmp');
    assert.ok(entry, 'an rtmp actor is registered');
    assert.match(entry.name, /^rtmp:\d+$/);
    // the state text is kept only while a page listens: the actor itself is read
    assert.deepEqual(entry.ref.getSnapshot().value, { connected: 'alive' });
    const host = new ServerInspectorHost(server.server.core, server.server.rtmfp);
    const view = host.view(entry);
    assert.equal(view?.facts.path, 'live');
    assert.match(String(view?.facts.address), /^127\.0\.0\.1:\d+$/);
    client.close();
    await client.until(() => server.server.rtmp!.connections.size === 0, 'connection gone');
    assert.ok(entry.ended, 'the actor ended');
  } finally {
    client.close();
    await server.close();
    diagnostics.unsubscribe(ACTOR_CHANNEL, registry.onActorMessage);
  }
});
