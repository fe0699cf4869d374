import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DEFAULTS, loadConfig, usage } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A fresh, empty working directory, so that no stray nimbus.ini is picked up. */
const made: string[] = [];
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-config-'));
  made.push(dir);
  return dir;
}
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function withIni(name: string, text: string): { cwd: string; path: string } {
  const cwd = emptyDir();
  const path = join(cwd, name);
  writeFileSync(path, text);
  return { cwd, path };
}

const NO_ENV = {};

test('without any file the embedded defaults apply', () => {
  const cwd = emptyDir();
  const { config, warnings } = loadConfig([], { cwd, env: NO_ENV });
  assert.deepEqual(warnings, []);
  assert.equal(config.source, null);
  assert.deepEqual(config.rtmfp, {
    host: '0.0.0.0',
    port: 1935,
    keepAliveServer: 15,
    keepAlivePeer: 10,
    timeout: 20,
    publicAddress: '',
    maxSessions: 10000,
    maxHandshakes: 1000,
    maxHalfOpenPerAddress: 32,
    maxHalfOpen: 1024,
    startupPacketsPerSecond: 64,
    cipher: 'node',
  });
  assert.deepEqual(config.application, { dir: cwd, www: join(cwd, 'www'), unsafe: false, scriptTimeout: 2, scriptMemory: 512 });
  assert.deepEqual(config.logs, { level: 'info', pretty: 'auto', directory: '', name: 'log', rotation: 10, maxSize: 1000000 });
  assert.deepEqual(config.inspector, { enabled: false, host: '127.0.0.1', port: 19350, token: '', stately: '' });
  assert.deepEqual(config.smtp, { host: 'localhost', port: 25, timeout: 60 });
});

test('./nimbus.ini is read when present; section and key names ignore case', () => {
  const { cwd, path } = withIni('nimbus.ini', '[rtmfp]\nPORT = 2000\nkeepaliveserver=20\n[LOGS]\nlevel=DEBUG\n');
  const { config, warnings } = loadConfig([], { cwd, env: NO_ENV });
  assert.equal(config.source, path);
  assert.equal(config.rtmfp.port, 2000);
  assert.equal(config.rtmfp.keepAliveServer, 20);
  assert.equal(config.logs.level, 'debug');
  assert.equal(config.raw['RTMFP']?.['port'], '2000');
  assert.deepEqual(warnings, []);
});

test('a MonaServer.ini given by --config works; unknown sections are kept, unknown keys of known sections warned about', () => {
  const { cwd } = withIni(
    'MonaServer.ini',
    '[RTMFP]\nport=1936\nkeepAlivePeer=12\n[RTMP]\nport=1935\n[logs]\ndirectory=logs\nlevel=8\nmaxsize=2000\n[my.app]\ncolor=blue\n',
  );
  const { config, warnings } = loadConfig(['--config', 'MonaServer.ini'], { cwd, env: NO_ENV });
  assert.equal(config.source, join(cwd, 'MonaServer.ini'));
  assert.equal(config.rtmfp.port, 1936);
  assert.equal(config.rtmfp.keepAlivePeer, 12);
  assert.equal(config.logs.level, 'trace');
  assert.deepEqual(config.raw['RTMP'], { host: '0.0.0.0', port: '1935', timeout: '60' });
  assert.deepEqual(config.rtmp, { host: '0.0.0.0', port: 1935, timeout: 60 });
  assert.deepEqual(config.raw['my.app'], { color: 'blue' });
  assert.equal(config.raw['logs']?.['directory'], 'logs');
  assert.equal(config.logs.directory, 'logs');
  assert.equal(config.logs.maxSize, 2000);
  assert.deepEqual(warnings, []);
});

