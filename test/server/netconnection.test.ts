// The NetConnection dialogue and session lifecycle over real UDP, against the TypeScript client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startTestServer } from '../helpers/server.ts';
import { NetConnection, CallError } from '../../src/client/index.ts';
import { acceptAll, type ApplicationPort, type ClientPort } from '../../src/core/ports.ts';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('setPeerInfo is answered with Set Keepalive Timers in milliseconds', async () => {
  const server = await startTestServer({ args: ['--RTMFP.keepAliveServer=20', '--RTMFP.keepAlivePeer=7'] });
  try {
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
    nc.send('setPeerInfo', '192.168.1.2:5000', '[fe80::1]:5000');
    await until(() => nc.keepAliveServerMs !== 0, 'keepalive timers');
    assert.equal(nc.keepAliveServerMs, 20_000);
    assert.equal(nc.keepAlivePeerMs, 7_000);
    const client = [...server.server.rtmfp.clients.values()][0]!;
    assert.deepEqual(client.peerAddresses, ['192.168.1.2:5000', '[fe80::1]:5000']);
    await nc.close();
  } finally {
    await server.close();
  }
});

test('createStream allocates the smallest free id; deleteStream frees it', async () => {
  const server = await startTestServer();
  try {
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/app`);
    assert.equal(await nc.createStream(), 1);
    assert.equal(await nc.createStream(), 2);
    nc.send('deleteStream', 1);
    assert.equal(await nc.createStream(), 1);
    assert.equal(await nc.createStream(), 3);
    await nc.close();
  } finally {
    await server.close();
  }
});

test('an application rejecting the connection: Connect.Rejected, then the session closes', async () => {
  const disconnections: string[] = [];
  const application: ApplicationPort = {
    ...acceptAll,
    onConnection: (_client, args) => ({ accepted: false, description: `no entry for ${String(args[0])}` }),
    onDisconnection: (client: ClientPort) => void disconnections.push(client.address),
  };
  const server = await startTestServer({ application });
  try {
    await assert.rejects(NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/app`, { args: ['bob'] }), (error: unknown) => {
      assert.ok(error instanceof CallError);
      assert.equal(error.status, 'NetConnection.Connect.Rejected');
      assert.equal(error.message, 'no entry for bob');
      return true;
    });
    await until(() => server.server.rtmfp.sessions.size === 0, 'the rejected session to close');
    assert.deepEqual(disconnections, [], 'a rejected client is never disconnected');
  } finally {
    await server.close();
  }
});

test('the connect arguments, path and query reach the application; calls get their results', async () => {
  const seen: Array<{ path: string; query: string; args: unknown[] }> = [];
  const application: ApplicationPort = {
    ...acceptAll,
    onConnection: (client, args) => {
      seen.push({ path: client.path, query: client.query, args });
      return { accepted: true, info: { greeting: 'hello', level: 'status' } };
    },
    onCall: (_client, name, _txn, args) =>
      name === 'sum'
        ? { ok: true, results: [(args as number[]).reduce((a, b) => a + b, 0)] }
        : { ok: false, code: 'NetConnection.Call.Failed', description: `Method '${name}' not found` },
  };
  const server = await startTestServer({ application });
  try {
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/games/chess?room=7&x=1`, { args: ['alice', 42] });
    assert.deepEqual(seen, [{ path: 'games/chess', query: 'room=7&x=1', args: ['alice', 42] }]);
    assert.equal(nc.connectInfo?.greeting, 'hello');
    assert.equal(nc.connectInfo?.code, 'NetConnection.Connect.Success');
    assert.deepEqual(await nc.call('sum', 1, 2, 3.5), [6.5]);
    await assert.rejects(nc.call('nope'), /Method 'nope' not found/);
    await nc.close();
  } finally {
    await server.close();
  }
});

test('server shutdown closes client sessions with a Close Request; disconnection is reported once', async () => {
  const disconnections: string[] = [];
  const application: ApplicationPort = { ...acceptAll, onDisconnection: (client) => void disconnections.push(client.path) };
  const server = await startTestServer({ application });
  let nc: NetConnection | undefined;
  try {
    nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/room`);
    const closed = once(nc, 'close');
    await server.close();
    const [reason] = await closed;
    assert.equal(reason, 'closed by peer');
    assert.deepEqual(disconnections, ['room']);
    assert.equal(server.server.rtmfp.sessions.size, 0);
  } finally {
    nc?.destroy();
    await server.close();
  }
});

test('a client closing its session: the server forgets it and reports one disconnection', async () => {
  const disconnections: string[] = [];
  const application: ApplicationPort = { ...acceptAll, onDisconnection: (client) => void disconnections.push(client.path) };
  const server = await startTestServer({ application });
  try {
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/a`);
    await nc.close();
    await until(() => server.server.rtmfp.sessions.size === 0, 'the session to go');
    assert.deepEqual(disconnections, ['a']);
  } finally {
    await server.close();
  }
});

test('the server writes to the client: invocation and status from the application layer', async () => {
  let port: ClientPort | undefined;
  const application: ApplicationPort = {
    ...acceptAll,
    onConnection: (client) => {
      port = client;
      return { accepted: true, info: {} };
    },
  };
  const server = await startTestServer({ application });
  try {
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`);
    const invocation = once(nc, 'invocation');
    port!.writer.writeInvocation('onNews', ['headline', { n: 1 }]);
    assert.deepEqual(await invocation, ['onNews', ['headline', { n: 1 }]]);
    const status = once(nc, 'status');
    port!.writer.writeStatus('NetConnection.Custom.Event', 'something happened');
    const [info] = (await status) as [Record<string, unknown>];
    assert.equal(info.code, 'NetConnection.Custom.Event');
    assert.equal(info.description, 'something happened');
    assert.equal(info.level, 'status');
    await nc.close();
  } finally {
    await server.close();
  }
});
