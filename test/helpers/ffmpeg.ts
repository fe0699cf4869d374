// Debian's ffmpeg as a real RTMP client in tests: whether it is installed, a small decodable H.264/AAC FLV
// generated once and cached under the temp folder, and child processes that are always killed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FFMPEG_MISSING = 'ffmpeg is not installed (apt-get install -y ffmpeg): RTMP tests with a real client skipped';

export const hasFfmpeg: boolean = (() => {
  const probe = spawnSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
  return probe.status === 0;
})();

/** 3 s of testsrc + sine, H.264 (a key frame every second) and AAC, in FLV; generated once per machine. */
export function sampleFlv(): string {
  const dir = join(tmpdir(), 'nimbus-rtmp-tests');
  const file = join(dir, 'sample-320x240-3s.flv');
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  const made = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine',
      '-t',
      '3',
      '-c:v',
      'libx264',
      '-g',
      '25',
      '-c:a',
      'aac',
      '-f',
      'flv',
      partial,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
  );
  if (made.status !== 0) throw new Error(`ffmpeg could not make the sample: ${made.stderr?.toString()}`);
  renameSync(partial, file);
  return file;
}

export function readSample(): Uint8Array {
  return readFileSync(sampleFlv());
}

export interface FfmpegRun {
  child: ChildProcess;
  /** resolves with the exit code (null when killed) once the process is gone */
  exit: Promise<number | null>;
  stderr(): string;
  kill(): void;
}

/** Starts ffmpeg (quiet, no stdin); it is killed after `timeoutMs` whatever happens. */
export function ffmpeg(args: string[], timeoutMs = 20_000): FfmpegRun {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'warning', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve(-1);
    });
  });
  return {
    child,
    exit,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
