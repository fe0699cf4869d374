// Start-up as an operator meets it, on the real process: one actionable line and exit code 2 for what the
// operator must fix, --version, --check like `nginx -t`, --help listing every section.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { DEFAULTS } from '../../src/config.ts';
import { appDir, runCli, REPO } from './helpers.ts';

/** exit 2, exactly one line on stderr, no stack trace */
function assertOneLine(result: { code: number | string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one line, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack');
}

const BASE = ['--RTMFP.host=127.0.0.1', '--RTMFP.port=0', '--RTMP.port=0'];

test('a missing application folder, or one without www/, is one line naming application.dir', async (t) => {
  assertOneLine(
    await runCli(t, [...BASE, '--application.dir=/nonexistent/nimbus']),
    /^application\.dir: folder "\/nonexistent\/nimbus" does not exist/,
  );
  const dir = appDir(t);
  const empty = join(dir, 'www', 'nothing-here');
  writeFileSync(empty, '');
  assertOneLine(await runCli(t, [...BASE, `--application.dir=${join(dir, 'www')}`]), /^application\.dir: no www\/ folder in ".*www"/);
});

test('an unreadable [cluster] ca is one line naming cluster.ca', async (t) => {
  assertOneLine(
    await runCli(t, [
      ...BASE,
      '--HTTP.port=0',
      `--application.dir=${appDir(t)}`,
      '--cluster.redis=rediss://127.0.0.1:1',
      '--cluster.ca=/nonexistent/ca.pem',
    ]),
    /^cluster\.ca: cannot read "\/nonexistent\/ca\.pem" \(ENOENT\)/,
  );
});

async function udpTaken(t: TestContext): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => socket.close());
  return socket.address().port;
}

async function tcpTaken(t: TestContext): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

test('a port in use names its key: RTMFP.port, RTMP.port, inspector.port', async (t) => {
  const dir = appDir(t);
  const app = `--application.dir=${dir}`;
  const udp = await udpTaken(t);
  assertOneLine(
    await runCli(t, [app, '--RTMFP.host=127.0.0.1', `--RTMFP.port=${udp}`, '--RTMP.port=0']),
    new RegExp(`^RTMFP\\.port: 127\\.0\\.0\\.1:${udp} already in use`),
  );
  const tcp = await tcpTaken(t);
  assertOneLine(
    await runCli(t, [app, '--RTMFP.host=127.0.0.1', '--RTMFP.port=0', '--RTMP.host=127.0.0.1', `--RTMP.port=${tcp}`]),
    new RegExp(`^RTMP\\.port: 127\\.0\\.0\\.1:${tcp} already in use`),
  );
  assertOneLine(
    await runCli(t, [app, ...BASE, '--inspector.enabled=true', `--inspector.port=${tcp}`]),
    new RegExp(`^inspector\\.port: 127\\.0\\.0\\.1:${tcp} already in use`),
  );
});

test('an unreadable config, a malformed ini line, a bad value: file and line named', async (t) => {
  const dir = appDir(t);
  assertOneLine(await runCli(t, ['--config', join(dir, 'missing.ini')]), /^config: cannot read ".*missing\.ini" \(ENOENT\)$/);
  const bad = join(dir, 'bad.ini');
  writeFileSync(bad, '[RTMFP]\nport=0\n\n[logs\nlevel=info\n');
  assertOneLine(
    await runCli(t, ['--config', bad]),
    new RegExp(`^${bad.replace(/[.]/g, '\\.')}:4: expected "\\[section\\]", got "\\[logs"$`),
  );
  writeFileSync(bad, '[RTMFP]\nport=0\nkeepAliveServer\n');
  assertOneLine(await runCli(t, ['--config', bad]), /bad\.ini:3: expected "key=value", got "keepAliveServer"$/);
  writeFileSync(bad, '; comment\n[RTMFP]\nport = 0\nkeepAliveServer = 2\n');
  assertOneLine(
    await runCli(t, ['--config', bad]),
    /^RTMFP\.keepAliveServer: expected an integer 5-3600 \(seconds\), got "2" \(.*bad\.ini:4\)$/,
  );
});

test('--version prints the package version and exits 0', async (t) => {
  const result = await runCli(t, ['--version']);
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), `nimbus ${pkg.version} (node ${process.versions.node})`);
});

test('--help lists every section and key, the inspector included', async (t) => {
  const result = await runCli(t, ['--help']);
  assert.equal(result.code, 0);
  for (const [section, keys] of Object.entries(DEFAULTS)) {
    const line = result.stdout.split('\n').find((text) => text.trimStart().startsWith(`[${section}]`));
    assert.ok(line, `[${section}] listed`);
    for (const key of Object.keys(keys)) assert.ok(line.includes(` ${key}=`), `${section}.${key} listed`);
  }
  assert.match(result.stdout, /\[inspector\]/);
  assert.match(result.stdout, /--check/);
  assert.match(result.stdout, /--version/);
});

test('--check compiles every main.lua and exits 0, or 2 naming the file and line that does not compile', async (t) => {
  const good = appDir(t, 'function onStart() end\n', { 'www/live/main.lua': 'x = 1\n' });
  const ok = await runCli(t, ['--check', `--application.dir=${good}`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /www\/main\.lua compiles/);
  assert.match(ok.stdout, /www\/live\/main\.lua compiles/);
  assert.match(ok.stdout, /configuration test successful \(2 main\.lua\)/);

  const broken = appDir(t, 'function onStart()\n  print("x")\n', { 'www/a/main.lua': 'ok = true\n' });
  const failed = await runCli(t, ['--check', `--application.dir=${broken}`]);
  assert.equal(failed.code, 2);
  assert.match(failed.stderr, /www\/main\.lua:3: 'end' expected/);
  assert.match(failed.stderr, /configuration test failed \(1 of 2 main\.lua do not compile\)/);
  assert.doesNotMatch(failed.stderr, /\n\s+at /);

  const badValue = await runCli(t, ['--check', `--application.dir=${good}`, '--RTMFP.port=http']);
  assert.equal(badValue.code, 2);
  assert.match(badValue.stderr, /^RTMFP\.port: /);
});

test('unknown keys and look-alike sections are warned about with the nearest valid name, and the server still starts', async (t) => {
  const dir = appDir(t);
  const ini = join(dir, 'nimbus.ini');
  writeFileSync(ini, '[RTMFP]\nhost=127.0.0.1\nport=0\nkeepAlive=20\n[RTMP]\nport=0\n[inspecter]\nport=1\n[my.app]\ncolor=blue\n');
  const result = await runCli(t, ['--check', '--config', ini]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /RTMFP\.keepAlive: unknown key \(did you mean RTMFP\.keepAliveServer\?\).*nimbus\.ini:4/);
  assert.match(result.stdout, /\[inspecter\]: unknown section \(did you mean \[inspector\]\?\).*nimbus\.ini:7/);
  assert.doesNotMatch(result.stdout, /my\.app/, "an application's own section is not warned about");
});
