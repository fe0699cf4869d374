// The inspector read at a glance, in headless Chromium against a real server with real client sessions: the
// stream view (publisher, listeners, kbit/s, drops split, sortable), folded sessions for hundreds of clients,
// what flows and writers carry with their own numbers, statecharts that fit and show where the actor is,
// moves that can happen now, the event list's filters, pause and export, and ended actors frozen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetConnection, type NetStream } from '../../src/client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install chromium (.ci/run does) to run the browser test`;

type BrowserContext = import('playwright-core').BrowserContext;
type Page = import('playwright-core').Page;

let server: TestServer;
let browser: BrowserContext;
let profile: string;
let url: string;
const clients: NetConnection[] = [];
const timers: Array<ReturnType<typeof setInterval>> = [];

/** Synthetic H.264/AAC-shaped media: 25 frames a second, a key frame each second, audio with every frame. */
function feed(stream: NetStream): void {
  let time = 0;
  const audio = new Uint8Array(120).fill(1);
  audio[0] = 0xaf;
  timers.push(
    setInterval(() => {
      time += 40;
      const frame = new Uint8Array(1000).fill(2);
      frame[0] = time % 1000 === 0 ? 0x17 : 0x27;
      frame[1] = 1;
      stream.sendVideo(time, frame);
      stream.sendAudio(time, audio);
    }, 40),
  );
}

async function connect(): Promise<NetConnection> {
  const client = await NetConnection.connect(url);
  clients.push(client);
  return client;
}

async function play(name: string): Promise<NetConnection> {
  const client = await connect();
  const stream = await client.createNetStream();
  const started = stream.waitStatus('NetStream.Play.Start');
  stream.play(name);
  await started;
  return client;
}

/** session:N of the server side of a client, by its address as the server sees it. */
function sessionName(client: NetConnection): string {
  const port = (client as unknown as { socket: { address(): { port: number } } }).socket.address().port;
  const session = [...server.server.rtmfp.sessions.values()].find((s) => s.address.port === port);
  assert.ok(session, 'the server knows the client');
  return `session:${session.nearId}`;
}

