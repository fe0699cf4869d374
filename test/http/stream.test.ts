// Live publications played over HTTP-FLV (GET /app/<name>.flv, chunked) and FLV over WebSocket, whoever publishes
// (the project's RTMFP client, ffmpeg over RTMP): the FLV header, metadata and codec headers first, video from a
// key frame, authorisation by client:onSubscribe, and a viewer that stops reading dropped rather than buffered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { NetConnection } from '../../src/client/index.ts';
import { isAACSequenceHeader, isAVCSequenceHeader, isKeyFrame, readFLV, type FLVTag } from '../../src/core/media/media.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FFMPEG_MISSING, ffmpeg, hasFfmpeg, readSample, sampleFlv } from '../helpers/ffmpeg.ts';
import { publishFlv } from '../helpers/flv-publisher.ts';
import { httpRequest } from '../helpers/http-client.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/http/', import.meta.url));
let server: TestServer;

before(async () => {
  server = await startTestServer({ dir: FIXTURE, http: true, rtmp: true });
});

after(async () => {
  await server?.close();
});

/** `ms` of an HTTP-FLV response: its status, headers and bytes. */
function watchHttp(path: string, ms: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: server.httpPort, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) });
      const timer = setTimeout(() => {
        req.destroy();
        done();
      }, ms);
      res.on('end', () => {
        clearTimeout(timer);
        done();
      });
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
  });
}

function watchWebSocket(path: string, ms: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}${path}`);
    const chunks: Buffer[] = [];
    ws.on('message', (data: Buffer, binary: boolean) => (binary ? chunks.push(data) : undefined));
    ws.on('error', reject);
    setTimeout(() => {
      ws.terminate();
      resolve(Buffer.concat(chunks));
    }, ms);
  });
}

/** What a player needs: FLV header, onMetaData, codec headers before media, the first picture a key frame. */
function assertPlayable(bytes: Buffer, what: string): FLVTag[] {
  assert.equal(bytes.subarray(0, 3).toString(), 'FLV', what);
  assert.equal(bytes[4]! & 0x05, 0x05, `${what}: audio and video flags`);
  const tags = readFLV(bytes);
  assert.ok(tags.length > 20, `${what}: ${tags.length} tags`);
  assert.equal(tags[0]!.type, 0x12, `${what}: metadata first`);
  assert.match(Buffer.from(tags[0]!.data).toString('latin1'), /onMetaData/);
  const firstVideo = tags.findIndex((tag) => tag.type === 0x09);
  assert.ok(isAVCSequenceHeader(tags[firstVideo]!.data), `${what}: AVC sequence header first`);
  const picture = tags.find((tag, i) => i > firstVideo && tag.type === 0x09)!;
  assert.ok(isKeyFrame(picture.data), `${what}: starts on a key frame`);
  const firstAudio = tags.findIndex((tag) => tag.type === 0x08);
  assert.ok(isAACSequenceHeader(tags[firstAudio]!.data), `${what}: AAC sequence header first`);
  // no sound before the first picture
  const pictureIndex = tags.indexOf(picture);
  assert.ok(
    tags.slice(0, pictureIndex).every((tag) => tag.type !== 0x08 || isAACSequenceHeader(tag.data)),
    `${what}: audio before the first picture`,
  );
  return tags;
}

test(
  'an RTMFP publication plays over HTTP-FLV and over WebSocket, from a key frame with its headers',
  { skip: hasFfmpeg ? false : FFMPEG_MISSING, timeout: 30_000 },
  async () => {
    const publisher = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/files`);
    try {
      const stream = await publisher.createNetStream();
      const started = stream.waitStatus('NetStream.Publish.Start');
      stream.publish('fromrtmfp');
      await started;
      const publishing = publishFlv(stream, readFLV(readSample()), 10);
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const [viaHttp, viaWs] = await Promise.all([
          watchHttp('/files/fromrtmfp.flv', 2_500),
          watchWebSocket('/files/fromrtmfp.flv', 2_500),
        ]);
        assert.equal(viaHttp.status, 200);
        assert.equal(viaHttp.headers['content-type'], 'video/x-flv');
        assert.equal(viaHttp.headers['transfer-encoding'], 'chunked');
        assertPlayable(viaHttp.bytes, 'HTTP-FLV');
        assertPlayable(viaWs, 'WebSocket FLV');
      } finally {
        await publishing.stop();
      }
    } finally {
      publisher.destroy();
    }
    const events = JSON.parse((await httpRequest(server.httpPort, '/events')).text)[0] as string[];
    assert.ok(events.includes('onSubscribe HTTP fromrtmfp'));
    assert.ok(events.includes('onSubscribe WebSocket fromrtmfp'));
  },
);

