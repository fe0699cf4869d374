// Static files of www/ over HTTP, checked like curl would: content types, validators and conditional requests,
// ranges, HEAD, folder listings and the `index` setting, and every way out of www/ refused (.., encoded dots, NUL,
// symlinks, scripts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { httpRequest } from '../helpers/http-client.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/http/', import.meta.url));
let dir: string;
let server: TestServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nimbus-http-'));
  cpSync(FIXTURE, dir, { recursive: true });
  writeFileSync(join(dir, 'outside.txt'), 'outside www\n');
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'www', 'files', 'link-out.txt'));
  symlinkSync(join(dir, 'www', 'files', 'hello.txt'), join(dir, 'www', 'files', 'link-in.txt'));
  server = await startTestServer({ dir, http: true });
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, options = {}) => httpRequest(server.httpPort, path, options);

/** A request line sent as is (Node's client would not send some of these paths). */
function rawRequest(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.httpPort, '127.0.0.1', () =>
      socket.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.on('data', (data) => (text += data.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

test('a file comes with its content type, Last-Modified and ETag; HEAD has the headers without the body', async () => {
  const answer = await get('/files/hello.txt');
  assert.equal(answer.status, 200);
  assert.equal(answer.text, 'hello world\n');
  assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(answer.headers['accept-ranges'], 'bytes');
  assert.equal(answer.headers.server, 'Mona');
  assert.ok(answer.headers['last-modified'] && answer.headers.etag);
  assert.equal((await get('/files/style.css')).headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await get('/files/template.html?x')).headers['content-type'], 'text/html; charset=utf-8');
  const head = await get('/files/hello.txt', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '12');
  assert.equal(head.body.length, 0);
});

test('If-None-Match and If-Modified-Since give 304; a changed validator gives the file', async () => {
  const first = await get('/files/hello.txt');
  const etag = first.headers.etag!;
  const byTag = await get('/files/hello.txt', { headers: { 'If-None-Match': etag } });
  assert.equal(byTag.status, 304);
  assert.equal(byTag.body.length, 0);
  const byDate = await get('/files/hello.txt', { headers: { 'If-Modified-Since': first.headers['last-modified']! } });
  assert.equal(byDate.status, 304);
  assert.equal((await get('/files/hello.txt', { headers: { 'If-None-Match': 'W/"other"' } })).status, 200);
  assert.equal((await get('/files/hello.txt', { headers: { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).status, 200);
});

test('Range requests: a slice, a suffix, an open end, an unsatisfiable range, If-Range', async () => {
  const slice = await get('/files/range.txt', { headers: { Range: 'bytes=2-5' } });
  assert.equal(slice.status, 206);
  assert.equal(slice.text, '2345');
  assert.equal(slice.headers['content-range'], 'bytes 2-5/36');
  assert.equal((await get('/files/range.txt', { headers: { Range: 'bytes=-3' } })).text, 'xyz');
  assert.equal((await get('/files/range.txt', { headers: { Range: 'bytes=30-' } })).text, 'uvwxyz');
  const beyond = await get('/files/range.txt', { headers: { Range: 'bytes=99-' } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], 'bytes */36');
  const stale = await get('/files/range.txt', { headers: { Range: 'bytes=0-1', 'If-Range': 'W/"old"' } });
  assert.equal(stale.status, 200);
  assert.equal(stale.body.length, 36);
});

test('scripts are never served, and no path leaves www/', async () => {
  for (const path of ['/main.lua', '/MAIN.LUA', '/refused/main.lua', '/files/link-out.txt']) {
    const answer = await get(path);
    // 403, or the refused application's 500: never the file
    assert.ok([403, 404, 500].includes(answer.status), `${path}: ${answer.status}`);
    assert.doesNotMatch(answer.text, /onConnection|outside www/, path);
  }
  assert.equal((await get('/files/link-in.txt')).text, 'hello world\n');
  for (const path of [
    '/files/../main.lua',
    '/files/%2e%2e/main.lua',
    '/files/%2E%2E/%2e%2e/outside.txt',
    '/..%2foutside.txt',
    '/files/hello.txt%00.png',
    '/%zz',
  ]) {
    const text = await rawRequest(path);
    const status = Number(text.slice(9, 12));
    assert.ok(status === 400 || status === 403, `${path}: ${text.slice(0, 40)}`);
    assert.doesNotMatch(text, /onConnection|outside www|hello world/, path);
  }
});

test('a folder gives a listing (index=true), scripts left out; a folder without its slash is redirected', async () => {
  const listing = await get('/files/');
  assert.equal(listing.status, 200);
  assert.match(listing.headers['content-type']!, /^text\/html/);
  assert.match(listing.text, /href="hello\.txt"/);
  assert.match(listing.text, /href="sub\/"/);
  assert.match(listing.text, /Parent Directory/);
  const root = await get('/');
  assert.doesNotMatch(root.text, /main\.lua/);
  assert.doesNotMatch(root.text, /Parent Directory/);
  const moved = await get('/files/sub');
  assert.equal(moved.status, 301);
  assert.equal(moved.headers.location, '/files/sub/');
  assert.equal((await get('/files/none.txt')).status, 404);
});

test('mpegts.js is served from its package for the player page', async () => {
  const answer = await get('/mpegts.js');
  assert.equal(answer.status, 200);
  assert.match(answer.headers['content-type']!, /^application\/javascript/);
  assert.ok(answer.body.length > 100_000);
});

test('index=false refuses folders, index=<file> serves that file', async () => {
  const off = await startTestServer({ dir, http: true, args: ['--HTTP.index=false'] });
  const named = await startTestServer({ dir, http: true, args: ['--HTTP.index=hello.txt'] });
  try {
    assert.equal((await httpRequest(off.httpPort, '/files/')).status, 403);
    const served = await httpRequest(named.httpPort, '/files/');
    assert.equal(served.status, 200);
    assert.equal(served.text, 'hello world\n');
  } finally {
    await off.close();
    await named.close();
  }
});
