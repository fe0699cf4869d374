// Coded errors (src/errors.ts): every class carries its stable NIMBUS_ERR_* code, and the paths that
// raise them (codecs, configuration, Lua scripts) raise the right one.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AmfError,
  CallError,
  ClosedError,
  ConfigError,
  ConnectError,
  ConversionError,
  ERROR_CODES,
  NimbusError,
  PathError,
  ScriptError,
  StatusError,
  TimeoutError,
  WireError,
  errorCode,
  type ErrorCode,
} from '../../src/errors.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { decodeChunks } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { readPacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';
import { AMFReader } from '../../src/flash/amf/reader.ts';
import { decodeTCMessage } from '../../src/flash/tc.ts';
import { lua, lauxlib } from '../../src/app/lua/state.ts';
import { FakeClient, setup } from '../app/harness.ts';
import fengari from 'fengari';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-errors-'));
  made.push(dir);
  return dir;
}

/** Runs fn, which must throw; returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}

const EVERY: Array<[NimbusError, string, ErrorCode]> = [
  [new NimbusError('base'), 'NimbusError', 'NIMBUS_ERR'],
  [new WireError('w'), 'WireError', 'NIMBUS_ERR_WIRE'],
  [new WireError('w', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' }), 'WireError', 'NIMBUS_ERR_WIRE_TRUNCATED'],
  [new AmfError('a'), 'AmfError', 'NIMBUS_ERR_AMF'],
  [new ConfigError('c', { key: 'RTMFP.port' }), 'ConfigError', 'NIMBUS_ERR_CONFIG'],
  [new ScriptError('s', { app: '/', event: 'onStart', traceback: 'stack traceback:' }), 'ScriptError', 'NIMBUS_ERR_SCRIPT'],
  [new ConversionError('x'), 'ConversionError', 'NIMBUS_ERR_CONVERSION'],
  [new PathError('p'), 'PathError', 'NIMBUS_ERR_PATH'],
  [new CallError('m', 'NetConnection.Call.Failed'), 'CallError', 'NIMBUS_ERR_CALL'],
  [new StatusError('m', 'NetStream.Play.Failed'), 'StatusError', 'NIMBUS_ERR_STATUS'],
  [new ConnectError('k'), 'ConnectError', 'NIMBUS_ERR_CONNECT'],
  [new TimeoutError('t'), 'TimeoutError', 'NIMBUS_ERR_TIMEOUT'],
  [new ClosedError('c'), 'ClosedError', 'NIMBUS_ERR_CLOSED'],
];

test('every class: its code and name, instanceof NimbusError and Error, documented in ERROR_CODES', () => {
  for (const [error, name, code] of EVERY) {
    assert.ok(error instanceof NimbusError, name);
    assert.ok(error instanceof Error, name);
    assert.equal(error.name, name);
    assert.equal(error.code, code);
    assert.equal(errorCode(error), code);
    assert.ok(Object.hasOwn(ERROR_CODES, code), code);
    assert.equal(ERROR_CODES[code].class, name, code);
    assert.match(String(error), new RegExp(`^${name}: `));
  }
  // every documented code is raised by some class above
  assert.deepEqual(new Set(EVERY.map(([, , code]) => code)), new Set(Object.keys(ERROR_CODES)));
  assert.ok(Object.isFrozen(ERROR_CODES));
  assert.ok(Object.values(ERROR_CODES).every((entry) => Object.isFrozen(entry)));
  assert.equal(errorCode(new Error('plain')), undefined);
  assert.equal(errorCode('a string'), undefined);
});

test('subclass details: AmfError is a WireError, cause and the fields each class carries', () => {
  const amf = new AmfError('bad marker', { cause: 'x' });
  assert.ok(amf instanceof WireError);
  assert.equal(amf.cause, 'x');
  assert.equal(new NimbusError('no cause').cause, undefined);
  assert.equal(new ConfigError('c', { key: 'logs.level' }).key, 'logs.level');
  const script = new ScriptError('boom', { app: '/a', event: 'client:go', traceback: 'stack traceback:\n\tmain.lua:1' });
  assert.deepEqual([script.app, script.event, script.traceback], ['/a', 'client:go', 'stack traceback:\n\tmain.lua:1']);
  const call = new CallError('no entry', 'NetConnection.Connect.Rejected', { code: 'NetConnection.Connect.Rejected' });
  assert.equal(call.status, 'NetConnection.Connect.Rejected');
  assert.deepEqual(call.info, { code: 'NetConnection.Connect.Rejected' });
});

test('malformed wire input: codecs throw WireError with a truncation or AMF code', () => {
  // a user data chunk whose header claims one byte: its VLU fields run past the input
  const chunk = thrown(() => decodeChunks(Uint8Array.of(0x10, 0x00, 0x01, 0x00), 0));
  assert.ok(chunk instanceof WireError);
  assert.equal(chunk.code, 'NIMBUS_ERR_WIRE_TRUNCATED');
  const empty = thrown(() => readPacketHeader(new Uint8Array(0)));
  assert.ok(empty instanceof WireError);
  assert.equal(empty.code, 'NIMBUS_ERR_WIRE_TRUNCATED');
  const tc = thrown(() => decodeTCMessage(Uint8Array.of(0x14)));
  assert.ok(tc instanceof WireError);
  assert.equal(tc.code, 'NIMBUS_ERR_WIRE_TRUNCATED');
  // 0x0e is no AMF0 marker: an AmfError, still a WireError for the callers that drop it
  const amf = thrown(() => new AMFReader(Uint8Array.of(0x0e)).readAll());
  assert.ok(amf instanceof AmfError && amf instanceof WireError);
  assert.equal(amf.code, 'NIMBUS_ERR_AMF');
  // a truncated AMF0 string: the reader runs out of bytes
  const cut = thrown(() => new AMFReader(Uint8Array.of(0x02, 0x00, 0x05, 0x41)).readAll());
  assert.ok(cut instanceof WireError);
  assert.equal(cut.code, 'NIMBUS_ERR_WIRE_TRUNCATED');
});

test('configuration: a bad value throws ConfigError naming its key, from the command line and the ini', () => {
  const argv = thrown(() => loadConfig(['--RTMFP.port=99999'], { cwd: emptyDir(), env: {} }));
  assert.ok(argv instanceof ConfigError);
  assert.equal(argv.code, 'NIMBUS_ERR_CONFIG');
  assert.equal(argv.key, 'RTMFP.port');
  assert.match(argv.message, /^RTMFP\.port: expected an integer 1-65535, got "99999"$/);

  const cwd = emptyDir();
  writeFileSync(join(cwd, 'nimbus.ini'), '[logs]\nlevel = loud\n');
  const ini = thrown(() => loadConfig([], { cwd, env: {} }));
  assert.ok(ini instanceof ConfigError);
  assert.equal(ini.key, 'logs.level');

  const missing = thrown(() => loadConfig(['--config', join(cwd, 'absent.ini')], { cwd, env: {} }));
  assert.ok(missing instanceof ConfigError);
  assert.equal(missing.key, 'config');
  assert.ok(missing.cause instanceof Error);

  const logger = thrown(() => createLogger({ level: 'loud' }));
  assert.ok(logger instanceof ConfigError);
  assert.equal(logger.key, 'logs.level');
});

test('a Lua error in a script yields a ScriptError with the traceback; the log line carries its code', () => {
  const t = setup();
  try {
    const L = t.host.rt.lua.L;
    const code = fengari.to_luastring('local t = nil\nreturn t.field');
    assert.equal(lauxlib.luaL_loadbufferx(L, code, code.length, '=probe.lua', 't'), lua.LUA_OK);
    const r = t.host.rt.call(t.host.tree.root, 0, 0, 'probe');
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    const error = r.error;
    assert.ok(error instanceof ScriptError && error instanceof NimbusError);
    assert.equal(error.code, 'NIMBUS_ERR_SCRIPT');
    assert.equal(error.app, '/');
    assert.equal(error.event, 'probe');
    assert.match(error.message, /^probe\.lua:2: attempt to index a nil value/);
    assert.match(error.traceback, /stack traceback/);
    const line = t.logger.lines.find((l) => l.msg === error.message);
    assert.ok(line, 'logged');
    assert.equal(line.level, 'error');
    assert.deepEqual(line.obj, { app: '/', event: 'probe', code: 'NIMBUS_ERR_SCRIPT', traceback: error.traceback });

    // over an RPC: the answer is unchanged (Call.Failed and Lua's message), the warn line is coded
    const c = new FakeClient('');
    assert.equal(t.connect(c).accepted, true);
    const failed = t.host.onCall(c, 'fail', 1, ['no way']);
    assert.deepEqual(failed, { ok: false, code: 'NetConnection.Call.Failed', description: 'www/main.lua:13: no way' });
    const warn = t.logger.lines.find((l) => l.level === 'warn' && l.obj['event'] === 'client:fail');
    assert.ok(warn);
    assert.equal(warn.obj['code'], 'NIMBUS_ERR_SCRIPT');
    assert.equal(warn.msg, 'www/main.lua:13: no way');
  } finally {
    t.host.stop();
    t.cleanup();
  }
});
