// Small helpers shared by the benchmarks.
import type { ServerSnapshot } from './server-process.ts';

export const MB = 1024 * 1024;

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Server CPU (user + system) spent between two snapshots, in ms. */
export function cpuMs(before: ServerSnapshot, after: ServerSnapshot): number {
  return (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000;
}

export function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