test("CumulusServer.ini's top-level keys land in [RTMFP]; an explicit [RTMFP] key wins", () => {
  const { cwd } = withIni(
    'CumulusServer.ini',
    'port=1937\nkeepAliveServer=30\nkeepAlivePeer=7\nhost=127.0.0.1\nudpBufferSize=114688\n[RTMFP]\nkeepAlivePeer=9\n[smtp]\nhost=smtp.example.com\nport=587\ntimeout=30\n',
  );
  const { config, warnings } = loadConfig(['--config=CumulusServer.ini'], { cwd, env: NO_ENV });
  assert.deepEqual(warnings, []);
  assert.equal(config.rtmfp.port, 1937);
  assert.equal(config.rtmfp.keepAliveServer, 30);
  assert.equal(config.rtmfp.keepAlivePeer, 9);
  assert.equal(config.rtmfp.host, '127.0.0.1');
  assert.deepEqual(config.raw[''], { host: '127.0.0.1', udpBufferSize: '114688' });
  assert.deepEqual(config.smtp, { host: 'smtp.example.com', port: 587, timeout: 30 });
});

test('command-line overrides beat the file, in both spellings, and reach raw', () => {
  const { cwd } = withIni('nimbus.ini', '[RTMFP]\nport=2000\n[custom]\nkey=file\n');
  const { config } = loadConfig(['--RTMFP.port=19350', '--Custom.key', 'argv', '--other.deep.key=1', '--inspect', '--logs.pretty=no'], {
    cwd,
    env: NO_ENV,
  });
  assert.equal(config.rtmfp.port, 19350);
  assert.equal(config.inspector.stately, 'ws://localhost:8080');
  assert.equal(config.logs.pretty, 'false');
  assert.deepEqual(config.raw['custom'], { key: 'argv' });
  assert.deepEqual(config.raw['other'], { 'deep.key': '1' });
  assert.equal(config.raw['inspector']?.['stately'], 'ws://localhost:8080');
  assert.equal(config.raw['logs']?.['pretty'], 'false');
});

test('raw holds the effective value of every known key', () => {
  const { config } = loadConfig(['--RTMFP.port=0'], { cwd: emptyDir(), env: NO_ENV });
  for (const [section, keys] of Object.entries(DEFAULTS)) {
    for (const key of Object.keys(keys)) assert.equal(typeof config.raw[section]?.[key], 'string', `${section}.${key}`);
  }
  assert.equal(config.raw['RTMFP']?.['port'], '0');
  assert.equal(config.raw['application']?.['dir'], config.application.dir);
});

test('$NIMBUS_CONFIG names the file when --config does not', () => {
  const { cwd, path } = withIni('elsewhere.ini', '[RTMFP]\nport=2001\n');
  assert.equal(loadConfig([], { cwd, env: { NIMBUS_CONFIG: path } }).config.rtmfp.port, 2001);
  const other = withIni('other.ini', '[RTMFP]\nport=2002\n');
  assert.equal(loadConfig(['--config', other.path], { cwd, env: { NIMBUS_CONFIG: path } }).config.rtmfp.port, 2002);
});

test('a relative application.dir is relative to the ini file, or to the working directory on the command line', () => {
  const { cwd } = withIni('unused', '');
  mkdirSync(join(cwd, 'etc'));
  writeFileSync(join(cwd, 'etc', 'nimbus.ini'), '[application]\ndir=../srv\n');
  const fromFile = loadConfig(['--config', 'etc/nimbus.ini'], { cwd, env: NO_ENV }).config;
  assert.equal(fromFile.application.dir, join(cwd, 'srv'));
  assert.equal(fromFile.application.www, join(cwd, 'srv', 'www'));
  const fromArgv = loadConfig(['--config', 'etc/nimbus.ini', '--application.dir=apps'], { cwd, env: NO_ENV }).config;
  assert.equal(fromArgv.application.dir, join(cwd, 'apps'));
});

