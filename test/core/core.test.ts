// The protocol-neutral Core: its client registry, blacklist, manage tick and application lifecycle, on its
// own and as the RTMFP server feeds it over real UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Core, hostOf } from '../../src/core/core.ts';
import { acceptAll, type ApplicationPort, type ClientPort } from '../../src/core/ports.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { hex } from '../../src/bytes.ts';
import { NetConnection } from '../../src/client/index.ts';
import { startTestServer } from '../helpers/server.ts';

function newCore(): Core {
  const { config } = loadConfig([], { cwd: process.cwd(), env: {} });
  return new Core({ config, logger: createLogger({ level: 'fatal', pretty: 'false' }) });
}

function fakeClient(byte: number): ClientPort {
  return { protocol: 'RTMFP', rawId: new Uint8Array(32).fill(byte) } as unknown as ClientPort;
}

test('the blacklist keys on the host of any address form', () => {
  assert.equal(hostOf('1.2.3.4:1935'), '1.2.3.4');
  assert.equal(hostOf('1.2.3.4'), '1.2.3.4');
  assert.equal(hostOf('[::1]:1935'), '::1');
  assert.equal(hostOf('::1'), '::1', 'a bare IPv6 address has no port to strip');
  assert.equal(hostOf('fe80::1:2'), 'fe80::1:2');
  const core = newCore();
  core.blacklist.add('10.0.0.1:5000');
  core.blacklist.add('[::1]:5000');
  assert.deepEqual([...core.blacklisted], ['10.0.0.1', '::1']);
  core.blacklist.remove('10.0.0.1');
  assert.deepEqual([...core.blacklisted], ['::1']);
});

test('clients are found by id; a stale removal does not drop a newer client with the same id', () => {
  const core = newCore();
  const a = fakeClient(1);
  const b = fakeClient(2);
  core.addClient(a);
  core.addClient(b);
  assert.equal(core.clientCount, 2);
  assert.equal(core.clientById(new Uint8Array(32).fill(2)), b);
  assert.deepEqual([...core.clients], [a, b], 'connection order');
  const again = fakeClient(1); // the same peer id connecting again before the old session ended
  core.addClient(again);
  core.removeClient(a);
  assert.equal(core.clientById(a.rawId), again);
  core.removeClient(again);
  assert.equal(core.clientById(a.rawId), undefined);
  assert.equal(core.clientCount, 1);
});

test('start runs the application, stop ends it; a failing onManage or stop is logged, not thrown', () => {
  const core = newCore();
  const calls: string[] = [];
  const application: ApplicationPort = {
    ...acceptAll,
    start: () => void calls.push('start'),
    stop: () => {
      calls.push('stop');
      throw new Error('boom');
    },
  };
  core.application = application;
  core.start();
  core.stop();
  assert.deepEqual(calls, ['start', 'stop']);
});

test('protocol hooks run on the manage tick before the application onManage', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const core = newCore();
  const calls: string[] = [];
  core.application = {
    ...acceptAll,
    onManage: () => {
      calls.push('application');
      throw new Error('script bug');
    },
  };
  core.onManage(() => calls.push('rtmfp'));
  core.start();
  try {
    t.mock.timers.tick(2_000);
    t.mock.timers.tick(2_000);
    assert.deepEqual(calls, ['rtmfp', 'application', 'rtmfp', 'application']);
  } finally {
    core.stop();
  }
});

test('an RTMFP client is a core client while connected, with its protocol and peer id', async () => {
  const server = await startTestServer();
  let nc: NetConnection | undefined;
  try {
    const core = server.server.core;
    nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/app`);
    assert.equal(core.clientCount, 1);
    const [client] = [...core.clients];
    assert.equal(client?.protocol, 'RTMFP');
    assert.equal(client?.path, 'app');
    assert.equal(hex(client.rawId), hex(nc.peerId));
    await nc.close();
    nc = undefined;
    for (let i = 0; i < 200 && core.clientCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(core.clientCount, 0, 'removed when the session closes');
  } finally {
    await nc?.close();
    await server.close();
  }
});
