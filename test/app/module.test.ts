// Lua 5.1 module() and package.seeall on fengari, through the host: test/fixtures/module/www.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LuaApplicationHost } from '../../src/app/host.ts';
import { captureLogger, FakeClient, FakeServer } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/module/www', import.meta.url));

function started() {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-module-'));
  const www = join(dir, 'www');
  cpSync(FIXTURE, www, { recursive: true });
  const logger = captureLogger();
  const host = new LuaApplicationHost({ wwwDir: www, logger, server: new FakeServer(), dataFile: ':memory:' });
  host.start();
  const client = new FakeClient();
  assert.equal(host.onConnection(client, []).accepted, true);
  const call = (name: string, txn = 1) => host.onCall(client, name, txn, []);
  return { www, host, logger, client, call, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('module("util.strings", package.seeall): package.loaded, the global path, _NAME/_M/_PACKAGE, require returns it', () => {
  const t = started();
  try {
    assert.deepEqual(t.logger.messages('error'), []);
    // globals assigned after module() land in the module, not in the application
    assert.deepEqual(t.call('strings'), { ok: true, results: ['ABC!', true, true, 'util.strings', 'util.', true, 1, null] });
  } finally {
    t.cleanup();
  }
});

test('package.seeall: the module sees the application; a function defined before module() keeps its environment', () => {
  const t = started();
  try {
    assert.deepEqual(t.call('sees'), { ok: true, results: ['function', 'function', 'function', 'function'] });
  } finally {
    t.cleanup();
  }
});

test('module(...) without seeall sees no globals; require passes the file name, which is skipped', () => {
  const t = started();
  try {
    assert.deepEqual(t.call('plain'), { ok: true, results: [true, 'in plain', null, 'nil', 'nil', 'nil', 'in plain', 'plain', ''] });
  } finally {
    t.cleanup();
  }
});

test('module() from a C function, and a name whose path holds a non-table, raise errors', () => {
  const t = started();
  try {
    const r = t.call('misuse');
    assert.equal(r.ok, true);
    const [fromC, conflict] = (r as { results: unknown[] }).results;
    assert.match(String(fromC), /'module' not called from a Lua function/);
    assert.match(String(conflict), /name conflict for module 'taken.sub'/);
  } finally {
    t.cleanup();
  }
});

test('a rebuilt application finds its module tables loaded and gets the global path again', () => {
  const t = started();
  try {
    const main = join(t.www, 'main.lua');
    utimesSync(main, 2_000_000_000, 2_000_000_000);
    const again = new FakeClient();
    assert.equal(t.host.onConnection(again, []).accepted, true);
    assert.ok(t.logger.messages('debug').filter((m) => m === 'application started').length >= 2);
    assert.deepEqual(t.host.onCall(again, 'strings', 1, []), {
      ok: true,
      results: ['ABC!', true, true, 'util.strings', 'util.', true, 1, null],
    });
    assert.deepEqual(t.host.onCall(again, 'sees', 2, []), { ok: true, results: ['function', 'function', 'function', 'function'] });
  } finally {
    t.cleanup();
  }
});
