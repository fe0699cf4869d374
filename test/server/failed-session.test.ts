// Issue 12: a failed session releases its publications and stream names at the moment it fails, not when the
// failed state ends (closeTimeout, 20 s later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { publisher, until } from '../streams/helpers.ts';
import type { NetConnection } from '../../src/client/index.ts';

test("a publisher's session fails: its stream name is free for a new publisher at once", { timeout: 30_000 }, async () => {
  const server = await startTestServer();
  const clients: NetConnection[] = [];
  try {
    const first = await publisher(server.port, 'taken');
    clients.push(first.nc);
    const publications = server.server.core.publications;
    assert.equal(publications.get('taken')?.running, true);
    const rtmfp = server.server.rtmfp;
    const session = rtmfp.sessions.get(first.nc.session!.farId)!;
    // the publisher is gone for good (nobody will acknowledge the close): the session stays failed for closeTimeout
    first.nc.destroy();
    session.fail('test failure');
    // synchronously: the session is failed (still in its 20 s closing dialogue) and the name is released
    assert.equal(session.state, 'failed');
    assert.notEqual(publications.get('taken')?.running, true, 'the publication stopped when the session failed');
    const started = performance.now();
    const second = await publisher(server.port, 'taken');
    clients.push(second.nc);
    assert.ok(performance.now() - started < 10_000);
    await until(() => publications.get('taken')?.running === true, 'the new publisher publishing');
    assert.equal(rtmfp.sessions.has(session.nearId), true, 'the failed session itself is still closing');
  } finally {
    for (const nc of clients) nc.destroy();
    await server.close();
  }
});
