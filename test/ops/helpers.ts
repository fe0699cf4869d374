// Spawns the real process (src/cli.ts) for the operations tests: exit codes, signals, logs, reload.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'src', 'cli.ts');

export interface Cli {
  child: ChildProcess;
  /** resolves with the exit code (or the signal's name) */
  exited: Promise<number | string>;
  /** whatever stderr said */
  stderr(): string;
}

/** `node --import tsx src/cli.ts ...args`, killed (SIGKILL) after the test if still alive. */
export function spawnCli(t: TestContext, args: string[], options: { cwd?: string; stdio?: StdioOptions } = {}): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, NIMBUS_CONFIG: '' },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exited, stderr: () => stderr };
}

/** Runs the process to its end and returns its code and outputs (for start-up errors, --check, --version). */
export async function runCli(
  t: TestContext,
  args: string[],
  cwd?: string,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const cli = spawnCli(t, args, { cwd });
  let stdout = '';
  cli.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await withTimeout(cli.exited, 20_000, `nimbus ${args.join(' ')} did not exit`);
  return { code, stdout, stderr: cli.stderr() };
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh folder holding www/main.lua with `lua`; removed after the test. */
export function appDir(t: TestContext, lua = '', extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-ops-'));
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www', 'main.lua'), lua);
  for (const [path, text] of Object.entries(extra)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** JSON records of the log files `<dir>/<name>.N`, oldest file first. */
export function fileRecords(dir: string, name = 'log'): Array<Record<string, unknown>> {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((file) => file.startsWith(`${name}.`))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  const records: Array<Record<string, unknown>> = [];
  for (const file of files) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut by a rotation or an exit: not a record
      }
    }
  }
  return records;
}

/** What a failed process test reports besides its assertion: exit status, stderr, the last log records. */
export function diagnosis(cli: Cli, logDir: string): string {
  const { exitCode, signalCode } = cli.child;
  const last = fileRecords(logDir)
    .slice(-5)
    .map((record) => JSON.stringify(record))
    .join('\n  ');
  return `exit ${exitCode ?? signalCode ?? 'pending'}; stderr: ${cli.stderr().slice(-2000) || '(none)'}; last records:\n  ${last || '(none)'}`;
}

/** Runs `body`; a failure carries the process's diagnosis, so a red run in CI says why without a re-run. */
export async function explained(cli: Cli, logDir: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof Error) error.message += `\n${diagnosis(cli, logDir)}`;
    throw error;
  }
}

/** Polls the log files until a record matches, or fails after `ms`. */
export async function waitForRecord(
  dir: string,
  match: (record: Record<string, unknown>) => boolean,
  ms = 20_000,
): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  for (;;) {
    const found = fileRecords(dir).find(match);
    if (found) return found;
    if (Date.now() > until) throw new Error(`no log record matched within ${ms} ms in ${dir}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
