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

export interface SampleOptions {
  width: number;
  height: number;
  seconds: number;
  /** frames between key frames (25 fps) */
  gop: number;
  /** extra encoder arguments (bit rates) */
  encoder?: string[];
}

/** The tests' sample: 3 s, 320×240, a key frame every second. */
const TEST_SAMPLE: SampleOptions = { width: 320, height: 240, seconds: 3, gop: 25 };

/** testsrc + sine, H.264 and AAC, in FLV; generated once per machine and options, cached under the temp folder. */
export function sampleFlv(options: SampleOptions = TEST_SAMPLE, folder = 'nimbus-rtmp-tests'): string {
  const { width, height, seconds, gop } = options;
  const dir = join(tmpdir(), folder);
  const file = join(dir, `sample-${width}x${height}-${seconds}s.flv`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  const input = ['-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=25`, '-f', 'lavfi', '-i', 'sine', '-t', String(seconds)];
  const codecs = ['-c:v', 'libx264', '-g', String(gop), '-c:a', 'aac', ...(options.encoder ?? []), '-f', 'flv'];
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...input, ...codecs, partial], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60_000,
  });
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
