// An IHello flood with fresh tags: the server answers from stateless cookies, so it keeps nothing per
// IHello, and a real client still gets through during and after the flood.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetConnection } from '../../src/client/index.ts';
import { floodIHellos } from '../helpers/flood.ts';
import { startWatchedServer } from '../helpers/watched-server.ts';

const IHELLOS = 20_000;

test(`${IHELLOS} IHellos with fresh tags leave no state and do not lock out a real client`, { timeout: 180_000 }, async () => {
  const watched = await startWatchedServer();
  const { server, port, url } = watched;
  const opened: NetConnection[] = [];
  try {
    const flooding = floodIHellos(port, { count: IHELLOS, sockets: 4 });
    // a client connecting while the flood is under way
    const during = await NetConnection.connect(url, { style: 'flash', timeoutMs: 30_000 });
    opened.push(during);
    assert.equal(typeof (await during.createStream()), 'number');
    const flood = await flooding;
    assert.equal(flood.sent, IHELLOS);
    // loopback may drop some under load; most must have reached the handshake code and been answered
    assert.ok(server.stats.handshakes > IHELLOS / 2, `handshakes ${server.stats.handshakes}`);
    assert.ok(flood.answered > IHELLOS / 2, `answered ${flood.answered}`);

    const after = await NetConnection.connect(url, { style: 'rfc7425' });
    opened.push(after);
    assert.equal(typeof (await after.createStream()), 'number');

    assert.equal(server.handshake.pendingKeyings, 0, 'no keying kept once both sessions answered');
    assert.equal(server.sessions.size, 2, 'the two real clients and nothing else');
    assert.equal(server.stats.sessionsOpened, 2);
    assert.deepEqual(watched.errors, []);
  } finally {
    for (const nc of opened) nc.destroy();
    await watched.close();
  }
});
