import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeClient, setup, connectedApp } from './harness.ts';

const app = () => connectedApp('store');

test('data: numbers as strings, booleans, subtrees, nil, #, pairs, children and super.data', () => {
  const t = app();
  try {
    assert.deepEqual(t.call('suite'), ['ok']);
    assert.ok(t.logger.messages('error').some((m) => m.includes('Complex type exists already')));
  } finally {
    t.host.stop();
    t.cleanup();
  }
});

test('data survives a host restart', () => {
  const t = app();
  try {
    t.call('put', 'greeting', 'hello');
    t.call('put', 'n', 3.5);
    t.host.stop();
    const again = setup({ start: false });
    // same folder: a second host on the first one's www
    const { LuaApplicationHost } =
      t.host.constructor === undefined
        ? { LuaApplicationHost: null }
        : { LuaApplicationHost: t.host.constructor as new (o: object) => typeof t.host };
    const host2 = new LuaApplicationHost!({ wwwDir: t.www, logger: again.logger, server: again.server });
    host2.start();
    const c = new FakeClient('store');
    host2.onConnection(c, []);
    const r = host2.onCall(c, 'get', 1, ['greeting']);
    assert.deepEqual(r, { ok: true, results: ['hello'] });
    assert.deepEqual(host2.onCall(c, 'get', 1, ['n']), { ok: true, results: ['3.5'] });
    host2.stop();
    again.cleanup();
  } finally {
    t.cleanup();
  }
});

test('data written before a SIGKILL is read back by the next process', async () => {
  const t = setup({ start: false });
  try {
    const child = fileURLToPath(new URL('./data-child.ts', import.meta.url));
    const writer = spawn(process.execPath, ['--import', 'tsx', child, t.www, 'write'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      writer.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('written')) resolve();
      });
      writer.on('exit', () => reject(new Error('writer exited before writing')));
    });
    const exited = new Promise((r) => writer.on('exit', (_code, signal) => r(signal)));
    writer.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const out = execFileSync(process.execPath, ['--import', 'tsx', child, t.www, 'read'], { encoding: 'utf8' });
    const read = JSON.parse(out.trim().split('\n').pop()!) as Record<string, { ok: boolean; results: unknown[] }>;
    assert.deepEqual(read['count']!.results, ['41']);
    assert.deepEqual(read['flag']!.results, [true]);
    assert.deepEqual(read['deep']!.results, ['deep']);
    assert.deepEqual(read['k199']!.results, ['v199']);
    assert.ok((read['len']!.results[0] as number) >= 202);
  } finally {
    t.cleanup();
  }
});

test('a table assigned to data is one transaction: a SIGKILL in the middle of one leaves the previous or the next, never a mix', async () => {
  const t = setup({ start: false });
  try {
    const child = fileURLToPath(new URL('./data-child.ts', import.meta.url));
    for (const delayMs of [0, 7, 23]) {
      const writer = spawn(process.execPath, ['--import', 'tsx', child, t.www, 'tables', `r${delayMs}`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let last = 0;
      // killed a few assignments in, at a moment unrelated to their boundaries
      await new Promise<void>((resolve, reject) => {
        writer.stdout.on('data', (d: Buffer) => {
          for (const m of d.toString().matchAll(/gen (\d+)/g)) last = Number(m[1]);
          if (last >= 3) resolve();
        });
        writer.on('exit', () => reject(new Error('writer exited before writing')));
      });
      await new Promise((r) => setTimeout(r, delayMs));
      const exited = new Promise((r) => writer.on('exit', (_code, signal) => r(signal)));
      writer.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      const out = execFileSync(process.execPath, ['--import', 'tsx', child, t.www, 'readgen', `r${delayMs}`], { encoding: 'utf8' });
      const found = JSON.parse(out.trim().split('\n').pop()!) as Array<[number, string]>;
      // every committed assignment whole, the one the kill interrupted whole or absent: never part of one
      assert.ok(
        found.length >= last && found.length <= last + 1,
        `${found.length} tables for ${last} reported (killed after ${delayMs} ms)`,
      );
      found.forEach(([leaves, generations], i) => {
        assert.equal(leaves, 1000, `gen${i + 1}: all 1,000 leaves`);
        assert.equal(generations, `g${i + 1}`);
      });
    }
  } finally {
    t.cleanup();
  }
});
