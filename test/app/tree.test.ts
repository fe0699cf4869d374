import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClient, setup } from './harness.ts';

function touch(file: string, content: string, seconds: number): void {
  writeFileSync(file, content);
  utimesSync(file, seconds, seconds);
}

test('child applications are built on their first connection; a folder without main.lua is served by its parent, a missing one is no application', () => {
  const t = setup();
  try {
    mkdirSync(join(t.www, 'nomain', 'deeper', 'still'), { recursive: true });
    t.connect(new FakeClient('nomain/deeper/still'));
    assert.ok(t.notes().includes('onConnection /nomain/deeper/still 0'));
    // as MonaServer: InvalidApp "Application /x doesn't exist", never served by the root
    assert.deepEqual(t.host.resolvePath('nomain/missing'), {
      ok: false,
      reason: "Application /nomain/missing doesn't exist",
      missing: true,
    });
    assert.equal(t.connect(new FakeClient('missing')).accepted, false);
    assert.ok(!t.notes().some((n) => n.startsWith('Games')));
    const a = t.connect(new FakeClient('Games'));
    assert.deepEqual(a, { accepted: true, info: { app: 'Games' } });
    // onStart is inherited from the root: called with the child's path
    assert.ok(t.notes().includes('onStart /Games'));
  } finally {
    t.cleanup();
  }
});

test('inheritance: parent globals, overrides, super, this, name, path, children, child by name', () => {
  const t = setup();
  try {
    const c = new FakeClient('Games/myGame');
    const a = t.connect(c);
    // Games is built before myGame, and myGame's onConnection called its parent's through super
    assert.deepEqual(a, { accepted: true, info: { app: 'Games', child: 'myGame' } });
    const notes = t.notes();
    assert.ok(notes.indexOf('onStart /Games') < notes.indexOf('myGame sees I am Games'));
    assert.ok(notes.includes('Games onConnection /Games/myGame'));
    const r = t.host.onCall(c, 'inheritance', 1, []);
    assert.deepEqual(r, {
      ok: true,
      results: ['I am myGame', 'I am Games', 'Games', 'myGame', 'I am myGame', 'myGame', '/Games/myGame', 'Games', true],
    });
    // a function defined by the parent runs in the parent's environment
    assert.deepEqual(t.host.onCall(c, 'whoami', 2, []), { ok: true, results: ['Games', 'Games', '/Games'] });
    // events the child does not define go to its parent (root onDisconnection)
    t.host.onDisconnection(c);
    assert.ok(t.notes().includes('onDisconnection /Games/myGame'));
  } finally {
    t.cleanup();
  }
});

test('hot reload: an edited main.lua is rebuilt on the next connection (onStop then onStart)', () => {
  const t = setup();
  try {
    const file = join(t.www, 'Games', 'main.lua');
    utimesSync(file, 1000, 1000);
    t.connect(new FakeClient('Games'));
    touch(file, 'function onConnection(client) return { version = 2 } end\n', 2000);
    const before = t.notes().length;
    const a = t.connect(new FakeClient('Games'));
    assert.deepEqual(a, { accepted: true, info: { version: 2 } });
    assert.deepEqual(t.notes().slice(before, before + 2), ['onStop /Games', 'onStart /Games']);
  } finally {
    t.cleanup();
  }
});

test('a deleted main.lua stops its application; shutdown stops children before their parent', () => {
  const t = setup();
  try {
    t.connect(new FakeClient('Games/myGame'));
    t.connect(new FakeClient('storm'));
    rmSync(join(t.www, 'storm', 'main.lua'));
    t.host.onManage();
    assert.ok(t.notes().includes('onStop /storm'));
    const before = t.notes().length;
    t.host.stop();
    assert.deepEqual(t.notes().slice(before), ['onStop /Games/myGame', 'onStop /Games', 'onStop ']);
  } finally {
    t.cleanup();
  }
});

