import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.ts';
import { LuaApplicationHost } from '../../src/app/host.ts';
import { FIXTURES, FakeClient, FakeServer } from './harness.ts';

test('the server logger (pino with NOTE/CRITIC levels) receives script logs with app and source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-www-'));
  try {
    cpSync(FIXTURES, join(dir, 'www'), { recursive: true });
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const logger = createLogger({ level: 'trace', pretty: 'false', destination: out });
    const host = new LuaApplicationHost({ wwwDir: join(dir, 'www'), logger, server: new FakeServer() });
    host.start();
    const c = new FakeClient('api');
    host.onConnection(c, []);
    host.onCall(c, 'log', 1, []);
    await new Promise((r) => setImmediate(r));
    const lines = chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const note = lines.find((l) => l['msg'] === 'note from api')!;
    assert.equal(note['level'], 35);
    assert.equal(note['app'], '/api');
    assert.equal(note['source'], 'www/api/main.lua:30');
    assert.ok(lines.some((l) => l['level'] === 55 && l['msg'] === 'critic'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
