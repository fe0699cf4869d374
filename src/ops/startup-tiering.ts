// Imported by the process entry right after young-generation.ts, before the server's modules load: V8's optimising
// compiler (TurboFan) stays off until the server listens. Start-up code runs once (module resolution of ~120 files,
// CommonJS export detection, the Lua parser reading main.lua) yet gets hot enough for TurboFan to compile ~30 of its
// functions, and the first use of the compiler maps ~4.5 MB of the node binary and its working memory into the
// process for good. Measured (bench/README.md, issue 18): idle RSS at 2 s 61.8 → 56.7 MB, at 10 s 58.2 → 53.7 MB,
// start-up CPU 430 → 360 ms.
// Optimisation resumes for everything that runs after start-up, which is all that serving clients runs.
// NIMBUS_STARTUP_TURBOFAN=1 keeps TurboFan on during start-up.
import { setFlagsFromString } from 'node:v8';

const deferred = process.env.NIMBUS_STARTUP_TURBOFAN !== '1';
if (deferred) setFlagsFromString('--no-turbofan');
let resumed = !deferred;

/** Start-up is over (the server listens, or failed to): TurboFan compiles hot code again. Idempotent. */
export function resumeOptimisation(): void {
  if (resumed) return;
  resumed = true;
  setFlagsFromString('--turbofan');
}

/** Whether TurboFan is still held off for start-up (tests). */
export function optimisationDeferred(): boolean {
  return !resumed;
}
