import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient, FakeWriter, setup } from './harness.ts';
import { TypedObject, AMFDictionary, MixedArray } from '../../src/flash/amf/types.ts';

function connected(path = '') {
  const t = setup();
  const c = new FakeClient(path);
  const a = t.connect(c);
  assert.equal(a.accepted, true);
  return { ...t, c };
}

test('RPC: return values become the _result values', () => {
  const t = connected();
  try {
    assert.deepEqual(t.host.onCall(t.c, 'add', 1, [2, 3]), { ok: true, results: [5] });
    assert.deepEqual(t.host.onCall(t.c, 'echo', 2, ['a', 1.5, true, null]), { ok: true, results: ['a', 1.5, true, null] });
    assert.deepEqual(t.host.onCall(t.c, 'echo', 3, [[1, 2], { x: 'y' }]), { ok: true, results: [[1, 2], { x: 'y' }] });
    assert.deepEqual(t.host.onCall(t.c, 'echo', 4, []), { ok: true, results: [] });
  } finally {
    t.cleanup();
  }
});

test('RPC: writeMessage / writeAMFResult inside a call add to its result', () => {
  const t = connected();
  try {
    assert.deepEqual(t.host.onCall(t.c, 'viaWriter', 1, [1]), { ok: true, results: [1, 2] });
    assert.deepEqual(t.host.onCall(t.c, 'cumulusResult', 2, ['first']), { ok: true, results: ['first', 'second'] });
    assert.deepEqual(t.c.writer.written, []);
  } finally {
    t.cleanup();
  }
});

test('RPC: error() gives Call.Failed with the message; a runtime error too; a missing method "not found"', () => {
  const t = connected();
  try {
    const failed = t.host.onCall(t.c, 'fail', 1, ['test function takes two arguments']);
    assert.deepEqual(failed, {
      ok: false,
      code: 'NetConnection.Call.Failed',
      description: 'www/main.lua:13: test function takes two arguments',
    });
    const crash = t.host.onCall(t.c, 'crash', 2, []);
    assert.equal(crash.ok, false);
    assert.match((crash as { description: string }).description, /attempt to index a nil value/);
    assert.deepEqual(t.host.onCall(t.c, 'nothing', 3, []), {
      ok: false,
      code: 'NetConnection.Call.Failed',
      description: "Method client 'nothing' not found in application ",
    });
    assert.deepEqual(t.host.onCall(t.c, 'address', 4, []), {
      ok: false,
      code: 'NetConnection.Call.Failed',
      description: "Method client 'address' not found in application ",
    });
    // logged with the traceback, and the client still works
    assert.ok(t.logger.lines.some((l) => l.level === 'warn' && String(l.obj['traceback']).includes('stack traceback')));
    assert.deepEqual(t.host.onCall(t.c, 'add', 5, [1, 1]), { ok: true, results: [2] });
  } finally {
    t.cleanup();
  }
});

test('RPC: a call without a method name goes to client:onMessage', () => {
  const t = connected();
  try {
    assert.deepEqual(t.host.onCall(t.c, '', 0, ['hi']), { ok: true, results: ['onMessage', 'hi'] });
  } finally {
    t.cleanup();
  }
});

test('RPC before connection: Call.Failed', () => {
  const t = setup();
  try {
    const r = t.host.onCall(new FakeClient(), 'add', 1, [1, 2]);
    assert.equal(r.ok, false);
  } finally {
    t.cleanup();
  }
});

test('writers: invocations (both dialects, obj:m and obj.m), status, raw, flush', () => {
  const t = connected();
  try {
    t.host.onCall(t.c, 'push', 1, ['refresh', 1, 'two']);
    t.host.onCall(t.c, 'status', 2, ['Call.Failed', 'nope']);
    t.host.onCall(t.c, 'status', 3, ['NetStream.Custom']);
    t.host.onCall(t.c, 'raw', 4, [new Uint8Array(0)]);
    assert.deepEqual(t.c.writer.written.slice(0, 4), [
      { kind: 'invocation', name: 'refresh', args: [1, 'two'] },
      { kind: 'invocation', name: 'refreshDot', args: [1, 'two'] },
      { kind: 'status', code: 'NetConnection.Call.Failed', description: 'nope', level: 'error' },
      { kind: 'status', code: 'NetStream.Custom', description: '', level: 'status' },
    ]);
  } finally {
    t.cleanup();
  }
});