test('ffmpeg publishing over RTMP is played over HTTP-FLV', { skip: hasFfmpeg ? false : FFMPEG_MISSING, timeout: 30_000 }, async () => {
  const run = ffmpeg([
    '-re',
    '-stream_loop',
    '2',
    '-i',
    sampleFlv(),
    '-c',
    'copy',
    '-f',
    'flv',
    `rtmp://127.0.0.1:${server.rtmpPort}/files/fromrtmp`,
  ]);
  try {
    const deadline = Date.now() + 10_000;
    while (!server.server.core.publications.get('fromrtmp')?.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const viewed = await watchHttp('/files/fromrtmp.flv', 2_500);
    assert.equal(viewed.status, 200);
    assertPlayable(viewed.bytes, 'HTTP-FLV from RTMP');
  } finally {
    run.kill();
    await run.exit;
  }
});

test('client:onSubscribe refusing the stream: 403 over HTTP, close 1008 over WebSocket', async () => {
  const refused = await httpRequest(server.httpPort, '/files/forbidden.flv');
  assert.equal(refused.status, 403);
  assert.match(refused.text, /no rights to play it/);
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/files/forbidden.flv`);
  const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
  assert.equal(code, 1008);
});

test('a viewer that stops reading is dropped, its backlog bounded', { timeout: 30_000 }, async () => {
  const core = server.server.core;
  const outcome = core.publications.publish('flood');
  assert.ok(outcome.ok);
  const publication = outcome.publication;
  const socket = net.connect(server.httpPort, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /files/flood.flv HTTP/1.1\r\nHost: x\r\n\r\n');
  // read the headers, then stop reading
  await new Promise((resolve) => socket.once('data', resolve));
  socket.pause();
  const http = server.server.http!;
  const frame = new Uint8Array(256 * 1024);
  frame[0] = 0x17;
  frame[1] = 1;
  let time = 0;
  const rssBefore = process.memoryUsage().rss;
  const deadline = Date.now() + 20_000;
  while (http.stats.dropped === 0 && Date.now() < deadline) {
    publication.pushVideo((time += 40), frame);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  socket.destroy();
  core.publications.unpublish(publication);
  assert.equal(http.stats.dropped, 1, 'the viewer was dropped');
  assert.equal(http.stats.viewers, 0);
  assert.ok(process.memoryUsage().rss - rssBefore < 200 * 1024 * 1024, 'no unbounded buffering');
});

test('a WebSocket viewer that stops reading is dropped too', { timeout: 30_000 }, async () => {
  const core = server.server.core;
  const outcome = core.publications.publish('flood-ws');
  assert.ok(outcome.ok);
  const publication = outcome.publication;
  const http = server.server.http!;
  const droppedBefore = http.stats.dropped;
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/files/flood-ws.flv`);
  await new Promise((resolve) => ws.once('open', resolve));
  // stop reading: the kernel buffers fill, then the server's backlog grows
  (ws as unknown as { _socket: net.Socket })._socket.pause();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const frame = new Uint8Array(256 * 1024);
  frame[0] = 0x17;
  frame[1] = 1;
  let time = 0;
  const deadline = Date.now() + 20_000;
  while (http.stats.dropped === droppedBefore && Date.now() < deadline) {
    publication.pushVideo((time += 40), frame);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  core.publications.unpublish(publication);
  assert.equal(http.stats.dropped, droppedBefore + 1, 'the viewer was dropped');
  ws.terminate();
  await closed;
  assert.equal(http.stats.viewers, 0);
});
