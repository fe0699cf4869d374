import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LuaApplicationHost } from '../../src/app/host.ts';
import { FakeClient, FakeServer, captureLogger, setup } from './harness.ts';

test('root application is started with the host and stopped last', () => {
  const t = setup();
  try {
    assert.deepEqual(t.notes(), ['onStart ']);
    t.host.stop();
    assert.deepEqual(t.notes(), ['onStart ', 'onStop ']);
  } finally {
    t.cleanup();
  }
});

test("onConnection: the returned table joins the success info and overloads that client's parameters (timeout)", () => {
  const t = setup();
  try {
    const first = new FakeClient('', '');
    const a = t.connect(first, 'hello', 2);
    assert.deepEqual(a, { accepted: true, info: { message: 'welcome', id: 1 } });
    assert.ok(t.notes().includes('onConnection  2'));
    const c = new FakeClient();
    const b = t.connect(c, 'timeout');
    // MonaServer writes the table to both the answer and the client's parameters (Peer::onConnection)
    assert.deepEqual(b, { accepted: true, info: { message: 'welcome', timeout: 7, extra: { depth: true } }, timeout: 7 });
    assert.equal(c.timeout, 7);
    const own = (t.host.onCall(c, 'info', 1, []) as { results: Record<string, unknown>[] }).results[0]!;
    // text, as MonaServer's parameters; a nested table's fields become keys of their own
    assert.equal(own['parametersTimeout'], '7');
    assert.equal(own['parametersMessage'], 'welcome');
    assert.equal(own['parametersDepth'], 'true');
    assert.equal(own['parametersPort'], '1935', 'the configuration keys stay under the overloaded ones');
    assert.equal(own['protocolPort'], '1935', 'client.RTMFP is client.parameters');
    const other = (t.host.onCall(first, 'info', 2, []) as { results: Record<string, unknown>[] }).results[0]!;
    assert.equal(other['parametersMessage'], 'welcome', 'the first client returned a message too');
    assert.equal(other['parametersTimeout'], undefined, 'another client keeps its own parameters');
    // a table that holds itself: read once, no endless walk
    const cyclic = new FakeClient();
    assert.equal(t.connect(cyclic, 'cycle').accepted, true);
    const round = (t.host.onCall(cyclic, 'info', 3, []) as { results: Record<string, unknown>[] }).results[0]!;
    assert.equal(round['parametersMessage'], 'round');
  } finally {
    t.cleanup();
  }
});

test('onConnection: error("msg") rejects with msg, error("") with "client rejected", and no onDisconnection follows', () => {
  const t = setup();
  try {
    const c1 = new FakeClient();
    assert.deepEqual(t.connect(c1, 'reject'), { accepted: false, description: 'you are not Tom!' });
    const c2 = new FakeClient();
    assert.deepEqual(t.connect(c2, 'rejectEmpty'), { accepted: false, description: 'client rejected' });
    t.host.onDisconnection(c1);
    t.host.onDisconnection(c2);
    assert.equal(t.notes().filter((n) => n.startsWith('onDisconnection')).length, 0);
    assert.equal(t.host.clientCount, 0);
  } finally {
    t.cleanup();
  }
});

test('client properties, query arguments as dynamic properties, writer.reliable', () => {
  const t = setup();
  try {
    const c = new FakeClient('', 'arg1=value1&arg2=2');
    t.connect(c);
    const r = t.host.onCall(c, 'info', 1, []);
    assert.equal(r.ok, true);
    const info = (r as { results: Record<string, unknown>[] }).results[0]!;
    assert.equal(info['id'], Buffer.from(c.rawId).toString('hex'));
    assert.equal(info['id'].length, 64);
    assert.equal(info['rawIdLength'], 32);
    assert.equal(info['address'], '127.0.0.1:5000');
    assert.equal(info['flashVersion'], 'WIN 11,7,700,202');
    assert.equal(info['swfUrl'], 'http://x/a.swf');
    assert.equal(info['pageUrl'], 'http://x/');
    assert.equal(info['path'], '');
    assert.equal(info['ping'], 12);
    assert.equal(info['protocol'], 'RTMFP');
    assert.equal(info['query'], 'arg1=value1&arg2=2');
    assert.equal(info['app'], '');
    assert.equal(info['arg1'], 'value1');
    assert.equal(info['arg2'], 2);
    assert.ok((info['propertiesCount'] as number) >= 8);
    assert.equal(info['elapsed'], 'number');
    assert.equal(info['lastReceptionTime'], 'number');
    assert.equal(info['reliable'], true);
    assert.equal(info['parametersPort'], '1935');
    t.host.onCall(c, 'unreliable', 2, []);
    assert.equal(c.writer.reliable, false);
    const ro = t.host.onCall(c, 'setId', 3, []);
    assert.equal(ro.ok, false);
    assert.match((ro as { description: string }).description, /'id' is read-only/);
  } finally {
    t.cleanup();
  }
});

