// RTMP clients in Lua applications (test/fixtures/www/rtmp): the same onConnection verdicts, calls and
// stream events as RTMFP clients, with client.protocol "RTMP"; checked with the raw RTMP test client so the
// server's exact answers (`_error`, onStatus codes and descriptions) are visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawRtmpClient } from '../helpers/rtmp-client.ts';
import { NetConnection } from '../../src/client/index.ts';
import type { AMFObject, AMFValue } from '../../src/flash/amf/types.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

async function withServer(body: (server: TestServer, clients: RawRtmpClient[]) => Promise<void>): Promise<void> {
  const server = await startTestServer({ dir: FIXTURES, rtmp: true });
  const clients: RawRtmpClient[] = [];
  try {
    await body(server, clients);
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
}

async function open(server: TestServer, clients: RawRtmpClient[]): Promise<RawRtmpClient> {
  const client = await RawRtmpClient.open({ port: server.rtmpPort });
  clients.push(client);
  return client;
}

test(
  'onConnection sees client.protocol "RTMP", the path and query; its table lands in the connect _result',
  { timeout: 15_000 },
  async () => {
    await withServer(async (server, clients) => {
      const client = await open(server, clients);
      const answer = await client.connect('rtmp?x=1', ['first']);
      assert.equal(answer.name, '_result');
      const info = answer.args[0] as AMFObject;
      assert.equal(info.code, 'NetConnection.Connect.Success');
      assert.equal(info.greeting, 'hello RTMP');
      const who = await client.answer(client.command('whoami', []));
      assert.deepEqual(who.args, ['RTMP', '/rtmp', 'x=1']);
      // client.parameters is the [RTMP] section for an RTMP client (MonaServer-behaviour.md §4)
      const parameters = await client.answer(client.command('params', []));
      assert.deepEqual(parameters.args, ['60', true]);
      const events = (await client.answer(client.command('events', []))).args[0] as AMFValue[];
      assert.ok(events.includes('onConnection RTMP /rtmp x=1 first true'), JSON.stringify(events));
      // a script error in a call is the `_error` of that transaction
      const failed = await client.answer(client.command('fail', []));
      assert.equal(failed.name, '_error');
      assert.match(String((failed.args[0] as AMFObject).description), /script failure/);
      const missing = await client.answer(client.command('nothing', []));
      assert.equal((missing.args[0] as AMFObject).code, 'NetConnection.Call.Failed');
      // transaction 0 (NetConnection.call without a responder) is answered too, as over RTMFP
      const zero = await client.answer(client.command('whoami', [], 0, null, 3, 0));
      assert.deepEqual([zero.name, ...zero.args], ['_result', 'RTMP', '/rtmp', 'x=1']);
    });
  },
);

test(
  'onConnection rejecting: connect _error NetConnection.Connect.Rejected with the description, then close',
  { timeout: 15_000 },
  async () => {
    await withServer(async (server, clients) => {
      const client = await open(server, clients);
      const answer = await client.connect('rtmp', ['reject']);
      assert.equal(answer.name, '_error');
      const info = answer.args[0] as AMFObject;
      assert.equal(info.code, 'NetConnection.Connect.Rejected');
      assert.match(String(info.description), /rejected by the rtmp fixture/);
      assert.ok(
        client.commands.some((c) => c.name === 'close'),
        'close command sent',
      );
      await client.until(() => client.closed, 'server closes the connection');
      assert.equal([...server.server.core.clients].length, 0);
    });
  },
);

test('an unknown application path is NetConnection.Connect.InvalidApp', { timeout: 15_000 }, async () => {
  await withServer(async (server, clients) => {
    const client = await open(server, clients);
    const answer = await client.connect('../escape');
    assert.equal(answer.name, '_error');
    assert.match(String((answer.args[0] as AMFObject).code), /NetConnection\.Connect\.(InvalidApp|Rejected)/);
  });
});

test(
  'onPublish and onSubscribe refusing: NetStream.Publish.Failed / Play.Failed with the script message',
  { timeout: 15_000 },
  async () => {
    await withServer(async (server, clients) => {
      const client = await open(server, clients);
      await client.connect('rtmp');
      const publishing = await client.createStream();
      client.command('publish', ['denied', 'live'], publishing, null, 8);
      const refused = await client.status(/^NetStream\.Publish\./, publishing);
      assert.equal(refused.code, 'NetStream.Publish.Failed');
      assert.equal(refused.level, 'error');
      assert.match(String(refused.description), /publishing denied by the script/);
      const playing = await client.createStream();
      client.command('play', ['hidden'], playing, null, 8);
      const denied = await client.status(/^NetStream\.Play\./, playing);
      assert.equal(denied.code, 'NetStream.Play.Failed');
      assert.match(String(denied.description), /playing denied by the script/);
    });
  },
);

test('stream events name the protocol of each side: RTMP publisher, RTMFP player', { timeout: 15_000 }, async () => {
  await withServer(async (server, clients) => {
    const client = await open(server, clients);
    await client.connect('rtmp');
    const id = await client.createStream();
    client.command('publish', ['mixed', 'live'], id, null, 8);
    await client.status('NetStream.Publish.Start', id);
    const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/rtmp`);
    try {
      const stream = await nc.createNetStream();
      const started = stream.waitStatus('NetStream.Play.Start');
      stream.play('mixed');
      await started;
      client.command('closeStream', [], id, null, 8);
      await client.status('NetStream.Unpublish.Success', id);
      const [list] = await nc.call('events');
      const events = (list as AMFValue[]).map(String);
      for (const line of [
        'onConnection RTMP /rtmp',
        'onPublish RTMP mixed',
        'onConnection RTMFP /rtmp',
        'onSubscribe RTMFP mixed',
        'onUnpublish RTMP mixed',
      ]) {
        assert.ok(
          events.some((e) => e.startsWith(line)),
          `${line} in ${JSON.stringify(events)}`,
        );
      }
    } finally {
      await nc.close();
    }
  });
});
