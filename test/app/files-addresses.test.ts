import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { type FakeWriter, connectedApp } from './harness.ts';
import { IPAddress, splitHostPort } from '../../src/app/api/addresses.ts';

const app = () => connectedApp('addr');

/** Waits (event loop turns, no clock) until the writer got an invocation called `name`. */
async function invocation(w: FakeWriter, name: string): Promise<unknown[]> {
  for (let i = 0; i < 2000; i++) {
    const hit = w.written.find((x) => x.kind === 'invocation' && x.name === name);
    if (hit && hit.kind === 'invocation') return hit.args;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`no ${name} invocation`);
}

test('listPaths / files: File objects of a www folder, sorted, never outside', () => {
  const t = app();
  try {
    mkdirSync(join(t.www, 'addr', 'sub'));
    writeFileSync(join(t.www, 'addr', 'notes.txt'), 'hello');
    symlinkSync(tmpdir(), join(t.www, 'addr', 'out'));
    const [list, n] = t.call('files', '/addr') as [Array<Record<string, unknown>>, number];
    const real = t.host.rt.wwwDir;
    assert.deepEqual(
      list.map((f) => f['name']),
      ['main.lua', 'notes.txt', 'sub'],
    );
    assert.equal(n, 3);
    const notes = list[1]!;
    assert.deepEqual(
      [
        notes['baseName'],
        notes['extension'],
        notes['size'],
        notes['isFolder'],
        notes['value'],
        notes['fullPath'],
        notes['parent'],
        notes['recent'],
      ],
      ['notes', 'txt', 5, false, `${real}/addr/notes.txt`, `${real}/addr/notes.txt`, `${real}/addr/`, true],
    );
    assert.deepEqual([list[2]!['isFolder'], list[2]!['isDirectory'], list[2]!['value']], [true, true, `${real}/addr/sub/`]);
    assert.deepEqual(t.call('files', '../..'), [[], 0]);
    assert.deepEqual(t.call('files', 'addr/out'), [[], 0]);
    assert.ok(t.logger.messages('error').some((m) => m.includes('outside')));
  } finally {
    t.cleanup();
  }
});

test('IPAddress properties', () => {
  const t = app();
  try {
    const [lo] = t.call('ip', '127.0.0.1') as [Record<string, unknown>];
    assert.equal(lo['isLoopback'], true);
    assert.equal(lo['isLocal'], true);
    assert.equal(lo['isUnicast'], true);
    assert.equal(lo['isIPv6'], false);
    assert.equal(lo['value'], '127.0.0.1');
    assert.equal(lo['text'], '127.0.0.1');
    const [any] = t.call('ip', '0.0.0.0') as [Record<string, unknown>];
    assert.deepEqual([any['isWildcard'], any['isUnicast']], [true, false]);
    const [bc] = t.call('ip', '255.255.255.255') as [Record<string, unknown>];
    assert.deepEqual([bc['isBroadcast'], bc['isAnyBroadcast']], [true, true]);
    const [mc] = t.call('ip', '239.255.1.1') as [Record<string, unknown>];
    assert.deepEqual([mc['isMulticast'], mc['isSiteLocalMC'], mc['isGlobalMC'], mc['isWellKnownMC']], [true, true, false, false]);
    const [site] = t.call('ip', '172.20.1.1') as [Record<string, unknown>];
    assert.deepEqual([site['isSiteLocal'], site['isLinkLocal']], [true, false]);
    const [v6] = t.call('ip', '::1') as [Record<string, unknown>];
    assert.deepEqual([v6['isIPv6'], v6['isLoopback'], v6['isIPv4Compatible']], [true, true, true]);
    const [mapped] = t.call('ip', '::ffff:10.0.0.1') as [Record<string, unknown>];
    assert.equal(mapped['isIPv4Mapped'], true);
    const [mc6] = t.call('ip', 'ff05::2') as [Record<string, unknown>];
    assert.deepEqual([mc6['isMulticast'], mc6['isSiteLocalMC'], mc6['isNodeLocalMC']], [true, true, false]);
    // the seed's FFxF:... range for a global multicast address
    const [global6] = t.call('ip', 'ff1f::3') as [Record<string, unknown>];
    assert.deepEqual([global6['isMulticast'], global6['isGlobalMC'], global6['isOrgLocalMC']], [true, true, false]);
    const [scopeE] = t.call('ip', 'ff0e::3') as [Record<string, unknown>];
    assert.equal(scopeE['isGlobalMC'], false);
    const [ll6] = t.call('ip', 'fe80::1') as [Record<string, unknown>];
    assert.equal(ll6['isLinkLocal'], true);
    assert.deepEqual(t.call('badAddress')[0], false);
  } finally {
    t.cleanup();
  }
  assert.equal(new IPAddress('10.1.2.3').isSiteLocal, true);
  assert.deepEqual(splitHostPort('[::1]:80'), { host: '::1', port: 80 });
});

test('SocketAddress: host:port, [v6]:port, host and port apart, port alone', () => {
  const t = app();
  try {
    assert.deepEqual(t.call('socketAddress', '127.0.0.1:1935'), ['127.0.0.1:1935', 1935, '127.0.0.1', false]);
    assert.deepEqual(t.call('socketAddress', '[::1]:80'), ['[::1]:80', 80, '::1', true]);
    assert.deepEqual(t.call('socketAddress', '10.0.0.1', 8080), ['10.0.0.1:8080', 8080, '10.0.0.1', false]);
    assert.deepEqual(t.call('socketAddress', '10.0.0.1', '81'), ['10.0.0.1:81', 81, '10.0.0.1', false]);
    assert.deepEqual(t.call('socketAddress', 1234), ['0.0.0.0:1234', 1234, '0.0.0.0', false]);
    assert.deepEqual(t.call('socketAddress', 'nohost:12'), [null]);
  } finally {
    t.cleanup();
  }
});

test('DNS: never blocks; callback form and coroutine form', async () => {
  const t = app();
  try {
    const [ok, err] = t.call('dnsBlocking');
    assert.equal(ok, false);
    assert.match(err as string, /coroutine or give a callback/);
    t.call('dnsCallback', 'localhost');
    const [address] = await invocation(t.c.writer, 'dns');
    assert.ok(address === '127.0.0.1' || address === '::1', String(address));
    assert.deepEqual(t.call('dnsCoroutine', 'localhost'), ['suspended']);
    const [socket] = await invocation(t.c.writer, 'dnsco');
    assert.ok(socket === '127.0.0.1:1935' || socket === '[::1]:1935', String(socket));
  } finally {
    t.cleanup();
  }
});
