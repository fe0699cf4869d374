// WebSocket clients of a Lua application on the HTTP port (MonaServer-behaviour.md §3), with the `ws` client: JSON
// array RPC, pushes and writeRaw in call order, text and binary messages to onMessage, close 1002 on an unknown method
// or a script error, ping/pong, the idle timeout, onDisconnection, and a refused upgrade answered by the HTTP error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { httpRequest } from '../helpers/http-client.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/http/', import.meta.url));
let server: TestServer;
const sockets: WebSocket[] = [];

before(async () => {
  server = await startTestServer({ dir: FIXTURE, http: true, args: ['--WebSocket.timeout=3'] });
});

after(async () => {
  for (const socket of sockets) socket.terminate();
  await server?.close();
});

type Frame = { text: string; binary: boolean };

/** An open client whose frames are queued for `next()`. */
async function open(
  path: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ ws: WebSocket; next(): Promise<Frame>; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}${path}`, options);
  sockets.push(ws);
  const frames: Frame[] = [];
  const waiting: Array<(frame: Frame) => void> = [];
  ws.on('message', (data: Buffer, binary: boolean) => {
    const frame = { text: data.toString(), binary };
    const waiter = waiting.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (): Promise<Frame> =>
    new Promise((resolve, reject) => {
      const frame = frames.shift();
      if (frame) return resolve(frame);
      const timer = setTimeout(() => reject(new Error('no frame')), 3_000);
      waiting.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  return { ws, next, closed };
}

async function events(): Promise<string[]> {
  return JSON.parse((await httpRequest(server.httpPort, '/events')).text)[0] as string[];
}

test('JSON arrays call client methods; the return values come back as one JSON array', async () => {
  const { ws, next } = await open('/files/?a=1');
  ws.send(JSON.stringify(['whoami']));
  assert.deepEqual(JSON.parse((await next()).text), ['WebSocket', '/files', 'a=1']);
  ws.send('["echo","hello",42,{"k":true},null]');
  assert.deepEqual(JSON.parse((await next()).text), ['hello', 42, { k: true }, null]);
  ws.send('["args"]');
  assert.deepEqual(JSON.parse((await next()).text), [{ a: 1 }]);
  // a non-string first element: client:onMessage
  ws.send('[7,"x"]');
  assert.deepEqual(JSON.parse((await next()).text), ['got', 7, 'x']);
  ws.close();
  assert.ok((await events()).includes('onConnection WebSocket /files a=1 1'));
});

test('what onConnection writes arrives right after the upgrade; client.parameters is the [WebSocket] section', async () => {
  const { ws, next } = await open('/files/?greet');
  assert.deepEqual(JSON.parse((await next()).text), ['welcome', '/files']);
  ws.send('["params"]');
  assert.deepEqual(JSON.parse((await next()).text), ['3', null, '1.1']);
  ws.close();
});

test('pushes and writeRaw go out in call order, the return value last; text and binary reach onMessage', async () => {
  const { ws, next } = await open('/');
  ws.send('["push"]');
  assert.deepEqual(JSON.parse((await next()).text), ['pushed', 1, 'two']);
  // MonaServer-behaviour.md §3.3: writeMessage is a frame of its own, sent at once; the return value comes last
  assert.deepEqual(JSON.parse((await next()).text), ['msg', 3]);
  assert.deepEqual(JSON.parse((await next()).text), ['ret']);
  ws.send('["anonymous"]');
  assert.deepEqual(JSON.parse((await next()).text), ['onMessage', 5], 'writeInvocation without a name calls onMessage');
  ws.send('["raw"]');
  assert.deepEqual(await next(), { text: 'raw1', binary: true });
  assert.deepEqual(await next(), { text: 'raw2', binary: true });
  assert.deepEqual(await next(), { text: '["ret"]', binary: false });
  ws.send('not json');
  assert.deepEqual(await next(), { text: 'gotnot json', binary: true });
  ws.send(Buffer.from([1, 2, 3]));
  const binary = await next();
  assert.equal(binary.binary, true);
  assert.deepEqual([...Buffer.from(binary.text, 'latin1')], [...Buffer.from('got'), 1, 2, 3]);
  ws.close();
});

test('writer:close(code) closes with that code; 0, none or a code a close frame cannot carry closes normally (1000)', async () => {
  for (const [sent, expected] of [
    ['["bye",4001]', 4001],
    ['["bye",0]', 1000],
    ['["bye"]', 1000],
    ['["bye",8]', 1000],
  ] as const) {
    const client = await open('/');
    client.ws.send(sent);
    assert.equal(await client.closed, expected, sent);
  }
});

test('an unknown method or a script error closes with 1002, and onDisconnection runs', async () => {
  const missing = await open('/');
  missing.ws.send('["absent"]');
  assert.equal(await missing.closed, 1002);
  const failing = await open('/files/');
  failing.ws.send('["fail"]');
  assert.equal(await failing.closed, 1002);
  const deadline = Date.now() + 2_000;
  while (!(await events()).includes('onDisconnection WebSocket /files') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  assert.ok((await events()).includes('onDisconnection WebSocket /files'));
});

test('the server answers pings; a client silent past [WebSocket] timeout is dropped', { timeout: 15_000 }, async () => {
  const { ws } = await open('/');
  const pong = new Promise<string>((resolve) => ws.once('pong', (data) => resolve(data.toString())));
  ws.ping('hi');
  assert.equal(await pong, 'hi');
  // a client that answers nothing (no pong, no frame) is gone within timeout (3 s) + one manage tick (2 s)
  const silent = await open('/', { autoPong: false });
  const started = Date.now();
  const code = await silent.closed;
  assert.ok(Date.now() - started < 7_000, `dropped after ${Date.now() - started} ms`);
  assert.equal(code, 1006);
  ws.close();
});

test('a refused upgrade is answered by the HTTP error page, not a 101', async () => {
  for (const [path, status] of [
    ['/refused/', 500],
    ['/nope/', 503],
  ] as const) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}${path}`);
    sockets.push(ws);
    const answer = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => {});
    });
    assert.equal(answer, status, path);
  }
});
