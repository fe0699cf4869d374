// Lua application lifecycle driven over UDP with the TypeScript client: onManage ticks, hot reload of an edited
// main.lua, require, inheritance, and an error storm that never stops the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer } from '../helpers/server.ts';
import { NetConnection, CallError } from '../../src/client/index.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/lua-udp/', import.meta.url));

/** clients of the running test: destroyed whatever happens, so a failing assertion cannot leave a socket open */
const opened: NetConnection[] = [];

async function connect(url: string): Promise<NetConnection> {
  const nc = await NetConnection.connect(url);
  opened.push(nc);
  return nc;
}

async function withCopy(body: (dir: string, url: (path?: string) => string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-lua-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const server = await startTestServer({ dir });
  try {
    await body(dir, (path = '') => `rtmfp://127.0.0.1:${server.port}/${path}`);
  } finally {
    for (const nc of opened.splice(0)) nc.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('onManage ticks for the application and for each connected client', async () => {
  await withCopy(async (_dir, url) => {
    const nc = await connect(url());
    let counts: [number, number] = [0, 0];
    for (let i = 0; i < 100 && !(counts[0] >= 2 && counts[1] >= 2); i++) {
      await new Promise((r) => setTimeout(r, 100));
      counts = (await nc.call('counts')) as [number, number];
    }
    assert.ok(counts[0] >= 2, `root onManage ran ${counts[0]} times`);
    assert.ok(counts[1] >= 2, `client:onManage ran ${counts[1]} times`);
    await nc.close();
  });
});

test('require, inheritance and super work over a real connection', async () => {
  await withCopy(async (_dir, url) => {
    const root = await connect(url());
    assert.deepEqual(await root.call('helper', 21), [42]);
    const child = await connect(url('child'));
    assert.deepEqual(await child.call('inherited'), ['hello child', 1, 'child', '/child']);
    await Promise.all([root.close(), child.close()]);
  });
});

test('an edited main.lua is rebuilt on the next connection', async () => {
  await withCopy(async (dir, url) => {
    const first = await connect(url());
    assert.deepEqual(await first.call('version'), [1]);
    const main = join(dir, 'www', 'main.lua');
    writeFileSync(main, readFileSync(main, 'utf8').replace('version = 1', 'version = 2'));
    const later = new Date(Date.now() + 5_000);
    utimesSync(main, later, later);
    const second = await connect(url());
    assert.deepEqual(await second.call('version'), [2]);
    await Promise.all([first.close(), second.close()]);
  });
});

test('a storm of Lua errors: every call fails cleanly and the server keeps serving', async () => {
  await withCopy(async (_dir, url) => {
    const nc = await connect(url());
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => nc.call(i % 2 ? 'boom' : 'nilIndex', i)));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof CallError);
      assert.equal(r.reason.status, 'NetConnection.Call.Failed');
    }
    assert.match((results[1] as PromiseRejectedResult).reason.message, /boom 1/);
    const other = await connect(url());
    assert.deepEqual(await other.call('helper', 2), [4]);
    await Promise.all([nc.close(), other.close()]);
  });
});
