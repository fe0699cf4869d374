// The Redis directory with a real redis-server: registration, lookups, node death, Redis restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Directory, type NodeInfo } from '../../src/cluster/directory.ts';
import { createLogger } from '../../src/log.ts';
import { redisUnavailable, startRedis } from '../helpers/redis.ts';

const skip = redisUnavailable();
const logger = createLogger({ level: process.env.NIMBUS_TEST_LOG ?? 'fatal', pretty: 'false' });
const node = (id: string): NodeInfo => ({ id, name: id, region: 'test', publicAddress: `127.0.0.1:${id.length}`, link: '' });
const fast = { heartbeatMs: 100, nodeTtlMs: 400 };

test('nodes find each other; peers, groups and publications resolve to their node', { skip }, async (t) => {
  const redis = await startRedis();
  const a = new Directory({ url: redis.url, self: node('a'), logger, ...fast });
  const b = new Directory({ url: redis.url, self: node('bb'), logger, ...fast });
  t.after(async () => {
    await a.close();
    await b.close();
    await redis.close();
  });
  await a.start();
  const seen = once(a, 'node-up');
  await b.start();
  const [up] = (await seen) as [NodeInfo];
  assert.equal(up.id, 'bb');
  assert.deepEqual(
    b.nodes.map((n) => n.id),
    ['a'],
  );

  b.addPeer('p1');
  b.publish('live/s');
  const joined = new Promise((resolve) => a.on('event', (event) => event.type === 'group-join' && resolve(event)));
  b.joinGroup('g1', 'p1');
  assert.deepEqual(await joined, { type: 'group-join', group: 'g1', peer: 'p1', node: 'bb' });
  assert.equal((await a.locatePeer('p1'))?.id, 'bb');
  assert.equal(await b.locatePeer('p1'), undefined, 'a node never points at itself');
  assert.equal(await a.locatePeer('nobody'), undefined);
  assert.equal((await a.originOf('live/s'))?.publicAddress, '127.0.0.1:2');
  assert.deepEqual([...(await a.remoteMembers('g1')).keys()], ['p1']);

  b.leaveGroup('g1', 'p1');
  b.removePeer('p1');
  b.unpublish('live/s');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await a.locatePeer('p1'), undefined);
  assert.equal(await a.originOf('live/s'), undefined);
  assert.equal((await a.remoteMembers('g1')).size, 0);
});

test('a node that stops refreshing is down within its TTL and its entries are no answer', { skip }, async (t) => {
  const redis = await startRedis();
  const a = new Directory({ url: redis.url, self: node('a'), logger, ...fast });
  const b = new Directory({ url: redis.url, self: node('bb'), logger, ...fast });
  t.after(async () => {
    await a.close();
    await b.close();
    await redis.close();
  });
  await a.start();
  await b.start();
  await once(a, 'node-up');
  b.addPeer('p1');
  b.joinGroup('g1', 'p1');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await a.locatePeer('p1'))?.id, 'bb');
  // a crash: no goodbye, the heartbeat just stops
  (b as unknown as { timer: NodeJS.Timeout }).timer.close();
  (b as unknown as { redis: { disconnect(): void } }).redis.disconnect();
  const started = Date.now();
  const [down] = (await once(a, 'node-down')) as [NodeInfo];
  assert.equal(down.id, 'bb');
  assert.ok(Date.now() - started < 1500, `down after ${Date.now() - started} ms`);
  assert.equal(await a.locatePeer('p1'), undefined, 'a dead node is never an answer');
  assert.equal((await a.remoteMembers('g1')).size, 0);
});