before(async () => {
  if (skip) return;
  server = await startTestServer({ args: ['--inspector.enabled=true', '--inspector.port=0'] });
  url = `rtmfp://127.0.0.1:${server.port}/live`;
  const { chromium } = await import('playwright-core');
  profile = mkdtempSync(join(tmpdir(), 'nimbus-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1500, height: 1000 },
    acceptDownloads: true,
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
  // camera1: a publisher with media and two listeners, the second joining between key frames
  const publisher = await connect();
  const stream = await publisher.createNetStream();
  const started = stream.waitStatus('NetStream.Publish.Start');
  stream.publish('camera1');
  await started;
  feed(stream);
  await play('camera1');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await play('camera1');
});

after(async () => {
  if (skip) return;
  for (const timer of timers) clearInterval(timer);
  for (const client of clients) client.destroy();
  await browser?.close();
  await server?.close();
  rmSync(profile, { recursive: true, force: true });
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  await page.goto(server.server.inspector!.url);
  await page.locator('#link.up').waitFor();
  return page;
}

function shot(page: Page, name: string): Promise<Buffer> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return page.screenshot({ path: join(ARTIFACTS, name) });
}

test(
  'streams: each publication with its publisher and listeners, kbit/s and drops split, sortable',
  { skip, timeout: 90_000 },
  async () => {
    const page = await openPage();
    await page.click('#tab-streams');
    const stream = page.locator('#streams-table tr.stream[data-name="camera1"]');
    await stream.waitFor({ timeout: 10_000 });
    const listeners = page.locator('#streams-table tr.listener');
    await page.waitForFunction(`document.querySelectorAll('#streams-table tr.listener').length === 2`, null, { timeout: 10_000 });
    const publisherCell = await stream.locator('td').nth(2).innerText();
    assert.match(publisherCell, /^session:\d+$/);
    // media flows: kbit/s in for the publication and out for each listener
    await page.waitForFunction(
      `[...document.querySelectorAll('#streams-table tr.listener td:nth-child(4)')].every((td) => Number(td.textContent) > 50)`,
      null,
      { timeout: 10_000 },
    );
    // the late listener skipped frames until a key frame; nobody is congested on loopback
    const skipped = async (): Promise<number[]> => (await listeners.locator('td:nth-child(7)').allInnerTexts()).map(Number);
    assert.ok(
      (await skipped()).some((n) => n > 0),
      `skipped until key frame: ${(await skipped()).join(', ')}`,
    );
    assert.deepEqual((await listeners.locator('td:nth-child(8)').allInnerTexts()).map(Number), [0, 0]);

    // a listener whose client vanishes without a word: its backlog grows until media is dropped for congestion
    const stalled = await play('camera1');
    const stalledName = sessionName(stalled);
    stalled.destroy('stalled');
    await page.waitForFunction(
      `[...document.querySelectorAll('#streams-table tr.listener')].some((tr) => tr.dataset.session === ${JSON.stringify(stalledName)} && Number(tr.children[7].textContent) > 0)`,
      null,
      { timeout: 40_000 },
    );

    // sorting by "skipped until key frame": most first, then least first
    await page.click('#streams-table th[data-sort="skipped"]');
    let order = await skipped();
    assert.deepEqual(
      order,
      [...order].sort((a, b) => b - a),
      'descending',
    );
    await page.click('#streams-table th[data-sort="skipped"]');
    order = await skipped();
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'ascending',
    );
    await shot(page, 'inspector-streams.png');

    // a listener's row opens that listener in the actor view
    await page.locator(`#streams-table tr.listener:not([data-session="${stalledName}"])`).first().click();
    await page.locator('#actors-view:not([hidden]) #sel-kind.listener').waitFor({ timeout: 10_000 });
    const facts = await page.locator('#facts').innerText();
    assert.match(facts, /skipped until key frame/);
    assert.match(facts, /dropped: congestion/);
    assert.match(facts, /audio, video, data of camera1 to session:\d+/);
    await page.close();
  },
);

test('sessions fold their flows and writers; unfolded, each says what it carries and shows its own numbers', { skip }, async () => {
  const page = await openPage();
  const player = sessionName(clients[1]!);
  const row = page.locator(`.row[data-name="${player}"]`);
  await row.waitFor({ timeout: 10_000 });
  await assert.doesNotReject(row.locator('.folded', { hasText: /flows? · \d+ writers?/ }).waitFor({ timeout: 10_000 }));
  assert.match(await row.locator('.label').innerText(), /kbit\/s/, 'sessions show kbit/s');
  assert.equal(await page.locator('.row .kind.flow').count(), 0, 'folded: no flow listed');

  await row.locator('.toggle').click();
  const item = row.locator('xpath=..');
  const flow = item.locator('.row', { hasText: 'NetStream 1 plays camera1' }).first();
  await flow.waitFor({ timeout: 10_000 });
  const video = item.locator('.row', { has: page.locator('.kind.writer'), hasText: 'video of camera1' }).first();
  await video.click();
  await page.locator('#sel-kind.writer').waitFor();
  await page.waitForFunction(`/in flight/.test(document.getElementById('facts').textContent)`, null, { timeout: 10_000 });
  const facts = await page.locator('#facts').innerText();
  for (const name of ['carries', 'queued (messages)', 'in flight (fragments)', 'retransmissions', 'kbit/s', 'signature', 'meaning']) {
    assert.ok(facts.includes(name), `writer fact ${name}: ${facts}`);
  }
  assert.match(facts, /video of camera1/);
  assert.match(facts, /NetStream 1/);
  await shot(page, 'inspector-writer.png');

  await flow.click();
  await page.locator('#sel-kind.flow').waitFor();
  await page.waitForFunction(`/fragments in/.test(document.getElementById('facts').textContent)`, null, { timeout: 10_000 });
  assert.match(await page.locator('#facts').innerText(), /NetStream 1 plays camera1/);
  await page.close();
});

test('a statechart fits its panel, shows the current state, zooms; "next" lists only moves possible now', { skip }, async () => {
  const page = await openPage();
  const name = sessionName(clients[0]!);
  await page.locator(`.row[data-name="${name}"]`).click();
  await page.locator('#chart svg.statechart[data-machine="session"]').waitFor({ timeout: 10_000 });
  await page.locator('#next li').first().waitFor({ timeout: 10_000 });
  const inside = async (selector: string): Promise<boolean> =>
    (await page.evaluate(`(() => {
      const panel = document.getElementById('chart').getBoundingClientRect();
      return [...document.querySelectorAll(${JSON.stringify(selector)})].every((e) => {
        const r = e.getBoundingClientRect();
        return r.left >= panel.left - 1 && r.right <= panel.right + 1 && r.top >= panel.top - 1 && r.bottom <= panel.bottom + 1;
      });
    })()`)) === true;
  // the current states (one per parallel region) are in view, whatever the chart's size
  assert.ok(await inside('#chart .state.active.atomic'), 'current states visible');
  const svgBox = await page.locator('#chart svg').boundingBox();
  const panelBox = await page.locator('#chart').boundingBox();
  assert.ok(svgBox && panelBox && svgBox.width <= panelBox.width + 1, 'the drawing never overflows the panel');

  const viewBox = async (): Promise<number[]> => ((await page.locator('#chart svg').getAttribute('viewBox')) ?? '').split(' ').map(Number);
  await page.click('#chart-fit');
  assert.ok(await inside('#chart .state'), 'fit: every state in the panel');
  const fitted = await viewBox();
  await page.click('#chart-in');
  const zoomed = await viewBox();
  assert.ok(zoomed[2]! < fitted[2]!, 'zoomed in');
  await page.mouse.move(panelBox.x + panelBox.width / 2, panelBox.y + panelBox.height / 2);
  await page.mouse.down();
  await page.mouse.move(panelBox.x + panelBox.width / 2 + 100, panelBox.y + panelBox.height / 2);
  await page.mouse.up();
  assert.ok((await viewBox())[0]! < zoomed[0]! - 50, 'dragged to the right: the view moved left');
  await page.click('#chart-current');
  assert.ok(await inside('#chart .state.active.atomic'));

  // connected and alive: no handshake move, one keepalive outcome (its guard decided now), closing moves
  const next = await page.locator('#next li').allInnerTexts();
  assert.ok(!next.some((t) => t.startsWith('KEYED')), next.join(' | '));
  assert.equal(next.filter((t) => t.startsWith('after keepAlive')).length, 1, next.join(' | '));
  assert.ok(
    next.some((t) => t.startsWith('CLOSE')),
    next.join(' | '),
  );
  await shot(page, 'inspector-statechart.png');
  await page.close();
});

test('events: timer ticks hidden by default, filter by kind, pause, export as JSON', { skip }, async () => {
  const page = await openPage();
  const rows = page.locator('#events tbody tr:not(.empty):not(.notice)');
  await rows.first().waitFor({ timeout: 10_000 });
  await page.waitForTimeout(1500);
  assert.equal(await rows.filter({ hasText: 'received timer' }).count(), 0, 'no timer tick by default');
  // writers awaiting acks tick many times a second while media flows
  await page.check('#feed-timers');
  await rows.filter({ hasText: 'received timer' }).first().waitFor({ timeout: 10_000 });
  await page.uncheck('#feed-timers');
  await page.waitForFunction(
    `![...document.querySelectorAll('#events td')].some((td) => td.textContent.includes('received timer'))`,
    null,
    {
      timeout: 10_000,
    },
  );

  // only state changes
  for (const type of ['created', 'event', 'ended']) await page.uncheck(`.feed-type[value="${type}"]`);
  await page.waitForFunction(`![...document.querySelectorAll('#events td')].some((td) => /^received /.test(td.textContent))`, null, {
    timeout: 10_000,
  });
  for (const type of ['created', 'event', 'ended']) await page.check(`.feed-type[value="${type}"]`);

  // pause: the list stands still while events keep coming (a new client connects), then catches up
  await page.click('#feed-pause');
  const frozen = await rows.allInnerTexts();
  const newcomer = sessionName(await connect());
  await page.locator('#feed-note', { hasText: /paused: [1-9]\d* new events/ }).waitFor({ timeout: 10_000 });
  assert.deepEqual(await rows.allInnerTexts(), frozen);
  await page.click('#feed-pause');
  // the new session's very first entries too (it was not yet known to the page's last tree)
  await rows.filter({ hasText: newcomer }).filter({ hasText: 'created' }).first().waitFor({ timeout: 10_000 });

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#feed-export')]);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8')) as { entries: Array<{ type: string; event?: string }> };
  assert.ok(exported.entries.length > 0);
  assert.ok(
    !exported.entries.some((e) => e.type === 'event' && e.event?.startsWith('xstate.after.')),
    'exported as listed: no timer ticks',
  );
  await shot(page, 'inspector-events.png');
  await page.close();
});

test('an ended session keeps its age, and its flows and writers show as ended', { skip }, async () => {
  const page = await openPage();
  const leaving = await play('camera1');
  const name = sessionName(leaving);
  const row = page.locator(`.row[data-name="${name}"]`);
  await row.waitFor({ timeout: 10_000 });
  await row.locator('.toggle').click();
  const children = row.locator('xpath=..').locator('ul .row');
  await children.first().waitFor({ timeout: 10_000 });
  await leaving.close();
  await row.locator('.pill', { hasText: 'closed' }).waitFor({ timeout: 10_000 });
  await page.waitForFunction(
    `(() => {
      const rows = [...document.querySelector('.row[data-name="${name}"]').parentElement.querySelectorAll('ul .row')];
      return rows.length > 0 && rows.every((r) => r.dataset.status !== 'active');
    })()`,
    null,
    { timeout: 10_000 },
  );
  const age = async (): Promise<number | undefined> => {
    const response = await fetch(new URL('/api/tree', server.server.inspector!.url));
    const tree = (await response.json()) as { nodes: Array<{ name: string; age: number; status: string }> };
    return tree.nodes.find((n) => n.name === name && n.status !== 'active')?.age;
  };
  const first = await age();
  await new Promise((resolve) => setTimeout(resolve, 2100));
  assert.equal(await age(), first, 'age frozen at the end');
  await page.close();
});

test(
  'hundreds of sessions stay readable: one folded row each, counts per state, a filter finds one',
  { skip, timeout: 120_000 },
  async () => {
    const many: NetConnection[] = [];
    for (let i = 0; i < 200; i += 25) many.push(...(await Promise.all(Array.from({ length: 25 }, () => connect()))));
    const page = await openPage();
    await page.waitForFunction(`document.querySelectorAll('.row .kind.session').length >= 200`, null, { timeout: 30_000 });
    assert.equal(await page.locator('.row .kind.flow').count(), 0, 'flows folded under their sessions');
    assert.match(await page.locator('#tree-note').innerText(), /folded under their session/);
    assert.match(await page.locator('#counts').innerText(), /SESSION 2\d\d/);
    await shot(page, 'inspector-200-sessions.png');
    const one = sessionName(many[150]!);
    await page.fill('#filter-text', one);
    await page.waitForFunction(`document.querySelectorAll('.row .kind.session').length === 1`, null, { timeout: 10_000 });
    // a filter lists matches wherever they are: this session's flow too
    await page.locator('.row .kind.flow').first().waitFor({ timeout: 10_000 });
    await page.close();
  },
);
