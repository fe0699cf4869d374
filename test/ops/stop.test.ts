// A stop always stops: whatever happens to stdout, SIGTERM/SIGINT end the real process within a bounded time,
// and a second signal ends it at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appDir, explained, spawnCli, waitForRecord, withTimeout, fileRecords } from './helpers.ts';

/** An application that logs 20 000 lines as it starts: more than any pipe holds. */
const NOISY =
  'function onStart(path)\n  for i = 1, 20000 do INFO("noisy line " .. i .. " with some padding to fill a pipe quickly") end\nend\n';

/** Bound on a stop in these tests: the process's own deadline (10 s) minus slack; unloaded, a stop takes under 2 s. */
const STOP_MS = 9_000;

function args(dir: string): string[] {
  return [
    `--application.dir=${dir}`,
    '--RTMFP.host=127.0.0.1',
    '--RTMFP.port=0',
    '--RTMP.port=0',
    '--HTTP.port=0', // no fixed port: these tests run as root in CI, where the default 80 would bind
    '--logs.directory=logs',
    '--logs.maxSize=100000000',
  ];
}

const listening = (record: Record<string, unknown>): boolean =>
  typeof record['msg'] === 'string' && record['msg'].startsWith('RTMFP server listening');

for (const reader of ['stalled', 'gone'] as const) {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} stops the process when the stdout reader has ${reader === 'stalled' ? 'stopped reading' : 'gone away (EPIPE)'}`, async (t) => {
      const dir = appDir(t, NOISY);
      const cli = spawnCli(t, args(dir));
      const stdout = cli.child.stdout!;
      if (reader === 'gone') stdout.destroy();
      else stdout.pause(); // nobody reads: the pipe fills up and stays full
      await explained(cli, join(dir, 'logs'), async () => {
        await waitForRecord(join(dir, 'logs'), listening);
        // the noisy onStart ran (its lines reach the file even though stdout is stuck)
        await waitForRecord(join(dir, 'logs'), (record) => record['msg'] === 'noisy line 20000 with some padding to fill a pipe quickly');
        const sent = performance.now();
        cli.child.kill(signal);
        const code = await withTimeout(cli.exited, STOP_MS, `${signal} did not stop the process`);
        assert.equal(code, 0, `a clean stop exits 0 (took ${Math.round(performance.now() - sent)} ms)`);
        const records = fileRecords(join(dir, 'logs'));
        assert.ok(
          records.some((record) => record['msg'] === 'stopped'),
          'the file log says it stopped',
        );
      });
    });
  }
}

test('a second signal exits at once with code 1, while the first stop is still closing', async (t) => {
  const dir = appDir(t, NOISY);
  const cli = spawnCli(t, args(dir));
  cli.child.stdout!.pause(); // the clean stop then waits (up to a second) for the stuck reader to take the last lines
  await explained(cli, join(dir, 'logs'), async () => {
    await waitForRecord(join(dir, 'logs'), listening);
    cli.child.kill('SIGTERM');
    // signals of one kind pending together are delivered once: the second must come after the first was handled
    await waitForRecord(join(dir, 'logs'), (record) => record['msg'] === 'stopping', 2_000);
    cli.child.kill('SIGTERM');
    const code = await withTimeout(cli.exited, STOP_MS, 'the second SIGTERM did not stop the process');
    assert.equal(code, 1);
    await waitForRecord(join(dir, 'logs'), (record) => record['msg'] === 'forced stop', 2_000);
  });
});

test('SIGTERM then SIGINT: the second signal, whatever it is, forces the exit', async (t) => {
  const dir = appDir(t, NOISY);
  const cli = spawnCli(t, args(dir));
  cli.child.stdout!.pause(); // the clean stop then waits (up to a second) for the stuck reader to take the last lines
  await explained(cli, join(dir, 'logs'), async () => {
    await waitForRecord(join(dir, 'logs'), listening);
    cli.child.kill('SIGTERM');
    await waitForRecord(join(dir, 'logs'), (record) => record['msg'] === 'stopping', 2_000);
    cli.child.kill('SIGINT');
    assert.equal(await withTimeout(cli.exited, STOP_MS, 'SIGINT after SIGTERM did not stop the process'), 1);
  });
});
