// Per-packet and per-connection problems are counted and logged at most once per interval per cause, so no
// client can fill a disk: RTMP connections sending garbage, many times over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startLoggedServer } from '../helpers/logged-server.ts';
import { RawRtmpClient, freeTcpPort } from '../helpers/rtmp-client.ts';

test('RTMP protocol errors from many connections log one line per cause per interval, the rest counted', async (t) => {
  const rtmpPort = await freeTcpPort();
  const server = await startLoggedServer([`--RTMP.port=${rtmpPort}`, '--RTMP.host=127.0.0.1']);
  t.after(() => server.close());
  const CONNECTIONS = 30;
  for (let i = 0; i < CONNECTIONS; i++) {
    await new Promise<void>((resolve) => {
      const socket = net.connect(rtmpPort, '127.0.0.1', () => socket.write(Buffer.from([9, ...new Array<number>(1536).fill(1)])));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  }
  const lines = server.lines('rtmp protocol error, connection closed');
  assert.equal(lines.length, 1, 'one line for thirty bad handshakes');
  assert.equal(lines[0]!['cause'], 'rtmp-handshake');
});

test('RTMP connects to a path that does not exist, over and over: one line per interval', async (t) => {
  const rtmpPort = await freeTcpPort();
  const server = await startLoggedServer([`--RTMP.port=${rtmpPort}`, '--RTMP.host=127.0.0.1', `--application.dir=test/fixtures`]);
  t.after(() => server.close());
  for (let i = 0; i < 10; i++) {
    const client = await RawRtmpClient.open({ port: rtmpPort });
    try {
      const answer = await client.connect(`../escape${i}`);
      assert.equal(answer.name, '_error');
    } finally {
      client.close();
    }
  }
  assert.equal(server.lines('rtmp connection path rejected').length, 1);
});
