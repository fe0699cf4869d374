// A live stream in a real browser: the project's RTMFP client publishes a real H.264/AAC file (made by ffmpeg) and
// headless Chromium plays it with the player page of www/player (mpegts.js served by Nimbus), over HTTP-FLV and over
// WebSocket, for more than 5 s: the video's currentTime advances and frames are decoded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetConnection } from '../../src/client/index.ts';
import { readFLV } from '../../src/core/media/media.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FFMPEG_MISSING, hasFfmpeg, readSample } from '../helpers/ffmpeg.ts';
import { publishFlv, type FlvPublishing } from '../helpers/flv-publisher.ts';

const CHROMIUM = '/usr/bin/chromium';
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing: apt-get install chromium to run the browser test`
  : !hasFfmpeg
    ? FFMPEG_MISSING
    : false;

type BrowserContext = import('playwright-core').BrowserContext;

let server: TestServer;
let browser: BrowserContext;
let profile: string;
let publisher: NetConnection;
let publishing: FlvPublishing;

before(async () => {
  if (skip) return;
  server = await startTestServer({ dir: REPOSITORY, http: true });
  publisher = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/live`);
  const stream = await publisher.createNetStream();
  const started = stream.waitStatus('NetStream.Publish.Start');
  stream.publish('browser');
  await started;
  publishing = publishFlv(stream, readFLV(readSample()), 60);
  const { chromium } = await import('playwright-core');
  profile = mkdtempSync(join(tmpdir(), 'nimbus-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
});

after(async () => {
  if (skip) return;
  await publishing?.stop();
  publisher?.destroy();
  await browser?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function playsFor(transport: 'http' | 'ws'): Promise<void> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  try {
    await page.goto(`http://127.0.0.1:${server.httpPort}/player/index.html?app=live&stream=browser&transport=${transport}`);
    // the first decoded picture
    // page code as text: the test's TypeScript has no DOM types
    await page.waitForFunction("document.querySelector('video').currentTime > 0", null, { timeout: 15_000 });
    const first = await page.evaluate<number>("document.querySelector('video').currentTime");
    await page.waitForTimeout(5_500);
    const last = await page.evaluate<{ time: number; frames: number; state: string }>(`(() => {
      const video = document.querySelector('video');
      return { time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames, state: document.getElementById('state').textContent };
    })()`);
    assert.deepEqual(errors, []);
    assert.ok(last.time - first >= 4, `currentTime went from ${first} to ${last.time} in 5.5 s (${last.state})`);
    assert.ok(last.frames > 0, `decoded frames: ${last.frames}`);
  } finally {
    await page.close();
  }
}

test('the player page plays an RTMFP publication over HTTP-FLV for more than 5 s', { skip, timeout: 60_000 }, async () => {
  await playsFor('http');
});

test('the player page plays the same publication as FLV over WebSocket', { skip, timeout: 60_000 }, async () => {
  await playsFor('ws');
});
