import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FakeClient, connectedApp } from './harness.ts';
import { MixedArray, TypedObject } from '../../src/flash/amf/types.ts';
import { split } from '../../src/app/api/global.ts';

const api = () => connectedApp('api');

test('cumulus and mona are the same object', () => {
  const t = api();
  try {
    assert.deepEqual(t.call('sameObject'), [true]);
  } finally {
    t.cleanup();
  }
});

test('split with options 0..3, called with : and with .', () => {
  assert.deepEqual(split('a, b,,c', ',', 0), ['a', ' b', '', 'c']);
  assert.deepEqual(split('a, b,,c', ',', 1), ['a', ' b', 'c']);
  assert.deepEqual(split('a, b, ,c', ',', 2), ['a', 'b', '', 'c']);
  assert.deepEqual(split('a, b, ,c', ',', 3), ['a', 'b', 'c']);
  assert.deepEqual(split('a;b,c', ';,', 0), ['a', 'b', 'c']);
  const t = api();
  try {
    assert.deepEqual(t.call('split', 'a, b, ,c', ',', 3), ['a', 'b', 'c']);
    assert.deepEqual(t.call('splitDot', 'x y', ' '), ['x', 'y']);
  } finally {
    t.cleanup();
  }
});

test('md5 / sha256 return the raw digests', () => {
  const t = api();
  try {
    const [md5, sha, n] = t.call('digests', 'abc');
    assert.deepEqual(md5, new Uint8Array(createHash('md5').update('abc').digest()));
    assert.deepEqual(sha, new Uint8Array(createHash('sha256').update('abc').digest()));
    assert.equal(n, 2);
  } finally {
    t.cleanup();
  }
});

test('toAMF / toAMF0 / fromAMF round trips', () => {
  const t = api();
  try {
    const values = [
      1,
      'two',
      true,
      [1, 2],
      { a: 'b' },
      new Date(1000),
      new TypedObject('Cat', { name: 'tom' }),
      new MixedArray([1], { k: 'v' }),
    ];
    assert.deepEqual(t.call('amf', ...values), values);
    assert.deepEqual(t.call('amf0', 1, 'two', { a: 'b' }, [3]), [1, 'two', { a: 'b' }, [3]]);
    const [raw] = t.call('toAMF', 'hi');
    assert.deepEqual(raw, Uint8Array.of(0x02, 0x00, 0x02, 0x68, 0x69));
  } finally {
    t.cleanup();
  }
});

test('configs, times, environment, publicAddress, absolutePath', () => {
  const t = api();
  try {
    // "false" is the boolean false, as both servers read it; other values stay text, as CumulusServer keeps them
    assert.deepEqual(t.call('configs'), ['1935', 'test', '1935', 'string', false, 'true']);
    assert.deepEqual(t.call('times'), ['number', true, true]);
    const [pub, envType, same, own, games] = t.call('misc');
    assert.equal(pub, '203.0.113.1:1935');
    assert.equal(envType, 'table');
    assert.equal(same, true);
    assert.equal(own, t.host.rt.wwwDir + '/api/');
    assert.equal(games, t.host.rt.wwwDir + '/Games/');
    assert.deepEqual(t.call('absolute', '/later/on'), [true, t.host.rt.wwwDir + '/later/on/'], 'as MonaServer: the path joined');
    const [ok, why] = t.call('absolute', '../outside');
    assert.deepEqual([ok, String(why)], [false, 'absolutePath: dot or empty segment']);
  } finally {
    t.cleanup();
  }
});

test('addToBlacklist / removeFromBlacklist reach the server', () => {
  const t = api();
  try {
    t.call('blacklist', '192.0.2.7', '192.0.2.8');
    assert.deepEqual([...t.server.blacklisted], ['192.0.2.7', '192.0.2.8']);
    t.call('unblacklist', '192.0.2.7');
    assert.deepEqual([...t.server.blacklisted], ['192.0.2.8']);
  } finally {
    t.cleanup();
  }
});

test('clients: count, #, pairs, ipairs, lookup by id, rawId and position', () => {
  const t = api();
  try {
    t.connect(new FakeClient('api'));
    const [count, len, pairsCount, ipairsCount, byId, byRawId, byIndex, firstId] = t.call('clients');
    assert.equal(count, 2);
    assert.equal(len, 2);
    assert.equal(pairsCount, 2);
    assert.equal(ipairsCount, 2);
    assert.equal(byId, true);
    assert.equal(byRawId, true);
    assert.equal(byIndex, true);
    assert.equal(firstId, Buffer.from(t.c.rawId).toString('hex'));
  } finally {
    t.cleanup();
  }
});

test('binary strings: a 0x00-0xFF ByteArray crosses Lua unchanged', () => {
  const t = api();
  try {
    const all = new Uint8Array(256).map((_, i) => i);
    const r = t.host.onCall(t.c, 'bytes', 1, [all]);
    // a ByteArray arrives as {__raw=...}: #table is 0, the table comes back as the same bytes
    assert.deepEqual(r, { ok: true, results: [0, all] });
  } finally {
    t.cleanup();
  }
});

test('log functions write through the logger with the application and the source line', () => {
  const t = api();
  try {
    t.call('log');
    const byLevel = (level: string) => t.logger.lines.filter((l) => l.level === level && l.obj['app'] === '/api');
    const note = byLevel('note').find((l) => l.msg === 'note from api')!;
    assert.equal(note.msg, 'note from api');
    assert.equal(note.obj['source'], 'www/api/main.lua:30');
    for (const level of ['fatal', 'critic', 'error', 'warn', 'info', 'debug', 'trace']) assert.ok(byLevel(level).length >= 1, level);
    assert.ok(t.logger.lines.some((l) => l.msg === 'printed\t1\ttrue'));
    assert.ok(t.logger.lines.some((l) => l.msg.startsWith('dump of 5 bytes') && l.msg.includes('00 01 41 42 43')));
  } finally {
    t.cleanup();
  }
});