test('writers: writeRaw is binary-safe', () => {
  const t = setup();
  try {
    const c = new FakeClient('types');
    t.connect(c);
    // a ByteArray argument arrives as {__raw=...}; writeRaw takes strings and __raw tables
    const all = new Uint8Array(256).map((_, i) => i);
    const r = t.host.onCall(c, 'roundTrip', 1, [all]);
    assert.deepEqual(r, { ok: true, results: [all] });
  } finally {
    t.cleanup();
  }
});

test('writers: newFlowWriter with onManage, close, and the 2-second manage tick', () => {
  const t = connected();
  try {
    t.host.onCall(t.c, 'newWriter', 1, [true]);
    assert.equal(t.c.writer.created.length, 1);
    const w = t.c.writer.created[0] as FakeWriter;
    assert.deepEqual(w.written, [{ kind: 'invocation', name: 'hello', args: [] }]);
    t.host.onManage();
    assert.deepEqual(w.written.at(-1), { kind: 'invocation', name: 'tick', args: [] });
    const notes = t.notes();
    assert.ok(notes.includes('onManage'));
    assert.ok(notes.some((n) => n.startsWith('client:onManage ')));
    t.host.onCall(t.c, 'closeCreated', 2, []);
    assert.equal(w.closed, true);
    assert.equal(t.c.writer.closed, false);
    const before = w.written.length;
    t.host.onManage();
    assert.equal(w.written.length, before);
  } finally {
    t.cleanup();
  }
});

test('typed values through RPC: dates, byte arrays, typed objects, dictionaries, mixed arrays', () => {
  const t = setup();
  try {
    const c = new FakeClient('types');
    t.connect(c);
    const r = t.host.onCall(c, 'values', 1, []);
    assert.equal(r.ok, true);
    const v = (r as { results: unknown[] }).results;
    assert.equal(v[0], 42);
    assert.equal(v[1], 2.5);
    assert.equal(v[2], 'text');
    assert.equal(v[3], true);
    assert.deepEqual(v[4], [1, 2, 3]);
    assert.deepEqual(v[5], { x: 10, y: 20 });
    assert.deepEqual(v[6], new MixedArray([10, 20], { x: 1 }));
    assert.deepEqual(v[7], Uint8Array.of(0, 1, 255));
    assert.deepEqual(v[8], new Date(905989690435));
    assert.deepEqual(v[9], new TypedObject('Cat', { name: 'tom' }));
    assert.ok(v[10] instanceof AMFDictionary);
    assert.deepEqual(
      new Map(v[10].entries),
      new Map<unknown, unknown>([
        [10, 'test'],
        ['test', 10],
      ]),
    );

    const d = t.host.onCall(c, 'describe', 2, [new Date(905989690435)]);
    assert.deepEqual(d, { ok: true, results: [null, null, 905989690435, null, 1998, null, null, null] });
    const cat = t.host.onCall(c, 'describe', 3, [new TypedObject('Cat', { name: 'tom' })]);
    assert.deepEqual(cat, { ok: true, results: ['Cat', null, null, null, null, 'meow', null, null] });
    const rt = t.host.onCall(c, 'roundTrip', 4, [new TypedObject('Cat', { name: 'tom' }), new AMFDictionary([['k', 1]], true)]);
    assert.deepEqual(rt, { ok: true, results: [new TypedObject('Cat', { name: 'tom' }), new AMFDictionary([['k', 1]], true)] });
  } finally {
    t.cleanup();
  }
});