test('Redis restarted: nodes keep their entries locally and write them back', { skip }, async (t) => {
  const redis = await startRedis();
  const a = new Directory({ url: redis.url, self: node('a'), logger, ...fast });
  const b = new Directory({ url: redis.url, self: node('bb'), logger, ...fast });
  t.after(async () => {
    await a.close();
    await b.close();
    await redis.close();
  });
  await a.start();
  await b.start();
  await once(a, 'node-up');
  b.addPeer('p1');
  b.publish('s');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await redis.kill();
  // while Redis is away, lookups answer "unknown" at once instead of hanging
  const before = Date.now();
  assert.equal(await a.locatePeer('p1'), undefined);
  assert.ok(Date.now() - before < 1500);
  b.addPeer('p2');
  const rebuilt = Promise.all([once(a, 'rebuilt'), once(b, 'rebuilt')]);
  await redis.restart();
  await rebuilt;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await a.locatePeer('p1'))?.id, 'bb');
  assert.equal((await a.locatePeer('p2'))?.id, 'bb', 'an entry made while Redis was away is written back');
  assert.equal((await a.originOf('s'))?.id, 'bb');
});

test('Redis with AUTH: the password in the URL is used; a wrong one leaves the node serving locally', { skip }, async (t) => {
  const redis = await startRedis({ password: 's3cret' });
  const a = new Directory({ url: redis.url, self: node('a'), logger, ...fast });
  const wrong = new Directory({ url: redis.url.replace('s3cret', 'nope'), self: node('bb'), logger, ...fast });
  t.after(async () => {
    await a.close();
    await wrong.close();
    await redis.close();
  });
  await a.start();
  a.addPeer('p1');
  const started = Date.now();
  await wrong.start();
  assert.ok(Date.now() - started < 3000, 'start does not hang on a refused AUTH');
  assert.equal(await wrong.locatePeer('p1'), undefined, 'no directory without AUTH, and no exception either');
  const b = new Directory({ url: redis.url, self: node('cc'), logger, ...fast });
  t.after(() => b.close());
  await b.start();
  assert.equal((await b.locatePeer('p1'))?.id, 'a');
});

test('Redis over TLS with an ACL user: rediss:// and [cluster] ca; a node not trusting the CA serves locally', { skip }, async (t) => {
  const redis = await startRedis({ tls: true, user: 'nimbus', password: 's3cret' });
  assert.match(redis.url, /^rediss:\/\/nimbus:s3cret@127\.0\.0\.1:\d+$/);
  const ca = readFileSync(redis.ca!);
  const a = new Directory({ url: redis.url, ca, self: node('a'), logger, ...fast });
  const b = new Directory({ url: redis.url, ca, self: node('bb'), logger, ...fast });
  const untrusting = new Directory({ url: redis.url, self: node('ccc'), logger, ...fast });
  t.after(async () => {
    await a.close();
    await b.close();
    await untrusting.close();
    await redis.close();
  });
  await a.start();
  a.addPeer('p1');
  const seen = once(a, 'node-up');
  await b.start();
  assert.equal(((await seen) as [NodeInfo])[0].id, 'bb');
  assert.equal((await b.locatePeer('p1'))?.id, 'a', 'the directory works over TLS as the ACL user');
  const started = Date.now();
  await untrusting.start();
  assert.ok(Date.now() - started < 3000, 'start does not hang on a certificate it cannot verify');
  assert.equal(await untrusting.locatePeer('p1'), undefined, 'no directory without trusting the CA, and no exception');
  assert.deepEqual(
    a.nodes.map((n) => n.id),
    ['bb'],
    'the node that cannot verify Redis never registered',
  );
});

test('Redis away at start: the node starts anyway and registers when Redis comes', { skip }, async (t) => {
  const redis = await startRedis();
  await redis.kill();
  const a = new Directory({ url: redis.url, self: node('a'), logger, ...fast });
  const b = new Directory({ url: redis.url, self: node('bb'), logger, ...fast });
  t.after(async () => {
    await a.close();
    await b.close();
    await redis.close();
  });
  const started = Date.now();
  await a.start();
  assert.ok(Date.now() - started < 3000, `start() returned after ${Date.now() - started} ms`);
  a.addPeer('p1');
  await redis.restart();
  await b.start();
  await once(b, 'node-up');
  assert.equal((await b.locatePeer('p1'))?.id, 'a');
});