test('a bad value stops start-up with a message naming the key', () => {
  const cwd = emptyDir();
  const cases: Array<[string[], string | RegExp]> = [
    [['--RTMFP.port=abc'], 'RTMFP.port: expected an integer 1-65535, got "abc"'],
    [['--RTMFP.port=70000'], 'RTMFP.port: expected an integer 1-65535, got "70000"'],
    [['--RTMFP.timeout=0'], /^RTMFP\.timeout: expected an integer 1-/],
    [['--RTMFP.keepAliveServer=3'], /^RTMFP\.keepAliveServer: expected an integer 5-/],
    [['--RTMFP.keepAlivePeer=1.5'], /^RTMFP\.keepAlivePeer: /],
    [['--RTMFP.maxSessions=0'], /^RTMFP\.maxSessions: /],
    [['--RTMFP.host=not a host'], /^RTMFP\.host: /],
    [['--RTMFP.publicAddress=host:port'], /^RTMFP\.publicAddress: /],
    [['--logs.level=loud'], /^logs\.level: expected one of fatal, critic, error, warn, note, info, debug, trace/],
    [['--logs.pretty=maybe'], /^logs\.pretty: /],
    [['--inspector.enabled=perhaps'], /^inspector\.enabled: /],
    [['--smtp.port=0'], /^smtp\.port: /],
    [['--config', 'missing.ini'], /^config: cannot read ".*missing\.ini"/],
    [['--port=1935'], /^--port: unknown option/],
    [['stray'], /^stray: unexpected argument/],
    [['--RTMFP.port'], /^RTMFP\.port: missing value/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => loadConfig(argv, { cwd, env: NO_ENV }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, argv.join(' '));
        if (typeof message === 'string') assert.equal(error.message, message);
        else assert.match(error.message, message);
        return true;
      },
    );
  }
});

test('a bad value in the file is reported the same way', () => {
  const { cwd } = withIni('nimbus.ini', '[RTMFP]\nport = abc\n');
  // the same message, followed by where the value is written
  assert.throws(() => loadConfig([], { cwd, env: NO_ENV }), {
    message: `RTMFP.port: expected an integer 1-65535, got "abc" (${join(cwd, 'nimbus.ini')}:2)`,
  });
});

test('accepted spellings: Poco log priorities, yes/no, host:port public addresses', () => {
  const cwd = emptyDir();
  const load = (...argv: string[]) => loadConfig(argv, { cwd, env: NO_ENV }).config;
  assert.equal(load('--logs.level=1').logs.level, 'fatal');
  assert.equal(load('--logs.level=Warning').logs.level, 'warn');
  assert.equal(load('--logs.level=critical').logs.level, 'critic');
  assert.equal(load('--inspector.enabled=yes').inspector.enabled, true);
  assert.equal(load('--RTMFP.publicAddress=203.0.113.5:1935').rtmfp.publicAddress, '203.0.113.5:1935');
  assert.equal(load('--RTMFP.publicAddress=[2001:db8::1]:1935').rtmfp.publicAddress, '[2001:db8::1]:1935');
  assert.equal(load('--RTMFP.publicAddress=rtmfp.example.com').rtmfp.publicAddress, 'rtmfp.example.com');
  assert.equal(load('--RTMFP.host=::').rtmfp.host, '::');
});

test('any port number round-trips, anything else names RTMFP.port', () => {
  const cwd = emptyDir();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), (port) => {
      assert.equal(loadConfig([`--RTMFP.port=${port}`], { cwd, env: NO_ENV }).config.rtmfp.port, port);
    }),
  );
  fc.assert(
    fc.property(
      fc.string().filter((text) => !/^\s*\+?\d+\s*$/.test(text) || Number(text) > 65535),
      (text) => {
        assert.throws(() => loadConfig([`--RTMFP.port=${text}`], { cwd, env: NO_ENV }), /^ConfigError: RTMFP\.port: /);
      },
    ),
  );
});

