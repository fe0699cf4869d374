// The inspector page in headless Chromium against a real server carrying real client sessions, a
// publication and a group: sessions listed with their state, one seen closing, a statechart highlighted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetConnection } from '../../src/client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install chromium (.ci/run does) to run the browser test`;

type BrowserContext = import('playwright-core').BrowserContext;
type Page = import('playwright-core').Page;

let server: TestServer;
let browser: BrowserContext;
let profile: string;
const clients: NetConnection[] = [];

before(async () => {
  if (skip) return;
  server = await startTestServer({ args: ['--inspector.enabled=true', '--inspector.port=0'] });
  const { chromium } = await import('playwright-core');
  profile = mkdtempSync(join(tmpdir(), 'nimbus-chromium-'));
  // a fresh profile directory every run (playwright passes it as --user-data-dir)
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1500, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  if (skip) return;
  for (const client of clients) client.destroy();
  await browser?.close();
  await server?.close();
  rmSync(profile, { recursive: true, force: true });
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  await page.goto(server.server.inspector!.url);
  return page;
}

async function rowOf(page: Page, name: string) {
  const row = page.locator(`.row[data-name="${name}"]`);
  await row.first().waitFor({ timeout: 10_000 });
  return row.first();
}

test('sessions appear with their state, one closes, a statechart highlights the current state', { skip }, async () => {
  const url = `rtmfp://127.0.0.1:${server.port}/live`;
  for (let i = 0; i < 3; i++) clients.push(await NetConnection.connect(url));
  // a publication and a group, so the page shows more than sessions
  const publisher = clients[0]!;
  const stream = await publisher.createNetStream();
  const started = stream.waitStatus('NetStream.Publish.Start');
  stream.publish('camera1');
  await started;
  clients[1]!.joinGroup('ab'.repeat(32));

  const page = await openPage();
  assert.equal(await page.title(), 'Nimbus inspector');
  await page.locator('#link.up').waitFor();

  const sessions = [...server.server.rtmfp.sessions.values()].map((s) => `session:${s.nearId}`);
  assert.equal(sessions.length, 3);
  for (const name of sessions) {
    const row = await rowOf(page, name);
    await assert.doesNotReject(row.locator('.pill', { hasText: 'connected' }).waitFor({ timeout: 10_000 }));
  }
  // flows sit under their session, folded until it is unfolded
  const firstSession = await rowOf(page, sessions[0]!);
  await firstSession.locator('.toggle').click();
  const sessionItem = firstSession.locator('xpath=..');
  await sessionItem.locator('.row .kind.flow').first().waitFor({ timeout: 10_000 });

  // the filter keeps the matching session and drops the others
  await page.fill('#filter-text', sessions[1]!);
  await page.locator(`.row[data-name="${sessions[0]}"]`).waitFor({ state: 'detached', timeout: 10_000 });
  await rowOf(page, sessions[1]!);
  await page.fill('#filter-text', '');
  await rowOf(page, sessions[0]!);

  // one client leaves: its session is seen closing, then closed
  const leaving = clients.pop()!;
  const leavingName = sessions[2]!;
  await leaving.close();
  await page.locator(`.row[data-name="${leavingName}"] .pill`, { hasText: 'closed' }).waitFor({ timeout: 10_000 });

  // select a live session: its statechart with the current state highlighted, and its numbers
  await (await rowOf(page, sessions[0]!)).click();
  await page.locator('#chart svg.statechart[data-machine="session"]').waitFor({ timeout: 10_000 });
  const active = await page.locator('#chart .state.active').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-state')));
  assert.ok(active.includes('session.open'), `active states: ${active.join(', ')}`);
  assert.ok(active.includes('session.open.connection.connected'), `active states: ${active.join(', ')}`);
  assert.match(await page.locator('#facts').innerText(), /RTT/);
  await page.locator('#next li').first().waitFor();

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'inspector.png'), fullPage: true });
  await page.close();
});

test('a page that reconnects is told what it missed and catches up', { skip }, async () => {
  const page = await openPage();
  await page.locator('#link.up').waitFor();
  const url = `rtmfp://127.0.0.1:${server.port}/live`;
  const client = await NetConnection.connect(url);
  clients.push(client);
  const name = [...server.server.rtmfp.sessions.values()].map((s) => `session:${s.nearId}`).at(-1)!;
  await rowOf(page, name);
  // drop the socket from the page side; it reconnects by itself with the last sequence number it saw
  await page.evaluate('state.socket.close()');
  await page.locator('#link.up').waitFor({ timeout: 10_000 });
  await page.locator('#events tbody tr:not(.empty)').first().waitFor({ timeout: 10_000 });
  await page.close();
});
