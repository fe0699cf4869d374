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
