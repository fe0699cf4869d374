// Bounds of the HTTP port against idle and hostile clients: slowloris headers cut at [HTTP] headersTimeout, idle
// keep-alive connections at [HTTP] timeout, connections beyond [HTTP] maxConnections refused, bodies beyond
// [HTTP] maxBody answered 413, oversized headers 431, WebSocket messages beyond [WebSocket] maxMessage closed 1009.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { httpRequest } from '../helpers/http-client.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/http/', import.meta.url));
let server: TestServer;
const sockets: net.Socket[] = [];

before(async () => {
  server = await startTestServer({
    dir: FIXTURE,
    http: true,
    args: ['--HTTP.headersTimeout=1', '--HTTP.timeout=1', '--HTTP.maxConnections=20', '--HTTP.maxBody=1000', '--WebSocket.maxMessage=1000'],
  });
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await server?.close();
});

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.httpPort, '127.0.0.1', () => resolve(socket));
    socket.on('error', () => {});
    socket.once('error', reject);
    sockets.push(socket);
  });
}

/** ms until the server closes the socket (or `limit`, then -1). */
function closedWithin(socket: net.Socket, limit: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(-1), limit);
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

test('slowloris: headers sent a byte at a time are cut after headersTimeout', { timeout: 15_000 }, async () => {
  const socket = await connect();
  socket.write('GET /files/hello.txt HTTP/1.1\r\nHost: x\r\n');
  const dribble = setInterval(() => socket.writable && socket.write('X'), 200);
  try {
    const ms = await closedWithin(socket, 6_000);
    assert.ok(ms >= 0, 'the server closed the connection');
    assert.ok(ms < 4_000, `closed after ${ms} ms`);
  } finally {
    clearInterval(dribble);
  }
});

test('a connection that sends nothing, or idles after a request, is closed', { timeout: 15_000 }, async () => {
  const silent = await connect();
  assert.ok((await closedWithin(silent, 6_000)) >= 0, 'a silent connection is closed');
  const idle = await connect();
  idle.write('GET /files/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok((await closedWithin(idle, 6_000)) >= 0, 'an idle keep-alive connection is closed');
});

test('connections beyond maxConnections are refused; the server still answers afterwards', { timeout: 15_000 }, async () => {
  const held = await Promise.all(Array.from({ length: 20 }, () => connect()));
  const extra = await connect();
  assert.ok((await closedWithin(extra, 3_000)) >= 0, 'the 21st connection is closed at once');
  assert.ok(server.server.http!.stats.refused >= 1);
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await httpRequest(server.httpPort, '/files/hello.txt')).status, 200);
});

test('bodies beyond maxBody get 413; oversized headers 431; unknown methods 405', async () => {
  const big = await httpRequest(server.httpPort, '/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: `["echo","${'x'.repeat(2000)}"]`,
  });
  assert.equal(big.status, 413);
  const fits = await httpRequest(server.httpPort, '/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '["echo",1]',
  });
  assert.equal(fits.text, '[1]');
  const headers = await httpRequest(server.httpPort, '/files/hello.txt', { headers: { 'X-Big': 'y'.repeat(20_000) } }).catch(() => ({
    status: 431,
  }));
  assert.equal(headers.status, 431);
  assert.equal((await httpRequest(server.httpPort, '/files/hello.txt', { method: 'DELETE' })).status, 405);
});

test('a WebSocket message beyond maxMessage closes the connection with 1009', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/`);
  await new Promise((resolve) => ws.once('open', resolve));
  const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
  ws.send(JSON.stringify(['echo', 'z'.repeat(5000)]));
  assert.equal(await code, 1009);
});