test('onDisconnection: called once, writing then has no effect and no error', () => {
  const t = setup();
  try {
    const c = new FakeClient('nomain');
    t.connect(c);
    assert.equal(t.host.clientCount, 1);
    t.host.onDisconnection(c);
    t.host.onDisconnection(c);
    assert.deepEqual(
      t.notes().filter((n) => n.startsWith('onDisconnection')),
      ['onDisconnection /nomain'],
    );
    // out of the clients collection before its onDisconnection runs (MonaServer)
    assert.ok(t.notes().includes('still listed false of 0'), t.notes().join('\n'));
    assert.deepEqual(c.writer.written, []);
    assert.equal(t.logger.messages('error').length, 0);
    assert.equal(t.host.clientCount, 0);
  } finally {
    t.cleanup();
  }
});

test('onFailed(client, error), then onDisconnection', () => {
  const t = setup();
  try {
    const c = new FakeClient();
    t.connect(c);
    t.host.onFailed(c, 'keepalive timeout');
    t.host.onDisconnection(c);
    const notes = t.notes();
    assert.ok(notes.indexOf('onFailed keepalive timeout') < notes.indexOf('onDisconnection '));
  } finally {
    t.cleanup();
  }
});

test('closing the main writer in onConnection closes the session and rejects', () => {
  const t = setup();
  try {
    const c = new FakeClient();
    const a = t.connect(c, 'close');
    assert.equal(a.accepted, false);
    assert.equal(c.writer.closed, true);
  } finally {
    t.cleanup();
  }
});

test('onAddressChanged reaches client:onAddressChanged(oldAddress)', () => {
  const t = setup();
  try {
    const c = new FakeClient();
    t.connect(c);
    c.address = '127.0.0.1:6000';
    t.host.onAddressChanged(c, '127.0.0.1:5000');
    assert.ok(t.notes().includes('onAddressChanged 127.0.0.1:5000 -> 127.0.0.1:6000'));
  } finally {
    t.cleanup();
  }
});

test('onHandshake(address, path, properties, attempts): returned addresses, tables and "again"', () => {
  const t = setup();
  try {
    assert.deepEqual(t.host.onHandshake('127.0.0.1:7000', '', {}, 1), []);
    assert.deepEqual(t.host.onHandshake('127.0.0.1:7000', 'nomain', { redirect: '1' }, 2), ['192.0.2.1:1935', '192.0.2.2:1935', 'again']);
    assert.ok(t.notes().includes('onHandshake 127.0.0.1:7000 /nomain 2'));
    assert.deepEqual(t.host.onHandshake('127.0.0.1:7000', '../etc', {}, 1), []);
  } finally {
    t.cleanup();
  }
});

test('onHandshake defined after a handshake found none is called within a second (the absence is cached that long)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-www-'));
  try {
    writeFileSync(
      join(dir, 'main.lua'),
      'function onConnection(client)\n  function client:define()\n    function onHandshake() return "192.0.2.9:1935" end\n  end\nend\n',
    );
    const host = new LuaApplicationHost({ wwwDir: dir, logger: captureLogger(), server: new FakeServer() });
    host.start();
    assert.deepEqual(host.onHandshake('127.0.0.1:7000', '', {}, 1), []);
    const client = new FakeClient();
    assert.equal(host.onConnection(client, []).accepted, true);
    assert.equal(host.onCall(client, 'define', 1, []).ok, true);
    assert.deepEqual(host.onHandshake('127.0.0.1:7000', '', {}, 2), [], 'still the cached absence');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.deepEqual(host.onHandshake('127.0.0.1:7000', '', {}, 3), ['192.0.2.9:1935']);
    host.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