test('an inspector open beyond loopback without a token is warned about', () => {
  const cwd = emptyDir();
  const open = loadConfig(['--inspector.enabled=true', '--inspector.host=0.0.0.0'], { cwd, env: NO_ENV });
  assert.equal(open.warnings.length, 1);
  assert.match(open.warnings[0]!, /^inspector\.token: /);
  assert.deepEqual(loadConfig(['--inspect'], { cwd, env: NO_ENV }).warnings, []);
  assert.deepEqual(
    loadConfig(['--inspector.enabled=true', '--inspector.host=0.0.0.0', '--inspector.token=s3cret'], { cwd, env: NO_ENV }).warnings,
    [],
  );
});

test('--help wins over everything else', () => {
  const result = loadConfig(['stray', '--RTMFP.port=abc', '--help'], { cwd: emptyDir(), env: NO_ENV });
  assert.equal(result.help, true);
  assert.equal(loadConfig(['-h'], { cwd: emptyDir(), env: NO_ENV }).help, true);
  assert.equal(loadConfig([], { cwd: emptyDir(), env: NO_ENV }).help, false);
  assert.match(usage(), /--SECTION\.key=value/);
});

test('nimbus.ini.example loads cleanly and restates the defaults', () => {
  const { config, warnings } = loadConfig(['--config', join(REPO, 'nimbus.ini.example')], { cwd: emptyDir(), env: NO_ENV });
  assert.deepEqual(warnings, []);
  const defaults = loadConfig([], { cwd: emptyDir(), env: NO_ENV }).config;
  assert.deepEqual(config.rtmfp, defaults.rtmfp);
  assert.deepEqual(config.logs, defaults.logs);
  assert.deepEqual(config.inspector, defaults.inspector);
  assert.deepEqual(config.smtp, defaults.smtp);
});

test('docs/configuration.md documents every key with its default', () => {
  const docs = readFileSync(join(REPO, 'docs', 'configuration.md'), 'utf8');
  for (const [section, keys] of Object.entries(DEFAULTS)) {
    assert.ok(docs.includes(`[${section}]`), `section [${section}]`);
    for (const [key, value] of Object.entries(keys)) {
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${key}\``) && line.includes(`--${section}.${key}`));
      assert.ok(row !== undefined, `${section}.${key} has a row`);
      if (value !== '') assert.ok(row.includes(`\`${String(value)}\``), `${section}.${key} default ${String(value)}`);
    }
  }
});

test('[application] unsafe, scriptTimeout and scriptMemory are checked, the key named on error', () => {
  const cwd = emptyDir();
  const { config } = loadConfig(['--application.unsafe=yes', '--application.scriptTimeout=0.5', '--application.scriptMemory=0'], {
    cwd,
    env: NO_ENV,
  });
  assert.equal(config.application.unsafe, true);
  assert.equal(config.application.scriptTimeout, 0.5);
  assert.equal(config.application.scriptMemory, 0);
  assert.throws(
    () => loadConfig(['--application.unsafe=maybe'], { cwd, env: NO_ENV }),
    /^ConfigError: application\.unsafe: expected true or false/,
  );
  assert.throws(
    () => loadConfig(['--application.scriptTimeout=-1'], { cwd, env: NO_ENV }),
    /^ConfigError: application\.scriptTimeout: expected a number 0-3600/,
  );
  assert.throws(() => loadConfig(['--application.scriptTimeout=2s'], { cwd, env: NO_ENV }), /^ConfigError: application\.scriptTimeout: /);
  assert.throws(
    () => loadConfig(['--application.scriptMemory=1.5'], { cwd, env: NO_ENV }),
    /^ConfigError: application\.scriptMemory: expected an integer/,
  );
});

