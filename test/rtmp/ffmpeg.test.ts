// ffmpeg as the RTMP client: publishing to RTMFP players, playing what an RTMFP client publishes, and both
// ends over RTMP; payloads and timestamps compared tag by tag with the FLV the publisher read. Skipped only
// when ffmpeg is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FFMPEG_MISSING, ffmpeg, hasFfmpeg, readSample, sampleFlv, type FfmpegRun } from '../helpers/ffmpeg.ts';
import { player, publisher, sendTags, split, until, type Player } from '../streams/helpers.ts';
import { readFLV, isKeyFrame, type FLVTag } from '../../src/core/media/media.ts';

const skip = hasFfmpeg ? false : FFMPEG_MISSING;
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

interface Harness {
  server: TestServer;
  url(path: string): string;
  run(args: string[], timeoutMs?: number): FfmpegRun;
  players: Player[];
  dir: string;
}

async function withServer(body: (h: Harness) => Promise<void>, dir?: string): Promise<void> {
  const server = await startTestServer({ rtmp: true, dir });
  const runs: FfmpegRun[] = [];
  const players: Player[] = [];
  const out = mkdtempSync(join(tmpdir(), 'nimbus-rtmp-'));
  try {
    await body({
      server,
      url: (path) => `rtmp://127.0.0.1:${server.rtmpPort}/${path}`,
      run: (args, timeoutMs) => {
        const run = ffmpeg(args, timeoutMs);
        runs.push(run);
        return run;
      },
      players,
      dir: out,
    });
  } finally {
    for (const run of runs) run.kill();
    await Promise.all(runs.map((run) => run.exit));
    await Promise.all(players.map((p) => p.nc.close()));
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
}

const media = (tags: readonly FLVTag[], type: number) => tags.filter((t) => t.type === type);

function assertSameTags(received: ReadonlyArray<{ time: number; data: Uint8Array }>, source: readonly FLVTag[], what: string): void {
  assert.equal(received.length, source.length, `${what}: ${received.length} messages for ${source.length} source tags`);
  for (let i = 0; i < source.length; i++) {
    assert.equal(received[i]!.time, source[i]!.time, `${what} #${i} timestamp`);
    assert.ok(
      Buffer.from(received[i]!.data).equals(Buffer.from(source[i]!.data)),
      `${what} #${i} payload (${source[i]!.data.length} bytes)`,
    );
  }
}

test(
  'ffmpeg publishes over RTMP: RTMFP players get every audio and video payload and timestamp as in the file',
  { skip, timeout: 30_000 },
  async () => {
    const source = readFLV(readSample());
    await withServer(async (h) => {
      for (let i = 0; i < 2; i++) h.players.push(await player(h.server.port, 'fromffmpeg'));
      const run = h.run(['-re', '-i', sampleFlv(), '-c', 'copy', '-f', 'flv', h.url('live/fromffmpeg')]);
      assert.equal(await run.exit, 0, run.stderr());
      for (const p of h.players) {
        await until(() => p.statuses.includes('NetStream.Play.UnpublishNotify'), 'unpublish notification');
        assertSameTags(split(p.media, 9), media(source, 9), 'video');
        assertSameTags(split(p.media, 8), media(source, 8), 'audio');
        const metadata = p.data.find((d) => d.name === 'onMetaData');
        assert.ok(metadata, 'onMetaData relayed without @setDataFrame');
      }
    });
  },
);

test('an RTMFP client publishes: ffmpeg plays it over RTMP and writes the same tags', { skip, timeout: 30_000 }, async () => {
  const source = readFLV(readSample());
  await withServer(async (h) => {
    const output = join(h.dir, 'played.flv');
    const run = h.run(['-i', h.url('live/fromrtmfp'), '-c', 'copy', '-f', 'flv', '-y', output]);
    // ffmpeg is subscribed once the publication has a listener
    await until(() => (h.server.server.core.publications.get('fromrtmfp')?.listeners.size ?? 0) > 0, 'ffmpeg subscribed');
    const { nc, stream } = await publisher(h.server.port, 'fromrtmfp');
    try {
      // at the pace of the file, as a live source sends it
      const started = Date.now();
      for (const tag of source) {
        const wait = tag.time - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        sendTags(stream, [tag]);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      stream.close();
      assert.equal(await run.exit, 0, run.stderr());
    } finally {
      await nc.close();
    }
    const played = readFLV(readFileSync(output));
    assertSameTags(media(played, 9), media(source, 9), 'video');
    assertSameTags(media(played, 8), media(source, 8), 'audio');
  });
});

test(
  'ffmpeg publishes and ffmpeg plays, joining late: metadata and codec headers first, video from a key frame',
  { skip, timeout: 30_000 },
  async () => {
    const source = readFLV(readSample());
    await withServer(async (h) => {
      const output = join(h.dir, 'late.flv');
      const publishing = h.run(['-re', '-i', sampleFlv(), '-c', 'copy', '-f', 'flv', h.url('live/both')]);
      await until(() => h.server.server.core.publications.get('both')?.running === true, 'publishing');
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const playing = h.run(['-i', h.url('live/both'), '-c', 'copy', '-f', 'flv', '-y', output]);
      assert.equal(await publishing.exit, 0, publishing.stderr());
      assert.equal(await playing.exit, 0, playing.stderr());
      const played = readFLV(readFileSync(output));
      const video = media(played, 9);
      const audio = media(played, 8);
      assert.equal(played[0]!.type, 0x12, 'metadata first');
      assert.ok(Buffer.from(video[0]!.data).equals(Buffer.from(media(source, 9)[0]!.data)), 'AVC sequence header first');
      assert.ok(Buffer.from(audio[0]!.data).equals(Buffer.from(media(source, 8)[0]!.data)), 'AAC sequence header first');
      assert.ok(isKeyFrame(video[1]!.data), 'video starts on a key frame');
      // what follows is the tail of the file, byte for byte, with the deltas of the file
      const tail = (type: number, got: FLVTag[]) => {
        const all = media(source, type);
        const first = all.findIndex((t) => Buffer.from(t.data).equals(Buffer.from(got[1]!.data)));
        assert.ok(first > 0, `type ${type} found in the source`);
        const expected = all.slice(first, first + got.length - 1);
        assert.equal(got.length - 1, expected.length, `type ${type}: the rest of the file`);
        for (let i = 1; i < got.length; i++) {
          assert.ok(Buffer.from(got[i]!.data).equals(Buffer.from(expected[i - 1]!.data)), `type ${type} #${i}`);
          assert.equal(got[i]!.time - got[1]!.time, expected[i - 1]!.time - expected[0]!.time, `type ${type} #${i} delta`);
        }
      };
      tail(9, video);
      tail(8, audio);
    });
  },
);

test('a Lua application refusing: ffmpeg cannot publish or play', { skip, timeout: 30_000 }, async () => {
  await withServer(async (h) => {
    const publishing = h.run(['-re', '-i', sampleFlv(), '-c', 'copy', '-f', 'flv', h.url('rtmp/denied')]);
    assert.notEqual(await publishing.exit, 0);
    assert.match(publishing.stderr(), /publishing denied by the script|Publish\.Failed/);
    const playing = h.run(['-i', h.url('rtmp/hidden'), '-c', 'copy', '-f', 'flv', '-y', join(h.dir, 'x.flv')]);
    assert.notEqual(await playing.exit, 0);
    assert.match(playing.stderr(), /playing denied by the script|Play\.Failed/);
    const rejected = h.run(['-i', `${h.url('rtmp')}?reject=1/s`, '-c', 'copy', '-f', 'flv', '-y', join(h.dir, 'y.flv')]);
    assert.notEqual(await rejected.exit, 0);
    assert.match(rejected.stderr(), /rejected by the rtmp fixture|Connect\.Rejected/);
  }, FIXTURES);
});
