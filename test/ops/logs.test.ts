// Logs and reload on the real process: JSON on a pipe, one readable line per entry when pretty, MonaServer's
// [logs] files rotated by size and count, and SIGHUP applying what can change live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetConnection } from '../../src/client/index.ts';
import { appDir, spawnCli, waitForRecord, withTimeout, fileRecords } from './helpers.ts';

const listening = (record: Record<string, unknown>): boolean =>
  typeof record['msg'] === 'string' && record['msg'].startsWith('RTMFP server listening');

async function collect(stream: NodeJS.ReadableStream, until: (text: string) => boolean, ms = 20_000): Promise<string> {
  let text = '';
  return withTimeout(
    new Promise<string>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (until(text)) resolve(text);
      });
    }),
    ms,
    'expected output',
  );
}

test('piped stdout carries JSON lines; logs.pretty=true one line per entry: time, level, component, message', async (t) => {
  const dir = appDir(t, 'function onStart() INFO("hello from lua") end\n');
  const base = [`--application.dir=${dir}`, '--RTMFP.host=127.0.0.1', '--RTMFP.port=0', '--RTMP.port=0', '--HTTP.port=0'];
  const json = spawnCli(t, base);
  const out = await collect(json.child.stdout!, (text) => text.includes('RTMFP server listening'));
  for (const line of out.split('\n').filter(Boolean)) JSON.parse(line);
  assert.match(out, /"component":"app".*"msg":"hello from lua"/);
  json.child.kill('SIGTERM');
  assert.equal(await withTimeout(json.exited, 9_000, 'stop'), 0);

  const pretty = spawnCli(t, [...base, '--logs.pretty=true']);
  const text = await collect(pretty.child.stdout!, (all) => all.includes('RTMFP server listening'));
  const hello = text.split('\n').find((line) => line.includes('hello from lua'));
  assert.ok(hello, text);
  assert.match(hello, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: app hello from lua \{.*"source":"www\/main\.lua:1"/);
  for (const line of text.split('\n').filter(Boolean)) assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+: /, 'every entry is one line');
  pretty.child.kill('SIGTERM');
  assert.equal(await withTimeout(pretty.exited, 9_000, 'stop'), 0);
});

test('[logs] directory writes MonaServer-style files, rotated by maxSize, at most rotation kept besides the current one', async (t) => {
  // every manage tick (2 s) writes ~4 KB: past maxSize, so each tick rotates
  const dir = appDir(
    t,
    'n = 0\nfunction onManage()\n  for i = 1, 20 do n = n + 1; INFO("line " .. n .. " " .. string.rep("x", 100)) end\nend\n',
  );
  const cli = spawnCli(t, [
    `--application.dir=${dir}`,
    '--RTMFP.host=127.0.0.1',
    '--RTMFP.port=0',
    '--RTMP.port=0',
    '--HTTP.port=0',
    '--logs.directory=var/logs',
    '--logs.name=nimbus',
    '--logs.maxSize=2048',
    '--logs.rotation=3',
  ]);
  cli.child.stdout!.resume();
  const logs = join(dir, 'var', 'logs');
  const numbers = (): number[] => {
    const files = existsSync(logs) ? readdirSync(logs) : [];
    assert.ok(
      files.every((name) => /^nimbus\.\d+\.log$/.test(name)),
      files.join(' '),
    );
    return files.map((name) => Number(name.split('.')[1])).sort((a, b) => a - b);
  };
  await until(() => (numbers().at(-1) ?? 0) >= 6, 40_000);
  // removal of the oldest files runs just after a rotation
  await until(() => numbers().length <= 4, 5_000);
  cli.child.kill('SIGTERM');
  assert.equal(await withTimeout(cli.exited, 9_000, 'stop'), 0);
  const kept = numbers();
  assert.ok(kept.length >= 2 && kept.length <= 4, `at most 3 kept besides the current one: ${kept.join(' ')}`);
  const lines = fileRecords(logs, 'nimbus').filter((record) => String(record['msg']).startsWith('line '));
  assert.ok(lines.length > 0 && lines.length < 6 * 20, `the oldest lines went with their files (${lines.length} left)`);
});

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    assert.ok(Date.now() < end, 'condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('SIGHUP reloads the ini file: log level and keep-alives change live, other keys are reported', async (t) => {
  const dir = appDir(t, '');
  const ini = join(dir, 'nimbus.ini');
  const write = (level: string, keepAlive: number, maxHandshakes: number): void =>
    writeFileSync(
      ini,
      `[RTMFP]\nhost=127.0.0.1\nport=0\nkeepAliveServer=${keepAlive}\nmaxHandshakes=${maxHandshakes}\n[RTMP]\nport=0\n[HTTP]\nport=0\n[logs]\nlevel=${level}\ndirectory=logs\n`,
    );
  write('info', 15, 1000);
  const cli = spawnCli(t, ['--config', ini]);
  cli.child.stdout!.resume();
  const logs = join(dir, 'logs');
  const { port } = (await waitForRecord(logs, listening)) as { port: number };

  const before = await NetConnection.connect(`rtmfp://127.0.0.1:${port}/`);
  t.after(() => before.close());
  before.send('setPeerInfo', '127.0.0.1:1');
  await until(() => before.keepAliveServerMs !== 0);
  assert.equal(before.keepAliveServerMs, 15_000);
  assert.ok(!fileRecords(logs).some((record) => record['level'] === 20), 'no debug line yet');

  write('debug', 20, 500);
  cli.child.kill('SIGHUP');
  const reloaded = await waitForRecord(
    logs,
    (record) => typeof record['msg'] === 'string' && record['msg'].startsWith('configuration reloaded'),
  );
  assert.deepEqual(reloaded['applied'], ['RTMFP.keepAliveServer: 15 → 20', 'logs.level: info → debug']);
  assert.deepEqual(reloaded['restart'], ['RTMFP.maxHandshakes']);

  const after = await NetConnection.connect(`rtmfp://127.0.0.1:${port}/`);
  t.after(() => after.close());
  after.send('setPeerInfo', '127.0.0.1:1');
  await until(() => after.keepAliveServerMs !== 0);
  assert.equal(after.keepAliveServerMs, 20_000, 'a session opened after the reload gets the new keep-alive');
  await waitForRecord(logs, (record) => record['level'] === 20, 5_000);

  // a file that no longer loads keeps the running configuration
  writeFileSync(ini, '[RTMFP]\nport=nope\n');
  cli.child.kill('SIGHUP');
  const refused = await waitForRecord(
    logs,
    (record) => typeof record['msg'] === 'string' && record['msg'].startsWith('configuration not reloaded'),
  );
  assert.match(String(refused['msg']), /RTMFP\.port: expected an integer/);
  await before.close();
  await after.close();
  cli.child.kill('SIGTERM');
  assert.equal(await withTimeout(cli.exited, 9_000, 'stop'), 0);
});