test('require, dofile and loadfile look in the application folder, then its parents', () => {
  const t = setup();
  try {
    const c = new FakeClient('req');
    assert.equal(t.connect(c).accepted, true);
    const r = t.host.onCall(c, 'modules', 1, []);
    assert.equal(r.ok, true);
    const v = (r as { results: unknown[] }).results;
    assert.deepEqual(v.slice(0, 6), ['util from www', 'helper from req/sub', 'extra loaded', 'function', true, false]);
    assert.match(String(v[6]), /module 'missing' not found/);
    // nothing outside the applications folder
    const out = t.host.onCall(c, 'escape', 2, ['../../../../etc/passwd']);
    assert.deepEqual(out, { ok: true, results: [null, 'cannot open ../../../../etc/passwd'] });
    const abs = t.host.onCall(c, 'escape', 3, ['/etc/passwd']);
    assert.deepEqual(abs, { ok: true, results: [null, 'cannot open /etc/passwd'] });
  } finally {
    t.cleanup();
  }
});

test('connection paths cannot leave the applications folder', () => {
  const t = setup();
  try {
    mkdirSync(join(t.dir, 'outside'));
    writeFileSync(join(t.dir, 'outside', 'main.lua'), 'NOTE("outside ran")\n');
    symlinkSync(join(t.dir, 'outside'), join(t.www, 'link'));
    for (const path of [
      '..',
      '../outside',
      'a/../../outside',
      '%2e%2e/outside',
      '%2E%2E',
      '%252e%252e',
      '//etc',
      'a\\..\\..',
      'C:/x',
      'link',
      'link/x',
      'a%00b',
      '%zz',
    ]) {
      const a = t.connect(new FakeClient(path));
      assert.equal(a.accepted, false, path);
      assert.equal(t.host.resolvePath(path).ok, false, path);
    }
    assert.ok(!t.notes().includes('outside ran'));
    assert.ok(t.logger.messages('warn').some((m) => m.startsWith('connection refused')));
    assert.deepEqual(t.host.resolvePath('/Games/myGame/'), { ok: true, path: 'Games/myGame' });
    assert.deepEqual(t.host.resolvePath('Games%2FmyGame'), { ok: true, path: 'Games/myGame' });
  } finally {
    t.cleanup();
  }
});

test('a Lua error storm is logged and never stops the server or other clients', () => {
  const t = setup();
  try {
    const good = new FakeClient('storm');
    assert.equal(t.connect(good).accepted, true);
    for (let i = 0; i < 200; i++) {
      const bad = new FakeClient('storm');
      const a = t.connect(bad, 'crash');
      assert.equal(a.accepted, false);
      const r = t.host.onCall(good, 'boom', i + 1, []);
      assert.equal(r.ok, false);
      t.host.onManage();
    }
    assert.deepEqual(t.host.onCall(good, 'ok', 999, []), { ok: true, results: [200] });
    assert.ok(t.logger.lines.filter((l) => l.level === 'error' && l.msg.includes('manage failure')).length === 200);
    assert.equal(t.host.clientCount, 1);
  } finally {
    t.cleanup();
  }
});

test('a main.lua with a syntax error is logged and fails closed: connections are refused with the error until it is fixed', () => {
  const t = setup();
  try {
    writeFileSync(join(t.www, 'storm', 'main.lua'), 'function onConnection(client\n');
    const a = t.connect(new FakeClient('storm'));
    assert.equal(a.accepted, false);
    assert.match((a as { description: string }).description, /storm\/main\.lua:2:/);
    assert.ok(t.logger.lines.some((l) => l.level === 'error' && l.obj['app'] === '/storm' && /storm\/main\.lua:2:/.test(l.msg)));
    // fixed (a new mtime): served again
    touch(join(t.www, 'storm', 'main.lua'), 'x = 1\n', Date.now() / 1000 + 10);
    assert.equal(t.connect(new FakeClient('storm')).accepted, true);
  } finally {
    t.cleanup();
  }
});
