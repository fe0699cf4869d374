// Issue 12, critical: an IHello with a deep or long path used to freeze the server (the application-path check
// cost the square of the depth and stat-ed every prefix: 33 ms for 575 segments, 3 s for 16 KB). Paths are now
// capped before any work, resolved in O(depth) stopping at the first missing folder, and the handshake does no
// filesystem work unless an application on the path defines onHandshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetConnection } from '../../src/client/index.ts';
import { MAX_PATH_DEPTH, MAX_PATH_LENGTH } from '../../src/app/tree.ts';
import { FakeClient, setup } from '../app/harness.ts';
import { iHello } from '../helpers/flood.ts';
import { startTestServer } from '../helpers/server.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** 575 segments, about 1.2 KB: 33 ms per IHello before the fix */
const DEEP = Array.from({ length: 575 }, () => 'a').join('/');
/** 16 KB: 3 s per IHello before the fix */
const LONG = Array.from({ length: 8192 }, () => 'b').join('/');

/** Median cost of `fn` in ms over `n` runs (after a warm-up): robust to a loaded machine's scheduling and GC. */
function medianMs(n: number, fn: () => void): number {
  for (let i = 0; i < 5; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

test('paths beyond the length or depth cap are refused before any work, with their reason', () => {
  const t = setup();
  try {
    const tree = t.host.tree;
    const deepest = Array.from({ length: MAX_PATH_DEPTH }, (_, i) => `s${i}`).join('/');
    // the caps are the syntax part (parsePath); checkPath then refuses folders that do not exist (InvalidApp)
    assert.deepEqual(tree.parsePath(deepest), { ok: true, path: deepest });
    assert.deepEqual(tree.checkPath(deepest), { ok: false, reason: `Application /${deepest} doesn't exist`, missing: true });
    assert.deepEqual(tree.checkPath(`${deepest}/one-more`), { ok: false, reason: 'path too deep' });
    assert.deepEqual(tree.parsePath('x'.repeat(MAX_PATH_LENGTH)), { ok: true, path: 'x'.repeat(MAX_PATH_LENGTH) });
    assert.deepEqual(tree.checkPath('x'.repeat(MAX_PATH_LENGTH + 1)), { ok: false, reason: 'path too long' });
    assert.deepEqual(tree.checkPath(DEEP), { ok: false, reason: 'path too long' }); // 1,149 characters
    assert.deepEqual(tree.checkPath(DEEP.slice(0, 199)), { ok: false, reason: 'path too deep' }); // 100 segments
    assert.deepEqual(tree.checkPath(LONG), { ok: false, reason: 'path too long' });
    // a connection on such a path is refused, and its log line does not carry the whole path
    const refused = t.connect(new FakeClient(LONG));
    assert.equal(refused.accepted, false);
    const line = t.logger.lines.find((l) => l.msg.includes('connection refused'))?.obj;
    assert.ok(line, 'the refusal is logged');
    assert.ok(String(line.path).length < 400, `logged path is clipped (${String(line.path).length} characters)`);
  } finally {
    t.cleanup();
  }
});

test('onHandshake with a 575-segment and a 16 KB path costs under 1 ms each (the root defines onHandshake)', () => {
  const t = setup();
  try {
    // the fixture root defines onHandshake: the worst case, where the path is really resolved
    assert.ok(t.host.onHandshake('127.0.0.1:7000', 'nomain', {}, 1));
    const deep = medianMs(50, () => t.host.onHandshake('127.0.0.1:7000', DEEP, {}, 1));
    const long = medianMs(20, () => t.host.onHandshake('127.0.0.1:7000', LONG, {}, 1));
    // deepest accepted path on folders that do not exist: the walk stops at the first missing one
    const capped = Array.from({ length: MAX_PATH_DEPTH }, (_, i) => `missing${i}`).join('/');
    let n = 0;
    const fresh = medianMs(200, () => t.host.onHandshake('127.0.0.1:7000', `${capped}${n++}`, {}, 1));
    assert.ok(deep < 1, `575 segments: ${deep.toFixed(3)} ms`);
    assert.ok(long < 1, `16 KB: ${long.toFixed(3)} ms`);
    assert.ok(fresh < 1, `${MAX_PATH_DEPTH} segments, a new path each time: ${fresh.toFixed(3)} ms`);
  } finally {
    t.cleanup();
  }
});

test('no filesystem work on the handshake when no application on the path defines onHandshake', () => {
  const t = setup({ start: false });
  try {
    writeFileSync(join(t.www, 'main.lua'), 'function onConnection(client) return {} end\n');
    mkdirSync(join(t.www, 'child', 'x'), { recursive: true });
    writeFileSync(join(t.www, 'child', 'main.lua'), 'function onConnection(client) return { child = true } end\n');
    t.host.start();
    const loaded = () => [...t.host.tree.applications()].map((a) => a.path).sort();
    assert.deepEqual(t.host.onHandshake('127.0.0.1:7000', 'child/x', {}, 1), []);
    // the child application was not looked for (which stat-s its folder): it is still not loaded
    assert.deepEqual(loaded(), ['']);
    assert.equal(t.connect(new FakeClient('child/x')).accepted, true);
    assert.deepEqual(loaded(), ['', '/child']);
  } finally {
    t.cleanup();
  }
});

// The whole packet (startup checksum, chunk parsing, cookie HMAC, answer sealed and sent) costs about 0.25 ms
// here on an idle machine, deep path or not; the bound leaves room for a loaded one and still catches 33 ms.
test(
  'a live server under deep-path IHellos: each costs under 2 ms server-side and a real client still calls',
  { timeout: 60_000 },
  async () => {
    // the per-address startup budget lifted: this measures what each IHello handled costs (flood.test.ts the budget)
    const server = await startTestServer({ dir: FIXTURES, args: ['--RTMFP.startupPacketsPerSecond=1000000'] });
    const clients: NetConnection[] = [];
    try {
      const rtmfp = server.server.rtmfp;
      const from = { host: '127.0.0.1', port: 40_000 };
      const deep = iHello(`rtmfp://127.0.0.1:${server.port}/${DEEP}`);
      const long = iHello(`rtmfp://127.0.0.1:${server.port}/${LONG}`);
      const malformedBefore = rtmfp.stats.malformed;
      // onDatagram is synchronous: this is the whole server-side cost of each packet
      const deepMs = medianMs(64, () => rtmfp.onDatagram(deep, from));
      const longMs = medianMs(64, () => rtmfp.onDatagram(long, from));
      assert.ok(deepMs < 2, `575-segment IHello: ${deepMs.toFixed(3)} ms`);
      assert.ok(longMs < 2, `16 KB IHello: ${longMs.toFixed(3)} ms`);
      // the 16 KB one is dropped unread, counted as malformed
      assert.ok(rtmfp.stats.malformed - malformedBefore >= 64, 'oversized URLs counted as malformed');

      const nc = await NetConnection.connect(`rtmfp://127.0.0.1:${server.port}/`, { timeoutMs: 10_000 });
      clients.push(nc);
      assert.equal(nc.connectInfo?.code, 'NetConnection.Connect.Success');
      const started = performance.now();
      await nc.call('echo', 1);
      assert.ok(performance.now() - started < 2_000, 'the call is answered promptly');
    } finally {
      for (const nc of clients) nc.destroy();
      await server.close();
    }
  },
);

test(
  'connects with a huge path: refused, logged once per interval, clipped (a 1 MiB path was one 1 MiB log line)',
  { timeout: 60_000 },
  async () => {
    const { startLoggedServer } = await import('../helpers/logged-server.ts');
    const { CallError } = await import('../../src/client/index.ts');
    const s = await startLoggedServer();
    try {
      const tcUrl = `rtmfp://127.0.0.1:${s.port}/${'p'.repeat(256 * 1024)}`;
      for (let i = 0; i < 3; i++) {
        await assert.rejects(NetConnection.connect(s.url, { properties: { tcUrl }, timeoutMs: 10_000 }), (error: unknown) => {
          assert.ok(error instanceof CallError, String(error));
          assert.equal(error.status, 'NetConnection.Connect.InvalidApp');
          return true;
        });
      }
      const lines = s.lines('connection path rejected');
      assert.equal(lines.length, 1, 'three refusals, one line');
      assert.ok(String(lines[0]!.path).length < 400, `clipped path: ${String(lines[0]!.path).length} characters`);
      assert.ok(s.bytes() < 16 * 1024, `whole log: ${s.bytes()} bytes`);
    } finally {
      await s.close();
    }
  },
);