test('section and key names from outside never reach Object.prototype', () => {
  const cwd = emptyDir();
  const { config } = loadConfig(['--constructor.x=1', '--toString.y=2', '--custom.constructor=3'], { cwd, env: NO_ENV });
  assert.deepEqual(config.raw['constructor'], { x: '1' });
  assert.deepEqual(config.raw['toString'], { y: '2' });
  assert.equal(config.raw['custom']?.['constructor'], '3');
  assert.throws(() => loadConfig(['--__proto__.polluted=1'], { cwd, env: NO_ENV }), ConfigError);
  assert.throws(() => loadConfig(['--custom.__proto__=1'], { cwd, env: NO_ENV }), ConfigError);
  assert.throws(() => loadConfig(['--logs.level=constructor'], { cwd, env: NO_ENV }), /^ConfigError: logs\.level: /);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  const ini = withIni('nimbus.ini', '[constructor]\na=1\n[hasOwnProperty]\nb=2\n');
  assert.deepEqual(loadConfig([], { cwd: ini.cwd, env: NO_ENV }).config.raw['constructor'], { a: '1' });
});

test('RTMFP.cipher picks the AES implementation and names itself when wrong', () => {
  const cwd = emptyDir();
  assert.equal(loadConfig(['--RTMFP.cipher=noble'], { cwd, env: NO_ENV }).config.rtmfp.cipher, 'noble');
  assert.throws(() => loadConfig(['--RTMFP.cipher=des'], { cwd, env: NO_ENV }), /^ConfigError: RTMFP\.cipher: expected node or noble/);
});

test('[RTMP] keys: port 0 disables, timeout in seconds, errors name the key', () => {
  assert.equal(loadConfig(['--RTMP.port=0'], { env: NO_ENV }).config.rtmp.port, 0);
  assert.equal(loadConfig(['--RTMP.timeout=30', '--rtmp.host=127.0.0.1'], { env: NO_ENV }).config.rtmp.timeout, 30);
  assert.throws(() => loadConfig(['--RTMP.port=70000'], { env: NO_ENV }), /RTMP\.port/);
  assert.throws(() => loadConfig(['--RTMP.timeout=0'], { env: NO_ENV }), /RTMP\.timeout/);
  assert.throws(() => loadConfig(['--RTMP.host=not a host'], { env: NO_ENV }), /RTMP\.host/);
});

test('[RTMFP] startupPacketsPerSecond: a positive integer, the key named on error', () => {
  assert.equal(loadConfig(['--RTMFP.startupPacketsPerSecond=500'], { env: NO_ENV }).config.rtmfp.startupPacketsPerSecond, 500);
  assert.throws(() => loadConfig(['--RTMFP.startupPacketsPerSecond=0'], { env: NO_ENV }), /RTMFP\.startupPacketsPerSecond/);
  assert.throws(() => loadConfig(['--RTMFP.startupPacketsPerSecond=lots'], { env: NO_ENV }), /RTMFP\.startupPacketsPerSecond/);
});

test('[HTTP] and [WebSocket] keys: MonaServer defaults, port 0 disables, bounds checked, errors name the key', () => {
  const { config } = loadConfig([], { cwd: emptyDir(), env: NO_ENV });
  assert.deepEqual(config.http, {
    host: '0.0.0.0',
    port: 80,
    index: 'true',
    timeout: 7,
    maxConnections: 10000,
    headersTimeout: 10,
    maxBody: 1048576,
  });
  assert.deepEqual(config.websocket, { timeout: 80, maxMessage: 1048576 });
  assert.equal(loadConfig(['--HTTP.port=0'], { env: NO_ENV }).config.http.port, 0);
  assert.equal(loadConfig(['--http.index=index.html'], { env: NO_ENV }).config.http.index, 'index.html');
  assert.throws(() => loadConfig(['--HTTP.port=70000'], { env: NO_ENV }), /HTTP\.port/);
  assert.throws(() => loadConfig(['--HTTP.headersTimeout=0'], { env: NO_ENV }), /HTTP\.headersTimeout/);
  assert.throws(() => loadConfig(['--WebSocket.timeout=x'], { env: NO_ENV }), /WebSocket\.timeout/);
  const example = loadConfig(['--config', join(REPO, 'nimbus.ini.example')], { cwd: emptyDir(), env: NO_ENV }).config;
  assert.deepEqual(example.http, config.http);
  assert.deepEqual(example.websocket, config.websocket);
});
