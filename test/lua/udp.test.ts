// Lua applications driven end to end: the real server on UDP loopback, the fixture apps in test/fixtures/www,
// and the TypeScript client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NetConnection, CallError } from '../../src/client/index.ts';
import { TypedObject } from '../../src/flash/amf/types.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

async function withServer(body: (server: TestServer, url: (path?: string) => string) => Promise<void>): Promise<void> {
  const server = await startTestServer({ dir: FIXTURES });
  try {
    await body(server, (path = '') => `rtmfp://127.0.0.1:${server.port}/${path}`);
  } finally {
    await server.close();
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('onConnection accepts with its info table, rejects with and without a message', async () => {
  await withServer(async (_server, url) => {
    const nc = await NetConnection.connect(url(), { args: ['hello'] });
    assert.equal(nc.connectInfo?.code, 'NetConnection.Connect.Success');
    assert.equal(nc.connectInfo?.message, 'welcome');
    assert.equal(nc.connectInfo?.id, 1);
    await nc.close();

    await assert.rejects(NetConnection.connect(url(), { args: ['reject'] }), (error: unknown) => {
      assert.ok(error instanceof CallError);
      assert.equal(error.status, 'NetConnection.Connect.Rejected');
      assert.equal(error.message, 'you are not Tom!');
      return true;
    });
    await assert.rejects(NetConnection.connect(url(), { args: ['rejectEmpty'] }), /client rejected/);
  });
});

test('RPC through client methods: results, errors, missing methods, onMessage', async () => {
  await withServer(async (_server, url) => {
    const nc = await NetConnection.connect(url());
    assert.deepEqual(await nc.call('add', 2, 40), [42]);
    const date = new Date(Date.UTC(2020, 1, 2, 3, 4, 5));
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const echoed = await nc.call('echo', 'text', 1.5, true, null, { a: 1, b: ['x', 'y'] }, date, bytes);
    assert.equal(echoed[0], 'text');
    assert.equal(echoed[1], 1.5);
    assert.equal(echoed[2], true);
    assert.equal(echoed[3], null);
    assert.deepEqual(echoed[4], { a: 1, b: ['x', 'y'] });
    assert.equal((echoed[5] as Date).getTime(), date.getTime());
    assert.deepEqual(echoed[6], bytes);
    const typed = (await nc.call('echo', new TypedObject('Cat', { name: 'Tom' })))[0];
    assert.ok(typed instanceof TypedObject);
    assert.equal(typed.className, 'Cat');
    assert.equal(typed.properties.name, 'Tom');
    await assert.rejects(nc.call('fail', 'bad move'), (error: unknown) => {
      assert.ok(error instanceof CallError);
      assert.equal(error.status, 'NetConnection.Call.Failed');
      assert.match(error.message, /bad move/);
      return true;
    });
    await assert.rejects(nc.call('crash'), /NetConnection|attempt to index|field/);
    await assert.rejects(nc.call('nothere'), /Method client 'nothere' not found in application $/);
    await nc.close();
  });
});

test('writers: invocations from the server in both dialects, status responses', async () => {
  await withServer(async (_server, url) => {
    const nc = await NetConnection.connect(url());
    const invocations: Array<[string, unknown[]]> = [];
    nc.on('invocation', (name, args) => invocations.push([name, args]));
    await nc.call('push', 'news', 'a', 2);
    await until(() => invocations.length === 2, 'two invocations');
    assert.deepEqual(invocations, [
      ['news', ['a', 2]],
      ['newsDot', ['a', 2]],
    ]);
    const status = once(nc, 'status');
    await nc.call('status', 'Custom.Thing', 'it happened');
    const [info] = (await status) as [Record<string, unknown>];
    assert.equal(info.code, 'NetConnection.Custom.Thing');
    assert.equal(info.description, 'it happened');
    await nc.close();
  });
});

test('client properties seen from Lua', async () => {
  await withServer(async (_server, url) => {
    const nc = await NetConnection.connect(`${url()}?arg1=one&arg2=2`);
    const [info] = (await nc.call('info')) as [Record<string, unknown>];
    assert.equal(info.id, Buffer.from(nc.peerId).toString('hex'));
    assert.equal(info.rawIdLength, 32);
    assert.match(String(info.address), /^127\.0\.0\.1:\d+$/);
    assert.equal(info.flashVersion, 'WIN 11,7,700,202');
    assert.equal(info.protocol, 'RTMFP');
    assert.equal(info.arg1, 'one');
    assert.equal(info.arg2, 2);
    assert.equal(info.query, 'arg1=one&arg2=2');
    await nc.close();
  });
});

test('a child application is served by its folder, inheriting from the root', async () => {
  await withServer(async (_server, url) => {
    const nc = await NetConnection.connect(url('Games/myGame'));
    assert.equal(nc.connectInfo?.code, 'NetConnection.Connect.Success');
    await nc.close();
  });
});

test('a connection path escaping the applications folder is rejected', async () => {
  await withServer(async (_server, url) => {
    for (const path of ['../secret', '%2e%2e/secret', 'Games/../../x']) {
      await assert.rejects(NetConnection.connect(url(path), { timeoutMs: 3000 }), (error: unknown) => {
        assert.ok(error instanceof CallError, `${path}: ${String(error)}`);
        assert.match(error.status, /NetConnection\.Connect\.(Rejected|InvalidApp)/);
        return true;
      });
    }
  });
});
